"""The routing-policy contract, checked for every registered policy (new ones included the
moment they register): on loaded synthetic centers and in refereed engine runs.

* Only idle agents with the contact's skill get work; only waiting contacts of one of the
  agent's skills are taken; decisions never change the state.
* No contact is served twice and no agent serves two contacts at once (engine runs).
* A policy that declares ``work_conserving = True`` never leaves a contact waiting while an
  idle agent with its skill is free, neither in one decision nor anywhere in an engine run.
* Decisions are deterministic given the state and the policy's own stream
  (``state.random``); two runs with the same seed write identical traces.
* The engine stops a policy that breaks the rules with a ``PolicyError``.

Every policy class declares ``work_conserving: bool`` (required) and may declare
``decision_cost = "indexed" | "scoring" | "observation"`` (default ``"indexed"``): the speed target that
applies to it in ``tests/benchmarks/policy_guard.py``.

``synthetic_center`` builds a loaded center straight into a ``RoutingState`` (with the
``World`` helper of ``test_policies``); the benchmarks use it at 100 to 10,000 agents.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# isort: off
# ``sim`` must be imported before ``policies`` (see test_policies).
from sim import PolicyError, Simulation, scenario_from_dict
from policies import PolicyParams, make_policy, policy_spec, registered_policies
from policies.fcfs import FcfsPolicy
# isort: on
from conftest import contract_scenario_data
from test_policies import World

from sim.kernel.cells import ReplicationResult
from sim.model.outcomes import Proficiency
from sim.model.scenario import Scenario
from sim.stages.identity import IdentityStage
from sim.stages.mobile import MobileRings
from sim.state import IN_SERVICE, WAITING, Agent, Contact, RoutingState
from sim.kernel.trace import TraceWriter

ALL_POLICIES = sorted(registered_policies())
DECISION_COSTS = ("indexed", "scoring", "observation")

NOW = 9 * 3600.0
"""Clock of synthetic centers: 9:00, inside customers' usual hours."""
HISTORY = 600.0
"""Waiting contacts arrived, and idle agents became idle, in the last HISTORY seconds."""
MAX_AGENT_SKILLS = 6
"""An agent of a synthetic center holds 1 to this many of its group's skills."""


def decision_cost(name: str) -> str:
    """The speed class a policy declares: ``indexed`` (the default) or ``scoring``."""
    return str(getattr(policy_spec(name).factory, "decision_cost", "indexed"))


def work_conserving(name: str) -> bool:
    """Whether a policy declares that it never leaves a contact waiting next to an idle
    agent with its skill."""
    return getattr(policy_spec(name).factory, "work_conserving", None) is True


