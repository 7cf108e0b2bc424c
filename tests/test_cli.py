"""The ``ccsim`` command line: in-process through ``sim.cli.main`` (fast), plus one run of
the installed console script."""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.cli import LAZY_COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
REQUIRED_METRICS = (
    "offered", "answered", "abandoned", "blocked", "service_level", "asa_s", "mean_wait_s",
    "wait_p90_s", "abandon_rate", "aht_s", "occupancy", "utilisation",
)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _check_results(document: dict[str, Any], policies: list[str], replications: int) -> None:
    assert document["scenario"] == "quickstart"
    assert document["replications"] == replications
    assert isinstance(document["seed"], int)
    assert list(document["results"]) == policies
    for policy in policies:
        figures = document["results"][policy]
        for metric in REQUIRED_METRICS:
            assert metric in figures, (policy, metric)
            entry = figures[metric]
            assert set(entry) == {"mean", "ci95"}, (policy, metric)
            mean, (low, high) = entry["mean"], entry["ci95"]
            assert isinstance(mean, (int, float)) and math.isfinite(mean), (policy, metric)
            if replications > 1:
                assert low <= mean <= high, (policy, metric)
        for scope in ("by_type", "by_group", "by_interval"):
            assert document[scope][policy], (scope, policy)
    assert set(document["by_type"][policies[0]]) == {"general", "vip"}
    assert set(document["by_group"][policies[0]]) == {"generalists", "vip_desk"}


# ---------------------------------------------------------------------------------- run
def test_run_writes_json_with_every_metric(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    out_json = tmp_path / "out.json"
    code, out, err = _cli(capsys, "run", str(QUICKSTART), "--replications", "2",
                          "--json", str(out_json))
    assert code == 0, err
    document = json.loads(out_json.read_text())
    _check_results(document, ["fcfs"], 2)
    assert document["seed"] == yaml.safe_load(QUICKSTART.read_text())["run"]["seed"]
    assert "quickstart: 2 replications" in out
    assert "Service level" in out and "fcfs" in out


def test_run_compares_two_policies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "out.json"
    code, out, err = _cli(capsys, "run", str(QUICKSTART), "--replications", "2",
                          "--policy", "fcfs", "--policy", "priority", "--json", str(out_json))
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("Metric"))
    assert header.split() == ["Metric", "fcfs", "priority"]
    document = json.loads(out_json.read_text())
    _check_results(document, ["fcfs", "priority"], 2)
    # Common random numbers: both policies saw the same offered contacts.
    assert document["results"]["fcfs"]["offered"] == document["results"]["priority"]["offered"]


def test_run_json_to_stdout_seed_and_breakdowns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "run", str(QUICKSTART), "--replications", "1", "--seed", "5",
                          "--by", "type", "--json", "-")
    assert code == 0, err
    # stdout is the JSON document alone (no table, no breakdown), for a pipe into a parser.
    document = json.loads(out)
    assert document["seed"] == 5 and document["replications"] == 1
    assert "fcfs by type" not in out and "general" in document["by_type"]["fcfs"]
    # One replication: no interval, JSON null (never NaN, which is not JSON).
    assert document["results"]["fcfs"]["offered"]["ci95"] == [None, None]


