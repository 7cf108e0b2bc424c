"""Figures per agent (``ccsim run --by agent``, ``run(..., per_agent=True)``): contacts
handled, mean handle time, occupancy, utilisation and agent-hours of each agent in the
measured window, counted as the group cells count them (``Simulation.agent_done``,
``end_busy``, ``log_off``), so that the agents of a group add up to the group's figures.
One cell per agent: memory grows with the agents, not with the contacts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.kernel.metrics import GroupCell
from sim.stages import Stage

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.state import Agent

AGENT_FIGURES = ("handled", "aht_s", "occupancy", "utilisation", "agent_hours")
"""The figures of each agent (``agent_hours``: its logged-in hours in the window)."""


class AgentFigures(Stage):
    """Wraps the kernel's ``agent_done``, ``end_busy`` and ``log_off``."""

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        warmup = kernel.warmup
        self.cells: dict[int, GroupCell] = {}
        self.end = 0.0
        cells = self.cells
        agent_done, end_busy, log_off = kernel.agent_done, kernel.end_busy, kernel.log_off

        def cell_of(agent: Agent) -> GroupCell:
            cell = cells.get(agent.id)
            if cell is None:
                cell = cells[agent.id] = GroupCell()
            return cell

        def count_done(agent: Agent, now: float, handled: float) -> None:
            if now >= warmup:
                cell = cell_of(agent)
                cell.handled += 1
                cell.handle_sum += handled
            agent_done(agent, now, handled)

        def count_busy(agent: Agent, now: float) -> object:
            if not agent.held and now > warmup:
                cell_of(agent).busy += now - max(agent.busy_since, warmup)
            return end_busy(agent, now)

        def count_logged_in(agent: Agent, now: float) -> None:
            if now > warmup:
                cell_of(agent).logged_in += now - max(agent.logged_in_at, warmup)
            log_off(agent, now)

        kernel.agent_done, kernel.end_busy, kernel.log_off = (  # type: ignore[method-assign]
            count_done, count_busy, count_logged_in)

    def finish_run(self, end: float) -> None:
        warmup = self.kernel.warmup
        self.end = end
        for agents in self.kernel.agents:
            for agent in agents:
                cell = self.cells.setdefault(agent.id, GroupCell())
                if agent.held and end > warmup:
                    cell.busy += end - max(agent.busy_since, warmup)
                if agent.on_duty and end > warmup:
                    cell.logged_in += end - max(agent.logged_in_at, warmup)

    def report(self, result: ReplicationResult) -> None:
        measured = max(self.end - self.kernel.warmup, 0.0)
        for agents in self.kernel.agents:
            for agent in agents:
                cell = self.cells[agent.id]
                figures = cell.figures(measured)
                result.by_agent[agent.name] = {
                    **{name: figures[name] for name in AGENT_FIGURES[:-1]},
                    "agent_hours": cell.logged_in / 3600.0}
