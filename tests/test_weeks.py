"""Weeks: rates and staffing by weekday (issue 15 item 3).

* a week whose weekdays are all alike runs exactly as the scenario without weekday keys;
* arrivals per weekday are Poisson with mean rate x factor x hours (or the weekday's own
  rates), on the weekdays ``run.start_weekday`` says the days are;
* agent-hours on duty per weekday are exactly what the shifts and weekday staffing say;
* a weekday with the same rate and staffing all day is an M/M/c queue: Erlang C holds;
* weekday mistakes name the field and what is allowed.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from sim import ScenarioError, Simulation, scenario_from_dict
from sim.analysis.analytics import erlang_c_figures
from sim.model.week import WEEKDAYS, weekday_of
from sim.runner import run

pytestmark = pytest.mark.filterwarnings("ignore::sim.FewReplicationsWarning")
HOUR = 3600.0
DAY = 24 * HOUR
BANK_WEEK = Path(__file__).resolve().parents[1] / "scenarios" / "bank_week.yaml"


def _week(**run: Any) -> dict[str, Any]:
    """Two queues over two weeks: a profile by the hour with shifts, and a constant rate."""
    return {
        "name": "week",
        "run": {"duration": "14d", "interval": "1h", "replications": 2, "seed": 11, **run},
        "contact_types": {
            "general": {
                "arrivals": {"rates": [f"{20 + 5 * (h % 12)}/h" for h in range(24)]},
                "handle_time": {"dist": "exponential", "mean": "4min"},
                "patience": {"dist": "exponential", "mean": "3min"},
            },
            "vip": {
                "arrivals": {"rate": "12/h"},
                "handle_time": {"dist": "exponential", "mean": "5min"},
            },
        },
        "agents": {
            "team": {"skills": ["general", "vip"], "shifts": [
                {"start": "0h", "end": "12h", "count": 5},
                {"start": "8h", "end": "20h", "count": 4},
                {"start": "20h", "end": "8h", "count": 3}]},
            "desk": {"skills": ["vip"], "staffing": [2] * 12 + [3] * 12},
        },
        "routing": {"policy": "fcfs"},
    }


def _document(data: dict[str, Any], **options: Any) -> dict[str, Any]:
    results = run(scenario_from_dict(data), ["fcfs"], progress=False, **options)
    return json.loads(json.dumps(results.to_json()))


def test_a_week_of_alike_weekdays_runs_exactly_as_the_plain_scenario() -> None:
    plain = _week(start_weekday="thu")
    alike = copy.deepcopy(plain)
    for ctype in alike["contact_types"].values():
        ctype["arrivals"]["weekdays"] = {day: 1 for day in WEEKDAYS}
    for shift in alike["agents"]["team"]["shifts"]:
        shift["days"] = list(WEEKDAYS)
    alike["agents"]["desk"]["staffing_by_weekday"] = {"sat": [2] * 12 + [3] * 12}
    assert _document(alike) == _document(plain)


def test_asking_for_weekdays_keeps_every_count_and_adds_up() -> None:
    data = _week()
    without, with_days = _document(data), _document(data, by_weekday=True)
    assert "by_weekday" not in without and set(with_days["by_weekday"]["fcfs"]) == set(WEEKDAYS)
    for metric, figure in without["results"]["fcfs"].items():
        # Sums of the same values in another order: equal to rounding.
        assert with_days["results"]["fcfs"][metric]["mean"] == pytest.approx(
            figure["mean"], rel=1e-9, nan_ok=True), metric
    by_day = run(scenario_from_dict(data), ["fcfs"], by_weekday=True, replications=1,
                 progress=False).runs["fcfs"][0]
    for metric in ("arrivals", "answered", "abandoned", "handled"):
        assert sum(day[metric] for day in by_day.by_weekday.values()) == by_day.overall[metric]


def _one_queue(rate: str, days: str, start: str, arrivals: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "arrivals-by-weekday",
        "run": {"duration": days, "interval": "1h", "replications": 6, "seed": 5,
                "start_weekday": start},
        "contact_types": {"calls": {
            "arrivals": {"rate": rate, **arrivals},
            "handle_time": {"dist": "exponential", "mean": "1min"}}},
        "agents": {"pool": {"count": 20, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"},
    }


def test_arrivals_per_weekday_are_rate_times_factor_on_the_right_weekdays() -> None:
    # Ten days from a Wednesday: Wednesday to Friday twice, every other weekday once.
    saturday = [f"{30 if 9 <= h < 14 else 0}/h" for h in range(24)]
    data = _one_queue("60/h", "10d", "wed", {"weekdays": {"mon": 1.5, "fri": 0.5, "sun": 0},
                                               "rates_by_weekday": {"sat": saturday}})
    results = run(scenario_from_dict(data), ["fcfs"], by_weekday=True, progress=False)
    replications = results.replications
    occurrences = {day: sum(weekday_of(d, "wed") == day for d in range(10)) for day in WEEKDAYS}
    assert occurrences == {"mon": 1, "tue": 1, "wed": 2, "thu": 2, "fri": 2, "sat": 1, "sun": 1}
    per_day = {day: 60 * 24 * {"mon": 1.5, "fri": 0.5, "sun": 0}.get(day, 1.0)
               for day in WEEKDAYS} | {"sat": 30 * 5}
    for day in WEEKDAYS:
        reps = results.runs["fcfs"]
        observed = sum(rep.by_weekday[day]["arrivals"] for rep in reps)
        expected = per_day[day] * occurrences[day] * replications
        # The total of independent Poisson counts is Poisson: 4 standard deviations.
        assert abs(observed - expected) <= 4 * math.sqrt(expected), (day, observed, expected)


def test_a_short_run_takes_the_rates_of_its_start_weekday() -> None:
    # Weekday keys without a run spanning the week are fine: a day is the start weekday.
    saturday = _one_queue("60/h", "1d", "sat", {"weekdays": {"sat": 0.25}})
    results = run(scenario_from_dict(saturday), ["fcfs"], progress=False)
    observed = sum(rep.overall["arrivals"] for rep in results.runs["fcfs"])
    expected = 15 * 24 * results.replications
    assert abs(observed - expected) <= 4 * math.sqrt(expected)


def _agent_hours(steps: list[tuple[float, int]]) -> float:
    ends = [time for time, _ in steps[1:]] + [DAY]
    return sum(count * (end - time) for (time, count), end in zip(steps, ends)) / HOUR


def test_agent_hours_on_duty_per_weekday_are_what_the_yaml_says() -> None:
    data = {
        "name": "staffing-by-weekday",
        # A week from a Thursday: the Friday night shift ends on Saturday morning.
        "run": {"duration": "7d", "interval": "1h", "seed": 3, "start_weekday": "thu"},
        "contact_types": {"calls": {"arrivals": {"rate": "20/h"},
                                    "handle_time": {"dist": "constant", "value": "0s"}}},
        "agents": {
            "shifts": {"skills": ["calls"], "shifts": [
                {"start": "8h", "end": "16h", "count": 6, "days": ["mon", "tue", "wed", "thu",
                                                                    "fri"]},
                {"start": "9h", "end": "14h", "count": 3, "days": ["sat"]},
                {"start": "22h", "end": "6h", "count": 2, "days": ["fri"]},
                {"start": "12h", "end": "20h", "count": 1}]},
            "counts": {"skills": ["calls"], "count": 4, "staffing_by_weekday": {
                "sun": 0, "sat": [0] * 10 + [2] * 6 + [0] * 8}},
        },
        "routing": {"policy": "fcfs"},
    }
    # By hand from the YAML above: (shifts group) + (counts group).
    expected = {"mon": 6 * 8 + 8 + 4 * 24, "tue": 6 * 8 + 8 + 96, "wed": 6 * 8 + 8 + 96,
                "thu": 6 * 8 + 8 + 96, "fri": 6 * 8 + 2 * 2 + 8 + 96,
                "sat": 3 * 5 + 2 * 6 + 8 + 2 * 6, "sun": 8 + 0}
    result = Simulation(scenario_from_dict(data), "fcfs", by_weekday=True).run()
    for day in WEEKDAYS:
        assert result.by_weekday[day]["agents_logged_in"] * 24 == pytest.approx(
            expected[day], abs=1e-9), day
    # The model's steps say the same, day by day of the run's cycle.
    scenario = scenario_from_dict(data)
    cycles = [group.run_days_on_duty(HOUR, 24, "thu") for group in scenario.agents.values()]
    for index in range(7):
        assert sum(_agent_hours(days[index]) for days in cycles) == pytest.approx(
            expected[weekday_of(index, "thu")], abs=1e-9)


@pytest.mark.slow
def test_erlang_c_holds_on_a_stationary_weekday_of_a_week() -> None:
    # Wednesday has the same rate and agents all day, between a busy Tuesday and a quiet
    # Thursday: its figures are M/M/c's up to the hand-over at midnight (minutes in 24h).
    rate_h, aht, agents = 100.0, 300.0, 11
    data = {
        "name": "erlang-c-wednesday",
        "run": {"duration": "56d", "interval": "1h", "replications": 12, "seed": 2026},
        "contact_types": {"calls": {
            "arrivals": {"rate": f"{rate_h:g}/h", "weekdays": {"tue": 1.2, "thu": 0.5,
                                                              "sat": 0.3, "sun": 0.3}},
            "handle_time": {"dist": "exponential", "mean": f"{aht:g}s"}}},
        "agents": {"pool": {"count": agents, "skills": ["calls"],
                            "staffing_by_weekday": {"tue": 13, "thu": 6}}},
        "routing": {"policy": "fcfs"},
    }
    results = run(scenario_from_dict(data), ["fcfs"], by_weekday=True, jobs=2, progress=False)
    wednesday = results.summary("weekday")["fcfs"]["wed"]
    exact = erlang_c_figures(rate_h / HOUR, aht, agents, 20.0)
    for metric, value in (("p_wait", exact.p_wait), ("service_level", exact.service_level),
                          ("occupancy", exact.occupancy)):
        figure = wednesday[metric]
        assert figure.half_width < 0.05 * figure.mean, metric
        assert figure.low <= value <= figure.high, (metric, figure, value)


def _problems(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data)
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d["run"].update(start_weekday="monday"), "run.start_weekday",
     ["unknown weekday 'monday'", "did you mean 'mon'", "mon, tue, wed, thu, fri, sat, sun"]),
    (lambda d: d["contact_types"]["general"]["arrivals"].update(weekdays={"Sat": 0.5}),
     "contact_types.general.arrivals.weekdays.Sat", ["unknown weekday 'Sat'"]),
    (lambda d: d["contact_types"]["general"]["arrivals"].update(weekdays={"sat": -1}),
     "contact_types.general.arrivals.weekdays.sat", ["negative", "0 or more"]),
    (lambda d: d["contact_types"]["general"]["arrivals"].update(
        rates_by_weekday={"sun": ["1/h"] * 23}),
     "contact_types.general.arrivals.rates_by_weekday.sun", ["has 23 rates", "exactly 24"]),
    (lambda d: d["contact_types"]["general"]["arrivals"].update(
        weekdays={"sun": 0.5}, rates_by_weekday={"sun": ["1/h"] * 24}),
     "contact_types.general.arrivals.rates_by_weekday.sun", ["also given under weekdays"]),
    (lambda d: d["contact_types"]["vip"]["arrivals"].update(
        weekdays={day: 0 for day in WEEKDAYS}),
     "contact_types.vip.arrivals.weekdays", ["every weekday's rates are 0"]),
    (lambda d: d["agents"]["team"]["shifts"][0].update(days=["mon", "funday"]),
     "agents.team.shifts.0.days.1", ["unknown weekday 'funday'"]),
    (lambda d: d["agents"]["team"]["shifts"][0].update(days=["mon", "mon"]),
     "agents.team.shifts.0.days.1", ["mon is given twice"]),
    (lambda d: d["agents"]["team"].update(staffing_by_weekday={"sat": 2}),
     "agents.team.staffing_by_weekday", ["days on each shift"]),
    (lambda d: d["agents"]["desk"].update(staffing_by_weekday={"sat": [1] * 48}),
     "agents.desk.staffing_by_weekday.sat", ["has 48 counts", "exactly 24"]),
    (lambda d: d["agents"]["desk"].update(staffing_by_weekday={"sat": [1, "x"]}),
     "agents.desk.staffing_by_weekday.sat.1", ["'x' is not a whole number",
                                               "one count per interval"]),
    (lambda d: d["agents"]["desk"].update(staffing_by_weekday={"sat": -2}),
     "agents.desk.staffing_by_weekday.sat", ["-2 is negative"]),
], ids=["start", "key", "factor", "length", "both", "silent-week", "day", "twice", "shifts",
        "counts", "count-type", "negative"])
def test_weekday_mistakes_name_the_field_and_what_is_allowed(
        change: Any, field: str, words: list[str]) -> None:
    data = _week()
    change(data)
    problems = _problems(data)
    assert f" {field}: " in problems, problems
    for word in words:
        assert word in problems, (word, problems)


def test_weekday_keys_on_a_replayed_trace_are_refused(tmp_path: Any) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("arrival_s\n10\n20\n")
    data = _week()
    data["contact_types"]["vip"]["arrivals"] = {"trace": str(trace), "weekdays": {"sat": 2}}
    problems = _problems(data)
    assert " contact_types.vip.arrivals.weekdays: " in problems
    assert "a trace replays its recorded arrival times" in problems


def test_by_weekday_on_the_command_line_prints_and_writes_the_weekdays(
        capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    from sim.cli import main

    path = tmp_path / "week.json"
    code = main(["run", str(BANK_WEEK), "--replications", "2", "--by", "weekday",
                 "--json", str(path)])
    out = capsys.readouterr().out
    assert code == 0 and "fcfs by weekday" in out
    document = json.loads(path.read_text())
    days = document["by_weekday"]["fcfs"]
    assert list(days) == list(WEEKDAYS)
    assert days["sun"]["offered"]["mean"] == 0 and days["mon"]["offered"]["mean"] > 0


@pytest.mark.parametrize("command", [
    ["staff", "--target", "service_level>=0.8"],
    ["roster", "--target", "service_level>=0.8", "--shift-lengths", "8h", "--starts-every",
     "1h", "--out", "roster.csv"]])
def test_staff_and_roster_refuse_a_week_they_would_size_as_one_day(
        capsys: pytest.CaptureFixture[str], command: list[str], tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.cli import main

    monkeypatch.chdir(tmp_path)
    code = main([command[0], str(BANK_WEEK), *command[1:]])
    err = capsys.readouterr().err
    assert code == 2
    assert "bank_week: its rates or staffing differ by weekday" in err
    assert "allowed: a scenario without weekday keys" in err


def test_a_roster_replaces_weekday_staffing_too() -> None:
    from sim.analysis.roster import RosterRow, apply_roster
    from sim.limits import limits_for

    week = _week()
    week["agents"]["desk"]["staffing_by_weekday"] = {"sun": 0}
    rows = [RosterRow("desk-1", "desk", 8 * HOUR, 16 * HOUR, 0)]
    rostered = apply_roster(scenario_from_dict(week), rows, "roster.csv", limits_for(False))
    desk = rostered.agents["desk"]
    assert desk.staffing_by_weekday is None and not desk.by_weekday
    assert desk.on_duty(HOUR, 24) == [(0.0, 0), (8 * HOUR, 1), (16 * HOUR, 0)]


def test_seven_alike_weekdays_with_their_own_rates_are_not_a_constant_rate() -> None:
    # Seven equal weekdays collapse to one day; that day's rates still vary by interval.
    profile = [f"{120 if h < 12 else 0}/h" for h in range(24)]
    data = _one_queue("60/h", "2d", "mon", {"rates_by_weekday": {
        day: profile for day in WEEKDAYS}})
    result = Simulation(scenario_from_dict(data), "fcfs").run()
    assert result.by_interval["00:00"]["arrivals"] > 0
    assert all(result.by_interval[f"{h:02d}:00"]["arrivals"] == 0 for h in range(12, 24))
