"""Every malformed scenario fails with exit code 2 and ONE readable message.

Each case below makes one mistake in an otherwise valid scenario and checks,
through both ``ccsim validate`` and ``ccsim run``, that stderr holds exactly
one line ``FILE:LINE: field.path: what is wrong; allowed: ...`` that names
the file, the dotted field path, the line where the mistake is in the YAML
and a fragment of what is allowed, and that no traceback is shown.

Expected lines are not computed by the code under test: they are the line of
the YAML text that contains a given snippet (``At("sede:")``), or a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

# isort: off
# ``sim`` must be imported before ``policies`` (see test_policies_package_imports_on_its_own).
from sim.cli import main
from sim.errors import ScenarioError
from policies import registered_policies
# isort: on

BASE = """\
name: bad-input
run:
  duration: 8h
  warmup: 30min
  replications: 2
  seed: 1
  interval: 30min
contact_types:
  general:
    arrivals:
      rate: 1176/h
    handle_time:
      dist: lognormal
      mean: 300s
      cv: 1.2
    patience:
      dist: mixture
      components:
        - weight: 0.1
          dist: constant
          value: 0s
        - weight: 0.9
          dist: exponential
          mean: 3min
  vip:
    arrivals:
      rate: 50/h
    handle_time:
      dist: exponential
      mean: 400s
agents:
  team:
    count: 110
    skills: [general, vip]
routing:
  policy: fcfs
  priority:
    classes:
      vip:
        priority: 1
service_level:
  threshold: 20s
"""

DATA = Path(__file__).parent / "data" / "bad"
# The registry grows with every new policy; the message must list all of them, sorted.
KNOWN_POLICIES = "known: " + ", ".join(sorted(registered_policies()))


def edit(old: str, new: str, text: str = BASE) -> str:
    """``text`` with the one occurrence of ``old`` replaced."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


LOGNORMAL = "      dist: lognormal\n      mean: 300s\n      cv: 1.2\n"


def general_handle_time(lines: str) -> str:
    """BASE with general's handle time replaced by ``lines`` (indented 6 spaces)."""
    return edit(LOGNORMAL, lines)


@dataclass(frozen=True)
class At:
    """The expected line is the first line of the YAML that contains ``snippet``."""

    snippet: str
    occurrence: int = 1

    def line(self, text: str) -> int:
        found = [n for n, line in enumerate(text.splitlines(), 1) if self.snippet in line]
        assert len(found) >= self.occurrence, f"{self.snippet!r} not in the case's YAML"
        return found[self.occurrence - 1]


@dataclass(frozen=True)
class Case:
    id: str
    yaml: str
    field: str | None  # dotted path; None for YAML syntax errors
    line: At | int
    allowed: str  # fragment of the message, usually of its "allowed" part
    also: tuple[str, ...] = ()  # more fragments the message must contain


