"""Named agents (``agents: {roster: FILE}``): each agent of the roster logs on at the start
of its own shift and off at its end, on the weekdays its shift starts on (every day by
default), keeping its identity all run (its own skills, levels, languages and speed, from
``AgentGroup.members``).

Where a group's head count only says how many agents are on duty (``set_staff`` sends home
whichever are idle), a named agent whose shift ends leaves itself: after its current
contact when it is busy, even while a colleague of its group is idle.

Breaks (the agent's own from the roster, else its group's) are taken once per shift: at
its planned start the agent goes as the kernel sends agents off (``Simulation.send_off``):
at once when free, else when it finishes its contact, so a break never cuts a contact
short. While on a break it is off duty and marked ``away``, which nothing else calls back;
it logs on again when the break is over, if its shift has not ended meanwhile. Planned
starts of the agents of a group that start at the same time with the same break are spread
evenly over its window, as the shrinkage stage spreads those of a shift.

With the group's ``absenteeism`` an agent is absent for a whole shift occurrence (an
all-day agent's day) with that chance, drawn when the occurrence starts from the group's
stream ``absence/GROUP`` as anonymous agents' absence is (``shrinkage.draw_absent``): it
stays off duty, its breaks not planned, while its shift still counts as scheduled. With
the group's ``aux`` each agent on duty has the aux clock of an anonymous agent
(``shrinkage.AuxClock``) and goes on aux time as on a break. The shrinkage stage (installed
whenever a group has breaks, absenteeism or aux) counts the scheduled hours and the breaks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.model.units import DAY
from sim.model.week import WEEKDAYS, run_days, weekday_of
from sim.stages import Stage
from sim.stages.shrinkage import AuxClock, Away, Shrinkage, draw_absent

if TYPE_CHECKING:
    import numpy as np

    from sim.kernel.kernel import Simulation
    from sim.model.scenario import NamedAgent
    from sim.model.shrinkage import Break
    from sim.stages.identity import IdentityStage
    from sim.state import Agent

Change = tuple[list["Agent"], list["Agent"]]
"""Agents whose shift ends, then agents whose shift starts, at one time of day."""


class NamedAgents(Stage):
    """Logs the roster's agents on and off (those absent from a shift not on) and sends
    them on their breaks and aux time; wraps ``log_off`` when an agent has breaks or aux,
    ``log_on`` when it has aux."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> NamedAgents | None:
        if not any(group.members for group in kernel.scenario.agents.values()):
            return None
        return cls(kernel)

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        self._shrinkage: Shrinkage | None = None
        self._on_shift: set[Agent] = set()
        self._heads = [0] * len(kernel.group_names)
        """Agents of each group on shift (scheduled), on a break or not."""
        self._due: dict[Agent, list[tuple[float, Break]]] = {}
        """Each agent's breaks and their planned start after the start of its shift."""
        self._away: dict[Agent, Away] = {}
        """The break each agent is on or going to."""
        self._pending: dict[Agent, list[Away]] = {}
        """Breaks that fell due while the agent was on another: taken right after it."""
        self._absence: dict[int, tuple[np.random.Generator, float]] = {
            index: (kernel.streams.generator(f"absence/{name}"), group.absenteeism)
            for index, (name, group) in enumerate(kernel.scenario.agents.items())
            if group.members and group.absenteeism > 0}
        """Per group with absenteeism: its stream ``absence/GROUP`` and the chance."""
        self._drawn: dict[Agent, float] = {}
        """When the shift occurrence began that each agent's absence was drawn for."""
        self._absent: set[Agent] = set()
        """Agents absent from their current shift occurrence: scheduled, never logged on."""
        self._aux = {index: AuxClock(kernel, name, group.aux, self._send)
                     for index, (name, group) in enumerate(kernel.scenario.agents.items())
                     if group.members and group.aux is not None}
        """Per group with aux time, its agents' aux clocks."""
        if self._aux:
            log_on = kernel.log_on

            def on(agent: Agent, now: float) -> None:
                log_on(agent, now)
                self._logged(agent, True)

            kernel.log_on = on
        if self._aux or any(m.breaks for group in kernel.scenario.agents.values()
                            for m in group.members):
            log_off = kernel.log_off

            def off(agent: Agent, now: float) -> None:
                log_off(agent, now)
                self._logged(agent, False)
                away = self._away.get(agent)
                if away is not None and away.going:
                    self._gone(agent, away, now)

            kernel.log_off = off

    def _logged(self, agent: Agent, on: bool) -> None:
        aux = self._aux.get(agent.group_index)
        if aux is not None:
            aux.logged(agent, on)

    def start(self) -> None:
        # Created now, after every stage is installed: their new_agent steps equip them.
        kernel = self.kernel
        self._shrinkage = kernel.stage(Shrinkage)
        start_weekday = kernel.scenario.run.start_weekday
        yesterday = weekday_of(-1, start_weekday)
        members: list[tuple[Agent, NamedAgent]] = []
        for index, group in enumerate(kernel.scenario.agents.values()):
            for member in group.members:
                agent = kernel.add_agent(index, member.profile, member.name)
                members.append((agent, member))
                if _all_day(member) or (member.start > member.end % DAY
                                        and member.starts_on(yesterday)):
                    # On duty at time 0: all day, or across midnight since yesterday.
                    self._shift_starts(agent, 0.0 if _all_day(member) else member.start - DAY)
                    if agent not in self._absent:
                        kernel.log_on(agent, 0.0)
        self._plan_breaks(members)
        if any(member.days is not None for _, member in members):
            days = run_days(lambda weekday: self._changes(members, weekday), start_weekday)
        else:
            days = (self._changes(members, None),)
        if days[0] or len(days) > 1:
            kernel.clock.daily(days, self._change)

    def _changes(self, members: list[tuple[Agent, NamedAgent]],
                 weekday: str | None) -> list[tuple[float, Change]]:
        """The day's shift changes on ``weekday`` (None: on every day alike)."""
        yesterday = None if weekday is None else WEEKDAYS[WEEKDAYS.index(weekday) - 1]
        changes: dict[float, Change] = {}
        for agent, member in members:
            if _all_day(member):
                if agent in self._due or agent.group_index in self._absence:
                    # Never off, but its breaks are due (its absence drawn) every day.
                    changes.setdefault(0.0, ([], []))[1].append(agent)
                continue
            starts = member.starts_on(weekday)
            if starts:
                changes.setdefault(member.start, ([], []))[1].append(agent)
            # A shift past midnight (or all day on some weekdays) ends on the next day; all
            # day on two days running, the agent stays on at midnight.
            ends = member.starts_on(weekday if member.start < member.end % DAY else yesterday)
            if ends and not (starts and member.start == member.end % DAY):
                changes.setdefault(member.end % DAY, ([], []))[0].append(agent)
        return sorted(changes.items())

    def _plan_breaks(self, members: list[tuple[Agent, NamedAgent]]) -> None:
        """Each agent's planned break starts: the agents of a group starting at the same
        time with the same break spread evenly over its window, in roster order."""
        cohorts: dict[tuple[int, float, float, float, float], list[Agent]] = {}
        for agent, member in members:
            for spec in member.breaks:
                cohorts.setdefault((agent.group_index, member.start, spec.duration,
                                    *spec.window), []).append(agent)
        for agent, member in members:
            for spec in member.breaks:
                cohort = cohorts[(agent.group_index, member.start, spec.duration,
                                  *spec.window)]
                earliest, latest = spec.window
                share = (cohort.index(agent) + 0.5) / len(cohort)
                self._due.setdefault(agent, []).append(
                    (earliest + share * (latest - earliest), spec))

    def _change(self, change: Change) -> None:
        """Shifts end, then others start: each agent is sent off or logged on."""
        kernel = self.kernel
        now = kernel.clock.now
        ending, starting = change
        for agent in ending:
            self._shift_ends(agent)
            if agent.on_duty and not agent.leaving:
                kernel.send_off(agent, now)
        for agent in starting:
            self._shift_starts(agent, now)
            if agent in self._absent:
                if agent.on_duty and not agent.leaving:  # on all day, absent from today on
                    kernel.send_off(agent, now)
                continue
            if agent.away:
                continue  # on a break, or going to one: back by itself
            if not agent.on_duty:
                kernel.log_on(agent, now)
            elif agent.leaving:  # its last contact of the previous shift is not done yet
                agent.leaving = False
                kernel.rejoin(agent, now)

    # ------------------------------------------------------------- shifts
    def _shift_starts(self, agent: Agent, begins: float) -> None:
        """The agent's shift, started at ``begins``, is on: it counts as scheduled, and,
        unless the agent is absent from it, its breaks are planned."""
        if agent not in self._on_shift:
            self._on_shift.add(agent)
            self._count(agent.group_index, +1)
        absence = self._absence.get(agent.group_index)
        if absence is not None and self._drawn.get(agent) != begins:  # once per occurrence
            self._drawn[agent] = begins
            if draw_absent(*absence, 1):
                self._absent.add(agent)
            else:
                self._absent.discard(agent)
        if agent in self._absent:
            return
        clock = self.kernel.clock
        for offset, spec in self._due.get(agent, ()):
            due = begins + offset
            if due >= clock.now:
                clock.schedule(due - clock.now, self._on_break_due, (agent, Away(
                    "break", spec.duration, begins + spec.window[1],
                    due >= self.kernel.warmup)))

    def _shift_ends(self, agent: Agent) -> None:
        if agent in self._on_shift:
            self._on_shift.discard(agent)
            self._count(agent.group_index, -1)

    def _count(self, group_index: int, change: int) -> None:
        self._heads[group_index] += change
        if self._shrinkage is not None:
            self._shrinkage.count_scheduled(group_index, self._heads[group_index])

    # ------------------------------------------------------------- breaks
    def _on_break_due(self, subject: tuple[Agent, Away]) -> None:
        agent, away = subject
        assert self._shrinkage is not None  # installed whenever a group has breaks
        self._shrinkage.count_planned(agent.group_index, away)
        if agent.away:  # on an earlier break still (it started late)
            self._pending.setdefault(agent, []).append(away)
        elif agent.on_duty and not agent.leaving:
            self._send(agent, away)

    def _send(self, agent: Agent, away: Away) -> None:
        """The agent on the phones goes on ``away`` (a break or aux time): at once when
        free, else when it finishes its contact."""
        agent.away = away.going = True
        self._away[agent] = away
        self.kernel.send_off(agent, self.kernel.clock.now)  # free: gone already

    def _gone(self, agent: Agent, away: Away, now: float) -> None:
        """The agent's break (or aux time) starts now."""
        assert self._shrinkage is not None
        away.going = False
        self._away[agent] = away
        self._shrinkage.count_started(agent.group_index, away, now)
        self.kernel.clock.schedule(away.length, self._on_back, agent)

    def _on_back(self, agent: Agent) -> None:
        now = self.kernel.clock.now
        pending = self._pending.get(agent)
        if pending:
            self._gone(agent, pending.pop(0), now)
            return
        del self._away[agent]
        agent.away = False
        if agent in self._on_shift and agent not in self._absent:
            self.kernel.log_on(agent, now)

    def finish_run(self, end: float) -> None:
        if self._shrinkage is not None:
            for agent, away in self._away.items():
                self._shrinkage.uncount_undecided(agent, away, end)


def _all_day(member: NamedAgent) -> bool:
    """On duty all day every day: logged on at time 0, never off."""
    return member.start == 0.0 and member.end == DAY and member.days is None
