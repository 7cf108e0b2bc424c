"""Calibration recovers the parameters of a log that ccsim itself generated (read back
through the generic CSV mapping), and writes scenarios that ccsim loads and runs.

Tolerances are sampling errors: 4 standard errors per estimate (with up to 48 checks in
one test the chance that a correct estimator fails one is below 0.5%; seeds are fixed).
"""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sim.analysis.calibrate import (
    calibrate,
    estimate_head_start,
    fit_handle_time,
    fit_patience,
    select_days,
)
from sim.analysis.calllog import CallLog, CsvMapping, read_log
from sim.cli import main
from sim.runner import run
from sim.model.scenario import load_scenario, scenario_from_dict

DATA = Path(__file__).parent / "data"
EXCERPT = DATA / "anonymous_bank_excerpt.txt"
DAYS = 10
AGENTS = 6
TRACE_MAPPING = CsvMapping.from_dict({
    "columns": {"arrival": "arrival_s", "type": "type", "outcome": "outcome", "wait": "wait_s",
                "service_time": "handle_s", "agent": "agent_id"},
    "outcomes": {"answered": "served", "abandoned": "abandoned", "waiting_at_end": "ignore",
                 "blocked": "ignore"},
})
B_RATES = [0.0] * 8 + [40.0] * 12 + [0.0] * 4
TRUE = {
    "a": {"rates": [60.0] * 24, "mean": 200.0, "cv": 1.0},
    "b": {"rates": B_RATES, "mean": 400.0, "cv": 0.8},
}
PATIENCE = 300.0
WRAP_UP = 30.0


def _contact(kind: str) -> dict[str, Any]:
    true = TRUE[kind]
    return {"arrivals": {"rates": [f"{r:g}/h" for r in true["rates"]]},
            "handle_time": {"dist": "lognormal", "mean": f"{true['mean']}s", "cv": true["cv"]},
            "patience": {"dist": "exponential", "mean": f"{PATIENCE}s"},
            "wrap_up": {"dist": "constant", "value": f"{WRAP_UP}s"}}


def _synthetic_log(folder: Path, scenario: dict[str, Any], name: str = "synthetic.csv",
                   ) -> Path:
    path = folder / name
    run(scenario_from_dict(scenario), replications=1, trace=path, progress=False)
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> CallLog:
    """Ten days of a heavily loaded 6-agent center (a quarter of callers abandon)."""
    scenario = {
        "name": "synthetic", "run": {"duration": f"{24 * DAYS}h", "seed": 7, "interval": "1h"},
        "contact_types": {"a": _contact("a"), "b": _contact("b")},
        "agents": {"pool": {"count": AGENTS, "skills": ["a", "b"]}},
        "routing": {"policy": "fcfs"},
    }
    return read_log(_synthetic_log(tmp_path_factory.mktemp("synthetic"), scenario),
                    TRACE_MAPPING)


def test_rates_per_hour_within_their_confidence_interval(synthetic: CallLog) -> None:
    fitted = calibrate(synthetic, "all")
    assert len(fitted.days) == DAYS
    for kind, true in TRUE.items():
        for hour, (rate, estimate) in enumerate(zip(true["rates"], fitted.rates[kind])):
            # A count over DAYS days is Poisson: the rate's standard error is sqrt(rate/DAYS).
            assert abs(estimate - rate) <= 4 * math.sqrt(rate / DAYS), (kind, hour)


def test_lognormal_handle_time_recovered(synthetic: CallLog) -> None:
    fitted = calibrate(synthetic, "all")
    for kind, true in TRUE.items():
        fit = fitted.handle[kind]
        sigma = math.sqrt(math.log1p(true["cv"] ** 2))
        mu = math.log(true["mean"]) - sigma**2 / 2
        assert fit.n > 1000 and not fit.pooled
        # Maximum likelihood in log space: mu ~ N(mu, sigma^2/n), sigma ~ N(sigma, sigma^2/2n).
        assert abs(fit.mu - mu) <= 4 * sigma / math.sqrt(fit.n), kind
        assert abs(fit.sigma - sigma) <= 4 * sigma / math.sqrt(2 * fit.n), kind
        # The written (moment) mean: the sample mean, standard error mean * cv / sqrt(n).
        assert abs(fit.mean - true["mean"]) <= 4 * true["mean"] * true["cv"] / math.sqrt(fit.n)
        assert fit.ks < 0.03 and fit.ks_mle < 0.03


