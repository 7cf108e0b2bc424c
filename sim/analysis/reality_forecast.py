"""How many calls a coming day brings: three forecasts of the day's level, chosen by backtest.

Out of sample (``ccsim reality --holdout-from DAY``) a planner knows the call
totals of the calibration days only. Each method turns them into the level
(calls) of any later day from its weekday and its index:

* ``weekday-mean``: the mean total of the day's weekday;
* ``recency``: the weekday means times one common factor, the mean of each
  day's total / its weekday's mean weighted by age (half-life ``HALF_LIFE``
  days), so the last weeks count most: the weekday factors stay
  multiplicative on one level, like Holt-Winters with only the week as season;
* ``damped-trend``: a constant growth rate of the log level, fitted within
  each weekday (so the weekday effects do not leak into it), carried forward
  with damping ``DAMPING`` per day ahead: at most ``DAMPING / (1 - DAMPING)``
  days of trend however far the day.

A weekday without calibration days is measured on the busy weekdays (those
with at least half the busiest weekday's mean), as the forecast's kinds of
day are. ``choose`` runs a rolling-origin backtest inside the calibration
days (each origin in their second half: fit on the days before it, score
the calibration days from it on) and keeps the method with the smallest
mean absolute percentage error (MAPE) of the day totals; the scored days
are never read.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

METHODS = ("weekday-mean", "recency", "damped-trend")
"""The forecasts of a day's level, simplest first (a tie in the backtest keeps the simpler)."""
CHOICES = ("auto", *METHODS)
"""What ``ccsim reality --forecast`` accepts; ``auto`` is the backtest's choice."""
HALF_LIFE = 7.0
"""Days after which a calibration day weighs half as much in ``recency`` (one week)."""
DAMPING = 0.9
"""Per day ahead, the share of the previous day's trend step that ``damped-trend`` keeps."""

Totals = Mapping[int, tuple[int, float]]
"""Calibration day index -> (weekday 0-6, Monday 0; offered calls), days with calls only."""
Level = Callable[[int, int], float]
"""(day index, weekday) -> forecast calls of that day."""


def busy_weekdays(totals: Totals) -> set[int]:
    """The weekdays whose mean total is at least half the busiest weekday's."""
    means = {w: statistics.fmean(calls) for w, calls in _by_weekday(totals).items()}
    return {w for w, mean in means.items() if mean >= 0.5 * max(means.values())}


def _by_weekday(totals: Totals) -> dict[int, list[float]]:
    grouped: dict[int, list[float]] = defaultdict(list)
    for weekday, calls in totals.values():
        grouped[weekday].append(calls)
    return grouped


def _reference_days(totals: Totals) -> dict[int, list[int]]:
    """Per weekday the days its level is measured on: its own, else the busy weekdays'."""
    own: dict[int, list[int]] = defaultdict(list)
    for day, (weekday, _) in sorted(totals.items()):
        own[weekday].append(day)
    busy = busy_weekdays(totals)
    pooled = sorted(d for w in busy for d in own[w])
    return {w: own.get(w) or pooled for w in range(7)}


def _weekday_means(totals: Totals) -> dict[int, float]:
    return {w: statistics.fmean(totals[d][1] for d in days)
            for w, days in _reference_days(totals).items()}


def weekday_mean(totals: Totals) -> Level:
    """The mean total of the day's weekday, whatever the day."""
    means = _weekday_means(totals)
    return lambda day, weekday: means[weekday]


def recency(totals: Totals, half_life: float = HALF_LIFE) -> Level:
    """The weekday means times the age-weighted mean of total / weekday mean."""
    means = _weekday_means(totals)
    last = max(totals)
    weights = {d: 0.5 ** ((last - d) / half_life) for d in totals}
    factor = (sum(weights[d] * calls / means[w] for d, (w, calls) in totals.items())
              / sum(weights.values()))
    return lambda day, weekday: means[weekday] * factor


