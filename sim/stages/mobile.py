"""Mobile agents (``agents.G.mobile``): an agent off-site whose phone rings for a contact
and may not answer; an unanswered contact goes back to the center, in its place in line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage
from sim.state import RINGING, WAITING

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class MobileRings(Stage):
    """Wraps ``start_service`` (ring first) and ``enqueue`` (back in arrival order)."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> MobileRings | None:
        if not any(g.mobile is not None for g in kernel.scenario.agents.values()):
            return None
        return cls(kernel)

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        self._ringing = 0
        self.serve = serve = kernel.start_service
        """The kernel's start of service, for a contact the agent answers."""
        enqueue = kernel.enqueue

        def ring_first(agent: Agent, contact: Contact, now: float) -> None:
            if agent.mobile:
                self._ring(agent, contact, now)
            else:
                serve(agent, contact, now)

        def enqueue_in_place(contact: Contact, now: float) -> None:
            if not contact.queued_once:
                contact.queued_once = True
                enqueue(contact, now)
                return
            contact.status = WAITING  # back from an unanswered ring: keep arrival order
            kernel.state.return_waiting(contact)
            kernel.wait(contact, now)

        kernel.start_service, kernel.enqueue = ring_first, enqueue_in_place

    def _ring(self, agent: Agent, contact: Contact, now: float) -> None:
        """A mobile agent's phone rings; answered or not, decided when the ringing ends."""
        kernel = self.kernel
        agent.idle = False
        agent.ringing = True
        agent.contact = contact
        contact.status = RINGING
        self._ringing += 1
        # A ringing contact still waits (its wait runs until answered): it counts in the
        # queue length, so that Little's law holds with waits that include ringing.
        kernel.queue_change(now, 1.0)
        delay, answers = kernel.quality.ring_draw(agent.group)
        kernel.clock.schedule(delay, self._on_ring_end, (agent, contact, answers))

    def _on_ring_end(self, subject: tuple[Agent, Contact, bool]) -> None:
        agent, contact, answers = subject
        kernel = self.kernel
        now = kernel.clock.now
        agent.ringing = False
        kernel.queue_change(now, -1.0)
        cell = kernel.cells.group[agent.group_index][kernel.slot] if now >= kernel.warmup \
            else kernel.cells.warmup_sink
        cell.ring_offers += 1
        if answers and not agent.leaving:
            cell.ring_answered += 1
            self._ringing -= 1
            self.serve(agent, contact, now)
            return
        agent.contact = None
        contact.unanswered += (agent.id,)
        if len(set(contact.unanswered)) >= kernel.on_duty_for(contact.type):
            # Every agent who could take it let it ring: policies that skip those agents
            # would leave it waiting for ever, so it may ring them again.
            contact.unanswered = ()
        # Counted as ringing until it is back in line: freeing the agent first must not end
        # a run by arrivals while the contact is on its way back.
        if agent.leaving:
            kernel.log_off(agent, now)
        else:
            kernel.on_free(agent, now)
        kernel.route(contact, now)  # back to the center
        self._ringing -= 1
        if kernel.arrivals == kernel.max_arrivals:
            kernel.drain_check()

    def pending(self) -> bool:
        return self._ringing > 0

    def finish_run(self, end: float) -> None:
        kernel = self.kernel
        for agents in kernel.agents:
            for agent in agents:
                if agent.ringing:  # the contact is still waiting for an answer
                    if agent.contact.counted:
                        agent.contact.cell.in_queue_at_end += 1
                    if kernel.trace is not None:
                        kernel.trace.contact(kernel, agent.contact, "waiting_at_end", end)