def test_run_trace_has_one_row_per_contact(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    trace, out_json = tmp_path / "trace.csv", tmp_path / "out.json"
    code, _, err = _cli(capsys, "run", str(QUICKSTART), "--replications", "2", "--policy", "fcfs",
                        "--policy", "priority", "--trace", str(trace), "--json", str(out_json))
    assert code == 0, err
    with trace.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids: dict[tuple[str, str], list[int]] = defaultdict(list)
    counted: dict[str, int] = defaultdict(int)
    for row in rows:
        ids[(row["policy"], row["replication"])].append(int(row["contact_id"]))
        counted[row["policy"]] += row["in_warmup"] == "0"
        assert row["outcome"] in {"answered", "abandoned", "blocked", "waiting_at_end"}
    assert set(ids) == {(p, r) for p in ("fcfs", "priority") for r in ("0", "1")}
    for key, contact_ids in ids.items():
        assert sorted(contact_ids) == list(range(1, len(contact_ids) + 1)), key
    results = json.loads(out_json.read_text())["results"]
    for policy in ("fcfs", "priority"):
        # Mean counted arrivals over 2 replications x 2 = counted rows of the policy.
        assert results[policy]["arrivals"]["mean"] * 2 == counted[policy]


def test_run_rejects_bad_arguments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _cli(capsys, "run", str(QUICKSTART), "--policy", "lifo")
    assert code == 2 and "lifo" in err and "fcfs" in err and "priority" in err
    code, _, err = _cli(capsys, "run", str(QUICKSTART), "--replications", "0")
    assert code == 2 and "--replications" in err
    code, _, err = _cli(capsys, "run", str(QUICKSTART), "--jobs", "2",
                        "--trace", str(tmp_path / "t.csv"))
    assert code == 2 and "trace" in err
    code, _, err = _cli(capsys, "run", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in err


# ------------------------------------------------------------------------------- erlang
def test_erlang_a_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "erlang", "--rate", "1176/h", "--aht", "300s",
                          "--agents", "100", "--patience", "180s")
    assert code == 0, err
    assert "Erlang A" in out
    p_wait = next(line for line in out.splitlines() if line.startswith("P(wait)"))
    assert p_wait.split()[-1] == "0.3817"
    assert "98.00 Erlangs on 100 agents" in out


def test_erlang_c_without_patience(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "erlang", "--rate", "1176/h", "--aht", "300s", "--agents", "100")
    assert code == 0, err
    assert "Erlang C" in out and "P(abandon)" in out


def test_erlang_with_shrinkage_and_a_maximum_occupancy(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "erlang", "--rate", "1176/h", "--aht", "300s", "--agents",
                          "100", "--shrinkage", "30%", "--max-occupancy", "0.85")
    assert code == 0, err
    rows = {line[:40].strip(): line[40:].strip() for line in out.splitlines()}
    # 98 Erlangs at most 85% busy: 116 agents (115.3 rounded up), 165.7 FTE at 30% shrinkage.
    assert rows["Agents for SL >= 80%, occupancy <= 85%"] == "116"
    assert rows["FTE for 100 agents (shrinkage 30%)"] == "142.9"
    assert rows["FTE for SL >= 80%, occupancy <= 85%"] == "165.7"
    code, plain, _ = _cli(capsys, "erlang", "--rate", "1176/h", "--aht", "300s", "--agents", "100")
    assert "FTE" not in plain and "Agents for SL >= 80%  106" in plain
    for flag, value in (("--shrinkage", "100%"), ("--max-occupancy", "0"),
                        ("--max-occupancy", "1.5")):
        code, _, err = _cli(capsys, "erlang", "--rate", "1176/h", "--aht", "300s",
                            "--agents", "100", flag, value)
        assert code == 2 and err.count("\n") == 1 and flag in err, err


def test_erlang_rejects_bad_units(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "erlang", "--rate", "1176", "--aht", "300s", "--agents", "100")
    assert code == 2 and "1176" in err


# ------------------------------------------------------------------------------- schema
def _schema(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = _cli(capsys, "schema")
    assert code == 0, err
    schema = json.loads(out)
    assert isinstance(schema, dict)
    return schema


def test_schema_is_json_with_dialect(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    schema = _schema(capsys)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema.get("type") == "object"
    routing = schema["$defs"]["Routing"]["properties"]
    assert {"fcfs", "priority"} <= set(routing["policy"]["enum"])
    path = tmp_path / "schema.json"
    code, out, err = _cli(capsys, "schema", "--output", str(path))
    assert code == 0 and out == ""
    assert json.loads(path.read_text()) == schema


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_shipped_scenarios_use_only_schema_keys(capsys: pytest.CaptureFixture[str],
                                                path: Path) -> None:
    """A structural check that needs no validator: top-level keys are known, required present."""
    schema = _schema(capsys)
    data = yaml.safe_load(path.read_text())
    assert set(data) <= set(schema["properties"])
    assert set(schema.get("required", [])) <= set(data)


def _refs(node: Any, path: str = "#") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append((path, value))
            else:
                found += _refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _refs(value, f"{path}/{index}")
    return found


def test_schema_refs_resolve_within_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    """Every $ref of `ccsim schema` must point at something in the document (checked by
    hand, so it runs without the jsonschema package)."""
    schema = _schema(capsys)
    refs = _refs(schema)
    assert refs
    dangling = []
    for where, ref in refs:
        assert ref.startswith("#/"), ref
        node: Any = schema
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                dangling.append(f"{where}: {ref}")
                break
            node = node[part]
    assert not dangling, dangling


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_schema_validates_shipped_scenarios(capsys: pytest.CaptureFixture[str],
                                            path: Path) -> None:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not installed in the venv (not a ccsim dependency); "
        "`pip install jsonschema` to validate shipped scenarios against `ccsim schema`")
    schema = _schema(capsys)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(yaml.safe_load(path.read_text())), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    # And the schema does reject a typo'd key.
    broken = yaml.safe_load(path.read_text())
    broken["routing"]["polcy"] = "fcfs"
    assert list(validator.iter_errors(broken))


# ------------------------------------------------------------------- validate, policies
def test_policies_lists_the_shipped_policies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "policies")
    assert code == 0, err
    routing, rest = out.split("Verification strategies")
    verification, outbound = rest.split("Outbound strategies")
    for section, shipped in ((routing, {"fcfs", "priority", "fraud_desk"}),
                             (verification, {"kba_all", "passive_stepup", "biometric"}),
                             (outbound, {"fixed_time", "predicted_best_time"})):
        names = [line.split()[0] for line in section.splitlines()[1:] if line.startswith("  ")]
        assert shipped <= set(names)
        assert names == sorted(names)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_validate_accepts_shipped_scenarios(capsys: pytest.CaptureFixture[str],
                                            path: Path) -> None:
    code, out, err = _cli(capsys, "validate", str(path))
    assert code == 0, err
    assert "ok" in out and str(path) in out


def test_validate_reports_errors_with_line_numbers(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    text = QUICKSTART.read_text().replace("policy: fcfs", "policy: lifo")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    code, out, err = _cli(capsys, "validate", str(bad))
    assert code == 2 and out == ""
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "policy: lifo" in row)
    assert f"{bad}:{line}:" in err
    assert "lifo" in err and "fcfs" in err


# ----------------------------------------------------------------- help, import cost
def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "erlang", "schema", "validate", "policies", *LAZY_COMMANDS):
        assert name in out