def test_censored_patience_mean_within_ten_percent(synthetic: CallLog) -> None:
    fitted = calibrate(synthetic, "all")
    for kind in TRUE:
        fit = fitted.patience[kind]
        assert fit.abandoned > 500 and fit.censored > 500
        assert abs(fit.mean - PATIENCE) <= 0.1 * PATIENCE, kind
        assert abs(fit.exponential_mean - PATIENCE) <= 0.1 * PATIENCE, kind
        # Abandoned calls alone see only the impatient: far below the true mean.
        assert fit.abandoned_only_mean < 0.5 * PATIENCE


def test_staffing_and_wrap_up_recovered(synthetic: CallLog) -> None:
    fitted = calibrate(synthetic, "all")
    assert set(fitted.groups.skills) == {"general"}
    assert sorted(fitted.groups.skills["general"]) == ["a", "b"]
    # Busy all day: every agent is logged in all the time.
    assert all(abs(n - AGENTS) < 0.5 for n in fitted.staffing["general"])
    wrap = fitted.wrap_up
    assert wrap is not None
    # Each sample is the wrap-up, or less when the queue emptied during it.
    assert 0.9 * WRAP_UP <= wrap.mean <= WRAP_UP + 1e-6 and wrap.median == pytest.approx(WRAP_UP)
    assert fitted.busyness_cv is None  # no busyness in the generating scenario


def test_busyness_recovered(tmp_path: Path) -> None:
    days, cv = 60, 0.3
    scenario = {
        "name": "busy", "run": {"duration": f"{24 * days}h", "seed": 3},
        "contact_types": {"a": {"arrivals": {"rate": "30/h"},
                                "handle_time": {"dist": "exponential", "mean": "60s"}}},
        "agents": {"pool": {"count": 4, "skills": ["a"]}},
        "routing": {"policy": "fcfs"}, "busyness": {"dist": "gamma", "cv": cv},
    }
    fitted = calibrate(read_log(_synthetic_log(tmp_path, scenario), TRACE_MAPPING), "all")
    # The sample cv of 60 gamma factors has a standard error of about cv/sqrt(2*60)
    # (0.03 here), plus the Poisson part's noise; 4 of those is 0.15.
    assert fitted.busyness_cv is not None and abs(fitted.busyness_cv - cv) <= 0.15


def test_head_start_recovered(tmp_path: Path) -> None:
    head_start = 60.0
    contact = {"handle_time": {"dist": "exponential", "mean": "200s"},
               "patience": {"dist": "exponential", "mean": "20min"}}
    scenario = {
        "name": "vip", "run": {"duration": "120h", "seed": 11},
        "contact_types": {"regular": {"arrivals": {"rate": "80/h"}, **contact},
                          "vip": {"arrivals": {"rate": "20/h"}, **contact}},
        "agents": {"pool": {"count": 6, "skills": ["regular", "vip"]}},
        "routing": {"policy": "priority",
                    "priority": {"classes": {"vip": {"head_start": f"{head_start}s"}}}},
    }
    trace = _synthetic_log(tmp_path, scenario)
    with_priority = tmp_path / "with_priority.csv"
    with trace.open(newline="") as source, with_priority.open("w", newline="") as target:
        rows = csv.DictReader(source)
        writer = csv.DictWriter(target, [*(rows.fieldnames or []), "priority"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "priority": 2 if row["type"] == "vip" else 0})
    mapping = replace(TRACE_MAPPING, columns={**TRACE_MAPPING.columns, "priority": "priority"})
    found = estimate_head_start(read_log(with_priority, mapping).calls)
    assert found is not None and found.shown and found.vip_priority == 2
    assert abs(found.seconds - head_start) <= 5  # the 5 s grid
    assert found.out_of_order_at_best < 0.05 * found.pairs


def test_no_head_start_without_priorities(synthetic: CallLog) -> None:
    assert estimate_head_start(synthetic.calls) is None
    assert calibrate(synthetic, "all").scenario_dict()["routing"] == {"policy": "fcfs"}


def test_fit_functions_on_known_samples() -> None:
    fit = fit_handle_time([100.0, 100.0, 400.0, 400.0])
    assert fit.mean == 250 and fit.cv == pytest.approx(0.6)
    assert fit.mu == pytest.approx(math.log(200)) and fit.sigma == pytest.approx(math.log(2))
    # Exponential MLE with right-censoring: total time at risk / abandons.
    patience = fit_patience([10.0, 30.0], [100.0, 60.0])
    assert patience.exponential_mean == pytest.approx(200 / 2, rel=1e-4)
    assert patience.abandoned_only_mean == 20


