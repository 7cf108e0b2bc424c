"""The kernel: moves contacts through time; the routing policy decides; stages add features.

Follow one contact: ``_on_arrival`` draws it and hands it to ``admit`` (count, then
``route``); ``route`` asks the policy for an idle agent (``start_service``) or ``hold``s the
contact, which by default ``enqueue``s it with a patience deadline. When an agent finishes
(``_on_finish``), ``completed`` counts the contact and ``on_free`` asks the policy for the
next waiting contact, or ``rest``s the agent in the idle indexes. A deadline that fires
while the contact still waits is an abandonment (``_on_patience_end``). Metrics go to one
accumulator cell per (type, interval of the day) (``sim.kernel.cells``).

Every step named above without a leading underscore is an instance attribute: a stage
(``sim.stages``) wraps or replaces the few steps its feature changes when the simulation
is assembled. A scenario without the feature has no stage for it, so its hot path runs
the plain steps below and tests no feature flag; when no stage changed them, ``run``
fuses them into closures (``sim.kernel.fused``: the same statements, a dozen Python
calls fewer per contact).

Why it looks the way it does: events are tuples on the kernel's own heap
(``sim.kernel.clock``), four times cheaper than SimPy events; abandonment deadlines are
cancelled lazily (a deadline that fires after the contact was answered is ignored); and
the contact's draws are taken at arrival, used or not (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from heapq import heappush
from typing import TYPE_CHECKING, Any, TypeVar

from policies import make_policy
from sim.errors import PolicyError
from sim.kernel.arrivals import TypeArrivals, day_factor_function
from sim.kernel.cells import MetricCells, ReplicationResult
from sim.kernel.clock import Clock, stop
from sim.kernel.fused import fuse
from sim.kernel.metrics import LINEAR_BIN_WIDTH, LINEAR_LIMIT, wait_bin
from sim.kernel.streams import RandomStreams
from sim.model.outcomes import QualityModel
from sim.model.scenario import AgentGroup, Scenario
from sim.stages import assemble
from sim.state import ABANDONED, IN_SERVICE, WAITING, Agent, Contact, RoutingState, new_contact

if TYPE_CHECKING:
    from policies import RoutingPolicy
    from sim.kernel.trace import TraceRows

INFINITY = math.inf
_PER_LINEAR_BIN = 1.0 / LINEAR_BIN_WIDTH
"""As in ``wait_bin``: the same float, so the same bin."""
StageType = TypeVar("StageType")


class Simulation:
    """One replication of one scenario under one routing policy.

    >>> result = Simulation(scenario, "fcfs", replication=0).run()   # doctest: +SKIP
    """

    def __init__(self, scenario: Scenario, policy: str | RoutingPolicy, replication: int = 0, *,
                 trace: TraceRows | None = None, progress: Callable[[float], None] | None = None,
                 verification: str | None = None, outbound: str | None = None,
                 per_agent: bool = False, by_weekday: bool = False) -> None:
        self.scenario = scenario
        self.replication = replication
        self.policy = make_policy(policy, scenario) if isinstance(policy, str) else policy
        self.policy_name = policy if isinstance(policy, str) else type(policy).name
        # Bound once: attribute lookups per contact add up on the hot path.
        self.select_agent = self.policy.select_agent
        self.select_contact = self.policy.select_contact
        self.clock = Clock()
        self._heap, self._order = self.clock.heap, self.clock.order
        self._lane = self.clock.lane
        run = scenario.run
        self.streams = RandomStreams(run.seed, replication)
        self.warmup = run.warmup
        self.max_arrivals = run.arrivals
        self.horizon = run.duration if run.duration is not None else INFINITY
        self._progress = progress
        self.type_names = tuple(scenario.contact_types)
        self.group_names = tuple(scenario.agents)
        day_factor = day_factor_function(scenario, self.streams)
        self.types = [TypeArrivals(name, self.streams, scenario, day_factor)
                      for name in self.type_names]
        skills = tuple(dict.fromkeys(s for g in scenario.agents.values() for s in g.skills))
        # The policy's own stream: its tie-breaks never shift a customer's draws.
        self.state = RoutingState(self.clock, self.type_names, skills,
                                  self.streams.generator("policy"))
        self.quality = QualityModel(scenario, self.streams)
        self.cells = MetricCells(scenario, by_weekday)
        for arrivals, cells in zip(self.types, self.cells.contact):
            arrivals.cells = cells
        self.agents: list[list[Agent]] = [[] for _ in self.group_names]
        self.on_duty_by_group = [0] * len(self.group_names)
        self._groups_serving = {name: [index for index, group in enumerate(
            scenario.agents.values()) if name in group.skills] for name in self.type_names}
        self.arrivals = 0
        # A float, as the time it multiplies: Python 3.11 specialises float * float only.
        self.queue_length = 0.0
        self._queue_area = 0.0
        self._queue_changed = 0.0
        # The current interval of the day, kept by a boundary event every interval so that
        # the hot path never computes it. ``_epoch`` changes at each boundary and at the end
        # of warm-up: a busy period that began in the current epoch lies wholly inside one
        # measured interval. Negative epochs mark warm-up.
        self.slot = 0
        self._epoch = 0 if self.warmup == 0 else -1
        # (epoch, slot, time) of the latest boundary, where ``end_busy`` splits a busy period
        # begun just before it as ``add_time`` would: boundaries on whole seconds are exact.
        self._split: tuple[int, int, float] | None = None
        self._whole_seconds = float(self.cells.interval).is_integer()
        self.verification: str | None = None
        self.outbound: str | None = None
        self.trace = trace
        # The events every contact schedules, bound once: reading a method off ``self``
        # makes a new bound method each time, and Python 3.11 specialises the read of an
        # instance attribute only when the class has no attribute of that name.
        self._on_arrival = self._arrival
        self._on_finish = self._finish
        self._on_patience_end = self._patience_end
        # Steps that stages may wrap or replace (see the module docstring).
        self.admit = self._admit
        self.route = self._route
        self.hold = self.enqueue = self._enqueue
        self.start_service = self._start_service
        self.assign = self._assign
        self.answered = self._answered
        self.service_time = self._service_time
        self.completed = self._completed
        self.release = self._release
        self.on_free = self._on_free
        self.pick_contact = self._pick_contact
        self.pick_among = self._pick_among
        self.rest = self._rest
        self.dial: Callable[[Agent, float], bool] = _no_dial
        self.abandoned: Callable[[Contact, float, float], None] = _nothing
        self.new_agent: Callable[[Agent], None] = _nothing
        self.stages = assemble(self, verification, outbound, per_agent)

    def stage(self, kind: type[StageType]) -> StageType | None:
        """The installed stage of type ``kind``; None when the scenario does not use it."""
        return next((stage for stage in self.stages if isinstance(stage, kind)), None)

    # ----------------------------------------------------------------- run
    def run(self) -> ReplicationResult:
        """Simulate the replication and return its metrics."""
        clock = self.clock
        fuse(self)
        for index, group in enumerate(self.scenario.agents.values()):
            if group.members:
                continue  # named agents: the named-agents stage logs each one on and off
            days = group.run_days_on_duty(self.cells.interval, self.cells.intervals,
                                          self.scenario.run.start_weekday)
            if len(days) == 1 and len(days[0]) == 1:
                self.set_staff(index, days[0][0][1])
            else:
                clock.daily(days, partial(self.set_staff, index))
        for arrivals in self.types:
            clock.schedule_arrival(arrivals.first_arrival(), self._on_arrival, arrivals)
        clock.schedule(self.cells.interval, self._on_interval_boundary)
        if self.warmup > 0:
            clock.schedule(self.warmup, self._on_warmup_end)
        if self._progress is not None and self.horizon < INFINITY:
            clock.process(self._report_progress(self._progress))
        for stage in self.stages:
            stage.start()
        clock.run(self.horizon)
        end = clock.now if self.max_arrivals is not None else self.horizon
        for stage in self.stages:
            stage.finish_run(end)
        self.cells.count_at_end(self, end)
        self.queue_change(end, 0.0)
        result = self.cells.result(self, end, self._queue_area)
        for stage in self.stages:
            stage.report(result)
        return result

    def _report_progress(self, report: Callable[[float], None]) -> Any:
        for percent in range(1, 101):
            yield self.horizon / 100
            report(percent / 100)

    def _on_warmup_end(self, _: None) -> None:
        # Time-weighted figures start at the end of warm-up.
        self._queue_area = 0.0
        self._queue_changed = self.clock.now
        self._epoch = abs(self._epoch) + 1
        self._split = None

    def _on_interval_boundary(self, _: None) -> None:
        cells, now = self.cells, self.clock.now
        self._split = (self._epoch, self.slot, now) if self._epoch >= 0 and self._whole_seconds \
            else None
        self.slot = round((now % cells.period) / cells.interval) % cells.slots
        self._epoch = self._epoch - 1 if self._epoch < 0 else self._epoch + 1
        self.clock.schedule(cells.interval, self._on_interval_boundary)

    def on_duty_for(self, contact_type: str) -> int:
        """Agents on duty now in the groups that have ``contact_type`` among their skills."""
        on_duty = self.on_duty_by_group
        return sum(on_duty[index] for index in self._groups_serving[contact_type])

    def drain_check(self) -> None:
        """With a count of arrivals: stop once the last one has arrived and everything
        has left (no queue, no agent at work, no stage holding a contact)."""
        if (self.arrivals == self.max_arrivals and self.queue_length == 0
                and not any(stage.pending() for stage in self.stages)
                and not any(a.held for agents in self.agents for a in agents)):
            self.clock.schedule(0.0, stop)

    # ----------------------------------------------------------- arrivals
    def _arrival(self, arrivals: TypeArrivals) -> None:
        if self.arrivals == self.max_arrivals:
            return  # another type's arrival reached the count first
        now = self.clock.now
        self.arrivals += 1
        _, patience, work, wrap_up = arrivals.pending
        if self.arrivals != self.max_arrivals:
            arrivals.pending = draws = next(arrivals.draws, None) or arrivals.refill()
            rate = arrivals.rate
            heappush(self._lane, (now + (draws[0] / rate if rate is not None
                                         else arrivals.clock.next_after(now, draws[0]) - now),
                                  next(self._order), self._on_arrival, arrivals))
        self.admit(new_contact(Contact, self.arrivals, arrivals.name, now, patience, work,
                               wrap_up, arrivals.cells[self.slot], now >= self.warmup), now)

    def _admit(self, contact: Contact, now: float) -> None:
        if contact.counted:
            contact.cell.arrivals += 1
        self.route(contact, now)

    def _route(self, contact: Contact, now: float) -> None:
        """Offer a contact to the policy: to an agent now, or hold it (queue)."""
        agent = self.select_agent(contact, self.state)
        if agent is None:
            self.hold(contact, now)
            return
        # check_agent, inlined: one call less per routed contact.
        if not (agent.idle and contact.type in (
                agent.skill_set if agent.capacity is None else agent.open)):
            self._refuse_agent(agent, contact)
        self.start_service(agent, contact, now)

    def check_agent(self, agent: Agent, contact: Contact) -> None:
        """Raise unless ``agent`` (a policy's pick) can take ``contact`` now."""
        if not (agent.idle and contact.type in (
                agent.skill_set if agent.capacity is None else agent.open)):
            self._refuse_agent(agent, contact)

    def _refuse_agent(self, agent: Agent, contact: Contact) -> None:
        raise PolicyError(f"{self.policy_name}.select_agent returned {agent!r}, which is "
                          f"not an idle agent with room for {contact.type!r}")

    def _enqueue(self, contact: Contact, now: float) -> None:
        contact.status = WAITING
        self.state.add_waiting(contact)
        if contact.counted:
            contact.cell.queued += 1
        self.wait(contact, now)

    def wait(self, contact: Contact, now: float) -> None:
        """A queued contact starts (or resumes) waiting, until its patience runs out."""
        self.state._waiting_count[contact.type] += 1
        self._queue_area += self.queue_length * (now - self._queue_changed)  # queue_change
        self._queue_changed = now
        self.queue_length += 1.0
        # Patience runs from queue entry (after the IVR) and is not reset by a ring.
        patience = contact.arrival + contact.patience - now
        if patience < INFINITY:
            heappush(self._heap, (now + (patience if patience > 0.0 else 0.0),
                                  next(self._order), self._on_patience_end, contact))

    def queue_change(self, now: float, change: float) -> None:
        """The number of waiting contacts changes by ``change`` now (time-weighted mean)."""
        self._queue_area += self.queue_length * (now - self._queue_changed)
        self._queue_changed = now
        self.queue_length += change

    def take_from_queue(self, contact: Contact, now: float) -> None:
        """A waiting contact leaves the queue now (answered or abandoned)."""
        self.state._waiting_count[contact.type] -= 1
        self._queue_area += self.queue_length * (now - self._queue_changed)  # queue_change
        self._queue_changed = now
        self.queue_length -= 1.0

    def _patience_end(self, contact: Contact) -> None:
        if contact.status != WAITING:
            return  # answered before the caller's patience ran out
        now = self.clock.now
        contact.status = ABANDONED
        self.take_from_queue(contact, now)
        waited = now - contact.arrival
        if contact.counted:
            cell = contact.cell
            cell.abandoned += 1
            cell.wait_abandoned_sum += waited
            if waited <= cell.sl_threshold:
                cell.abandoned_in_sl += 1
            if waited <= self.cells.short_abandon:
                cell.short_abandoned += 1
        self.abandoned(contact, now, waited)
        if self.arrivals == self.max_arrivals:
            self.drain_check()

    # ------------------------------------------------------------ service
    def _start_service(self, agent: Agent, contact: Contact, now: float) -> None:
        contact.status = IN_SERVICE
        contact.answered_at = now
        contact.agent = agent
        agent.contact = contact
        agent.held += 1
        if agent.held == 1:
            agent.busy_since = now
            agent.busy_epoch = self._epoch
        self.assign(agent, contact, now)
        self.answered(contact, now)
        heappush(self._heap, (now + self.service_time(agent, contact), next(self._order),
                              self._on_finish, contact))

    def _assign(self, agent: Agent, contact: Contact, now: float) -> None:
        agent.idle = False

    def _answered(self, contact: Contact, now: float) -> None:
        if contact.counted:
            cell = contact.cell
            wait = now - contact.arrival
            cell.answered += 1
            if wait <= cell.sl_threshold:
                cell.answered_in_sl += 1
            histogram = cell.histogram or cell.new_histogram()
            if wait > 0.0:
                cell.wait_answered_sum += wait
                # wait_bin's linear part, inlined: most answered waits are short.
                histogram[1 + math.floor(wait * _PER_LINEAR_BIN) if wait < LINEAR_LIMIT
                          else wait_bin(wait)] += 1
            else:
                histogram[0] += 1

    def _service_time(self, agent: Agent, contact: Contact) -> float:
        return contact.work / agent.speed_for[contact.type] + contact.wrap_up

    def _finish(self, contact: Contact) -> None:
        agent = contact.agent
        now = self.clock.now
        agent.held -= 1
        self.release(agent, contact)
        handled = now - contact.answered_at
        self.completed(contact, agent, now, handled)
        self.agent_done(agent, now, handled)

    def _release(self, agent: Agent, contact: Contact) -> None:
        agent.contact = None

    def _completed(self, contact: Contact, agent: Agent, now: float, handled: float) -> None:
        if contact.counted:
            cell = contact.cell
            cell.handled += 1
            cell.handle_sum += handled

    def agent_done(self, agent: Agent, now: float, handled: float) -> None:
        """An agent finished a contact (or an outbound attempt) of ``handled`` seconds: count
        its work, then give it the next one or let it go off duty."""
        group_cell = self.end_busy(agent, now)
        group_cell.handled += 1
        group_cell.handle_sum += handled
        if agent.leaving:
            self.after_work(agent, now)
        else:
            self.on_free(agent, now)  # after_work's usual case, one call less per contact

    def after_work(self, agent: Agent, now: float) -> None:
        """An agent is done with a piece of work: next work, or off duty if leaving."""
        if not agent.leaving:
            self.on_free(agent, now)
        elif not agent.held:
            self.log_off(agent, now)
            if self.arrivals == self.max_arrivals:
                self.drain_check()

    def end_busy(self, agent: Agent, now: float) -> Any:
        """The group cell that work finishing now counts in; adds the busy period that ends
        when the agent holds nothing more."""
        group_cells = self.cells.group[agent.group_index]
        if not agent.held:
            if agent.busy_epoch == self._epoch > 0:
                group_cell = group_cells[self.slot]  # busy period wholly inside this interval
                group_cell.busy += now - agent.busy_since
                return group_cell
            split = self._split
            if split is not None and agent.busy_epoch == split[0]:
                _, slot, boundary = split  # across the latest boundary: add_time's two pieces
                group_cells[slot].busy += boundary - agent.busy_since
                group_cell = group_cells[self.slot]
                group_cell.busy += now - boundary
                return group_cell
            self.cells.add_time(group_cells, "busy", agent.busy_since, now)
        return group_cells[self.slot] if now >= self.warmup else self.cells.warmup_sink

    def busy_from(self, agent: Agent, now: float) -> None:
        """The agent starts work now that is not a contact (an outbound attempt)."""
        agent.held += 1
        agent.busy_since = now
        agent.busy_epoch = self._epoch

    def _on_free(self, agent: Agent, now: float) -> None:
        contact = self.pick_contact(agent)
        if contact is None:
            self.rest(agent, now)
            return
        # take_from_queue, inlined: one call less per contact taken from the queue.
        self.state._waiting_count[contact.type] -= 1
        self._queue_area += self.queue_length * (now - self._queue_changed)
        self._queue_changed = now
        self.queue_length -= 1.0
        self.start_service(agent, contact, now)

    def _pick_contact(self, agent: Agent) -> Contact | None:
        contact = self.select_contact(agent, self.state)
        # checked_pick, inlined: one call less per freed agent.
        if contact is not None and not (contact.status == WAITING
                                        and contact.type in agent.skill_set):
            self._refuse_contact(agent, contact)
        return contact

    def _pick_among(self, agent: Agent, offer: tuple[str, ...]) -> Contact | None:
        if not offer:
            return None
        full = agent.open
        agent.open = offer  # what the policy sees the agent may take now
        contact = self.checked_pick(agent, offer)
        agent.open = full
        return contact

    def checked_pick(self, agent: Agent, offer: tuple[str, ...]) -> Contact | None:
        """The policy's pick for ``agent`` among waiting contacts of the types ``offer``."""
        contact = self.select_contact(agent, self.state)
        if contact is not None and not (contact.status == WAITING and contact.type in offer):
            self._refuse_contact(agent, contact)
        return contact

    def _refuse_contact(self, agent: Agent, contact: Contact) -> None:
        raise PolicyError(f"{self.policy_name}.select_contact returned {contact!r}, which "
                          f"is not a waiting contact that {agent!r} can take now")

    def _rest(self, agent: Agent, now: float) -> None:
        agent.idle = True
        agent.idle_since = now
        agent.idle_serial += 1
        self.state.add_idle(agent, agent.skills)
        if self.arrivals == self.max_arrivals:
            self.drain_check()

    # ----------------------------------------------------------- staffing
    def set_staff(self, group_index: int, target: int) -> None:
        """Bring the group's on-duty head count to ``target`` now."""
        now = self.clock.now
        agents = self.agents[group_index]
        active = [a for a in agents if a.on_duty and not a.leaving]
        if target > len(active):
            missing = target - len(active)
            for agent in agents:  # agents still finishing a contact stay on duty
                if missing and agent.leaving and not agent.away:
                    agent.leaving = False
                    missing -= 1
                    self.rejoin(agent, now)
            for _ in range(missing):
                self.log_on(self._off_duty_agent(group_index), now)
        elif target < len(active):
            surplus = len(active) - target
            # Idle agents leave first, the most recently idle first; busy ones leave
            # when they finish their contact.
            for agent in sorted(active, key=lambda a: (not a.idle, -a.idle_since)):
                if not surplus:
                    break
                self.send_off(agent, now)
                surplus -= 1

    def send_off(self, agent: Agent, now: float) -> None:
        """The agent goes off duty: now when free, else when it finishes its work (never
        cutting a contact short)."""
        if agent.idle and not agent.held:
            self.log_off(agent, now)
        else:
            agent.leaving = True
            self.leaving(agent, now)

    def rejoin(self, agent: Agent, now: float) -> None:
        """A leaving agent still at work is called back on duty (nothing to do by default)."""

    def leaving(self, agent: Agent, now: float) -> None:
        """An agent at work will go off duty when done (nothing to do by default)."""

    def _off_duty_agent(self, group_index: int) -> Agent:
        for agent in self.agents[group_index]:
            if not agent.on_duty and not agent.away:  # away: on a break, back by itself
                return agent
        return self.add_agent(group_index, self.scenario.agents[self.group_names[group_index]])

    def add_agent(self, group_index: int, profile: AgentGroup, name: str | None = None) -> Agent:
        """A new, off-duty agent of the group with ``profile``'s skills, levels, languages
        and speed (the group's own, or a named agent's)."""
        agent = Agent(sum(len(agents) for agents in self.agents), self.group_names[group_index],
                      group_index, tuple(profile.skills), profile.base_speed,
                      seat=len(self.agents[group_index]), name=name)
        self.quality.equip(agent, profile)
        self.new_agent(agent)
        self.state._seats[agent.seat] = agent
        self.agents[group_index].append(agent)
        return agent

    def log_on(self, agent: Agent, now: float) -> None:
        """The agent comes on duty now and takes work or rests."""
        agent.on_duty = True
        agent.logged_in_at = now
        self.on_duty_by_group[agent.group_index] += 1
        self.on_free(agent, now)

    def log_off(self, agent: Agent, now: float) -> None:
        """The agent goes off duty now."""
        agent.on_duty = False
        agent.idle = False
        agent.leaving = False
        self.on_duty_by_group[agent.group_index] -= 1
        self.cells.add_time(self.cells.group[agent.group_index], "logged_in",
                            agent.logged_in_at, now)


def _nothing(*_: Any) -> None:
    """The default of a notification no stage listens to."""



def _no_dial(agent: Agent, now: float) -> bool:
    """Without an outbound stage a free agent never dials."""
    return False
