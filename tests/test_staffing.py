"""``ccsim staff``: targets, agreement with exact Erlang C/A staffing, schedules, bad input.

Agreement with theory
---------------------
Each case is a single-skill M/M/c (Erlang C) or M/M/c+M (Erlang A) queue
whose exact staffing answer ``n*`` comes from ``sim.analytics``. The target is
put half-way between the exact figures at ``n* - 1`` and ``n*``, so the two
neighbours are ``gap / 2`` away from it on either side (gap: 0.09, 0.06 and
0.016 below). The run length and replications were chosen from pilot runs so
that the 95% CI half-width at these counts is at most a third of ``gap / 2``;
the optimiser accepts a count only when the whole CI meets the target, so the
CIs of ``n* - 1`` and ``n*`` land on opposite sides and the answer is ``n*``
(fixed seeds: the outcome is deterministic; they were set once, not searched).
Two cases force the search to start away from the answer (above and below),
so the answer does not just echo the Erlang start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.analysis.analytics import queue_figures, required_agents
from sim.cli import main
from sim.model.scenario import Scenario, scenario_from_dict
from sim.analysis.staffing import MET, StaffingError, Target, optimise_staffing, parse_target

THRESHOLD_S = 20.0


@dataclass(frozen=True)
class Case:
    rate_per_h: float
    aht_s: float
    patience_s: float | None
    answer: int
    """n*: the target is placed between the exact figures at n* - 1 and n*."""
    metric: str
    hours: float
    replications: int
    start_offset: int | None
    """Force the search to start at n* + offset (None: the Erlang estimate)."""


CASES = [
    # Erlang C: SL(11) = 0.809, SL(12) = 0.900; search starts at 15 and walks down.
    Case(120, 240, None, 12, "service_level", 60, 8, +3),
    # Erlang A: SL(19) = 0.786, SL(20) = 0.848; search starts at the Erlang estimate.
    Case(200, 300, 300, 20, "service_level", 40, 8, None),
    # Erlang A: abandon(13) = 0.0384, abandon(14) = 0.0228; starts at 11 and walks up.
    Case(100, 360, 240, 14, "abandon_rate", 60, 10, -3),
]


def _scenario(case: Case, count: int) -> Scenario:
    calls: dict = {"arrivals": {"rate": f"{case.rate_per_h}/h"},
                   "handle_time": {"dist": "exponential", "mean": f"{case.aht_s}s"}}
    if case.patience_s is not None:
        calls["patience"] = {"dist": "exponential", "mean": f"{case.patience_s}s"}
    return scenario_from_dict({
        "name": "erlang-case",
        "run": {"duration": f"{case.hours}h", "warmup": "1h",
                "replications": case.replications, "seed": 17},
        "contact_types": {"calls": calls},
        "agents": {"pool": {"count": count, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"},
        "service_level": {"threshold": f"{THRESHOLD_S}s"},
    })


def _exact(case: Case, servers: int) -> float:
    figures = queue_figures(case.rate_per_h / 3600, case.aht_s, servers, THRESHOLD_S,
                            case.patience_s)
    return figures.service_level if case.metric == "service_level" else figures.p_abandon


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.metric}-n{c.answer}")
def test_matches_exact_erlang_staffing(case: Case) -> None:
    midpoint = (_exact(case, case.answer - 1) + _exact(case, case.answer)) / 2
    op = ">=" if case.metric == "service_level" else "<="
    targets = [Target(case.metric, op, midpoint)]
    if case.metric == "abandon_rate":
        targets.append(Target("service_level", ">=", 0.75))  # met from 12 agents on
        exact = max(required_agents(case.rate_per_h / 3600, case.aht_s, 0.75, THRESHOLD_S,
                                    case.patience_s),
                    next(n for n in range(1, 100) if _exact(case, n) <= midpoint))
    else:
        exact = required_agents(case.rate_per_h / 3600, case.aht_s, midpoint, THRESHOLD_S,
                                case.patience_s)
    assert exact == case.answer  # the case is what its comment says
    start = None if case.start_offset is None else {"pool": [case.answer + case.start_offset]}
    result = optimise_staffing(_scenario(case, 1), targets, "fcfs", start=start)
    assert result.schedule == {"pool": (case.answer,)}
    if case.start_offset is None:
        assert result.erlang == {"pool": (case.answer,)}
    assert result.close_calls == ()
    achieved = result.achieved["all"][case.metric]
    assert targets[0].judge(achieved) == MET
    assert achieved.half_width < abs(midpoint - _exact(case, case.answer)) / 2


# -------------------------------------------------------------------- targets
@pytest.mark.parametrize(("text", "expected"), [
    ("service_level>=0.8", Target("service_level", ">=", 0.8)),
    (" abandon_rate <= 5% ", Target("abandon_rate", "<=", 0.05)),
    ("asa_s=<30", Target("asa_s", "<=", 30.0)),
    ("service_level=>80%", Target("service_level", ">=", 0.8)),
])
def test_parse_target(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("sevice_level>=0.8", "unknown metric 'sevice_level'; allowed: service_level>=VALUE"),
    ("service_level", "is not METRIC>=VALUE or METRIC<=VALUE"),
    ("service_level >= ", "is not METRIC>=VALUE or METRIC<=VALUE"),
    ("service_level<=0.8", "service_level rises with more agents"),
    ("abandon_rate>=0.1", "abandon_rate falls with more agents"),
    ("service_level>=80", "is a share; allowed: a value strictly between 0 and 1"),
    ("asa_s<=fast", "'fast' is not a number"),
    ("asa_s<=0", "allowed: a bound greater than 0"),
    ("offered>=100", "unknown metric 'offered'"),
])
def test_bad_targets(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_target(text)


def test_judge_uses_the_whole_interval() -> None:
    from sim.runner import Estimate

    target = Target("service_level", ">=", 0.8)
    assert target.judge(Estimate(0.85, 0.81, 0.89, 5)) == MET
    assert target.judge(Estimate(0.85, 0.79, 0.91, 5)) == "close"
    assert target.judge(Estimate(0.75, 0.70, 0.79, 5)) == "missed"
    assert Target("abandon_rate", "<=", 0.05).judge(Estimate(0.04, 0.03, 0.051, 5)) == "close"


# ------------------------------------------------------------------- schedules
DAY_PROFILE = """\
name: day-profile
run: {duration: 24h, replications: 20, seed: 9, interval: 2h}
contact_types:
  calls:
    arrivals:
      rates: [0/h, 0/h, 0/h, 0/h, 60/h, 120/h, 150/h, 110/h, 60/h, 0/h, 0/h, 0/h]
    handle_time: {dist: exponential, mean: 4min}
    patience: {dist: exponential, mean: 3min}
