"""Preferred-agent routing: a returning customer waits a while for the agent who served them
last, then anyone skilled takes the contact."""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

from pydantic import Field

from sim.model.fields import Duration

from .base import PolicyConfigError, PolicyParams, register_policy

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState

_ARRIVAL = attrgetter("arrival")


class PreferredAgentParams(PolicyParams):
    """Parameters of the ``preferred_agent`` policy."""

    timeout: Duration = Field(
        default=60.0, description="How long a contact waits for the customer's last agent "
        "while that agent is busy; 0s: only an idle last agent is preferred.")

    def check_against(self, scenario: Scenario) -> None:
        """The scenario must have customers, whose last agents the policy prefers."""
        if scenario.customers is None:
            raise PolicyConfigError((), (
                "preferred_agent routes to the customer's last agent, but the scenario has no "
                "customers block; allowed: add customers to the scenario"))


@register_policy("preferred_agent", PreferredAgentParams)
class PreferredAgentPolicy:
    """The customer's last agent, waited for up to a timeout while busy; then the longest-idle agent.

    The agent who served the customer last takes the contact when on duty and
    skilled for it. If that agent is idle the contact goes to them at once; if
    busy, the contact waits for them only, until it has waited ``timeout`` (a
    recheck then offers it to the longest-idle skilled agent). A freed agent
    first takes the oldest contact waiting for it (whatever its wait), else the
    oldest contact open to anyone: one with no preferred agent on duty, or one
    that has waited out the timeout. Unknown callers, first-time callers and
    customers whose last agent is off duty, lacks the skill or let the contact
    ring unanswered (a mobile agent) wait for nobody. The preference is fixed
    when the contact queues: if the agent logs off meanwhile, the contact still
    waits out the timeout.
    """

    work_conserving = False  # a contact may wait for its busy last agent

    def __init__(self, params: PreferredAgentParams, scenario: Scenario) -> None:
        self._timeout = params.timeout

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        last = state.last_agent(contact)
        if last is not None:
            if last.idle and contact.type in last.open:
                return last
            if not state.has_waited(contact, self._timeout):
                return None
        return state.longest_idle_agent(contact.type)

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        mine = [contact for contact_type in agent.open
                if (contact := state.oldest_waiting_by(contact_type, "last_agent", agent.id))]
        if mine:
            return min(mine, key=_ARRIVAL)
        # Contacts that entered the queue by then have waited out the timeout. Waits grow
        # with age: if the oldest has not, only contacts that wait for nobody are open.
        timed_out_by = state.queued_by(self._timeout)
        open_to_all = []
        for contact_type in agent.open:
            oldest = state.oldest_waiting(contact_type)
            if oldest is not None and oldest.arrival > timed_out_by:
                oldest = state.oldest_waiting_by(contact_type, "last_agent", None)
            if oldest is not None:
                open_to_all.append(oldest)
        return min(open_to_all, key=_ARRIVAL, default=None)

    def recheck_after(self, contact: ContactView, state: RoutingState) -> float | None:
        """At the timeout, offer a contact that waits for its last agent to everyone."""
        if state.last_agent(contact) is None or state.has_waited(contact, self._timeout):
            return None
        return self._timeout - (state.now - contact.arrival)
