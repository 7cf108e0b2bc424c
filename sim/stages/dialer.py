"""Proactive outbound: campaign tasks, their placement by an outbound strategy, and outcomes.

The dialer is kernel-side (it uses the kernel's clock); the strategy it asks is a
plug-in that only decides when and on which channel (``policies.outbound``).
Tasks come from campaigns: ``list`` campaigns release ``per_day`` customers at
the start of each day (payment reminders), ``signal`` campaigns release one
customer per digital signal (a purchase interest seen on the app or web, a
browsing session worth a chat invitation). A placed attempt becomes *ready* at
its time and waits for a free dialling agent, which the engine assigns (inbound
first, within ``outbound.max_share``). Whether an attempt reaches the right
party depends on the customer's true habits at the hour and channel it is
actually made (``Reach``), which strategies never see.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import numpy as np

from sim.errors import PolicyError
from sim.kernel.clock import Clock
from sim.kernel.streams import RandomStreams, uniform_pairs
from sim.model.customers import Population
from sim.model.profile import (
    OUTBOUND, REACHED, UNREACHED, Interaction, InteractionPredictor, ProfileStore,
)
from sim.model.scenario import DAY, Scenario


class Attempt:
    """One outbound attempt: a campaign task placed at a time and on a channel."""

    __slots__ = ("task", "time", "channel", "reached", "started", "counted")

    def __init__(self, task: Any, time: float, channel: str) -> None:
        self.task = task
        self.time = time
        self.channel = channel
        self.reached = False
        self.started = 0.0
        self.counted = False


class OutboundCell:
    """Counters of one campaign's attempts started in the measured window."""

    __slots__ = ("tasks", "attempts", "reached", "agent_time", "exhausted", "pending_at_end")

    def __init__(self) -> None:
        self.tasks = 0
        self.attempts = 0
        self.reached = 0
        self.agent_time = 0.0
        self.exhausted = 0
        self.pending_at_end = 0

    def add(self, other: OutboundCell) -> None:
        """Add ``other``'s counts into this cell."""
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self, logged_in: float) -> dict[str, float]:
        """Outbound metrics; ``logged_in``: agent seconds logged in over the window."""
        nan = float("nan")
        return {
            "outbound_tasks": float(self.tasks),
            "outbound_attempts": float(self.attempts),
            "outbound_reached": float(self.reached),
            "outbound_hit_rate": self.reached / self.attempts if self.attempts else nan,
            "outbound_attempts_per_contact": (self.attempts / self.reached
                                              if self.reached else nan),
            "outbound_agent_hours": self.agent_time / 3600.0,
            "outbound_agent_share": self.agent_time / logged_in if logged_in > 0 else nan,
            "outbound_exhausted": float(self.exhausted),
            "outbound_pending_at_end": float(self.pending_at_end),
        }


