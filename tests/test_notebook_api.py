"""Issue 18 items 2-4: the notebook API (``to_frame``, in-memory contact rows, scope names,
``repr``, clipped intervals, the few-replications warning), ``compare --by`` on every scope
and the command-line polish (``--json -``, percentages, progress counts, policy
descriptions, every validation problem in one pass). Seeds are fixed throughout."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from sim import FewReplicationsWarning, RunResults, load_scenario, run, scenario_from_dict
from sim.cli import main
from sim.kernel.metrics import SHARE_METRICS, metric_range
from sim.kernel.trace import TRACE_COLUMNS
from sim.model.fields import Probability
from sim.runner import FRAME_COLUMNS, SCOPE_NAMES, Estimate, _Progress, estimate

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def _short(duration: str = "3h") -> dict[str, Any]:
    data = yaml.safe_load(QUICKSTART.read_text())
    data["run"].update({"duration": duration, "warmup": "30min"})
    return data


@pytest.fixture(scope="module")
def results() -> RunResults:
    """fcfs and priority on a 3-hour quickstart, 5 replications, with contact rows."""
    return run(scenario_from_dict(_short()), ["fcfs", "priority"], replications=5, seed=7,
               progress=False, contacts=True)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------ to_frame
def test_to_frame_is_one_row_per_policy_scope_key_and_metric(results: RunResults) -> None:
    frame = results.to_frame("type")
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert not frame.duplicated(["policy", "scope", "key", "metric"]).any()
    summary = results.summary("type")
    assert len(frame) == sum(len(figures) for per_key in summary.values()
                             for figures in per_key.values())
    row = frame[(frame.policy == "priority") & (frame.key == "vip")
                & (frame.metric == "asa_s")].iloc[0]
    expected = summary["priority"]["vip"]["asa_s"]
    assert (row["mean"], row.ci95_low, row.ci95_high, row.n) == (
        expected.mean, expected.low, expected.high, 5)
    assert set(frame.scope) == {"type"}


def test_to_frame_scopes_by_either_name_and_all_by_default(results: RunResults) -> None:
    assert results.to_frame("by_type").equals(results.to_frame("type"))
    overall = results.to_frame("overall")
    assert set(overall.key) == {""} and set(overall.policy) == {"fcfs", "priority"}
    everything = results.to_frame()
    assert set(everything.scope) == {"overall", "type", "group", "interval"}
    two = results.to_frame(["overall", "by_group"])
    assert set(two.scope) == {"overall", "group"}
    with pytest.raises(ValueError, match="unknown scope 'day'; allowed: overall, type"):
        results.to_frame("day")


def test_one_scope_naming_everywhere(results: RunResults) -> None:
    assert SCOPE_NAMES == ("overall", "type", "group", "interval", "tier", "channel",
                           "campaign", "agent", "weekday")
    assert results.summary("type") == results.summary("by_type")
    assert {row["scope"] for row in results.records()} == {"overall", "type", "group",
                                                           "interval"}


def test_without_pandas_the_error_says_how_to_install_it(
        results: RunResults, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # ``import pandas`` now fails
    with pytest.raises(ImportError, match=r"pip install 'ccsim\[pandas\]'"):
        results.to_frame()
    with pytest.raises(ImportError, match="contacts_frame needs pandas"):
        results.contacts_frame()


def test_repr_is_one_short_line(results: RunResults) -> None:
    text = repr(results)
    assert text == ("RunResults(scenario='quickstart', policies=['fcfs', 'priority'], "
                    f"replications=5, seed=7, contacts={len(results.contacts or [])})")


# ------------------------------------------------------------------- contact rows
def test_contact_rows_in_memory_are_the_trace_rows(tmp_path: Path) -> None:
    scenario = scenario_from_dict(_short("2h"))
    trace = tmp_path / "trace.csv"
    both = run(scenario, ["fcfs", "priority"], replications=5, seed=3, progress=False,
               trace=trace, contacts=True)
    with trace.open(newline="") as file:
        written = list(csv.DictReader(file))
    assert both.contacts is not None and len(both.contacts) == len(written) > 500
    for memory, row in zip(both.contacts, written):
        assert list(memory) == list(TRACE_COLUMNS)
        for column, value in memory.items():
            text = "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(
                value)
            assert text == row[column], (column, memory, row)
    # Parallel workers give the same rows in the same order; without asking, none are kept.
    parallel = run(scenario, ["fcfs", "priority"], replications=5, seed=3, progress=False,
                   jobs=2, contacts=True)
    assert parallel.contacts == both.contacts
    assert run(scenario, ["fcfs"], replications=5, seed=3, progress=False).contacts is None


def test_contacts_frame(results: RunResults) -> None:
    frame = results.contacts_frame()
    assert tuple(frame.columns) == TRACE_COLUMNS and len(frame) == len(results.contacts or [])
    answered = frame[frame.outcome == "answered"]
    assert (answered.wait_s >= 0).all() and answered.agent_id.notna().all()
    with pytest.raises(ValueError, match="contacts=True"):
        RunResults(results.scenario, 7, 5, results.runs).contacts_frame()


# --------------------------------------------------------------- bounded intervals
def test_interval_is_clipped_to_the_metric_range() -> None:
    shares = estimate([0.99, 0.97, 1.0], metric_range("service_level"))
    assert shares.high == 1.0 and shares.low > 0.9 and shares.clipped
    waits = estimate([0.5, 9.0], metric_range("asa_s"))
    assert waits.low == 0.0 and waits.high > 9.0 and waits.clipped
    assert waits.mean == 4.75  # the mean never moves
    inside = estimate([0.5, 0.6, 0.55], metric_range("service_level"))
    assert not inside.clipped
    # Differences are signed: no range.
    assert estimate([-1.0, 1.0]).low < 0
    assert {"service_level", "abandon_rate", "occupancy", "utilisation"} <= SHARE_METRICS
    assert metric_range("occupancy") == (0.0, 1.0) and metric_range("asa_s")[0] == 0.0


def test_a_clipped_interval_reads_as_its_bounds() -> None:
    assert Estimate(0.8, 0.75, 0.85, 5).text("{:.1%}") == "80.0% ± 5.0%"
    assert Estimate(0.99, 0.97, 1.0, 5, clipped=True).text("{:.1%}") == "99.0% [97.0%, 100.0%]"
    assert Estimate(3.0, math.nan, math.nan, 1).text("{:.1f}") == "3.0"
    assert Estimate(math.nan, math.nan, math.nan, 0).text("{:.1f}") == "-"


def test_two_replications_keep_every_interval_in_range() -> None:
    with pytest.warns(FewReplicationsWarning, match="2 replications: 95% confidence"):
        short = run(scenario_from_dict(_short("2h")), ["fcfs", "priority"], replications=2,
                    seed=11, progress=False)
    document = short.to_json()
    checked = 0
    for scope in ("results", "by_type", "by_group", "by_interval"):
        for metric, value in _estimates(document[scope]):
            low, high = value["ci95"]
            if low is None:
                continue
            bottom, top = metric_range(metric)
            assert bottom <= low <= value["mean"] <= high <= top, (scope, metric, value)
            checked += 1
    assert checked > 100


def _estimates(tree: Any) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for key, value in tree.items():
        if isinstance(value, dict) and "ci95" in value:
            found.append((key, value))
        elif isinstance(value, dict):
            found += _estimates(value)
    return found


def test_five_replications_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewReplicationsWarning)
        run(scenario_from_dict(_short("1h")), replications=5, seed=1, progress=False)


def test_the_cli_prints_the_warning_once_after_the_results(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "run", str(QUICKSTART), "--replications", "2",
                          "--policy", "fcfs", "--policy", "priority")
    assert code == 0 and out.startswith("quickstart: 2 replications")
    assert err == ("ccsim: warning: 2 replications: 95% confidence intervals from so few are "
                   "wide and unreliable; allowed: 5 or more replications (10 or more for "
                   "tight intervals)\n")


# -------------------------------------------------------------- compare everywhere
def test_compare_by_tier_gives_the_vip_paired_difference(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "compare", str(ROOT / "scenarios" / "bank_vip.yaml"),
                        "--policy", "fcfs", "--policy", "vip", "--by", "tier",
                        "--format", "json", "--replications", "2")
    assert code == 0
    document = json.loads(out)
    assert {"standard", "vip"} <= set(document["by_tier"])
    difference = document["by_tier"]["vip"]["differences"]["vip"]["mean_wait_s"]
    waits = document["by_tier"]["vip"]["results"]
    assert difference["mean"] == pytest.approx(
        waits["vip"]["mean_wait_s"]["mean"] - waits["fcfs"]["mean_wait_s"]["mean"])
    assert difference["ci95"][0] < difference["mean"] < difference["ci95"][1]


@pytest.mark.parametrize("command", ["compare", "run"])
def test_by_a_scope_the_scenario_lacks_is_one_line(capsys: pytest.CaptureFixture[str],
                                                   command: str) -> None:
    code, out, err = _cli(capsys, command, str(QUICKSTART), "--policy", "fcfs",
                          "--policy", "priority", "--by", "tier")
    assert code == 2 and out == ""
    assert err == ("ccsim: error: --by tier: scenario 'quickstart' has no tier breakdown "
                   "(tiers need customers, channels need channels or retrials/callbacks/"
                   "journeys, campaigns need outbound); allowed: type, group, interval, "
                   "agent, weekday\n")


# -------------------------------------------------------------------- CLI polish
def test_json_to_stdout_is_only_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "run", str(QUICKSTART), "--json", "-", "--by", "type")
    assert code == 0
    document = json.loads(out)  # the whole of stdout
    assert document["replications"] == 5 and "vip" in document["by_type"]["fcfs"]


def test_percentages_wherever_a_share_is(capsys: pytest.CaptureFixture[str]) -> None:
    _, as_share, _ = _cli(capsys, "erlang", "--rate", "1176/h", "--aht", "300s", "--agents",
                          "100", "--target", "0.85")
    code, as_percent, err = _cli(capsys, "erlang", "--rate", "1176/h", "--aht", "300s",
                                 "--agents", "100", "--target", "85%")
    assert code == 0 and as_percent == as_share and "Agents for SL >= 85%" in as_percent
    code, _, err = _cli(capsys, "erlang", "--rate", "1176/h", "--aht", "300s", "--agents",
                        "100", "--target", "120%")
    assert code == 2 and err.startswith("ccsim: error: --target must be between 0 and 1")
    shares = TypeAdapter(Probability)
    assert shares.validate_python("30%") == pytest.approx(0.3)
    assert shares.validate_python(0.3) == 0.3
    with pytest.raises(ValueError):
        shares.validate_python("130%")
    text = (ROOT / "scenarios" / "omnichannel_bank.yaml").read_text()
    assert "retrial: {probability: 0.5," in text
    with_percent = yaml.safe_load(text.replace("retrial: {probability: 0.5,",
                                               "retrial: {probability: 50%,"))
    scenario = scenario_from_dict(with_percent, base_dir=ROOT / "scenarios")
    plain = load_scenario(ROOT / "scenarios" / "omnichannel_bank.yaml")
    assert scenario.contact_types == plain.contact_types


def test_progress_counts_whole_runs() -> None:
    bar = _Progress(3, True)
    try:
        report = bar.within_task()
        assert report is not None
        report(0.5)
        assert bar._bar.postfix == "0/3 runs" and bar._bar.n == pytest.approx(0.5)
        bar.advance_to_task_end()
        assert bar._bar.postfix == "1/3 runs" and bar._bar.n == pytest.approx(1.0)
        bar.advance_to_task_end()
        assert bar._bar.postfix == "2/3 runs"
    finally:
        bar.__exit__(None, None, None)


def test_policies_prints_whole_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "policies")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("  mobile_advisers"))
    assert line.endswith("first when on duty and free; unanswered, busy or absent owners "
                         "fall back to the center's longest-idle agent.")


MISTAKES = """\
name: many-mistakes
run: {duration: 8h, warmup: 1h, replications: 3, seed: 1, interval: 30min, speed: 3}
contact_types:
  general:
    arrivals: {rate: 100/h}
    handle_time: {dist: exponentail, mean: 300s}
  vip:
    arrivals: {rate: 10/h}
    handle_time: {dist: exponential, mean: 300s}
