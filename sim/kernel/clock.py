"""The clock: simulated time and a heap of pending callbacks.

This replaces SimPy's ``Environment`` on the hot path. A pending event is a plain tuple
``(time, order, callback, subject)`` and running it is ``callback(subject)``: no event
object, no callback list, no process resumption. ``order`` breaks ties of equal times in
the order events were scheduled, as SimPy's event ids do, and ``schedule_urgent`` puts an
event before every ordinary event of the same time, as SimPy's ``URGENT`` priority does;
so a model moved from SimPy to this clock replays the same sequence of events (the
golden result files check it).

Arrivals wait in a heap of their own, the ``lane`` (one entry per arrival stream), and
``run`` takes the earlier of the two heaps' first events. An arrival is the most
frequent event and always due soon, so in the one heap it climbed near the top of a
heap of hundreds (finishes, patience deadlines) when pushed and was sifted down the
whole height when popped: about twenty tuple comparisons, where the lane costs one per
event. The order is the same: both heaps order by ``(time, order)`` with one counter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from heapq import heapify, heappop, heappush
from itertools import count
from typing import Any, TypeVar

from sim.model.units import DAY

Callback = Callable[[Any], None]
Value = TypeVar("Value")

_URGENT_OFFSET = 1 << 62
"""Subtracted from an urgent event's order: before any ordinary event of the same time,
among urgent ones in the order they were scheduled."""


_HORIZON_ORDER = -(1 << 63)
"""Order of the stop event at the end of ``Clock.run``: before any event due then, urgent
ones included."""


class Stop(Exception):
    """Raised by a callback to end ``Clock.run`` after the current event."""


class Clock:
    """Simulated time (``now``, seconds) and the events still to come."""

    __slots__ = ("now", "heap", "lane", "order")

    def __init__(self) -> None:
        self.now = 0.0
        self.heap: list[tuple[float, int, Callback, Any]] = []
        """Pending events. The kernel pushes its per-contact events here itself,
        ``heappush(heap, (now + delay, next(order), callback, subject))``: inlined from
        ``schedule``, which saves a call per event on the hot path."""
        self.lane: list[tuple[float, int, Callback, Any]] = []
        """Pending arrivals, a heap of one per arrival stream (see the module's docstring):
        ``schedule_arrival``, or pushed by the kernel itself as to ``heap``."""
        self.order = count()
        """Tie-break of equal times: the order events were scheduled in."""

    def schedule(self, delay: float, callback: Callback, subject: Any = None) -> None:
        """Call ``callback(subject)`` ``delay`` seconds from now."""
        heappush(self.heap, (self.now + delay, next(self.order), callback, subject))

    def schedule_arrival(self, delay: float, callback: Callback, subject: Any = None) -> None:
        """``schedule``, for the next arrival of an arrival stream (into ``lane``)."""
        heappush(self.lane, (self.now + delay, next(self.order), callback, subject))

    def schedule_urgent(self, callback: Callback, subject: Any = None) -> None:
        """Call ``callback(subject)`` now, before the ordinary events due now."""
        heappush(self.heap, (self.now, next(self.order) - _URGENT_OFFSET, callback, subject))

    def process(self, steps: Generator[float, None, None]) -> None:
        """Run a generator that yields delays: its code up to the first ``yield`` runs as
        an urgent event now, each later part when the delay it yielded has passed. For rare
        recurring work (shift changes, daily lists), never per contact."""
        self.schedule_urgent(self._resume, steps)

    def daily(self, days: Sequence[Sequence[tuple[float, Value]]],
              apply: Callable[[Value], None]) -> None:
        """Call ``apply(value)`` at each ``(time of day, value)`` of the steps of day ``d``,
        ``days[d % len(days)]`` (in order of time, from time 0): one list for every day
        alike, seven for a week; a ``process`` (shift changes)."""

        def run_days() -> Generator[float, None, None]:
            day = 0
            while True:
                for time_of_day, value in days[day % len(days)]:
                    wait = day * DAY + time_of_day - self.now
                    if wait > 0:
                        yield wait
                    apply(value)
                day += 1

        self.process(run_days())

    def _resume(self, steps: Generator[float, None, None]) -> None:
        delay = next(steps, None)
        if delay is not None:
            self.schedule(delay, self._resume, steps)

    def run(self, until: float = math.inf) -> None:
        """Run events due before ``until`` (events due exactly then stay pending), or until
        a callback raises ``Stop``."""
        heap, lane = self.heap, self.lane
        if until < math.inf:
            # A stop event before every other event due at ``until``: the loop then needs
            # no test of the time per event.
            heappush(heap, (until, _HORIZON_ORDER, stop, None))
        try:
            # The loop every contact goes through several times: locals only. An empty
            # heap raises IndexError in heappop, which ends the run (below).
            while True:
                if lane and (not heap or lane[0] < heap[0]):
                    self.now, _, callback, subject = heappop(lane)
                else:
                    self.now, _, callback, subject = heappop(heap)
                callback(subject)
        except Stop:
            pass
        except IndexError as error:
            if error.__traceback__ is None or error.__traceback__.tb_next is not None:
                raise  # raised by a callback, not by popping the last event
        if until < math.inf and heap:
            # Stopped early or at the horizon: the horizon's stop event (if still there)
            # is not an event of the model.
            heap[:] = [event for event in heap if event[2] is not stop]
            heapify(heap)


def stop(_: object = None) -> None:
    """An event callback that ends ``Clock.run``."""
    raise Stop