def build_policy(name: str, scenario: Scenario) -> Any:
    """``make_policy``, failing the test with the policy's name if it cannot be built."""
    try:
        return make_policy(name, scenario)
    except Exception as exc:  # noqa: BLE001 - any failure to build is the finding
        pytest.fail(f"policy {name!r} cannot be built on scenario {scenario.name!r}: "
                    f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------- synthetic centers
def synthetic_scenario(agents: int, skills: int) -> Scenario:
    """The contract scenario with ``skills`` contact types and ``agents`` agents.

    The types added (``skill_02``, ...) copy the contract's first type, and every group
    serves every type (at the level it has for that first type), so any skill subset of
    a group's agents is consistent with the scenario. Each group keeps its share of the
    contract's agents, as a fixed count.
    """
    data = contract_scenario_data()
    types = data["contact_types"]
    if len(types) > skills:
        raise ValueError(f"the contract scenario already has {len(types)} contact types")
    template = next(iter(types))
    for index in range(len(types), skills):
        types[f"skill_{index:02d}"] = copy.deepcopy(types[template])
    for group in data["agents"].values():
        listed = group["skills"]
        if isinstance(listed, dict):
            level = listed.get(template, max(listed.values()))
            group["skills"] = {**{t: level for t in types}, **listed}
        else:
            group["skills"] = [*listed, *(t for t in types if t not in listed)]
    contract = scenario_from_dict(copy.deepcopy(data))
    run = contract.run
    seats = {name: group.seats(run.interval, run.intervals_per_day)
             for name, group in contract.agents.items()}
    for name, count in _apportion(seats, agents).items():
        group = data["agents"][name]
        for key in ("count", "staffing", "shifts"):
            group.pop(key, None)
        group["count"] = count
    data["name"] = f"synthetic-{agents}x{skills}"
    return scenario_from_dict(data)


def _apportion(weights: dict[str, int], total: int) -> dict[str, int]:
    """``total`` split in proportion to ``weights`` (largest remainders), at least 1 each."""
    whole = sum(weights.values())
    exact = {name: max(total * weight / whole, 1.0) for name, weight in weights.items()}
    counts = {name: int(share) for name, share in exact.items()}
    by_remainder = sorted(exact, key=lambda name: counts[name] - exact[name])
    for name in by_remainder[:max(total - sum(counts.values()), 0)]:
        counts[name] += 1
    return counts


@dataclass
class SyntheticCenter:
    """A loaded center in a ``RoutingState``, for decisions without SimPy.

    ``arriving`` contacts are offered through ``select_agent`` (they are not queued);
    ``freed`` agents are busy ones offered through ``select_contact``, as the engine does
    when they finish.
    """

    scenario: Scenario
    world: World
    arriving: list[Contact]
    freed: list[Agent]

    @property
    def state(self) -> RoutingState:
        """The routing state policies decide on."""
        return self.world.state

    def fresh_state(self) -> RoutingState:
        """A copy of ``state`` over the same agents and contacts, for one policy: the
        keyed indexes a policy builds lazily on the state stay out of other policies' way."""
        shared = (self.world.env, *self.world.agents, *self.world.contacts, *self.arriving)
        return copy.deepcopy(self.state, {id(record): record for record in shared})


def synthetic_center(agents: int, skills: int, seed: int = 0, *, idle_share: float = 0.3,
                     waiting_per_agent: float = 0.5, arriving: int = 400,
                     stale: bool = False) -> SyntheticCenter:
    """A center of ``synthetic_scenario(agents, skills)`` in the middle of a busy hour.

    Each agent holds a random subset of its group's skills (1 to ``MAX_AGENT_SKILLS``)
    with random levels on the proficiency scale, and its group's intent levels,
    languages and mobility. ``idle_share`` of the agents are idle and
    ``waiting_per_agent`` contacts per agent wait, of uniformly random types: idle
    agents and waiting contacts of the same skill coexist, so every decision has
    candidates on both sides. Contacts carry callers (customer profile and, with an
    identity block, intent, flags and confidence) drawn by the engine's identity model
    exactly as in a run. With ``stale``, some index entries are no longer valid (agents
    taken through another skill, contacts that abandoned), as the engine leaves them.
    """
    scenario = synthetic_scenario(agents, skills)
    rng = np.random.default_rng(seed)
    # Agent equipment and callers come from the engine's own models, as in a run.
    engine = Simulation(scenario, "fcfs", replication=seed)
    types = tuple(scenario.contact_types)
    world = World(NOW, types, types)
    scale = scenario.proficiency or Proficiency()
    for group_index, (name, group) in enumerate(scenario.agents.items()):
        group_skills = tuple(group.skills)
        for seat in range(group.count or 0):
            size = int(rng.integers(1, min(MAX_AGENT_SKILLS, len(group_skills)) + 1))
            chosen = set(rng.choice(len(group_skills), size, replace=False).tolist())
            own = tuple(s for i, s in enumerate(group_skills) if i in chosen)
            agent = Agent(len(world.agents), name, group_index, own, group.speed, seat=seat)
            engine.quality.equip(agent, group)
            levels = rng.uniform(scale.lowest, scale.highest, size).round(1).tolist()
            agent.levels = {**dict(zip(own, levels)),
                            **{i: agent.levels[i] for i in group.intent_levels}}
            agent.on_duty = True
            world.agents.append(agent)
            world.state._seats[agent.seat] = agent
    idle = rng.choice(len(world.agents), round(idle_share * len(world.agents)), replace=False)
    for since, index in sorted(zip(rng.uniform(NOW - HISTORY, NOW, len(idle)).tolist(),
                                   idle.tolist())):
        world.idle(world.agents[index], since)
    callers = _Callers(engine, scenario)
    waiting = round(waiting_per_agent * len(world.agents))
    for arrival in np.sort(rng.uniform(NOW - HISTORY, NOW, waiting)).tolist():
        callers.attach(world.wait(types[int(rng.integers(len(types)))], arrival))
    offered = []
    for number in range(arriving):
        contact = Contact(waiting + number + 1, types[int(rng.integers(len(types)))], NOW,
                          float("inf"), 300.0, 0.0, None, True)
        offered.append(callers.attach(contact))
    if stale:
        for contact in world.contacts[::7]:
            world.abandon(contact)
        for agent in world.agents[::5]:
            if agent.idle:
                world.take(agent)
    freed = [a for a in world.agents if not a.idle]
    rng.shuffle(freed)  # type: ignore[arg-type]
    return SyntheticCenter(scenario, world, offered, freed)


class _Callers:
    """Callers for synthetic contacts from the engine's identity model (if customers)."""

    def __init__(self, engine: Simulation, scenario: Scenario) -> None:
        identity = engine.stage(IdentityStage)
        self._model = identity.model if identity is not None else None
        self._with_identity = scenario.identity is not None
        self._channels = {name: t.channel for name, t in scenario.contact_types.items()}

    def attach(self, contact: Contact) -> Contact:
        """Give ``contact`` a caller that reaches routing (not self-served or refused in
        the IVR); its customer, and its identity when the scenario has an identity block."""
        if self._model is None:
            return contact
        while True:
            caller = self._model.resolve(contact.type, self._channels[contact.type],
                                         contact.arrival)
            if not (caller.self_service or caller.refused_in_ivr):
                break
        contact.customer = caller.customer
        contact.identity = caller if self._with_identity else None
        return contact


# ------------------------------------------------------------------ decision checks
def check_agent_choice(name: str, contact: Contact, chosen: Any, state: RoutingState) -> None:
    """``chosen`` (from ``select_agent``) is an idle agent with the contact's skill; a
    work-conserving policy chooses someone whenever such an agent exists."""
    if chosen is None:
        if work_conserving(name):
            assert state.longest_idle_agent(contact.type) is None, (
                f"{name} (work-conserving) queued a {contact.type} contact next to an idle "
                "agent with that skill")
        return
    assert isinstance(chosen, Agent), f"{name}.select_agent returned {chosen!r}"
    assert chosen.idle and contact.type in chosen.skills, (
        f"{name}.select_agent returned {chosen!r}: not an idle agent with skill {contact.type}")
    assert any(a is chosen for a in state.idle_agents(contact.type)), (
        f"{name}.select_agent returned {chosen!r}, which is not in the idle index")


def check_contact_choice(name: str, agent: Agent, chosen: Any, state: RoutingState) -> None:
    """``chosen`` (from ``select_contact``) is a waiting contact of one of the agent's
    skills; a work-conserving policy takes one whenever such a contact waits."""
    if chosen is None:
        if work_conserving(name):
            assert all(state.oldest_waiting(s) is None for s in agent.skills), (
                f"{name} (work-conserving) left {agent!r} idle next to a waiting contact "
                "of its skills")
        return
    assert isinstance(chosen, Contact), f"{name}.select_contact returned {chosen!r}"
    assert chosen.status == WAITING and chosen.type in agent.skills, (
        f"{name}.select_contact returned {chosen!r}: not waiting or not a skill of {agent!r}")
    assert any(c is chosen for c in state.waiting(chosen.type)), (
        f"{name}.select_contact returned {chosen!r}, which is not in the waiting index")


def decide_everything(name: str, policy: Any, center: SyntheticCenter) -> list[int | None]:
    """Offer every arriving contact and every freed agent to ``policy``; check each
    decision and return the ids chosen, in order."""
    state = center.state
    chosen_ids: list[int | None] = []
    for contact in center.arriving:
        agent = policy.select_agent(contact, state)
        check_agent_choice(name, contact, agent, state)
        chosen_ids.append(None if agent is None else agent.id)
    for agent in center.freed:
        contact = policy.select_contact(agent, state)
        check_contact_choice(name, agent, contact, state)
        chosen_ids.append(None if contact is None else contact.id)
    return chosen_ids


def _profiles(center: SyntheticCenter) -> Any:
    """Everything a policy could change outside the indexes: agents' levels and profile,
    contacts' customers and callers."""
    def slots(record: Any) -> tuple[Any, ...]:
        if record is None:
            return ()
        values = (getattr(record, name, None) for name in type(record).__slots__)
        return tuple(copy.copy(v) if isinstance(v, (dict, list, set)) else v for v in values)

    contacts = [*center.world.contacts, *center.arriving]
    return ([slots(a) for a in center.world.agents],
            [(slots(c), slots(c.customer), slots(c.identity)) for c in contacts])


# --------------------------------------------------------------- declarations
@pytest.mark.parametrize("name", ALL_POLICIES)
def test_policy_declares_its_contract_class(name: str) -> None:
    factory = policy_spec(name).factory
    assert isinstance(getattr(factory, "work_conserving", None), bool), (
        f"policy {name!r} must declare the class attribute work_conserving = True (never "
        "leaves a contact waiting next to an idle agent with its skill) or False")
    assert decision_cost(name) in DECISION_COSTS, (
        f"policy {name!r}: decision_cost must be one of {DECISION_COSTS}")


# ------------------------------------------------------ decisions on loaded centers
@pytest.mark.parametrize("name", ALL_POLICIES)
def test_decisions_on_loaded_centers_are_valid_pure_and_deterministic(name: str) -> None:
    """Rich states (customers, callers, levels, owners, mobile agents, 10 skills): every
    decision is valid, the state is left as it was, and a fresh policy with a freshly
    seeded ``state.random`` decides exactly the same on the same state."""
    for seed in range(4):
        stale = seed % 2 == 1
        center = synthetic_center(60, 10, seed, arriving=60, stale=stale)
        before = (center.world.logical() if stale else center.world.snapshot(),
                  _profiles(center))
        runs = []
        for _ in range(2):
            center.state.random = np.random.default_rng(seed)
            runs.append(decide_everything(name, build_policy(name, center.scenario), center))
        assert runs[0] == runs[1], f"{name} decided differently on the same state (seed {seed})"
        assert any(i is not None for i in runs[0]), f"{name} never chose anyone (seed {seed})"
        after = (center.world.logical() if stale else center.world.snapshot(), _profiles(center))
        assert after == before, f"{name} changed the routing state (seed {seed})"


def test_synthetic_centers_have_the_requested_shape() -> None:
    center = synthetic_center(200, 10, seed=3, arriving=50)
    agents, state = center.world.agents, center.state
    assert len(agents) == 200 and len(state.contact_types) == 10
    assert sum(a.idle for a in agents) == 60 and len(center.world.contacts) == 100
    assert len(center.arriving) == 50 and len(center.freed) == 140
    assert all(1 <= len(a.skills) <= MAX_AGENT_SKILLS for a in agents)
    assert all(set(a.skills) <= set(a.levels) for a in agents)
    assert len({frozenset(a.skills) for a in agents}) > 20  # random subsets, not groups
    assert {a.group for a in agents} == set(center.scenario.agents)
    assert all(state.agent_at(a.seat) is a for a in agents)
    assert sum(c.customer is not None for c in center.world.contacts) > 50


# --------------------------------------------------------------- engine runs
class Referee:
    """Watches a ``Simulation`` as it runs: every service start, finish, routing and
    freeing, asserting the contract at each (no contact served twice, no agent serving
    two contacts, only idle skilled agents, and for a work-conserving policy no contact
    waiting next to an idle agent of its skill after any decision)."""

    def __init__(self, sim: Simulation, work_conserving: bool) -> None:
        self.sim = sim
        self.work_conserving = work_conserving
        self.served: set[int] = set()
        self.serving: dict[int, int] = {}
        self.queued = self.idled = 0
        self.freeing: Agent | None = None
        # The kernel's steps are instance attributes: its own calls come here.
        start, finish = sim.start_service, sim._on_finish
        route, free = sim.route, sim.on_free
        mobile = sim.stage(MobileRings)
        answer = mobile.serve if mobile is not None else None

        def start_service(agent: Agent, contact: Contact, now: float, ring: bool = True) -> None:
            assert contact.id not in self.served, f"{contact!r} served twice"
            assert contact.type in agent.skill_set, (agent, contact)
            if not ring:  # a mobile agent answers the contact its phone rang for
                assert agent.contact is contact, (agent, contact)
            elif agent is not self.freeing:  # else: the agent finishing gets the contact
                assert agent.idle, f"{contact!r} goes to {agent!r}, who is not idle"
            if ring:
                start(agent, contact, now)
            else:
                answer(agent, contact, now)  # type: ignore[misc]
            if contact.status == IN_SERVICE:
                assert agent.id not in self.serving, (
                    f"{agent!r} starts {contact!r} while serving {self.serving.get(agent.id)}")
                self.served.add(contact.id)
                self.serving[agent.id] = contact.id

        def on_finish(contact: Contact) -> None:
            assert self.serving.pop(contact.agent.id) == contact.id  # type: ignore[union-attr]
            finish(contact)

        def route_contact(contact: Contact, now: float) -> None:
            route(contact, now)
            self.queued += contact.status == WAITING
            self._check_conserving()

        def agent_free(agent: Agent, now: float) -> None:
            self.freeing = agent
            free(agent, now)
            self.freeing = None
            self.idled += agent.idle
            self._check_conserving()

        sim.start_service = start_service  # type: ignore[method-assign]
        sim._on_finish = on_finish  # type: ignore[method-assign]
        sim.route = route_contact  # type: ignore[method-assign]
        sim.on_free = agent_free  # type: ignore[method-assign]
        if mobile is not None:
            mobile.serve = lambda agent, contact, now: start_service(agent, contact, now, False)

    def _check_conserving(self) -> None:
        if not self.work_conserving:
            return
        state = self.sim.state
        for skill in state.skills:
            if skill in state.contact_types and state.oldest_waiting(skill) is not None:
                assert state.longest_idle_agent(skill) is None, (
                    f"{self.sim.policy_name} (work-conserving) leaves a {skill} contact "
                    f"waiting next to an idle agent at t={state.now:.1f}")


def _engine_data(arrivals: int, seed: int) -> dict[str, Any]:
    data = contract_scenario_data()
    data["run"] = {"arrivals": arrivals, "seed": seed}
    return data


def _run(data: dict[str, Any], policy: Any, trace: Path | None = None,
         referee: Callable[[Simulation], object] | None = None) -> ReplicationResult:
    scenario = scenario_from_dict(copy.deepcopy(data))
    if trace is None:
        sim = Simulation(scenario, policy, 0)
        if referee is not None:
            referee(sim)
        return sim.run()
    with TraceWriter(trace) as writer:
        return Simulation(scenario, policy, 0, trace=writer).run()


@pytest.mark.parametrize("name", ALL_POLICIES)
def test_engine_run_keeps_the_contract(name: str) -> None:
    referees: list[Referee] = []
    result = _run(_engine_data(2000, 5), name,
                  referee=lambda sim: referees.append(Referee(sim, work_conserving(name))))
    referee = referees[0]
    assert not referee.serving, "agents still serving after the run drained"
    assert len(referee.served) == result.overall["answered"]
    # The run had both moments the contract is about.
    assert referee.queued > 100 and referee.idled > 100, (referee.queued, referee.idled)


@pytest.mark.parametrize("name", ALL_POLICIES)
def test_same_seed_same_trace(name: str, tmp_path: Path) -> None:
    paths = [tmp_path / f"{label}.csv" for label in ("first", "again", "other_seed")]
    for path, seed in zip(paths, (8, 8, 9)):
        _run(_engine_data(800, seed), name, trace=path)
    first, again, other = (p.read_text() for p in paths)
    assert first.count("\n") > 800
    assert first == again, f"{name}: two runs with seed 8 wrote different traces"
    assert first != other  # the comparison can see a difference


# ----------------------------------------------------------- broken policies
class _Broken(FcfsPolicy):
    """fcfs with one deliberate flaw; the engine must stop it with a ``PolicyError``."""

    name = "broken"
    method = ""
    """The method whose decision the engine rejects."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(PolicyParams(), scenario)
        self.last_agent: Any = None
        self.last_contact: Any = None


class _BusyAgent(_Broken):
    """Offers an arriving contact to the agent it chose last, once that agent is busy."""

    method = "select_agent"

    def select_agent(self, contact: Any, state: RoutingState) -> Any:
        last = self.last_agent
        if last is not None and not last.idle and contact.type in last.skills:
            return last
        self.last_agent = super().select_agent(contact, state)
        return self.last_agent


class _UnskilledAgent(_Broken):
    """Gives a contact to an idle agent without its skill."""

    method = "select_agent"

    def select_agent(self, contact: Any, state: RoutingState) -> Any:
        for skill in state.skills:
            for agent in state.idle_agents(skill):
                if contact.type not in agent.skills:
                    return agent
        return super().select_agent(contact, state)


class _ServedContact(_Broken):
    """Gives a freed agent the contact it handed out last, once in service."""

    method = "select_contact"

    def select_contact(self, agent: Any, state: RoutingState) -> Any:
        last = self.last_contact
        if last is not None and last.status != WAITING and last.type in agent.skills:
            return last
        self.last_contact = super().select_contact(agent, state)
        return self.last_contact


class _ForeignContact(_Broken):
    """Gives a freed agent a waiting contact of a type it has no skill for."""

    method = "select_contact"

    def select_contact(self, agent: Any, state: RoutingState) -> Any:
        for contact_type in state.contact_types:
            contact = state.oldest_waiting(contact_type)
            if contact is not None and contact_type not in agent.skills:
                return contact
        return super().select_contact(agent, state)


class _BusyAgentOnRecheck(_Broken):
    """Asks to re-offer waiting contacts, then offers them to a busy agent."""

    method = "select_agent"

    def recheck_after(self, contact: Any, state: RoutingState) -> float:
        return 5.0

    def select_agent(self, contact: Any, state: RoutingState) -> Any:
        if contact.status == WAITING:  # a re-offer: the contact is in the queue
            return next(_busy(state, contact.type), None)
        return super().select_agent(contact, state)


def _busy(state: RoutingState, skill: str) -> Iterable[Agent]:
    """Agents with ``skill`` that are on duty but not idle (the engine's seat register)."""
    return (a for a in state._seats.values() if a.on_duty and not a.idle and skill in a.skills)


@pytest.mark.parametrize("broken", [_BusyAgent, _UnskilledAgent, _ServedContact,
                                    _ForeignContact, _BusyAgentOnRecheck],
                         ids=lambda cls: cls.__name__.strip("_"))
def test_engine_rejects_a_policy_that_breaks_the_rules(broken: type[_Broken]) -> None:
    data = _engine_data(3000, 4)
    # Agents without the vip skill, so that a decision can ignore skills.
    data["agents"]["general_only"] = {"count": 4, "skills": ["general"]}
    with pytest.raises(PolicyError) as error:
        _run(data, broken(scenario_from_dict(copy.deepcopy(data))))
    assert f"broken.{broken.method} returned" in str(error.value)
