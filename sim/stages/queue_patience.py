"""Patience that depends on the queue a caller finds (``contact_types.X.patience_per_waiting``).

Callers who hear or sense a long queue give up sooner: in the Anonymous Bank logs the
censored patience of PS callers falls from 877 s with nobody waiting to 279 s with 6-9
waiting (docs/calibration.md, section 5). A contact joining the queue for the first time
has its drawn patience scaled by ``exp(-per_waiting x contacts already waiting)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.stages import Stage
from sim.state import NEW

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Contact


class QueuePatience(Stage):
    """Wraps the kernel's ``hold``: scale a new contact's patience by the queue it finds."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> QueuePatience | None:
        per_waiting = {name: spec.patience_per_waiting
                       for name, spec in kernel.scenario.contact_types.items()
                       if spec.patience_per_waiting}
        return cls(kernel, per_waiting) if per_waiting else None

    def __init__(self, kernel: Simulation, per_waiting: dict[str, float]) -> None:
        super().__init__(kernel)
        hold = kernel.hold

        def hold_with_queue_patience(contact: Contact, now: float) -> None:
            # Only the first time in the queue: a contact back from a call-back offer or an
            # unanswered ring keeps the patience it had.
            if contact.status == NEW and contact.type in per_waiting:
                contact.patience *= math.exp(-per_waiting[contact.type] * kernel.queue_length)
            hold(contact, now)

        kernel.hold = hold_with_queue_patience
