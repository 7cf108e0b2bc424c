"""What ``ccsim reality`` simulates for one day: the fits by hour band, the forecast and the plan.

The calibrated scenario (``sim.calibrate``) has one patience and one handle
time per contact type. The bank's callers are not equally patient all day
(PS in January: about 215 s at night, 674 s in the evening) and talks differ
by hour too, so the reality check fits both per **hour band** of arrival
(``PATIENCE_BANDS``) and gives each band its own contact type
(``PS@16-19``): the scenario format already has patience and handle time per
type, so no engine feature is needed, and under FCFS or the priority policy
splitting a type by arrival hour changes no routing decision. A band with
fewer than ``MIN_FIT`` abandons (patience) or talks (handle time) keeps the
month's fit of its type. With ``handle-hour`` the split goes one step finer,
one type per **hour** (``PS@07``): each carries its band's patience and its
hour's handle time (else the band's, else the type's), because talks within
one band differ by hour (January's 07:00 talks are 148 s, the 07-10 band's
179 s).

Out of sample a planner knows only the calibration days: the **forecast**
of a day is the hourly shape of its kind of day (the busy weekdays pooled,
each quieter weekday on its own) scaled to the day's level, forecast by the
method the calibration days' backtest chooses (``reality_forecast``), and
the **plan** is the mean staffing per staffing interval (15 minutes by
default) of the calibration days of the same kind (or that, scaled to the
forecast level). The day-to-day variation left once the weekday is known
becomes the scenario's ``busyness``.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

from sim.analysis.calibrate import (
    HOURS,
    MIN_FIT,
    PATIENCE_BANDS,
    Calibration,
    HandleFit,
    PatienceFit,
    fit_handle_time,
    fit_patience,
)
from sim.analysis.calllog import ABANDONED, SERVED, Call, CallLog
from sim.analysis.reality_forecast import LevelForecast, busy_weekdays, choose, weekday_mean

BAND_PARTS = ("patience", "handle")
"""What is fitted per hour band by default (``--by-band``)."""
HANDLE_HOUR = "handle-hour"
"""The ``--by-band`` part for handle time per hour of day, in place of ``handle``."""


def check_parts(parts: Sequence[str]) -> None:
    """Refuse an unknown ``--by-band`` part, or handle time both per band and per hour."""
    for part in parts:
        if part not in (*BAND_PARTS, HANDLE_HOUR):
            raise ValueError(f"--by-band {part}: allowed: {', '.join(BAND_PARTS)} or none; "
                             f"{HANDLE_HOUR} (handle time per hour of day) in place of handle")
    if "handle" in parts and HANDLE_HOUR in parts:
        raise ValueError(f"--by-band {','.join(parts)}: handle (per band) and {HANDLE_HOUR} "
                         "(per hour) exclude each other; allowed: one of them")


def band_index(hour: int) -> int:
    """Index in ``PATIENCE_BANDS`` of the band holding ``hour``."""
    return next(i for i, (low, high) in enumerate(PATIENCE_BANDS) if low <= hour < high)


def band_label(index: int) -> str:
    """``07-10`` for the band 07:00-10:00."""
    low, high = PATIENCE_BANDS[index]
    return f"{low:02d}-{high:02d}"


@dataclass(frozen=True)
class HourTest:
    """One handle-time mean per band against one per hour, for one type.

    A nested F-test on log talk times (one-way ANOVA within each band, pooled
    over bands): the hours with a fit of their own each have a mean, the rest
    of a band shares its band's. Talks are lognormal-ish, so log talks are
    near-normal; the test assumes one variance of log talk per band. With
    thousands of talks small differences are significant, so ``largest`` gives
    the size: the largest |hour mean / band mean − 1| over the hours with a fit.
    """

    statistic: float
    freedom: tuple[int, int]
    p_value: float
    largest: float

    def as_json(self) -> dict[str, Any]:
        """The test as a JSON mapping."""
        return {"f": round(self.statistic, 3), "df": list(self.freedom),
                "p_value": self.p_value, "largest_relative_difference": round(self.largest, 4)}


@dataclass(frozen=True)
class BandFits:
    """Patience and handle time per (scenario type, hour band), and handle time per (type,
    hour of day), where the data support it.

    ``patience_test`` per type: 2 (sum of the bands' exponential log-likelihoods
    − the single exponential's) and its degrees of freedom; above the chi-square
    95% point the bands differ by more than chance. ``hour_test`` per type: the
    test of one handle-time mean per band against one per hour (``HourTest``).
    """

    patience: dict[tuple[str, int], PatienceFit]
    handle: dict[tuple[str, int], HandleFit]
    patience_test: dict[str, tuple[float, int]]
    hour_handle: dict[tuple[str, int], HandleFit]
    """(type, hour of day) -> the hour's fit, where it has ``MIN_FIT`` talks."""
    hour_test: dict[str, HourTest]

    def patience_p_value(self, kind: str) -> float:
        """P-value of "one patience all day" for ``kind`` (NaN without two banded fits)."""
        statistic, freedom = self.patience_test.get(kind, (math.nan, 0))
        return float(stats.chi2.sf(statistic, freedom)) if freedom else math.nan

    def handle_in_hour(self, kind: str, hour: int) -> HandleFit | None:
        """The handle-time fit for ``kind``'s calls arriving in ``hour``: the hour's own,
        else its band's; None: the type's whole-day fit stays."""
        return self.hour_handle.get((kind, hour)) or self.handle.get((kind, band_index(hour)))

    def tests_json(self) -> dict[str, dict[str, Any]]:
        """Per type, the p-value of one patience all day and the hour test of handle time."""
        return {kind: {"patience_one_all_day_p": _finite(self.patience_p_value(kind)),
                       "handle_one_per_band": (self.hour_test[kind].as_json()
                                               if kind in self.hour_test else None)}
                for kind in sorted({k for k, _ in self.patience} | {k for k, _ in self.handle})}

    def hours_text(self, kind: str, band: int) -> str:
        """The hour fits of ``kind`` inside ``band``: ``07 148 s (412), 08 ...``."""
        low, high = PATIENCE_BANDS[band]
        return ", ".join(f"{hour:02d} {fit.mean:.0f} s ({fit.n})" for hour in range(low, high)
                         if (fit := self.hour_handle.get((kind, hour))) is not None)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def fit_bands(fitted: Calibration, calls: Iterable[Call]) -> BandFits:
    """Fit patience (censored MLE) and handle time (lognormal by moments) per scenario type
    and hour band over ``calls`` (the calibration days' offered calls)."""
    grouped: dict[tuple[str, int], list[Call]] = defaultdict(list)
    for call in calls:
        if call.offered:
            grouped[fitted.type_of(call), band_index(call.hour)].append(call)
    patience: dict[tuple[str, int], PatienceFit] = {}
    handle: dict[tuple[str, int], HandleFit] = {}
    log_likelihood: dict[str, list[float]] = defaultdict(list)
    for key, group in grouped.items():
        abandons = [c.wait for c in group if c.outcome == ABANDONED]
        served = [c.wait for c in group if c.outcome == SERVED]
        if len(abandons) >= MIN_FIT:
            patience[key] = fit_patience(abandons, served)
            log_likelihood[key[0]].append(_exponential_log_likelihood(abandons, served))
        talks = [c.service for c in group if c.service is not None]
        if len(talks) >= MIN_FIT:
            handle[key] = fit_handle_time(talks)
    hourly = _talks_by_hour(grouped)
    hour_handle = {key: fit_handle_time(talks) for key, talks in hourly.items()
                   if len(talks) >= MIN_FIT}
    hour_test = {kind: found for kind in {k for k, _ in handle}
                 if (found := _hour_test(kind, handle, hour_handle, hourly)) is not None}
    test = {}
    for kind, parts in log_likelihood.items():
        if len(parts) < 2:
            continue
        banded = [c for key in patience if key[0] == kind for c in grouped[key]]
        single = _exponential_log_likelihood(
            [c.wait for c in banded if c.outcome == ABANDONED],
            [c.wait for c in banded if c.outcome == SERVED])
        test[kind] = (2 * (sum(parts) - single), len(parts) - 1)
    return BandFits(patience, handle, test, hour_handle, hour_test)


def _talks_by_hour(
        grouped: dict[tuple[str, int], list[Call]]) -> dict[tuple[str, int], list[float]]:
    talks: dict[tuple[str, int], list[float]] = defaultdict(list)
    for (kind, _), group in grouped.items():
        for call in group:
            if call.service is not None:
                talks[kind, call.hour].append(call.service)
    return talks


def _hour_test(kind: str, handle: dict[tuple[str, int], HandleFit],
               hour_handle: dict[tuple[str, int], HandleFit],
               hourly: dict[tuple[str, int], list[float]]) -> HourTest | None:
    """``HourTest`` of ``kind`` over the bands with a fit (None: no band has an hour fit and
    another group beside it)."""
    band_rss = hour_rss = 0.0
    count = bands = groups = 0
    largest = 0.0
    for band, (low, high) in enumerate(PATIENCE_BANDS):
        if (kind, band) not in handle:
            continue
        # Hours with a fit are groups of their own; the band's other hours share one mean.
        parts: dict[int, list[float]] = defaultdict(list)
        for hour in range(low, high):
            own = (kind, hour) in hour_handle
            parts[hour if own else -1].extend(math.log(t) for t in hourly.get((kind, hour), ()))
            if own:
                largest = max(largest, abs(hour_handle[kind, hour].mean
                                           / handle[kind, band].mean - 1))
        logs = [x for part in parts.values() for x in part]
        band_rss += _squares(logs)
        hour_rss += sum(_squares(part) for part in parts.values() if part)
        count += len(logs)
        bands += 1
        groups += sum(1 for part in parts.values() if part)
    between, within = groups - bands, count - groups
    if between < 1 or within < 1 or hour_rss <= 0:
        return None
    statistic = (band_rss - hour_rss) / between / (hour_rss / within)
    return HourTest(statistic, (between, within), float(stats.f.sf(statistic, between, within)),
                    largest)


def _squares(values: Sequence[float]) -> float:
    """Sum of squares around the mean."""
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values)


