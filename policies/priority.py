"""Static class priorities with optional aging and a head start per class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from sim.model.fields import Duration, Number, Rate

from .base import PolicyConfigError, PolicyParams, register_policy

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState


class PriorityClass(PolicyParams):
    """How one contact type ranks in the queue."""

    priority: Number = Field(default=0.0, description="Higher is served first.")
    head_start: Duration = Field(
        default=0.0, ge=0,
        description="Treated as if it arrived this much earlier (e.g. VIP jumps 90s ahead).",
    )
    aging: Rate = Field(
        default=0.0, ge=0,
        description="Priority points gained per unit of waiting, e.g. 1/min; 0/min disables aging.",
    )


class PriorityParams(PolicyParams):
    """Parameters of the ``priority`` policy."""

    classes: dict[str, PriorityClass] = Field(
        default_factory=dict,
        description="Per contact type; types not listed have priority 0, no head start, no aging.",
    )

    def check_against(self, scenario: Scenario) -> None:
        """Every class must be a contact type of the scenario."""
        for name in self.classes:
            if name not in scenario.contact_types:
                known = ", ".join(sorted(scenario.contact_types))
                raise PolicyConfigError(
                    ("classes", name), f"unknown contact type {name!r}; known: {known}")


@register_policy("priority", PriorityParams)
class PriorityPolicy:
    """Non-preemptive priority queue: highest score first, score = priority + aging x (wait + head start).

    Ties, and all comparisons between classes of equal score, go to the earliest
    effective arrival (arrival minus head start). Within one class the oldest
    contact always has the highest score, so only queue heads are compared.
    An arriving contact takes the longest-idle skilled agent, as in ``fcfs``.
    """

    work_conserving = True  # never leaves a contact waiting next to an idle skilled agent

    def __init__(self, params: PriorityParams, scenario: Scenario) -> None:
        default = PriorityClass()
        # Plain tuples (priority, head start, aging per second): read per decision.
        self._rank = {
            name: (rank.priority, rank.head_start, rank.aging)
            for name in scenario.contact_types
            for rank in [params.classes.get(name, default)]
        }

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        return state.longest_idle_agent(contact.type)

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        now = state.now
        best: ContactView | None = None
        best_score = best_arrival = 0.0
        for skill in agent.open:
            candidate = state.oldest_waiting(skill)
            if candidate is None:
                continue
            priority, head_start, aging = self._rank[skill]
            effective_arrival = candidate.arrival - head_start
            score = priority + aging * (now - effective_arrival)
            if best is None or score > best_score or (
                    score == best_score and effective_arrival < best_arrival):
                best, best_score, best_arrival = candidate, score, effective_arrival
        return best
