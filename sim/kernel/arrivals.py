"""Arrival processes and the per-contact draws of each contact type.

Inter-arrival, patience, work and wrap-up values come from per-purpose block-buffered
streams (``sim.kernel.streams``) and are drawn at arrival for every contact, used or not,
so that every policy run on the same scenario and seed sees the same contacts (common
random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from sim.kernel.streams import RandomStreams, unit_exponential
from sim.model.outcomes import constant_stream
from sim.model.scenario import DAY, Scenario


class ArrivalClock:
    """Next-arrival times of a Poisson process with piecewise-constant rate.

    Uses the time change of a unit-rate process: the next arrival after ``t``
    is where the integrated rate has grown by one Exp(1) draw. Exact for rates
    that change per interval of the day, per weekday and per day (busyness multiplier).
    ``days`` holds the rates per interval of each day of the run's 7-day cycle, or of
    one day when every weekday's are the same (``Arrivals.run_day_rates``).
    """

    def __init__(self, days: tuple[tuple[float, ...], ...], interval: float,
                 day_factor: Callable[[int], float]):
        self._days = days
        self._interval = interval
        self._day_factor = day_factor
        # The interval of the day the last arrival fell in, and its rate (> 0): most
        # arrivals fall in the same interval as the one before.
        self._start = self._end = 0.0
        self._rate = 1.0

    def next_after(self, t: float, exp1: float) -> float:
        if self._start <= t < self._end:
            step = exp1 / self._rate
            if t + step < self._end:
                return t + step
        return self._walk(t, exp1)

    def _walk(self, t: float, exp1: float) -> float:
        days, interval = self._days, self._interval
        last = len(days[0]) - 1
        while True:
            day = int(t // DAY)
            rates = days[day % len(days)]
            slot = min(int((t - day * DAY) // interval), last)
            slot_end = day * DAY + (slot + 1) * interval
            rate = rates[slot] * self._day_factor(day)
            if rate > 0.0:
                step = exp1 / rate
                if t + step < slot_end:
                    self._start, self._end, self._rate = t, slot_end, rate
                    return t + step
                exp1 -= rate * (slot_end - t)
            t = slot_end


class TraceClock:
    """Next-arrival times of a replayed trace: its recorded times in order, then never.

    Same interface as ``ArrivalClock`` so the arrival handler needs no branch; the Exp(1)
    draw is still taken per contact (and ignored), which keeps the contact's other draws
    where they would be.
    """

    def __init__(self, times: tuple[float, ...]) -> None:
        self._times = iter(times)

    def next_after(self, t: float, exp1: float) -> float:
        return next(self._times, math.inf)


class TypeArrivals:
    """Per-contact-type streams and arrival clock for one replication.

    The four per-contact draws come from four independent streams but are handed out
    together by one zipped iterator: one C-level ``next()`` per contact instead of four
    Python calls.
    """

    __slots__ = ("name", "_streams", "draws", "clock", "rate", "pending", "cells")

    def __init__(self, name: str, streams: RandomStreams, scenario: Scenario,
                 day_factor: Callable[[int], float] | None) -> None:
        spec = scenario.contact_types[name]
        self.name = name
        self.cells: list = []
        """The type's metric cell per interval of the day (set by the kernel)."""
        # Patience and wrap-up streams exist only when the scenario has them, so
        # adding patience to a type leaves its arrivals and handle times unchanged.
        self._streams = (
            streams.stream(f"arrivals/{name}", unit_exponential),
            streams.stream(f"patience/{name}", spec.patience.sample)
            if spec.patience is not None else constant_stream(math.inf),
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
        run = scenario.run
        days = arrivals.run_day_rates(run.intervals_per_day, run.start_weekday)
        # A constant rate with no busyness, alike on every weekday, takes the fast path
        # t + E/rate (weekdays alike but each with its own varying rates do not).
        self.rate = days[0][0] if (arrivals.rate is not None and day_factor is None
                                   and len(days) == 1 and len(set(days[0])) == 1) else None
        self.clock: ArrivalClock | TraceClock
        if arrivals.trace is not None:
            self.clock = TraceClock(arrivals.trace_times)
        else:
            self.clock = ArrivalClock(days, run.interval, day_factor or (lambda day: 1.0))

    def refill(self) -> tuple[float, float, float, float]:
        """Draw the next blocks and return the first contact's draws: (Exp(1) for the
        inter-arrival time before it, patience, work, wrap-up)."""
        self.draws = zip(*(stream.next_block() for stream in self._streams))
        return next(self.draws)

    def first_arrival(self) -> float:
        """Time of the first arrival."""
        exp1 = self.pending[0]
        return exp1 / self.rate if self.rate is not None else self.clock.next_after(0.0, exp1)


def day_factor_function(scenario: Scenario,
                        streams: RandomStreams) -> Callable[[int], float] | None:
    """The busyness multiplier of each day (drawn when first needed), or None without one."""
    busyness = scenario.busyness
    if busyness is None:
        return None
    stream = streams.stream("busyness", busyness.sample)
    factors: list[float] = []

    def factor(day: int) -> float:
        while len(factors) <= day:
            factors.append(stream.next_value())
        return factors[day]

    return factor


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
