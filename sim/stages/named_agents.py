"""Named agents (``agents: {roster: FILE}``): each agent of the roster logs on at the start
of its own shift and off at its end, every day, keeping its identity all run (its own
skills, levels, languages and speed, from ``AgentGroup.members``).

Where a group's head count only says how many agents are on duty (``set_staff`` sends home
whichever are idle), a named agent whose shift ends leaves itself: after its current
contact when it is busy, even while a colleague of its group is idle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.model.units import DAY
from sim.stages import Stage

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent


class NamedAgents(Stage):
    """Logs the roster's agents on and off; wraps no step."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> NamedAgents | None:
        if not any(group.members for group in kernel.scenario.agents.values()):
            return None
        return cls(kernel)

    def start(self) -> None:
        # Created now, after every stage is installed: their new_agent steps equip them.
        kernel = self.kernel
        changes: dict[float, tuple[list[Agent], list[Agent]]] = {}
        for index, group in enumerate(kernel.scenario.agents.values()):
            for member in group.members:
                agent = kernel.add_agent(index, member.profile, member.name)
                if member.start == 0.0 and member.end == DAY:
                    kernel.log_on(agent, 0.0)  # all day: never off
                    continue
                if member.start > member.end % DAY:  # on duty across midnight, so at time 0
                    kernel.log_on(agent, 0.0)
                changes.setdefault(member.start, ([], []))[1].append(agent)
                changes.setdefault(member.end % DAY, ([], []))[0].append(agent)
        if changes:
            kernel.clock.daily((sorted(changes.items()),), self._change)

    def _change(self, change: tuple[list[Agent], list[Agent]]) -> None:
        """Shifts end, then others start: each agent is sent off or logged on."""
        kernel = self.kernel
        now = kernel.clock.now
        ending, starting = change
        for agent in ending:
            if agent.on_duty and not agent.leaving:
                kernel.send_off(agent, now)
        for agent in starting:
            if not agent.on_duty:
                kernel.log_on(agent, now)
            elif agent.leaving:  # its last contact of the previous shift is not done yet
                agent.leaving = False
                kernel.rejoin(agent, now)
