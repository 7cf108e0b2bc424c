"""Hostile and huge input, interrupted runs, output files (issue 13).

Every malformed input ends with exit status 2 and one line naming the file and field,
or the flag, before any work; files are written atomically; paths a scenario names
never have their content echoed; an interrupted run leaves no worker behind.

Bounds are exercised through the cheapest input that crosses them; what could hang
(an alias bomb, an interrupted ``--jobs 2`` run) runs in a subprocess with a generous
timeout, so that a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.errors import ScenarioError, UsageError
from sim.files import (
    atomic_path, check_output_file, check_output_folder, open_atomic, safe_file_name,
    write_atomic,
)
from sim.model import yaml_input
from sim.model.scenario import load_scenario, parse_scenario
from sim.workers import _start_workers, cap_jobs, usable_cores, worker_pool

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
SUBPROCESS_TIMEOUT = 120  # seconds; generous on a loaded machine, finite if it hangs

BASE = """\
name: hardening
run: {duration: 8h, replications: 2, seed: 1}
contact_types:
  calls:
    arrivals: {rate: 120/h}
    handle_time: {dist: lognormal, mean: 4min, cv: 1.2}
agents:
  team: {count: 12, skills: [calls]}
routing: {policy: fcfs}
"""
SECRET = "root:SECRET-HASH:19000:0:99999"
"""A first line that must never appear in a message (as /etc/shadow's would)."""


def edit(old: str, new: str, text: str = BASE) -> str:
    """``text`` with the one occurrence of ``old`` replaced."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one stderr line of ``ccsim ARGV``, which must fail with status 2."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def scenario_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                   *flags: str) -> str:
    """The one-line error of ``ccsim validate`` on ``text``; starts with ``FILE:``."""
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    line = error_of(capsys, "validate", str(path), *flags)
    assert line.startswith(f"{path}:"), line
    return line


def ccsim(*argv: str, **options: object) -> subprocess.CompletedProcess[str]:
    """``ccsim ARGV`` in a fresh interpreter, within ``SUBPROCESS_TIMEOUT``."""
    return subprocess.run([sys.executable, "-m", "sim.cli", *argv], capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT, cwd=ROOT, **options)


# ----------------------------------------------------------------------------- 1. YAML
def alias_bomb(levels: int = 9) -> str:
    """"Billion laughs": each level a list of ten aliases of the previous one."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]"
              for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_rejected_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    done = ccsim("validate", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"{path}:6: YAML with aliases (*name) expanded holds more "
                                  f"than {yaml_input.MAX_NODES} values; allowed:")


def test_alias_bomb_in_a_grid_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(BASE)
    # The same bomb in flow style, as one --grid value.
    items = ["&a0 [" + ", ".join(["1"] * 10) + "]"]
    items += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 7)]
    bomb = "[" + ", ".join(items) + "]"
    line = error_of(capsys, "sweep", str(path), "--grid", f"agents.team.count={bomb}")
    assert line.startswith("ccsim: error: --grid") and "expanded holds more than" in line


def test_aliases_within_the_bound_work_as_in_yaml() -> None:
    text = "base: &b {mean: 3min, cv: 0.5}\nuse: {<<: *b, cv: 1.0}\nlist: [*b, *b]\n"
    assert yaml_input.load(text) == yaml.safe_load(text)
    root = yaml_input.compose(text)
    yaml_input.construct(root)
    # Resolving the merge key worked on a copy: the tree keeps the keys as written.
    use = root.value[1][1]
    assert [key.value for key, _ in use.value] == ["<<", "cv"]


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").rglob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_scenarios_read_as_with_yaml(path: Path) -> None:
    text = path.read_text()
    assert yaml_input.load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", [
    "name: " + "[" * 5000 + "]" * 5000 + "\n",
    "".join(f"{'  ' * depth}k{depth}:\n" for depth in range(200)) + "  " * 200 + "x: 1\n",
], ids=["flow", "block"])
def test_deep_nesting_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  text: str) -> None:
    line = scenario_error(tmp_path, capsys, text)
    assert f"YAML nested deeper than {yaml_input.MAX_DEPTH} levels" in line