agents:
  pool: {count: 10, skills: [general, billing]}
  vips: {count: 3, skills: [vip]}
  vips: {count: 4, skills: [vip]}
routing: {policy: nosuch}
service_level: {threshold: 20s, short_abandon: 5}
"""


def test_validate_reports_every_independent_mistake_at_once(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "mistakes.yaml"
    path.write_text(MISTAKES)
    code, out, err = _cli(capsys, "validate", str(path))
    assert code == 2 and out == ""
    fields = [line.split(": ")[1] for line in err.splitlines()]
    assert fields == ["agents.vips", "run.speed", "contact_types.general.handle_time.dist",
                      "agents.pool.skills.1", "routing.policy",
                      "service_level.short_abandon"], err


def test_whole_scenario_checks_report_together(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    data = yaml.safe_load(QUICKSTART.read_text())
    data["contact_types"]["billing"] = data["contact_types"]["general"]  # nobody serves it
    data["matching"] = {"language": True}  # compares with customers, and there are none
    path = tmp_path / "cross.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, err = _cli(capsys, "validate", str(path))
    assert code == 2
    fields = [line.split(": ")[1] for line in err.splitlines()]
    assert fields == ["contact_types.billing", "matching"], err


def test_the_docs_notebook_runs(tmp_path: Path) -> None:
    """docs/compare_policies.py: load, run two policies, compare in pandas, plot."""
    figure = tmp_path / "figure.png"
    env = {**os.environ, "CCSIM_REPLICATIONS": "5", "CCSIM_FIGURE": str(figure),
           "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "compare_policies.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning: every step is used as documented
    assert "priority - fcfs" in done.stdout and "wait_s" not in done.stderr
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
