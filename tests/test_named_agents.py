"""Named agents (``agents: {roster: FILE}``), per-agent speed, learning curves and figures
per agent (``--by agent``): docs/scenarios.md §7b."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest

from invariant_checks import CapacityWatch, check_accounting
from test_invariants import DutyLog, RecordingTrace, check_never_preempted
from sim.cli import main
from sim.errors import ScenarioError
from sim.kernel.kernel import Simulation
from sim.model.roster_file import RosterRow, format_roster_csv, read_roster
from sim.limits import DEFAULT_LIMITS
from sim.model.scenario import Scenario, scenario_from_dict
from sim.model.units import DAY
from sim.model.week import weekday_of
from sim.runner import estimate, run

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _scenario(folder: Path, roster: str | None, agents: dict[str, Any], *,
              duration: str = "24h", warmup: str = "0s", replications: int = 5,
              seed: int = 7, rate: str = "100/h", patience: bool = True) -> Scenario:
    """Two contact types, ``agents`` (with ``roster: roster.csv`` when ``roster``)."""
    if roster is not None:
        (folder / "roster.csv").write_text(roster)
        agents = {"roster": "roster.csv", **agents}
    types: dict[str, Any] = {
        name: {"arrivals": {"rate": rate},
               "handle_time": {"dist": "exponential", "mean": "300s"},
               **({"patience": {"dist": "exponential", "mean": "180s"}} if patience else {})}
        for name in ("calls", "vip")}
    return scenario_from_dict({
        "name": "named",
        "run": {"duration": duration, "warmup": warmup, "replications": replications,
                "seed": seed},
        "contact_types": types,
        "agents": agents,
        "routing": {"policy": "fcfs"},
    }, base_dir=folder)


def _rows(agents: int, group: str, start: str = "00:00", end: str = "24:00") -> str:
    return "".join(f"{group}-{n:02d}x,{group},{start},{end}\n" for n in range(agents))


HEADER = "agent,group,start,end\n"


def _figures(results: Any) -> dict[str, Any]:
    document = results.to_json()
    return {key: document[key] for key in ("results", "by_type", "by_group", "by_interval")}


# ------------------------------------------------------------------- same as head counts
def test_all_day_named_agents_reproduce_the_group_counts_exactly(tmp_path: Path) -> None:
    counted = _scenario(tmp_path, None, {
        "team": {"skills": ["calls", "vip"], "count": 6},
        "desk": {"skills": ["vip"], "count": 2}})
    named = _scenario(tmp_path, HEADER + _rows(6, "team") + _rows(2, "desk"), {
        "team": {"skills": ["calls", "vip"]}, "desk": {"skills": ["vip"]}})
    assert [m.name for m in named.agents["team"].members][:2] == ["team-00x", "team-01x"]
    for policy in ("fcfs", "priority"):
        assert _figures(run(named, [policy])) == _figures(run(counted, [policy]))


def test_named_shifts_that_only_start_reproduce_the_group_shifts_exactly(
        tmp_path: Path) -> None:
    # Agents join at 06:00 and 09:30 and stay to midnight, the end of the run: the named
    # agents and the group's head count put the same agents on duty at the same times.
    counted = _scenario(tmp_path, None, {"team": {"skills": ["calls", "vip"], "shifts": [
        {"start": "0h", "end": "24h", "count": 2}, {"start": "6h", "end": "24h", "count": 3},
        {"start": "9.5h", "end": "24h", "count": 2}]}})
    named = _scenario(tmp_path, HEADER + _rows(2, "team") + _rows(3, "late", "06:00")
                      .replace(",late,", ",team,").replace("late-", "six-")
                      + _rows(2, "x", "09:30").replace(",x,", ",team,"),
                      {"team": {"skills": ["calls", "vip"]}})
    assert named.agents["team"].shifts == counted.agents["team"].shifts
    assert _figures(run(named)) == _figures(run(counted))


def test_named_shifts_that_end_differ_only_by_who_goes_home(tmp_path: Path) -> None:
    """The one difference: when shifts end, the head count sends home whichever agents
    are idle, while a named agent leaves itself, after its contact if busy. Both keep the
    scheduled hours; the named agents work past their end only to finish a contact."""
    shifts = [{"start": "0h", "end": "24h", "count": 3}, {"start": "8h", "end": "16h",
                                                          "count": 4}]
    counted = _scenario(tmp_path, None, {"team": {"skills": ["calls", "vip"],
                                                  "shifts": shifts}}, replications=10)
    named = _scenario(tmp_path, HEADER + _rows(3, "team") + _rows(4, "day", "08:00", "16:00")
                      .replace(",day,", ",team,"), {"team": {"skills": ["calls", "vip"]}},
                      replications=10)
    scheduled = (3 * 24 + 4 * 8)
    by_named = run(named, per_agent=True)
    by_count = run(counted).summary("group")["fcfs"]["team"]
    hours = [sum(a["agent_hours"] for a in rep.by_agent.values()) for rep in by_named.runs["fcfs"]]
    # At most one contact (mean 5 min, so 1 hour is far beyond) past the end per agent.
    assert all(scheduled <= h < scheduled + 4 * 1.0 for h in hours), hours
    for metric in ("occupancy", "aht_s"):
        named_estimate = by_named.summary("group")["fcfs"]["team"][metric]
        counted_estimate = by_count[metric]
        assert abs(named_estimate.mean - counted_estimate.mean) <= (
            named_estimate.half_width + counted_estimate.half_width), metric


# ---------------------------------------------------------------------- own identities
def test_each_named_agent_keeps_its_skills_levels_languages_and_speed(tmp_path: Path) -> None:
    roster = ("agent,group,start,end,skills,languages,speed\n"
              "ann,team,00:00,24:00,calls:7;vip:9,en;fr,1.25\n"
              "bob,team,08:00,16:00,calls,,\n"
              "cid,team,22:00,06:00,vip,de,\n")
    scenario = _scenario(tmp_path, roster, {"team": {"skills": {"calls": 5, "vip": 6},
                                                     "languages": ["en"]}})
    sim = Simulation(scenario, "fcfs")
    sim.run()
    agents = {agent.name: agent for agent in sim.agents[0]}
    assert list(agents) == ["ann", "bob", "cid"]
    assert agents["ann"].levels == {"calls": 7.0, "vip": 9.0}
    assert agents["ann"].speed == 1.25 and agents["ann"].languages == {"en", "fr"}
    assert agents["bob"].skills == ("calls",) and agents["bob"].levels == {"calls": 5.0}
    assert agents["bob"].languages == {"en"} and agents["bob"].speed == 1.0
    assert agents["cid"].skill_set == {"vip"} and agents["cid"].languages == {"de"}
    # At the end of the day (24:00) ann and cid (22:00-06:00) are on duty, bob is not.
    assert [a.on_duty for a in agents.values()] == [True, False, True]


@pytest.mark.parametrize("several", [False, True], ids=["one_at_a_time", "two_at_once"])
@pytest.mark.parametrize("policy", ["fcfs", "priority", "skills", "bullseye"])
def test_an_agent_never_takes_a_type_it_lacks(tmp_path: Path, policy: str,
                                              several: bool) -> None:
    """Also when agents hold several contacts: the types that still fit beside what one
    holds are among its own skills, not the group's (a bug the fuzz found)."""
    roster = HEADER.replace("end", "end,skills") + "".join(
        f"a{n},team,{start},{end},{skills}\n" for n, (start, end, skills) in enumerate([
            ("00:00", "24:00", "calls"), ("00:00", "24:00", "vip"), ("06:00", "18:00", ""),
            ("12:00", "02:00", "vip"), ("20:00", "08:00", "calls"), ("07:30", "15:30", "calls")]))
    team: dict[str, Any] = {"skills": ["calls", "vip"]}
    if several:
        team["capacity"] = [{"voice": 2}]
    scenario = _scenario(tmp_path, roster, {"team": team}, duration="48h", rate="30/h")
    sim = Simulation(scenario, policy, per_agent=True)
    watch = CapacityWatch(sim)  # asserts the skill and duty of every start
    result = sim.run()
    watch.check_end()
    check_accounting(result, scenario)
    assert watch.starts > 1000


