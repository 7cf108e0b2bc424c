"""What a policy may ask of the kernel beyond its two decisions: to look at a waiting
contact again later (``recheck_after``: its eligible pool widens as it waits) and to
hear of every finished contact (``observe``: online learning)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage
from sim.state import WAITING

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class PolicyFeedback(Stage):
    """Wraps ``enqueue`` (arm a recheck) and ``completed`` (tell the policy)."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> PolicyFeedback | None:
        policy = kernel.policy
        if getattr(policy, "recheck_after", None) is None \
                and getattr(policy, "observe", None) is None:
            return None
        return cls(kernel)

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        self._recheck = getattr(kernel.policy, "recheck_after", None)
        observe = getattr(kernel.policy, "observe", None)
        if self._recheck is not None:
            enqueue = kernel.enqueue

            def enqueue_and_recheck(contact: Contact, now: float) -> None:
                enqueue(contact, now)
                self._arm(contact)

            kernel.enqueue = enqueue_and_recheck
        if observe is not None:
            completed, state = kernel.completed, kernel.state

            def completed_and_observed(contact: Contact, agent: Agent, now: float,
                                       handled: float) -> None:
                completed(contact, agent, now, handled)
                observe(contact, agent, handled, state)

            kernel.completed = completed_and_observed

    def _arm(self, contact: Contact) -> None:
        delay = self._recheck(contact, self.kernel.state)  # type: ignore[misc]
        if delay is not None:
            self.kernel.clock.schedule(max(float(delay), 0.0), self._on_recheck, contact)

    def _on_recheck(self, contact: Contact) -> None:
        """A policy asked to look at a waiting contact again (its eligible pool widened)."""
        if contact.status != WAITING:
            return
        kernel = self.kernel
        agent = kernel.select_agent(contact, kernel.state)
        if agent is None:
            self._arm(contact)
            return
        kernel.check_agent(agent, contact)
        now = kernel.clock.now
        kernel.take_from_queue(contact, now)
        kernel.start_service(agent, contact, now)
