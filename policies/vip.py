"""Customer-tier priorities with aging and a head start, and an optional white-glove team
that other agents may relieve only after an overflow timeout."""

from __future__ import annotations

from collections.abc import Hashable
from math import inf
from typing import TYPE_CHECKING

from pydantic import Field

from sim.model.fields import Duration

from .base import PolicyConfigError, PolicyParams, register_policy, skills_only_in, types_lacking
from .priority import PriorityClass

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState


class VipParams(PolicyParams):
    """Parameters of the ``vip`` policy."""

    tiers: dict[str, PriorityClass] = Field(
        default_factory=lambda: {"vip": PriorityClass(priority=1.0)},
        description="Per customer tier: priority, head_start and aging, as in the priority "
        "policy's classes. Default: vip has priority 1, everyone else 0.")
    default: PriorityClass = Field(
        default_factory=PriorityClass,
        description="The class of unknown callers and of tiers not listed.")
    team: str | None = Field(
        default=None, description="Agent group of the white-glove team; absent: no team.")
    team_tiers: tuple[str, ...] = Field(
        default=("vip",), description="Tiers the team serves first and keeps to itself until "
        "overflow_after.")
    overflow_after: Duration | None = Field(
        default=30.0, description="Wait after which agents outside the team may take a "
        "team-tier contact; null: never.")
    team_helps: bool = Field(
        default=True, description="Idle team agents take other contacts when no team-tier "
        "contact waits (an arriving one goes to a team agent only when nobody else is idle).")

    def check_against(self, scenario: Scenario) -> None:
        """Tiers and the team must exist in the scenario."""
        if scenario.customers is None:
            raise PolicyConfigError((), (
                "vip routes on the customer's tier, but the scenario has no customers block; "
                "allowed: add customers (with tiers) to the scenario"))
        known = ", ".join(scenario.customers.tiers)
        for name in self.tiers:
            if name not in scenario.customers.tiers:
                raise PolicyConfigError(("tiers", name), f"unknown tier {name!r}; known: {known}")
        if self.team is None:
            return
        if self.team not in scenario.agents:
            raise PolicyConfigError(("team",), (
                f"unknown agent group {self.team!r}; known: {', '.join(scenario.agents)}"))
        for index, name in enumerate(self.team_tiers):
            if name not in scenario.customers.tiers:
                raise PolicyConfigError(("team_tiers", index),
                                        f"unknown tier {name!r}; known: {known}")
        lacking = types_lacking(scenario, self.team)
        if self.overflow_after is None and lacking:
            raise PolicyConfigError(("overflow_after",), (
                f"null, but {self.team!r} lacks skill {lacking[0]!r}: {lacking[0]!r} contacts of "
                "the team tiers would never be answered; allowed: a wait (e.g. 30s), or a team "
                "with every contact type among its skills"))
        if not self.team_helps:
            only_team = skills_only_in(scenario, self.team)
            if only_team:
                raise PolicyConfigError(("team_helps",), (
                    f"false, but {self.team!r} is the only group with skill {only_team[0]!r}: "
                    "contacts of other tiers would never be answered; allowed: true, or give "
                    f"another group {only_team[0]!r}"))


@register_policy("vip", VipParams)
class VipPolicy:
    """Customer-tier priorities with aging and head start; an optional white-glove team with overflow.

    Score = priority + aging x (wait + head start), by the customer's tier. A
    freed agent takes the waiting contact with the highest score (ties: the
    earliest arrival minus head start); unknown callers and unlisted tiers have
    the ``default`` class. With a ``team``, contacts of ``team_tiers`` go to the
    longest-idle team agent; agents outside the team may take them only once
    they have waited ``overflow_after`` (a recheck at that moment hands one to
    an idle agent). A freed team agent takes team-tier contacts first and, with
    ``team_helps``, others when none waits; other contacts go to the
    longest-idle agent outside the team, and to a team agent only when nobody
    else is idle. Within a tier the oldest contact has the highest score, so
    only the oldest of each tier is scored.
    """

    work_conserving = False  # team-tier contacts wait for the team until overflow_after

    def __init__(self, params: VipParams, scenario: Scenario) -> None:
        self._team = params.team
        self._team_tiers = frozenset(params.team_tiers if params.team is not None else ())
        # Plain tuples (priority, head start, aging per second, kept for the team) per tier
        # and for all others: read per decision.
        default = params.default
        classes = {name: params.tiers.get(name, default)
                   for name in (*params.tiers, *self._team_tiers)}
        self._classes = {name: (c.priority, c.head_start, c.aging, name in self._team_tiers)
                         for name, c in classes.items()}
        self._default = (default.priority, default.head_start, default.aging, False)
        self._overflow = params.overflow_after
        self._team_helps = params.team_helps

    def _team_tier(self, contact: ContactView) -> bool:
        customer = contact.customer
        return customer is not None and customer.tier in self._team_tiers

    def _overflowed(self, contact: ContactView, state: RoutingState) -> bool:
        return self._overflow is not None and state.has_waited(contact, self._overflow)

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        if self._team is None:
            return state.longest_idle_agent(contact.type)
        # Ranks are False for the preferred side and True for the other, which only
        # overflow or team_helps opens (below=None).
        if self._team_tier(contact):
            return state.best_idle(contact.type, self._team_first,
                                   below=None if self._overflowed(contact, state) else True)
        return state.best_idle(contact.type, self._team_last,
                               below=None if self._team_helps else True)

    def _team_first(self, agent: AgentView) -> bool:
        return agent.group != self._team

    def _team_last(self, agent: AgentView) -> bool:
        return agent.group == self._team

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        # Within a tier the oldest contact has the highest score and the longest wait, so
        # the oldest of each tier across the agent's skills is the only candidate.
        oldest: dict[Hashable, ContactView] = {}
        for contact_type in agent.open:
            for tier, contact in state.oldest_waiting_each(contact_type, "tier"):
                other = oldest.get(tier)
                if other is None or contact.arrival < other.arrival:
                    oldest[tier] = contact
        now = state.now
        in_team = agent.group == self._team
        # Team-tier contacts that entered the queue by then may go to anyone.
        overflowed_by = state.queued_by(self._overflow) if self._overflow is not None else -inf
        best: ContactView | None = None
        best_rank: tuple[bool, float, float] = (False, 0.0, 0.0)
        for tier, contact in oldest.items():
            priority, head_start, aging, kept = self._classes.get(tier, self._default)  # type: ignore[call-overload]
            if kept:
                if not in_team and contact.arrival > overflowed_by:
                    continue
            elif in_team and not self._team_helps:
                continue
            effective_arrival = contact.arrival - head_start
            # A team agent's own tiers come first, then the score, then the earliest.
            rank = (in_team and kept, priority + aging * (now - effective_arrival),
                    -effective_arrival)
            if best is None or rank > best_rank:
                best, best_rank = contact, rank
        return best

    def recheck_after(self, contact: ContactView, state: RoutingState) -> float | None:
        """At ``overflow_after``, offer a waiting team-tier contact to everyone."""
        if self._overflow is None or not self._team_tier(contact) or self._overflowed(
                contact, state):
            return None
        return self._overflow - (state.now - contact.arrival)
