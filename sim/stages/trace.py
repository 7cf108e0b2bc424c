"""The per-contact trace (``--trace``): a row when a contact is answered or abandons. Rows
of contacts that end elsewhere (blocked, in the IVR, at the end) come from where they end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage, listen_abandoned

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.state import Contact


class Tracing(Stage):
    """Wraps ``answered`` (outermost) and listens to abandonments."""

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        trace = kernel.trace
        assert trace is not None
        answered = kernel.answered

        def answered_and_traced(contact: Contact, now: float) -> None:
            answered(contact, now)
            trace.contact(kernel, contact, "answered", now)

        kernel.answered = answered_and_traced
        listen_abandoned(kernel, lambda contact, now, waited: trace.contact(
            kernel, contact, "abandoned", now))
