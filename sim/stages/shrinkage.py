"""Shrinkage: breaks, meetings, aux time and absence take scheduled agents off the phones.

A group of anonymous agents with any of ``agents.G.breaks``, ``meetings``, ``absenteeism``
or ``aux`` has its head count on the phones set by this stage instead of the kernel's
staffing steps: at each step of the group's schedule (and at the start of every day) the
agents on the phones are those scheduled, less those absent today, less those away. (Named
agents take their breaks, absence and aux time themselves, ``sim.stages.named_agents``;
this stage counts their scheduled time and breaks.) An agent sent away goes as the
kernel sends agents off duty (``Simulation.send_off``): at once when free, else when it
finishes its work, so a break never cuts a contact short. While away it is off duty and
marked ``away``, so the kernel's staffing neither calls it back nor counts it free; it comes
back by itself when its break ends.

Which agent goes: the one on the phones the longest (earliest ``logged_in_at``), whatever it
is doing, as a roster names the agent due a break; a busy one goes late. Planned breaks of
a shift are spread evenly over their window, one per agent present.

Absence is drawn per agent and shift (per day for a group without shifts) from the
group's own stream ``absence/GROUP``; aux episodes from ``aux/GROUP`` and their lengths
from ``aux length/GROUP``: no other draw moves.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.kernel.streams import unit_exponential
from sim.model.units import DAY
from sim.stages import Stage

if TYPE_CHECKING:
    import numpy as np

    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.model.scenario import AgentGroup, Shift
    from sim.model.shrinkage import Aux, Break, Meeting
    from sim.stages.identity import IdentityStage
    from sim.state import Agent

SHRINKAGE_METRICS = ("scheduled_agent_hours", "productive_agent_hours", "shrinkage")
"""Figures of agent time, overall, per group and per interval."""
BREAK_METRICS = ("break_adherence", "break_lateness_s")
"""Figures of planned breaks, overall and per group."""


class _Seconds:
    """A per-interval holder of time for ``MetricCells.add_time``."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0


class Crew:
    """The agents of one shift (or, for a group without shifts, of the day) and who of
    them is absent in the current occurrence."""

    def __init__(self, shift: Shift | None, size: int, steps: list[tuple[float, int]],
                 breaks: tuple[Break, ...]) -> None:
        self.shift = shift
        self.start = shift.start if shift is not None else 0.0
        self.size = size
        self.breaks = shift.breaks if shift is not None and shift.breaks is not None \
            else breaks
        """The breaks each agent takes: the shift's own, else the group's."""
        self._times = [time for time, _ in steps]
        self._counts = [count for _, count in steps]
        self.occurrence: int | None = None
        """The day the current occurrence started on (drawn once per occurrence)."""
        self.absent: list[int] = []
        """Indexes of the absent agents (a day's agent k works where k < the count)."""

    def occurrence_at(self, day: int, time_of_day: float) -> int | None:
        """The day the occurrence on at (``day``, ``time_of_day``) started; None if off."""
        if self.shift is None:
            return day
        if not self.shift.covers(time_of_day):
            return None
        return day if time_of_day >= self.start else day - 1

    def present(self, time_of_day: float) -> int:
        """Agents scheduled at ``time_of_day`` in the current occurrence and not absent."""
        if self.shift is not None:
            return self.size - len(self.absent)
        scheduled = self._counts[bisect_right(self._times, time_of_day) - 1]
        return scheduled - sum(1 for k in self.absent if k < scheduled)


@dataclass
class Away:
    """Why an agent is away and when it comes back."""

    kind: str
    """break, meeting (which ends at its block's end for all) or aux."""
    length: float = 0.0
    """Seconds away once it has gone (breaks and aux)."""
    window_end: float = math.inf
    """Latest planned start of a break."""
    counted: bool = False
    """Whether the break counts in adherence (planned after warm-up)."""
    going: bool = False
    """Still on duty, finishing its work before it goes."""