CASES = [
    # --- unknown keys -------------------------------------------------------------
    Case("unknown top-level key", BASE + "colour: red\n", "colour", At("colour:"),
         "allowed here: name, description, run, contact_types, agents, routing",
         ("unknown key 'colour'",)),
    Case("unknown key in run", edit("  seed: 1\n", "  seed: 1\n  sede: 2\n"), "run.sede",
         At("sede:"), "allowed here: duration, arrivals, warmup, replications, seed, interval",
         ("did you mean 'seed'?",)),
    Case("unknown key in arrivals",
         edit("      rate: 1176/h\n", "      rate: 1176/h\n      burst: 2\n"),
         "contact_types.general.arrivals.burst", At("burst:"), "allowed here: rate, rates"),
    Case("unknown key in a distribution",
         edit("      cv: 1.2\n", "      cv: 1.2\n      sigma: 2\n"),
         "contact_types.general.handle_time.sigma", At("sigma:"),
         "allowed here: dist, mean, cv"),
    Case("unknown key in a mixture component",
         edit("          mean: 3min\n", "          mean: 3min\n          scale: 2\n"),
         "contact_types.general.patience.components.1.scale", At("scale:"),
         "allowed here: dist, mean"),
    # --- wrong types --------------------------------------------------------------
    Case("count: many", edit("count: 110", "count: many"), "agents.team.count", At("count:"),
         "allowed: a whole number", ("'many'",)),
    Case("replications: 1.5", edit("replications: 2", "replications: 1.5"),
         "run.replications", At("replications:"), "allowed: a whole number", ("1.5",)),
    Case("count: yes (a YAML boolean)", edit("count: 110", "count: yes"), "agents.team.count",
         At("count:"), "allowed: a whole number", ("yes/no value",)),
    Case("skills not a list", edit("skills: [general, vip]", "skills: general"),
         "agents.team.skills", At("skills:"), "allowed: a list"),
    Case("cv not a number", edit("cv: 1.2", "cv: high"), "contact_types.general.handle_time.cv",
         At("cv:"), "allowed: a number"),
    Case("cv infinite", edit("cv: 1.2", "cv: .inf"), "contact_types.general.handle_time.cv",
         At("cv:"), "allowed: a number, e.g. 1.5", ("not a finite number",)),
    Case("a contact type that is not a mapping",
         edit("  vip:\n    arrivals:\n      rate: 50/h\n    handle_time:\n      dist: exponential\n"
              "      mean: 400s\n", "  vip: 50/h\n"),
         "contact_types.vip", At("  vip:"), "allowed: a mapping with keys arrivals, handle_time"),
    Case("an empty contact type (two required keys missing: one message)",
         edit("  vip:\n    arrivals:\n      rate: 50/h\n    handle_time:\n      dist: exponential\n"
              "      mean: 400s\n", "  vip: {}\n"),
         "contact_types.vip", At("  vip:"), "required here: arrivals, handle_time",
         ("missing required keys 'arrivals' and 'handle_time'",)),
    Case("misspelt required key (one message, not unknown + missing)",
         edit("      mean: 400s\n", "      mena: 400s\n"), "contact_types.vip.handle_time.mena",
         At("mena:"), "allowed here: dist, mean",
         ("unknown key 'mena' (did you mean 'mean'?); missing required key 'mean'",)),
    Case("a distribution pasted where arrivals belong (one message for the block)",
         edit("      rate: 50/h\n", "      dist: constant\n      value: 3s\n"),
         "contact_types.vip.arrivals.dist", At("dist: constant", 2), "allowed here: rate, rates",
         ("unknown keys 'dist' and 'value'",)),
    Case("a duration left empty", edit("mean: 300s", "mean:"),
         "contact_types.general.handle_time.mean", At("mean:"), "a duration with a unit",
         ("an empty value",)),
    Case("handle_time given as a number with unit",
         edit("    handle_time:\n      dist: exponential\n      mean: 400s\n",
              "    handle_time: 400s\n"),
         "contact_types.vip.handle_time", At("handle_time: 400s"),
         "{dist: exponential, mean: 300s}", ("is not a distribution",)),
    Case("empty name", edit("name: bad-input", "name: ''"), "name", 1, "allowed: a non-empty"),
    # --- rates and durations --------------------------------------------------------
    Case("negative rate", edit("rate: 1176/h", "rate: -5/h"), "contact_types.general.arrivals.rate",
         At("rate: -5/h"), "1176/h", ("is negative",)),
    Case("zero rate", edit("rate: 1176/h", "rate: 0/h"), "contact_types.general.arrivals.rate",
         At("rate: 0/h"), "allowed: greater than 0"),
    Case("rate without unit", edit("rate: 1176/h", "rate: 1176"),
         "contact_types.general.arrivals.rate", At("rate: 1176"), "1176/h", ("has no unit",)),
    Case("rate written as a duration", edit("rate: 1176/h", "rate: 3s"),
         "contact_types.general.arrivals.rate", At("rate: 3s"), "1176/h"),
    Case("rate with unknown unit", edit("rate: 1176/h", "rate: 1176/hour"),
         "contact_types.general.arrivals.rate", At("rate:"), "units: /ms, /s, /min, /h, /d",
         ("unknown unit 'hour'",)),
    Case("bad duration unit", edit("mean: 300s", "mean: 300 parsecs"),
         "contact_types.general.handle_time.mean", At("parsecs"), "e.g. 300s, 5min, 1.5h",
         ("unknown unit 'parsecs'",)),
    Case("duration as bare number", edit("duration: 8h", "duration: 28800"), "run.duration",
         At("duration:"), "a duration with a unit", ("has no unit",)),
    Case("negative duration", edit("warmup: 30min", "warmup: -30min"), "run.warmup",
         At("warmup:"), "a duration with a unit", ("is negative",)),
    Case("duration as a boolean", edit("threshold: 20s", "threshold: yes"),
         "service_level.threshold", At("threshold:"), "a duration with a unit",
         ("yes/no value",)),
    # --- distributions ------------------------------------------------------------
    Case("unknown distribution", edit("dist: lognormal", "dist: lognormel"),
         "contact_types.general.handle_time.dist", At("lognormel"),
         "allowed: exponential, constant, uniform", ("did you mean 'lognormal'?",)),
    Case("missing dist", edit("      dist: lognormal\n", ""),
         "contact_types.general.handle_time.dist", At("handle_time:"), "allowed: exponential",
         ("missing required key 'dist'",)),
    Case("lognormal without cv", edit("      cv: 1.2\n", ""),
         "contact_types.general.handle_time.cv", At("handle_time:"),
         "required here: dist, mean, cv", ("missing required key 'cv'",)),
    Case("mixture weights not summing to 1", edit("weight: 0.9", "weight: 0.8"),
         "contact_types.general.patience.components", At("components:"),
         "allowed: weights that sum to 1", ("sum to 0.9",)),
    Case("mixture component without weight",
         edit("        - weight: 0.9\n          dist: exponential\n",
              "        - dist: exponential\n"),
         "contact_types.general.patience.components.1", At("- dist: exponential"),
         "every component has a weight"),
    Case("mixture weight negative", edit("weight: 0.9", "weight: -0.9"),
         "contact_types.general.patience.components.1.weight", At("weight: -0.9"),
         "allowed: greater than 0"),
    Case("uniform with low > high",
         general_handle_time("      dist: uniform\n      low: 5min\n      high: 1min\n"),
         "contact_types.general.handle_time.high", At("high:"), "allowed: high >= low"),
    Case("erlang with k = 0",
         general_handle_time("      dist: erlang\n      mean: 5min\n      k: 0\n"),
         "contact_types.general.handle_time.k", At("k: 0"), "allowed: 1 or more"),
    Case("weight on a distribution outside a mixture",
         edit("      cv: 1.2\n", "      cv: 1.2\n      weight: 0.5\n"),
         "contact_types.general.handle_time.weight", At("weight: 0.5"),
         "only allowed on the components of a mixture"),
    Case("empirical file missing",
         general_handle_time("      dist: empirical\n      file: nosuch.txt\n      unit: s\n"),
         "contact_types.general.handle_time.file", At("file:"),
         "a path relative to the scenario's folder", ("nosuch.txt' not found",)),
    Case("empirical file with a non-number line",
         general_handle_time(f"      dist: empirical\n      file: {DATA / 'not_numbers.txt'}\n"
                             "      unit: s\n"),
         "contact_types.general.handle_time.file", At("file:"),
         "allowed: one number (s) per line", ("not_numbers.txt:4: 'twelve'",)),
    Case("empirical file without unit",
         general_handle_time(f"      dist: empirical\n      file: {DATA / 'not_numbers.txt'}\n"),
         "contact_types.general.handle_time.unit", At("handle_time:"),
         "allowed: ms, s, min, h, d", ("missing required key 'unit'",)),
    Case("empirical with neither samples nor file",
         general_handle_time("      dist: empirical\n"),
         "contact_types.general.handle_time", At("handle_time:"), "e.g. [30s, 2min]"),
    Case("unknown busyness distribution", BASE + "busyness:\n  dist: normal\n  cv: 0.1\n",
         "busyness.dist", At("dist: normal"), "allowed: gamma, lognormal"),
    # --- agents and contact types -------------------------------------------------
    Case("contact type no agent can serve", edit("skills: [general, vip]", "skills: [general]"),
         "contact_types.vip", At("  vip:"), "add vip to the skills of a group under agents"),
    Case("contact types whose only group has no agents", edit("count: 110", "count: 0"),
         "contact_types.general", At("general:"), "allowed: at least one agent on duty",
         ("the groups with it in skills (team) have 0 agents all day",)),
    Case("contact types whose only group has an all-zero staffing",
         edit("count: 110", "staffing: [" + ", ".join(["0"] * 48) + "]"),
         "contact_types.general", At("general:"), "allowed: at least one agent on duty"),
    Case("skill naming an unknown contact type",
         edit("skills: [general, vip]", "skills: [general, vip, billing]"),
         "agents.team.skills.2", At("skills:"), "known: general, vip",
         ("unknown contact type 'billing'",)),
    Case("both count and shifts",
         edit("    count: 110\n",
              "    count: 110\n    shifts:\n      - {start: 8h, end: 16h, count: 5}\n"),
         "agents.team.shifts", At("shifts:"),
         "allowed: exactly one of count (e.g. 10), staffing"),
    Case("no count, staffing or shifts", edit("    count: 110\n", ""), "agents.team",
         At("team:"), "allowed: exactly one of count"),
    Case("staffing list of wrong length", edit("count: 110", "staffing: [10, 20, 30]"),
         "agents.team.staffing", At("staffing:"), "allowed: exactly 48, one per 30min",
         ("has 3 counts",)),
    Case("shift starting after 24h",
         edit("    count: 110\n", "    shifts:\n      - {start: 25h, end: 2h, count: 5}\n"),
         "agents.team.shifts.0.start", At("25h"), "allowed: less than 24h"),
    Case("rates list of wrong length",
         edit("      rate: 1176/h\n", "      rates: [100/h, 200/h]\n"),
         "contact_types.general.arrivals.rates", At("rates:"), "allowed: exactly 48",
         ("has 2 rates",)),
    Case("both rate and rates",
         edit("      rate: 1176/h\n", "      rate: 1176/h\n      rates: [100/h]\n"),
         "contact_types.general.arrivals.rates", At("rates:"),
         "allowed: exactly one of rate (e.g. 120/h) or rates"),
    Case("waiting room capacity negative", BASE + "waiting_room:\n  capacity: -1\n",
         "waiting_room.capacity", At("capacity:"), "allowed: 0 or more"),
    # --- run settings -------------------------------------------------------------
    Case("both duration and arrivals",
         edit("  warmup: 30min\n", "  warmup: 30min\n  arrivals: 1000\n"),
         "run.arrivals", At("arrivals: 1000"), "allowed: exactly one of duration"),
    Case("neither duration nor arrivals", edit("  duration: 8h\n", ""), "run", At("run:"),
         "allowed: exactly one of duration"),
    Case("warmup >= duration", edit("warmup: 30min", "warmup: 9h"), "run.warmup",
         At("warmup:"), "allowed: less than 8h"),
    Case("interval not dividing 24h", edit("interval: 30min", "interval: 7min"), "run.interval",
         At("interval:"), "e.g. 15min, 30min or 1h", ("does not divide 24h",)),
    Case("missing required top-level key", edit("name: bad-input\n", ""), "name", 1,
         "required here: name, run, contact_types, agents, routing",
         ("missing required key 'name'",)),
    # --- routing ------------------------------------------------------------------
    Case("unknown routing policy", edit("policy: fcfs", "policy: fifo"), "routing.policy",
         At("policy: fifo"), KNOWN_POLICIES),
    Case("parameters for an unknown policy", edit("  priority:\n", "  prio:\n"), "routing.prio",
         At("prio:"), KNOWN_POLICIES),
    Case("unknown parameter of the priority policy", edit("    classes:\n", "    clases:\n"),
         "routing.priority.clases", At("clases:"), "allowed here: classes"),
    Case("unknown key in a priority class",
         edit("        priority: 1\n", "        priority: 1\n        boost: 2\n"),
         "routing.priority.classes.vip.boost", At("boost:"),
         "allowed here: priority, head_start, aging"),
    Case("priority class naming an unknown type",
         edit("      vip:\n        priority: 1\n", "      vipp:\n        priority: 1\n"),
         "routing.priority.classes.vipp", At("vipp:"), "known: general, vip"),
    Case("priority of the wrong type", edit("        priority: 1\n", "        priority: high\n"),
         "routing.priority.classes.vip.priority", At("priority: high"), "allowed: a number"),
    Case("policy parameters not a mapping",
         edit("  priority:\n    classes:\n      vip:\n        priority: 1\n",
              "  priority: [vip]\n"),
         "routing.priority", At("priority: [vip]"), "allowed: the parameters of policy"),
    # --- the file itself ------------------------------------------------------------
    Case("YAML syntax error: unclosed bracket", edit("seed: 1", "seed: [1"), None,
         At("interval:"), "YAML syntax error", ("starts on line 6",)),
    Case("YAML syntax error: stray colon", edit("seed: 1", "seed: 1: 2"), None, At("seed:"),
         "YAML syntax error"),
    Case("YAML syntax error: tab indentation", edit("  seed: 1\n", "\tseed: 1\n"), None,
         At("seed:"), "YAML syntax error"),
    Case("key given twice", edit("  seed: 1\n", "  seed: 1\n  seed: 2\n"), "run.seed",
         At("seed:", 2), "allowed: each key once", ("first on line 6",)),
    Case("empty file", "", "(top level)", 1, "allowed: a mapping with keys name, run",
         ("the file is empty",)),
    Case("top level is a list", "- name: x\n- run: {}\n", "(top level)", 1,
         "allowed: a mapping with keys name, run", ("is a list",)),
    Case("top level is a string", "hello\n", "(top level)", 1, "allowed: a mapping"),
]