class Dialer:
    """Campaign tasks of one replication, placed by one outbound strategy."""

    def __init__(self, clock: Clock, scenario: Scenario, strategy: Any,
                 predictor: InteractionPredictor, store: ProfileStore, population: Population,
                 streams: RandomStreams, warmup: float, on_ready: Callable[[], None]) -> None:
        outbound = scenario.outbound
        assert outbound is not None
        self._clock = clock
        self._outbound = outbound
        self._strategy = strategy
        self._predictor = predictor
        self._store = store
        self._population = population
        self._warmup = warmup
        self._on_ready = on_ready
        self.ready: deque[Attempt] = deque()
        """Attempts whose time has come, waiting for a dialling agent (oldest first)."""
        self.working = 0
        """Attempts on an agent now."""
        self._placed: list[tuple[float, int, Attempt]] = []  # heap by time
        self._serial = count()
        self._timer_armed_for = float("inf")
        self.wanted: Callable[[Any], bool] = _always
        """Whether a ready attempt's task is still to be made when an agent could dial it
        (the needs stage withdraws the task of a need served meanwhile)."""
        self.cells = {name: OutboundCell() for name in outbound.campaigns}
        # One stream per campaign and purpose, so one campaign's volume never moves another's.
        self._customers = {name: streams.stream(f"outbound/{name}/customer", uniform_pairs)
                           for name in outbound.campaigns}
        self._signals = {name: streams.stream(f"outbound/{name}/signal",
                                              lambda rng, size: rng.standard_exponential(size))
                         for name in outbound.campaigns}
        self._reach = {name: streams.stream(f"outbound/{name}/reach", _uniforms)
                       for name in outbound.campaigns}
        self._talk = {name: streams.stream(f"outbound/{name}/talk", c.handle_time.sample)
                      for name, c in outbound.campaigns.items()}

    def start(self) -> None:
        """Start every campaign's task releases."""
        for name, campaign in self._outbound.campaigns.items():
            if campaign.trigger != "needs":  # a needs campaign's tasks come from the needs stage
                release = self._daily_list if campaign.trigger == "list" else self._signals_of
                self._clock.process(release(name))

    # ------------------------------------------------------------------ tasks
    def _daily_list(self, name: str) -> Iterator[float]:
        campaign = self._outbound.campaigns[name]
        day = 0
        while True:
            wait = day * DAY - self._clock.now
            if wait > 0:
                yield wait
            for _ in range(campaign.per_day or 0):
                self.new_task(name, self._customer(name, None))
            day += 1

    def _signals_of(self, name: str) -> Iterator[float]:
        campaign = self._outbound.campaigns[name]
        assert campaign.rate is not None
        while True:
            yield self._signals[name].next_value() / campaign.rate
            customer = self._customer(name, campaign.signal_channel)
            now = self._clock.now
            # The signal itself is an interaction the profile sees (a session on that channel).
            self._store.record(customer, Interaction(now, now, campaign.signal_channel, "digital",
                                                     "signal"))
            self.new_task(name, customer)

    def _customer(self, name: str, channel: str | None) -> int:
        habit_u, pick_u = self._customers[name].next_value()
        if channel is None:
            return self._population.pick_victim(pick_u)  # uniform over customers
        return self._population.pick(channel, self._clock.now, habit_u, pick_u)

    def new_task(self, name: str, customer: int) -> None:
        """Campaign ``name`` is to contact ``customer`` from now (plus its delay)."""
        from policies.outbound import OutboundTask

        campaign = self._outbound.campaigns[name]
        now = self._clock.now
        if now >= self._warmup:
            self.cells[name].tasks += 1
        task = OutboundTask(customer, name, campaign.channels, campaign.hours,
                            campaign.fixed_hour, now + campaign.delay, 1)
        self._place(task)

    def _place(self, task: Any) -> None:
        now = self._clock.now
        time, channel = self._strategy.schedule(task, self._predictor, now)
        if time < max(now, task.due) - 1e-9 or channel not in task.channels:
            raise PolicyError(f"outbound strategy {self._strategy.name!r} placed {task} at "
                              f"{time} on {channel!r}: not at or after its due time on one "
                              "of its channels")
        heapq.heappush(self._placed, (time, next(self._serial), Attempt(task, time, channel)))
        self._arm()

    def _arm(self) -> None:
        """Wake up at the earliest placed attempt (one pending wake-up at a time)."""
        if self._placed and self._placed[0][0] < self._timer_armed_for:
            self._timer_armed_for = self._placed[0][0]
            self._clock.schedule(max(self._timer_armed_for - self._clock.now, 0.0),
                                 self._release_due)

    def _release_due(self, _: None) -> None:
        now = self._clock.now
        if now < self._timer_armed_for - 1e-9:
            return  # superseded by an earlier wake-up
        self._timer_armed_for = float("inf")
        while self._placed and self._placed[0][0] <= now + 1e-9:
            self.ready.append(heapq.heappop(self._placed)[2])
        self._arm()
        self._on_ready()

    # ------------------------------------------------------------- attempts
    def take_ready(self) -> Attempt | None:
        """The oldest ready attempt still ``wanted`` (the others are dropped), or None."""
        while self.ready:
            attempt = self.ready.popleft()
            if self.wanted(attempt.task):
                return attempt
        return None

    def begin(self, attempt: Attempt, now: float) -> float:
        """An agent makes the attempt now: draw whether it reaches the right party (true
        habits at this hour and channel); return the agent time it takes."""
        name = attempt.task.campaign
        in_hours, own_channel = self._population.in_habit(attempt.task.customer, attempt.channel,
                                                          now)
        attempt.reached = self._reach[name].next_value() < self._outbound.reach.chance(
            in_hours, own_channel)
        attempt.started = now
        attempt.counted = now >= self._warmup
        self.working += 1
        talk = self._talk[name].next_value()
        return self._outbound.dial_time + (talk if attempt.reached else 0.0)

    def end(self, attempt: Attempt, now: float) -> None:
        """The attempt is over: count it, write it to the profile, retry a miss."""
        self.working -= 1
        task = attempt.task
        cell = self.cells[task.campaign]
        if attempt.counted:
            cell.attempts += 1
            cell.reached += attempt.reached
            cell.agent_time += now - attempt.started
        self._store.record(task.customer, Interaction(
            attempt.started, now, attempt.channel, OUTBOUND,
            REACHED if attempt.reached else UNREACHED))
        if attempt.reached:
            return
        campaign = self._outbound.campaigns[task.campaign]
        if task.attempt < campaign.max_attempts:
            self._place(task._replace(due=now + campaign.retry_after, attempt=task.attempt + 1))
        elif attempt.counted:
            cell.exhausted += 1

    def pending(self) -> int:
        """Attempts placed or ready but not yet made."""
        return len(self._placed) + len(self.ready)

    def close(self) -> None:
        """At the end of the run: count the attempts not yet made."""
        for attempt in (*self.ready, *(entry[2] for entry in self._placed)):
            self.cells[attempt.task.campaign].pending_at_end += 1


def _uniforms(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.random(size)


def _always(task: Any) -> bool:
    """Without needs every task that comes due is made."""
    return True
