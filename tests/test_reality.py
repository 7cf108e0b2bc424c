"""Replay of recorded arrivals, and the reality check (calibrate, simulate the same days,
compare per hour) on the excerpt; on the full months when ``../shared`` has them."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sim.analysis.calibrate import calibrate
from sim.analysis.calllog import read_log, write_arrival_trace
from sim.cli import main
from sim.errors import ScenarioError
from sim.analysis.reality import Tally, actual_tally, reality_check
from sim.runner import run
from sim.model.scenario import scenario_from_dict

DATA = Path(__file__).parent / "data"
EXCERPT = DATA / "anonymous_bank_excerpt.txt"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "anonymous_bank"


def _replay_scenario(folder: Path, service: str = "drawn") -> tuple[dict[str, Any], list[Any]]:
    """The excerpt's calibrated scenario with every type replaying the excerpt's arrivals."""
    log = read_log(EXCERPT)
    fitted = calibrate(log, "all")
    write_arrival_trace(log.calls, folder / "arrivals.csv", fitted.type_of)
    scenario = fitted.scenario_dict(duration=f"{24 * log.days + 2}h")
    for kind, spec in scenario["contact_types"].items():
        spec["arrivals"] = {"trace": "arrivals.csv", "type": kind, "service": service}
    return scenario, log.offered()


def _trace_rows(scenario: dict[str, Any], folder: Path, name: str) -> list[dict[str, str]]:
    path = folder / name
    run(scenario_from_dict(scenario, base_dir=folder), replications=1, trace=path,
        progress=False)
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_replay_reproduces_the_excerpts_arrivals(tmp_path: Path) -> None:
    scenario, offered = _replay_scenario(tmp_path)
    rows = _trace_rows(scenario, tmp_path, "sim.csv")
    assert len(rows) == len(offered)
    simulated = sorted((row["type"].removesuffix("_vip"), row["arrival_s"]) for row in rows)
    assert simulated == sorted((c.type, f"{c.arrival:.3f}") for c in offered)


def test_recorded_service_times_are_replayed(tmp_path: Path) -> None:
    scenario, offered = _replay_scenario(tmp_path, service="recorded")
    recorded = _trace_rows(scenario, tmp_path, "recorded.csv")
    scenario, _ = _replay_scenario(tmp_path, service="drawn")
    drawn = _trace_rows(scenario, tmp_path, "drawn.csv")
    talks = Counter(round(c.service, 3) for c in offered if c.service is not None)
    # Contacts the log has no talk time for (abandoned there) still draw theirs from the
    # same stream position in both runs: common random numbers hold.
    by_arrival = {(r["type"], r["arrival_s"]): r for r in drawn if r["outcome"] == "answered"}
    from_log = same_draw = 0
    for row in recorded:
        if row["outcome"] != "answered":
            continue
        if talks[round(float(row["handle_s"]), 3)]:
            from_log += 1
        twin = by_arrival.get((row["type"], row["arrival_s"]))
        same_draw += twin is not None and twin["handle_s"] == row["handle_s"]
    answered = sum(r["outcome"] == "answered" for r in recorded)
    assert from_log >= 0.9 * answered
    assert 0 < same_draw < answered


def test_a_bad_trace_names_file_field_and_line(tmp_path: Path) -> None:
    scenario, _ = _replay_scenario(tmp_path)
    (tmp_path / "arrivals.csv").write_text("type,arrival_s,service_s\nPS,12,\nPS,soon,\n")
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(scenario, source="replay.yaml", base_dir=tmp_path)
    message = str(info.value)
    assert "contact_types.PS.arrivals.trace" in message
    assert "arrivals.csv:3: arrival_s 'soon' is not a number of seconds >= 0" in message


def test_trace_arrivals_are_checked_against_other_keys(tmp_path: Path) -> None:
    scenario, _ = _replay_scenario(tmp_path)
    spec = scenario["contact_types"]["PS"]["arrivals"]
    for change, expected in (
            ({"rate": "5/h"}, "arrivals.trace: rate and trace are given together"),
            ({"trace": None, "rate": "5/h"}, "arrivals.type: type applies only to trace"),
            ({"type": "ZZ"}, "holds no arrivals of type 'ZZ'")):
        broken = json.loads(json.dumps(scenario))
        broken["contact_types"]["PS"]["arrivals"] = {**spec, **change}
        with pytest.raises(ScenarioError, match=expected):
            scenario_from_dict(broken, base_dir=tmp_path)
    # Only the length changes (the interval stays, so the staffing lists still fit it).
    run = {key: value for key, value in scenario["run"].items() if key != "duration"}
    counted = {**scenario, "run": {**run, "arrivals": 100}}
    with pytest.raises(ScenarioError, match="run.arrivals: .*allowed: run.duration"):
        scenario_from_dict(counted, base_dir=tmp_path)


def test_tally_follows_ccsims_definitions() -> None:
    tally = Tally(threshold=20.0)
    for answered, wait in ((True, 0.0), (True, 20.0), (True, 50.0), (False, 5.0), (False, 30.0)):
        tally.add(9, answered, wait)
    figures = tally.figures([9])
    assert figures["offered"] == 5
    assert figures["abandon_rate"] == pytest.approx(2 / 5)
    # SL = answered within T / (answered + abandoned after T); early abandons left out.
    assert figures["service_level"] == pytest.approx(2 / 4)
    assert figures["asa_s"] == pytest.approx(70 / 3)
    assert math.isnan(tally.figures([3])["asa_s"])


def test_actual_figures_match_an_independent_count() -> None:
    log = read_log(EXCERPT)
    tally = actual_tally(log, range(log.days))
    offered: Counter[int] = Counter()
    abandoned: Counter[int] = Counter()
    with EXCERPT.open(newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows)
        for row in rows:
            if len(row) != 17 or row[12] == "PHANTOM":
                continue
            queued, served = row[9] != "0:00:00", row[12] == "AGENT"
            if not (queued or served):
                continue  # ended in the IVR
            hour = int((row[9] if queued else row[7]).split(":")[0])
            offered[hour] += 1
            abandoned[hour] += not served
    for hour in range(24):
        figures = tally.figures([hour])
        assert figures["offered"] == offered[hour], hour
        if offered[hour]:
            assert figures["abandon_rate"] == pytest.approx(abandoned[hour] / offered[hour])


@pytest.mark.parametrize("options", [{}, {"recorded_service": True}, {"arrivals": "poisson"}])
def test_reality_check_on_the_excerpt(options: dict[str, Any]) -> None:
    check = reality_check(EXCERPT, replications=2, **options)
    assert check.days == [0, 1, 2] and len(check.simulated) == 2
    rows = {label: (actual, simulated) for label, actual, simulated, _ in check.rows()}
    assert rows["all"][0]["offered"] == sum(1 for c in read_log(EXCERPT).calls if c.offered)
    if options.get("arrivals") != "poisson":
        for label, (actual, simulated) in rows.items():  # replay: the same callers every hour
            assert simulated["offered"].mean == actual["offered"], label
    summary = check.summary()
    for metric in ("abandon_rate", "service_level", "asa_s"):
        assert math.isfinite(summary[metric]["relative_error"])


def test_reality_command_writes_table_plot_and_json(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "check.json"
    assert main(["reality", str(EXCERPT), "--replications", "2", "--report", str(tmp_path),
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert " all |" in printed and "SL(20s)" in printed
    assert (tmp_path / "anonymous_bank_excerpt-reality.png").stat().st_size > 10_000
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Reality check: anonymous_bank_excerpt.txt" in page and 'id="fig-reality"' in page
    assert "Fitted per hour band" in page and "Erlang A error" in page and "Scorecard" in page
    document = json.loads(out.read_text())
    assert document["days"] == 3
    overall = document["overall"]
    assert set(overall) >= {"calls", "actual", "simulated", "erlang_a", "relative_error"}
    assert set(overall["simulated"]["service_level"]) == {"mean", "ci95"}


def test_reality_command_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reality", str(EXCERPT), "--arrivals", "poisson", "--recorded-service"]) == 2
    assert "--recorded-service needs --arrivals replay" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/anonymous_bank is not present")
@pytest.mark.parametrize("month", ["january", "october"])
def test_full_month(month: str, tmp_path: Path) -> None:
    """Calibrate and check a whole real month. The bounds are loose on purpose: they catch a
    broken reader, fit or replay, not the remaining model differences (docs/calibration.md)."""
    log = read_log(SHARED / f"{month}.txt")
    assert main(["calibrate", str(SHARED / f"{month}.txt"), "--out",
                 str(tmp_path / f"{month}.yaml")]) == 0
    check = reality_check(log, replications=2)
    summary = check.summary()
    assert summary["offered"]["relative_error"] == 0  # replayed arrivals
    for metric in ("abandon_rate", "service_level", "asa_s"):
        assert abs(summary[metric]["relative_error"]) < 0.35, (metric, summary[metric])
