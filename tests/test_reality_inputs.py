"""What the reality check explains beside its errors (issue 17, items 1 and 5): the inputs
per hour (log / scenario / simulation), the noise floor of the scorecard, and the
decomposition by assumption; on the three-day excerpt of the bank's October log."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.analysis.calibrate import AWAY_AFTER
from sim.analysis.calllog import read_log
from sim.analysis.reality import (
    chance_of_at_least,
    count_distribution,
    noise_floor,
    reality_check,
)
from sim.analysis.reality_decompose import decompose, summarise, variants
from sim.analysis.reality_inputs import (
    ALL_TYPES,
    WAIT_TAIL_AT,
    RealisedTally,
    assumed_hours,
    kaplan_meier,
    patience_survival,
)
from sim.cli import main

EXCERPT = Path(__file__).parent / "data" / "anonymous_bank_excerpt.txt"


def test_realised_tally_splits_talk_by_clock_hour_and_estimates_censored_patience() -> None:
    tally = RealisedTally()
    # arrives 00:59:00, waits 50 s, talks 110 s: 10 s in hour 0, 100 s in hour 1
    tally.add("PS", 3540.0, True, 50.0, 110.0)
    tally.add("PS", 3000.0, False, 150.0, None)  # abandoned after 150 s
    tally.add("NW", 86390.0, True, 0.0, 30.0)  # 23:59:50, the talk runs past midnight
    zero = tally.figures("PS", 0, days=1)
    assert zero["calls"] == 2 and zero["handle_s"] == 110.0
    assert zero["patience_s"] == (50.0 + 150.0) / 1  # waits of all / abandons
    assert zero["agents_busy"] == pytest.approx(10 / 3600)
    assert tally.figures("PS", 1, days=1)["agents_busy"] == pytest.approx(100 / 3600)
    assert tally.figures("NW", 0, days=2)["agents_busy"] == pytest.approx(20 / 3600 / 2)
    both = tally.figures(ALL_TYPES, 0, days=1)
    assert both["calls"] == 2 and both["agents_busy"] == pytest.approx(30 / 3600)
    assert math.isnan(tally.figures("NW", 23, days=1)["patience_s"])  # nobody abandoned


def test_kaplan_meier_from_counts_per_second_matches_scipy() -> None:
    rng = np.random.default_rng(11)
    patience = rng.exponential(200.0, size=3000).astype(int)
    wait = rng.exponential(150.0, size=3000).astype(int)
    abandoned, answered = patience[patience < wait], wait[patience >= wait]
    ours = kaplan_meier(Counter(abandoned.tolist()), Counter(answered.tolist()), (60, 300))
    reference = stats.ecdf(stats.CensoredData(uncensored=abandoned, right=answered)).sf
    # scipy's survival just after t; ours is P(patience > t-) from whole seconds before t
    assert ours == pytest.approx([float(reference.evaluate(59)), float(reference.evaluate(299))])
    assert math.isnan(kaplan_meier(Counter(), Counter(), (60,))[0])  # no observation


def test_patience_survival_of_exponential_and_weibull() -> None:
    assert patience_survival({"dist": "exponential", "mean": "200s"}, 60) == pytest.approx(
        stats.expon(scale=200).sf(60))
    weibull = stats.weibull_min(0.7, scale=300)
    spec = {"dist": "weibull", "mean": f"{weibull.mean()}s", "shape": 0.7}
    assert patience_survival(spec, 300) == pytest.approx(weibull.sf(300))
    assert patience_survival(None, 60) == 1.0


def test_assumed_hours_merge_band_types_weighted_by_calls() -> None:
    rates = ["0/h"] * 24
    early, late = list(rates), list(rates)
    early[9], late[9], late[20] = "30/h", "10/h", "4/h"
    scenario = {
        "contact_types": {
            "PS@07-10": {"arrivals": {"rates": early}, "handle_time": {"mean": "100s"},
                         "patience": {"mean": "300s"}, "wrap_up": {"mean": "10s"}},
            "PS@19-24": {"arrivals": {"rates": late}, "handle_time": {"mean": "200s"}}},
        "agents": {"a": {"staffing": [2] * 24}, "b": {"staffing": [1] * 12 + [0] * 12}}}
    hours = assumed_hours(scenario, top={"PS"})
    nine = hours[9].types["PS"]
    assert nine.calls == pytest.approx(40)
    assert nine.handle_s == pytest.approx((30 * 100 + 10 * 200) / 40)
    assert nine.wrap_s == pytest.approx(30 * 10 / 40)
    assert math.isinf(nine.patience_s)  # a quarter of the callers never abandon
    assert nine.survival[0] == pytest.approx((30 * math.exp(-60 / 300) + 10) / 40)
    assert nine.top_share == 1.0
    assert hours[9].agents == 3 and hours[20].agents == 2
    assert hours[20].types["PS"].handle_s == pytest.approx(200) and not hours[3].types


def test_noise_floor_is_the_chance_of_one_realisation_within_tolerance() -> None:
    rng = np.random.default_rng(7)
    per_rep = list(rng.normal(0.10, 0.012, size=40))
    floor = noise_floor(0.10, per_rep)
    assert floor is not None and floor.inside
    mean, sd = float(np.mean(per_rep)), float(np.std(per_rep, ddof=1))
    draws = rng.normal(mean, sd, size=200_000)  # independent Monte Carlo of the same chance
    for tolerance, chance in ((0.10, floor.within_10), (0.15, floor.within_15)):
        hits = float(np.mean(np.abs(mean / draws - 1) <= tolerance))
        assert abs(hits - chance) <= 3.29 * math.sqrt(chance * (1 - chance) / draws.size)
    assert not noise_floor(0.10 + 6 * sd, per_rep).inside  # far outside the interval
    assert noise_floor(0.10, [0.1]) is None and noise_floor(math.nan, per_rep) is None
    assert noise_floor(0.2, [0.2, 0.2]).within_10 == 1.0  # type: ignore[union-attr]


def test_chance_of_at_least_is_the_poisson_binomial_tail() -> None:
    assert chance_of_at_least([0.7] * 17, 14) == pytest.approx(stats.binom.sf(13, 17, 0.7))
    chances = [0.9, 0.5, 0.2, 0.65]
    by_enumeration = [0.0] * 5
    for outcome in itertools.product((0, 1), repeat=len(chances)):
        by_enumeration[sum(outcome)] += math.prod(p if hit else 1 - p
                                                  for p, hit in zip(chances, outcome))
    assert count_distribution(chances) == pytest.approx(by_enumeration)
    assert chance_of_at_least(chances, 3) == pytest.approx(sum(by_enumeration[3:]))
    assert chance_of_at_least(chances, 0) == pytest.approx(1.0)
    assert chance_of_at_least(chances, 5) == 0.0


def test_leave_one_out_counts_score_each_replication_against_the_others() -> None:
    check = reality_check(EXCERPT, replications=3)
    busy = check.scorecard()["busy_hours"]
    tight, loose = (check.leave_one_out_counts("abandon_rate", t) for t in (0.10, 0.5))
    assert len(tight) == 3 and all(0 <= a <= b <= busy for a, b in zip(tight, loose))
    least = 16 * len(check.days)
    hours = [int(label) for label, actual, _, _ in check.rows()[:-1]
             if actual["offered"] >= least]
    first, *others = ([t.figures([h])["service_level"] for h in hours] for t in check.simulated)
    expected = sum(abs(((a + b) / 2) / x - 1) <= 0.10 for x, a, b in zip(first, *others))
    assert check.leave_one_out_counts("service_level", 0.10)[0] == expected


def test_inputs_set_log_scenario_and_simulation_side_by_side() -> None:
    check = reality_check(EXCERPT, replications=2)
    assert check.inputs is not None
    rows = check.inputs.rows()
    log = read_log(EXCERPT)
    offered = [c for c in log.calls if c.offered]
    everyone = [r for r in rows if r["type"] == ALL_TYPES]
    assert sum(r["log"]["calls"] for r in everyone) == len(offered)
    for row in everyone:  # replayed arrivals: the same callers every hour on every side
        assert row["simulated"]["calls"] == row["log"]["calls"] == row["scenario"]["calls"]
    talk = sum(c.service or 0.0 for c in offered)
    assert sum(r["log"]["agents_busy"] for r in everyone) * 3600 * 3 == pytest.approx(talk)
    # the scenario's staffing is the inferred one rounded, keeping each day's agent-hours
    inferred = sum(r["log"]["agents_on_duty"] for r in everyone)
    assert sum(r["scenario"]["agents_on_duty"] for r in everyone) == pytest.approx(
        inferred, abs=0.5 * len(check.inputs.scenario.agents))
    top = max(c.priority for c in offered)
    assert sum(r["log"]["top_priority_share"] * r["log"]["calls"] for r in everyone) == (
        pytest.approx(sum(c.priority == top for c in offered)))
    for row in everyone:  # replay: the same callers, so the same VIP classes
        assert row["simulated"]["top_priority_share"] == pytest.approx(
            row["scenario"]["top_priority_share"])
    types = {r["type"] for r in rows} - {ALL_TYPES}
    assert types and all("@" not in kind for kind in types)  # band types merged back
    hour = next(r["hour"] for r in everyone if r["log"]["calls"] > 100)
    per_type = [r for r in rows if r["hour"] == hour and r["type"] != ALL_TYPES]
    total = next(r for r in everyone if r["hour"] == hour)
    assert sum(r["log"]["calls"] for r in per_type) == total["log"]["calls"]
    waits = check.inputs.waits()
    assert waits[0]["type"] == ALL_TYPES and {w["type"] for w in waits[1:]} == types
    for t in WAIT_TAIL_AT:  # the log's side, counted from the calls directly
        assert waits[0]["log"][f"waited_{t}s"] == pytest.approx(
            sum(c.wait >= t for c in offered) / len(offered))
    for row in waits:
        for side in ("log", "simulated"):
            tail = [row[side][f"waited_{t}s"] for t in WAIT_TAIL_AT]
            assert tail == sorted(tail, reverse=True) and 0 <= tail[-1] <= tail[0] <= 1
    simulated_waits = [tally.wait_tail(ALL_TYPES) for tally in check.inputs.simulated]
    assert waits[0]["simulated"]["waited_60s"] == pytest.approx(
        sum(w["waited_60s"] for w in simulated_waits) / 2)


def test_decomposition_reruns_one_assumption_at_a_time(tmp_path: Path) -> None:
    options = {"days": "all", "replications": 2, "seed": 3, "arrivals": "replay",
               "staffing": "actual", "holdout_from": None, "by_band": ["patience", "handle"],
               "recorded_service": False, "away_after": AWAY_AFTER}
    found = variants(options)
    assert [v.options for v in found] == [
        {"recorded_service": True}, {"arrivals": "poisson", "recorded_service": False},
        {"by_band": []}, {"staffing_interval": 300.0}, {"away_after": AWAY_AFTER / 2},
        {"away_after": AWAY_AFTER * 2}]
    held_out = variants({**options, "holdout_from": 2, "arrivals": "forecast",
                         "staffing": "planned"})
    assert {"arrivals": "replay", "staffing": "actual"} in [v.options for v in held_out]
    log = read_log(EXCERPT)
    check = reality_check(log, **options)
    result = decompose(log, options, check)
    recorded = reality_check(log, **{**options, "recorded_service": True})
    assert result.results[0].overall == summarise(recorded)[0]  # same seed: the same run
    assert result.base_overall == summarise(check)[0]
    check.decomposition = result
    document = check.to_json()["decomposition"]
    assert [d["options"] for d in document] == [v.options for v in found]
    assert document[4]["sensitivity"] and not document[3]["sensitivity"]
    assert "which assumption costs how much" in check.format_text()
    page = check.write_page(tmp_path).read_text(encoding="utf-8")
    assert "Which assumption costs how much" in page and "the recorded talk times" in page


def test_reality_command_prints_inputs_and_writes_them(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "check.json"
    assert main(["reality", str(EXCERPT), "--replications", "2", "--inputs", "--json", str(out),
                 "--report", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "what the log shows, the scenario assumes and the simulation realises" in printed
    assert "noise floor: a model exactly right would bring" in printed
    document = json.loads(out.read_text())
    assert {"model_right_within_10", "inside_prediction_interval"} <= set(
        document["scorecard"]["abandon_rate"])
    card = document["scorecard"]["abandon_rate"]
    assert card["model_right_within_10"] <= 17
    hours = card["model_right_hours"]
    assert len(hours) == document["scorecard"]["busy_hours"]
    assert sum(h["within_10"] for h in hours) == pytest.approx(card["model_right_within_10"],
                                                                abs=0.01)
    low, high = card["model_right_within_15_range"]
    assert low <= card["model_right_within_15"] <= high <= len(hours)
    assert "90% of months" in printed
    assert "share of the answered and abandoned calls that waited at least t" in printed
    assert document["waits"][0]["type"] == "all"
    assert set(document["waits"][0]["log"]) == {f"waited_{t}s" for t in WAIT_TAIL_AT}
    first = document["inputs"][0]
    assert set(first) == {"hour", "type", "log", "scenario", "simulated"}
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "What the log shows, the scenario assumes, the simulation realises" in page
    assert "How long callers waited" in page and "Waited 120 s+ log" in page


def test_staffing_interval_changes_the_steps_not_the_inferred_presence() -> None:
    fine = reality_check(EXCERPT, replications=1, staffing_interval=300)
    coarse = reality_check(EXCERPT, replications=1)
    assert fine.to_json()["staffing_interval_s"] == 300 and "per 5 min" in fine.mode()
    assert fine.inputs is not None and coarse.inputs is not None

    def on_duty(check_rows: list[dict[str, object]], side: str) -> list[float]:
        return [r[side]["agents_on_duty"] for r in check_rows if r["type"] == ALL_TYPES]  # type: ignore[index]

    # the same inferred presence per hour; the scenario's steps are rounded per interval
    assert on_duty(fine.inputs.rows(), "log") == pytest.approx(on_duty(coarse.inputs.rows(), "log"))
    assert on_duty(fine.inputs.rows(), "scenario") != on_duty(coarse.inputs.rows(), "scenario")
    for bad in (90.0, 420.0, 30.0):
        with pytest.raises(ValueError, match="allowed: whole minutes that divide an hour"):
            reality_check(EXCERPT, staffing_interval=bad)