@pytest.mark.parametrize("command", sorted(LAZY_COMMANDS))
def test_lazy_command_help_shows_its_arguments(capsys: pytest.CaptureFixture[str],
                                               command: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "--debug" in capsys.readouterr().out


# Run ``ccsim ARGS`` in a fresh interpreter, then exit non-zero naming any module of
# ``forbidden`` that it imported.
_IMPORT_PROBE = """
import sys
from sim.cli import LAZY_COMMANDS, main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:  # --help exits from argparse
    code = exc.code
loaded = [name for name in sys.argv[1].split(",") if name in sys.modules]
sys.exit(f"exit code {code}, imported {loaded}" if code or loaded else 0)
"""
# Plotting, statistics, distributed sweeps and the simulator: only run-like commands need them.
_HEAVY = ("matplotlib", "plotly", "scipy", "dask", "distributed", "pandas", "tqdm", "sim.runner")


@pytest.mark.parametrize(("argv", "forbidden"), [
    (["--help"], (*_HEAVY, "numpy", "pydantic", "yaml", "policies")),
    (["policies"], (*_HEAVY, "numpy", "yaml", "pydantic", "policies.base", "sim.model.scenario")),
    (["validate", str(QUICKSTART)], _HEAVY),
], ids=["help", "policies", "validate"])
def test_quick_commands_import_only_what_they_need(argv: list[str],
                                                   forbidden: tuple[str, ...]) -> None:
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, ",".join(forbidden), *argv],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_policies_listing_matches_the_registries() -> None:
    """``ccsim policies`` reads the plug-in modules' source instead of importing them
    (in a fresh process: here they are imported already); it prints what importing gives."""
    from policies import registered_policies
    from policies.outbound import OUTBOUND_STRATEGIES
    from policies.verification import VERIFICATION_STRATEGIES

    done = subprocess.run([sys.executable, "-c", "from sim.cli import main; main(['policies'])"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = [f"  {name:<15} {spec.summary}"
                for specs in (registered_policies(), VERIFICATION_STRATEGIES.specs(),
                              OUTBOUND_STRATEGIES.specs())
                for name, spec in sorted(specs.items())]
    assert [line for line in done.stdout.splitlines() if line.startswith("  ")] == expected


# ------------------------------------------------------------------ real console script
def test_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("ccsim")
    command = [str(script)] if script.exists() else [shutil.which("ccsim") or "ccsim"]
    out_json = tmp_path / "out.json"
    done = subprocess.run(
        [*command, "run", str(QUICKSTART), "--replications", "2", "--policy", "fcfs",
         "--policy", "priority", "--json", str(out_json)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "priority" in done.stdout
    _check_results(json.loads(out_json.read_text()), ["fcfs", "priority"], 2)