def test_day_selection(tmp_path: Path) -> None:
    log = read_log(EXCERPT)
    days, text = select_days(log, "weekdays")
    assert days == [0, 1, 2] and "mon,tue,sun" in text  # Sunday 24 - Tuesday 26 October 1999
    assert select_days(log, "mon")[0] == [1]
    assert select_days(log, "all")[0] == [0, 1, 2]
    with pytest.raises(ValueError, match="no weekend seen"):
        select_days(log, "weekend")
    with pytest.raises(ValueError, match="unknown day 'fun'"):
        select_days(log, "fun")
    with pytest.raises(ValueError, match="no day of the log falls on fri"):
        select_days(log, "fri")


def test_weekend_is_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    lines = ["when,result,wait"]
    for day in range(1, 15):  # 1-14 January 2024; the 6th, 7th, 13th and 14th are weekend
        calls = 3 if day in (6, 7, 13, 14) else 20
        lines += [f"2024-01-{day:02d} 09:{minute:02d}:00,ok,0" for minute in range(calls)]
    path.write_text("\n".join(lines) + "\n")
    log = read_log(path, CsvMapping.from_dict({
        "columns": {"arrival": "when", "outcome": "result", "wait": "wait"},
        "outcomes": {"ok": "served"}, "time_format": "iso"}))
    weekend, text = select_days(log, "weekend")
    assert [log.weekday(d) for d in weekend] == [5, 6, 5, 6] and "sat,sun" in text
    assert len(select_days(log, "weekdays")[0]) == 10


def test_written_scenario_loads_runs_and_keeps_the_fits(synthetic: CallLog,
                                                        tmp_path: Path) -> None:
    fitted = calibrate(synthetic, "all")
    out = tmp_path / "fitted.yaml"
    assert fitted.write(out) == [out]
    scenario = load_scenario(out)
    text = out.read_text()
    assert "# Patience" in text and "Kaplan-Meier" in text and "KS distance" in text
    for kind in TRUE:
        spec = scenario.contact_types[kind]
        assert spec.handle_time.mean == pytest.approx(fitted.handle[kind].mean, abs=0.05)
        assert spec.patience is not None
        assert spec.patience.mean == pytest.approx(fitted.patience[kind].mean, abs=0.05)
        hourly = [r * 3600 for r in spec.arrivals.rates or ()]
        assert hourly == pytest.approx(fitted.rates[kind], rel=1e-3)
    assert scenario.agents["general"].staffing == tuple([AGENTS] * 24)
    result = run(scenario, replications=1, progress=False)
    assert result.summary()["fcfs"]["offered"].mean > 0


def test_empirical_handle_times_written_next_to_the_scenario(synthetic: CallLog,
                                                            tmp_path: Path) -> None:
    fitted = calibrate(synthetic, "all", handle_time="empirical")
    written = fitted.write(tmp_path / "emp.yaml")
    assert [p.name for p in written] == ["emp.yaml", "emp.handle_a.txt", "emp.handle_b.txt"]
    scenario = load_scenario(written[0])
    assert scenario.contact_types["a"].handle_time.mean == pytest.approx(
        fitted.handle["a"].mean, rel=1e-6)


def test_calibrate_command_on_the_excerpt(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "october.yaml"
    assert main(["calibrate", str(EXCERPT), "--out", str(out), "--days", "all"]) == 0
    printed = capsys.readouterr().out
    assert "not used" in printed and f"wrote {out}" in printed
    scenario = load_scenario(out)
    assert {"PS", "NW", "IN"} <= set(scenario.contact_types)
    assert main(["run", str(out), "--replications", "1"]) == 0


def test_calibrate_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(EXCERPT), "--out", str(tmp_path / "x.yaml"),
                 "--days", "weekend"]) == 2
    assert "no weekend seen" in capsys.readouterr().err
    assert main(["calibrate", str(tmp_path / "none.txt"), "--out", "x.yaml"]) == 2
    assert "log file not found" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["calibrate", "reality"])
def test_no_limits_lifts_the_bound_on_the_size_of_a_log(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound is ``Limits.call_log_bytes``: made smaller than the excerpt here."""
    import sim.limits

    monkeypatch.setattr(sim.limits, "DEFAULT_LIMITS", sim.limits.Limits(call_log_bytes=1000))
    tail = ["--out", str(tmp_path / "x.yaml")] if command == "calibrate" else [
        "--replications", "1", "--days", "sun"]
    assert main([command, str(EXCERPT), *tail]) == 2
    err = capsys.readouterr().err
    assert f"{EXCERPT}: the log is larger than the limit of " in err and "--no-limits" in err
    assert main([command, str(EXCERPT), *tail, "--no-limits"]) == 0
