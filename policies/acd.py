"""The agent-selection strategies of real ACDs: Asterisk ``app_queue`` and FreeSWITCH
``mod_callcenter``, with member penalties that widen while a contact waits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from sim.model.fields import Duration, Int, OptionalInt

from .base import PolicyConfigError, PolicyParams, register_policy
from .orderings import ALL_IDLE, AgentTally, canonical

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState

Strategy = Literal["leastrecent", "fewestcalls", "least_talk_time", "random", "ringall",
                   "wrandom", "linear", "rrmemory"]


class PenaltyStep(PolicyParams):
    """From ``after`` of waiting on, agents with a penalty up to ``max_penalty`` may take
    the contact (Asterisk's penalty rules, ``QUEUE_MAX_PENALTY``)."""

    after: Duration = Field(gt=0, description="Wait from which the step applies.")
    max_penalty: Int = Field(ge=0, description="Highest penalty allowed from then on.")


class AcdParams(PolicyParams):
    """Parameters of the ``acd`` policy."""

    strategy: Strategy = Field(
        default="leastrecent",
        description="Which able agent an arriving contact goes to, among those of the lowest "
        "penalty: leastrecent (idle longest), fewestcalls (fewest contacts taken in the run), "
        "least_talk_time (least handle time so far), random, ringall (every able agent "
        "rings; with no ring time for seated agents, a random one answers), wrandom "
        "(random, weighted 1 / (1 + penalty) over every allowed penalty), linear (always "
        "the first in order), rrmemory (round robin: the next in order after the last one "
        "given a contact).")
    penalties: dict[str, Int] = Field(
        default_factory=dict, description="Penalty per agent group (0 when unlisted): lower "
        "penalties take contacts first; a higher one only when none lower is free.")
    max_penalty: OptionalInt = Field(
        default=None, ge=0, description="Highest penalty that may take a contact when it "
        "arrives; absent: any.")
    raise_penalty: tuple[PenaltyStep, ...] = Field(
        default=(), description="Steps that raise max_penalty as a contact waits, in order.")
    order: tuple[str, ...] = Field(
        default=(), description="Agent groups in the order linear and rrmemory go through "
        "them (agents by seat within a group); absent groups follow in scenario order.")

    def check_against(self, scenario: Scenario) -> None:
        """Groups exist; steps come later and allow more each time."""
        for field in ("penalties", "order"):
            for group in getattr(self, field):
                if group not in scenario.agents:
                    raise PolicyConfigError((field, group), (
                        f"unknown agent group {group!r}; allowed: {', '.join(scenario.agents)}"))
        if self.raise_penalty and self.max_penalty is None:
            raise PolicyConfigError(("raise_penalty",), (
                "raises a max_penalty that is not set (every penalty may already take the "
                "contact); allowed: with max_penalty, e.g. max_penalty: 0"))
        previous_after, previous_max = 0.0, self.max_penalty or 0
        for index, step in enumerate(self.raise_penalty):
            if step.after <= previous_after:
                raise PolicyConfigError(("raise_penalty", index, "after"), (
                    f"{step.after:g}s is not after the previous step's {previous_after:g}s; "
                    "allowed: steps in increasing order of after"))
            if step.max_penalty <= previous_max:
                raise PolicyConfigError(("raise_penalty", index, "max_penalty"), (
                    f"{step.max_penalty} does not raise {previous_max}; allowed: a higher "
                    "max_penalty at each step"))
            previous_after, previous_max = step.after, step.max_penalty
        if self.max_penalty is None:
            return
        for name in scenario.contact_types:
            serving = {group: self.penalties.get(group, 0)
                       for group, spec in scenario.agents.items() if name in spec.skills}
            if serving and min(serving.values()) > previous_max:
                raise PolicyConfigError(("max_penalty",), (
                    f"{previous_max} at most, ever: no group serving {name!r} "
                    f"({', '.join(serving)}) has a penalty that low, so its contacts would "
                    f"never be answered; allowed: a max_penalty (or a last raise_penalty "
                    f"step) of {min(serving.values())} or more"))


@register_policy("acd", AcdParams)
class AcdPolicy:
    """Queue strategies of real ACDs (Asterisk app_queue, FreeSWITCH mod_callcenter) with member penalties.

    An arriving contact may go to idle agents whose group's penalty is at most its
    ``max_penalty`` (raised by ``raise_penalty`` as it waits; a recheck is due at each
    step); among them those of the lowest penalty take it first, and ``strategy`` picks
    one. A freed agent takes the oldest waiting contact whose allowed penalty reaches its
    own (queues stay first come, first served, as in both ACDs). With no penalties,
    ``leastrecent`` is ``fcfs``. ``leastrecent`` reads an index of idle agents by penalty;
    the other strategies scan the idle agents with the skill, as the ACDs do.
    """

    work_conserving = False  # a contact waits while only agents above its max penalty idle
    decision_cost = "scoring"

    def __init__(self, params: AcdParams, scenario: Scenario) -> None:
        self._strategy = canonical(params.strategy)
        self._penalty = dict(params.penalties)
        """Penalty per group; unlisted groups have 0."""
        self._start = params.max_penalty
        self._steps = tuple((step.after, step.max_penalty) for step in params.raise_penalty)
        self._rank = self._penalty_of  # one object: best_idle keeps its index per function
        self._tally = AgentTally(list(scenario.agents), params.order)
        # Optional hooks only where they work: the engine installs the feedback stage for
        # policies that have them, and a plain configuration should not pay for it.
        if self._steps:
            self.recheck_after = self._next_step
        if self._strategy == "least_talk_time":
            self.observe = self._add_talk

    # ------------------------------------------------------------------ penalties
    def _allowed(self, contact: ContactView, state: RoutingState) -> float:
        """The highest penalty that may take ``contact`` now (infinite: any)."""
        allowed = self._start
        if allowed is None:
            return float("inf")
        for after, max_penalty in self._steps:
            if not state.has_waited(contact, after):
                break
            allowed = max_penalty
        return allowed

    def _next_step(self, contact: ContactView, state: RoutingState) -> float | None:
        """Seconds until the next step raises the contact's max penalty; None after the last."""
        waited = state.now - contact.arrival
        for after, _ in self._steps:
            if not state.has_waited(contact, after):
                return after - waited
        return None

    def _add_talk(self, contact: ContactView, agent: AgentView, handle_time: float,
                  state: RoutingState) -> None:
        self._tally.add_talk(agent, handle_time, state.now)

    # ------------------------------------------------------------------ decisions
    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        allowed = self._allowed(contact, state)
        if self._strategy == "longest_idle":
            # The idle index by penalty: O(1) per decision, no scan.
            chosen = state.best_idle(contact.type, self._rank, below=allowed + 0.5)
            if chosen is None:
                return None
        else:
            penalty = self._penalty
            able = state.first_idle_agents(contact.type, ALL_IDLE)
            if penalty:
                able = [agent for agent in able if penalty.get(agent.group, 0) <= allowed]
            if not able:
                return None
            chosen = self._tally.pick(self._strategy, able, state, self._penalty_of)
        self._tally.gave(chosen)
        return chosen

    def _penalty_of(self, agent: AgentView) -> int:
        """An agent's penalty: the rank of the idle index that ``leastrecent`` reads."""
        return self._penalty.get(agent.group, 0)

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        own = self._penalty.get(agent.group, 0)
        best: ContactView | None = None
        for skill in agent.open:
            # The oldest contact of a type has waited longest: if its max penalty does not
            # reach this agent's penalty yet, no younger one's does.
            oldest = state.oldest_waiting(skill)
            if oldest is not None and own <= self._allowed(oldest, state) and (
                    best is None or oldest.arrival < best.arrival):
                best = oldest
        if best is not None:
            self._tally.gave(agent)
        return best
