"""The simulation engine: moves contacts through time; the routing policy decides.

Design of the hot path (why it looks the way it does):

* SimPy is the clock and the event heap, but per-contact events are plain
  callbacks, not one ``Process`` per contact: a generator-based process per
  contact plus a ``Resource`` costs about four times as much per contact
  (measured here: 60k vs 245k contacts/s on the benchmark model). The
  callbacks sit on re-armed events (``_Timer``): one per agent for its next
  finish, one per contact type for its next arrival. Processes are used only
  for rare events (staffing changes, progress).
* Abandonment is a pooled ``_Timer`` armed only when a contact has to queue;
  when it fires after the contact was answered it is ignored (lazy cancel),
  which is cheaper than removing it from the heap.
* Inter-arrival, patience, work and wrap-up values come from per-purpose
  block-buffered streams (``sim.streams``) and are drawn at arrival for every
  contact, used or not, so that every policy run on the same scenario and
  seed sees the same contacts (common random numbers).
* Metrics go to one accumulator cell per (contact type, interval of the day);
  totals are sums computed at the end.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy
from simpy.events import NORMAL, Timeout

from .customers import FRAUD, GENUINE, PROSPECT, Customer
from .errors import PolicyError
from .identity import Caller, IdentityModel
from .outcomes import QualityModel, constant_stream, follow_up_streams
from .metrics import (
    AGENT_METRICS,
    ContactCell,
    GroupCell,
    RING_METRICS,
    TRACK_MATCHING,
    TRACK_OMNI,
    TRACK_OUTCOMES,
    IdentityCell,
    merged_contacts,
    merged_groups,
    wait_bin,
)
from .scenario import DAY, Scenario
from .dialer import Dialer, OutboundCell
from .profile import (
    ABANDONED as LEFT, INBOUND, SELF_SERVED, SERVED, Interaction, InteractionPredictor,
    PredictorConfig, Priors, ProfileStore,
)
from .state import (
    ABANDONED, BLOCKED, IN_SERVICE, RINGING, SCHEDULED, WAITING, Agent, Contact, RoutingState,
)
from .streams import RandomStreams, unit_exponential
from .trace import TraceWriter

if TYPE_CHECKING:
    from policies import RoutingPolicy

INFINITY = math.inf


@dataclass
class ReplicationResult:
    """Metrics of one replication of one policy, ready for tables and JSON."""

    policy: str
    replication: int
    overall: dict[str, float]
    verification: str | None = None
    """Verification strategy, when the scenario has an identity block."""
    by_type: dict[str, dict[str, float]] = field(default_factory=dict)
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)
    by_interval: dict[str, dict[str, float]] = field(default_factory=dict)
    by_tier: dict[str, dict[str, float]] = field(default_factory=dict)
    """Contact metrics per customer tier (and ``unknown`` callers), with customers."""
    wait_histogram: list[int] = field(default_factory=list)
    """Answered contacts per wait bin (``sim.metrics.bin_edges``), all types together."""
    outbound: str | None = None
    """Outbound strategy, when the scenario has an outbound block."""
    by_channel: dict[str, dict[str, float]] = field(default_factory=dict)
    """Contact metrics per channel (each channel's own SL threshold)."""
    by_campaign: dict[str, dict[str, float]] = field(default_factory=dict)
    """Outbound metrics per campaign."""


class _Timer(simpy.Event):
    """A re-armable SimPy event for a thing that has at most one pending wake-up.

    Each agent has one (its next finish) and each contact type one (its next
    arrival). Re-arming costs a list and a heap push, about half of building a
    new ``Timeout`` per event, which is the largest fixed cost per contact.
    """

    def __init__(self, env: simpy.Environment, callback: Callable[[Any], None], subject: Any):
        super().__init__(env)
        # Always a successful event, as a Timeout would be.
        self._ok = True
        self._value = None
        self._callback = callback
        self.subject = subject
        """What the wake-up is about (agent, contact type or contact); read by the callback."""
        self.callbacks = None  # not pending until armed

    def arm(self, delay: float) -> None:
        """Fire the callback ``delay`` seconds from now."""
        self.callbacks = [self._callback]
        self.env.schedule(self, NORMAL, delay)


class _ArrivalClock:
    """Next-arrival times of a Poisson process with piecewise-constant rate.

    Uses the time change of a unit-rate process: the next arrival after ``t``
    is where the integrated rate has grown by one Exp(1) draw. Exact for rates
    that change per interval of the day and per day (busyness multiplier).
    """

    def __init__(self, rates: tuple[float, ...], interval: float, day_factor: Callable[[int], float]):
        self._rates = rates
        self._interval = interval
        self._day_factor = day_factor

    def next_after(self, t: float, exp1: float) -> float:
        rates, interval = self._rates, self._interval
        last = len(rates) - 1
        while True:
            day = int(t // DAY)
            slot = min(int((t - day * DAY) // interval), last)
            slot_end = day * DAY + (slot + 1) * interval
            rate = rates[slot] * self._day_factor(day)
            if rate > 0.0:
                step = exp1 / rate
                if t + step < slot_end:
                    return t + step
                exp1 -= rate * (slot_end - t)
            t = slot_end


class _TypeRuntime:
    """Per-contact-type streams and arrival clock for one replication.

    The four per-contact draws come from four independent streams but are
    handed out together by one zipped iterator: one C-level ``next()`` per
    contact instead of four Python calls.
    """

    __slots__ = ("name", "index", "_streams", "draws", "clock", "rate", "pending", "cells", "timer")

    def __init__(self, name: str, index: int, streams: RandomStreams, scenario: Scenario,
                 day_factor: Callable[[int], float] | None) -> None:
        spec = scenario.contact_types[name]
        self.name = name
        self.index = index
        self.cells: list[ContactCell] = []
        # Patience and wrap-up streams exist only when the scenario has them, so
        # adding patience to a type leaves its arrivals and handle times unchanged.
        self._streams = (
            streams.stream(f"arrivals/{name}", unit_exponential),
            streams.stream(f"patience/{name}", spec.patience.sample)
            if spec.patience is not None else constant_stream(INFINITY),
            streams.stream(f"service/{name}", _recorded_work(spec.handle_time.sample,
                                                             spec.arrivals.trace_services)
                           if spec.arrivals.service == "recorded" else spec.handle_time.sample),
            streams.stream(f"wrapup/{name}", spec.wrap_up.sample)
            if spec.wrap_up is not None else constant_stream(0.0),
        )
        self.draws: Iterator[tuple[float, float, float, float]] = iter(())
        """Per-contact draws of the current blocks; ``refill`` when exhausted."""
        self.pending = self.refill()
        """Draws of the next contact: (Exp(1) before its arrival, patience, work, wrap-up)."""
        arrivals = spec.arrivals
        # A constant rate with no busyness takes the fast path t + E/rate.
        self.rate = arrivals.rate if (arrivals.rate is not None and day_factor is None) else None
        self.clock: _ArrivalClock | _TraceClock
        if arrivals.trace is not None:
            self.clock = _TraceClock(arrivals.trace_times)
        else:
            rates = arrivals.rates or (arrivals.rate,) * scenario.run.intervals_per_day
            self.clock = _ArrivalClock(tuple(float(r) for r in rates), scenario.run.interval,
                                       day_factor or (lambda day: 1.0))

    def refill(self) -> tuple[float, float, float, float]:
        """Draw the next blocks and return the first contact's draws: (Exp(1) for the
        inter-arrival time before it, patience, work, wrap-up)."""
        self.draws = zip(*(stream.next_block() for stream in self._streams))
        return next(self.draws)

    def first_arrival(self) -> float:
        """Time of the first arrival."""
        exp1 = self.pending[0]
        return exp1 / self.rate if self.rate is not None else self.clock.next_after(0.0, exp1)


class _TraceClock:
    """Next-arrival times of a replayed trace: its recorded times in order, then never.

    Same interface as ``_ArrivalClock`` so the arrival handler needs no branch;
    the Exp(1) draw is still taken per contact (and ignored), which keeps the
    contact's other draws where they would be.
    """

    def __init__(self, times: tuple[float, ...]) -> None:
        self._times = iter(times)

    def next_after(self, t: float, exp1: float) -> float:
        return next(self._times, INFINITY)


def _recorded_work(draw: Callable[[np.random.Generator, int], np.ndarray],
                   recorded: tuple[float, ...]) -> Callable[[np.random.Generator, int], np.ndarray]:
    """A work sampler that hands out recorded values in arrival order, and a drawn value
    where a contact has none. Every contact's value is drawn either way, so the stream's
    draws for later contacts are the same as without recorded work."""
    values = np.asarray(recorded, dtype=float)
    position = 0

    def sample(rng: np.random.Generator, size: int) -> np.ndarray:
        nonlocal position
        work = np.array(draw(rng, size), dtype=float)
        chunk = values[position:position + size]
        position += size
        known = ~np.isnan(chunk)
        work[:len(chunk)][known] = chunk[known]
        return work

    return sample


class Simulation:
    """One replication of one scenario under one routing policy.

    >>> result = Simulation(scenario, "fcfs", replication=0).run()   # doctest: +SKIP
    """

    def __init__(
        self,
        scenario: Scenario,
        policy: str | RoutingPolicy,
        replication: int = 0,
        *,
        trace: TraceWriter | None = None,
        progress: Callable[[float], None] | None = None,
        verification: str | None = None,
        outbound: str | None = None,
    ) -> None:
        self.scenario = scenario
        self.replication = replication
        from policies import make_policy  # late: policies import sim for their types

        self.policy = make_policy(policy, scenario) if isinstance(policy, str) else policy
        # Bound once: attribute lookups per contact add up on the hot path.
        self._select_agent = self.policy.select_agent
        self._select_contact = self.policy.select_contact
        self.policy_name = policy if isinstance(policy, str) else type(policy).name
        self.env = simpy.Environment()
        run = scenario.run
        self._streams = RandomStreams(run.seed, replication)
        self._warmup = run.warmup
        self._interval = run.interval
        self._intervals = run.intervals_per_day
        self._short_abandon = scenario.service_level.short_abandon
        self._capacity = scenario.waiting_room.capacity if scenario.waiting_room else None
        self._max_arrivals = run.arrivals
        self._horizon = run.duration if run.duration is not None else INFINITY
        self._trace = trace
        self._progress = progress

        self._type_names = tuple(scenario.contact_types)
        self._group_names = tuple(scenario.agents)
        day_factor = self._day_factor_function()
        self._types = [
            _TypeRuntime(name, i, self._streams, scenario, day_factor)
            for i, name in enumerate(self._type_names)
        ]
        skills = tuple(dict.fromkeys(s for g in scenario.agents.values() for s in g.skills))
        # The policy's own stream: its tie-breaks never shift a customer's draws.
        self.state = RoutingState(self.env, self._type_names, skills,
                                  self._streams.generator("policy"))
        self._recheck = getattr(self.policy, "recheck_after", None)
        self._observe = getattr(self.policy, "observe", None)
        self._free_recheck_timers: list[_Timer] = []
        self._quality = QualityModel(scenario, self._streams)
        # Plain flags: read on every contact, cheaper than two attribute lookups.
        self._quality_active = self._quality.active
        self._repeats = self._quality.repeats
        self._outcome_draw = (self._quality.outcome_draw
                              if self._quality.outcomes is not None else None)
        if verification is not None and scenario.identity is None:
            raise ValueError(f"verification strategy {verification!r} given, but scenario "
                             f"{scenario.name!r} has no identity block")
        self.verification = verification or (
            scenario.identity.verification.strategies[0] if scenario.identity else None)
        self._cost_per_second = (scenario.identity.agent_cost_per_hour / 3600.0
                                 if scenario.identity is not None else 0.0)
        self._identity = self._identity_model()
        self._channels = {name: t.channel for name, t in scenario.contact_types.items()}
        self._in_ivr: set[Contact] = set()
        self._free_ivr_timers: list[_Timer] = []
        self._set_up_channels(scenario)
        self._omni = _omnichannel(scenario)
        identity_cells = scenario.identity is not None
        tracks = ((TRACK_OUTCOMES if scenario.outcomes is not None else 0)
                  | (TRACK_MATCHING if scenario.matching is not None else 0)
                  | (TRACK_OMNI if self._omni else 0))

        def cells_of(type_name: str) -> list[ContactCell]:
            return [ContactCell(identity_cells, tracks, self._sl_for[type_name])
                    for _ in range(self._intervals)]

        self._contact_cells = [cells_of(name) for name in self._type_names]
        for runtime, cells in zip(self._types, self._contact_cells):
            runtime.cells = cells
        # With customers, contacts of a known customer count in per-tier cells instead, so
        # that every figure also exists per tier (abandonment of VIPs, ...).
        self._tier_names = tuple(scenario.customers.tiers) if scenario.customers else ()
        self._patience_factor = scenario.customers.patience_factor if scenario.customers else {}
        self._tier_cells = {(type_name, tier): cells_of(type_name)
                            for type_name in self._type_names for tier in self._tier_names}
        self._group_cells = [[GroupCell(group.mobile is not None) for _ in range(self._intervals)]
                             for group in scenario.agents.values()]
        self._free_ring_timers: list[_Timer] = []
        self._pending_repeats = 0
        self._repeat_serial = 10**9  # repeat contacts' ids, apart from first contacts'
        self._last_agent = (self._identity.population.columns.last_agent
                            if self._identity is not None else None)
        self._agents: list[list[Agent]] = [[] for _ in self._group_names]
        self._next_agent_id = 0
        self._arrivals = 0
        self._queue_length = 0
        self._queue_area = 0.0
        self._queue_changed = 0.0
        self._drained: simpy.Event | None = None
        # Patience timers are pooled: one that fires is free for the next caller.
        self._free_patience_timers: list[_Timer] = []
        # The current interval of the day, kept by a boundary event every interval so
        # that the hot path never computes it. ``_epoch`` changes at each boundary and
        # at the end of warm-up: a busy period that began in the current epoch lies
        # wholly inside one measured interval.
        self._slot = 0
        self._warmup_sink = GroupCell()  # agent figures of contacts finished in warm-up
        self._epoch = 0 if self._warmup == 0 else -1
        self._set_up_profiles_and_outbound(scenario, outbound)

    # ----------------------------------------------------------------- set-up
    def _identity_model(self) -> IdentityModel | None:
        scenario = self.scenario
        if scenario.customers is None:
            return None
        strategy = None
        if self.verification is not None:
            from policies.verification import make_strategy

            strategy = make_strategy(self.verification, scenario)
        # Customers' preferred hours follow the traffic: weight of each hour of the day.
        per_interval = np.zeros(self._intervals)
        for ctype in scenario.contact_types.values():
            arrivals = ctype.arrivals
            per_interval += np.asarray(arrivals.rates if arrivals.rates is not None
                                       else [arrivals.rate] * self._intervals, dtype=float)
        starts = np.arange(self._intervals) * self._interval
        hours = np.bincount((starts // 3600).astype(int) % 24, weights=per_interval, minlength=24)
        self._hour_weights = hours
        owners = tuple((name, group.seats(self._interval, self._intervals), group.owns.tiers,
                        group.owns.share)
                       for name, group in scenario.agents.items() if group.owns is not None)
        return IdentityModel(scenario.customers, scenario.identity, strategy, self._streams,
                             self._type_names, hours, owners)

    def _set_up_channels(self, scenario: Scenario) -> None:
        """Per-type SL thresholds, handle-time stretch, deferrable work, capacity tables, and
        the draws of retrials, callbacks and journeys."""
        specs = scenario.channels or {}
        default = scenario.service_level.threshold
        channel_names = scenario.channel_names()
        self._sl_for: dict[str, float] = {}
        self._stretch: dict[str, float] = {}
        self._channel_of_type = {name: channel_names.index(t.channel)
                                 for name, t in scenario.contact_types.items()}
        for name, ctype in scenario.contact_types.items():
            spec = specs.get(ctype.channel)
            threshold = spec.service_level if spec is not None else None
            self._sl_for[name] = default if threshold is None else threshold
            self._stretch[name] = spec.concurrency_factor if spec is not None else 0.0
        self._deferrable = frozenset(name for name, t in scenario.contact_types.items()
                                     if t.channel in specs and specs[t.channel].deferrable)
        self._deferrable_share = (scenario.blending.deferrable_max_share
                                  if scenario.blending is not None else 1.0)
        self._deferrable_in_service = 0
        self._capacity_tables = {
            name: _CapacityTable(group.skills, group.capacity, channel_names,
                                 self._channel_of_type)
            for name, group in scenario.agents.items()
            if group.capacity is not None and any(sum(m.values()) > 1 for m in group.capacity)}
        self._multi_in_service: set[Contact] = set()
        self._free_finish_timers: list[_Timer] = []
        self._on_duty_by_group = [0] * len(scenario.agents)
        self._groups_of_type = {name: [i for i, g in enumerate(scenario.agents.values())
                                       if name in g.skills] for name in scenario.contact_types}
        self._mean_work = {name: t.handle_time.mean for name, t in scenario.contact_types.items()}
        types = scenario.contact_types
        streams = self._streams
        self._retrial = {name: (t.retrial, streams.stream(f"retrial/{name}", _uniform_pairs),
                                streams.stream(f"retrial/{name}/delay", t.retrial.delay.sample))
                         for name, t in types.items() if t.retrial is not None}
        targets = {target for name, t in types.items() if t.retrial is not None
                   for target in (name, *t.retrial.switch)}
        self._retrial_draws = {target: follow_up_streams(streams, f"retrial/{target}",
                                                         types[target])
                               for target in targets}
        self._callbacks = {name: (t.callback, streams.stream(f"callback/{name}", _uniform_pairs))
                           for name, t in types.items() if t.callback is not None}
        self._scheduled: set[Contact] = set()
        self._journeys = {name: (t.journey, streams.stream(f"journey/{name}", _uniform_pairs))
                          for name, t in types.items() if t.journey is not None}

    def _set_up_profiles_and_outbound(self, scenario: Scenario, outbound: str | None) -> None:
        """Customer profiles and the predictor (with a predictor or outbound block), and the
        outbound dialer."""
        self.outbound: str | None = None
        self._dialer: Dialer | None = None
        self._profiles: ProfileStore | None = None
        if outbound is not None and scenario.outbound is None:
            raise ValueError(f"outbound strategy {outbound!r} given, but scenario "
                             f"{scenario.name!r} has no outbound block")
        self._seen: bytearray | None = None
        if self._identity is None:
            return
        population = self._identity.population
        if self._omni:
            self._seen = bytearray(population.size)  # customers who made contact (measured)
        if scenario.predictor is None and scenario.outbound is None:
            return
        config = scenario.predictor or PredictorConfig()
        store = ProfileStore(population.size, config.history_kept)
        store.seed_history(population, self._streams.generator("profile/history"),
                           config.history_days)
        patience: dict[str, list[float]] = {}
        for ctype in scenario.contact_types.values():
            patience.setdefault(ctype.channel, []).append(
                ctype.patience.mean if ctype.patience is not None else INFINITY)
        priors = Priors.from_population(population, self._hour_weights,
                                        {c: float(np.mean(v)) for c, v in patience.items()})
        predictor = InteractionPredictor(store, priors, config)
        self._profiles = store
        self.state.predictor = predictor
        if scenario.outbound is None:
            return
        from policies.outbound import make_outbound

        self.outbound = outbound or scenario.outbound.strategies[0]
        strategy = make_outbound(self.outbound, scenario.outbound.params_for(self.outbound),
                                 ("outbound", self.outbound))
        self._dialer = Dialer(self.env, scenario, strategy, predictor, store, population,
                              self._streams, self._warmup, self._on_attempts_ready)
        self._dialling = [self._group_names.index(g) for g in scenario.outbound.groups]
        self._dial_share = scenario.outbound.max_share
        self._free_attempt_timers: list[_Timer] = []

    def _day_factor_function(self) -> Callable[[int], float] | None:
        busyness = self.scenario.busyness
        if busyness is None:
            return None
        stream = self._streams.stream("busyness", busyness.sample)
        factors: list[float] = []

        def factor(day: int) -> float:
            while len(factors) <= day:
                factors.append(stream.next_value())
            return factors[day]

        return factor

    def _start(self) -> None:
        env = self.env
        for index, group in enumerate(self.scenario.agents.values()):
            steps = group.on_duty(self._interval, self._intervals)
            if len(steps) == 1:
                self._set_staff(index, steps[0][1])
            else:
                env.process(self._staffing(index, steps))
        for runtime in self._types:
            runtime.timer = _Timer(env, self._on_arrival, runtime)
            runtime.timer.arm(runtime.first_arrival())
        Timeout(env, self._interval).callbacks.append(self._on_interval_boundary)
        if self._warmup > 0:
            Timeout(env, self._warmup).callbacks.append(self._on_warmup_end)
        if self._progress is not None and self._horizon < INFINITY:
            env.process(self._report_progress(self._progress))
        if self._max_arrivals is not None:
            self._drained = env.event()
        if self._dialer is not None:
            self._dialer.start()

    def _staffing(self, group_index: int, steps: list[tuple[float, int]]) -> Any:
        env = self.env
        day = 0
        while True:
            for time_of_day, count in steps:
                wait = day * DAY + time_of_day - env.now
                if wait > 0:
                    yield env.timeout(wait)
                self._set_staff(group_index, count)
            day += 1

    def _report_progress(self, report: Callable[[float], None]) -> Any:
        step = self._horizon / 100
        for percent in range(1, 101):
            yield self.env.timeout(step)
            report(percent / 100)

    def _on_warmup_end(self, event: simpy.Event) -> None:
        # Time-weighted figures start at the end of warm-up.
        self._queue_area = 0.0
        self._queue_changed = self.env.now
        self._epoch = abs(self._epoch) + 1

    def _on_interval_boundary(self, event: simpy.Event) -> None:
        now = self.env.now
        self._slot = round((now % DAY) / self._interval) % self._intervals
        # Negative epochs mark warm-up: busy periods then take the exact clipped path.
        self._epoch = self._epoch - 1 if self._epoch < 0 else self._epoch + 1
        Timeout(self.env, self._interval).callbacks.append(self._on_interval_boundary)

    # ---------------------------------------------------------------- staffing
    def _set_staff(self, group_index: int, target: int) -> None:
        now = self.env.now
        agents = self._agents[group_index]
        active = [a for a in agents if a.on_duty and not a.leaving]
        if target > len(active):
            missing = target - len(active)
            for agent in agents:  # agents still finishing a contact stay on duty
                if missing and agent.leaving:
                    agent.leaving = False
                    missing -= 1
                    if agent.capacity is not None:
                        self._fill(agent, now)  # room again beside what it still holds
            for _ in range(missing):
                agent = self._off_duty_agent(group_index)
                agent.on_duty = True
                agent.logged_in_at = now
                self._on_duty_by_group[group_index] += 1
                self._agent_free(agent, now)
        elif target < len(active):
            surplus = len(active) - target
            # Idle agents leave first, the most recently idle first; busy ones leave
            # when they finish their contact.
            for agent in sorted(active, key=lambda a: (not a.idle, -a.idle_since)):
                if not surplus:
                    break
                if agent.idle and not agent.held:
                    self._log_off(agent, now)
                else:
                    agent.leaving = True
                    if agent.capacity is not None:
                        self._open_agent(agent, now)  # takes nothing more while it finishes
                surplus -= 1

    def _off_duty_agent(self, group_index: int) -> Agent:
        for agent in self._agents[group_index]:
            if not agent.on_duty:
                return agent
        group = self.scenario.agents[self._group_names[group_index]]
        agent = Agent(self._next_agent_id, self._group_names[group_index], group_index,
                      tuple(group.skills), group.speed, seat=len(self._agents[group_index]))
        self._quality.equip(agent, group)
        agent.capacity = self._capacity_tables.get(self._group_names[group_index])
        if agent.capacity is not None:
            agent.load = agent.capacity.empty
        agent.blends = bool(self._deferrable.intersection(group.skills))
        self.state._seats[agent.seat] = agent
        agent.timer = _Timer(self.env, self._on_finish, agent)
        self._next_agent_id += 1
        self._agents[group_index].append(agent)
        return agent

    def _log_off(self, agent: Agent, now: float) -> None:
        agent.on_duty = False
        agent.idle = False
        agent.leaving = False
        self._on_duty_by_group[agent.group_index] -= 1
        self._add_time(self._group_cells[agent.group_index], "logged_in", agent.logged_in_at, now)

    # ---------------------------------------------------------------- hot path
    def _on_arrival(self, event: _Timer) -> None:
        if self._arrivals == self._max_arrivals:
            return  # another type's arrival reached the count first
        runtime: _TypeRuntime = event.subject
        now = self.env.now
        self._arrivals += 1
        _, patience, work, wrap_up = runtime.pending
        if self._arrivals != self._max_arrivals:
            runtime.pending = draws = next(runtime.draws, None) or runtime.refill()
            rate = runtime.rate
            runtime.timer.arm(draws[0] / rate if rate is not None
                              else runtime.clock.next_after(now, draws[0]) - now)
        counted = now >= self._warmup
        cell = runtime.cells[self._slot]
        contact = Contact(self._arrivals, runtime.name, now, patience, work, wrap_up, cell,
                          counted)
        if self._outcome_draw is not None:
            contact.outcome_u = self._outcome_draw(runtime.name)
        if self._identity is not None:
            self._resolve_identity(contact, now)
        else:
            if counted:
                cell.arrivals += 1
            self._route(contact, now)

    def _route(self, contact: Contact, now: float) -> None:
        """Offer a contact to the policy: to an agent now, or into the queue."""
        cell = contact.cell
        counted = contact.counted
        # Deferrable work over its share of agents waits, whatever the policy would pick.
        agent = None if (self._deferrable and contact.type in self._deferrable
                         and self._deferrable_full()) else self._select_agent(contact, self.state)
        if agent is not None:
            self._check_agent(agent, contact)  # type: ignore[arg-type]
            self._start_service(agent, contact, now)  # type: ignore[arg-type]
        elif self._capacity is not None and self._queue_length >= self._capacity:
            contact.status = BLOCKED
            if counted:
                cell.blocked += 1  # type: ignore[attr-defined]
            if self._trace is not None:
                self._trace.contact(self, contact, "blocked", now)
            self._check_drained()
        elif self._callbacks and contact.type in self._callbacks and not contact.callback \
                and self._offer_callback(contact, now):
            return
        else:
            contact.status = WAITING
            state = self.state
            if contact.queued_once:  # back from an unanswered mobile agent: keep arrival order
                _insert_by_arrival(state._waiting[contact.type], contact)
            else:
                state._waiting[contact.type].append(contact)
                contact.queued_once = True
                if counted:
                    cell.queued += 1  # type: ignore[attr-defined]
            state._waiting_count[contact.type] += 1
            self._queue_area += self._queue_length * (now - self._queue_changed)
            self._queue_changed = now
            self._queue_length += 1
            # Patience runs from queue entry (after the IVR) and is not reset by a ring.
            patience = contact.arrival + contact.patience - now
            if patience < INFINITY:
                timers = self._free_patience_timers
                timer = timers.pop() if timers else _Timer(self.env, self._on_patience_end, None)
                timer.subject = contact
                timer.arm(max(patience, 0.0))
            if self._recheck is not None:
                self._arm_recheck(contact)

    def _check_agent(self, agent: Agent, contact: Contact) -> None:
        """Raise unless ``agent`` (a policy's pick) can take ``contact`` now."""
        if not (agent.idle and contact.type in (
                agent.skill_set if agent.capacity is None else agent.open)):
            raise PolicyError(f"{self.policy_name}.select_agent returned {agent!r}, which is "
                              f"not an idle agent with room for {contact.type!r}")

    def _start_service(self, agent: Agent, contact: Contact, now: float, ring: bool = True) -> None:
        if ring and agent.mobile:
            self._ring(agent, contact, now)
            return
        contact.status = IN_SERVICE
        contact.answered_at = now
        contact.agent = agent
        agent.contact = contact
        agent.held += 1
        if agent.held == 1:
            agent.busy_since = now
            agent.busy_epoch = self._epoch
        if self._deferrable and contact.type in self._deferrable:
            self._deferrable_in_service += 1
        stretch = 1.0
        if agent.capacity is None:
            agent.idle = False
        else:
            channel = self._channel_of_type[contact.type]
            stretch += self._stretch[contact.type] * agent.load[channel]
            agent.load = _plus(agent.load, channel, 1)
            self._multi_in_service.add(contact)
            self._open_agent(agent, now)
        if contact.counted and contact.reached:  # an unreached call back was never answered
            cell: ContactCell = contact.cell  # type: ignore[assignment]
            wait = now - contact.arrival
            cell.answered += 1
            if wait <= cell.sl_threshold:
                cell.answered_in_sl += 1
            if wait > 0.0:
                cell.wait_answered_sum += wait
                cell.histogram[wait_bin(wait)] += 1
            else:
                cell.histogram[0] += 1
        if self._trace is not None:
            self._trace.contact(self, contact, "answered", now)
        caller = contact.identity
        # A caller the agent refuses gets verification and wrap-up, but no service.
        work = 0.0 if caller is not None and caller.verified is False else contact.work
        speed = agent.speed_for[contact.type]
        customer = contact.customer
        if customer is not None:
            self._last_agent[customer.id] = agent.id  # type: ignore[index]
        if self._quality_active:
            speed = self._quality.decide(agent, contact)
        duration = work / speed * stretch + contact.wrap_up + contact.agent_extra
        if contact.callback:  # the agent dials first; an unreached call back ends there
            dial = self._callbacks[contact.type][0].dial_time
            duration = dial + duration if contact.reached else dial
        if agent.capacity is None:
            timer = agent.timer
        else:
            timers = self._free_finish_timers
            timer = timers.pop() if timers else _Timer(self.env, self._on_finish, None)
        timer.subject = contact  # type: ignore[attr-defined]
        timer.arm(duration)  # type: ignore[attr-defined]

    def _on_finish(self, event: _Timer) -> None:
        contact: Contact = event.subject
        agent = contact.agent
        assert agent is not None
        now = self.env.now
        agent.held -= 1
        if agent.capacity is None:
            agent.contact = None
        else:
            self._free_finish_timers.append(event)
            self._multi_in_service.discard(contact)
            agent.load = _plus(agent.load, self._channel_of_type[contact.type], -1)
        if self._deferrable and contact.type in self._deferrable:
            self._deferrable_in_service -= 1
        handled = now - contact.answered_at
        if not contact.reached:
            if contact.counted:
                contact.cell.callbacks_unreached += 1  # type: ignore[attr-defined]
                contact.cell.wait_unreached_sum += (  # type: ignore[attr-defined]
                    contact.answered_at - contact.arrival)
            self._agent_done(agent, now, handled)
            return
        if self._profiles is not None:
            self._record_inbound(contact, now, SERVED, contact.answered_at - contact.arrival)
        if contact.counted:
            cell: ContactCell = contact.cell  # type: ignore[assignment]
            if contact.callback:
                cell.callbacks_completed += 1
            cell.handled += 1
            cell.handle_sum += handled
            if cell.tracks:
                cell.resolved += contact.resolved
                cell.matched += contact.matched
            caller = contact.identity
            if caller is not None and cell.identity is not None and not contact.repeat:
                identity = cell.identity
                identity.agent_verify_sum += caller.agent_verify_s
                identity.cost_sum += (caller.agent_verify_s * self._cost_per_second
                                      + caller.agent_fee)
                _conclude(identity, caller)
        if self._repeats and not contact.resolved:
            self._schedule_repeat(contact, now)
        if self._observe is not None:
            self._observe(contact, agent, handled, self.state)
        self._agent_done(agent, now, handled)

    def _agent_done(self, agent: Agent, now: float, handled: float) -> None:
        """An agent finished a contact (or an outbound attempt) of ``handled`` seconds: count
        its work, then give it the next one or let it go off duty."""
        group_cell = self._end_busy(agent, now)
        group_cell.handled += 1
        group_cell.handle_sum += handled
        if not agent.leaving:
            self._agent_free(agent, now)
        elif not agent.held:
            self._log_off(agent, now)
            self._check_drained()

    def _end_busy(self, agent: Agent, now: float) -> GroupCell:
        """The group cell work finishing now counts in; adds the busy period that ends when
        the agent holds nothing more."""
        group_cells = self._group_cells[agent.group_index]
        if not agent.held and agent.busy_epoch == self._epoch > 0:
            group_cell = group_cells[self._slot]  # busy period wholly inside this interval
            group_cell.busy += now - agent.busy_since
            return group_cell
        if not agent.held:
            self._add_time(group_cells, "busy", agent.busy_since, now)
        return group_cells[self._slot] if now >= self._warmup else self._warmup_sink

    def _agent_free(self, agent: Agent, now: float) -> None:
        if agent.capacity is not None:
            self._fill(agent, now)
            return
        if agent.blends:
            agent.open = offer = self._blend(agent.skills)
            contact = self._select_contact(agent, self.state) if offer else None
            agent.open = agent.skills
        else:
            offer = agent.skills
            contact = self._select_contact(agent, self.state)
        if contact is None:
            if self._dialer is not None and agent.group_index in self._dialling \
                    and self._dial(agent, now):
                return
            agent.idle = True
            agent.idle_since = now
            agent.idle_serial += 1
            idle = self.state._idle
            entry = (agent, agent.idle_serial)
            for skill in agent.skills:
                idle[skill].append(entry)
            if self._arrivals == self._max_arrivals:
                self._check_drained()
            return
        self._check_contact(agent, contact, offer)
        self._take_from_queue(contact, now)  # type: ignore[arg-type]
        self._start_service(agent, contact, now)  # type: ignore[arg-type]

    def _check_contact(self, agent: Agent, contact: Any, offer: tuple[str, ...]) -> None:
        """Raise unless ``contact`` (a policy's pick for ``agent``) waits and is on offer."""
        if not (contact.status == WAITING and contact.type in offer):
            raise PolicyError(f"{self.policy_name}.select_contact returned {contact!r}, which is "
                              f"not a waiting contact that {agent!r} can take now")

    def _take_from_queue(self, contact: Contact, now: float) -> None:
        self.state._waiting_count[contact.type] -= 1
        self._queue_area += self._queue_length * (now - self._queue_changed)
        self._queue_changed = now
        self._queue_length -= 1

    # ------------------------------------------------- capacity, blending, outbound
    def _fill(self, agent: Agent, now: float) -> None:
        """An agent that may hold several contacts has room: it takes waiting contacts while
        they fit, then waits (in the idle indexes of the types that still fit)."""
        self._open_agent(agent, now)
        while agent.idle:
            full = agent.open
            offer = self._blend(full) if agent.blends else full
            if not offer:
                break
            agent.open = offer
            contact = self._select_contact(agent, self.state)
            agent.open = full
            if contact is None:
                break
            self._check_contact(agent, contact, offer)
            self._take_from_queue(contact, now)  # type: ignore[arg-type]
            self._start_service(agent, contact, now)  # type: ignore[arg-type]
        if not agent.held and self._dialer is not None and agent.group_index in self._dialling:
            self._dial(agent, now)
        if not agent.held and self._arrivals == self._max_arrivals:
            self._check_drained()

    def _open_agent(self, agent: Agent, now: float) -> None:
        """Put an agent that may hold several contacts into the idle indexes of the types
        that still fit beside what it holds (none when it is full or leaving)."""
        fits = () if agent.leaving or not agent.on_duty else agent.capacity.open(agent.load)
        agent.open = fits
        agent.idle_serial += 1
        if not fits:
            agent.idle = False
            return
        agent.idle = True
        agent.idle_since = now
        entry = (agent, agent.idle_serial)
        idle = self.state._idle
        for skill in fits:
            idle[skill].append(entry)

    def _deferrable_full(self) -> bool:
        return self._deferrable_in_service >= self._deferrable_share * sum(self._on_duty_by_group)

    def _blend(self, types: tuple[str, ...]) -> tuple[str, ...]:
        """``types`` less deferrable work while a real-time contact of them waits or the
        deferrable share is reached."""
        deferrable = self._deferrable
        waiting = self.state._waiting_count
        if self._deferrable_full() or any(waiting[t] for t in types if t not in deferrable):
            return tuple(t for t in types if t not in deferrable)
        return types

    def _on_attempts_ready(self) -> None:
        """Outbound attempts came due: free dialling agents take them, within the share."""
        assert self._dialer is not None
        while self._dialer.ready:
            free = [a for g in self._dialling for a in self._agents[g] if a.idle and not a.held]
            if not free or not self._dial(min(free, key=lambda a: a.idle_since), self.env.now):
                return

    def _dial(self, agent: Agent, now: float) -> bool:
        """A free dialling agent makes the oldest ready attempt, unless outbound already
        holds its share of the dialling groups' agents."""
        dialer = self._dialer
        assert dialer is not None
        on_duty = sum(self._on_duty_by_group[g] for g in self._dialling)
        if not dialer.ready or dialer.working + 1 > self._dial_share * on_duty:
            return False
        attempt = dialer.ready.popleft()
        duration = dialer.begin(attempt, now)
        agent.idle = False
        if agent.capacity is not None:
            agent.open = ()  # until _fill re-opens it (one-at-a-time agents keep their skills)
        agent.idle_serial += 1
        agent.held += 1
        agent.busy_since = now
        agent.busy_epoch = self._epoch
        timers = self._free_attempt_timers
        timer = timers.pop() if timers else _Timer(self.env, self._on_attempt_end, None)
        timer.subject = (agent, attempt)
        timer.arm(duration)
        return True

    def _on_attempt_end(self, event: _Timer) -> None:
        agent, attempt = event.subject
        self._free_attempt_timers.append(event)
        now = self.env.now
        assert self._dialer is not None
        self._dialer.end(attempt, now)
        agent.held -= 1
        self._end_busy(agent, now)
        if not agent.leaving:
            self._agent_free(agent, now)
        else:
            self._log_off(agent, now)
            self._check_drained()

    def _offer_callback(self, contact: Contact, now: float) -> bool:
        """Offer a call back when the predicted wait exceeds the threshold. True when the
        contact leaves the line for a later slot (scheduled); a virtual-hold acceptance
        keeps its place in the queue, off the line (it no longer abandons)."""
        spec, draws = self._callbacks[contact.type]
        agents = sum(self._on_duty_by_group[g] for g in self._groups_of_type[contact.type])
        predicted = ((self.state._waiting_count[contact.type] + 1) * self._mean_work[contact.type]
                     / max(agents, 1))
        if predicted <= spec.threshold:
            return False
        accept_u, reach_u = draws.next_value()  # type: ignore[misc]
        cell: ContactCell = contact.cell  # type: ignore[assignment]
        if contact.counted:
            cell.callbacks_offered += 1
        if accept_u >= spec.accept:
            return False
        if contact.counted:
            cell.callbacks_accepted += 1
        contact.callback = True
        contact.reached = reach_u < spec.reach
        contact.patience = INFINITY
        if spec.mode == "virtual_hold":
            return False
        contact.status = SCHEDULED
        self._scheduled.add(contact)
        Timeout(self.env, spec.delay).callbacks.append(lambda event: self._on_slot(contact))
        return True

    def _on_slot(self, contact: Contact) -> None:
        """A scheduled call back's slot: it joins the queue now (waits count from here)."""
        self._scheduled.discard(contact)
        now = self.env.now
        contact.arrival = now
        self._route(contact, now)

    def _on_patience_end(self, event: _Timer) -> None:
        contact: Contact = event.subject
        self._free_patience_timers.append(event)
        if contact.status != WAITING:
            return  # answered before the caller's patience ran out
        now = self.env.now
        contact.status = ABANDONED
        self._take_from_queue(contact, now)
        waited = now - contact.arrival
        cell: ContactCell = contact.cell  # type: ignore[assignment]
        if contact.counted:
            cell.abandoned += 1
            cell.wait_abandoned_sum += waited
            if waited <= cell.sl_threshold:
                cell.abandoned_in_sl += 1
            if waited <= self._short_abandon:
                cell.short_abandoned += 1
        if self._profiles is not None:
            self._record_inbound(contact, now, LEFT, waited)
        if self._trace is not None:
            self._trace.contact(self, contact, "abandoned", now)
        if self._retrial and contact.type in self._retrial:
            self._schedule_retrial(contact)
        self._check_drained()

    def _resolve_identity(self, contact: Contact, now: float) -> None:
        """Passive resolution, IVR and verification; then queue, or end in the IVR."""
        assert self._identity is not None
        journey = self._journeys.get(contact.type) if self._journeys else None
        escalated = logged_in = False
        if journey is not None:
            spec, uniforms = journey
            escalated_u, login_u = uniforms.next_value()  # type: ignore[misc]
            escalated = escalated_u < spec.share
            logged_in = escalated and login_u < spec.recognised
        caller = self._identity.resolve(contact.type, self._channels[contact.type], now,
                                        logged_in)
        customer = contact.customer = caller.customer
        if customer is not None:
            tier = customer.tier
            contact.cell = self._tier_cells[contact.type, tier][self._slot]
            # Same draw, scaled: a tier's patience factor keeps common random numbers.
            contact.patience *= self._patience_factor.get(tier, 1.0)
        if contact.counted:
            cell = contact.cell
            cell.arrivals += 1  # type: ignore[attr-defined]
            if escalated:
                # Recognised: the session's login carried over, or passive resolution knew
                # the genuine customer (a stranger, prospect or fraudster is not a hit).
                cell.journeys += 1  # type: ignore[attr-defined]
                cell.journeys_recognised += (  # type: ignore[attr-defined]
                    caller.kind == GENUINE and caller.identified)
            if self._seen is not None and customer is not None and caller.kind == GENUINE:
                self._seen[customer.id] = 1
        if escalated and self._profiles is not None and customer is not None \
                and caller.kind == GENUINE:
            self._profiles.record(customer.id, Interaction(now, now, journey[0].start,
                                                           "digital", "escalated"))
        identity = contact.cell.identity  # type: ignore[attr-defined]
        if identity is None:  # customers without an identity block: no IVR, no checks
            self._route(contact, now)
            return
        contact.identity = caller
        contact.agent_extra = caller.agent_verify_s
        if contact.counted:
            kind = caller.kind
            if kind == GENUINE:
                identity.genuine += 1
            elif kind == PROSPECT:
                identity.prospects += 1
            else:
                identity.fraud_attempts += 1
            identity.passive_identified += caller.identified
            if caller.flags:
                identity.flagged += 1
                identity.flagged_fraud += kind == FRAUD
            identity.ivr_verify_sum += caller.ivr_verify_s
            identity.cost_sum += caller.ivr_fee
        delay = caller.ivr_s + caller.ivr_verify_s
        if delay <= 0.0 and not (caller.self_service or caller.refused_in_ivr):
            self._route(contact, now)
            return
        timers = self._free_ivr_timers
        timer = timers.pop() if timers else _Timer(self.env, self._on_ivr_end, None)
        timer.subject = contact
        timer.arm(delay)
        self._in_ivr.add(contact)

    def _on_ivr_end(self, event: _Timer) -> None:
        contact: Contact = event.subject
        self._free_ivr_timers.append(event)
        self._in_ivr.discard(contact)
        now = self.env.now
        caller = contact.identity
        assert caller is not None
        if not (caller.self_service or caller.refused_in_ivr):
            contact.arrival = now  # waits are measured from queue entry
            self._route(contact, now)
            return
        if caller.self_service and self._profiles is not None:
            self._record_inbound(contact, now, SELF_SERVED, 0.0)
        if contact.counted:
            identity = contact.cell.identity  # type: ignore[attr-defined]
            if caller.self_service:
                identity.self_served += 1
            else:
                identity.refused_in_ivr += 1
                _conclude(identity, caller)
        if self._trace is not None:
            outcome = "self_service" if caller.self_service else "refused_in_ivr"
            self._trace.contact(self, contact, outcome, now)
        self._check_drained()

    # ------------------------------------------------- policy re-checks, rings, repeats
    def _arm_recheck(self, contact: Contact) -> None:
        delay = self._recheck(contact, self.state)  # type: ignore[misc]
        if delay is None:
            return
        timers = self._free_recheck_timers
        timer = timers.pop() if timers else _Timer(self.env, self._on_recheck, None)
        timer.subject = contact
        timer.arm(max(float(delay), 0.0))

    def _on_recheck(self, event: _Timer) -> None:
        """A policy asked to look at a waiting contact again (its eligible pool widened)."""
        contact: Contact = event.subject
        self._free_recheck_timers.append(event)
        if contact.status != WAITING:
            return
        agent = self._select_agent(contact, self.state)
        if agent is None:
            self._arm_recheck(contact)
            return
        self._check_agent(agent, contact)  # type: ignore[arg-type]
        now = self.env.now
        self._take_from_queue(contact, now)
        self._start_service(agent, contact, now)  # type: ignore[arg-type]

    def _ring(self, agent: Agent, contact: Contact, now: float) -> None:
        """A mobile agent's phone rings; answered or not, decided when the ringing ends."""
        agent.idle = False
        agent.ringing = True
        agent.contact = contact
        contact.status = RINGING
        # A ringing contact still waits (its wait runs until answered): it counts in the
        # queue length, so that Little's law holds with waits that include ringing.
        self._queue_area += self._queue_length * (now - self._queue_changed)
        self._queue_changed = now
        self._queue_length += 1
        delay, answers = self._quality.ring_draw(agent.group)
        timers = self._free_ring_timers
        timer = timers.pop() if timers else _Timer(self.env, self._on_ring_end, None)
        timer.subject = (agent, contact, answers)
        timer.arm(delay)

    def _on_ring_end(self, event: _Timer) -> None:
        agent, contact, answers = event.subject
        self._free_ring_timers.append(event)
        now = self.env.now
        agent.ringing = False
        self._queue_area += self._queue_length * (now - self._queue_changed)
        self._queue_changed = now
        self._queue_length -= 1
        cell = self._group_cells[agent.group_index][self._slot] if now >= self._warmup \
            else self._warmup_sink
        cell.ring_offers += 1
        if answers and not agent.leaving:
            cell.ring_answered += 1
            self._start_service(agent, contact, now, ring=False)
            return
        agent.contact = None
        contact.unanswered += (agent.id,)
        if agent.leaving:
            self._log_off(agent, now)
        else:
            self._agent_free(agent, now)
        self._route(contact, now)  # back to the center

    def _schedule_repeat(self, contact: Contact, now: float) -> None:
        """An unresolved contact: the same customer calls again about it later."""
        delay, *draws = self._quality.repeat_draw(contact.type)
        self._pending_repeats += 1
        Timeout(self.env, delay).callbacks.append(
            lambda event: self._on_follow_up(contact, contact.type, draws, retrial=False))

    def _schedule_retrial(self, contact: Contact) -> None:
        """An abandoned contact: the customer may try again later, maybe on another type."""
        spec, uniforms, delays = self._retrial[contact.type]
        retry_u, switch_u = uniforms.next_value()  # type: ignore[misc]
        delay = delays.next_value()
        if retry_u >= spec.probability:
            return
        target = contact.type
        for name, share in spec.switch.items():
            if switch_u < share:
                target = name
                break
            switch_u -= share
        draws = [stream.next_value() for stream in self._retrial_draws[target]]
        if contact.counted:
            contact.cell.retried += 1  # type: ignore[attr-defined]
        self._pending_repeats += 1
        Timeout(self.env, delay).callbacks.append(
            lambda event: self._on_follow_up(contact, target, draws, retrial=True))

    def _on_follow_up(self, first: Contact, type_name: str, draws: list[float],
                      retrial: bool) -> None:
        """The same customer contacts again: a repeat of an unresolved contact, or a retry
        of an abandoned one. A known caller: no new IVR or verification."""
        patience, work, wrap_up, outcome_u = draws
        self._pending_repeats -= 1
        now = self.env.now
        index = self._type_names.index(type_name)
        counted = now >= self._warmup
        cell = (self._tier_cells[type_name, first.customer.tier][self._slot]
                if first.customer is not None else self._contact_cells[index][self._slot])
        if first.customer is not None:
            patience *= self._patience_factor.get(first.customer.tier, 1.0)
        self._repeat_serial += 1
        contact = Contact(self._repeat_serial, type_name, now, patience, work, wrap_up, cell,
                          counted)
        contact.repeat = not retrial
        contact.retrial = retrial
        contact.outcome_u = outcome_u
        contact.identity = first.identity
        if retrial:  # the first try never reached an agent: verification is still to do
            contact.agent_extra = first.agent_extra
        if first.customer is not None and self._identity is not None:
            contact.customer = Customer(self._identity.population, first.customer.id)
            if self._seen is not None and counted:
                self._seen[first.customer.id] = 1
        if counted:
            cell.arrivals += 1
            if retrial:
                cell.retrials += 1
            else:
                cell.repeats += 1
        self._route(contact, now)

    def _check_drained(self) -> None:
        # Only reached with a count of arrivals; cheap until the last one has arrived.
        if (self._drained is not None and self._arrivals == self._max_arrivals
                and self._queue_length == 0 and not self._in_ivr and not self._pending_repeats
                and not self._scheduled and not self._drained.triggered
                and not any(a.held or a.ringing for agents in self._agents for a in agents)):
            self._drained.succeed()

    def _add_time(self, cells: list[GroupCell], attribute: str, start: float, end: float) -> None:
        """Add the part of [start, end) inside the measured window to per-interval cells."""
        start = max(start, self._warmup)
        interval = self._interval
        while start < end:
            day_start = (start // DAY) * DAY
            slot = min(int((start - day_start) // interval), self._intervals - 1)
            slot_end = min(day_start + (slot + 1) * interval, end)
            cell = cells[slot]
            setattr(cell, attribute, getattr(cell, attribute) + (slot_end - start))
            start = slot_end

    # ------------------------------------------------------------------ run
    def run(self) -> ReplicationResult:
        """Simulate the replication and return its metrics."""
        self._start()
        if self._drained is not None:
            self.env.run(until=self._drained)
            end = self.env.now
        else:
            self.env.run(until=self._horizon)
            end = self._horizon
        self._finish_run(end)
        return self._result(end)

    def _finish_run(self, end: float) -> None:
        for group_index, agents in enumerate(self._agents):
            cells = self._group_cells[group_index]
            for agent in agents:
                if agent.ringing:  # still ringing: the contact is still waiting for an answer
                    if agent.contact.counted:  # type: ignore[union-attr]
                        agent.contact.cell.in_queue_at_end += 1  # type: ignore[union-attr]
                    if self._trace is not None:
                        self._trace.contact(self, agent.contact, "waiting_at_end", end)
                elif agent.held:
                    self._add_time(cells, "busy", agent.busy_since, end)
                    if agent.capacity is None and agent.contact is not None:
                        self._count_in_service(agent.contact)
                if agent.on_duty:
                    self._add_time(cells, "logged_in", agent.logged_in_at, end)
        for contact in self._multi_in_service:
            self._count_in_service(contact)
        for contact in self._scheduled:
            if contact.counted:
                contact.cell.callbacks_pending_at_end += 1  # type: ignore[attr-defined]
        if self._dialer is not None:
            self._dialer.close()
        self._queue_area += self._queue_length * (end - max(self._queue_changed, self._warmup))
        for contact in self._in_ivr:
            if contact.counted:
                contact.cell.identity.in_ivr_at_end += 1  # type: ignore[attr-defined]
            if self._trace is not None:
                self._trace.contact(self, contact, "in_ivr_at_end", end)
        for queue in self.state._waiting.values():
            for contact in queue:
                if contact.status != WAITING:
                    continue
                if contact.counted:
                    contact.cell.in_queue_at_end += 1  # type: ignore[attr-defined]
                    contact.cell.wait_at_end_sum += end - contact.arrival  # type: ignore[attr-defined]
                if self._trace is not None:
                    self._trace.contact(self, contact, "waiting_at_end", end)

    def _record_inbound(self, contact: Contact, now: float, outcome: str, waited: float) -> None:
        """Write a finished inbound contact of a known customer to their profile."""
        if contact.customer is not None:
            assert self._profiles is not None
            self._profiles.record(contact.customer.id, Interaction(
                contact.arrival, now, self._channels[contact.type], INBOUND, outcome, waited))

    def _count_in_service(self, contact: Contact) -> None:
        if contact.counted:
            contact.cell.in_service_at_end += 1  # type: ignore[attr-defined]

    def _interval_lengths(self, end: float) -> list[float]:
        lengths = [GroupCell() for _ in range(self._intervals)]
        self._add_time(lengths, "logged_in", self._warmup, end)
        return [cell.logged_in for cell in lengths]

    def _interval_label(self, index: int) -> str:
        seconds = round(index * self._interval)
        label = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
        return label if self._interval % 60 == 0 else f"{label}:{seconds % 60:02d}"

    def _result(self, end: float) -> ReplicationResult:
        measured = max(end - self._warmup, 0.0)
        by_type_cells = [cells + [c for tier in self._tier_names
                                  for c in self._tier_cells[name, tier]]
                         for name, cells in zip(self._type_names, self._contact_cells)]
        type_totals = [merged_contacts(cells) for cells in by_type_cells]
        group_totals = [merged_groups(cells) for cells in self._group_cells]
        all_contacts = merged_contacts(type_totals)
        all_groups = merged_groups(group_totals)
        overall = all_contacts.figures()
        agent_figures = all_groups.figures(measured)
        overall.update((m, agent_figures[m]) for m in AGENT_METRICS)
        overall.update((m, agent_figures[m]) for m in RING_METRICS if m in agent_figures)
        overall["mean_queue_length"] = self._queue_area / measured if measured > 0 else math.nan
        overall["measured_hours"] = measured / 3600.0
        by_type = {name: total.figures() for name, total in zip(self._type_names, type_totals)}
        by_group = {}
        for index, name in enumerate(self._group_names):
            by_group[name] = group_totals[index].figures(measured)
        lengths = self._interval_lengths(end)
        by_interval = {}
        for index in range(self._intervals):
            if lengths[index] <= 0:
                continue
            figures = merged_contacts(cells[index] for cells in (
                *self._contact_cells, *self._tier_cells.values())).figures()
            agent_figures = merged_groups(cells[index] for cells in self._group_cells).figures(
                lengths[index])
            figures.update((m, agent_figures[m]) for m in AGENT_METRICS)
            by_interval[self._interval_label(index)] = figures
        by_tier = {tier: merged_contacts(c for name in self._type_names
                                         for c in self._tier_cells[name, tier]).figures()
                   for tier in self._tier_names}
        if self._tier_names:
            by_tier["unknown"] = merged_contacts(
                c for cells in self._contact_cells for c in cells).figures()
        by_channel: dict[str, dict[str, float]] = {}
        if self._omni:  # omnichannel figures: per channel too
            channels: dict[str, ContactCell] = {}
            for name, total in zip(self._type_names, type_totals):
                channels.setdefault(self._channels[name], ContactCell()).add(total)
            by_channel = {channel: cell.figures() for channel, cell in channels.items()}
            if self._seen is not None:
                overall["unique_customers"] = float(sum(self._seen))
        by_campaign: dict[str, dict[str, float]] = {}
        if self._dialer is not None:
            all_outbound = OutboundCell()
            for name, cell in self._dialer.cells.items():
                all_outbound.add(cell)
                by_campaign[name] = cell.figures(all_groups.logged_in)
            overall.update(all_outbound.figures(all_groups.logged_in))
        return ReplicationResult(self.policy_name, self.replication, overall, self.verification,
                                 by_type, by_group, by_interval, by_tier, all_contacts.histogram,
                                 self.outbound, by_channel, by_campaign)


def _conclude(identity: IdentityCell, caller: Caller) -> None:
    """Count how a contact's verification ended (it reached an agent, or was refused in the IVR)."""
    if caller.verified is None:
        return  # prospect or self-service: nothing was verified
    identity.concluded += 1
    identity.asked += caller.asked
    if caller.kind == GENUINE:
        identity.genuine_concluded += 1
        identity.genuine_refused += not caller.verified
    elif caller.verified:
        identity.fraud_let_through += 1
        identity.fraud_loss += caller.loss
    else:
        identity.fraud_caught += 1


def _insert_by_arrival(queue: deque[Contact], contact: Contact) -> None:
    """Put a contact back into a waiting queue in arrival order (rare: after an
    unanswered ring), unless its old entry is still there."""
    if contact in queue:
        return
    position = next((i for i, other in enumerate(queue) if other.arrival > contact.arrival),
                    len(queue))
    queue.insert(position, contact)


class _CapacityTable:
    """Which contact types an agent of one group can still take, per load it may hold.

    A load is the count of contacts held per channel; it fits when some allowed mix
    bounds it on every channel. Answers are cached per load: a group has few loads.
    """

    def __init__(self, skills: Any, mixes: tuple[dict[str, int], ...],
                 channels: tuple[str, ...], channel_of_type: dict[str, int]) -> None:
        self._skills = tuple(skills)
        self._channel_of_type = channel_of_type
        self._mixes = [tuple(mix.get(c, 0) for c in channels) for mix in mixes]
        self.empty = (0,) * len(channels)
        """The load of an agent that holds nothing."""
        self._open: dict[tuple[int, ...], tuple[str, ...]] = {}

    def open(self, load: tuple[int, ...]) -> tuple[str, ...]:
        """Skills whose contacts still fit beside ``load``, in the group's order."""
        found = self._open.get(load)
        if found is None:
            found = self._open[load] = tuple(
                skill for skill in self._skills
                if self._fits(_plus(load, self._channel_of_type[skill], 1)))
        return found

    def _fits(self, load: tuple[int, ...]) -> bool:
        return any(all(held <= limit for held, limit in zip(load, mix)) for mix in self._mixes)


def _plus(load: tuple[int, ...], channel: int, change: int) -> tuple[int, ...]:
    """``load`` with ``change`` more contacts on ``channel``."""
    return load[:channel] + (load[channel] + change,) + load[channel + 1:]


def _omnichannel(scenario: Scenario) -> bool:
    """Whether the scenario uses channels, retrials, callbacks, journeys or outbound, whose
    figures (needs, retrials, callbacks, cross-channel recognition) are then reported."""
    return (scenario.channels is not None or scenario.outbound is not None
            or any(t.retrial or t.callback or t.journey for t in scenario.contact_types.values())
            or any(g.capacity is not None for g in scenario.agents.values()))


def _uniform_pairs(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.random((size, 2))