def _exponential_log_likelihood(abandons: Sequence[float], served: Sequence[float]) -> float:
    # Censored exponential at its MLE: rate = abandons / exposure, logL = k log(rate) - k.
    exposure = sum(abandons) + sum(served)
    count = len(abandons)
    return count * math.log(count / exposure) - count if count and exposure > 0 else 0.0


def band_type(kind: str, band: int) -> str:
    """The contact type of ``kind``'s calls that arrive in hour band ``band``."""
    return f"{kind}@{band_label(band)}"


def hour_type(kind: str, hour: int) -> str:
    """The contact type of ``kind``'s calls that arrive in ``hour`` (``PS@07``)."""
    return f"{kind}@{hour:02d}"


def _spans(parts: Sequence[str]) -> list[tuple[int, int]]:
    """The hours of day each child type covers: one per band, or one per hour."""
    return ([(hour, hour + 1) for hour in range(HOURS)] if HANDLE_HOUR in parts
            else list(PATIENCE_BANDS))


def _child_type(kind: str, hour: int, parts: Sequence[str]) -> str:
    return hour_type(kind, hour) if HANDLE_HOUR in parts else band_type(kind, band_index(hour))


def banded_type_of(fitted: Calibration, parts: Sequence[str] = BAND_PARTS) -> Callable[[Call], str]:
    """A call's contact type once every type is split by hour band (or, with ``handle-hour``
    in ``parts``, by hour)."""
    return lambda call: _child_type(fitted.type_of(call), call.hour, parts)