def damped_trend(totals: Totals, damping: float = DAMPING) -> Level:
    """Each weekday's mean log total moved along the within-weekday growth rate of the log
    totals, the rate damped by ``damping`` per day past the last calibration day."""
    reference = _reference_days(totals)
    logs = {d: math.log(calls) for d, (_, calls) in totals.items()}
    centre = {w: statistics.fmean(days) for w, days in reference.items()}
    anchor = {w: statistics.fmean(logs[d] for d in days) for w, days in reference.items()}
    # Within-weekday least squares: a weekday seen once says nothing of the trend.
    spread = sum((d - centre[w]) ** 2 for d, (w, _) in totals.items())
    slope = (sum((d - centre[w]) * (logs[d] - anchor[w]) for d, (w, _) in totals.items())
             / spread if spread else 0.0)
    last = max(totals)

    def level(day: int, weekday: int) -> float:
        ahead = day - last
        time = day if ahead <= 0 else last + damping * (1 - damping ** ahead) / (1 - damping)
        return math.exp(anchor[weekday] + slope * (time - centre[weekday]))
    return level


FITS: dict[str, Callable[[Totals], Level]] = {
    "weekday-mean": weekday_mean, "recency": recency, "damped-trend": damped_trend}


def backtest(totals: Totals, method: str) -> float:
    """MAPE of ``method``'s day totals over rolling origins inside ``totals``: each day in
    the second half (with a day before it) is an origin; fit on the days before it, score
    every day from it on. NaN with fewer than two days."""
    days = sorted(totals)
    errors = []
    for origin in days[max(1, len(days) // 2):]:
        level = FITS[method]({d: totals[d] for d in days if d < origin})
        errors += [abs(level(d, totals[d][0]) / totals[d][1] - 1) for d in days if d >= origin]
    return statistics.fmean(errors) if errors else math.nan


@dataclass(frozen=True)
class LevelForecast:
    """The chosen method's level of any later day, with every method's backtest MAPE."""

    method: str
    asked: str
    """What was asked for: ``auto`` or the method itself."""
    backtest_mape: dict[str, float]
    level: Level
    last_day: int
    """The last calibration day (its index in the log)."""

    def calls(self, weekday: int, day: int | None = None) -> float:
        """Forecast calls of a day of ``weekday``; ``day`` (its index in the log) sets how far
        ahead it is, None: the first day after the calibration days."""
        return self.level(self.last_day + 1 if day is None else day, weekday)

    def describe(self) -> str:
        """``forecast recency (auto's choice), backtest MAPE 12.0% (weekday-mean 15.0%, ...)``."""
        others = ", ".join(f"{m} {_percent(self.backtest_mape[m])}"
                           for m in METHODS if m != self.method)
        chosen = " (auto's choice)" if self.asked == "auto" else ""
        return (f"forecast {self.method}{chosen}, backtest MAPE "
                f"{_percent(self.backtest_mape[self.method])} ({others})")

    def as_json(self) -> dict[str, Any]:
        """The method, what was asked, and each method's backtest MAPE (None: no backtest)."""
        return {"method": self.method, "asked": self.asked,
                "criterion": "MAPE of day totals, rolling origins in the calibration days",
                "backtest_mape": {m: None if math.isnan(e) else e
                                  for m, e in self.backtest_mape.items()}}


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1%}"


def choose(totals: Totals, asked: str = "auto") -> LevelForecast:
    """The level forecast ``asked`` for (a method, or ``auto``: the smallest backtest MAPE,
    the simpler method on a tie or without a backtest) fitted on all of ``totals``."""
    if asked not in CHOICES:
        raise ValueError(f"--forecast {asked}: allowed: {', '.join(CHOICES)}")
    errors = {m: backtest(totals, m) for m in METHODS}
    method = asked if asked != "auto" else min(
        METHODS, key=lambda m: math.inf if math.isnan(errors[m]) else errors[m])
    return LevelForecast(method, asked, errors, FITS[method](totals), max(totals))