# ----------------------------------------------------------------------- figures per agent
@pytest.mark.parametrize("policy", ["fcfs", "priority"])
def test_figures_per_agent_add_up_to_the_group_figures(tmp_path: Path, policy: str) -> None:
    roster = HEADER + "".join(f"n{n},team,{s},{e}\n" for n, (s, e) in enumerate([
        ("00:00", "24:00"), ("08:00", "16:00"), ("08:00", "16:00"), ("12:00", "20:00"),
        ("22:00", "06:00"), ("06:15", "14:45")]))
    scenario = _scenario(tmp_path, roster, {
        "team": {"skills": ["calls", "vip"]},
        "desk": {"skills": ["vip"], "shifts": [{"start": "7h", "end": "19h", "count": 2},
                                               {"start": "9h", "end": "13h", "count": 1}]}},
        duration="48h", warmup="5h", replications=5)
    results = run(scenario, [policy], per_agent=True)
    for rep in results.runs[policy]:
        measured = rep.overall["measured_hours"] * 3600
        for group, figures in rep.by_group.items():
            agents = [f for name, f in rep.by_agent.items() if name.startswith(
                "n" if group == "team" else "desk-")]
            assert sum(a["handled"] for a in agents) == figures["handled"] > 0
            handle = sum(a["handled"] * a["aht_s"] for a in agents if a["handled"])
            assert handle == pytest.approx(figures["handled"] * figures["aht_s"], rel=1e-9)
            hours = sum(a["agent_hours"] for a in agents)
            assert hours * 3600 == pytest.approx(figures["agents_logged_in"] * measured,
                                                 rel=1e-9)
            busy = sum(a["occupancy"] * a["agent_hours"] for a in agents if a["agent_hours"])
            assert busy * 3600 == pytest.approx(
                figures["occupancy"] * figures["agents_logged_in"] * measured, rel=1e-9)
    assert list(results.runs[policy][0].by_agent) == [
        "n0", "n1", "n2", "n3", "n4", "n5", "desk-001", "desk-002", "desk-003"]
    frame_rows = [r for r in results.records() if r["scope"] == "agent"]
    assert {r["key"] for r in frame_rows} >= {"n0", "desk-003"}
    assert set(results.summary("agent")[policy]["n0"]) == {
        "handled", "aht_s", "occupancy", "utilisation", "agent_hours"}


def test_figures_per_agent_are_opt_in(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, None, {"team": {"skills": ["calls", "vip"], "count": 5}},
                         replications=2)
    with pytest.warns(Warning):
        plain = run(scenario)
    assert "by_agent" not in plain.to_json()
    assert not any(r["scope"] == "agent" for r in plain.records())
    with pytest.raises(ValueError, match="per_agent=True"):
        plain.summary("agent")
    with pytest.warns(Warning):
        asked = run(scenario, per_agent=True)
    assert list(asked.to_json()["by_agent"]["fcfs"]) == [f"team-00{n}" for n in range(1, 6)]
    assert asked.to_json()["results"] == plain.to_json()["results"]  # nothing else moves