def split_by_band(scenario: dict[str, Any], fits: BandFits, parts: Sequence[str]) -> dict[str, Any]:
    """``scenario`` (``Calibration.scenario_dict`` of 24 hourly or finer rates) with each
    contact type split into one type per hour band that has arrivals (per hour with
    ``handle-hour`` in ``parts``): its hours' rates (zero outside them), and its own patience
    (its band's) and handle time (its band's, or its hour's with ``handle-hour``, else its
    band's) where ``parts`` ask for it and there is a fit; skills and priority classes
    follow to the child types."""
    result = copy.deepcopy(scenario)
    children: dict[str, list[str]] = {}
    split: dict[str, Any] = {}
    for kind, spec in scenario["contact_types"].items():
        rates = spec["arrivals"]["rates"]
        per_hour = len(rates) // HOURS
        children[kind] = []
        for low, high in _spans(parts):
            inside = range(low * per_hour, high * per_hour)
            if all(rates[i] == "0/h" for i in inside):
                continue
            child = copy.deepcopy(spec)
            child["arrivals"]["rates"] = [r if i in inside else "0/h" for i, r in enumerate(rates)]
            patience = fits.patience.get((kind, band_index(low)))
            if "patience" in parts and patience is not None and "patience" in spec:
                child["patience"] = patience_dict(patience)
            handle = (fits.handle_in_hour(kind, low) if HANDLE_HOUR in parts else
                      fits.handle.get((kind, band_index(low))) if "handle" in parts else None)
            if handle is not None and spec["handle_time"]["dist"] == "lognormal":
                child["handle_time"] = {"dist": "lognormal", "mean": f"{handle.mean:.1f}s",
                                        "cv": round(handle.cv, 3)}
            name = _child_type(kind, low, parts)
            split[name] = child
            children[kind].append(name)
    result["contact_types"] = split
    for group in result["agents"].values():
        group["skills"] = [c for kind in group["skills"] for c in children[kind]]
    classes = result["routing"].get("priority", {}).get("classes")
    if classes:
        result["routing"]["priority"]["classes"] = {
            child: rank for kind, rank in classes.items() for child in children[kind]}
    return result


def patience_dict(fit: PatienceFit) -> dict[str, Any]:
    """A patience fit as a scenario ``patience`` mapping."""
    if fit.dist == "weibull":
        return {"dist": "weibull", "mean": f"{fit.mean:.1f}s", "shape": round(fit.shape, 3)}
    return {"dist": "exponential", "mean": f"{fit.mean:.1f}s"}


