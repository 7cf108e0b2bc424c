"""Routing workflows configured in YAML: per contact filter, ordered steps of targets that
widen as a contact waits (Twilio TaskRouter workflows, Amazon Connect routing profiles and
proficiency steps, Genesys bullseye routing), with the orderings of real ACDs."""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from sim.model.fields import Duration, Number

from .base import PolicyConfigError, PolicyParams, register_policy
from .expressions import Attribute, Compiled, ExpressionError, compile_expression, names_in
from .orderings import ALL_IDLE, ORDERING_HELP, TALLIED, AgentTally, Ordering, canonical
from .priority import PriorityClass
from .skills import Levels

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState

INDEXED = frozenset({"longest_idle", "best_skill"})
"""Orderings an index of idle agents keeps (no scan per decision)."""


class _Everything:
    """An agent's languages when it lists none: it speaks every language."""

    def __contains__(self, item: object) -> bool:
        return True


_EVERY_LANGUAGE = _Everything()


def _tier(contact: ContactView, _: Any) -> str | None:
    return contact.customer.tier if contact.customer is not None else None


def _customer(field: str) -> Compiled:
    def read(contact: ContactView, _: Any) -> Any:
        customer = contact.customer
        return getattr(customer, field) if customer is not None else None
    return read


def _caller(field: str) -> Compiled:
    def read(contact: ContactView, _: Any) -> Any:
        caller = contact.identity
        return getattr(caller, field) if caller is not None else None
    return read


CONTACT_ATTRIBUTES: dict[str, Attribute] = {
    "type": Attribute("text", lambda contact, _: contact.type, "the contact type"),
    "tier": Attribute("text", _tier, "the customer's tier (none for unknown callers)"),
    "language": Attribute("text", _customer("language"), "the customer's language"),
    "dialect": Attribute("text", _customer("dialect"), "the customer's dialect"),
    "value": Attribute("number", _customer("value"), "the customer's value"),
    "churn_risk": Attribute("number", _customer("churn_risk"), "the customer's churn risk"),
    "intent": Attribute("text", _caller("intent"), "the caller's intent (identity block)"),
    "risk": Attribute("text", _caller("risk"), "the intent's risk: low, medium or high"),
    "confidence": Attribute("number", _caller("confidence"), "identification confidence"),
    "identified": Attribute("flag", lambda contact, _: contact.identity is not None
                            and contact.identity.identified, "the caller was identified"),
    "repeat": Attribute("flag", lambda contact, _: contact.repeat, "a repeat contact"),
    "retrial": Attribute("flag", lambda contact, _: contact.retrial, "a retry after abandoning"),
    "callback": Attribute("flag", lambda contact, _: contact.callback, "waits for a call back"),
}
"""Names a filter (``when``) may use: fixed while the contact waits."""

AGENT_ATTRIBUTES: dict[str, Attribute] = {
    "group": Attribute("text", lambda agent, _: agent.group, "the agent's group"),
    "name": Attribute("text", lambda agent, _: agent.name, "the agent's name or roster id"),
    "level": Attribute("number", lambda _, level: level, "the agent's level for the contact "
                       "(its intent if the agent lists one, else its type)"),
    "languages": Attribute("set", lambda agent, _: agent.languages or _EVERY_LANGUAGE,
                           "languages spoken (an agent listing none speaks every one)"),
    "dialects": Attribute("set", lambda agent, _: agent.dialects, "dialects spoken"),
    "skills": Attribute("set", lambda agent, _: agent.skills, "contact types it serves"),
    "mobile": Attribute("flag", lambda agent, _: agent.mobile, "reached on a mobile phone"),
}
"""Names a step's ``targets`` may use: fixed while the agent is idle."""


