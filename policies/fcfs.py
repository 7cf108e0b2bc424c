"""First come, first served to the longest-idle agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import PolicyParams, register_policy

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState


def oldest_for(agent: AgentView, state: RoutingState) -> ContactView | None:
    """The oldest waiting contact across the agent's skills (first-come first-served)."""
    best: ContactView | None = None
    for skill in agent.open:
        candidate = state.oldest_waiting(skill)
        if candidate is not None and (best is None or candidate.arrival < best.arrival):
            best = candidate
    return best


@register_policy("fcfs")
class FcfsPolicy:
    """Longest-idle skilled agent takes an arriving contact; a freed agent takes the oldest contact it can serve."""

    work_conserving = True  # never leaves a contact waiting next to an idle skilled agent

    def __init__(self, params: PolicyParams, scenario: Scenario) -> None:
        self.params = params

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        return state.longest_idle_agent(contact.type)

    # The function itself, not a method calling it: one call less per freed agent.
    select_contact = staticmethod(oldest_for)
