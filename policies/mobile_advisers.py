"""Mobile advisers and case owners first, the center as fallback (domain brief S2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from .base import PolicyConfigError, PolicyParams, register_policy
from .fcfs import oldest_for

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState


class MobileAdvisersParams(PolicyParams):
    """Which contacts go to mobile advisers before the center."""

    intents: tuple[str, ...] = Field(
        default=(), description="Intents (e.g. personal_finance) whose callers without an "
        "owner go to any free adviser of their skill before the center.")
    advisers_take_queue: bool = Field(
        default=True, description="A freed adviser takes a waiting contact of a customer they "
        "own (who has not already rung them unanswered).")

    def check_against(self, scenario: Scenario) -> None:
        """Some group must be mobile or own customers, and intents must exist."""
        if not any(g.mobile is not None or g.owns is not None for g in scenario.agents.values()):
            raise PolicyConfigError((), (
                "no agent group is mobile or owns customers, so there is nobody to reach "
                "directly; allowed: a group with mobile: {ring, answer} and/or owns: {tiers}"))
        center = {skill for group in scenario.agents.values()
                  if group.mobile is None and group.owns is None for skill in group.skills}
        uncovered = [name for name in scenario.contact_types if name not in center]
        if uncovered:
            raise PolicyConfigError((), (
                f"no center group (neither mobile nor owning customers) has skill "
                f"{uncovered[0]!r}: its contacts that no adviser takes would never be answered; "
                f"allowed: give a seated group without owns the skill {uncovered[0]!r}"))
        known = scenario.identity.intents if scenario.identity is not None else {}
        for index, intent in enumerate(self.intents):
            if intent not in known:
                raise PolicyConfigError(("intents", index), (
                    f"unknown intent {intent!r}; allowed: an intent under identity.intents "
                    f"({', '.join(known) or 'none: the scenario has no identity block'})"))


@register_policy("mobile_advisers", MobileAdvisersParams)
class MobileAdvisersPolicy:
    """A customer's owner (adviser or case owner) gets the contact first when on duty and free;
    unanswered, busy or absent owners fall back to the center's longest-idle agent.

    Mobile agents ring and may not answer (``agents.G.mobile``); the engine then
    offers the contact again, with the adviser in ``contact.unanswered``, and it
    goes to the center. Seated agents take the oldest waiting contact; a freed
    adviser takes the oldest waiting contact of a customer they own. The
    engine reports ``direct_reach_rate`` and ``fallback_rate`` of the rings.
    """

    work_conserving = False  # advisers stay free for their own customers while the center queues
    decision_cost = "scoring"  # scans idle agents past advisers, and the queue for an adviser

    def __init__(self, params: MobileAdvisersParams, scenario: Scenario) -> None:
        self.params = params
        self._intents = frozenset(params.intents)
        self._advisers = frozenset(name for name, g in scenario.agents.items()
                                   if g.mobile is not None or g.owns is not None)

    def _owner(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        customer = contact.customer
        if customer is None or customer.owner is None:
            return None
        owner = state.agent_at(customer.owner)
        if owner is None or owner.id in contact.unanswered:
            return None
        return owner

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        owner = self._owner(contact, state)
        if owner is not None and owner.idle and contact.type in owner.open:
            return owner
        if contact.identity is not None and contact.identity.intent in self._intents:
            for agent in state.idle_agents(contact.type):
                if agent.group in self._advisers and agent.id not in contact.unanswered:
                    return agent
        return self._center(contact, state)

    def _center(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        agent = state.longest_idle_agent(contact.type)
        if agent is None or agent.group not in self._advisers:
            return agent
        return next((a for a in state.idle_agents(contact.type)
                     if a.group not in self._advisers), None)

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        if agent.group in self._advisers:
            if not self.params.advisers_take_queue:
                return None
            for skill in agent.open:
                for contact in state.waiting(skill):
                    customer = contact.customer
                    if (customer is not None and customer.owner == agent.seat
                            and agent.id not in contact.unanswered):
                        return contact
            return None
        return oldest_for(agent, state)