class Step(PolicyParams):
    """One step of a filter: who may take the contact from when the step opens."""

    targets: str | None = Field(
        default=None, description="Expression over agent attributes (group, name, level, "
        "languages, dialects, skills, mobile), e.g. \"group == 'vip_desk'\" or \"level >= 8\"; "
        "absent: every agent with the contact's skill. Agents of earlier steps stay eligible "
        "and come first.")
    timeout: Duration | None = Field(
        default=None, ge=0, description="Wait at this step before the next opens (0s: at "
        "once, for a preference without waiting); required on every step but the last.")
    priority: Number = Field(
        default=0.0, description="The contact's priority for the agents this step adds: a "
        "freed agent takes the contact of the highest such priority first (Connect's queue "
        "priority in a routing profile).")
    order_by: Ordering = Field(
        default="longest_idle", description="Which idle agent of the step takes the contact: "
        + ORDERING_HELP + ".")


class Filter(PriorityClass):
    """Contacts matching ``when`` and the steps that route them; ``priority``,
    ``head_start`` and ``aging`` rank them in the queue as the priority policy's classes."""

    name: str | None = Field(default=None, description="A label for error messages and docs.")
    when: str | None = Field(
        default=None, description="Expression over contact attributes (type, tier, language, "
        "dialect, value, churn_risk, intent, risk, confidence, identified, repeat, retrial, "
        "callback), e.g. \"tier == 'vip'\"; absent: every contact (then it must be the last "
        "filter).")
    steps: tuple[Step, ...] = Field(
        default_factory=lambda: (Step(),), min_length=1,
        description="Tried in order: each opens when the previous one's timeout has passed.")


class WorkflowParams(PolicyParams):
    """Parameters of the ``workflow`` policy."""

    filters: tuple[Filter, ...] = Field(
        default=(), description="The first filter a contact matches routes it; contacts "
        "matching none go to the longest-idle agent with the skill (as fcfs).")
    pick: Literal["oldest", "best_skill"] = Field(
        default="oldest", description="Among contacts of equal step and queue priority, what "
        "a freed agent takes: the oldest (earliest arrival minus head start), or the one it "
        "has its highest level for (then the oldest).")
    order: tuple[str, ...] = Field(
        default=(), description="Agent groups in the order linear and round_robin go through "
        "them (agents by seat within a group); absent groups follow in scenario order.")

    def check_against(self, scenario: Scenario) -> None:
        """Every expression compiles against the scenario's names; timeouts are where a next
        step needs them; only the last filter may match every contact."""
        for group in self.order:
            if group not in scenario.agents:
                raise PolicyConfigError(("order",), (
                    f"unknown agent group {group!r}; allowed: {', '.join(scenario.agents)}"))
        for index, flow in enumerate(self.filters):
            where = ("filters", index)
            label = f"filter {flow.name or index + 1}"
            if flow.when is None and index < len(self.filters) - 1:
                raise PolicyConfigError(where + ("when",), (
                    f"{label} has no 'when', so it takes every contact and filters after it "
                    "never match; allowed: a 'when' expression, or move it last"))
            _compiled(flow.when, CONTACT_ATTRIBUTES, contact_values(scenario), where + ("when",),
                      label)
            for number, step in enumerate(flow.steps):
                at = where + ("steps", number)
                step_label = f"{label}, step {number + 1}"
                _compiled(step.targets, AGENT_ATTRIBUTES, agent_values(scenario),
                          at + ("targets",), step_label)
                last = number == len(flow.steps) - 1
                if step.timeout is None and not last:
                    raise PolicyConfigError(at + ("timeout",), (
                        f"{step_label} has no timeout, so step {number + 2} never opens; "
                        "allowed: a wait such as 30s (0s: at once)"))
                if step.timeout is not None and last:
                    raise PolicyConfigError(at + ("timeout",), (
                        f"{step_label} is the last step: no step follows its timeout; allowed: "
                        "no timeout on the last step"))


def contact_values(scenario: Scenario) -> dict[str, Collection[str]]:
    """The values the scenario gives contact attributes (literals are checked against them)."""
    customers, identity = scenario.customers, scenario.identity
    dialects = {d for shares in (customers.dialects.values() if customers else ()) for d in shares}
    return {"type": set(scenario.contact_types),
            "tier": set(customers.tiers) if customers else set(),
            "language": set(customers.languages) if customers else set(),
            "dialect": dialects,
            "intent": set(identity.intents) if identity else set(),
            "risk": {"low", "medium", "high"}}


