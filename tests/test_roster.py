"""``ccsim roster`` and ``ccsim run --roster``: the integer program on hand-solvable cases,
roster files in and out, a stationary day against exact Erlang C, and bad input.

Stationary day
--------------
An M/M/c queue (Erlang C, exact) at a constant 360/h with exponential 240 s handle time
over an 8-hour day: Erlang C needs n* = 29 agents for SL(20 s) >= 0.8 every hour (SL 0.840
there, 0.761 with 28). With shifts of 8h or 4h starting every hour, the integer program's
optimum over these requirements is 8 x 29 = 232 agent-hours (every hour needs 29 agents:
no roster has fewer hours, and 29 eight-hour shifts have exactly these). The verified
roster must stay within 10% of it, and every interval must meet the target in the
verifying simulation (fixed seed: the outcome is deterministic).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sim.analysis.analytics import required_agents
from sim.analysis.roster import (
    MISSED, RosterError, ShiftCount, _runs, _verifying_scenario, apply_roster, build_roster,
    cover_at_minimum_cost, coverage, home_types, make_grid,
)
from sim.analysis.staffing import parse_target
from sim.cli import main
from sim.errors import ScenarioError
from sim.limits import DEFAULT_LIMITS
from sim.kernel.kernel import Simulation
from sim.model.roster_file import RosterRow, format_roster_csv, read_roster
from sim.model.scenario import Scenario, load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
RATE_PER_H, AHT_S = 360.0, 240.0


def _stationary(**run: object) -> Scenario:
    return scenario_from_dict({
        "name": "stationary",
        "run": {"duration": "8h", "replications": 10, "seed": 11, "interval": "1h", **run},
        "contact_types": {"calls": {
            "arrivals": {"rate": f"{RATE_PER_H}/h"},
            "handle_time": {"dist": "exponential", "mean": f"{AHT_S}s"}}},
        "agents": {"team": {"count": 1, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"},
        "service_level": {"threshold": "20s"},
    })


# ------------------------------------------------------------------ integer program
def test_program_finds_the_hand_optimum_with_the_fewest_agents() -> None:
    # Requirement 1,1,2,2,1,1 over six slots: at least 8 agent-slots; two 4-slot shifts
    # from slots 0 and 2 give exactly that with 2 agents (four 2-slot shifts need 4).
    shifts = cover_at_minimum_cost([1, 1, 2, 2, 1, 1], lengths=[4, 2], step=1, wrap=False)
    assert sorted(shifts, key=lambda s: s.start) == [ShiftCount(0, 4, 1), ShiftCount(2, 4, 1)]


def test_a_wrapping_day_lets_a_shift_run_past_midnight() -> None:
    # Slots 3 and 0 need an agent: one 2-slot shift from slot 3 when the day wraps, two
    # shifts (4 agent-slots) when it does not.
    assert cover_at_minimum_cost([1, 0, 0, 1], lengths=[2], step=1, wrap=True) == [
        ShiftCount(3, 2, 1)]
    fixed = cover_at_minimum_cost([1, 0, 0, 1], lengths=[2], step=1, wrap=False)
    assert sum(s.length * s.count for s in fixed) == 4
    assert coverage(fixed, 4)[0] >= 1 and coverage(fixed, 4)[3] >= 1


def test_a_slot_no_shift_covers_is_refused() -> None:
    with pytest.raises(RosterError, match="slot 1 lies in no shift"):
        cover_at_minimum_cost([0, 1], lengths=[1], step=2, wrap=False)


def test_runs_of_a_wrapping_day_cross_midnight() -> None:
    assert _runs([True, False, True, True], wrap=True) == [(2, 5)]
    assert _runs([True, False, True, True], wrap=False) == [(0, 1), (2, 4)]
    assert _runs([True, True], wrap=True) == [(0, 2)]


# ------------------------------------------------------------------- stationary day
def test_stationary_day_is_within_ten_percent_of_the_erlang_optimum() -> None:
    needed = required_agents(RATE_PER_H / 3600, AHT_S, 0.8, 20.0)
    roster = build_roster(_stationary(), [parse_target("service_level>=0.8")],
                          [8 * 3600.0, 4 * 3600.0], 3600.0)
    assert roster.erlang["team"] == (needed,) * 24
    assert roster.erlang_optimum_hours == 8 * needed
    hours = roster.hours("team")
    assert hours <= 1.1 * 8 * needed
    assert roster.unmet == []
    for interval in roster.intervals:
        assert interval.verdict != MISSED
        assert interval.figures["service_level"].mean >= 0.8
    assert len(roster.intervals) == 8  # every hour of the day was judged


def test_shrinkage_pays_more_heads_and_verifies_those_at_work() -> None:
    scenario = _stationary(replications=5)
    roster = build_roster(scenario, [parse_target("service_level>=0.8")], [8 * 3600.0],
                          3600.0, shrinkage=0.25, max_iterations=1)
    needed = required_agents(RATE_PER_H / 3600, AHT_S, 0.8, 20.0)
    assert roster.agents("team") == math.ceil(needed / 0.75)
    verified = _verifying_scenario(scenario, roster.rows, roster.shifts, roster.grid, 0.25)
    steps = verified.agents["team"].on_duty(3600.0, 24)
    assert dict(steps)[0.0] == math.floor(roster.agents("team") * 0.75)


def test_types_are_sized_on_their_specialists() -> None:
    scenario = load_scenario(SCENARIOS / "bank-day.yaml")
    assert home_types(scenario, list(scenario.agents)) == {
        "retail": ("regular",), "online": ("internet",), "brokers": ("stock",)}
    # Without the retail team, regular calls fall to the brokers.
    assert home_types(scenario, ["online", "brokers"]) == {
        "online": ("internet",), "brokers": ("regular", "stock")}


# ---------------------------------------------------------------------- roster files
def test_roster_file_round_trip_in_clock_time(tmp_path: Path) -> None:
    rows = [RosterRow("a-1", "team", 8 * 3600.0, 16 * 3600.0, 2),
            RosterRow("a-2", "team", 22 * 3600.0, 24 * 3600.0, 3)]
    path = tmp_path / "roster.csv"
    path.write_text(format_roster_csv(rows))
    assert path.read_text().splitlines() == [
        "agent,group,start,end", "a-1,team,08:00,16:00", "a-2,team,22:00,24:00"]
    assert read_roster(path, DEFAULT_LIMITS) == rows
    path.write_text("\ufeff" + format_roster_csv(rows))  # as a spreadsheet saves it
    assert read_roster(path, DEFAULT_LIMITS) == rows
    # The day starts at 08:00: clock 08:00-16:00 is simulation time 0-8h.
    scenario = apply_roster(_stationary(day_start="8h"), rows, str(path), DEFAULT_LIMITS)
    shifts = scenario.agents["team"].shifts
    assert [(s.start, s.end, s.count) for s in shifts] == [
        (0.0, 8 * 3600.0, 1), (14 * 3600.0, 16 * 3600.0, 1)]
    assert scenario.agents["team"].count is None


@pytest.mark.parametrize("text, problems", [
    ("agent,group,start\n", ["roster.csv:1: (header): 'agent,group,start'; allowed: the "
                             "columns agent,group,start,end in this order"]),
    ("", ["roster.csv:1: (header): no header; allowed"]),
    ("agent,group,start,end\n", ["roster.csv:2: (row): no agent"]),
    ("agent,group,start,end\na,team,8:00,16:00\n",
     ["roster.csv:2: start: '8:00' is not HH:MM; allowed: a clock time HH:MM from 00:00 "
      "to 23:59"]),
    ("agent,group,start,end\na,team,24:00,16:00\n",
     ["roster.csv:2: start: '24:00' is not a time of day"]),
    ("agent,group,start,end\na,team,08:00,24:30\nb,,09:00,09:00\na,team,08:00,16:00,x\n",
     ["roster.csv:2: end: '24:30' is not a time of day; allowed: a clock time HH:MM from "
      "00:00 to 24:00",
      "roster.csv:3: group: empty; allowed: a name",
      "roster.csv:3: end: 09:00 is the start",
      "roster.csv:4: (row): 5 cells; allowed: 4, agent,group,start,end"]),
    ("agent,group,start,end\na,team,08:00,16:00\na,team,09:00,17:00\n",
     ["roster.csv:3: agent: 'a' is also on line 2; allowed: one row per agent"]),
])
def test_bad_roster_files_name_line_and_column(tmp_path: Path, text: str,
                                               problems: list[str]) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        read_roster(path, DEFAULT_LIMITS)
    lines = str(caught.value).replace(str(tmp_path) + "/", "").splitlines()
    assert len(lines) == len(problems)
    for line, expected in zip(lines, problems):
        assert line.startswith(expected)


def test_groups_not_in_the_scenario_are_refused(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("agent,group,start,end\na,team,00:00,08:00\nb,nobody,00:00,08:00\n")
    scenario_path = tmp_path / "s.yaml"
    scenario_path.write_text((SCENARIOS / "erlang-a-check.yaml").read_text())
    assert main(["run", str(scenario_path), "--roster", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:2: group: 'team' is not an agent group of scenario 'erlang-a-check'; "
        "allowed: pool",
        f"{path}:3: group: 'nobody' is not an agent group of scenario 'erlang-a-check'; "
        "allowed: pool"]
    assert main(["run", str(scenario_path), "--roster", str(tmp_path / "none.csv")]) == 2
    assert "none.csv: not found; allowed: a roster CSV file" in capsys.readouterr().err


def test_a_roster_keeps_the_groups_breaks_and_refuses_shifts_too_short_for_them() -> None:
    """Breaks of the group (after the start of each shift) are simulated on the roster's
    shifts; a roster shift too short for one is refused as validation refuses it."""
    with_breaks = scenario_from_dict({
        **TWO_BREAKS_SCENARIO, "agents": {"team": {"count": 30, "skills": ["calls"], "breaks": [
            {"duration": "15min", "window": ["2h", "3h"]},
            {"duration": "30min", "window": ["4h", "5h"], "name": "lunch"}]}}})
    eight = [RosterRow(f"a-{i}", "team", 8 * 3600.0, 16 * 3600.0, i + 2) for i in range(30)]
    rostered = apply_roster(with_breaks, eight, "roster.csv", DEFAULT_LIMITS)
    assert len(rostered.agents["team"].breaks) == 2
    result = Simulation(rostered, "fcfs", 0).run()
    # 30 agents x 8 h scheduled, 45 minutes of breaks each: 26.25 h off the phones.
    assert result.overall["scheduled_agent_hours"] == pytest.approx(240.0)
    assert result.overall["productive_agent_hours"] == pytest.approx(240.0 - 30 * 0.75)
    four = [*eight[:29], RosterRow("a-29", "team", 8 * 3600.0, 12 * 3600.0, 31)]
    with pytest.raises(ScenarioError, match=r"roster.csv: agents.team.breaks.1.window: a 30min "
                       r"break started at the latest, 5h, ends after the 4h roster's shortest "
                       r"shift"):
        apply_roster(with_breaks, four, "roster.csv", DEFAULT_LIMITS)
    # Without breaks, any roster goes.
    apply_roster(_stationary(day_start="8h"), four, "roster.csv", DEFAULT_LIMITS)


TWO_BREAKS_SCENARIO = {
    "name": "breaks",
    "run": {"duration": "8h", "replications": 2, "seed": 3, "interval": "1h", "day_start": "8h"},
    "contact_types": {"calls": {"arrivals": {"rate": "200/h"},
                                "handle_time": {"dist": "exponential", "mean": "4min"}}},
    "routing": {"policy": "fcfs"},
}


# ------------------------------------------------------------------------------- CLI
def _write(tmp_path: Path, scenario: dict) -> Path:
    import yaml

    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


SMALL = {
    "name": "small-day",
    "run": {"duration": "6h", "replications": 5, "seed": 3, "interval": "1h",
            "day_start": "9h"},
    "contact_types": {"calls": {
        "arrivals": {"rates": ["60/h", "120/h", "180/h", "120/h", "60/h", "60/h"]
                     + ["0/h"] * 18},
        "handle_time": {"dist": "exponential", "mean": "240s"},
        "patience": {"dist": "exponential", "mean": "5min"}}},
    "agents": {"team": {"count": 10, "skills": ["calls"]}},
    "routing": {"policy": "fcfs"},
    "service_level": {"threshold": "20s"},
}


def test_cli_writes_the_roster_that_run_applies(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _write(tmp_path, SMALL)
    out, document, plot = tmp_path / "roster.csv", tmp_path / "r.json", tmp_path / "r.svg"
    assert main(["roster", str(scenario), "--target", "service_level>=0.8", "--shift-lengths",
                 "4h,2h", "--starts-every", "1h", "--cost-per-hour", "20", "--out", str(out),
                 "--json", str(document), "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "Every interval meets every target in simulation." in printed
    rows = read_roster(out, DEFAULT_LIMITS)
    figures = json.loads(document.read_text())
    assert figures["met"] and figures["unmet"] == []
    assert len(rows) == figures["groups"]["team"]["agents"]
    hours = sum(((r.end - r.start) % 86400) / 3600 for r in rows)
    assert figures["groups"]["team"]["agent_hours"] == hours
    assert figures["groups"]["team"]["cost"] == 20 * hours
    assert f"{20 * hours:,.2f}" in printed
    assert min(r.start for r in rows) >= 9 * 3600 and max(r.end for r in rows) <= 15 * 3600
    assert plot.read_bytes().startswith(b"<?xml")
    # ccsim run --roster simulates what the roster's verification did: the same figures.
    assert main(["run", str(scenario), "--roster", str(out), "--by", "interval", "--json",
                 str(tmp_path / "run.json")]) == 0
    ran = json.loads((tmp_path / "run.json").read_text())["by_interval"]["fcfs"]
    for interval in figures["intervals"]:
        if interval["results"]:
            assert ran[interval["interval"]]["service_level"] == \
                interval["results"]["service_level"]


def test_cli_names_the_intervals_not_met(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    # No exact formula for the 90th wait percentile: the Erlang start is the fewest agents
    # that keep up (Erlang A: one), far from a 90th percentile of 1 s.
    scenario = _write(tmp_path, SMALL)
    assert main(["roster", str(scenario), "--target", "wait_p90_s<=1", "--shift-lengths", "6h",
                 "--starts-every", "1h", "--max-iterations", "1",
                 "--out", str(tmp_path / "r.csv")]) == 1
    printed = capsys.readouterr().out
    assert "Not met after 1 simulations: 09:00, 10:00, 11:00, 12:00, 13:00, 14:00" in printed


@pytest.mark.parametrize("flags, message", [
    (["--target", "service_level<=0.8"], "--target: target 'service_level<=0.8': "
     "service_level rises with more agents"),
    (["--target", "speed>=1"], "--target: target 'speed>=1': unknown metric 'speed'"),
    (["--shift-lengths", "8x"], "--shift-lengths: "),
    (["--shift-lengths", "8h,0h"], "--shift-lengths: '0h' is not above 0 and below 24h"),
    (["--shift-lengths", "24h"], "--shift-lengths: '24h' is not above 0 and below 24h"),
    (["--starts-every", "7min"], "--starts-every: '7min' does not divide 24h into whole "
     "minutes; allowed: e.g. 15min, 30min or 1h"),
    (["--starts-every", "30s"], "--starts-every: '30s' does not divide 24h"),
    (["--starts-every", "0s"], "--starts-every: '0s' does not divide 24h"),
    (["--shift-lengths", "2.75h"], "--shift-lengths: 165min is not a whole number of 1h"),
    (["--shift-lengths", "8h"], "--shift-lengths: every shift is longer than the run (6h)"),
    (["--group", "nobody"], "--group nobody: no such agent group in small-day; allowed: team"),
    (["--cost-per-hour", "-3"], "--cost-per-hour '-3': allowed: an amount above 0"),
    (["--plot", "figure.pdf"], "--plot 'figure.pdf': allowed: a file name ending in .svg"),
    (["--max-iterations", "0"], "--max-iterations must be >= 1"),
    (["--policy", "nope"], "--policy: "),
])
def test_cli_rejects_bad_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               flags: list[str], message: str) -> None:
    scenario = _write(tmp_path, SMALL)
    base = {"--target": "service_level>=0.8", "--shift-lengths": "4h",
            "--starts-every": "1h", "--out": str(tmp_path / "r.csv")}
    for flag, value in zip(flags[::2], flags[1::2]):
        base[flag] = value
    argv = ["roster", str(scenario)] + [w for pair in base.items() for w in pair]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"ccsim: error: {message}")
    assert not (tmp_path / "r.csv").exists()


def test_runs_by_arrivals_have_no_day_to_roster() -> None:
    scenario = scenario_from_dict({**SMALL, "run": {"arrivals": 100, "interval": "1h"}})
    with pytest.raises(RosterError, match="allowed: run.duration"):
        make_grid(scenario, [3600.0], 3600.0)