def test_ccsim_run_and_compare_by_agent(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "s.yaml"
    (tmp_path / "roster.csv").write_text(HEADER + "ann,pool,00:00,24:00\nbob,pool,08:00,16:00\n")
    scenario.write_text((SCENARIOS / "erlang-a-check.yaml").read_text().replace(
        "pool: {count: 100, skills: [general]}",
        "roster: roster.csv\n  pool: {skills: [general]}").replace("1176/h", "12/h"))
    out = tmp_path / "out.json"
    assert main(["run", str(scenario), "--by", "agent", "--json", str(out),
                 "--replications", "3", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "fcfs by agent" in text and "Agent-hours" in text
    assert [line.split()[0] for line in text.splitlines()[-2:]] == ["ann", "bob"]
    document = json.loads(out.read_text())
    # 08:00-16:00 on each of the 8 whole days of the run (200 h, measured from 1 h), plus
    # the minutes bob finishes a call past 16:00.
    assert document["by_agent"]["fcfs"]["bob"]["agent_hours"]["mean"] == pytest.approx(
        64, rel=0.01)
    assert main(["compare", str(scenario), "--policy", "fcfs", "--policy", "priority",
                 "--by", "agent", "--replications", "3", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("by_agent,ann,agent_hours,fcfs") for line in lines), lines[:5]


# ------------------------------------------------------------------------ speed and learning
def test_speed_spread_with_mean_one_keeps_aht_when_agents_are_always_busy(
        tmp_path: Path) -> None:
    """Theory: when every agent is busy all the time, agent i finishes s_i / E[work]
    contacts per second, so AHT = N E[work] / sum(s_i) = E[work] / mean(s): with speeds of
    mean 1 the AHT of the center is that of identical agents (up to the spread of the mean
    of N draws, cv / sqrt(N) = 3%). Calls arrive at twice the capacity and never abandon."""
    def scenario(speed: Any) -> Scenario:
        return _scenario(tmp_path, None, {"team": {"skills": ["calls", "vip"], "count": 40,
                                                   "speed": speed}},
                         duration="8h", warmup="10min", replications=20, rate="480/h",
                         patience=False)

    spread = run(scenario({"dist": "lognormal", "mean": 1, "cv": 0.2}))
    same = run(scenario(1.0))
    assert spread.summary()["fcfs"]["occupancy"].mean > 0.999
    paired = [a.overall["aht_s"] - b.overall["aht_s"]
              for a, b in zip(spread.runs["fcfs"], same.runs["fcfs"])]
    difference = estimate(paired)
    assert difference.low <= 0 <= difference.high, difference
    # Where the theory does not hold the test would see it: speeds of mean 1 spread wider
    # (cv 1) on an idle center give each agent the same share of contacts, so AHT grows
    # by E[1/s] - 1 > 0, far outside that interval.
    idle_spread = run(_scenario(tmp_path, None, {"team": {
        "skills": ["calls", "vip"], "count": 40, "speed": {"dist": "uniform", "low": 0.5,
                                                             "high": 1.5}}},
        duration="8h", replications=20, rate="30/h", patience=False))
    idle_same = run(_scenario(tmp_path, None, {"team": {"skills": ["calls", "vip"],
                                                        "count": 40}},
                              duration="8h", replications=20, rate="30/h", patience=False))
    slower = estimate([a.overall["aht_s"] / b.overall["aht_s"] - 1 for a, b in zip(
        idle_spread.runs["fcfs"], idle_same.runs["fcfs"])])
    assert slower.low > 0, slower  # E[1/s] = ln(3) = 1.0986 for s uniform on [0.5, 1.5]


def test_speeds_are_drawn_per_agent_from_their_own_stream(tmp_path: Path) -> None:
    def speeds(groups: dict[str, Any], policy: str = "fcfs") -> list[float]:
        sim = Simulation(_scenario(tmp_path, None, groups), policy)
        sim.run()
        return [agent.speed for agent in sim.agents[0]]

    spread = {"skills": ["calls", "vip"], "count": 4,
              "speed": {"dist": "uniform", "low": 0.8, "high": 1.2}}
    drawn = speeds({"team": spread})
    assert len(set(drawn)) == 4 and all(0.8 <= s <= 1.2 for s in drawn)
    assert speeds({"team": spread}, "priority") == drawn  # the same agents under any policy
    # Another group with a spread draws from its own stream: the team's speeds stay.
    assert speeds({"team": spread, "desk": {**spread, "skills": ["vip"]}}) == drawn


def test_a_learning_curve_follows_its_formula_and_raises_early_aht(tmp_path: Path) -> None:
    def scenario(learning: dict[str, Any] | None) -> Scenario:
        return scenario_from_dict({
            "name": "learning", "run": {"arrivals": 12, "seed": 3},
            "contact_types": {"calls": {"arrivals": {"rate": "3600/h"},
                                        "handle_time": {"dist": "constant", "value": "100s"},
                                        "wrap_up": {"dist": "constant", "value": "10s"}}},
            "agents": {"team": {"skills": ["calls"], "count": 1, "speed": 2.0,
                                **({"learning": learning} if learning else {})}},
            "routing": {"policy": "fcfs"}})

    rows = run(scenario({"start": 0.5, "contacts": 4}), contacts=True).contacts
    handles = [row["handle_s"] for row in sorted(rows, key=lambda r: r["event_s"])]
    # factor(n) = 0.5 + 0.5 n / 4 for the n-th contact, 1 from the 4th; speed 2. Wrap-up
    # (10 s, not divided by speed) is the trace's own column.
    expected = [100 / (2 * (0.5 + 0.5 * n / 4)) for n in range(4)] + [50.0] * 8
    assert handles == pytest.approx(expected, rel=1e-12)
    assert {row["wrap_up_s"] for row in rows} == {10.0}
    plain = run(scenario(None), contacts=True).contacts
    assert [row["handle_s"] for row in plain] == pytest.approx([50.0] * 12)


def test_learning_raises_the_aht_of_the_first_hour_only(tmp_path: Path) -> None:
    def scenario(learning: dict[str, Any] | None) -> Scenario:
        group: dict[str, Any] = {"skills": ["calls", "vip"], "count": 10}
        if learning:
            group["learning"] = learning
        return _scenario(tmp_path, None, {"team": group}, duration="8h", replications=10,
                         rate="40/h")

    learning = run(scenario({"start": 0.6, "contacts": 5})).runs["fcfs"]
    plain = run(scenario(None)).runs["fcfs"]

    def difference(label: str) -> Any:
        """Paired AHT difference in one interval (same contacts, same work)."""
        return estimate([a.by_interval[label]["aht_s"] - b.by_interval[label]["aht_s"]
                         for a, b in zip(learning, plain)])

    # Each agent's first 5 contacts (the first hour or so at 8 an hour) take up to 1/0.6
    # times as long; from the 5th on, the agents work as fast as without learning.
    assert difference("00:00").low > 0
    late = difference("07:30")
    assert late.low <= 0 <= late.high


# ---------------------------------------------------------------------------- bad input
def _problems(tmp_path: Path, roster: str, agents: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        _scenario(tmp_path, roster, agents)
    return [p.replace(str(tmp_path) + "/", "") for p in caught.value.problems]


TEAM = {"team": {"skills": ["calls", "vip"]}}


@pytest.mark.parametrize("roster, agents, expected", [
    (HEADER.replace("end", "end,level") + "a,team,08:00,16:00,3\n", TEAM,
     ["agents.roster: roster.csv:1: (header): 'agent,group,start,end,level'; allowed: the "
      "columns agent,group,start,end in this order, then any of skills, languages, "
      "dialects, speed"]),
    (HEADER + "a,nobody,08:00,16:00\n", TEAM,
     ["agents.roster: roster.csv:2: group: 'nobody' is not a group under agents; allowed: "
      "team"]),
    (HEADER + "a,team,08:00,16:00\n", {"team": {"skills": ["calls", "vip"], "count": 3}},
     ["agents.team.count: group 'team' is staffed by the roster roster.csv; allowed: no "
      "count, staffing or shifts"]),
    ("agent,group,start,end,skills,speed\na,team,08:00,16:00,calls:7;vip,x\n"
     "b,team,08:00,16:00,gold,0\nc,team,8:00,16:00,calls;calls,\n", TEAM,
     ["agents.roster: roster.csv:2: skills: 'calls:7;vip' gives levels for some skills only; "
      "allowed: a level for every skill of the row or for none",
      "agents.roster: roster.csv:2: speed: 'x' is not a number > 0; allowed:",
      "agents.roster: roster.csv:3: speed: '0' is not a number > 0",
      "agents.roster: roster.csv:4: start: '8:00' is not HH:MM; allowed: a clock time",
      "agents.roster: roster.csv:4: skills: 'calls' given twice; allowed: each skill once"]),
    ("agent,group,start,end,skills\na,team,08:00,16:00,gold\n", TEAM,
     ["agents.roster: roster.csv:2: skills: 'gold' is not a skill of group 'team'; allowed: "
      "calls, vip"]),
    ("agent,group,start,end,skills\na,team,08:00,16:00,calls\n", TEAM,
     ["agents.team.skills: 'vip': no agent of group 'team' in the roster roster.csv has it; "
      "allowed:"]),
    (HEADER + "desk-001,team,08:00,16:00\n",
     {**TEAM, "desk": {"skills": ["vip"], "count": 1}},
     ["agents.roster: roster.csv:2: agent: 'desk-001' is how ccsim names an agent of group "
      "'desk', which is not in the roster; allowed: another id"]),
])
def test_bad_rosters_name_file_line_column_and_what_is_allowed(
        tmp_path: Path, roster: str, agents: dict[str, Any], expected: list[str]) -> None:
    problems = _problems(tmp_path, roster, agents)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected):
        assert problem.strip().startswith(start), problem


def test_a_missing_roster_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        _scenario(tmp_path, None, {"roster": "absent.csv", **TEAM})
    (problem,) = caught.value.problems
    assert "agents.roster: " in problem and "absent.csv: not found; allowed: a roster CSV" \
        in problem


@pytest.mark.parametrize("speed, message", [
    ({"dist": "uniform", "low": 0, "high": 2}, "this distribution can draw 0 (or less)"),
    ({"dist": "mixture", "components": [{"dist": "constant", "value": 0, "weight": 0.1},
                                        {"dist": "constant", "value": 1, "weight": 0.9}]},
     "this distribution can draw 0 (or less)"),
    ({"dist": "lognormal", "mean": 1},
     "agents.team.speed.cv: missing required key 'cv'; required here: dist, mean, cv"),
    ({"dist": "lognormal", "cv": 0.3},
     "agents.team.speed.mean: missing required key 'mean'; required here: dist, mean, cv"),
    (0, "0 is not above 0"),
])
def test_bad_speeds_are_explained(tmp_path: Path, speed: Any, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        _scenario(tmp_path, None, {"team": {"skills": ["calls", "vip"], "count": 2,
                                            "speed": speed}})
    assert any(message in p for p in caught.value.problems), caught.value.problems


def test_ccsim_run_roster_refuses_per_agent_columns(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("agent,group,start,end,skills,speed\na,pool,08:00,16:00,,1.1\n"
                    "b,pool,08:00,16:00,general,\n")
    from sim.analysis.roster import apply_roster
    from sim.model.scenario import load_scenario
    with pytest.raises(ScenarioError) as caught:
        apply_roster(load_scenario(SCENARIOS / "erlang-a-check.yaml"),
                     read_roster(path, DEFAULT_LIMITS), str(path), DEFAULT_LIMITS)
    assert [p.split(": ", 1)[0] + ": " + p.split(": ", 2)[1] for p in caught.value.problems] \
        == ["2: speed", "3: skills"]


def test_roster_files_round_trip_with_their_own_columns(tmp_path: Path) -> None:
    rows = [RosterRow("a", "team", 0.0, 86400.0, 2, skills=(("calls", 7.0), ("vip", 9.5)),
                      languages=("en", "fr"), speed=1.1),
            RosterRow("b", "team", 79200.0, 21600.0, 3)]
    path = tmp_path / "roster.csv"
    path.write_text(format_roster_csv(rows))
    assert path.read_text().splitlines() == [
        "agent,group,start,end,skills,languages,speed",
        "a,team,00:00,24:00,calls:7;vip:9.5,en;fr,1.1", "b,team,22:00,06:00,,,"]
    assert read_roster(path, DEFAULT_LIMITS) == rows
    assert math.isclose(rows[0].speed or 0, 1.1)


def test_the_schema_knows_the_roster_key(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    roster = schema["properties"]["agents"]["properties"]["roster"]["anyOf"]
    assert roster[0]["type"] == "string" and roster[1] == {"$ref": "#/$defs/AgentGroup"}
    group = schema["$defs"]["AgentGroup"]["properties"]
    assert {"learning", "speed"} <= set(group) and len(group["speed"]["oneOf"]) == 2
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    jsonschema.validate({"name": "n", "run": {"duration": "1h"}, "routing": {"policy": "fcfs"},
                         "contact_types": {"calls": {
                             "arrivals": {"rate": "60/h"},
                             "handle_time": {"dist": "exponential", "mean": "300s"}}},
                         "agents": {"roster": "staff.csv",
                                                         "team": {"skills": ["calls"]}}},
                        schema)


def test_a_sweep_tells_rosters_apart_by_their_agents(tmp_path: Path) -> None:
    from sim.analysis.sweep import _digest, _normalized

    def digest(roster: str) -> str:
        return _digest(_normalized(_scenario(tmp_path, roster, TEAM)))

    both = "agent,group,start,end,skills\na,team,08:00,16:00,calls\nb,team,08:00,16:00,vip\n"
    assert digest(both) != digest(both.replace("calls\n", "calls;vip\n"))  # same shifts


def test_the_html_report_shows_a_drawn_speed(tmp_path: Path) -> None:
    from reports.html import write_report

    scenario = _scenario(tmp_path, None, {"team": {"skills": ["calls", "vip"], "count": 3,
                                                   "speed": {"dist": "uniform", "low": 0.8,
                                                             "high": 1.2}}},
                         duration="2h", replications=5)
    index = write_report(run(scenario, ["fcfs", "priority"]), tmp_path / "report")
    assert "uniform per agent, mean 1" in Path(index).read_text()


def test_named_agents_with_meetings_are_refused_naming_the_key(tmp_path: Path) -> None:
    """The shrinkage stage sets anonymous head counts; named agents keep their own shifts
    and take breaks, absence and aux time themselves: meetings are refused."""
    with pytest.raises(ScenarioError, match=r"agents\.team\.meetings: group 'team' has named "
                       r"agents .* allowed: breaks \(the group's, or an agent's own .*\), "
                       r"absenteeism and aux"):
        _scenario(tmp_path, HEADER + _rows(3, "team"), {"team": {
            "skills": ["calls", "vip"],
            "meetings": [{"start": "10h", "duration": "1h", "count": 1}]}})


# ------------------------------------------------------------- weekdays and breaks (§7c)
WEEKDAY_HEADER = "agent,group,start,end,weekday\n"
NO_CALLS = {"arrivals": {"rate": "20/h"}, "handle_time": {"dist": "constant", "value": "0s"}}


def _week(folder: Path, roster: str, group: dict[str, Any] | None = None,
          start_weekday: str = "thu", day_start: str = "0h") -> Scenario:
    """A 7-day run of ``roster`` (group ``team``) whose contacts take no time: every agent
    is on duty exactly over its shifts, less its breaks."""
    (folder / "roster.csv").write_text(roster)
    return scenario_from_dict({
        "name": "week", "run": {"duration": "168h", "replications": 1, "seed": 3,
                                "start_weekday": start_weekday, "day_start": day_start},
        "contact_types": {"calls": NO_CALLS},
        "agents": {"roster": "roster.csv", "team": {"skills": ["calls"], **(group or {})}},
        "routing": {"policy": "fcfs"}}, base_dir=folder)


def test_a_weekday_agent_is_off_on_the_other_days(tmp_path: Path) -> None:
    # Logged-in hours per weekday, by hand: a works Mon-Fri 8-16; b starts Friday at 22:00
    # (ending on Saturday); c works all day at the weekend (Sunday's shift ends at midnight).
    alone = WEEKDAY_HEADER + "a,team,08:00,16:00,mon;tue;wed;thu;fri\n"
    result = Simulation(_week(tmp_path, alone), "fcfs", 0, by_weekday=True,
                        per_agent=True).run()
    hours = {day: f["agents_logged_in"] * 24 for day, f in result.by_weekday.items()}
    assert hours == {"mon": 8, "tue": 8, "wed": 8, "thu": 8, "fri": 8, "sat": 0, "sun": 0}
    assert result.by_agent["a"]["agent_hours"] == 40
    roster = alone + "b,team,22:00,06:00,fri\nc,team,00:00,24:00,sat;sun\n"
    expected = {"mon": 8, "tue": 8, "wed": 8, "thu": 8, "fri": 8 + 2, "sat": 6 + 24, "sun": 24}
    for start in ("thu", "sun"):
        scenario = _week(tmp_path, roster, start_weekday=start)
        result = Simulation(scenario, "fcfs", 0, by_weekday=True, per_agent=True).run()
        assert {day: f["agents_logged_in"] * 24 for day, f in result.by_weekday.items()} \
            == pytest.approx(expected, abs=1e-9), start
        assert {name: f["agent_hours"] for name, f in result.by_agent.items()} == \
            pytest.approx({"a": 40, "b": 8, "c": 48}, abs=1e-9)
        # The group's shifts (its head count in the model) carry the same weekdays.
        days = scenario.agents["team"].run_days_on_duty(3600.0, 24, start)
        for index, steps in enumerate(days):
            ends = [time for time, _ in steps[1:]] + [DAY]
            scheduled = sum((end - time) * count
                            for (time, count), end in zip(steps, ends)) / 3600
            assert scheduled == pytest.approx(expected[weekday_of(index, start)])


def test_weekdays_are_of_the_clock_when_the_day_starts_later(tmp_path: Path) -> None:
    # With day_start 06:00, Tuesday 02:00-10:00 on the clock is 20:00-04:00 of the simulated
    # Monday (day 0) and 04:00-... of Tuesday's: the shift straddles two simulated days.
    scenario = _week(tmp_path, WEEKDAY_HEADER + "a,team,02:00,10:00,tue\n",
                     start_weekday="mon", day_start="6h")
    assert scenario.agents["team"].shifts[0].days == ("mon",)
    result = Simulation(scenario, "fcfs", 0, by_weekday=True).run()
    hours = {day: f["agents_logged_in"] * 24 for day, f in result.by_weekday.items()}
    assert hours == pytest.approx({"mon": 4, "tue": 4, "wed": 0, "thu": 0, "fri": 0,
                                   "sat": 0, "sun": 0}, abs=1e-9)


@pytest.mark.parametrize("cell", ["", "mon;tue;wed;thu;fri;sat;sun"])
def test_weekdays_every_day_or_none_run_as_without_the_column(tmp_path: Path,
                                                             cell: str) -> None:
    rows = [("n0", "00:00", "24:00"), ("n1", "08:00", "16:00"), ("n2", "22:00", "06:00"),
            ("n3", "12:00", "20:00")]
    plain = HEADER + "".join(f"{n},team,{s},{e}\n" for n, s, e in rows)
    with_days = WEEKDAY_HEADER + "".join(f"{n},team,{s},{e},{cell}\n" for n, s, e in rows)
    results = [_figures(run(_scenario(tmp_path, roster, TEAM, duration="48h"), ["fcfs"]))
               for roster in (plain, with_days)]
    assert results[0] == results[1]


def _breaks_scenario(folder: Path, all_day: int, day_shift: int, window: list[str],
                     rate: str) -> Scenario:
    """48 hours of ``all_day`` agents d0... with breaks of their own (10 min at 1h, 20 min
    in [2h, 2.5h]) and ``day_shift`` agents s0... (08:00-16:00) with the group's (15 min in
    ``window``)."""
    roster = ("agent,group,start,end,breaks\n"
              + "".join(f"d{n},team,00:00,24:00,10min@1h-1h;20min@2h-2.5h\n"
                        for n in range(all_day))
              + "".join(f"s{n},team,08:00,16:00,\n" for n in range(day_shift)))
    return _scenario(folder, roster, {"team": {
        "skills": ["calls", "vip"], "breaks": [{"duration": "15min", "window": window}]}},
        duration="48h", rate=rate, replications=1)


def test_named_agents_take_their_breaks_on_time_when_free(tmp_path: Path) -> None:
    """Nobody calls: each break starts at its planned time, spread over its window among
    the agents starting together, so productive hours are scheduled less the breaks."""
    scenario = _breaks_scenario(tmp_path, 4, 3, ["3h", "4h"], "0.0001/h")
    sim = Simulation(scenario, "fcfs", 0, per_agent=True)
    duty = DutyLog(sim)
    result = sim.run()
    names = {agent.id: agent.name for agents in sim.agents for agent in agents}
    starts: dict[str, list[float]] = {}
    for agent, spans in duty.periods_away().items():
        starts[names[agent]] = [went for went, _ in spans]
        for went, back in spans:
            assert back - went in (600, 900, 1200)
    for day in (0, 1):
        for k in range(4):
            assert day * DAY + 3600 in starts[f"d{k}"]
            assert day * DAY + 7200 + (k + 0.5) * 1800 / 4 in starts[f"d{k}"]
        for k in range(3):
            assert day * DAY + 8 * 3600 + 3 * 3600 + (k + 0.5) * 3600 / 3 in starts[f"s{k}"]
    assert all(len(spans) == (4 if name.startswith("d") else 2)
               for name, spans in starts.items())
    for name, figures in result.by_agent.items():
        scheduled, breaks = (48, 2 * 0.5) if name.startswith("d") else (16, 2 * 0.25)
        assert figures["agent_hours"] == pytest.approx(scheduled - breaks, abs=1e-9), name
    team = result.by_group["team"]
    assert team["scheduled_agent_hours"] == pytest.approx(4 * 48 + 3 * 16, abs=1e-9)
    assert team["productive_agent_hours"] == pytest.approx(4 * 47 + 3 * 15.5, abs=1e-9)
    assert team["break_adherence"] == 1 and team["break_lateness_s"] == 0
    assert result.overall["shrinkage"] == pytest.approx(5.5 / 240, abs=1e-12)


def _checked_run(scenario: Scenario) -> tuple[Simulation, DutyLog, Any]:
    """Replication 0 under fcfs, per agent, checked: nobody logs off holding a contact,
    capacity holds all run and every contact is accounted for."""
    with tempfile.TemporaryDirectory() as folder:
        with RecordingTrace(Path(folder) / "trace.csv") as trace:
            sim = Simulation(scenario, "fcfs", 0, trace=trace, per_agent=True)
            duty = DutyLog(sim)
            watch = CapacityWatch(sim)
            result = sim.run()
    check_never_preempted(trace.rows, duty)
    watch.check_end()
    check_accounting(result, scenario)
    return sim, duty, result


def test_named_agents_breaks_never_cut_a_contact_short(tmp_path: Path) -> None:
    """Near full occupancy the agents are busy when their breaks fall due: each goes when
    its contact ends (late), is never called back early, and all its break time is taken."""
    scenario = _breaks_scenario(tmp_path, 6, 4, ["3h", "3h"], "55/h")
    _, duty, result = _checked_run(scenario)
    periods = duty.periods_away()
    lengths = sorted(round(back - went) for spans in periods.values() for went, back in spans)
    assert lengths == [600] * 12 + [900] * 8 + [1200] * 12
    for name, figures in result.by_agent.items():
        if name.startswith("d"):  # all day: productive = scheduled less breaks, late or not
            assert figures["agent_hours"] == pytest.approx(48 - 1, abs=1e-9), name
    f = result.by_group["team"]
    assert 0 <= f["break_adherence"] < 1 and f["break_lateness_s"] > 0
    assert f["scheduled_agent_hours"] == pytest.approx(6 * 48 + 4 * 16, abs=1e-9)


def test_weekday_agents_take_their_breaks_on_their_days(tmp_path: Path) -> None:
    roster = WEEKDAY_HEADER + "a,team,08:00,16:00,mon;tue;wed;thu;fri\n"
    scenario = _week(tmp_path, roster, {"breaks": [{"duration": "15min",
                                                    "window": ["2h", "3h"]}]})
    result = Simulation(scenario, "fcfs", 0, by_weekday=True).run()
    assert result.overall["scheduled_agent_hours"] == pytest.approx(40, abs=1e-9)
    assert result.overall["productive_agent_hours"] == pytest.approx(40 - 5 * 0.25, abs=1e-9)
    assert result.by_weekday["sat"]["agents_logged_in"] == 0


@pytest.mark.parametrize("roster, expected", [
    (WEEKDAY_HEADER + "a,team,08:00,16:00,mon;funday\nb,team,08:00,16:00,mon;Mon\n",
     ["agents.roster: roster.csv:2: weekday: 'funday' is not a weekday; allowed: weekdays "
      "the shift starts on among mon, tue, wed, thu, fri, sat, sun, separated by ';'",
      "agents.roster: roster.csv:3: weekday: 'mon' given twice; allowed: each weekday once"]),
    ("agent,group,start,end,breaks\na,team,08:00,16:00,15min@2h\n"
     "b,team,08:00,16:00,15@2h-3h\nc,team,08:00,16:00,15min@3h-2h\n",
     ["agents.roster: roster.csv:2: breaks: '15min@2h' is not DURATION@EARLIEST-LATEST; "
      "allowed: DURATION@EARLIEST-LATEST start after the shift's start, separated by ';', "
      "e.g. 15min@2h-3h;30min@4h-5h",
      "agents.roster: roster.csv:3: breaks: '15@2h-3h': '15' has no unit; allowed:",
      "agents.roster: roster.csv:4: breaks: '15min@3h-2h' has its latest start before its "
      "earliest; allowed: earliest <= latest"]),
    ("agent,group,start,end,breaks\nd,team,08:00,16:00,\ne,team,08:00,10:00,30min@1h-2h\n",
     ["agents.roster: roster.csv:3: breaks: break 1: a 30min break started at the latest, "
      "2h, ends after the 2h shift; allowed: latest start + duration <= 2h"]),
])
def test_bad_weekday_and_breaks_cells_name_file_line_column_and_what_is_allowed(
        tmp_path: Path, roster: str, expected: list[str]) -> None:
    problems = _problems(tmp_path, roster, TEAM)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected):
        assert problem.strip().startswith(start), problem


def test_roster_files_round_trip_weekdays_and_breaks(tmp_path: Path) -> None:
    text = ("agent,group,start,end,weekday,breaks\n"
            "a,team,08:00,16:00,mon;fri,15min@2h-3h;30min@4h-4.5h\nb,team,22:00,06:00,,\n")
    path = tmp_path / "roster.csv"
    path.write_text(text)
    rows = read_roster(path, DEFAULT_LIMITS)
    assert rows[0].weekday == ("mon", "fri") and rows[1].breaks is None
    assert format_roster_csv(rows) == text


# ------------------------------------------------------------------ absenteeism (§7c)
def _absence_scenario(folder: Path, absenteeism: float | None, rate: str = "0.0001/h",
                      breaks: bool = False, days: int = 20) -> Scenario:
    """``days`` days of 6 agents all day (d0...) and 14 on 08:00-16:00 (s0...), the
    group's ``absenteeism`` (no key when None)."""
    roster = ("agent,group,start,end,breaks\n"
              + "".join(f"d{n},team,00:00,24:00,\n" for n in range(6))
              + "".join(f"s{n},team,08:00,16:00,\n" for n in range(14)))
    group: dict[str, Any] = {"skills": ["calls", "vip"]}
    if absenteeism is not None:
        group["absenteeism"] = absenteeism
    if breaks:
        group["breaks"] = [{"duration": "15min", "window": ["2h", "3h"]}]
    return _scenario(folder, roster, {"team": group}, duration=f"{24 * days}h", rate=rate,
                     replications=1)


def test_named_agents_are_absent_for_whole_shifts_with_chance_p(tmp_path: Path) -> None:
    """Nobody calls and nobody takes a break: each agent's productive hours are whole
    shifts (absent for all of one or none of it), scheduled hours are all the shifts',
    and the agent-shifts present, 0.8 of 400 on average, lie within the binomial 99.9% CI
    (3.29 sd) over 4 seeds."""
    p, days = 0.2, 20
    shifts = present = 0
    for seed in range(4):
        result = Simulation(_absence_scenario(tmp_path, p, days=days), "fcfs", seed,
                            per_agent=True).run()
        team = result.by_group["team"]
        assert team["scheduled_agent_hours"] == pytest.approx((6 * 24 + 14 * 8) * days,
                                                              abs=1e-9)
        absent_hours = 0.0
        for name, figures in result.by_agent.items():
            length = 24 if name.startswith("d") else 8
            worked = figures["agent_hours"] / length
            assert worked == pytest.approx(round(worked), abs=1e-9), name
            shifts += days
            present += round(worked)
            absent_hours += (days - round(worked)) * length
        assert team["productive_agent_hours"] == pytest.approx(
            team["scheduled_agent_hours"] - absent_hours, abs=1e-9)
    sd = math.sqrt(shifts * p * (1 - p))
    assert abs(present - shifts * (1 - p)) <= 3.29 * sd, (present, shifts)


def test_named_absenteeism_zero_runs_as_without_the_key(tmp_path: Path) -> None:
    figures = [_figures(run(_absence_scenario(tmp_path, p, rate="40/h", breaks=True, days=2),
                            ["fcfs"])) for p in (None, 0.0)]
    assert figures[0] == figures[1]


def test_named_absence_draws_one_uniform_per_agent_shift_from_its_stream(
        tmp_path: Path) -> None:
    """The agents absent are those whose uniform from ``absence/team`` (drawn in order of
    shift start, then roster order; all-day agents at midnight) is below p."""
    sim = Simulation(_absence_scenario(tmp_path, 0.3, days=3), "fcfs", 2, per_agent=True)
    result = sim.run()
    assert {name: round(f["agent_hours"], 9) for name, f in result.by_agent.items()} \
        == _present_hours(sim, 0.3, 3)


def _present_hours(sim: Simulation, p: float, days: int) -> dict[str, float]:
    """Each agent's scheduled hours in the shifts it is present for, from the uniforms of
    ``absence/team`` of ``_absence_scenario``."""
    uniforms = iter(sim.streams.generator("absence/team").random(20 * days).tolist())
    hours: dict[str, float] = {}
    for _ in range(days):
        for name in [f"d{n}" for n in range(6)] + [f"s{n}" for n in range(14)]:
            present = next(uniforms) >= p
            hours[name] = hours.get(name, 0.0) + present * (24 if name[0] == "d" else 8)
    return hours


def test_invariants_hold_with_named_absence_under_load(tmp_path: Path) -> None:
    """Near full occupancy, with absence and breaks: capacity, accounting, and nobody
    logs off holding a contact."""
    scenario = _absence_scenario(tmp_path, 0.25, rate="70/h", breaks=True, days=3)
    sim, _, result = _checked_run(scenario)
    team = result.by_group["team"]
    assert team["scheduled_agent_hours"] == pytest.approx((6 * 24 + 14 * 8) * 3, abs=1e-9)
    # Absence is drawn as without calls (its own stream): nobody works beyond its present
    # shifts (a contact past a shift's end takes less than the 15-minute break saved), and
    # an agent absent all run never logs on.
    for name, hours in _present_hours(sim, 0.25, 3).items():
        worked = result.by_agent[name]["agent_hours"]
        assert worked <= hours + 1e-9 and (worked > 0) == (hours > 0), name


# ------------------------------------------------------------------------ aux (§7c)
AUX = {"rate": "2/h", "duration": {"dist": "exponential", "mean": "4min"}}


def test_all_day_named_agents_with_aux_reproduce_the_group_count_exactly(
        tmp_path: Path) -> None:
    """Aux episodes come from the same streams, clock per agent, as an anonymous group's:
    all-day agents give exactly the figures of the group's count."""
    group = {"skills": ["calls", "vip"], "aux": AUX}
    named = _scenario(tmp_path, HEADER + _rows(8, "team"), {"team": group},
                      duration="12h", rate="40/h")
    counted = _scenario(tmp_path, None, {"team": {**group, "count": 8}},
                        duration="12h", rate="40/h")
    figures = [_figures(run(scenario, ["fcfs"])) for scenario in (named, counted)]
    assert figures[0] == figures[1]
    assert 0 < figures[0]["by_group"]["fcfs"]["team"]["shrinkage"]["mean"] < 0.2


def test_named_aux_ends_with_the_shift_and_keeps_the_invariants(tmp_path: Path) -> None:
    """Shifts that end, breaks, absence and aux near full load: capacity, accounting,
    nobody logs off holding a contact, and nobody is on duty before the first shift or
    long after the last (an hour: a contact past a shift's end, 5 minutes on average)."""
    roster = ("agent,group,start,end\n"
              + "".join(f"s{n},team,08:00,16:00\n" for n in range(10))
              + "".join(f"l{n},team,12:00,20:00\n" for n in range(6)))
    scenario = _scenario(tmp_path, roster, {"team": {
        "skills": ["calls", "vip"], "aux": AUX, "absenteeism": 0.1,
        "breaks": [{"duration": "15min", "window": ["2h", "3h"]}]}},
        duration="48h", rate="55/h", replications=1)
    sim, duty, result = _checked_run(scenario)
    assert duty.periods_away()  # breaks and aux taken
    for day in (0, 1):
        for hour in (7.9, 21):
            assert duty.at("team", day * DAY + hour * 3600) == 0
    team = result.by_group["team"]
    assert team["scheduled_agent_hours"] == pytest.approx(2 * 16 * 8, abs=1e-9)
