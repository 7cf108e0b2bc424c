"""Call backs (``contact_types.T.callback``): a caller facing a long predicted wait is
offered a call back, kept in line off the phone (virtual hold) or called at a later slot
(scheduled); the agent dials first, and an unreached call back ends there."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.kernel.streams import uniform_pairs
from sim.stages import Stage
from sim.state import SCHEDULED

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class Callbacks(Stage):
    """Wraps ``hold`` (offer), ``answered``, ``service_time`` and ``completed`` (outermost:
    an unreached call back is counted apart and nothing else hears of it)."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> Callbacks | None:
        types = kernel.scenario.contact_types.values()
        return cls(kernel) if any(t.callback is not None for t in types) else None

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        scenario = kernel.scenario
        types = scenario.contact_types
        self._offers = {name: (t.callback, kernel.streams.stream(f"callback/{name}",
                                                                uniform_pairs))
                        for name, t in types.items() if t.callback is not None}
        self._mean_work = {name: t.handle_time.mean for name, t in types.items()}
        self._scheduled: dict[Contact, None] = {}
        hold, answered = kernel.hold, kernel.answered
        service_time, completed = kernel.service_time, kernel.completed

        def hold_or_offer(contact: Contact, now: float) -> None:
            if contact.type in self._offers and not contact.callback \
                    and self._offer(contact, now):
                return
            hold(contact, now)

        def answered_if_reached(contact: Contact, now: float) -> None:
            if contact.reached:  # an unreached call back was never answered
                answered(contact, now)

        def dial_first(agent: Agent, contact: Contact) -> float:
            duration = service_time(agent, contact)
            if not contact.callback:
                return duration
            dial = self._offers[contact.type][0].dial_time
            return dial + duration if contact.reached else dial

        def completed_if_reached(contact: Contact, agent: Agent, now: float,
                                 handled: float) -> None:
            if not contact.reached:
                if contact.counted:
                    contact.cell.callbacks_unreached += 1
                    contact.cell.wait_unreached_sum += contact.answered_at - contact.arrival
                return
            if contact.counted and contact.callback:
                contact.cell.callbacks_completed += 1
            completed(contact, agent, now, handled)

        kernel.hold, kernel.answered = hold_or_offer, answered_if_reached
        kernel.service_time, kernel.completed = dial_first, completed_if_reached

    def _offer(self, contact: Contact, now: float) -> bool:
        """Offer a call back when the predicted wait exceeds the threshold. True when the
        contact leaves the line for a later slot (scheduled); a virtual-hold acceptance
        keeps its place in the queue, off the line (it no longer abandons)."""
        kernel = self.kernel
        spec, draws = self._offers[contact.type]
        agents = kernel.on_duty_for(contact.type)
        predicted = ((kernel.state._waiting_count[contact.type] + 1)
                     * self._mean_work[contact.type] / max(agents, 1))
        if predicted <= spec.threshold:
            return False
        accept_u, reach_u = draws.next_value()
        cell = contact.cell
        if contact.counted:
            cell.callbacks_offered += 1
        if accept_u >= spec.accept:
            return False
        if contact.counted:
            cell.callbacks_accepted += 1
        contact.callback = True
        contact.reached = reach_u < spec.reach
        contact.patience = math.inf
        if spec.mode == "virtual_hold":
            return False
        contact.status = SCHEDULED
        self._scheduled[contact] = None
        kernel.clock.schedule(spec.delay, self._on_slot, contact)
        return True

    def _on_slot(self, contact: Contact) -> None:
        """A scheduled call back's slot: it joins the queue now (waits count from here)."""
        del self._scheduled[contact]
        now = self.kernel.clock.now
        contact.arrival = now
        self.kernel.route(contact, now)

    def pending(self) -> bool:
        return bool(self._scheduled)

    def finish_run(self, end: float) -> None:
        for contact in self._scheduled:
            if contact.counted:
                contact.cell.callbacks_pending_at_end += 1