# ------------------------------------------------------------------------ forecast and plan
@dataclass(frozen=True)
class Forecast:
    """What a planner knows of a coming day from the calibration days.

    ``kind_of`` maps a weekday (0 Monday) to its kind of day: ``busy`` for
    the busy weekdays, else the weekday itself; ``shape`` is the share of a
    kind's calls per type and hour; ``volume`` the day's level (calls) by the
    method chosen (``sim.analysis.reality_forecast``); ``busyness_cv`` the cv
    of the day totals around their weekday's mean with the Poisson part
    removed (None when not positive); ``kind_calls`` the mean calls of a
    kind's calibration days.
    """

    kind_of: dict[int, str]
    shape: dict[str, dict[str, list[float]]]
    volume: LevelForecast
    busyness_cv: float | None
    staffing: dict[str, dict[str, list[float]]]
    """kind of day -> group -> mean agents logged in per interval"""
    kind_calls: dict[str, float]

    def rates(self, weekday: int, day: int | None = None) -> dict[str, list[float]]:
        """Forecast calls per hour of each type on a day of ``weekday`` (``day``: its index in
        the log, which sets how far ahead it is; None: the day after the calibration days)."""
        level = self.volume.calls(weekday, day)
        return {t: [share * level for share in row]
                for t, row in self.shape[self.kind_of[weekday]].items()}

    def plan(self, weekday: int) -> dict[str, list[float]]:
        """Planned agents per group and interval on a day of ``weekday``."""
        return self.staffing[self.kind_of[weekday]]

    def plan_to_forecast(self, weekday: int, day: int) -> dict[str, list[float]]:
        """The plan scaled to the day's forecast: the agents per call of the calibration days
        of its kind, times its forecast calls (a planner staffing to the forecast)."""
        kind = self.kind_of[weekday]
        scale = self.volume.calls(weekday, day) / self.kind_calls[kind]
        return {g: [agents * scale for agents in row] for g, row in self.staffing[kind].items()}


def forecast(fitted: Calibration, log: CallLog,
             staffing: dict[int, dict[str, list[float]]], method: str = "auto") -> Forecast:
    """The forecast and plan from ``fitted``'s days (``staffing``: per day, the inferred
    agents per group and interval, ``sim.calibrate.staffing_table``); ``method``: the
    level forecast (``reality_forecast.CHOICES``)."""
    days = fitted.days
    weekday = {d: log.weekday(d) if log.first_date is not None else 0 for d in days}
    totals = {d: (weekday[d] or 0, float(fitted.offered_per_day[d])) for d in days}
    seen = {w for w, _ in totals.values()}
    busy = busy_weekdays(totals)
    kind_of = {w: "busy" if w in busy or w not in seen else str(w) for w in range(7)}
    counts: dict[str, dict[str, list[float]]] = defaultdict(
        lambda: {t: [0.0] * HOURS for t in fitted.types})
    for call in fitted.log.calls:
        if call.offered and call.day in totals:
            counts[kind_of[totals[call.day][0]]][fitted.type_of(call)][call.hour] += 1
    shape = {}
    for kind, rows in counts.items():
        total = sum(sum(row) for row in rows.values())
        shape[kind] = {t: [n / total for n in row] for t, row in rows.items()}
    kind_calls = {k: statistics.fmean(c for w, c in totals.values() if kind_of[w] == k)
                  for k in shape}
    for w in range(7):  # a weekday of a kind not seen gets the busy days' shape
        if kind_of[w] not in shape:
            kind_of[w] = max(shape, key=lambda k: kind_calls[k])
    plan = {}
    for kind in shape:
        chosen = [d for d in days if kind_of[totals[d][0]] == kind]
        groups = staffing[chosen[0]]
        plan[kind] = {g: [statistics.fmean(staffing[d][g][i] for d in chosen)
                          for i in range(len(groups[g]))] for g in groups}
    means = weekday_mean(totals)
    levels = [means(d, w) for d, (w, _) in totals.items()]
    busyness = _residual_cv([c / level for (_, c), level in zip(totals.values(), levels)],
                            levels, len(seen))
    return Forecast(kind_of, shape, choose(totals, method), busyness, plan, kind_calls)


def _residual_cv(ratios: list[float], levels: list[float], fitted_levels: int) -> float | None:
    """cv of the day factor: the ratios' variance (corrected for the levels fitted from the
    same days) minus the Poisson part 1/level."""
    spare = len(ratios) - fitted_levels
    if spare < 2:
        return None
    excess = (sum((r - 1) ** 2 for r in ratios) / spare
              - statistics.fmean(1 / level for level in levels))
    return math.sqrt(excess) if excess > 0 else None
