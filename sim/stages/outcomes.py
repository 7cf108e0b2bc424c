"""Resolution and matching outcomes (``outcomes``, ``matching`` blocks, and the figures
omnichannel scenarios report): each first contact's resolution uniform is drawn at
arrival, and resolved and matched contacts are counted when they finish."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class Outcomes(Stage):
    """Draws outcomes at arrival and counts them at the end of service."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> Outcomes | None:
        if kernel.scenario.outcomes is None and not kernel.cells.tracks:
            return None
        return cls(kernel)

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        quality = kernel.quality
        if quality.outcomes is not None:
            admit, draw = kernel.admit, quality.outcome_draw

            def admit_with_outcome(contact: Contact, now: float) -> None:
                contact.outcome_u = draw(contact.type)
                admit(contact, now)

            kernel.admit = admit_with_outcome
        if kernel.cells.tracks:
            completed = kernel.completed

            def count_outcome(contact: Contact, agent: Agent, now: float,
                              handled: float) -> None:
                completed(contact, agent, now, handled)
                if contact.counted:
                    cell = contact.cell
                    cell.resolved += contact.resolved
                    cell.matched += contact.matched

            kernel.completed = count_outcome