class AuxClock:
    """Unplanned aux episodes of one group's agents (anonymous or named): while an agent is
    on duty an episode falls due after an exponential gap at ``aux.rate`` (from the group's
    stream ``aux/GROUP``), lasting a draw of ``aux length/GROUP``; ``send`` sends the agent
    away (at once when free, else after its contact)."""

    def __init__(self, kernel: Simulation, name: str, aux: Aux,
                 send: Callable[[Agent, Away], None]) -> None:
        self._clock = kernel.clock
        self._rate = aux.rate
        self._gap = kernel.streams.stream(f"aux/{name}", unit_exponential)
        self._length = kernel.streams.stream(f"aux length/{name}", aux.duration.sample)
        self._send = send
        self._serial: dict[Agent, int] = {}
        """Per agent, its log-ons and log-offs so far: an episode due from an earlier one is
        void."""

    def logged(self, agent: Agent, on: bool) -> None:
        """The agent has logged on (its clock starts afresh: gaps have no memory) or off
        (its clock stops)."""
        serial = self._serial[agent] = self._serial.get(agent, 0) + 1
        if on:
            self._next(agent, serial)

    def _next(self, agent: Agent, serial: int) -> None:
        self._clock.schedule(self._gap.next_value() / self._rate, self._on_due,
                             (agent, serial))

    def _on_due(self, subject: tuple[Agent, int]) -> None:
        agent, serial = subject
        if self._serial[agent] != serial:
            return  # the agent logged off since: a new clock runs from its next log-on
        if agent.leaving or agent.away:
            self._next(agent, serial)  # going anyway: draw the next episode
            return
        self._send(agent, Away("aux", self._length.next_value()))


class GroupPlan:
    """Shrinkage bookkeeping of one agent group."""

    def __init__(self, kernel: Simulation, index: int, name: str, group: AgentGroup) -> None:
        run = kernel.scenario.run
        self.index = index
        self.group = group
        self.steps = group.on_duty(run.interval, run.intervals_per_day)
        self.crews = ([Crew(shift, shift.count, self.steps, group.breaks)
                       for shift in group.shifts] if group.shifts is not None
                      else [Crew(None, max(count for _, count in self.steps), self.steps,
                                 group.breaks)])
        self.absence = kernel.streams.generator(f"absence/{name}")
        self.aux: AuxClock | None = None
        self.present = 0
        """Agents scheduled now and not absent."""
        self.away = 0
        """Agents away now or going (due a break, meeting or aux time)."""
        self.going = 0
        """Of those, agents still on duty finishing their work."""