agents:
  team:
    skills: [calls]
    staffing: [0, 0, 0, 0, 4, 8, 10, 8, 4, 0, 0, 0]
routing: {policy: fcfs}
"""


def test_per_interval_schedule_meets_targets_in_every_interval(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.yaml"
    path.write_text(DAY_PROFILE)
    code = main(["staff", str(path), "--target", "service_level>=0.8",
                 "--target", "abandon_rate<=0.05", "--policy", "fcfs"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("Interval"))
    assert header.split() == ["Interval", "team", "service_level", "abandon_rate"]
    rows = [line.split()[:2] for line in lines if line[:2].isdigit()]
    assert [r[0] for r in rows] == ["08:00", "10:00", "12:00", "14:00", "16:00"]
    from sim.model.scenario import load_scenario

    targets = [parse_target("service_level>=0.8"), parse_target("abandon_rate<=0.05")]
    result = optimise_staffing(load_scenario(path), targets, "fcfs")
    assert [int(r[1]) for r in rows] == [n for n in result.schedule["team"] if n]
    for scope in result.scopes:
        for target in targets:
            assert target.judge(result.achieved[scope][target.metric]) == MET, scope
    # Closed intervals get nobody; busier intervals get at least as many agents.
    schedule = result.schedule["team"]
    assert schedule[:4] == (0, 0, 0, 0) and schedule[9:] == (0, 0, 0)
    assert schedule[6] >= max(schedule[4], schedule[8])


def test_two_groups_are_sized_together(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    code = main(["staff", str(root / "scenarios" / "quickstart.yaml"), "--target",
                 "service_level>=0.8", "--policy", "priority", "--replications", "4"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    row = next(line for line in lines if line.startswith("Agents"))
    header = lines[lines.index(row) - 2]
    assert header.split() == ["generalists", "vip_desk", "service_level"]
    assert row.split()[0] == "Agents" and all(n.isdigit() for n in row.split()[1:3])


def test_max_occupancy_is_a_target_and_shrinkage_gives_the_fte(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 8 Erlangs (120/h x 240 s, Erlang C): SL >= 0.8 needs 12 agents; at most 60% busy
    # needs 8 / 0.6 = 13.3 -> 14 (13 agents are 61.5% busy).
    path = tmp_path / "eight.yaml"
    path.write_text("name: eight\nrun: {duration: 20h, warmup: 1h, replications: 4, seed: 17}\n"
                    "contact_types:\n  calls:\n    arrivals: {rate: 120/h}\n"
                    "    handle_time: {dist: exponential, mean: 240s}\n"
                    "agents:\n  pool: {count: 12, skills: [calls]}\nrouting: {policy: fcfs}\n")
    code = main(["staff", str(path), "--target", "service_level>=0.8",
                 "--max-occupancy", "60%", "--shrinkage", "25%"])
    out, err = capsys.readouterr()
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("Agents"))
    assert row.split()[1] == "14"
    assert "FTE at 25% shrinkage (agents / (1 - shrinkage)): pool 18.7" in out
    assert "occupancy<=0.6" in out.splitlines()[0]
    assert "--max-occupancy '0%': allowed" in _staff_error(
        capsys, str(path), "--target", "service_level>=0.8", "--max-occupancy", "0%")
    assert "--shrinkage '1': allowed" in _staff_error(
        capsys, str(path), "--target", "service_level>=0.8", "--shrinkage", "1")


# --------------------------------------------------------------------- bad input
def _staff_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["staff", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    return err


def test_cli_rejects_bad_targets_and_flags(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.yaml"
    path.write_text(DAY_PROFILE)
    assert "--target: target 'sla>=0.8': unknown metric 'sla'" in _staff_error(
        capsys, str(path), "--target", "sla>=0.8")
    assert "--replications must be >= 2" in _staff_error(
        capsys, str(path), "--target", "service_level>=0.8", "--replications", "1")
    assert "--policy: unknown routing policy 'nosuch'" in _staff_error(
        capsys, str(path), "--target", "service_level>=0.8", "--policy", "nosuch")


def test_types_served_only_by_shift_groups_are_refused() -> None:
    from sim.model.scenario import load_scenario

    root = Path(__file__).resolve().parents[1]
    with pytest.raises(StaffingError, match="'regular' is served only by groups with shifts"):
        optimise_staffing(load_scenario(root / "scenarios" / "bank-day.yaml"),
                          [parse_target("service_level>=0.8")])
