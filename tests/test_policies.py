"""Routing policies: the registry contract for every registered policy, and unit tests
of fcfs and priority on hand-made ``RoutingState``s (no SimPy).

The helpers below fill a ``RoutingState`` the way the engine does: an agent that
becomes idle gets a new ``idle_serial`` and an ``(agent, serial)`` entry appended
to the idle deque of each of its skills (agents free up in time order); a contact
that queues gets status WAITING, is appended to its type's deque and counted.
"""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# isort: off
# ``sim`` must be imported before ``policies``: importing ``policies`` first is a circular
# import error (see test_policies_package_imports_on_its_own).
from sim import ScenarioError, Simulation, run, scenario_from_dict
from policies import (
    PolicyConfigError,
    UnknownPolicyError,
    make_policy,
    policy_spec,
    registered_policies,
)
# isort: on
from conftest import contract_scenario_data
from sim.state import ABANDONED, IN_SERVICE, WAITING, Agent, Contact, RoutingState

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = contract_scenario_data()
ALL_POLICIES = sorted(registered_policies())
TYPES = ("general", "vip")


class FakeEnv:
    """Just the clock a policy may read through ``state.now``."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now


class World:
    """A RoutingState plus the agents and contacts behind it, filled as the engine does."""

    def __init__(self, now: float = 0.0, types: tuple[str, ...] = TYPES,
                 skills: tuple[str, ...] = TYPES) -> None:
        self.env = FakeEnv(now)
        self.state = RoutingState(self.env, types, skills)
        self.agents: list[Agent] = []
        self.contacts: list[Contact] = []

    def agent(self, skills: tuple[str, ...], group: str = "g", speed: float = 1.0) -> Agent:
        agent = Agent(len(self.agents), group, 0, skills, speed)
        agent.on_duty = True
        self.agents.append(agent)
        return agent

    def idle(self, agent: Agent, since: float) -> Agent:
        agent.idle = True
        agent.idle_since = since
        agent.idle_serial += 1
        for skill in agent.skills:
            self.state._idle[skill].append((agent, agent.idle_serial))
        return agent

    def take(self, agent: Agent) -> None:
        """The agent starts a contact (its idle entries go stale)."""
        agent.idle = False

    def wait(self, type_: str, arrival: float, work: float = 300.0) -> Contact:
        contact = Contact(len(self.contacts) + 1, type_, arrival, float("inf"), work, 0.0,
                          None, True)
        contact.status = WAITING
        self.state._waiting[type_].append(contact)
        self.state._waiting_count[type_] += 1
        self.contacts.append(contact)
        return contact

    def abandon(self, contact: Contact) -> None:
        contact.status = ABANDONED
        self.state._waiting_count[contact.type] -= 1

    def arriving(self, type_: str) -> Contact:
        """A contact that has just arrived and is not queued yet."""
        return Contact(10_000 + len(self.contacts), type_, self.env.now, float("inf"), 300.0,
                       0.0, None, True)

    def snapshot(self) -> Any:
        """Everything a policy could change, including the raw index deques."""
        state = self.state
        return (
            {s: [(a.id, serial) for a, serial in q] for s, q in state._idle.items()},
            {t: [c.id for c in q] for t, q in state._waiting.items()},
            dict(state._waiting_count),
            [(a.id, a.idle, a.idle_since, a.idle_serial, a.on_duty, a.contact, a.skills)
             for a in self.agents],
            [(c.id, c.status, c.arrival, c.work, c.agent) for c in self.contacts],
            self.env.now,
        )

    def logical(self) -> Any:
        """The state as policies see it (stale index entries may be dropped lazily)."""
        state = self.state
        return (
            {s: [a.id for a in state.idle_agents(s)] for s in state.skills},
            {t: [c.id for c in state.waiting(t)] for t in state.contact_types},
            {t: state.waiting_count(t) for t in state.contact_types},
            [(a.id, a.idle, a.idle_since, a.idle_serial) for a in self.agents],
            [(c.id, c.status) for c in self.contacts],
        )


def _scenario(data: dict[str, Any] | None = None) -> Any:
    return scenario_from_dict(copy.deepcopy(data or QUICKSTART))


def _priority(classes: dict[str, Any]) -> Any:
    data = copy.deepcopy(QUICKSTART)
    data["routing"] = {"policy": "priority", "priority": {"classes": classes}}
    return make_policy("priority", scenario_from_dict(data))


def _random_world(seed: int, stale: bool) -> World:
    """A random loaded state; with ``stale``, some index entries are no longer valid."""
    rng = random.Random(seed)
    now = 1000.0
    world = World(now)
    skill_sets = [("general",), ("vip",), ("general", "vip"), ("vip", "general")]
    agents = [world.agent(rng.choice(skill_sets)) for _ in range(rng.randint(0, 6))]
    times = sorted(rng.uniform(0, now) for _ in agents)
    for agent, since in zip(rng.sample(agents, len(agents)), times):
        if rng.random() < 0.6:
            world.idle(agent, since)
    if stale:
        for agent in agents:
            if agent.idle and rng.random() < 0.3:
                world.take(agent)
    for arrival in sorted(rng.uniform(0, now) for _ in range(rng.randint(0, 8))):
        contact = world.wait(rng.choice(TYPES), arrival)
        if stale and rng.random() < 0.3:
            world.abandon(contact)
    return world


# ---------------------------------------------------------------------- registry contract
def test_registry_holds_the_shipped_policies() -> None:
    assert {"fcfs", "priority"} <= set(ALL_POLICIES)
    for name, spec in registered_policies().items():
        assert spec.name == name
        assert spec.summary, f"policy {name} needs a docstring summary"


@pytest.mark.parametrize("name", ALL_POLICIES)
def test_policy_builds_on_quickstart(name: str) -> None:
    scenario = _scenario()
    policy = policy_spec(name).build(scenario.routing.params_for(name), scenario)
    assert type(policy).name == name
    assert callable(policy.select_agent) and callable(policy.select_contact)
    assert make_policy(name, scenario) is not policy  # a fresh instance per run


@pytest.mark.parametrize("name", ALL_POLICIES)
def test_policy_on_empty_state_returns_none(name: str) -> None:
    policy = make_policy(name, _scenario())
    world = World(50.0)
    agent = world.agent(TYPES)
    for type_ in TYPES:
        assert policy.select_agent(world.arriving(type_), world.state) is None
    assert policy.select_contact(agent, world.state) is None
    # Idle agents without the skill, or waiting contacts of another type, do not count.
    world.idle(world.agent(("general",)), 10.0)
    assert policy.select_agent(world.arriving("vip"), world.state) is None
    world.wait("general", 20.0)
    assert policy.select_contact(world.agent(("vip",)), world.state) is None
    # Stale entries only: nobody is really idle or waiting.
    world = World(50.0)
    world.take(world.idle(world.agent(TYPES), 1.0))
    world.abandon(world.wait("vip", 2.0))
    assert policy.select_agent(world.arriving("vip"), world.state) is None
    assert policy.select_contact(world.agent(TYPES), world.state) is None


@pytest.mark.parametrize("stale", [False, True], ids=["clean", "stale"])
@pytest.mark.parametrize("name", ALL_POLICIES)
def test_policy_decisions_are_valid_pure_and_deterministic(name: str, stale: bool) -> None:
    scenario = _scenario()
    first, second = make_policy(name, scenario), make_policy(name, scenario)
    for seed in range(60):
        world, twin = _random_world(seed, stale), _random_world(seed, stale)
        before = world.snapshot() if not stale else world.logical()
        for type_ in TYPES:
            contact = world.arriving(type_)
            agent = first.select_agent(contact, world.state)
            twin_agent = second.select_agent(twin.arriving(type_), twin.state)
            if agent is not None:
                assert agent in world.agents and agent.idle, (seed, agent)  # type: ignore[comparison-overlap]
                assert type_ in agent.skills, (seed, agent)
            else:
                assert not any(a.idle and type_ in a.skills for a in world.agents) or \
                    name not in ("fcfs", "priority"), (seed, type_)
            assert (agent.id if agent else None) == (twin_agent.id if twin_agent else None)
        for index, agent in enumerate(world.agents):
            chosen = first.select_contact(agent, world.state)
            twin_chosen = second.select_contact(twin.agents[index], twin.state)
            if chosen is not None:
                assert chosen in world.contacts, seed  # type: ignore[comparison-overlap]
                assert chosen.status == WAITING and chosen.type in agent.skills, (seed, chosen)  # type: ignore[attr-defined]
            elif name in ("fcfs", "priority"):  # both are work-conserving
                assert not any(c.status == WAITING and c.type in agent.skills
                               for c in world.contacts), seed
            assert (chosen.id if chosen else None) == (twin_chosen.id if twin_chosen else None)
        after = world.snapshot() if not stale else world.logical()
        assert after == before, f"{name} changed the routing state (seed {seed})"


@pytest.mark.parametrize("name", ALL_POLICIES)
def test_policy_runs_in_the_engine(name: str) -> None:
    """The engine rejects invalid decisions (PolicyError); a short drained run must pass."""
    data = copy.deepcopy(QUICKSTART)
    data["run"] = {"arrivals": 1500, "seed": 3}
    result = Simulation(_scenario(data), name, 0).run()
    assert result.policy == name
    assert result.overall["answered"] + result.overall["abandoned"] == 1500


def test_unknown_policy_name_lists_known_ones() -> None:
    with pytest.raises(UnknownPolicyError) as error:
        policy_spec("lifo")
    for known in ALL_POLICIES:
        assert known in str(error.value)
    assert "lifo" in str(error.value)
    with pytest.raises(UnknownPolicyError):
        make_policy("lifo", _scenario())
    with pytest.raises((UnknownPolicyError, ValueError)) as error:
        run(_scenario(), ["fcfs", "lifo"], progress=False)
    assert all(known in str(error.value) for known in ALL_POLICIES)


def test_unknown_policy_in_scenario_lists_known_ones() -> None:
    data = copy.deepcopy(QUICKSTART)
    data["routing"]["policy"] = "lifo"
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    text = str(error.value)
    assert "routing.policy" in text and "lifo" in text
    assert all(known in text for known in ALL_POLICIES)


def test_priority_parameters_are_checked() -> None:
    data = copy.deepcopy(QUICKSTART)
    data["routing"]["priority"]["classes"]["email"] = {"priority": 2}
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert "email" in str(error.value) and "general" in str(error.value)
    data = copy.deepcopy(QUICKSTART)
    data["routing"]["priority"]["speed"] = 2
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert "classes" in str(error.value)
    with pytest.raises(PolicyConfigError):
        policy_spec("priority").parse_params({"classes": {"nope": {}}}, _scenario())


# ----------------------------------------------------------------------------------- fcfs
def test_fcfs_gives_an_arrival_to_the_longest_idle_skilled_agent() -> None:
    policy = make_policy("fcfs", _scenario())
    world = World(100.0)
    vip_only = world.idle(world.agent(("vip",)), 1.0)
    first = world.idle(world.agent(("general", "vip")), 2.0)
    second = world.idle(world.agent(("general",)), 3.0)
    assert policy.select_agent(world.arriving("general"), world.state) is first
    assert policy.select_agent(world.arriving("vip"), world.state) is vip_only
    world.take(first)  # taken through its vip skill: the general index entry goes stale
    assert policy.select_agent(world.arriving("general"), world.state) is second
    world.idle(first, 50.0)  # idle again, now the most recently idle
    assert policy.select_agent(world.arriving("general"), world.state) is second
    world.take(second)
    assert policy.select_agent(world.arriving("general"), world.state) is first


def test_fcfs_gives_a_free_agent_the_oldest_contact_across_its_skills() -> None:
    policy = make_policy("fcfs", _scenario())
    world = World(100.0)
    general_10 = world.wait("general", 10.0)
    world.wait("general", 20.0)
    vip_5 = world.wait("vip", 5.0)
    vip_30 = world.wait("vip", 30.0)
    both = world.agent(("general", "vip"))
    assert policy.select_contact(both, world.state) is vip_5
    assert policy.select_contact(world.agent(("vip", "general")), world.state) is vip_5
    assert policy.select_contact(world.agent(("general",)), world.state) is general_10
    world.abandon(vip_5)
    assert policy.select_contact(both, world.state) is general_10
    assert policy.select_contact(world.agent(("vip",)), world.state) is vip_30


# ------------------------------------------------------------------------------- priority
def test_priority_serves_the_higher_priority_class_first() -> None:
    policy = _priority({"vip": {"priority": 1}, "general": {"priority": 0}})
    world = World(500.0)
    general = world.wait("general", 0.0)
    vip = world.wait("vip", 400.0)
    for skills in (("general", "vip"), ("vip", "general")):
        assert policy.select_contact(world.agent(skills), world.state) is vip
    assert policy.select_contact(world.agent(("general",)), world.state) is general
    world.abandon(vip)
    assert policy.select_contact(world.agent(("vip", "general")), world.state) is general


def test_priority_equal_priorities_fall_back_to_arrival_order() -> None:
    policy = _priority({})
    world = World(500.0)
    general = world.wait("general", 10.0)
    world.wait("vip", 20.0)
    assert policy.select_contact(world.agent(("vip", "general")), world.state) is general


def test_priority_head_start_counts_as_arriving_earlier() -> None:
    """vip with a 90 s head start and equal priority: a vip that arrived at 100 s ranks as
    if it arrived at 10 s, so it beats a general caller from 20 s but not one from 9 s."""
    policy = _priority({"vip": {"priority": 0, "head_start": "90s"}})
    both = ("general", "vip")
    world = World(200.0)
    world.wait("general", 20.0)
    vip = world.wait("vip", 100.0)
    assert policy.select_contact(world.agent(both), world.state) is vip
    world = World(200.0)
    general = world.wait("general", 9.0)
    world.wait("vip", 100.0)
    assert policy.select_contact(world.agent(both), world.state) is general
    # The same with aging on both classes: the head start adds 90 s of waiting.
    policy = _priority({"vip": {"head_start": "90s", "aging": "1/min"},
                        "general": {"aging": "1/min"}})
    world = World(200.0)
    world.wait("general", 20.0)
    vip = world.wait("vip", 100.0)
    assert policy.select_contact(world.agent(both), world.state) is vip


def test_priority_head_start_does_not_beat_a_higher_priority() -> None:
    policy = _priority({"vip": {"priority": 0, "head_start": "1h"}, "general": {"priority": 1}})
    world = World(100.0)
    general = world.wait("general", 99.0)
    world.wait("vip", 0.0)
    assert policy.select_contact(world.agent(("vip", "general")), world.state) is general


def test_priority_aging_lets_a_long_waiting_low_class_overtake() -> None:
    """quickstart's classes: vip priority 1 (head start 90 s), general priority 0 aging 1/h.
    A general caller's score 0 + (wait / 1 h) passes the vip's 1 after an hour."""
    policy = make_policy("priority", _scenario())
    agent_skills = ("vip", "general")
    world = World(3500.0)
    world.wait("general", 0.0)  # waited 3500 s: score 0.97
    vip = world.wait("vip", 3400.0)
    assert policy.select_contact(world.agent(agent_skills), world.state) is vip
    world.env.now = 3700.0  # waited 3700 s: score 1.03 > 1
    assert policy.select_contact(world.agent(agent_skills), world.state).type == "general"
    # Without aging a general caller never overtakes.
    flat = _priority({"vip": {"priority": 1}, "general": {"priority": 0}})
    world.env.now = 1e6
    assert flat.select_contact(world.agent(agent_skills), world.state) is vip


def test_priority_within_a_class_serves_the_oldest_first() -> None:
    policy = make_policy("priority", _scenario())
    world = World(1000.0)
    first = world.wait("general", 10.0)
    world.wait("general", 20.0)
    assert policy.select_contact(world.agent(("general",)), world.state) is first
    world.abandon(first)
    assert policy.select_contact(world.agent(("general",)), world.state).arrival == 20.0


def test_priority_gives_an_arrival_to_the_longest_idle_skilled_agent() -> None:
    policy = make_policy("priority", _scenario())
    world = World(100.0)
    world.idle(world.agent(("vip",)), 1.0)
    longest = world.idle(world.agent(("general", "vip")), 2.0)
    world.idle(world.agent(("general",)), 3.0)
    assert policy.select_agent(world.arriving("general"), world.state) is longest


def test_in_service_contacts_are_never_offered() -> None:
    for name in ALL_POLICIES:
        policy = make_policy(name, _scenario())
        world = World(100.0)
        busy = world.wait("vip", 1.0)
        busy.status = IN_SERVICE
        world.state._waiting_count["vip"] -= 1
        waiting = world.wait("vip", 2.0)
        assert policy.select_contact(world.agent(TYPES), world.state) is waiting, name


def test_policies_package_imports_on_its_own() -> None:
    done = subprocess.run([sys.executable, "-c", "import policies; policies.registered_policies()"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]
