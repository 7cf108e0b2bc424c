"""The ``acd`` policy: queue strategies of Asterisk app_queue and FreeSWITCH mod_callcenter
with member penalties that widen as a contact waits.

With identical agents, which able agent takes a contact cannot change any wait: every
strategy must give fcfs's waits exactly (a check that none leaves a contact waiting next
to an able agent, or draws from a customer's stream); they differ in who works.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

import sim
from sim.errors import ScenarioError

# Few replications are the point of these runs (equality, not estimates).
pytestmark = pytest.mark.filterwarnings("ignore::sim.errors.FewReplicationsWarning")

STRATEGIES = ("leastrecent", "fewestcalls", "least_talk_time", "random", "ringall",
              "wrandom", "linear", "rrmemory")
CENTER: dict[str, Any] = {
    "name": "acd",
    "run": {"duration": "4h", "replications": 1, "seed": 5, "interval": "1h"},
    "contact_types": {"calls": {"arrivals": {"rate": "150/h"},
                                "handle_time": {"dist": "exponential", "mean": "4min"},
                                "patience": {"dist": "exponential", "mean": "5min"}}},
    "agents": {"first": {"count": 6, "skills": ["calls"]},
               "second": {"count": 6, "skills": ["calls"]}},
    "routing": {"policy": "fcfs"},
}


def center(**acd: Any) -> sim.Scenario:
    data = copy.deepcopy(CENTER)
    data["routing"]["acd"] = acd
    return sim.scenario_from_dict(data)


def contacts(scenario: sim.Scenario, policy: str = "acd") -> list[dict[str, Any]]:
    rows = sim.run(scenario, [policy], contacts=True, progress=False).contacts
    assert rows is not None
    return rows


def taken_per_agent(rows: list[dict[str, Any]]) -> Counter[int]:
    return Counter(row["agent_id"] for row in rows if row["outcome"] == "answered")


def test_leastrecent_without_penalties_is_fcfs() -> None:
    scenario = center()
    fcfs = sim.Simulation(scenario, "fcfs", 0).run()
    acd = sim.Simulation(scenario, "acd", 0).run()
    assert acd.overall == fcfs.overall and acd.by_group == fcfs.by_group


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_with_identical_agents_every_strategy_has_fcfs_waits(strategy: str) -> None:
    scenario = center(strategy=strategy)
    fcfs = sim.Simulation(scenario, "fcfs", 0).run().overall
    acd = sim.Simulation(scenario, "acd", 0).run().overall
    for metric in ("answered", "abandoned", "service_level", "asa_s", "mean_wait_s"):
        assert acd[metric] == fcfs[metric], metric


def test_fewestcalls_and_rrmemory_spread_contacts_linear_piles_them_on_the_first() -> None:
    spread = {}
    for strategy in ("fewestcalls", "rrmemory", "linear", "leastrecent"):
        taken = taken_per_agent(contacts(center(strategy=strategy)))
        spread[strategy] = max(taken.values()) - min(taken.values())
        if strategy == "linear":  # the first agents in order take the most
            ordered = [taken[agent] for agent in sorted(taken)]
            assert ordered[0] > ordered[-1] * 1.5
    # Freed agents take the oldest contact whatever their count (queues stay first come,
    # first served): the strategy evens out only what arrivals with agents idle decide.
    assert spread["fewestcalls"] <= spread["leastrecent"] / 2
    assert spread["rrmemory"] < spread["leastrecent"]
    assert spread["linear"] > 2 * spread["leastrecent"]


def test_least_talk_time_evens_out_agents_handle_time() -> None:
    def talk_spread(strategy: str) -> float:
        talk: Counter[int] = Counter()
        for row in contacts(center(strategy=strategy)):
            if row["outcome"] == "answered":
                talk[row["agent_id"]] += row["handle_s"]
        return (max(talk.values()) - min(talk.values())) / (sum(talk.values()) / len(talk))

    assert talk_spread("least_talk_time") < talk_spread("fewestcalls") < talk_spread("linear")


def test_a_higher_penalty_takes_contacts_only_once_the_max_penalty_reaches_it() -> None:
    never = sim.Simulation(center(penalties={"second": 1}, max_penalty=0), "acd", 0).run()
    assert never.by_group["second"]["handled"] == 0
    widened = center(penalties={"second": 1}, max_penalty=0,
                     raise_penalty=[{"after": "20s", "max_penalty": 1}])
    rows = contacts(widened)
    by_second = [row for row in rows if row["outcome"] == "answered"
                 and row["agent_group"] == "second"]
    assert len(by_second) > 20
    assert min(row["wait_s"] for row in by_second) >= 20.0 - 1e-6
    # At 20 s the recheck gives a waiting contact to an idle second agent at once.
    assert sum(abs(row["wait_s"] - 20.0) < 1e-6 for row in by_second) > 5


def test_lower_penalties_take_contacts_first() -> None:
    """Any penalty may take a contact (no max_penalty), but the lower one first: the
    second group works only when every agent of the first is busy."""
    lower_first = sim.Simulation(center(penalties={"second": 1}), "acd", 0).run().by_group
    even = sim.Simulation(center(), "acd", 0).run().by_group
    assert lower_first["first"]["handled"] > even["first"]["handled"]
    assert lower_first["second"]["handled"] < even["second"]["handled"]


@pytest.mark.parametrize("acd, message", [
    ({"penalties": {"third": 1}}, "routing.acd.penalties.third: unknown agent group 'third'"),
    ({"order": ["third"]}, "routing.acd.order.third: unknown agent group 'third'"),
    ({"raise_penalty": [{"after": "10s", "max_penalty": 1}]},
     "routing.acd.raise_penalty: raises a max_penalty that is not set"),
    ({"max_penalty": 0, "raise_penalty": [{"after": "20s", "max_penalty": 1},
                                          {"after": "10s", "max_penalty": 2}]},
     "routing.acd.raise_penalty.1.after: 10s is not after the previous step's 20s"),
    ({"max_penalty": 1, "raise_penalty": [{"after": "20s", "max_penalty": 1}]},
     "routing.acd.raise_penalty.0.max_penalty: 1 does not raise 1"),
    ({"strategy": "roundrobin"}, "routing.acd.strategy"),
    ({"penalties": {"first": 2, "second": 3}, "max_penalty": 0,
      "raise_penalty": [{"after": "1min", "max_penalty": 1}]},
     "routing.acd.max_penalty: 1 at most, ever: no group serving 'calls' "),
])
def test_bad_parameters_name_the_field(acd: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        center(**acd)
