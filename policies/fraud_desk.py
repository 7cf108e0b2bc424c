"""Identity-aware routing: suspicious contacts to a fraud desk, VIP customers to a white-glove team."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import PolicyConfigError, PolicyParams, register_policy

if TYPE_CHECKING:
    from sim.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState

Flag = Literal["new_number", "unusual_hour", "unusual_channel"]


class FraudDeskParams(PolicyParams):
    """Which agent group is the fraud desk, what counts as suspicious, and the VIP team."""

    desk: str = Field(description="Agent group that takes suspicious contacts, and only those.")
    flags: tuple[Flag, ...] = Field(
        default=("new_number", "unusual_hour", "unusual_channel"),
        description="Flags that make a contact suspicious.")
    min_confidence: float = Field(
        default=0.5, ge=0, le=1,
        description="A claimed customer with identity confidence below this is suspicious.")
    desk_helps: bool = Field(
        default=False, description="Let idle desk agents take ordinary contacts too.")
    vip_team: str | None = Field(
        default=None, description="Agent group that serves the VIP tiers first.")
    vip_tiers: tuple[str, ...] = Field(default=("vip",), description="Tiers treated as VIP.")

    def check_against(self, scenario: Scenario) -> None:
        """The groups must exist, and the scenario must have customers to be suspicious of."""
        groups = ", ".join(scenario.agents)
        for field in ("desk", "vip_team"):
            name = getattr(self, field)
            if name is not None and name not in scenario.agents:
                raise PolicyConfigError((field,), f"unknown agent group {name!r}; known: {groups}")
        if scenario.customers is None:
            raise PolicyConfigError((), (
                "fraud_desk routes on the caller's identity, but the scenario has no customers "
                "block; allowed: add customers (and identity) to the scenario"))
        unknown = set(self.vip_tiers) - set(scenario.customers.tiers)
        if self.vip_team is not None and unknown:
            raise PolicyConfigError(("vip_tiers",), (
                f"unknown tiers {sorted(unknown)}; known: {', '.join(scenario.customers.tiers)}"))


@register_policy("fraud_desk", FraudDeskParams)
class FraudDeskPolicy:
    """Flagged or low-confidence contacts go only to the fraud desk; VIPs to the VIP team first.

    A contact is suspicious when it claims to be a customer and either raises
    one of ``flags`` or has a confidence below ``min_confidence``; prospects
    are not suspicious. Within each pool the longest-idle agent takes the
    contact, and a freed agent takes the oldest contact it may serve (a VIP
    team agent: the oldest VIP first).
    """

    work_conserving = False  # suspicious contacts wait for the desk while others idle

    def __init__(self, params: FraudDeskParams, scenario: Scenario) -> None:
        self.params = params
        self._flags = frozenset(params.flags)
        self._vip_tiers = frozenset(params.vip_tiers)

    def suspicious(self, contact: ContactView) -> bool:
        """Whether the contact must go to the fraud desk."""
        caller = contact.identity
        if caller is None or contact.customer is None:
            return False
        return bool(self._flags.intersection(caller.flags)) or (
            caller.confidence < self.params.min_confidence)

    def _vip(self, contact: ContactView) -> bool:
        return contact.customer is not None and contact.customer.tier in self._vip_tiers

    def _may_serve(self, agent: AgentView, contact: ContactView) -> bool:
        at_desk = agent.group == self.params.desk
        if self.suspicious(contact):
            return at_desk
        return not at_desk or self.params.desk_helps

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        candidates = [a for a in state.idle_agents(contact.type) if self._may_serve(a, contact)]
        if not candidates:
            return None
        if self._vip(contact) and self.params.vip_team is not None:
            for agent in candidates:
                if agent.group == self.params.vip_team:
                    return agent
        return candidates[0]

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        waiting = [c for c in _waiting(agent.skills, state) if self._may_serve(agent, c)]
        if not waiting:
            return None
        if agent.group == self.params.vip_team:
            vips = [c for c in waiting if self._vip(c)]
            waiting = vips or waiting
        return min(waiting, key=lambda c: c.arrival)


def _waiting(skills: Iterable[str], state: RoutingState) -> Iterable[ContactView]:
    for skill in skills:
        yield from state.waiting(skill)
