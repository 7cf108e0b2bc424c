"""The per-contact trace (``--trace``): a row when a contact is answered or abandons. Rows
of contacts that end elsewhere (blocked, in the IVR, at the end) come from where they end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage, listen_abandoned

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.state import Agent, Contact


class Tracing(Stage):
    """Wraps ``service_time`` (outermost: the row of an answered contact is written once its
    agent time is known) and listens to abandonments."""

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        trace = kernel.trace
        assert trace is not None
        service_time = kernel.service_time

        def traced_service(agent: Agent, contact: Contact) -> float:
            contact.service_s = duration = service_time(agent, contact)
            trace.contact(kernel, contact, "answered" if contact.reached else "callback_unreached",
                          kernel.clock.now)
            return duration

        kernel.service_time = traced_service
        listen_abandoned(kernel, lambda contact, now, waited: trace.contact(
            kernel, contact, "abandoned", now))
