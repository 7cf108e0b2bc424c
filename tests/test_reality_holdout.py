"""The reality check out of sample (``--holdout-from``), its JSON, the fits per hour band and
the Erlang A baseline (issue 17), on the three-day excerpt of the bank's October log."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.analysis.analytics import erlang_a_figures
from sim.analysis.calibrate import PATIENCE_BANDS, calibrate, staffing_table
from sim.analysis.calllog import ABANDONED, DAY, SERVED, Call, CallLog, read_log
from sim.analysis.reality import reality_check
from sim.analysis.reality_erlang import ErlangTally
from sim.analysis.reality_inputs import assumed_hours
from sim.analysis.reality_model import band_type, fit_bands, forecast, split_by_band
from sim.cli import main

EXCERPT = Path(__file__).parent / "data" / "anonymous_bank_excerpt.txt"
FIGURES = {"abandon_rate", "service_level", "asa_s"}


def test_json_has_the_issues_shape(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    assert main(["reality", str(EXCERPT), "--replications", "1", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    offered = sum(1 for c in read_log(EXCERPT).calls if c.offered)
    assert document["overall"]["calls"] == offered
    assert sum(h["calls"] for h in document["hours"]) == offered
    for entry in [*document["hours"], document["overall"]]:
        assert set(entry["actual"]) == set(entry["erlang_a"]) == set(entry["simulated"]) == FIGURES
        for estimate in entry["simulated"].values():
            assert set(estimate) == {"mean", "ci95"} and len(estimate["ci95"]) == 2
    assert [h["hour"] for h in document["hours"]] == sorted(h["hour"] for h in document["hours"])
    assert document["holdout_from"] is None and document["staffing"] == "actual"


def test_holdout_scores_only_later_days_and_learns_nothing_from_them() -> None:
    log = read_log(EXCERPT)
    check = reality_check(log, replications=2, holdout_from=3)
    assert check.days == [2] and check.calibration_days == [0, 1]
    assert (check.arrivals, check.staffing) == ("forecast", "planned")
    assert check.actual.figures(range(24))["offered"] == sum(
        1 for c in log.calls if c.offered and c.day == 2)
    # Whatever happened on the scored day, the forecast, the plan and the fits are the same.
    served_all = [replace(c, outcome=SERVED, wait=0.0, agent=c.agent or "NEW")
                  if c.day == 2 and c.offered else c for c in log.calls]
    other = reality_check(CallLog(served_all, log.report, log.first_date), replications=2,
                          holdout_from=3)
    assert other.simulated == check.simulated
    assert other.actual.figures(range(24))["abandon_rate"] == 0.0


def test_holdout_with_actual_staffing_and_replayed_arrivals_uses_the_days_own() -> None:
    log = read_log(EXCERPT)
    check = reality_check(log, replications=2, holdout_from=2, arrivals="replay",
                          staffing="actual")
    assert check.days == [1, 2]
    for label, actual, simulated, _ in check.rows():
        assert simulated["offered"].mean == actual["offered"], label


@pytest.mark.parametrize(("argv", "message"), [
    (["--holdout-from", "1"], "--holdout-from must be >= 2"),
    (["--holdout-from", "40"], "--holdout-from 40: the log's calls are on days 1-3"),
    (["--by-band", "mood"], "--by-band mood: allowed: patience, handle or none"),
    (["--arrivals", "forecast", "--recorded-service"], "--recorded-service needs"),
    (["--staffing-interval", "7min"], "--staffing-interval 420s: allowed: whole minutes"),
    (["--staffing-interval", "soon"], "--staffing-interval"),
])
def test_bad_options_are_named(argv: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reality", str(EXCERPT), "--replications", "1", *argv]) == 2
    assert message in capsys.readouterr().err


def test_band_patience_recovers_each_bands_mean() -> None:
    """Exponential patience of mean 100 s before 07:00 and 600 s from 19:00, offered waits
    exponential (mean 200 s) censor it: each band's censored MLE lies in its exact 99%
    interval (2 x exposure / mean is chi-square with 2 x abandons degrees of freedom), and the
    test of one patience for the whole day rejects it."""
    rng = np.random.default_rng(17)
    calls = []
    for hour, mean in ((3, 100.0), (21, 600.0)):
        patience = rng.exponential(mean, 4000)
        offered_wait = rng.exponential(200.0, 4000)
        for index, (p, w) in enumerate(zip(patience, offered_wait)):
            arrival = (index % 20) * DAY + hour * 3600.0 + index % 3600
            outcome = ABANDONED if p < w else SERVED
            calls.append(Call(arrival, "PS", 1, outcome, float(min(p, w)), 100.0, "A", None, 0))
    log = CallLog(calls, read_log(EXCERPT).report, None)
    fitted = calibrate(log, "all")
    bands = fit_bands(fitted, calls)
    for hour, mean in ((3, 100.0), (21, 600.0)):
        band = next(i for i, (lo, hi) in enumerate(PATIENCE_BANDS) if lo <= hour < hi)
        fit = bands.patience["PS", band]
        exposure = fit.exponential_mean * fit.abandoned
        low, high = (2 * exposure / stats.chi2.ppf(q, 2 * fit.abandoned) for q in (0.995, 0.005))
        assert low < mean < high, (hour, fit.exponential_mean, low, high)
    assert bands.patience_p_value("PS") < 1e-6


def test_split_by_band_keeps_rates_skills_and_classes() -> None:
    fitted = calibrate(read_log(EXCERPT), "all")
    scenario = fitted.scenario_dict()
    bands = fit_bands(fitted, fitted.log.calls)
    split = split_by_band(scenario, bands, ["patience", "handle"])
    for kind, spec in scenario["contact_types"].items():
        children = [name for name in split["contact_types"] if name.split("@")[0] == kind]
        for index, rate in enumerate(spec["arrivals"]["rates"]):
            given = [split["contact_types"][c]["arrivals"]["rates"][index] for c in children]
            carrying = [g for g in given if g != "0/h"]
            assert carrying == ([] if rate == "0/h" else [rate]), index
        for band in range(len(PATIENCE_BANDS)):
            fit = bands.patience.get((kind, band))
            name = band_type(kind, band)
            if fit is not None and name in split["contact_types"]:
                assert split["contact_types"][name]["patience"]["mean"] == f"{fit.mean:.1f}s"
    for group, spec in split["agents"].items():
        assert {name.split("@")[0] for name in spec["skills"]} == set(
            scenario["agents"][group]["skills"])
    unsplit = split_by_band(scenario, bands, [])
    for name, spec in unsplit["contact_types"].items():
        parent = scenario["contact_types"][name.split("@")[0]]
        assert spec["patience"] == parent["patience"]
        assert spec["handle_time"] == parent["handle_time"]


def _one_queue(rate: str, agents: list[int]) -> dict:
    return {"contact_types": {"PS": {"arrivals": {"rates": [rate] * len(agents)},
                                     "handle_time": {"mean": "180.0s"},
                                     "wrap_up": {"mean": "20.0s"},
                                     "patience": {"mean": "300.0s"}}},
            "agents": {"general": {"staffing": agents}}}


def test_erlang_baseline_is_erlang_a_hour_by_hour() -> None:
    tally = ErlangTally()
    tally.add_day(assumed_hours(_one_queue("60/h", [4] * 24)))
    exact = erlang_a_figures(60 / 3600, 200.0, 4, 300.0, 20.0)
    figures = tally.figures([9])
    assert figures["offered"] == pytest.approx(60)
    assert figures["abandon_rate"] == pytest.approx(exact.p_abandon)
    assert figures["service_level"] == pytest.approx(exact.service_level)
    assert figures["asa_s"] == pytest.approx(exact.asa_s)
    # 15-minute staffing 4, 4, 5, 5 is 4.5 agents on average: halfway between 4 and 5.
    half = ErlangTally()
    half.add_day(assumed_hours(_one_queue("60/h", [4, 4, 5, 5] * 24)))
    above = erlang_a_figures(60 / 3600, 200.0, 5, 300.0, 20.0)
    assert half.figures([9])["abandon_rate"] == pytest.approx(
        (exact.p_abandon + above.p_abandon) / 2)
    nobody = ErlangTally()
    nobody.add_day(assumed_hours(_one_queue("60/h", [0] * 24)))
    assert nobody.figures([3])["abandon_rate"] == 1.0
    assert math.isnan(nobody.figures([3])["asa_s"])


def test_forecast_is_the_weekdays_volume_in_its_kinds_shape() -> None:
    log = read_log(EXCERPT)
    fitted = calibrate(log, "all")
    assert fitted.activity is not None
    staffing = staffing_table(fitted.activity, fitted.groups, fitted.days, 900.0)
    plan = forecast(fitted, log, staffing)
    for day in fitted.days:  # Sunday, Monday, Tuesday: each its own weekday's level
        weekday = log.weekday(day)
        assert weekday is not None
        rates = plan.rates(weekday)
        assert sum(map(sum, rates.values())) == pytest.approx(fitted.offered_per_day[day])
        for group, planned in plan.plan(weekday).items():  # one kind: the days' mean plan
            for index in (40, 60):
                assert planned[index] == pytest.approx(
                    sum(staffing[d][group][index] for d in fitted.days) / 3)
    saturday = plan.rates(5)  # not in the excerpt: the busy days' shape at their mean
    assert sum(map(sum, saturday.values())) == pytest.approx(
        sum(fitted.offered_per_day[d] for d in fitted.days) / 3)
