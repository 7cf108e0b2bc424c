"""The day level forecasts of ``ccsim reality`` out of sample and their backtest (issue 17,
item 3): each method recovers a known level or trend, the backtest's rolling origins stay
inside the calibration days, and ``--forecast`` / ``--staffing scaled`` are wired."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.analysis.calibrate import calibrate, staffing_table
from sim.analysis.calllog import CallLog, read_log
from sim.analysis.reality import reality_check
from sim.analysis.reality_forecast import (
    DAMPING,
    HALF_LIFE,
    METHODS,
    Totals,
    backtest,
    choose,
    damped_trend,
    recency,
    weekday_mean,
)
from sim.analysis.reality_model import forecast
from sim.cli import main

EXCERPT = Path(__file__).parent / "data" / "anonymous_bank_excerpt.txt"
FACTORS = {0: 1.0, 1: 0.95, 2: 0.85, 3: 0.9, 4: 0.3, 5: 0.12, 6: 1.15}
"""Weekday factors (Monday 0) of the synthetic days, the bank's week: Friday and Saturday quiet."""


def _weekday(day: int) -> int:
    return (day + 4) % 7  # day 0 is a Friday, as January 1999 began


def _days(count: int, level: Callable[[int], float]) -> Totals:
    return {d: (_weekday(d), level(d) * FACTORS[_weekday(d)]) for d in range(count)}


@pytest.mark.parametrize("method", METHODS)
def test_a_steady_level_is_recovered_exactly_at_any_horizon(method: str) -> None:
    totals = _days(28, lambda d: 1500.0)
    level = choose(totals, method).level
    for day in range(28, 60):
        assert level(day, _weekday(day)) == pytest.approx(1500 * FACTORS[_weekday(day)],
                                                          rel=1e-12)


def test_damped_trend_recovers_a_growth_rate_and_damps_it_ahead() -> None:
    growth = -0.02  # 2% fewer calls a day
    totals = _days(21, lambda d: 1500 * math.exp(growth * d))
    level = damped_trend(totals)
    for day in range(21):  # inside the calibration days: the fitted curve itself
        assert level(day, _weekday(day)) == pytest.approx(totals[day][1], rel=1e-12)
    for ahead in (1, 5, 30):
        # Each day ahead keeps DAMPING of the previous day's step of the trend.
        steps = sum(DAMPING ** k for k in range(1, ahead + 1))
        day = 20 + ahead
        assert level(day, _weekday(day)) == pytest.approx(
            1500 * math.exp(growth * (20 + steps)) * FACTORS[_weekday(day)], rel=1e-12)
    # However far ahead, at most DAMPING / (1 - DAMPING) days of trend.
    far = level(20 + 7000, _weekday(20 + 7000))
    assert far == pytest.approx(1500 * math.exp(growth * (20 + DAMPING / (1 - DAMPING)))
                                * FACTORS[_weekday(20)], rel=1e-9)


def test_recency_follows_a_step_in_the_level_by_its_half_life() -> None:
    # One week at 1000, then seven weeks at 2000: the first week's days weigh
    # q**49 ... q**55 of the sum over all 56 days, q = 2**(-1/HALF_LIFE).
    totals = _days(56, lambda d: 1000.0 if d < 7 else 2000.0)
    q = 0.5 ** (1 / HALF_LIFE)
    old_share = (q ** 49 - q ** 56) / (1 - q ** 56)
    level = recency(totals)
    for day in range(56, 63):
        assert level(day, _weekday(day)) == pytest.approx(
            (2000 - 1000 * old_share) * FACTORS[_weekday(day)], rel=1e-12)
        # The weekday mean stays at the mix of both levels, 1875.
        assert weekday_mean(totals)(day, _weekday(day)) == pytest.approx(
            1875 * FACTORS[_weekday(day)], rel=1e-12)


def test_an_unseen_weekday_gets_the_busy_weekdays_level() -> None:
    totals = {d: v for d, v in _days(14, lambda d: 1000.0).items() if _weekday(d) != 2}
    busy = [calls for w, calls in totals.values() if w not in (4, 5)]
    for method in ("weekday-mean", "recency"):
        assert choose(totals, method).calls(2) == pytest.approx(statistics.fmean(busy))
    # The trend works on log totals: the busy days' geometric mean.
    assert choose(totals, "damped-trend").calls(2) == pytest.approx(statistics.geometric_mean(busy))