class Shrinkage(Stage):
    """Breaks, meetings, aux time and absence of the groups that have them."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> Shrinkage | None:
        groups = kernel.scenario.agents
        return cls(kernel) if any(group.shrinks for group in groups.values()) else None

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        # Named agents take their breaks, absence and aux time themselves
        # (``sim.stages.named_agents``), which counts their scheduled time and breaks here.
        self.plans = {index: GroupPlan(kernel, index, name, group)
                      for index, (name, group) in enumerate(kernel.scenario.agents.items())
                      if group.shrinks and not group.members}
        cells = kernel.cells
        groups = len(kernel.group_names)
        self.scheduled = [[_Seconds() for _ in range(cells.slots)] for _ in range(groups)]
        """Scheduled agent-seconds per group and cell slot (interval of the day, of each
        weekday with ``by_weekday``)."""
        self._span = [_Seconds() for _ in range(cells.slots)]
        self._heads = [0] * groups
        self._since = [0.0] * groups
        self._away: dict[Agent, Away] = {}
        for plan in self.plans.values():
            if plan.group.aux is not None:
                plan.aux = AuxClock(kernel, kernel.group_names[plan.index], plan.group.aux,
                                    lambda agent, away, plan=plan: self._send(plan, agent, away))
        # Per group: breaks planned (after warm-up), started, started in their window, and
        # the seconds they started late.
        self.planned = [0] * groups
        self.started = [0] * groups
        self.on_time = [0] * groups
        self.lateness = [0.0] * groups
        set_staff, log_on, log_off = kernel.set_staff, kernel.log_on, kernel.log_off
        self._set_staff = set_staff

        def staff(group_index: int, scheduled: int) -> None:
            # The kernel's own steps; a shrinking group is staffed by this stage instead.
            if group_index not in self.plans:
                self.count_scheduled(group_index, scheduled)
                set_staff(group_index, scheduled)

        def on(agent: Agent, now: float) -> None:
            log_on(agent, now)
            plan = self.plans.get(agent.group_index)
            if plan is not None and plan.aux is not None:
                plan.aux.logged(agent, True)

        def off(agent: Agent, now: float) -> None:
            log_off(agent, now)
            plan = self.plans.get(agent.group_index)
            if plan is not None and plan.aux is not None:
                plan.aux.logged(agent, False)
            if agent.away and agent in self._away:  # else a named agent's break
                self._gone(agent, now)

        kernel.set_staff, kernel.log_on, kernel.log_off = staff, on, off

    # ---------------------------------------------------------------- the day
    def start(self) -> None:
        clock = self.kernel.clock
        for plan in self.plans.values():
            clock.process(self._days(plan))
            for meeting in plan.group.meetings:
                clock.schedule(meeting.start, self._on_meeting, (plan, meeting))

    def _days(self, plan: GroupPlan) -> Iterator[float]:
        clock = self.kernel.clock
        day = 0
        while True:
            for time_of_day, scheduled in plan.steps:
                wait = day * DAY + time_of_day - clock.now
                if wait > 0:
                    yield wait
                self._step(plan, day, time_of_day, scheduled)
            day += 1

    def _step(self, plan: GroupPlan, day: int, time_of_day: float, scheduled: int) -> None:
        self.count_scheduled(plan.index, scheduled)
        for crew in plan.crews:
            occurrence = crew.occurrence_at(day, time_of_day)
            if occurrence is not None and occurrence != crew.occurrence:
                self._begin(plan, crew, occurrence)
        plan.present = sum(crew.present(time_of_day) for crew in plan.crews
                           if crew.occurrence_at(day, time_of_day) is not None)
        self._set_staff(plan.index, max(plan.present - plan.away, 0))

    def _begin(self, plan: GroupPlan, crew: Crew, occurrence: int) -> None:
        """A new occurrence of a crew: who is absent, and when its breaks are due."""
        crew.occurrence = occurrence
        crew.absent = draw_absent(plan.absence, plan.group.absenteeism, crew.size)
        clock = self.kernel.clock
        begins = occurrence * DAY + crew.start
        for spec in crew.breaks:
            earliest, latest = spec.window
            agents = crew.present((crew.start + earliest) % DAY)
            for k in range(agents):
                due = begins + earliest + (k + 0.5) * (latest - earliest) / agents
                if due >= clock.now:
                    clock.schedule(due - clock.now, self._on_break_due, (
                        plan, Away("break", spec.duration, begins + latest,
                                   due >= self.kernel.warmup)))

    def count_scheduled(self, group_index: int, heads: int) -> None:
        """The group's scheduled head count is ``heads`` from now: add the time since the
        last change at the count then."""
        now = self.kernel.clock.now
        self._add_scheduled(group_index, now)
        self._heads[group_index] = heads

    def _add_scheduled(self, group_index: int, now: float) -> None:
        heads, since = self._heads[group_index], self._since[group_index]
        self._since[group_index] = now
        if heads and now > since:
            self.kernel.cells.add_time(self._span, "seconds", since, now)
            for cell, span in zip(self.scheduled[group_index], self._span):
                if span.seconds:
                    cell.seconds += heads * span.seconds
                    span.seconds = 0.0

    # ------------------------------------------------------------- away and back
    def _on_phones(self, plan: GroupPlan) -> list[Agent]:
        """Agents of the group free to be sent away, the longest on the phones first."""
        return sorted((a for a in self.kernel.agents[plan.index]
                       if a.on_duty and not a.leaving and not a.away),
                      key=lambda a: a.logged_in_at)

    def _send(self, plan: GroupPlan, agent: Agent, away: Away) -> None:
        agent.away = True
        plan.away += 1
        self._away[agent] = away
        self.kernel.send_off(agent, self.kernel.clock.now)
        if agent.on_duty:  # busy: goes when done
            away.going = True
            plan.going += 1

    def _on_break_due(self, subject: tuple[GroupPlan, Away]) -> None:
        plan, away = subject
        self.count_planned(plan.index, away)
        agents = self._on_phones(plan)
        if agents:  # else nobody is on the phones to take it: a missed break
            self._send(plan, agents[0], away)

    def _gone(self, agent: Agent, now: float) -> None:
        """An agent due away has logged off: its time away starts."""
        away = self._away[agent]
        self._arrived(agent, away)
        self.count_started(agent.group_index, away, now)
        if away.kind != "meeting":  # a meeting ends at its block's end for all
            self.kernel.clock.schedule(away.length, self._on_back, agent)

    def _arrived(self, agent: Agent, away: Away) -> None:
        """The agent is no longer finishing work before it goes (gone, or called back)."""
        if away.going:
            away.going = False
            self.plans[agent.group_index].going -= 1

    def _on_back(self, agent: Agent) -> None:
        plan = self.plans[agent.group_index]
        del self._away[agent]
        agent.away = False
        plan.away -= 1
        wanted = plan.present - plan.away
        # On duty and not going: an upper bound of the agents on the phones, exact unless
        # agents are leaving at a shift's end; then count them.
        on_phones = self.kernel.on_duty_by_group[plan.index] - plan.going
        if on_phones >= wanted:
            on_phones = sum(1 for a in self.kernel.agents[plan.index]
                            if a.on_duty and not a.leaving)
        if on_phones < wanted:  # else its shift ended meanwhile
            self.kernel.log_on(agent, self.kernel.clock.now)

    def _on_meeting(self, subject: tuple[GroupPlan, Meeting]) -> None:
        plan, meeting = subject
        attend = meeting.count if meeting.count is not None else math.floor(
            meeting.share * plan.present + 0.5)
        chosen = self._on_phones(plan)[:attend]
        for agent in chosen:
            self._send(plan, agent, Away("meeting"))
        clock = self.kernel.clock
        clock.schedule(meeting.duration, self._on_meeting_end, chosen)
        clock.schedule(DAY, self._on_meeting, subject)

    def _on_meeting_end(self, chosen: list[Agent]) -> None:
        kernel = self.kernel
        for agent in chosen:
            if agent.on_duty:  # still finishing its contact: it stays on the phones
                plan = self.plans[agent.group_index]
                self._arrived(agent, self._away.pop(agent))
                agent.away = agent.leaving = False
                plan.away -= 1
                kernel.rejoin(agent, kernel.clock.now)
            else:
                self._on_back(agent)

    # ---------------------------------------------------------------- figures
    def finish_run(self, end: float) -> None:
        for group_index in range(len(self._heads)):
            self._add_scheduled(group_index, end)
        for agent, away in self._away.items():
            self.uncount_undecided(agent, away, end)

    # ------------------------------------------------- break tallies (named agents' too)
    def count_planned(self, group_index: int, away: Away) -> None:
        """A break of the group is due."""
        if away.counted:
            self.planned[group_index] += 1

    def count_started(self, group_index: int, away: Away, now: float) -> None:
        """An agent of the group has gone on ``away`` now."""
        if away.kind == "break" and away.counted:
            self.started[group_index] += 1
            if now <= away.window_end:
                self.on_time[group_index] += 1
            else:
                self.lateness[group_index] += now - away.window_end

    def uncount_undecided(self, agent: Agent, away: Away, end: float) -> None:
        """At the run's ``end``: a break the agent is still finishing work before, still in
        its window, is neither on time nor late, so it is not counted."""
        if away.kind == "break" and away.counted and agent.on_duty and end <= away.window_end:
            self.planned[agent.group_index] -= 1

    def report(self, result: ReplicationResult) -> None:
        kernel = self.kernel
        cells = kernel.cells
        # Per interval of the day: the slots of every weekday of the cycle added up.
        productive = [_by_interval([cell.logged_in for cell in group], cells.intervals)
                      for group in cells.group]
        scheduled = [_by_interval([cell.seconds for cell in group], cells.intervals)
                     for group in self.scheduled]
        for index, name in enumerate(kernel.group_names):
            result.by_group[name].update(
                _time_figures(sum(scheduled[index]), sum(productive[index]))
                | _break_figures(self.planned[index], self.started[index],
                                 self.on_time[index], self.lateness[index]))
            for slot in range(cells.intervals):
                label = cells.interval_label(slot)
                if label in result.by_group_interval[name]:
                    result.by_group_interval[name][label].update(
                        _time_figures(scheduled[index][slot], productive[index][slot]))
        for slot in range(cells.intervals):
            label = cells.interval_label(slot)
            if label in result.by_interval:
                result.by_interval[label].update(_time_figures(
                    sum(group[slot] for group in scheduled),
                    sum(group[slot] for group in productive)))
        result.overall.update(
            _time_figures(sum(map(sum, scheduled)), sum(map(sum, productive)))
            | _break_figures(sum(self.planned), sum(self.started), sum(self.on_time),
                             sum(self.lateness)))


def draw_absent(absence: np.random.Generator, p: float, size: int) -> list[int]:
    """Which of ``size`` agents starting a shift occurrence are absent for it, each with
    chance ``p``: one uniform per agent from the group's stream ``absence/GROUP`` (named or
    anonymous agents alike), none drawn when ``p`` is 0."""
    return [k for k, u in enumerate(absence.random(size).tolist()) if u < p] if p > 0 else []


def _by_interval(slots: list[float], intervals: int) -> list[float]:
    return [sum(slots[slot::intervals]) for slot in range(intervals)]


def _time_figures(scheduled: float, productive: float) -> dict[str, float]:
    return {"scheduled_agent_hours": scheduled / 3600.0,
            "productive_agent_hours": productive / 3600.0,
            "shrinkage": 1.0 - productive / scheduled if scheduled > 0 else math.nan}


def _break_figures(planned: int, started: int, on_time: int,
                   lateness: float) -> dict[str, Any]:
    return {"break_adherence": on_time / planned if planned else math.nan,
            "break_lateness_s": lateness / started if started else math.nan}
