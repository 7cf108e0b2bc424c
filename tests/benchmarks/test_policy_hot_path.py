"""Speed of every registered policy's decisions, without SimPy.

Each policy decides on a fixed, realistic state (quickstart's two contact types,
52 agents, 40 waiting contacts). Run with ``make bench`` (pytest-benchmark);
in the normal test run ``--benchmark-disable`` makes each a single call, so
the decisions are still checked for validity.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from policies import make_policy, registered_policies
from sim.scenario import Scenario
from sim.state import WAITING, Agent, Contact, RoutingState



def loaded_state(idle_agents: int, waiting: int) -> tuple[RoutingState, list[Agent], list[Contact]]:
    """A state with ``idle_agents`` idle generalists and ``waiting`` contacts of both types."""
    clock = SimpleNamespace(now=3600.0)
    state = RoutingState(clock, ("general", "vip"), ("general", "vip"))
    agents = []
    for index in range(idle_agents):
        agent = Agent(index, "generalists", 0, ("general", "vip"), 1.0)
        agent.idle, agent.idle_since, agent.idle_serial = True, float(index), 1
        for skill in agent.skills:
            state._idle[skill].append((agent, 1))
        agents.append(agent)
    contacts = []
    for index in range(waiting):
        kind = "vip" if index % 10 == 0 else "general"
        contact = Contact(index, kind, 3000.0 + index, 600.0, 300.0, 30.0, None, True)
        contact.status = WAITING
        state._waiting[kind].append(contact)
        state._waiting_count[kind] += 1
        contacts.append(contact)
    return state, agents, contacts


@pytest.mark.benchmark(group="select_agent")
@pytest.mark.parametrize("name", sorted(registered_policies()))
def test_select_agent_speed(benchmark, name: str, contract_scenario: Scenario) -> None:
    policy = make_policy(name, contract_scenario)
    state, agents, _ = loaded_state(idle_agents=52, waiting=0)
    arriving = Contact(999, "vip", 3600.0, 600.0, 300.0, 30.0, None, True)
    chosen = benchmark(policy.select_agent, arriving, state)
    assert chosen in agents


@pytest.mark.benchmark(group="select_contact")
@pytest.mark.parametrize("name", sorted(registered_policies()))
def test_select_contact_speed(benchmark, name: str, contract_scenario: Scenario) -> None:
    policy = make_policy(name, contract_scenario)
    state, _, contacts = loaded_state(idle_agents=0, waiting=40)
    freed = Agent(500, "generalists", 0, ("general", "vip"), 1.0)
    chosen = benchmark(policy.select_contact, freed, state)
    assert chosen in contacts
