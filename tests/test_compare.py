"""Paired policy comparison (``reports.compare``) and ``ccsim compare``.

The paired CI is checked against the exact t-interval formula, for coverage
on synthetic differences with a known mean, and on real runs: two policies that
behave identically must give a difference interval that covers zero, and a
policy that is strictly better on a metric must give one that excludes it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats

from reports.compare import (
    METRICS,
    check_metrics,
    compare,
    format_difference,
    is_significant,
    paired_difference,
    to_csv,
    to_json,
    to_markdown,
    to_text,
)
from sim import RunResults, run, scenario_from_dict
from sim.cli import main
from sim.runner import Estimate

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def _quickstart(**run_settings: Any) -> dict[str, Any]:
    data = yaml.safe_load(QUICKSTART.read_text())
    data["run"].update({"duration": "4h", **run_settings})
    return data


@pytest.fixture(scope="module")
def quickstart() -> RunResults:
    """fcfs and priority on the quickstart center (shortened), 5 replications."""
    return run(scenario_from_dict(_quickstart()), ["fcfs", "priority"], replications=5,
               progress=False)


# ------------------------------------------------------------------------ paired CI
def test_paired_difference_is_the_t_interval_of_the_differences() -> None:
    difference = paired_difference([10.0, 12.0, 14.0], [11.0, 14.0, 17.0])  # 1, 2, 3
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert difference.n == 3
    assert difference.mean == pytest.approx(2.0)
    assert (difference.low, difference.high) == pytest.approx((2.0 - half, 2.0 + half))
    assert is_significant(difference) is False  # 2 - 2.48 < 0
    # NaN pairs (a metric undefined in one replication) are left out.
    partial = paired_difference([1.0, math.nan, 3.0], [2.0, 5.0, 5.0])
    assert partial.n == 2 and partial.mean == pytest.approx(1.5)
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])


def test_paired_ci_covers_the_true_difference_95_percent_of_the_time() -> None:
    # 4,000 synthetic comparisons of 5 replications: a shared per-replication effect
    # (the arrivals both policies see) plus independent noise; true difference 0.5.
    rng = np.random.default_rng(20260611)
    trials, replications, true_difference = 4000, 5, 0.5
    shared = rng.normal(0.0, 10.0, (trials, replications))
    baseline = shared + rng.normal(0.0, 1.0, (trials, replications))
    other = shared + true_difference + rng.normal(0.0, 1.0, (trials, replications))
    covered = 0
    for b, o in zip(baseline, other):
        difference = paired_difference(b.tolist(), o.tolist())
        covered += difference.low <= true_difference <= difference.high
    # Binomial sampling error of the coverage: sd = sqrt(0.95 * 0.05 / 4000) = 0.0034.
    assert abs(covered / trials - 0.95) < 4 * math.sqrt(0.95 * 0.05 / trials)


def test_identical_policies_give_a_difference_interval_that_covers_zero() -> None:
    # With one contact type and no classes, priority makes exactly fcfs's choices; on
    # common random numbers every replication is the same, so every difference is 0.
    data = _quickstart()
    data["contact_types"].pop("vip")
    data["agents"] = {"pool": {"count": 48, "skills": ["general"]}}
    data["routing"] = {"policy": "fcfs"}
    results = run(scenario_from_dict(data), ["fcfs", "priority"], replications=4,
                  progress=False)
    comparison = compare(results)
    assert len(comparison.rows) >= 10
    for row in comparison.rows:
        difference = row.differences["priority"]
        if math.isnan(difference.mean):
            continue
        assert difference.low <= 0 <= difference.high, row.info.name
        assert is_significant(difference) is False
        assert row.verdict("priority") == ""


def test_a_strictly_better_policy_gives_an_interval_that_excludes_zero(
        quickstart: RunResults) -> None:
    # priority serves VIPs first (plus a 90 s head start): their waits fall in every
    # replication, so the paired interval lies wholly below 0.
    vip = compare(quickstart, ["asa_s", "service_level", "wait_p90_s"], scope="by_type",
                  key="vip")
    per_replication = [p.by_type["vip"]["asa_s"] - f.by_type["vip"]["asa_s"]
                       for f, p in zip(quickstart.runs["fcfs"], quickstart.runs["priority"])]
    assert max(per_replication) < 0
    rows = {row.info.name: row for row in vip.rows}
    asa = rows["asa_s"].differences["priority"]
    assert asa.high < 0 and is_significant(asa)
    assert rows["asa_s"].verdict("priority") == "better"
    assert rows["service_level"].differences["priority"].low > 0
    assert rows["service_level"].verdict("priority") == "better"


def test_pairing_is_much_tighter_than_comparing_two_intervals(quickstart: RunResults) -> None:
    # The point of common random numbers: the paired half-width of the service-level
    # difference is far below what two independent intervals would give.
    row = next(r for r in compare(quickstart).rows if r.info.name == "service_level")
    fcfs, priority = row.estimates["fcfs"], row.estimates["priority"]
    unpaired = math.hypot(fcfs.half_width, priority.half_width)
    assert row.differences["priority"].half_width < unpaired / 3


def test_one_replication_leaves_intervals_undefined() -> None:
    results = run(scenario_from_dict(_quickstart(duration="1h", warmup="0s")),
                  ["fcfs", "priority"], replications=1, progress=False)
    comparison = compare(results, ["asa_s", "service_level"])
    assert comparison.replications == 1
    for row in comparison.rows:
        assert math.isnan(row.differences["priority"].low)
        assert is_significant(row.differences["priority"]) is None
    text = to_text([comparison])
    assert "(no CI)" in text and "confidence intervals are undefined" in text
    document = json.loads(to_json([comparison]))
    assert document["differences"]["priority"]["asa_s"]["ci95"] == [None, None]
    assert document["differences"]["priority"]["asa_s"]["significant"] is None


# ------------------------------------------------------------------------ metric names
def test_unknown_metric_names_are_rejected_with_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown metric 'sla'; allowed: .*service_level"):
        check_metrics(["asa_s", "sla"])
    assert check_metrics(["asa_s", "asa_s", "occupancy"]) == ["asa_s", "occupancy"]


def test_default_metrics_skip_missing_identity_metrics(quickstart: RunResults) -> None:
    names = [row.info.name for row in compare(quickstart).rows]
    assert names[:3] == ["offered", "answered", "abandoned"]
    assert "service_level" in names and "verify_cost" not in names
    assert "wait_p99_s" not in names  # detail metrics only on request
    assert all(name in METRICS for name in names)


def test_scope_must_be_known(quickstart: RunResults) -> None:
    with pytest.raises(ValueError, match="unknown scope 'by_day'; allowed: overall, type, "):
        compare(quickstart, scope="by_day")


# ------------------------------------------------------------------------ formats
def test_differences_of_shares_are_in_percentage_points() -> None:
    share = METRICS["service_level"]
    assert format_difference(Estimate(0.012, 0.004, 0.020, 5), share) == \
        "+1.2 pp [+0.4, +2.0]"
    seconds = METRICS["asa_s"]
    assert format_difference(Estimate(-3.84, -5.9, -1.7, 5), seconds) == "-3.8 [-5.9, -1.7]"
    assert format_difference(Estimate(math.nan, math.nan, math.nan, 0), seconds) == "-"
    # A significant interval never reads as touching 0: it gets the digits it needs.
    assert format_difference(Estimate(0.31, 0.02, 0.6, 5), seconds) == "+0.31 [+0.02, +0.60]"
    assert format_difference(Estimate(0.31, -0.02, 0.6, 5), seconds) == "+0.3 [-0.0, +0.6]"


def test_text_and_markdown_mark_significant_differences(quickstart: RunResults) -> None:
    vip = compare(quickstart, ["asa_s", "offered"], scope="by_type", key="vip")
    text = to_text([vip])
    asa_line = next(line for line in text.splitlines() if line.startswith("ASA"))
    assert asa_line.endswith("better")
    offered_line = next(line for line in text.splitlines() if line.startswith("Offered"))
    assert offered_line.endswith("+0 [+0, +0]")  # same contacts under both policies
    markdown = to_markdown([vip])
    assert "| Metric | fcfs | priority | Δ priority − fcfs |" in markdown
    assert "better**" in markdown and "| --- | ---: | ---: | ---: |" in markdown


def test_json_keeps_the_results_shape_of_ccsim_run(quickstart: RunResults) -> None:
    comparisons = [compare(quickstart), compare(quickstart, scope="by_type", key="vip")]
    document = json.loads(to_json(comparisons))
    assert document["baseline"] == "fcfs" and document["labels"] == ["fcfs", "priority"]
    summary = quickstart.summary()
    for label in ("fcfs", "priority"):
        entry = document["results"][label]["service_level"]
        assert entry["mean"] == pytest.approx(summary[label]["service_level"].mean)
        assert entry["ci95"] == pytest.approx([summary[label]["service_level"].low,
                                               summary[label]["service_level"].high])
    assert set(document["differences"]) == {"priority"}
    assert document["by_type"]["vip"]["differences"]["priority"]["asa_s"]["verdict"] == "better"


def test_csv_has_one_row_per_metric_and_label(quickstart: RunResults) -> None:
    comparison = compare(quickstart, ["asa_s", "occupancy"])
    rows = list(csv.DictReader(io.StringIO(to_csv([comparison]))))
    assert [(r["metric"], r["label"]) for r in rows] == [
        ("asa_s", "fcfs"), ("asa_s", "priority"), ("occupancy", "fcfs"),
        ("occupancy", "priority")]
    assert rows[0]["diff_mean"] == "" and rows[1]["diff_mean"] != ""
    difference = comparison.rows[0].differences["priority"]
    assert float(rows[1]["diff_ci95_low"]) == difference.low
    assert rows[1]["significant"] == str(is_significant(difference)).lower()


# ------------------------------------------------------------------------ command line
def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_command_writes_each_format(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    scenario = tmp_path / "short.yaml"
    scenario.write_text(yaml.safe_dump(_quickstart(duration="2h")))
    base = [str(scenario), "--policy", "fcfs", "--policy", "priority", "--replications", "3"]
    code, out, err = _cli(capsys, "compare", *base, "--metric", "asa_s",
                          "--metric", "service_level", "--by", "type")
    # Three replications: the results, then one line that says they are too few for CIs.
    assert code == 0 and err.startswith("ccsim: warning: 3 replications: ")
    assert len(err.splitlines()) == 1
    assert out.startswith("quickstart: fcfs vs priority (3 replications, seed 2026)")
    assert "by type vip" in out and "Δ priority − fcfs" in out
    code, out, _ = _cli(capsys, "compare", *base, "--format", "json", "--output",
                        str(tmp_path / "out.json"))
    assert code == 0 and out == ""
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["replications"] == 3 and "asa_s" in document["results"]["priority"]
    code, out, _ = _cli(capsys, "compare", *base, "--format", "csv", "--metric", "asa_s")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 2
    code, out, _ = _cli(capsys, "compare", *base, "--format", "markdown")
    assert code == 0 and out.startswith("## quickstart")


def test_compare_labels_policy_and_verification_strategy(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "identity_bank.yaml").read_text())
    data["run"]["duration"] = "9h"  # one hour of traffic
    data["customers"]["population"] = 5000
    scenario = tmp_path / "identity.yaml"
    scenario.write_text(yaml.safe_dump(data))
    code, out, err = _cli(capsys, "compare", str(scenario), "--verification", "kba_all",
                          "--verification", "passive_stepup", "--replications", "2",
                          "--metric", "verify_agent_s", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["labels"] == ["fcfs/kba_all", "fcfs/passive_stepup"]
    # Passive identification spares most callers the agent's questions.
    assert document["differences"]["fcfs/passive_stepup"]["verify_agent_s"]["mean"] < -10
    code, _, err = _cli(capsys, "compare", str(scenario), "--verification", "kba_all")
    assert code == 2 and "nothing to compare" in err


@pytest.mark.parametrize(("extra", "message"), [
    (["--policy", "fcfs", "--policy", "priority", "--verification", "kba_all"],
     "--verification needs a scenario with an identity block"),
    (["--policy", "fcfs", "--policy", "priority", "--verification", "kba_all",
      "--verification", "kba_all"], "--verification: kba_all given more than once"),
    (["--policy", "fcfs"], "nothing to compare: give two or more --policy"),
    (["--policy", "fcfs", "--policy", "fcfs"], "fcfs given more than once"),
    (["--policy", "fcfs", "--policy", "nope"], "unknown routing policy 'nope'; known: "),
    (["--policy", "fcfs", "--policy", "priority", "--metric", "sla"],
     "--metric: unknown metric 'sla'; allowed: "),
    (["--policy", "fcfs", "--policy", "priority", "--replications", "0"],
     "--replications must be >= 1"),
    (["--policy", "fcfs", "--policy", "priority", "--report", str(QUICKSTART)],
     "is a file; allowed: a folder"),
    (["--policy", "fcfs", "--policy", "priority", "--output", str(ROOT)],
     "is a folder; allowed: a file path"),
])
def test_compare_rejects_bad_arguments(capsys: pytest.CaptureFixture[str], extra: list[str],
                                       message: str) -> None:
    code, out, err = _cli(capsys, "compare", str(QUICKSTART), *extra)
    assert code == 2 and out == ""
    assert err.startswith("ccsim: error: ") and message in err, err


def test_compare_reports_scenario_errors_with_the_file(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    code, _, err = _cli(capsys, "compare", str(tmp_path / "missing.yaml"), "--policy", "fcfs",
                        "--policy", "priority")
    assert code == 2 and "missing.yaml" in err and "file not found" in err
