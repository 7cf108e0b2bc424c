"""Bullseye routing: rings of eligible agents that widen while a contact waits."""

from __future__ import annotations

from math import inf
from typing import TYPE_CHECKING

from pydantic import Field

from sim.model.fields import Duration, OptionalNumber

from .base import PolicyConfigError, PolicyParams, register_policy
from .skills import Levels

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState


class Ring(PolicyParams):
    """One ring: who may take a contact once it has waited ``after``."""

    after: Duration = Field(description="Wait from which this ring's agents may take the contact.")
    groups: tuple[str, ...] | None = Field(
        default=None, description="Agent groups in the ring; absent: every group.")
    min_level: OptionalNumber = Field(
        default=None, description="Level the ring's agents need for the contact (its intent "
        "if the agent lists one, else its type); absent: any level.")


DEFAULT_RINGS = ({"after": "0s", "min_level": 8}, {"after": "30s", "min_level": 5},
                 {"after": "60s"})


class BullseyeParams(PolicyParams):
    """Parameters of the ``bullseye`` policy."""

    rings: tuple[Ring, ...] = Field(
        default_factory=lambda: tuple(Ring.model_validate(ring) for ring in DEFAULT_RINGS),
        min_length=1,
        description="Innermost first; the first opens at 0s and each later one later. "
        "Default: level 8+ at once, 5+ after 30s, every skilled agent after 60s.")

    def check_against(self, scenario: Scenario) -> None:
        """Rings open at 0s and then in order; their groups exist."""
        if self.rings[0].after != 0:
            raise PolicyConfigError(("rings", 0, "after"), (
                f"the innermost ring opens after {self.rings[0].after:g}s; allowed: 0s"))
        for index, ring in enumerate(self.rings):
            if index and ring.after <= self.rings[index - 1].after:
                raise PolicyConfigError(("rings", index, "after"), (
                    f"{ring.after:g}s is not after the previous ring's "
                    f"{self.rings[index - 1].after:g}s; allowed: rings in increasing order"))
            for position, group in enumerate(ring.groups or ()):
                if group not in scenario.agents:
                    raise PolicyConfigError(("rings", index, "groups", position), (
                        f"unknown agent group {group!r}; known: {', '.join(scenario.agents)}"))


@register_policy("bullseye", BullseyeParams)
class BullseyePolicy:
    """Rings of eligible agents that widen while a contact waits; it keeps its place in the queue.

    Ring k's agents may take a contact once it has waited ring k's ``after``. An
    agent belongs to the innermost ring whose ``groups`` hold its group and
    whose ``min_level`` its level for the contact reaches (for the contact's
    intent if the agent lists one, else its type); agents in no ring never take
    the contact. An arriving or rechecked contact goes to the idle agent of the
    innermost open ring (longest idle within it); a recheck is due when the next
    ring opens. A freed agent takes the oldest contact whose wait has opened the
    agent's ring for it, so a contact keeps its place in arrival order while its
    pool widens. Idle agents are kept per skill by ring (a heap) and waiting
    contacts per intent: a decision never scans agents or the queue.
    """

    work_conserving = False  # a contact waits for its ring to open

    def __init__(self, params: BullseyeParams, scenario: Scenario) -> None:
        self._rings = params.rings
        self._after = tuple(ring.after for ring in params.rings)
        self._levels = Levels(scenario, self._order)
        self._ring_of: dict[tuple[str, float], int] = {}
        """Memo: the ring of an agent of a group at a level."""

    def _ring(self, group: str, level: float) -> int:
        """The innermost ring an agent of ``group`` at ``level`` belongs to; the number of
        rings if none."""
        ring = self._ring_of.get((group, level))
        if ring is None:
            ring = self._ring_of[group, level] = next(
                (index for index, ring in enumerate(self._rings)
                 if (ring.groups is None or group in ring.groups)
                 and (ring.min_level is None or level >= ring.min_level)), len(self._rings))
        return ring

    def _order(self, contact_type: str, agent: AgentView, level: float) -> int:
        """Idle agents by ring, innermost first."""
        return self._ring(agent.group, level)

    def _open_rings(self, contact: ContactView, state: RoutingState) -> int:
        """How many rings have opened for ``contact``."""
        count = 0
        while count < len(self._after) and state.has_waited(contact, self._after[count]):
            count += 1
        return count

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        contact_type, context = contact.type, self._levels.context(contact)
        return state.best_idle(contact_type, self._levels.ranking(contact_type, context),
                               below=self._open_rings(contact, state))

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        # Ring k has opened for contacts that entered the queue by queued_by[k]; never
        # for agents in no ring.
        queued_by = [state.queued_by(after) for after in self._after] + [-inf]
        best: ContactView | None = None
        for _, level, contact in self._levels.waiting(agent, state):
            # The oldest contact has waited longest: if its wait has not opened this
            # agent's ring, no younger contact's has.
            if contact.arrival <= queued_by[self._ring(agent.group, level)] and (
                    best is None or contact.arrival < best.arrival):
                best = contact
        return best

    def recheck_after(self, contact: ContactView, state: RoutingState) -> float | None:
        """Until the next ring opens for ``contact``; None after the outermost."""
        open_rings = self._open_rings(contact, state)
        if open_rings == len(self._after):
            return None
        return self._after[open_rings] - (state.now - contact.arrival)
