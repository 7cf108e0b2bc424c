"""``ccsim sweep``: grid expansion, executor equivalence, resume, results directory, bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.kernel.cells import ReplicationResult
from sim.errors import ScenarioError
from sim.runner import run
from sim.analysis.sweep import (
    MANIFEST,
    RUNS,
    SweepError,
    load_results,
    load_sweep,
    run_sweep,
    summary_json,
)

ROOT = Path(__file__).resolve().parents[1]

BASE = """\
name: tiny
run: {duration: 3h, warmup: 10min, replications: 2, seed: 5}
contact_types:
  calls:
    arrivals: {rate: 90/h}
    handle_time: {dist: exponential, mean: 4min}
    patience: &patience {dist: exponential, mean: 3min}
  vip:
    arrivals: {rate: 10/h}
    handle_time: {dist: exponential, mean: 5min}
    patience: *patience
agents:
  team: {count: 7, skills: [calls, vip]}
routing:
  policy: fcfs
  priority:
    classes:
      vip: {priority: 1}
      calls: {priority: 0}
"""

SWEEP = BASE + """\
sweep:
  grid:
    agents.team.count: {from: 6, to: 8, step: 1}
    contact_types.calls.patience.mean: [2min, 4min]
  policies: [fcfs, priority]
"""
UNITS = 3 * 2 * 2 * 2  # counts x patience x policies x replications


def _write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _same(runs: dict[str, list[ReplicationResult]],
          other: dict[str, list[ReplicationResult]]) -> bool:
    """Equal results, NaN included (NaN != NaN, but its JSON text is equal)."""

    def text(tree: dict[str, list[ReplicationResult]]) -> str:
        return json.dumps({k: [dataclasses.asdict(r) for r in v] for k, v in tree.items()})

    return text(runs) == text(other)


def _run_files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((directory / RUNS).glob("*.json"))}


# ------------------------------------------------------------------------- the grid
def test_grid_is_the_cartesian_product_and_overrides_by_path(tmp_path: Path) -> None:
    sweep = load_sweep(_write(tmp_path, SWEEP))
    assert sweep.paths == ("agents.team.count", "contact_types.calls.patience.mean")
    assert [p.overrides for p in sweep.points] == [
        (("agents.team.count", n), ("contact_types.calls.patience.mean", m))
        for n in (6, 7, 8) for m in ("2min", "4min")]
    point = sweep.points[1]
    assert point.scenario.agents["team"].count == 6
    assert point.scenario.contact_types["calls"].patience.mean == 240.0
    # The anchored patience is copied, not shared: vip keeps the base value.
    assert point.scenario.contact_types["vip"].patience.mean == 180.0
    assert sweep.replications == 2 and sweep.labels == ("fcfs", "priority")
    assert len(sweep.units()) == UNITS
    assert len({p.key for p in sweep.points}) == len(sweep.points)


def test_float_range_does_not_drift(tmp_path: Path) -> None:
    text = BASE + "sweep:\n  grid:\n    agents.team.speed: {from: 0.8, to: 1.2, step: 0.1}\n"
    sweep = load_sweep(_write(tmp_path, text))
    assert [dict(p.overrides)["agents.team.speed"] for p in sweep.points] == [
        0.8, 0.9, 1.0, 1.1, 1.2]


def test_flags_replace_file_settings(tmp_path: Path) -> None:
    sweep = load_sweep(_write(tmp_path, SWEEP), grid={"agents.team.count": [9]},
                       policies=["fcfs"], replications=3, seed=8)
    assert [dict(p.overrides)["agents.team.count"] for p in sweep.points] == [9, 9]
    assert sweep.labels == ("fcfs",) and sweep.replications == 3
    assert {p.scenario.run.seed for p in sweep.points} == {8}


# ------------------------------------------------------------- executors and seeds
def test_same_results_serial_two_processes_and_dask(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    sweep = load_sweep(_write(tmp_path, SWEEP))
    serial, local, dask = tmp_path / "serial", tmp_path / "local", tmp_path / "dask"
    assert run_sweep(sweep, serial, jobs=1).executed == UNITS
    assert run_sweep(sweep, local, jobs=2).executed == UNITS
    assert run_sweep(sweep, dask, executor="dask", jobs=2).executed == UNITS
    files = _run_files(serial)
    assert len(files) == UNITS
    assert _run_files(local) == files
    assert _run_files(dask) == files
    # A sweep run equals the plain runner on that grid point's scenario.
    point = sweep.points[3]
    direct = run(point.scenario, ["fcfs", "priority"], replications=2)
    loaded = load_results(sweep, serial)[3].results
    assert _same(loaded.runs, direct.runs)


def test_replication_r_uses_the_same_contacts_at_every_grid_point(tmp_path: Path) -> None:
    sweep = load_sweep(_write(tmp_path, SWEEP))
    run_sweep(sweep, tmp_path / "out", jobs=1)
    points = load_results(sweep, tmp_path / "out")
    for r in range(2):
        arrivals = {item.results.runs[label][r].overall["arrivals"]
                    for item in points for label in ("fcfs", "priority")}
        assert len(arrivals) == 1, arrivals
    first = points[0].results.runs["fcfs"]
    assert first[0].overall["arrivals"] != first[1].overall["arrivals"]


# ------------------------------------------------------------------------- resume
def test_resume_after_max_runs_computes_exactly_the_rest(tmp_path: Path) -> None:
    sweep = load_sweep(_write(tmp_path, SWEEP))
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    run_sweep(sweep, whole, jobs=1)
    first = run_sweep(sweep, parts, jobs=2, max_runs=5)
    assert (first.executed, first.reused, first.remaining) == (5, 0, UNITS - 5)
    with pytest.raises(SweepError, match=f"{UNITS - 5} of {UNITS} runs are not finished"):
        load_results(sweep, parts)
    second = run_sweep(sweep, parts, jobs=2)
    assert (second.executed, second.reused, second.remaining) == (UNITS - 5, 5, 0)
    assert run_sweep(sweep, parts, jobs=2).executed == 0
    assert _run_files(parts) == _run_files(whole)
    assert summary_json(sweep, load_results(sweep, parts)) == summary_json(
        sweep, load_results(sweep, whole))


def test_killed_sweep_loses_no_finished_run(tmp_path: Path) -> None:
    # Runs of about 0.1 s, so that the kill (at the first finished run) lands mid-sweep.
    path = _write(tmp_path, SWEEP.replace("duration: 3h", "duration: 100h"))
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    script = ("import sys; from sim.analysis.sweep import load_sweep, run_sweep; "
              "run_sweep(load_sweep(sys.argv[1], policies=['fcfs']), sys.argv[2], jobs=1)")
    process = subprocess.Popen([sys.executable, "-c", script, str(path), str(killed)],
                               cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (killed / RUNS).exists() or not any((killed / RUNS).glob("*.json")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    sweep = load_sweep(path, policies=["fcfs"])
    units = len(sweep.units())
    done = len(_run_files(killed))
    assert 0 < done < units
    rerun = run_sweep(sweep, killed, jobs=2)
    assert (rerun.reused, rerun.executed) == (done, units - done)
    run_sweep(sweep, whole, jobs=2)
    assert _run_files(killed) == _run_files(whole)


def test_more_replications_reuse_the_finished_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, SWEEP)
    run_sweep(load_sweep(path), tmp_path / "out", jobs=1)
    grown = run_sweep(load_sweep(path, replications=3), tmp_path / "out", jobs=1)
    assert (grown.reused, grown.executed) == (UNITS, UNITS // 2)


# -------------------------------------------------------------- results directory
def test_refuses_results_of_another_scenario(tmp_path: Path) -> None:
    path = _write(tmp_path, SWEEP)
    run_sweep(load_sweep(path), tmp_path / "out", jobs=1, max_runs=1)
    with pytest.raises(SweepError) as error:
        run_sweep(load_sweep(path, seed=6), tmp_path / "out", jobs=1)
    message = str(error.value)
    assert "different scenario" in message and "run.seed (5 -> 6)" in message
    assert "refusing to mix" in message
    changed = _write(tmp_path, SWEEP.replace("rate: 90/h", "rate: 95/h"), "changed.yaml")
    with pytest.raises(SweepError, match=r"contact_types\.calls\.arrivals\.rate"):
        run_sweep(load_sweep(changed), tmp_path / "out", jobs=1)
    assert len(_run_files(tmp_path / "out")) == 1


def test_same_scenario_written_differently_shares_the_directory(tmp_path: Path) -> None:
    path = _write(tmp_path, SWEEP)
    run_sweep(load_sweep(path), tmp_path / "out", jobs=1)
    # Same model in other units, another name: the runs are the same runs.
    other = SWEEP.replace("name: tiny", "name: renamed").replace("mean: 4min", "mean: 240s")
    again = run_sweep(load_sweep(_write(tmp_path, other, "other.yaml")), tmp_path / "out")
    assert (again.reused, again.executed) == (UNITS, 0)


def test_refuses_a_directory_that_is_not_a_sweep(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(SweepError, match=f"no {MANIFEST}"):
        run_sweep(load_sweep(_write(tmp_path, SWEEP)), tmp_path / "out", jobs=1)


# --------------------------------------------------------------------------- CLI
def test_cli_prints_table_and_writes_summaries(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, SWEEP)
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--results", str(out), "--jobs", "2", "--metric",
                 "service_level", "--metric", "asa_s"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    header = stdout.splitlines()[0].split()
    assert header[:3] == ["agents.team.count", "contact_types.calls.patience.mean", "policy"]
    assert "Service" in header and "ASA" in header
    assert f"0 runs were already done, {UNITS} computed now" in stderr
    document = json.loads((out / "summary.json").read_text())
    assert len(document["points"]) == 6
    entry = document["points"][0]
    assert entry["point"] == {"agents.team.count": 6, "contact_types.calls.patience.mean": "2min"}
    assert set(entry["results"]) == {"fcfs", "priority"}
    assert set(entry["results"]["fcfs"]["service_level"]) == {"mean", "ci95"}
    lines = (out / "summary.csv").read_text().splitlines()
    assert len(lines) == 1 + 12
    assert lines[0].startswith("agents.team.count,contact_types.calls.patience.mean,policy,")
    assert main(["sweep", str(path), "--results", str(out)]) == 0
    assert f"{UNITS} runs were already done, 0 computed now" in capsys.readouterr().err


def test_cli_grid_flag_needs_no_sweep_block(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, BASE, "plain.yaml")
    code = main(["sweep", str(path), "--grid", "agents.team.count=[7, 8]", "--results",
                 str(tmp_path / "out"), "--jobs", "1"])
    assert code == 0, capsys.readouterr().err
    assert len(_run_files(tmp_path / "out")) == 2 * 2


def test_labels_follow_verification_strategies_as_ccsim_run_does(tmp_path: Path) -> None:
    path = ROOT / "scenarios" / "identity_bank.yaml"
    short = {"run.duration": ["10h"], "run.warmup": ["8h"]}  # calls start at 08:00
    sweep = load_sweep(path, grid=short, policies=["fcfs"], replications=2)
    labels = ("fcfs/kba_all", "fcfs/passive_stepup", "fcfs/biometric")
    assert sweep.labels_of(sweep.points[0]) == labels
    run_sweep(sweep, tmp_path / "all", jobs=2)
    loaded = load_results(sweep, tmp_path / "all")[0].results
    direct = run(sweep.points[0].scenario, ["fcfs"], replications=2)
    assert list(loaded.runs) == list(direct.runs) == list(labels)
    assert _same(loaded.runs, direct.runs)
    one = load_sweep(path, grid=short, policies=["fcfs/biometric"], replications=2)
    assert one.labels_of(one.points[0]) == ("fcfs/biometric",)
    run_sweep(one, tmp_path / "all", jobs=1)
    assert _same(load_results(one, tmp_path / "all")[0].results.runs,
                 {"fcfs/biometric": direct.runs["fcfs/biometric"]})
    with pytest.raises(ScenarioError, match="'fcfs/nosuch': unknown verification strategy"):
        load_sweep(path, grid=short, policies=["fcfs/nosuch"])
    with pytest.raises(ScenarioError, match="names verification strategy 'kba_all', which"):
        load_sweep(_write(tmp_path, SWEEP), policies=["fcfs/kba_all"])


def test_shipped_sweep_example_is_valid() -> None:
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "sweep-example.yaml")
    assert len(sweep.points) >= 4 and sweep.labels


# --------------------------------------------------------------------- bad input
def _error(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *flags: str) -> str:
    path = _write(tmp_path, text)
    code = main(["sweep", str(path), "--results", str(tmp_path / "out"), "--jobs", "1", *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    return err


@pytest.mark.parametrize(("sweep_block", "expected"), [
    ("sweep:\n  grid: {}\n", "sweep.yaml:21: sweep.grid: the grid is empty"),
    ("sweep:\n  grid:\n    agents.team.count: []\n",
     "sweep.yaml:22: sweep.grid.agents.team.count: has no values; allowed: a list"),
    ("sweep:\n  grid:\n    agents.team.count: {from: 9, to: 5, step: 1}\n",
     "sweep.grid.agents.team.count.to: to 5 is below from 9"),
    ("sweep:\n  grid:\n    agents.team.count: {from: 5, to: 9}\n",
     "sweep.grid.agents.team.count.step: missing required key 'step'"),
    ("sweep:\n  grid:\n    agents.team.count: 7\n",
     "sweep.grid.agents.team.count: 7 is not a list or range"),
    ("sweep:\n  grid:\n    agents.teem.count: [5]\n",
     "sweep.grid.agents.teem.count: no key 'teem' under agents; known: team"),
    ("sweep:\n  grid:\n    agents..count: [5]\n", "is not a dotted path"),
    ("sweep:\n  grid:\n    run.seed: [1, 2]\n", "seeds and replications are not grid parameters"),
    (("sweep:\n  grid:\n    agents.team: [{count: 5, skills: [calls, vip]}]\n"
     "    agents.team.count: [5]\n"), "overlaps 'agents.team.count'"),
    ("sweep:\n  grid:\n    agents.team.count: [7, -1]\n",
     "sweep.yaml [grid point agents.team.count=-1]:13: agents.team.count: -1 is too small"),
    ("sweep:\n  grid:\n    agents.team.count: [7]\n  policies: [fcfs, nosuch]\n",
     "sweep.yaml:23: sweep.policies.1: 'nosuch': unknown routing policy 'nosuch'; known:"),
    ("sweep:\n  grid:\n    agents.team.count: [7]\n  replications: 0\n",
     "sweep.replications: 0 is too small; allowed: 1 or more"),
    ("sweep:\n  grdi:\n    agents.team.count: [7]\n", "sweep.grdi: unknown key 'grdi'"),
    ("", "no grid: the file has no 'sweep:' block"),
    ("sweep: {grid: {agents.team.count: [7]}}\nsweep: {}\n", "sweep: key given twice"),
])
def test_bad_sweep_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str], sweep_block: str,
                          expected: str) -> None:
    assert expected in _error(tmp_path, capsys, BASE + sweep_block)


def test_bad_base_scenario_is_reported_with_its_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(tmp_path, capsys, SWEEP.replace("mean: 4min", "mean: 4"))
    assert "sweep.yaml:6: contact_types.calls.handle_time.mean: 4 has no unit" in err


def test_unknown_metric_is_refused_before_any_run(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(tmp_path, capsys, SWEEP, "--metric", "sevice_level")
    assert "--metric: unknown metric 'sevice_level'; allowed: " in err
    assert "the closest: service_level" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists(), err


def test_a_known_metric_the_results_lack_is_refused_after_the_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """fraud_caught is a metric, but only of scenarios with an identity block."""
    err = _error(tmp_path, capsys, SWEEP, "--metric", "fraud_caught")
    assert "--metric 'fraud_caught' is not a figure of this scenario's runs; allowed: " in err
    assert "service_level" in err and "the runs are saved" in err


def test_scheduler_that_does_not_answer_fails_fast(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    start = time.monotonic()
    err = _error(tmp_path, capsys, SWEEP, "--scheduler", "tcp://127.0.0.1:9",
                 "--connect-timeout", "2")
    assert time.monotonic() - start < 30
    assert "--scheduler tcp://127.0.0.1:9: no Dask scheduler answered within 2 s" in err


def test_results_directory_of_another_scenario_via_cli(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, SWEEP)
    assert main(["sweep", str(path), "--results", str(tmp_path / "out"), "--jobs", "1"]) == 0
    capsys.readouterr()
    err = _error(tmp_path, capsys, SWEEP, "--seed", "99")
    assert "holds runs of a different scenario" in err and "run.seed (5 -> 99)" in err


def test_load_sweep_raises_scenario_error_for_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_sweep(tmp_path / "missing.yaml")