def agent_values(scenario: Scenario) -> dict[str, Collection[str]]:
    """The values the scenario gives agent attributes."""
    return {"group": set(scenario.agents), "skills": set(scenario.contact_types)}


def _compiled(text: str | None, names: dict[str, Attribute], known: dict[str, Collection[str]],
              where: tuple[str | int, ...], label: str) -> Compiled | None:
    """``text`` compiled, or None when absent; a mistake names the label and the token."""
    if text is None:
        return None
    try:
        return compile_expression(text, names, known)
    except ExpressionError as exc:
        raise PolicyConfigError(where, f"{label}: {exc} (in {text!r})") from None


class _Flow:
    """One filter, compiled: its condition, steps and queue class."""

    def __init__(self, spec: Filter, scenario: Scenario) -> None:
        self.when = _compiled(spec.when, CONTACT_ATTRIBUTES, {}, (), "")
        self.targets = tuple(_compiled(step.targets, AGENT_ATTRIBUTES, {}, (), "")
                             for step in spec.steps)
        self.orderings = tuple(canonical(step.order_by) for step in spec.steps)
        self.priorities = tuple(step.priority for step in spec.steps)
        opens, after = [], 0.0
        for step in spec.steps:
            opens.append(after)
            after += step.timeout or 0.0
        self.opens = tuple(opens)
        """Wait at which each step opens (the sum of the earlier timeouts)."""
        self.steps = len(spec.steps)
        self.priority, self.head_start, self.aging = spec.priority, spec.head_start, spec.aging
        self.plain = (self.steps == 1 and self.targets[0] is None
                      and self.orderings[0] == "longest_idle")
        """Every agent with the skill, longest idle first: the skill's own idle queue."""
        self.scans = any(ordering not in INDEXED for ordering in self.orderings)
        self.uses_level = any(ordering == "best_skill" for ordering in self.orderings) or any(
            "level" in names_in(step.targets) for step in spec.steps if step.targets)
        self.levels = Levels(scenario, self.order)
        self._memo: dict[tuple[int, str, float], tuple[int, float]] = {}

    def order(self, contact_type: str, agent: AgentView, level: float) -> tuple[int, float]:
        """``(step, key)``: the first step whose targets hold the agent (``steps`` if none),
        then -level where that step orders by best skill. Memoised: an agent's group,
        levels and languages stay fixed."""
        memo_key = (agent.id, contact_type, level)
        rank = self._memo.get(memo_key)
        if rank is None:
            step = next((number for number, targets in enumerate(self.targets)
                         if targets is None or targets(agent, level)), self.steps)
            best = step < self.steps and self.orderings[step] == "best_skill"
            rank = self._memo[memo_key] = (step, -level if best else 0.0)
        return rank

    def open_steps(self, contact: ContactView, state: RoutingState) -> int:
        """How many steps have opened for ``contact``."""
        count, opens = 0, self.opens
        while count < len(opens) and state.has_waited(contact, opens[count]):
            count += 1
        return count


