"""Handle time shaped by the features that change it: the agent's level for the contact
(proficiency, which also decides match and resolution), verification time with the
agent (a caller the agent refuses gets no service), and the stretch of holding several
contacts of one channel. The plain kernel divides work by speed and adds wrap-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class ServiceShape(Stage):
    """Replaces the kernel's ``service_time``."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> ServiceShape | None:
        scenario = kernel.scenario
        if not (kernel.quality.active or scenario.identity is not None
                or any(g.capacity is not None for g in scenario.agents.values())):
            return None
        return cls(kernel)

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        quality = kernel.quality
        decide = quality.decide if quality.active else None

        def service_time(agent: Agent, contact: Contact) -> float:
            caller = contact.identity
            work = 0.0 if caller is not None and caller.verified is False else contact.work
            speed = agent.speed_for[contact.type] if decide is None else decide(agent, contact)
            return work / speed * contact.stretch + contact.wrap_up + contact.agent_extra

        kernel.service_time = service_time