def _check_one_message(err: str, path: Path, case: Case, text: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"one mistake must give one message, got:\n{err}"
    message = lines[0]
    line = case.line if isinstance(case.line, int) else case.line.line(text)
    prefix = f"{path}:{line}: " + (f"{case.field}: " if case.field is not None else "")
    assert message.startswith(prefix), f"expected {prefix!r} at the start of:\n{message}"
    assert case.allowed in message, f"{case.allowed!r} not in:\n{message}"
    for fragment in case.also:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    if case.field is not None:
        assert "; allowed" in message or "; known:" in message or "; required here" in message
    # pydantic internals and raw messages must not leak.
    for leak in ("Input should", "Value error", "function-", "tagged-union", "[key]",
                 "Field required", "validation error"):
        assert leak not in message, f"{leak!r} leaked into:\n{message}"


def test_base_scenario_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(BASE)
    assert main(["validate", str(path)]) == 0
    assert "ok" in capsys.readouterr().out


def test_cases_are_distinct() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.yaml for c in CASES}) == len(CASES)


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_scenario(
    case: Case, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    check_case(case, command, tmp_path, capsys)


def check_case(case: Case, command: str, tmp_path: Path,
               capsys: pytest.CaptureFixture[str]) -> None:
    """``ccsim COMMAND`` on the case's YAML exits 2 with the case's one message."""
    path = tmp_path / "scenario.yaml"
    path.write_text(case.yaml)
    assert main([command, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    _check_one_message(captured.err, path, case, case.yaml)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_file_not_found(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nosuch.yaml"
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"{path}: file not found\n"


def test_relative_file_not_found_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "nosuch.yaml"]) == 2
    assert capsys.readouterr().err == f"nosuch.yaml: file not found (looked in {tmp_path})\n"


def test_folder_instead_of_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path}: ") and "allowed: a scenario YAML file" in err


def test_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(b"name: \xff\xfe\x00\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: ") and "not UTF-8" in err and "Traceback" not in err


def test_empirical_file_relative_to_scenario_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A relative samples file is looked up next to the scenario, and the message says so."""
    (tmp_path / "times.txt").write_text("12\n30\n# comment\n\n45.5\n")
    path = tmp_path / "scenario.yaml"
    path.write_text(general_handle_time("      dist: empirical\n      file: times.txt\n"
                                        "      unit: s\n"))
    assert main(["validate", str(path)]) == 0
    (tmp_path / "times.txt").write_text("12\n-3\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'times.txt'}:2: '-3' is not a number >= 0" in err


def test_several_mistakes_give_one_message_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    text = edit("count: 110", "count: many", edit("rate: 50/h", "rate: 0/h"))
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"{path}:{At('rate: 0/h').line(text)}: contact_types.vip.arrivals.rate: "
        "'0/h' is too small; allowed: greater than 0/h",
        f"{path}:{At('count:').line(text)}: agents.team.count: "
        "'many' is not a whole number; allowed: a whole number, e.g. 3",
    ]


def test_bad_list_item_gives_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """pydantic adds a "too short after validation" error for the list; it must not show."""
    path = tmp_path / "scenario.yaml"
    path.write_text(edit("skills: [general, vip]", "skills: [[general], vip]"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "agents.team.skills.0: ['general'] is not text" in err


def test_tags_of_distributions_are_not_mistaken_for_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A contact type may be called like a distribution; its name stays in the path."""
    text = BASE.replace("general", "exponential").replace("rate: 50/h", "rate: 0/h")
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:{At('rate: 0/h').line(text)}: contact_types.vip.arrivals.rate: ")
    text = BASE.replace("general", "mixture").replace("weight: 0.9", "weight: 0.8")
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{At('components:').line(text)}: contact_types.mixture.patience.components: " in err


@pytest.mark.parametrize("command", ["validate", "run"])
def test_debug_raises(command: str, tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(edit("rate: 1176/h", "rate: 1176"))
    with pytest.raises(ScenarioError) as info:
        main([command, str(path), "--debug"])
    assert "contact_types.general.arrivals.rate" in str(info.value)


# --- bad command-line input ---------------------------------------------------------


@pytest.fixture
def good_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "ok.yaml"
    path.write_text(BASE)
    return path


def test_run_unknown_policy(good_scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(good_scenario), "--policy", "nosuch"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"ccsim: error: --policy: unknown routing policy 'nosuch'; {KNOWN_POLICIES}\n")


def test_run_zero_replications(good_scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(good_scenario), "--replications", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "ccsim: error: --replications must be >= 1\n"


def test_run_zero_jobs(good_scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(good_scenario), "--jobs", "0"]) == 2
    assert capsys.readouterr().err == "ccsim: error: --jobs must be >= 1\n"


def test_run_replications_not_a_number(
    good_scenario: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", str(good_scenario), "--replications", "many"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--replications: invalid int value: 'many'" in err and "Traceback" not in err


def test_run_policy_debug_raises(good_scenario: Path) -> None:
    with pytest.raises(Exception, match=KNOWN_POLICIES):
        main(["run", str(good_scenario), "--policy", "nosuch", "--debug"])