@register_policy("workflow", WorkflowParams)
class WorkflowPolicy:
    """Per-filter steps of targets that widen while a contact waits (TaskRouter, Connect, Genesys).

    The first filter whose ``when`` a contact matches routes it. Its steps open in
    turn: step k once the contact has waited the timeouts of the steps before it. An
    agent belongs to the first step whose ``targets`` it matches (for the contact's
    type and intent); agents of opened steps may take the contact, those of the
    earliest step first, chosen by that step's ``order_by``. A recheck is due when the
    next step opens. A freed agent takes, among the oldest waiting contact of each
    filter and intent whose step for it has opened, the one of the highest step
    priority, then queue score (priority + aging x (wait + head start)), then (``pick``)
    the earliest effective arrival or the agent's best level. Filters and targets are
    compiled once; longest_idle and best_skill read an index of idle agents per step
    (no scan), the other orderings scan the idle agents with the skill, as an ACD does.
    """

    work_conserving = False  # a contact waits for its step to open

    def __init__(self, params: WorkflowParams, scenario: Scenario) -> None:
        self._flows = tuple(_Flow(spec, scenario) for spec in params.filters)
        self._fallback = _Flow(Filter(), scenario)
        self._best_skill = params.pick == "best_skill"
        self._bucket_key = self._bucket  # one object: the waiting index is kept per function
        only = self._flows[0] if len(self._flows) == 1 else self._fallback
        self._single: tuple[_Flow, None] | None = None
        """The one bucket of every waiting contact, when all go to one flow whose agents'
        levels do not depend on the intent."""
        if (not self._flows or (len(self._flows) == 1 and only.when is None)) and not (
                only.uses_level and only.levels.intents):
            self._single = (only, None)
        self._tally = AgentTally(list(scenario.agents), params.order)
        orderings = {o for flow in self._flows for o in flow.orderings}
        self._counting = bool(orderings & {"fewest_contacts", "round_robin"})
        # Optional hooks only where they work: the engine installs the feedback stage for
        # policies that have them, and a plain configuration should not pay for it.
        if any(opens > 0 for flow in self._flows for opens in flow.opens):
            self.recheck_after = self._next_step
        if orderings & TALLIED:
            self.observe = self._add_talk

    def _flow(self, contact: ContactView) -> _Flow:
        for flow in self._flows:
            if flow.when is None or flow.when(contact, None):
                return flow
        return self._fallback

    def _bucket(self, contact: ContactView) -> Hashable:
        """Where a waiting contact is filed: its filter and, where levels matter, the
        intent that decides them (fixed while it waits; the oldest of a bucket has waited
        longest, so no younger one is eligible where it is not)."""
        flow = self._flow(contact)
        return flow, flow.levels.context(contact) if flow.uses_level else None

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        flow = self._flow(contact)
        if flow.plain:
            chosen = state.longest_idle_agent(contact.type)
        else:
            contact_type = contact.type
            context = flow.levels.context(contact) if flow.uses_level else None
            ranking = flow.levels.ranking(contact_type, context)
            opened = flow.open_steps(contact, state)
            if not flow.scans:
                chosen = state.best_idle(contact_type, ranking, below=(opened,))
            else:
                able = [agent for agent in state.first_idle_agents(contact_type, ALL_IDLE)
                        if ranking(agent)[0] < opened]
                if not able:
                    return None
                lowest = min(ranking(agent)[0] for agent in able)
                chosen = self._tally.pick(
                    flow.orderings[lowest], able, state, lambda agent: ranking(agent)[0],
                    lambda agent: flow.levels.of(agent, contact_type, context))
        if chosen is not None and self._counting:
            self._tally.gave(chosen)
        return chosen

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        now = state.now
        best: ContactView | None = None
        best_rank: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        single = self._single
        for contact_type in agent.open:
            if single is not None:
                # One bucket per type: the type's own queue, no keyed index to keep.
                head = state.oldest_waiting(contact_type)
                heads = [(single, head)] if head is not None else []
            else:
                heads = state.oldest_waiting_each(contact_type, self._bucket_key)
            for (flow, context), contact in heads:
                level = flow.levels.of(agent, contact_type, context)
                step = flow.order(contact_type, agent, level)[0]
                # Step 0 opens on arrival; later ones once the contact has waited for them.
                if step == flow.steps or step and not state.has_waited(contact, flow.opens[step]):
                    continue
                effective = contact.arrival - flow.head_start
                rank = (-flow.priorities[step], -level if self._best_skill else 0.0,
                        -(flow.priority + flow.aging * (now - effective)), effective)
                if best is None or rank < best_rank:
                    best, best_rank = contact, rank
        if best is not None and self._counting:
            self._tally.gave(agent)
        return best

    def _next_step(self, contact: ContactView, state: RoutingState) -> float | None:
        """Until the next step opens for ``contact``; None after the last."""
        flow = self._flow(contact)
        opened = flow.open_steps(contact, state)
        if opened == flow.steps:
            return None
        return flow.opens[opened] - (state.now - contact.arrival)

    def _add_talk(self, contact: ContactView, agent: AgentView, handle_time: float,
                  state: RoutingState) -> None:
        self._tally.add_talk(agent, handle_time, state.now)

