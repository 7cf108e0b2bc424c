"""Shrinkage (issue 15, item 1): breaks, meetings, absenteeism and aux time.

* With absenteeism p and breaks of total length D in a run of length T, every present agent
  is on the phones T - D: productive time is scheduled x (1 - s) with s = 1 - (1 - p)(1 - D/T),
  exactly (N - A)(T - D) per replication with A ~ Binomial(N, p);
* a group of N agents with absenteeism p has N(1 - p) present on average (binomial variance);
* a break never cuts a contact short, even when every agent is busy when it falls due;
* meetings take their count of agents off the phones for the block, aux time takes its
  renewal share;
* the keys are validated with errors naming the field and what is allowed; a scenario
  without them installs no stage and reports no shrinkage figures; the new streams
  leave every existing draw where it was.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from test_invariants import DutyLog, RecordingTrace, check_never_preempted

from sim import ScenarioError, Simulation, scenario_from_dict
from sim.stages.shrinkage import Shrinkage

Z = 3.29
"""Two-sided 99.9% normal quantile: the tolerance of the statistical checks, in standard
errors (seeds are fixed, so each check passes or fails the same way every run)."""


def _scenario(group: dict[str, Any], *, rate: str = "60/h", duration: str = "8h",
              replications: int = 1, aht: str = "4min") -> dict[str, Any]:
    return {
        "name": "shrinkage", "run": {"duration": duration, "seed": 7,
                                     "replications": replications},
        "contact_types": {"calls": {"arrivals": {"rate": rate},
                                    "handle_time": {"dist": "exponential", "mean": aht},
                                    "patience": {"dist": "exponential", "mean": "5min"}}},
        "agents": {"team": {"skills": ["calls"], **group}},
        "routing": {"policy": "fcfs"},
    }


def _runs(data: dict[str, Any]) -> list[Any]:
    scenario = scenario_from_dict(data)
    return [Simulation(scenario, "fcfs", r).run() for r in range(scenario.run.replications)]


# ------------------------------------------------------------------- theory
def test_productive_hours_are_scheduled_times_one_minus_shrinkage() -> None:
    """N = 20 agents for 8 h, absenteeism 10%, breaks of 15 + 30 min: each present agent
    loses exactly 45 min, so productive = (N - A)(8 h - 45 min) with A whole, and the mean
    productive share over replications is (1 - p)(1 - 45/480) within the binomial error."""
    n, p, replications = 20, 0.10, 60
    breaks = [{"duration": "15min", "window": ["2h", "3h"]},
              {"duration": "30min", "window": ["4h", "5h"], "name": "lunch"}]
    results = _runs(_scenario({"count": n, "absenteeism": p, "breaks": breaks},
                              rate="200/h", replications=replications))
    on_phones = 8.0 - 0.75
    shares = []
    for result in results:
        f = result.overall
        assert f["scheduled_agent_hours"] == pytest.approx(n * 8.0, rel=1e-12)
        present = f["productive_agent_hours"] / on_phones
        assert present == pytest.approx(round(present), abs=1e-6), "a break was cut short"
        assert f["break_adherence"] > 0.5  # they are taken, mostly within the window
        shares.append(1.0 - f["shrinkage"])
    expected = (1 - p) * (1 - 0.75 / 8.0)
    error = (1 - 0.75 / 8.0) * math.sqrt(p * (1 - p) / n / replications)
    assert abs(sum(shares) / replications - expected) <= Z * error, (
        sum(shares) / replications, expected, error)


@pytest.mark.parametrize("staff", [
    {"count": 50},
    {"shifts": [{"start": "0h", "end": "12h", "count": 30},
                {"start": "12h", "end": "24h", "count": 20}]},
], ids=["count", "shifts"])
def test_absent_agents_are_binomial(staff: dict[str, Any]) -> None:
    """Absenteeism 20% drawn per agent and shift, over 10 days x 8 replications: the mean
    agents on the phones is the scheduled mean x 0.8, within Z binomial standard errors
    (each shift-day draws its agents independently)."""
    p, days, replications = 0.2, 10, 8
    results = _runs(_scenario({**staff, "absenteeism": p}, rate="6/h",
                              duration=f"{24 * days}h", replications=replications))
    counts = ([50] if "count" in staff else [30, 20])
    scheduled_mean = sum(counts) / len(counts) if "shifts" in staff else counts[0]
    # The mean over the run of agents present: each shift-day contributes its share of time.
    draws = days * replications
    variance = sum(c * p * (1 - p) for c in counts) / len(counts) ** 2 / draws
    present = [r.overall["agents_logged_in"] for r in results]
    mean = sum(present) / replications
    assert abs(mean - scheduled_mean * (1 - p)) <= Z * math.sqrt(variance), (mean, variance)
    for result in results:
        assert result.overall["shrinkage"] == pytest.approx(
            1 - result.overall["agents_logged_in"] / scheduled_mean, rel=1e-9)


# ----------------------------------------------------------------- breaks
def test_breaks_never_cut_a_contact_short() -> None:
    """At occupancy near 100% most agents are busy when their break falls due: each goes
    when its contact ends (late, past the window), and no contact is served while its agent
    is away (the duty log also fails on a log-off holding a contact)."""
    data = _scenario({"count": 10, "breaks": [{"duration": "10min", "window": ["1h", "1h"]},
                                               {"duration": "20min", "window": ["2h", "2.5h"]}]},
                     rate="160/h", duration="4h", aht="4min")
    scenario = scenario_from_dict(data)
    with tempfile.TemporaryDirectory() as folder:
        with RecordingTrace(Path(folder) / "trace.csv") as trace:
            sim = Simulation(scenario, "fcfs", 0, trace=trace)
            duty = DutyLog(sim)
            result = sim.run()
    check_never_preempted(trace.rows, duty)
    periods = duty.periods_away()
    assert sum(len(spans) for spans in periods.values()) == 20  # every agent, both breaks
    lengths = sorted(round(back - went) for spans in periods.values() for went, back in spans)
    assert lengths == [600] * 10 + [1200] * 10
    f = result.overall
    assert f["break_lateness_s"] > 0 and f["break_adherence"] < 1  # late: they were busy
    # The break at exactly 1h: started when the contact ended, so the lateness is a
    # residual handle time (exponential, mean 4 min), not more.
    assert f["break_lateness_s"] < 600


def test_breaks_are_spread_over_their_window() -> None:
    """With nobody calling, agents go at their planned starts: spread evenly over the
    window, each on time, and the group is short by one agent at a time."""
    data = _scenario({"count": 4, "breaks": [{"duration": "15min", "window": ["1h", "2h"]}]},
                     rate="0.001/h", duration="3h")
    scenario = scenario_from_dict(data)
    sim = Simulation(scenario, "fcfs", 0)
    duty = DutyLog(sim)
    result = sim.run()
    starts = sorted(went for spans in duty.periods_away().values() for went, _ in spans)
    assert starts == pytest.approx([3600 + 3600 * (k + 0.5) / 4 for k in range(4)])
    assert result.overall["break_adherence"] == 1.0
    assert result.overall["break_lateness_s"] == 0.0


# ---------------------------------------------------------- meetings and aux
@pytest.mark.parametrize("size", [{"count": 3}, {"share": "25%"}], ids=["count", "share"])
def test_a_meeting_takes_its_agents_off_for_the_block(size: dict[str, Any]) -> None:
    """12 idle agents, a 1 h meeting of 3 (or 25%): 3 agent-hours off the phones."""
    data = _scenario({"count": 12, "meetings": [{"start": "2h", "duration": "1h", **size}]},
                     rate="0.001/h", duration="4h")
    f = _runs(data)[0].overall
    assert f["scheduled_agent_hours"] == pytest.approx(48.0)
    assert f["productive_agent_hours"] == pytest.approx(45.0)
    assert math.isnan(f["break_adherence"])


def test_aux_time_takes_its_renewal_share() -> None:
    """Aux episodes at rate r per agent-hour on the phones, each d = 6 min (constant), idle
    agents going at once: each agent alternates Exp(r) on the phones and d away, so the
    share on the phones is 1 / (1 + r d) (within Z standard errors over replications)."""
    replications = 20
    data = _scenario({"count": 10, "aux": {"rate": "2/h",
                                           "duration": {"dist": "constant", "value": "6min"}}},
                     rate="0.001/h", duration="24h", replications=replications)
    shares = [1 - r.overall["shrinkage"] for r in _runs(data)]
    mean = sum(shares) / replications
    sd = math.sqrt(sum((s - mean) ** 2 for s in shares) / (replications - 1))
    assert abs(mean - 1 / (1 + 2 * 0.1)) <= Z * sd / math.sqrt(replications), (mean, sd)


# -------------------------------------------------------- figures and contracts
def test_figures_by_group_and_interval() -> None:
    data = _scenario({"count": 5, "breaks": [{"duration": "30min", "window": ["1h", "1h"]}]},
                     rate="0.001/h", duration="2h")
    data["run"]["interval"] = "1h"
    data["agents"]["spare"] = {"skills": ["calls"], "count": 2}
    result = _runs(data)[0]
    assert result.by_group["team"]["scheduled_agent_hours"] == pytest.approx(10.0)
    assert result.by_group["team"]["productive_agent_hours"] == pytest.approx(7.5)
    assert result.by_group["spare"]["shrinkage"] == 0.0
    assert result.by_interval["01:00"]["scheduled_agent_hours"] == pytest.approx(7.0)
    assert result.by_interval["01:00"]["productive_agent_hours"] == pytest.approx(4.5)
    assert result.by_group_interval["team"]["00:00"]["shrinkage"] == 0.0
    assert result.by_group_interval["team"]["01:00"]["shrinkage"] == pytest.approx(0.5)
    assert result.overall["shrinkage"] == pytest.approx(2.5 / 14.0)


def test_a_plain_scenario_has_no_stage_and_no_figures() -> None:
    data = _scenario({"count": 5})
    sim = Simulation(scenario_from_dict(data), "fcfs", 0)
    assert sim.stage(Shrinkage) is None
    assert "shrinkage" not in sim.run().overall


def test_shrinkage_draws_move_no_other_draw() -> None:
    """Arrivals, patience and handle times come from their own streams: the same contacts
    arrive with or without absence and aux time (common random numbers)."""
    plain = _scenario({"count": 8}, rate="100/h")
    shrunk = copy.deepcopy(plain)
    shrunk["agents"]["team"] |= {"absenteeism": 0.3, "aux": {
        "rate": "3/h", "duration": {"dist": "exponential", "mean": "4min"}}}
    assert _runs(plain)[0].overall["arrivals"] == _runs(shrunk)[0].overall["arrivals"]
    assert _runs(shrunk)[0].overall == _runs(shrunk)[0].overall  # deterministic


@pytest.mark.parametrize("group, field, allowed", [
    ({"count": 2, "breaks": [{"duration": "15min", "window": ["3h", "2h"]}]},
     "agents.team.breaks.0.window.1", "earliest <= latest"),
    ({"shifts": [{"start": "8h", "end": "12h", "count": 2}],
      "breaks": [{"duration": "30min", "window": ["3h", "4h"]}]},
     "agents.team.breaks.0.window", "latest start + duration <= 4h"),
    ({"count": 2, "breaks": [{"duration": "0s", "window": ["1h", "2h"]}]},
     "agents.team.breaks.0.duration", "allowed"),
    ({"count": 2, "absenteeism": 1.5}, "agents.team.absenteeism", "1 or less"),
    ({"count": 2, "meetings": [{"start": "1h", "duration": "1h"}]},
     "agents.team.meetings.0", "exactly one of count"),
    ({"count": 2, "meetings": [{"start": "1h", "duration": "1h", "count": 1, "share": 0.5}]},
     "agents.team.meetings.0.share", "exactly one of count"),
    ({"count": 2, "aux": {"rate": "0/h", "duration": {"dist": "constant", "value": "1min"}}},
     "agents.team.aux.rate", "greater than 0/h"),
    ({"count": 2, "aux": {"rate": "1/h"}}, "agents.team.aux.duration", "required"),
], ids=["window-order", "window-past-shift", "zero-break", "absenteeism", "meeting-size",
        "meeting-both", "aux-rate", "aux-duration"])
def test_bad_shrinkage_values_name_the_field(group: dict[str, Any], field: str,
                                             allowed: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(_scenario(group))
    message = str(caught.value)
    assert f"{field}:" in message and allowed in message, message


def test_the_documented_example_validates_and_the_schema_has_the_keys() -> None:
    """docs/scenarios.md §7b's group, and ``ccsim schema``'s agent group properties."""
    from sim.model.scenario import scenario_json_schema

    group = {"shifts": [{"start": "8h", "end": "16h", "count": 20},
                        {"start": "12h", "end": "20h", "count": 10},
                        {"start": "18h", "end": "22h", "count": 6,
                         "breaks": [{"duration": "10min", "window": ["2h", "2h"]}]}],
             "breaks": [{"duration": "15min", "window": ["2h", "3h"]},
                        {"duration": "30min", "window": ["4h", "5h"], "name": "lunch"}],
             "meetings": [{"start": "10h", "duration": "1h", "count": 2}],
             "absenteeism": "8%",
             "aux": {"rate": "1/h", "duration": {"dist": "exponential", "mean": "3min"}}}
    assert scenario_from_dict(_scenario(group)).agents["team"].absenteeism == 0.08
    schema = json.loads(scenario_json_schema())
    properties = schema["$defs"]["AgentGroup"]["properties"]
    assert {"breaks", "meetings", "absenteeism", "aux"} <= set(properties)


def test_a_shift_may_have_its_own_breaks() -> None:
    """Two idle 4-agent shifts: the morning one takes the group's 30 min break, the
    afternoon one its own 10 min; a shift's breaks must fit that shift."""
    group = {"shifts": [{"start": "0h", "end": "4h", "count": 4},
                        {"start": "4h", "end": "6h", "count": 4,
                         "breaks": [{"duration": "10min", "window": ["1h", "1h"]}]}],
             "breaks": [{"duration": "30min", "window": ["1h", "3h"]}]}
    f = _runs(_scenario(group, rate="0.001/h", duration="6h"))[0].overall
    assert f["scheduled_agent_hours"] == pytest.approx(24.0)
    assert f["productive_agent_hours"] == pytest.approx(24.0 - 4 * 0.5 - 4 * 10 / 60)
    group["shifts"][1]["breaks"] = [{"duration": "1.5h", "window": ["1h", "1h"]}]
    with pytest.raises(ScenarioError, match=r"agents\.team\.shifts\.1\.breaks\.0\.window: .*"
                                            r"ends after the 2h shift; allowed"):
        scenario_from_dict(_scenario(group))
