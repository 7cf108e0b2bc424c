"""Learning curves (``learning`` on an agent group): an agent's speed is multiplied by
``Learning.factor(n)`` for the n-th contact it takes in the replication, from ``start``
for its first up to 1 from the ``contacts``-th on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class LearningCurves(Stage):
    """Wraps ``service_time``: sets the agent's speeds for the contact it starts."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> LearningCurves | None:
        if not any(group.learning is not None for group in kernel.scenario.agents.values()):
            return None
        return cls(kernel)

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        curves = {index: group.learning
                  for index, group in enumerate(kernel.scenario.agents.values())}
        taken: dict[int, int] = {}
        """Contacts each agent has taken, counted until its curve reaches 1."""
        full: dict[int, tuple[float, dict[str, float]]] = {}
        """Each learning agent's speeds at factor 1."""
        before = kernel.service_time

        def service_time(agent: Agent, contact: Contact) -> float:
            curve = curves[agent.group_index]
            if curve is not None:
                count = taken.get(agent.id, 0)
                if count <= curve.contacts:  # past the curve the speeds stay at factor 1
                    speed, speed_for = full.setdefault(
                        agent.id, (agent.speed, dict(agent.speed_for)))
                    factor = curve.factor(count)
                    agent.speed = speed * factor
                    agent.speed_for = {name: value * factor for name, value in speed_for.items()}
                    taken[agent.id] = count + 1
            return before(agent, contact)

        kernel.service_time = service_time
