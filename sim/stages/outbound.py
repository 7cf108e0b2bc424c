"""Proactive outbound (``outbound`` block): campaign attempts that the dialer makes ready
are dialled by free agents of the dialling groups, when no inbound contact waits for them
and within ``outbound.max_share`` of those groups' agents on duty."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage
from sim.stages.dialer import Attempt, Dialer, OutboundCell

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.stages.profiles import Profiles
    from sim.state import Agent


class Outbound(Stage):
    """Wraps ``rest`` (a free agent dials before it idles) and provides ``dial``."""

    def __init__(self, kernel: Simulation, strategy_name: str | None, identity: IdentityStage,
                 profiles: Profiles) -> None:
        from policies.outbound import make_outbound

        super().__init__(kernel)
        spec = kernel.scenario.outbound
        assert spec is not None
        kernel.outbound = strategy_name or spec.strategies[0]
        strategy = make_outbound(kernel.outbound, spec.params_for(kernel.outbound),
                                 ("outbound", kernel.outbound))
        self.dialer = Dialer(kernel.clock, kernel.scenario, strategy, profiles.predictor,
                             profiles.store, identity.population, kernel.streams,
                             kernel.warmup, self._on_attempts_ready)
        self._dialling = [kernel.group_names.index(g) for g in spec.groups]
        self._share = spec.max_share
        rest = kernel.rest

        def dial_or_rest(agent: Agent, now: float) -> None:
            if not self.dial(agent, now):
                rest(agent, now)

        kernel.rest, kernel.dial = dial_or_rest, self.dial

    def start(self) -> None:
        self.dialer.start()

    def _on_attempts_ready(self) -> None:
        """Outbound attempts came due: free dialling agents take them, within the share."""
        kernel = self.kernel
        while self.dialer.ready:
            free = [a for g in self._dialling for a in kernel.agents[g] if a.idle and not a.held]
            if not free or not self.dial(min(free, key=lambda a: a.idle_since), kernel.clock.now):
                return

    def dial(self, agent: Agent, now: float) -> bool:
        """A free agent of a dialling group makes the oldest ready attempt, unless outbound
        already holds its share of the dialling groups' agents."""
        dialer, kernel = self.dialer, self.kernel
        if agent.group_index not in self._dialling:
            return False
        on_duty = sum(kernel.on_duty_by_group[g] for g in self._dialling)
        if not dialer.ready or dialer.working + 1 > self._share * on_duty:
            return False
        attempt = dialer.take_ready()
        if attempt is None:
            return False
        duration = dialer.begin(attempt, now)
        agent.idle = False
        if agent.capacity is not None:
            agent.open = ()  # until the capacity stage re-opens it
        agent.idle_serial += 1
        kernel.busy_from(agent, now)
        kernel.clock.schedule(duration, self._on_attempt_end, (agent, attempt))
        return True

    def _on_attempt_end(self, subject: tuple[Agent, Attempt]) -> None:
        agent, attempt = subject
        kernel = self.kernel
        now = kernel.clock.now
        self.dialer.end(attempt, now)
        if kernel.trace is not None:
            kernel.trace.attempt(kernel, agent, attempt, now)
        agent.held -= 1
        kernel.end_busy(agent, now)
        kernel.after_work(agent, now)

    def finish_run(self, end: float) -> None:
        self.dialer.close()

    def report(self, result: ReplicationResult) -> None:
        logged_in = self.kernel.cells.all_groups.logged_in
        total = OutboundCell()
        for name, cell in self.dialer.cells.items():
            total.add(cell)
            # Updated, not replaced: the costs stage adds revenue before this report.
            result.by_campaign.setdefault(name, {}).update(cell.figures(logged_in))
        result.overall.update(total.figures(logged_in))
