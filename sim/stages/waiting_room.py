"""A finite waiting room (``waiting_room.capacity``): a contact that finds it full is
blocked and never enters the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage
from sim.state import BLOCKED, RINGING

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Contact


class WaitingRoom(Stage):
    """Wraps the kernel's ``hold``: block when the queue is full."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> WaitingRoom | None:
        room = kernel.scenario.waiting_room
        return None if room is None else cls(kernel, room.capacity)

    def __init__(self, kernel: Simulation, capacity: int) -> None:
        super().__init__(kernel)
        hold = kernel.hold

        def hold_or_block(contact: Contact, now: float) -> None:
            # A contact back from an unanswered ring had its place while it rang: it keeps it.
            if kernel.queue_length < capacity or contact.status == RINGING:
                hold(contact, now)
                return
            contact.status = BLOCKED
            if contact.counted:
                contact.cell.blocked += 1
            if kernel.trace is not None:
                kernel.trace.contact(kernel, contact, "blocked", now)
            if kernel.arrivals == kernel.max_arrivals:
                kernel.drain_check()

        kernel.hold = hold_or_block
