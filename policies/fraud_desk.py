"""Identity-aware routing: suspicious contacts to a fraud desk, VIP customers to a white-glove team."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import PolicyConfigError, PolicyParams, register_policy, skills_only_in, types_lacking

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
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
        lacking = types_lacking(scenario, self.desk)
        if lacking:
            raise PolicyConfigError(("desk",), (
                f"{self.desk!r} lacks skill {lacking[0]!r}: suspicious {lacking[0]!r} contacts "
                "go to the desk only and would never be answered; allowed: a group with "
                "every contact type among its skills"))
        if not self.desk_helps:
            only_desk = skills_only_in(scenario, self.desk)
            if only_desk:
                raise PolicyConfigError(("desk",), (
                    f"{self.desk!r} is the only group with skill {only_desk[0]!r}, and the desk "
                    "takes only suspicious contacts: ordinary ones would never be answered; "
                    f"allowed: give another group {only_desk[0]!r}, or desk_helps: true"))
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
    team agent: the oldest VIP first). Where the desk carries its own ``manual_check``
    (``sim.model.identity.GroupChecks``), sending suspicious callers there changes who is
    caught and who is refused.
    """

    work_conserving = False  # suspicious contacts wait for the desk while others idle

    def __init__(self, params: FraudDeskParams, scenario: Scenario) -> None:
        self.params = params
        self._flags = frozenset(params.flags)
        self._vip_tiers = frozenset(params.vip_tiers)
        # Ranks of idle agents (lower first) for the three kinds of contact; the state
        # keeps a heap per skill and rank function, so a decision does not scan agents.
        self._rank_suspicious = self._desk_rank
        self._rank_ordinary = self._ordinary_rank
        self._rank_vip = self._vip_rank
        self._kind = self._contact_kind

    def suspicious(self, contact: ContactView) -> bool:
        """Whether the contact must go to the fraud desk."""
        caller = contact.identity
        if caller is None or not caller.claims:
            return False
        return bool(self._flags.intersection(caller.flags)) or (
            caller.confidence < self.params.min_confidence)

    def _contact_kind(self, contact: ContactView) -> tuple[bool, bool]:
        """(suspicious, VIP): how waiting contacts are filed for the queries below."""
        return self.suspicious(contact), self._vip(contact)

    def _vip(self, contact: ContactView) -> bool:
        return contact.customer is not None and contact.customer.tier in self._vip_tiers

    def _desk_rank(self, agent: AgentView) -> int:
        return 0 if agent.group == self.params.desk else _NEVER

    def _ordinary_rank(self, agent: AgentView) -> int:
        if agent.group != self.params.desk:
            return 0
        return 1 if self.params.desk_helps else _NEVER

    def _vip_rank(self, agent: AgentView) -> int:
        return (0 if agent.group == self.params.vip_team else 1) + self._ordinary_rank(agent)

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        if self.suspicious(contact):
            rank = self._rank_suspicious
        elif self.params.vip_team is not None and self._vip(contact):
            rank = self._rank_vip
        else:
            rank = self._rank_ordinary
        return state.best_idle(contact.type, rank, below=_NEVER)

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        at_desk = agent.group == self.params.desk
        vip_first = agent.group == self.params.vip_team
        best: ContactView | None = None
        best_key = (0, 0.0)
        for skill in agent.open:
            for (suspicious, vip), contact in state.oldest_waiting_each(skill, self._kind):
                if suspicious != at_desk and not (at_desk and self.params.desk_helps):
                    continue
                # The desk serves suspicious contacts before ordinary ones; a VIP team
                # agent serves VIPs first; otherwise the oldest goes first.
                key = (0 if at_desk and suspicious else 1 if at_desk else
                       0 if vip_first and vip else 1, contact.arrival)
                if best is None or key < best_key:
                    best, best_key = contact, key
        return best


_NEVER = 10
"""Rank of agents who may not take the contact (the queries ask for ranks below it)."""