def test_an_alias_inside_its_own_value_is_rejected(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    line = scenario_error(tmp_path, capsys, BASE + "loop: &loop [1, *loop]\n")
    assert "alias *loop is used inside the value it names" in line


def test_yaml_larger_than_the_bound(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    padding = "#" * 100 + "\n"
    text = BASE + padding * (yaml_input.MAX_YAML_BYTES // len(padding) + 1)
    line = scenario_error(tmp_path, capsys, text)
    assert "is larger than the limit of 0.5 MB; allowed: a scenario YAML file" in line
    with pytest.raises(ScenarioError, match="YAML larger than 512 KB"):
        parse_scenario(text)


def test_a_device_is_not_read(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    line = error_of(capsys, "validate", "/dev/zero")
    assert line == ("/dev/zero: is not a regular file (a device, pipe or socket); allowed: a "
                    "scenario YAML file")


def test_many_unknown_keys_give_one_short_line(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE + "".join(f"junk{n}: 1\n" for n in range(1000))
    line = scenario_error(tmp_path, capsys, text)
    assert "'junk0', 'junk1', 'junk2', 'junk3', 'junk4' and 995 more" in line
    assert len(line) < 600


def test_many_problems_are_counted_not_all_shown() -> None:
    error = ScenarioError("f.yaml", [f"{n}: x: wrong" for n in range(1, 31)])
    lines = str(error).splitlines()
    assert len(lines) == ScenarioError.SHOWN + 1
    assert lines[-1] == "f.yaml: 10 more problems not shown; allowed: fix the ones above first"
    assert len(error.problems) == 30


# -------------------------------------------------------------------------- 1. bounds
@pytest.mark.parametrize(("old", "new", "expected"), [
    ("replications: 2", "replications: 1000000000",
     ":2: run.replications: 1e+09 replications; allowed: at most 10000 replications"),
    ("count: 12", "count: 1000000000",
     ":8: agents.team.count: 1e+09 agents on duty; allowed: at most 100000"),
    ("rate: 120/h", "rate: 1e12/h",
     ":5: contact_types.calls.arrivals.rate: 1.6e+13 expected events (arrivals, retrials, "
     "outbound tasks and interval boundaries: 8e+12 per replication x 2); allowed: at most 5e+07"),
    ("rate: 120/h", "rate: 4000000/h",
     ":2: run.replications: 6.4e+07 expected events (arrivals, retrials, outbound tasks and "
     "interval boundaries: 3.2e+07 per replication x 2)"),
    ("duration: 8h", "duration: 1e9h",
     ":2: run.duration: '1e9h' is too large; allowed: at most 1e+10s (317 years)"),
    ("cv: 1.2", "cv: 1e300",
     ":6: contact_types.calls.handle_time.cv: 1e+300 is out of range for drawing values; "
     "allowed: 0.001 to 100"),
    ("{dist: lognormal, mean: 4min, cv: 1.2}", "{dist: weibull, mean: 4min, shape: 0.001}",
     ":6: contact_types.calls.handle_time.shape: 0.001 is out of range for drawing values; "
     "allowed: 0.01 to 1000"),
    ("{dist: lognormal, mean: 4min, cv: 1.2}", "{dist: erlang, mean: 4min, k: 10000000}",
     ":6: contact_types.calls.handle_time.k: 1e+07 is out of range for drawing values; "
     "allowed: 1 to 1e+06"),
    ("mean: 4min", "mean: 1e300h", "handle_time.mean: '1e300h' is too large"),
    ("rate: 120/h", "rate: 1e308/ms", "arrivals.rate: '1e308/ms' is too large"),
], ids=["replications", "agents", "rate", "replications-times-events", "duration", "cv",
        "weibull-shape", "erlang-k", "huge-mean", "infinite-rate"])
def test_bounds_of_a_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str,
                              new: str, expected: str) -> None:
    line = scenario_error(tmp_path, capsys, edit(old, new))
    assert expected in line, line
    if "at most" in expected and "years" not in expected:
        assert line.endswith("or --no-limits (no_limits=True in Python) to lift this bound")


def test_agents_of_all_groups_together(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    text = edit("  team: {count: 12, skills: [calls]}\n",
                "".join(f"  team{n}: {{count: 60000, skills: [calls]}}\n" for n in range(2)))
    line = scenario_error(tmp_path, capsys, text)
    assert ":7: agents: 1.2e+05 agents on duty; allowed: at most 100000 agents on duty: " \
           "fewer agents in all groups together" in line


def test_population_and_questions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bank = (ROOT / "scenarios" / "identity_bank.yaml").read_text()
    line = scenario_error(tmp_path, capsys, edit("population: 200000",
                                                 "population: 1000000000000", bank))
    assert "customers.population: 1e+12 customers; allowed: at most 1e+07 customers" in line
    line = scenario_error(tmp_path, capsys, edit("questions: 3", "questions: 1000000000", bank))
    assert "identity.methods.knowledge_questions.questions: 1000000000 questions; allowed: " \
           "1 to 100" in line


def test_outbound_tasks_count_as_events(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    text = edit("per_day: 600", "per_day: 1000000000",
                (ROOT / "scenarios" / "outbound_best_time.yaml").read_text())
    line = scenario_error(tmp_path, capsys, text)
    assert "outbound.campaigns.payment_reminder.per_day: 3e+10 expected events" in line


def test_no_limits_lifts_the_judgement_bounds(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(edit("count: 12", "count: 200000", edit("replications: 2",
                                                            "replications: 20000")))
    assert main(["validate", str(path)]) == 2
    capsys.readouterr()
    assert main(["validate", str(path), "--no-limits"]) == 0
    assert load_scenario(path, no_limits=True).run.replications == 20000


def test_replications_flag_is_bounded(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    line = error_of(capsys, "run", str(QUICKSTART), "--replications", "1000000000")
    assert line.startswith("ccsim: error: --replications 1000000000: 1e+09 replications; "
                           "allowed: at most 10000 replications")
    busy = tmp_path / "busy.yaml"
    busy.write_text(edit("rate: 120/h", "rate: 120000/h"))
    for command in (["run"], ["compare", "--policy", "fcfs", "--policy", "priority"],
                    ["staff", "--target", "service_level>=0.8"]):
        line = error_of(capsys, command[0], str(busy), *command[1:], "--replications", "100")
        assert line.startswith("ccsim: error: --replications 100: 9.6e+07 expected events "
                               "(arrivals, retrials, outbound tasks and interval boundaries: "
                               "9.6e+05 per replication x 100); allowed: at most 5e+07"), line


def test_python_run_is_bounded_too() -> None:
    from sim.runner import run

    with pytest.raises(ValueError, match="replications=1000000000: 1e.09 replications"):
        run(load_scenario(QUICKSTART), replications=1_000_000_000)


def test_large_data_files_are_refused(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "samples.txt").write_text("1\n" * (9 * 2**20))  # 18 MB
    text = edit("{dist: lognormal, mean: 4min, cv: 1.2}",
                "{dist: empirical, file: samples.txt, unit: s}")
    line = scenario_error(tmp_path, capsys, text)
    assert ("handle_time.file: cannot read samples file" in line
            and "is larger than the limit of 16 MB, which --no-limits" in line)
    (tmp_path / "trace.csv").write_text("arrival_s\n" + "1\n" * (9 * 2**20))
    line = scenario_error(tmp_path, capsys, edit("rate: 120/h", "trace: trace.csv"))
    assert "arrivals.trace: cannot read arrival trace" in line and "16 MB" in line


# ----------------------------------------------------------------------- 1. sweeps
SWEEP = BASE + "sweep:\n  grid:\n    agents.team.count: {from: 1, to: 1000000, step: 1}\n"


def test_grid_points_are_counted_before_they_are_built(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    line = error_of(capsys, "sweep", str(path))
    assert line.startswith(f"{path}:12: sweep.grid.agents.team.count.step: 1e+06 grid points; "
                           "allowed: at most 10000 grid points")
    path.write_text(SWEEP.replace("to: 1000000, step: 1", "to: 1e300, step: 1e-300"))
    assert "inf grid points" in error_of(capsys, "sweep", str(path))
    values = "[" + ", ".join(str(n) for n in range(1, 102)) + "]"
    path.write_text(SWEEP.replace("{from: 1, to: 1000000, step: 1}", values))
    line = error_of(capsys, "sweep", str(path), "--grid", f"agents.team.speed={values}")
    assert line.startswith(f"{path}:11: sweep.grid: 1.02e+04 grid points; allowed:")


def test_expected_events_of_a_sweep_add_up(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from sim.analysis.sweep import load_sweep

    path = tmp_path / "sweep.yaml"
    path.write_text(edit("rate: 120/h", "rate: 600000/h", SWEEP.replace(
        "{from: 1, to: 1000000, step: 1}", "{from: 1, to: 10, step: 1}")))
    line = error_of(capsys, "sweep", str(path))
    assert line.startswith(f"{path}:10: sweep: 9.6e+07 expected events (arrivals, outbound "
                           "tasks and interval boundaries of 10 grid points x 2 replications)")
    assert len(load_sweep(path, no_limits=True).points) == 10


# ------------------------------------------------------------------------- 1. flags
def test_negative_seed_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert error_of(capsys, "run", str(QUICKSTART), "--seed", "-5") == (
        "ccsim: error: --seed must be >= 0")


@pytest.mark.parametrize(("argv", "expected"), [
    (["--rate", "-5/h", "--aht", "300s", "--agents", "10"],
     "ccsim: error: --rate: '-5/h' is negative; allowed: a rate with a unit"),
    (["--rate", "100/h", "--aht", "-5s", "--agents", "10"],
     "ccsim: error: --aht: '-5s' is negative"),
    (["--rate", "100/h", "--aht", "300s", "--agents", "1000000000"],
     "ccsim: error: --agents must be <= 100000"),
])
def test_erlang_flags(capsys: pytest.CaptureFixture[str], argv: list[str],
                      expected: str) -> None:
    assert error_of(capsys, "erlang", *argv).startswith(expected)


def test_jobs_above_the_cores_are_capped_with_a_warning(
        capsys: pytest.CaptureFixture[str]) -> None:
    cores = usable_cores()
    assert cap_jobs(cores) == cores and capsys.readouterr().err == ""
    assert cap_jobs(cores + 1000, "--jobs") == cores
    assert capsys.readouterr().err == (f"ccsim: warning: --jobs {cores + 1000} is more than the "
                                       f"{cores} cores this process may use; using {cores}\n")


# ------------------------------------------------------------------ 3. output files
def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old and good\n")
    with pytest.raises(RuntimeError), open_atomic(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old and good\n"
    assert list(tmp_path.iterdir()) == [target]  # the temporary file is gone
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n" and list(tmp_path.iterdir()) == [target]


def test_an_interrupted_trace_leaves_the_old_file(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine writes trace rows, then the run is interrupted: the old trace stays."""
    from sim import runner

    trace = tmp_path / "trace.csv"
    trace.write_text("old trace\n")
    real_run = runner.Simulation.run

    def run_then_interrupt(self: runner.Simulation) -> object:
        real_run(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.Simulation, "run", run_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        runner.run(load_scenario(QUICKSTART), replications=1, trace=trace, progress=False)
    assert trace.read_text() == "old trace\n" and list(tmp_path.iterdir()) == [trace]


def test_atomic_files_get_the_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    with atomic_path(target) as temporary:
        temporary.write_text("x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(("argv", "expected"), [
    (["run", str(QUICKSTART), "--json", "{tmp}/nodir/out.json"],
     "ccsim: error: --json {tmp}/nodir/out.json: the folder of the file {tmp}/nodir is not "
     "an existing folder"),
    (["run", str(QUICKSTART), "--trace", "{tmp}"],
     "ccsim: error: --trace {tmp}: is a folder; allowed: a file path"),
    (["schema", "--output", "{tmp}"], "ccsim: error: --output {tmp}: is a folder"),
    (["calibrate", "{tmp}/no-log.txt", "--out", "{tmp}"], "ccsim: error: --out {tmp}: is a folder"),
    (["compare", str(QUICKSTART), "--policy", "fcfs", "--policy", "priority", "--report",
      "{tmp}/file.txt"], "ccsim: error: --report {tmp}/file.txt: is a file"),
    (["sweep", str(QUICKSTART), "--grid", "agents.vip_desk.count=[8]", "--results",
      "{tmp}/file.txt/runs"], "ccsim: error: --results {tmp}/file.txt/runs: the folder "
     "{tmp}/file.txt is not an existing folder"),
    (["reality", "{tmp}/no-log.txt", "--json", "{tmp}"], "ccsim: error: --json {tmp}: is a folder"),
])
def test_output_paths_are_checked_before_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        argv: list[str], expected: str) -> None:
    import sim.runner

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the simulation ran before the output path was checked")

    monkeypatch.setattr(sim.runner, "run", no_run)
    (tmp_path / "file.txt").write_text("")
    line = error_of(capsys, *(word.replace("{tmp}", str(tmp_path)) for word in argv))
    assert line.startswith(expected.replace("{tmp}", str(tmp_path))), line


def test_unwritable_folder_is_refused(tmp_path: Path) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc")
    with pytest.raises(UsageError, match=r"--results /proc/self/x: the folder /proc/self is "
                                         "not writable"):
        check_output_folder("/proc/self/x", "--results")
    check_output_folder(tmp_path / "new" / "deeper", "--report")  # created when written
    check_output_file(tmp_path / "out.json", "--json")


def test_sweep_folder_named_after_the_scenario_stays_here(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    scenario = tmp_path / "sweep.yaml"
    scenario.write_text(edit("name: hardening", "name: ../../x", edit(
        "duration: 8h", "duration: 1h")) + "sweep:\n  grid:\n    agents.team.count: [12]\n")
    assert main(["sweep", str(scenario), "--jobs", "1"]) == 0
    assert "results in x.sweep" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "sweep.yaml"]
    assert sorted(p.name for p in work.iterdir()) == ["x.sweep"]


@pytest.mark.parametrize(("name", "expected"), [
    ("../../x", "x"), ("/etc/passwd", "etc_passwd"), ("..", "sweep"), ("", "sweep"),
    ("bank day 2024", "bank_day_2024"), ("quick.start-1", "quick.start-1"), (".hidden", "hidden"),
])
def test_safe_file_name(name: str, expected: str) -> None:
    assert safe_file_name(name, "sweep") == expected


# -------------------------------------------------------------------- 4. reading files
def test_samples_file_content_is_not_echoed(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "shadow").write_text(f"{SECRET}\n12\n")
    text = edit("{dist: lognormal, mean: 4min, cv: 1.2}",
                "{dist: empirical, file: shadow, unit: s}")
    line = scenario_error(tmp_path, capsys, text)
    assert f"{tmp_path / 'shadow'}:1: not a number >= 0; allowed: one number (s) per line" \
        in line
    assert "SECRET" not in line


@pytest.mark.parametrize(("first", "said"), [
    (SECRET, "its first line has one field, not shown"),
    (f"{SECRET},x", "its first line is not a header of column names"),
    ("SECRET-HASH", "its first line has one field, not shown"),  # looks like a column name
])
def test_trace_content_is_not_echoed(first: str, said: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "shadow").write_text(f"{first}\n12\n")
    line = scenario_error(tmp_path, capsys, edit("rate: 120/h", "trace: shadow"))
    assert f"shadow:1: no arrival_s column ({said})" in line
    assert "SECRET" not in line


def test_log_and_mapping_content_is_not_echoed(tmp_path: Path) -> None:
    from sim.analysis.calllog import CsvMapping, read_log

    secret = tmp_path / "shadow"
    secret.write_text(f"{SECRET}\nmore: [secrets\n")
    with pytest.raises(ValueError, match="unknown log format") as log_error:
        read_log(secret)
    with pytest.raises(ValueError, match="shadow:2: not valid YAML") as mapping_error:
        CsvMapping.load(secret)
    for error in (log_error, mapping_error):
        assert "SECRET" not in str(error.value) and "secrets" not in str(error.value)


def test_a_foreign_file_as_scenario_is_not_echoed(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    line = scenario_error(tmp_path, capsys, f"{SECRET}\n")
    assert "the top level is a single value, not a mapping" in line and "SECRET" not in line


def test_paths_resolve_against_the_scenario_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "scenarios"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "times.txt").write_text("100\n200\n")
    (folder / "data" / "trace.csv").write_text("arrival_s\n1\n5\n")
    path = folder / "s.yaml"
    path.write_text(edit("rate: 120/h", "trace: data/trace.csv", edit(
        "{dist: lognormal, mean: 4min, cv: 1.2}",
        "{dist: empirical, file: data/times.txt, unit: s}")))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "scenarios/s.yaml"]) == 0


# ----------------------------------------------------------------------- 5. processes
def test_a_closed_stdout_ends_quietly() -> None:
    """The reader is gone before ccsim writes: every write meets a broken pipe."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "run", str(QUICKSTART), "--replications", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    # stderr is still open: the one line there is the warning that 1 replication is few.
    assert process.returncode == 0
    assert [line for line in err.splitlines() if not line.startswith("ccsim: warning: ")] == []


def test_run_piped_into_head_exits_zero() -> None:
    """Issue 18's must-hold, as written: the scenario's own 5 replications."""
    command = f"set -o pipefail; '{sys.executable}' -m sim.cli run '{QUICKSTART}' | head -1"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT,
                          timeout=SUBPROCESS_TIMEOUT)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("quickstart: 5 replications, seed 2026")


@pytest.mark.parametrize(("argv", "stop", "code", "message"), [
    (["run", "long.yaml", "--jobs", "2"], signal.SIGTERM, 143, "ccsim: terminated"),
    (["sweep", "long.yaml", "--jobs", "2", "--results", "out.sweep", "--replications", "5",
      "--grid", "agents.generalists.count=[44, 45, 46, 47]"], signal.SIGINT, 130,
     "ccsim: interrupted"),
], ids=["run-sigterm", "sweep-ctrl-c"])
def test_interrupting_a_parallel_run_leaves_no_worker(
        tmp_path: Path, argv: list[str], stop: signal.Signals, code: int,
        message: str) -> None:
    psutil = pytest.importorskip("psutil")
    if not Path("/proc/self/status").exists():
        pytest.skip("reads signal masks from /proc")
    # Replications long enough that the workers are surely busy when the signal comes.
    (tmp_path / "long.yaml").write_text(edit("duration: 8h", "duration: 2000h", edit(
        "replications: 5", "replications: 20", QUICKSTART.read_text())))
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", *argv], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    while len(parent.children(recursive=True)) < 2:  # both workers started
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "no workers started"
        time.sleep(0.05)
    workers = parent.children(recursive=True)
    for worker in workers:  # signals set up (``sim.workers``): a signal now is the test's
        while not _handles_signals_as_a_worker(worker.pid):
            assert time.monotonic() < deadline, "workers never set up their signals"
            time.sleep(0.05)
    # Ctrl-C reaches the whole process group; SIGTERM only the ccsim process.
    if stop == signal.SIGINT:
        os.killpg(process.pid, stop)
    else:
        process.send_signal(stop)
    _, err = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    assert process.returncode == code and err.strip().splitlines()[-1] == message, err
    assert "Traceback" not in err
    # Gone by the time ccsim has exited: not left to finish their replication alone.
    _, alive = psutil.wait_procs(workers, timeout=0)
    assert alive == []


def _handles_signals_as_a_worker(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT and leaves SIGTERM to its default action."""
    status = Path(f"/proc/{pid}/status").read_text()
    masks = {key: int(value, 16) for key, value in (
        line.split(":\t") for line in status.splitlines() if line.startswith(("SigIgn", "SigCgt")))}
    return bool(masks["SigIgn"] >> (signal.SIGINT - 1) & 1) and not (
        masks["SigCgt"] >> (signal.SIGTERM - 1) & 1)


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks")
def test_ctrl_c_while_the_workers_are_forked_is_raised_once_they_are() -> None:
    """A Ctrl-C that lands while the pool forks is held, then raised in ordinary code
    (raised in the parent's after-fork hooks, Python ignored it and the run went on)."""
    forked = []

    class ForkingPool:
        def submit(self, task: object) -> Future[int]:
            # Arrives in the middle of the forks, at any thread of the process.
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # ordinary code that Python may interrupt anywhere
                pass
            forked.append(True)  # reached only if the signal was held
            done: Future[int] = Future()
            done.set_result(0)
            return done

    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with pytest.raises(KeyboardInterrupt):
        _start_workers(ForkingPool())  # type: ignore[arg-type]
    assert forked == [True]
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    assert signal.SIGINT not in blocked and signal.SIGTERM not in blocked
    assert {number: signal.getsignal(number) for number in handlers} == handlers


def _blocked_signals() -> set[int]:
    status = Path("/proc/self/status").read_text()
    mask = next(int(line.split(":\t")[1], 16) for line in status.splitlines()
                if line.startswith("SigBlk"))
    return {number for number in range(1, 65) if mask >> (number - 1) & 1}


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_workers_do_not_keep_the_signals_held_while_they_were_forked() -> None:
    with worker_pool(2) as pool:
        blocked = pool.submit(_blocked_signals).result()
    assert signal.SIGINT not in blocked and signal.SIGTERM not in blocked
