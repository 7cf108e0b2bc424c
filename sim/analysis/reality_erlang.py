"""The Erlang A baseline of ``ccsim reality``: what a formula makes of the simulated inputs.

For every simulated day and hour the scenario the simulation runs is read
back as one M/M/n+M queue: the hour's arrival rate summed over the contact
types, the mean agents on duty summed over the groups (pooled, every agent
taking every call), the rate-weighted mean handle time plus wrap-up, and the
rate-weighted mean patience, all in steady state (``erlang_a_figures``). A
fractional number of agents interpolates linearly between the whole numbers
around it. Per hour of day the days are pooled: abandonment weighted by
arrivals, SL(20 s) and ASA by answered calls. The gap between this baseline
and the simulation is what the simulation adds: the hour-to-hour carry-over
of queues, groups and skills, priorities, non-exponential times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sim.analysis.analytics import erlang_a_figures
from sim.analysis.calibrate import HOURS
from sim.analysis.reality_inputs import AssumedHour

THRESHOLD = 20.0


@dataclass
class ErlangTally:
    """Erlang A expectations per hour of day, summed over days."""

    offered: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    abandoned: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    answered: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    answered_in_sl: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    """Answered calls weighted by the hour's SL (the SL of the pooled hours is their mean)."""
    wait_answered: list[float] = field(default_factory=lambda: [0.0] * HOURS)

    def add_day(self, hours: list[AssumedHour]) -> None:
        """Add one simulated day given as what its scenario assumes per hour
        (``sim.analysis.reality_inputs.assumed_hours``)."""
        for hour, assumed in enumerate(hours):
            types = assumed.types.values()
            calls = sum(t.calls for t in types)
            if calls == 0:
                continue
            work = sum(t.calls * (t.handle_s + t.wrap_s) for t in types) / calls
            patience = sum(t.calls * t.patience_s for t in types) / calls
            abandon, level, asa = _interpolated(calls / 3600, work, assumed.agents, patience)
            self.offered[hour] += calls
            self.abandoned[hour] += calls * abandon
            answered = calls * (1 - abandon)
            self.answered[hour] += answered
            self.answered_in_sl[hour] += answered * level
            self.wait_answered[hour] += answered * asa if answered else 0.0

    def figures(self, hours: list[int]) -> dict[str, float]:
        """Abandonment rate, SL and ASA over ``hours`` (NaN when undefined)."""
        offered = sum(self.offered[h] for h in hours)
        answered = sum(self.answered[h] for h in hours)
        return {
            "offered": offered,
            "abandon_rate": sum(self.abandoned[h] for h in hours) / offered if offered else math.nan,
            "service_level": (sum(self.answered_in_sl[h] for h in hours) / answered
                              if answered else math.nan),
            "asa_s": sum(self.wait_answered[h] for h in hours) / answered if answered else math.nan,
        }


def _interpolated(rate: float, aht: float, agents: float,
                  patience: float) -> tuple[float, float, float]:
    """(abandonment, SL, ASA) of M/M/n+M, linear between the whole numbers around ``agents``."""
    low = math.floor(agents)
    share = agents - low
    below = _figures(rate, aht, low, patience)
    if share == 0:
        return below
    above = _figures(rate, aht, low + 1, patience)
    return tuple((1 - share) * b + share * a for b, a in zip(below, above))  # type: ignore[return-value]


def _figures(rate: float, aht: float, agents: int, patience: float) -> tuple[float, float, float]:
    if agents == 0:  # nobody answers: every caller abandons in the end
        return 1.0, 0.0, 0.0
    if math.isinf(patience):  # nobody abandons: only a stable queue has figures
        patience = 1e9
    figures = erlang_a_figures(rate, aht, agents, patience, THRESHOLD)
    return figures.p_abandon, figures.service_level, figures.asa_s