def test_backtest_scores_rolling_origins_in_the_second_half() -> None:
    totals = {0: (0, 100.0), 1: (0, 120.0), 2: (0, 90.0), 3: (0, 130.0)}
    # Origin 2 (fit on days 0-1, mean 110) scores days 2 and 3; origin 3 (mean of 0-2) day 3.
    errors = [abs(110 / 90 - 1), abs(110 / 130 - 1), abs(310 / 3 / 130 - 1)]
    assert backtest(totals, "weekday-mean") == pytest.approx(statistics.fmean(errors))
    assert math.isnan(backtest({0: (0, 100.0)}, "recency"))


def test_auto_takes_the_least_backtest_error_else_the_weekday_mean() -> None:
    steady = choose(_days(28, lambda d: 1500.0))
    assert steady.method == "weekday-mean" and steady.asked == "auto"
    assert max(steady.backtest_mape.values()) < 1e-12
    lone = choose({3: (6, 1800.0)})  # one day: no backtest, the simplest method
    assert lone.method == "weekday-mean" and math.isnan(lone.backtest_mape["recency"])
    assert lone.as_json()["backtest_mape"]["recency"] is None
    trend = choose(_days(28, lambda d: 1500 * math.exp(0.01 * d)))
    assert trend.method == "damped-trend"
    assert trend.backtest_mape["damped-trend"] < trend.backtest_mape["weekday-mean"]
    with pytest.raises(ValueError, match="--forecast holt: allowed: auto, weekday-mean"):
        choose(_days(7, lambda d: 1.0), "holt")


def test_the_plan_scaled_to_the_forecast_keeps_agents_per_call() -> None:
    log = read_log(EXCERPT)
    fitted = calibrate(log, "all")
    assert fitted.activity is not None
    staffing = staffing_table(fitted.activity, fitted.groups, fitted.days, 900.0)
    plan = forecast(fitted, log, staffing, "weekday-mean")
    mean_calls = statistics.fmean(fitted.offered_per_day[d] for d in fitted.days)
    for day in fitted.days:  # one kind of day: scale = the day's weekday mean / the kind's
        weekday = log.weekday(day)
        assert weekday is not None
        scale = fitted.offered_per_day[day] / mean_calls
        scaled = plan.plan_to_forecast(weekday, day)
        for group, agents in plan.plan(weekday).items():
            assert scaled[group] == pytest.approx([a * scale for a in agents])


def test_holdout_forecast_reads_no_scored_day() -> None:
    log = read_log(EXCERPT)
    check = reality_check(log, replications=1, holdout_from=3, forecast_method="recency")
    assert check.forecast is not None and check.forecast.method == "recency"
    # Half the scored day's calls gone: its actual figures change, nothing forecast does.
    thinned = [c for i, c in enumerate(log.calls) if c.day != 2 or i % 2]
    other = reality_check(CallLog(thinned, log.report, log.first_date), replications=1,
                          holdout_from=3, forecast_method="recency")
    assert other.actual.figures(range(24)) != check.actual.figures(range(24))
    assert other.forecast is not None
    assert other.forecast.as_json() == check.forecast.as_json()
    assert other.simulated == check.simulated


def test_cli_forecast_choice_reaches_the_json(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    assert main(["reality", str(EXCERPT), "--holdout-from", "3", "--replications", "1",
                 "--forecast", "damped-trend", "--staffing", "scaled", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["staffing"] == "scaled"
    assert document["forecast"]["method"] == document["forecast"]["asked"] == "damped-trend"
    assert set(document["forecast"]["backtest_mape"]) == set(METHODS)
    replayed = tmp_path / "replay.json"
    assert main(["reality", str(EXCERPT), "--replications", "1", "--json", str(replayed)]) == 0
    assert json.loads(replayed.read_text())["forecast"] is None  # in sample, replayed: unused


def test_cli_unknown_forecast_is_a_choice_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["reality", str(EXCERPT), "--holdout-from", "3", "--forecast", "holt"])
    assert stop.value.code == 2
    assert "--forecast: invalid choice: 'holt'" in capsys.readouterr().err
