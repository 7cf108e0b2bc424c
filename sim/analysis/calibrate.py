"""Fit a scenario to a call log: ``ccsim calibrate LOG --out scenario.yaml``.

What is estimated, and how (``docs/calibration.md`` says more):

* **Arrival rates** per contact type and hour of day: calls that asked for an
  agent on the selected days, divided by the number of those days. Days are
  chosen by ``--days`` (default: weekdays, i.e. the days of the week whose
  volume is at least half that of the busiest day of the week; the scenario
  format has one profile for every day, so weekends get their own file).
* **Busyness**: the coefficient of variation of the daily totals once their
  Poisson noise is taken out: cv² = var(N)/mean(N)² − 1/mean(N).
* **Handle time** per type: a lognormal with the mean and cv of the recorded
  talk times (> 0), so that the offered load is right; the log-space maximum
  likelihood fit and both Kolmogorov-Smirnov distances go in a comment. The
  empirical distribution is the alternative (``--handle-time empirical``).
* **Patience** per type: abandoned calls are observed patience times, served
  calls are right-censored at their wait (they would have waited at least
  that long). Exponential and Weibull maximum likelihood with censoring; the
  Weibull is written when the likelihood-ratio test prefers it (2ΔlogL >
  3.84), else the exponential. The Kaplan-Meier curve, the (biased)
  abandoned-only mean and the exponential mean per hour band go in comments.
* **Priority classes**: shares per type; when the service order shows a VIP
  head start (see ``estimate_head_start``), the highest priority class of
  each type becomes its own contact type ``TYPE_vip`` with that head start
  under the ``priority`` policy.
* **Agents**: an agent who answered at least 95% of their calls of one type
  is a specialist of it (group ``TYPE_desk``); the others form ``general``.
  A group has a skill when it answered at least 10% of that type's calls.
  **Staffing** per group and hour: the time-average number of agents logged
  in, averaged over the days. An agent counts as logged in from their first
  talk through idle gaps in which nobody they could serve waited, and as
  away once such callers have waited ``--away-after`` (2 min) in a gap
  (``agent_activity``). It cannot see an agent logged in before their first
  or after their last talk; the docs show how much the check moves with
  ``--away-after``.
* **Wrap-up** (every type): the time an agent spent between talks while a
  caller they could serve was waiting (``agent_activity``).
* **IVR share**: lines that ended in the IVR / all used lines (a comment; the
  engine has no IVR stage).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from sim.analysis.calllog import ABANDONED, DAY, SERVED, Call, CallLog, CsvMapping, read_log
from sim.cli.options import add_limit_options, parse_flag
from sim.files import check_output_file, safe_file_name, write_atomic
from sim.limits import limits_for
from sim.model.units import parse_duration

if TYPE_CHECKING:
    from sim.analysis.queue_patience import QueuePatienceFit

HOURS = 24
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIN_FIT = 30
"""Fewest observations for a per-type fit; below it the fit pools every type."""
MIN_VIP_CALLS = 100
"""Fewest high-priority calls for a type to get a ``TYPE_vip`` contact type of its own."""
SPECIALIST_SHARE = 0.95
SPECIALIST_MIN_CALLS = 20
SKILL_SHARE = 0.10
AWAY_AFTER = 120.0
"""Default time callers may wait while an agent is between talks before the agent counts
as away (seconds); see ``agent_activity``."""
MAX_IDLE_GAP = 4 * 3600.0
"""A longer gap between two talks of an agent is the end of a shift."""
HEAD_START_GRID = tuple(range(0, 301, 5))
PATIENCE_BANDS = ((0, 7), (7, 10), (10, 13), (13, 16), (16, 19), (19, 24))


# ------------------------------------------------------------------------ day selection
def select_days(log: CallLog, spec: str = "weekdays") -> tuple[list[int], str]:
    """Day indexes to calibrate on, and a description of the choice.

    ``spec``: ``weekdays`` (days of the week with at least half the volume of
    the busiest one), ``weekend`` (the others), ``all``, or day names such as
    ``fri`` or ``sun,mon,tue``. Only days with at least one offered call count.
    A log without dates has no days of the week: every spec but ``all`` is an error.
    """
    days = sorted({c.day for c in log.calls if c.offered})
    if not days:
        raise ValueError(f"{log.report.source}: no call asked for an agent; nothing to calibrate")
    spec = spec.strip().lower()
    if spec == "all":
        return days, f"all {len(days)} days with calls"
    if log.first_date is None:
        raise ValueError(f"--days {spec}: the log has no dates, so no days of the week; "
                         "allowed: all")
    if spec in ("weekdays", "weekend"):
        volume = Counter(c.day for c in log.calls if c.offered)
        per_weekday: dict[int, list[int]] = defaultdict(list)
        for day in days:
            per_weekday[log.weekday(day)].append(volume[day])  # type: ignore[index]
        means = {w: statistics.fmean(v) for w, v in per_weekday.items()}
        busy = {w for w, m in means.items() if m >= 0.5 * max(means.values())}
        wanted = busy if spec == "weekdays" else set(means) - busy
        if not wanted:
            raise ValueError("--days weekend: every day of the week in the log is as busy as "
                             "the others (no weekend seen); allowed: weekdays, all or day names")
    else:
        names = [n.strip()[:3] for n in spec.split(",")]
        unknown = [n for n in names if n not in WEEKDAY_NAMES]
        if unknown:
            raise ValueError(f"--days {spec}: unknown day {unknown[0]!r}; allowed: weekdays, "
                             "weekend, all, or day names such as sun,mon,tue")
        wanted = {WEEKDAY_NAMES.index(n) for n in names}
    chosen = [d for d in days if log.weekday(d) in wanted]
    if not chosen:
        raise ValueError(f"--days {spec}: no day of the log falls on "
                         + ", ".join(WEEKDAY_NAMES[w] for w in sorted(wanted)))
    listed = ",".join(WEEKDAY_NAMES[w] for w in sorted(wanted))
    return chosen, f"{spec} ({listed}): {len(chosen)} days with calls"


# ------------------------------------------------------------------------ head start
@dataclass(frozen=True)
class HeadStart:
    """How well each head start explains who was answered first among waiting calls.

    Pairs are (high-priority call, other call) that were waiting at the same
    time and both answered; a pair is *out of order* for a head start ``h``
    when the call served first is not the one with the earlier effective
    arrival (arrival − h for the high-priority call).
    """

    seconds: float
    pairs: int
    out_of_order_at_zero: int
    out_of_order_at_best: int
    vip_priority: int

    @property
    def shown(self) -> bool:
        """The data shows a head start: a positive one cuts the out-of-order pairs by 10%+."""
        return (self.seconds > 0 and self.pairs > 0
                and self.out_of_order_at_best <= 0.9 * self.out_of_order_at_zero)


def estimate_head_start(calls: Iterable[Call]) -> HeadStart | None:
    """The head start (0-300 s, 5 s grid) of the top priority class that best explains the
    service order of answered calls that waited together; None with a single priority."""
    answered = [c for c in calls if c.outcome == SERVED and c.wait > 0]
    priorities = {c.priority for c in answered}
    if len(priorities) < 2:
        return None
    top = max(priorities)
    gaps: list[np.ndarray] = []
    vip_first: list[np.ndarray] = []
    by_day: dict[int, list[Call]] = defaultdict(list)
    for call in answered:
        by_day[call.day].append(call)
    for day_calls in by_day.values():
        vip = [c for c in day_calls if c.priority == top]
        other = [c for c in day_calls if c.priority != top]
        if not vip or not other:
            continue
        a_o = np.array([c.arrival for c in other])
        s_o = np.array([c.service_start for c in other])
        for call in vip:
            together = np.maximum(a_o, call.arrival) < np.minimum(s_o, call.service_start)
            gaps.append(call.arrival - a_o[together])
            vip_first.append(call.service_start < s_o[together])
    if not gaps:
        return HeadStart(0.0, 0, 0, 0, top)
    gap = np.concatenate(gaps)
    first = np.concatenate(vip_first)
    # With head start h the VIP should go first exactly when gap < h.
    wrong = [int(np.sum((gap < h) != first)) for h in HEAD_START_GRID]
    best = int(np.argmin(wrong))
    return HeadStart(float(HEAD_START_GRID[best]), len(gap), wrong[0], wrong[best], top)


# ------------------------------------------------------------------------ fits
@dataclass(frozen=True)
class HandleFit:
    """Lognormal fits of talk times (seconds > 0).

    Two fits of the same family: by moments (the sample mean and cv, which
    is what the scenario gets, because the mean sets the offered load) and
    by maximum likelihood in log space (mu, sigma), which fits the bulk of
    the data better but can miss the mean when the data are not lognormal.
    """

    n: int
    mean: float
    cv: float
    mu: float
    sigma: float
    ks: float
    """Kolmogorov-Smirnov distance of the moment fit to the data."""
    ks_mle: float
    """Kolmogorov-Smirnov distance of the maximum-likelihood fit to the data."""
    samples: tuple[float, ...]
    pooled: bool
    """True when the type had too few talk times and the fit used every type's."""

    @property
    def mle_mean(self) -> float:
        """Mean of the maximum-likelihood lognormal."""
        return math.exp(self.mu + self.sigma**2 / 2)


def fit_handle_time(samples: Sequence[float], pooled: bool = False) -> HandleFit:
    """Lognormal by moments and by MLE (mean and sd of the log), with KS distances."""
    values = np.asarray(samples, dtype=float)
    logs = np.log(values)
    mu, sigma = float(logs.mean()), float(logs.std())
    mean, cv = float(values.mean()), float(values.std() / values.mean())
    sigma_m = math.sqrt(math.log1p(cv**2))

    def ks(shape: float, median: float) -> float:
        return float(stats.kstest(values, "lognorm", args=(shape, 0, median)).statistic)

    return HandleFit(len(values), mean, cv, mu, sigma, ks(sigma_m, mean / math.sqrt(1 + cv**2)),
                     ks(sigma, math.exp(mu)), tuple(float(v) for v in values), pooled)


@dataclass(frozen=True)
class PatienceFit:
    """Patience estimated from abandoned calls (observed) and answered ones (censored)."""

    abandoned: int
    censored: int
    dist: str
    """``exponential`` or ``weibull``: the one written to the scenario."""
    mean: float
    shape: float
    exponential_mean: float
    likelihood_ratio: float
    """2 (logL Weibull − logL exponential); above 3.84 the Weibull is preferred at 5%."""
    km_median: float | None
    km_survival: dict[int, float]
    """Kaplan-Meier P(patience > t) at a few t (seconds)."""
    abandoned_only_mean: float
    pooled: bool
    by_band: tuple[tuple[str, float | None, int], ...] = ()
    """(hours, exponential MLE mean or None, abandons) per hour band of arrival."""


def _censored(abandon_waits: np.ndarray, served_waits: np.ndarray) -> stats.CensoredData:
    # An abandon logged at 0 s happened within the log's one-second resolution.
    zero = abandon_waits <= 0
    return stats.CensoredData(
        uncensored=abandon_waits[~zero], right=served_waits[served_waits > 0],
        interval=np.column_stack([np.zeros(zero.sum()), np.ones(zero.sum())]))


def _log_likelihood(dist: Any, params: tuple[float, ...], data: stats.CensoredData) -> float:
    total = float(np.sum(dist.logpdf(data._uncensored, *params)))
    total += float(np.sum(dist.logsf(data._right, *params)))
    low, high = data._interval[:, 0], data._interval[:, 1]
    total += float(np.sum(np.log(dist.cdf(high, *params) - dist.cdf(low, *params))))
    return total


def fit_patience(abandon_waits: Sequence[float], served_waits: Sequence[float],
                 pooled: bool = False) -> PatienceFit:
    """Exponential and Weibull MLE with right-censoring by answered calls' waits; the
    Weibull is chosen when the likelihood-ratio test prefers it at 5%."""
    abandons = np.asarray(abandon_waits, dtype=float)
    served = np.asarray(served_waits, dtype=float)
    data = _censored(abandons, served)
    exp_params = stats.expon.fit(data, floc=0)
    wei_params = stats.weibull_min.fit(data, floc=0)
    ratio = 2 * (_log_likelihood(stats.weibull_min, wei_params, data)
                 - _log_likelihood(stats.expon, exp_params, data))
    exp_mean = float(exp_params[1])
    if ratio > 3.84:
        shape, scale = float(wei_params[0]), float(wei_params[2])
        dist, mean = "weibull", scale * math.gamma(1 + 1 / shape)
    else:
        dist, mean, shape = "exponential", exp_mean, 1.0
    survival = stats.ecdf(stats.CensoredData(uncensored=np.maximum(abandons, 0.5),
                                             right=served[served > 0])).sf
    points = (60, 300, 600)
    below = np.nonzero(survival.probabilities <= 0.5)[0]
    median = float(survival.quantiles[below[0]]) if below.size else None
    return PatienceFit(
        len(abandons), int(np.sum(served > 0)), dist, mean, shape, exp_mean, ratio, median,
        {t: float(survival.evaluate(t)) for t in points}, float(abandons.mean()), pooled)


def patience_by_band(calls: Iterable[Call]) -> tuple[tuple[str, float | None, int], ...]:
    """Exponential MLE of mean patience (queue time of all queued calls / abandons) per
    hour band of arrival; None for a band without abandons."""
    exposure: Counter[int] = Counter()
    abandons: Counter[int] = Counter()
    for call in calls:
        if not call.offered:
            continue
        band = next(i for i, (lo, hi) in enumerate(PATIENCE_BANDS) if lo <= call.hour < hi)
        exposure[band] += call.wait  # type: ignore[assignment]
        abandons[band] += call.outcome == ABANDONED
    return tuple((f"{lo:02d}-{hi:02d}h", exposure[i] / abandons[i] if abandons[i] else None,
                  abandons[i]) for i, (lo, hi) in enumerate(PATIENCE_BANDS))


# ------------------------------------------------------------------------ agents
@dataclass(frozen=True)
class AgentGroups:
    """Agent ids grouped by what they answered, and each group's skills (base types)."""

    members: dict[str, str]
    """agent id -> group name"""
    skills: dict[str, tuple[str, ...]]
    """group name -> base contact types, most answered first"""


def infer_groups(calls: Iterable[Call]) -> AgentGroups:
    """Specialists (95%+ of 20+ answered calls of one type) form ``TYPE_desk`` groups, the
    other agents ``general``; a group has a type as skill when it answered 10%+ of that
    type's calls, and a desk always has its own (so every answered type has a group)."""
    per_agent: dict[str, Counter[str]] = defaultdict(Counter)
    for call in calls:
        if call.outcome == SERVED and call.agent is not None:
            per_agent[call.agent][call.type] += 1
    members: dict[str, str] = {}
    for agent, counts in per_agent.items():
        kind, top = counts.most_common(1)[0]
        total = sum(counts.values())
        specialist = total >= SPECIALIST_MIN_CALLS and top >= SPECIALIST_SHARE * total
        members[agent] = f"{kind}_desk" if specialist else "general"
    answered: dict[str, Counter[str]] = defaultdict(Counter)  # type -> group -> calls
    for agent, counts in per_agent.items():
        for kind, n in counts.items():
            answered[kind][members[agent]] += n
    skills: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for kind, by_group in answered.items():
        total = sum(by_group.values())
        for group, n in by_group.items():
            # A desk always serves its own type, however small its share of that type.
            if n >= SKILL_SHARE * total or group == f"{kind}_desk":
                skills[group].append((n, kind))
    return AgentGroups(members, {g: tuple(k for _, k in sorted(s, reverse=True))
                                 for g, s in sorted(skills.items())})


class QueueTimeline:
    """How many callers of some contact types were waiting, as a step function of time."""

    def __init__(self, calls: Iterable[Call], types: Iterable[str]) -> None:
        wanted = set(types)
        points: list[tuple[float, int]] = []
        for call in calls:
            if call.offered and call.wait > 0 and call.type in wanted:
                points += [(call.arrival, 1), (call.service_start, -1)]
        points.sort()
        self._times = np.array([t for t, _ in points])
        self._level = np.cumsum([step for _, step in points])
        self._waiting = self._level > 0
        # Queue-nonempty time from the first event up to each event.
        spans = np.diff(self._times, append=self._times[-1] if points else 0.0)
        self._cumulative = np.concatenate([[0.0], np.cumsum(spans * self._waiting)])
        # next_empty[i]: the first event index >= i after which nobody waits.
        self._next_empty = np.empty(len(points), dtype=np.int64)
        upcoming = len(points) - 1
        for index in range(len(points) - 1, -1, -1):
            if not self._waiting[index]:
                upcoming = index
            self._next_empty[index] = upcoming

    def _index(self, time: float) -> int:
        return int(np.searchsorted(self._times, time, side="right")) - 1

    def waiting_before(self, times: Sequence[float]) -> list[int]:
        """How many callers were waiting just before each of ``times`` (whoever arrives or
        leaves at that very moment not counted yet)."""
        index = np.searchsorted(self._times, times, side="left") - 1
        return [int(self._level[i]) if i >= 0 else 0 for i in index]

    def empty_after(self, time: float) -> float:
        """The first moment from ``time`` on when nobody waits (``time`` if nobody does)."""
        index = self._index(time)
        if index < 0 or not self._waiting[index]:
            return time
        return float(self._times[self._next_empty[index]])

    def waiting_time(self, start: float, end: float) -> float:
        """How long at least one caller was waiting between ``start`` and ``end``."""
        return self._until(end) - self._until(start)

    def _until(self, time: float) -> float:
        index = self._index(time)
        if index < 0:
            return 0.0
        return float(self._cumulative[index]
                     + (time - self._times[index]) * self._waiting[index])


@dataclass(frozen=True)
class AgentActivity:
    """What the log shows of each agent: logged-in spans and not-ready gaps."""

    sessions: dict[str, list[tuple[float, float]]]
    """agent id -> [(login, logout)] as inferred, in time order"""
    not_ready: list[float]
    """Wrap-up samples: per talk that ended with a caller waiting, the time until the
    agent's next talk or until nobody waited any more, whichever came first."""


def agent_activity(calls: Sequence[Call], groups: AgentGroups,
                   away_after: float = AWAY_AFTER) -> AgentActivity:
    """Infer when each agent was logged in, and their wrap-up, from their talks.

    An agent is logged in from the start of a talk to its end, and through
    the gap to their next talk unless, during that gap, callers they could
    serve were waiting for more than ``away_after`` in all (then the agent
    was away: a work-conserving center would have given them a call) or the
    gap is longer than ``MAX_IDLE_GAP`` (end of a shift). An idle gap with
    nobody waiting is time logged in: the agent had no work.

    When an agent ends a talk while a caller they could serve is waiting,
    the time until their next talk (or until nobody waits any more) is time
    not ready: wrap-up, a short pause, ringing. What happens when nobody
    waits is not seen, so this is the wrap-up of a busy center.
    """
    timelines = {group: QueueTimeline(calls, skills) for group, skills in groups.skills.items()}
    talks: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for call in calls:
        if call.outcome == SERVED and call.agent in groups.members:
            start = call.service_start
            talks[call.agent].append((start, start + (call.service or 0.0)))  # type: ignore[index]
    sessions: dict[str, list[tuple[float, float]]] = {}
    not_ready: list[float] = []
    for agent, spans in talks.items():
        timeline = timelines.get(groups.members[agent])
        if timeline is None:
            continue
        spans.sort()
        mine: list[tuple[float, float]] = []
        begin, end = spans[0]
        for start, stop in [*spans[1:], (math.inf, math.inf)]:
            gap = start - end
            if gap <= MAX_IDLE_GAP and timeline.waiting_time(end, start) <= away_after:
                empty = timeline.empty_after(end)
                if empty > end and gap >= 0:  # a caller was waiting when the talk ended
                    not_ready.append(min(start, empty) - end)
                end = max(end, stop)
                continue
            mine.append((begin, end))
            begin, end = start, stop
        sessions[agent] = mine
    return AgentActivity(sessions, not_ready)


def staffing_table(activity: AgentActivity, groups: AgentGroups, days: Iterable[int],
                   interval: float = 3600.0) -> dict[int, dict[str, list[float]]]:
    """Per day and group, the mean number of agents logged in during each interval of the
    day (default: hours), from ``agent_activity``: ``{day: {group: [values]}}``. The value
    for an interval is the time average over it (an agent logged in for the first half
    of an hour adds 0.5 to that hour)."""
    slots = round(DAY / interval)
    table = {d: {g: [0.0] * slots for g in groups.skills} for d in set(days)}
    for agent, sessions in activity.sessions.items():
        group = groups.members[agent]
        for begin, end in sessions:
            while begin < end:
                slot = int(begin // interval)
                slot_end = min(end, (slot + 1) * interval)
                day = table.get(slot // slots)
                if day is not None:
                    day[group][slot % slots] += (slot_end - begin) / interval
                begin = slot_end
    return table


@dataclass(frozen=True)
class WrapUpFit:
    """Time agents were not ready between talks while callers waited (``agent_activity``)."""

    n: int
    mean: float
    cv: float
    median: float


def fit_wrap_up(activity: AgentActivity) -> WrapUpFit | None:
    """Mean, cv and median of the not-ready samples; None with fewer than ``MIN_FIT``."""
    if len(activity.not_ready) < MIN_FIT:
        return None
    values = np.asarray(activity.not_ready)
    mean = float(values.mean())
    return WrapUpFit(len(values), mean, float(values.std() / mean) if mean > 0 else 0.0,
                     float(np.median(values)))


# ------------------------------------------------------------------------ calibration
@dataclass
class Calibration:
    """Everything fitted from one log; ``scenario_dict``/``to_yaml`` turn it into a scenario."""

    log: CallLog
    days: list[int]
    days_text: str
    types: list[str]
    """Contact types of the scenario, in order (log types, plus ``TYPE_vip`` splits)."""
    base_type: dict[str, str]
    rates: dict[str, list[float]]
    """Calls per hour for each type and hour of day (mean over the days)."""
    busyness_cv: float | None
    handle: dict[str, HandleFit]
    patience: dict[str, PatienceFit]
    """Per type; empty when the log has too few abandons to fit (callers never abandon)."""
    groups: AgentGroups
    staffing: dict[str, list[float]]
    """Mean agents logged in per group and hour of day (rounded in the scenario)."""
    head_start: HeadStart | None
    wrap_up: WrapUpFit | None
    ivr_share: float
    priority_shares: dict[str, dict[int, float]]
    offered_per_day: dict[int, int] = field(default_factory=dict)
    handle_time: str = "lognormal"
    away_after: float = AWAY_AFTER
    activity: AgentActivity | None = None
    queue_patience: dict[str, QueuePatienceFit] = field(default_factory=dict)
    """With ``patience_queue``: per type, patience by the queue met (written where shown)."""

    def type_of(self, call: Call) -> str:
        """The scenario contact type of a call (its log type, or ``TYPE_vip``)."""
        return _scenario_type(call, self.head_start, self.base_type)

    def group_skills(self) -> dict[str, tuple[str, ...]]:
        """Skills per agent group as scenario contact types (a base type brings its VIP type)."""
        return {group: tuple(t for base in bases for t in self.types
                             if self.base_type[t] == base)
                for group, bases in self.groups.skills.items()}

    def scenario_dict(self, rates: dict[str, list[float]] | None = None,
                      staffing: dict[str, list[float]] | None = None,
                      duration: str = "24h", name: str | None = None) -> dict[str, Any]:
        """The scenario as a plain dict (``scenario_from_dict`` input).

        ``rates`` (24 hourly values per type) and ``staffing`` (per group, 24
        hourly values or a multiple of 24 for shorter intervals, which then
        become ``run.interval``) replace the calibrated profiles, e.g. by one
        real day's: types with no calls and groups with no agent are then left
        out, and a type left without a staffed group goes to the best-staffed one.
        """
        rates = self.rates if rates is None else rates
        staffing = {g: _round_profile(counts)
                    for g, counts in (self.staffing if staffing is None else staffing).items()}
        per_hour = len(next(iter(staffing.values()))) // HOURS
        types = [t for t in self.types if any(rates.get(t, ()))]
        name = name or f"{Path(self.log.report.source).stem}-calibrated"
        skills = {g: [t for t in s if t in types] for g, s in self.group_skills().items()
                  if any(staffing.get(g, ()))}
        skills = {g: s for g, s in skills.items() if s}
        if not skills:
            raise ValueError(f"{self.log.report.source}: no agent answered a call on these "
                             "days; allowed: a log with served calls and agent ids")
        busiest = max(skills, key=lambda g: sum(staffing[g]))
        covered = {t for s in skills.values() for t in s}
        skills[busiest] += [t for t in types if t not in covered]
        contact_types: dict[str, Any] = {}
        for kind in types:
            spec: dict[str, Any] = {
                "arrivals": {"rates": [_rate(r) for r in rates[kind] for _ in range(per_hour)]},
                "handle_time": self._handle_dict(kind, name),
            }
            patience = self.patience.get(kind)
            if patience is not None:
                spec["patience"] = (
                    {"dist": "weibull", "mean": _seconds(patience.mean),
                     "shape": round(patience.shape, 3)} if patience.dist == "weibull"
                    else {"dist": "exponential", "mean": _seconds(patience.mean)})
            queue = self.queue_patience.get(kind)
            if queue is not None and queue.shown and patience is not None:
                spec.update(queue.patience_dict())
            if self.wrap_up is not None:
                spec["wrap_up"] = {"dist": "lognormal", "mean": _seconds(self.wrap_up.mean),
                                   "cv": round(self.wrap_up.cv, 3)}
            contact_types[kind] = spec
        scenario: dict[str, Any] = {
            "name": name,
            "run": {"duration": duration, "replications": 10, "seed": 1,
                    "interval": "1h" if per_hour == 1 else f"{60 / per_hour:g}min"},
            "contact_types": contact_types,
            "agents": {g: {"skills": s, "staffing": list(staffing[g])}
                       for g, s in skills.items()},
            "routing": self._routing(types),
            "service_level": {"threshold": "20s", "short_abandon": "5s"},
        }
        if self.busyness_cv:
            scenario["busyness"] = {"dist": "gamma", "cv": round(self.busyness_cv, 3)}
        return scenario

    def _handle_dict(self, kind: str, name: str) -> dict[str, Any]:
        fit = self.handle[kind]
        if self.handle_time == "empirical":
            return {"dist": "empirical", "file": _samples_file_name(name, kind), "unit": "s"}
        return {"dist": "lognormal", "mean": _seconds(fit.mean), "cv": round(fit.cv, 3)}

    def _routing(self, types: list[str]) -> dict[str, Any]:
        vip = [t for t in types if t != self.base_type[t]]
        if self.head_start is None or not self.head_start.shown or not vip:
            return {"policy": "fcfs"}
        head = _seconds(self.head_start.seconds)
        return {"policy": "priority",
                "priority": {"classes": {t: {"head_start": head} for t in vip}}}

    def to_yaml(self, out: str | Path) -> str:
        """The scenario as commented YAML text (see ``write``)."""
        return _Writer(self, Path(out)).text()

    def write(self, out: str | Path) -> list[Path]:
        """Write the scenario (and, with empirical handle times, one samples file per type
        next to it); checks that ccsim loads it. Returns the paths written."""
        from sim.model.scenario import load_scenario

        out = Path(out)
        written = [out]
        # Samples first: the scenario names them, and must not exist without them.
        if self.handle_time == "empirical":
            for kind in self.types:
                path = out.parent / _samples_file_name(out.stem, kind)
                write_atomic(path, f"# talk times (s) of answered {kind} calls, from "
                             f"{self.log.report.source}\n"
                             + "\n".join(f"{v:g}" for v in self.handle[kind].samples) + "\n")
                written.append(path)
        write_atomic(out, self.to_yaml(out))
        load_scenario(out)
        return written


def _scenario_type(call: Call, head_start: HeadStart | None, base_type: dict[str, str]) -> str:
    vip = f"{call.type}_vip"
    if head_start is not None and call.priority == head_start.vip_priority and vip in base_type:
        return vip
    return call.type


def _samples_file_name(scenario_name: str, kind: str) -> str:
    # ``kind`` comes from the log: it must not turn the name into a path elsewhere.
    return f"{scenario_name}.handle_{safe_file_name(kind, 'type')}.txt"


def _rate(per_hour: float) -> str:
    return "0/h" if per_hour == 0 else f"{per_hour:.4g}/h"


def _seconds(value: float) -> str:
    return f"{value:.1f}s"


def calibrate(log: CallLog | str | Path, days: str = "weekdays",
              mapping: CsvMapping | str | Path | None = None,
              handle_time: str = "lognormal", away_after: float = AWAY_AFTER, *,
              no_limits: bool = False, patience_queue: bool = False) -> Calibration:
    """Fit every scenario parameter from a call log (a ``CallLog`` or a file to read).

    ``away_after``: how long callers may wait while an agent is between talks
    before the agent counts as away (staffing and wrap-up; ``agent_activity``).
    ``no_limits`` lifts the bound on the size of the log file (``sim.limits``).
    ``patience_queue``: also fit patience by the queue met per type
    (``sim.analysis.queue_patience``), written where the log shows it.
    """
    if handle_time not in ("lognormal", "empirical"):
        raise ValueError(f"--handle-time {handle_time}: allowed: lognormal, empirical")
    if not isinstance(log, CallLog):
        log = read_log(log, mapping, limit=limits_for(no_limits).call_log_bytes)
    chosen, days_text = select_days(log, days)
    day_set = set(chosen)
    calls = [c for c in log.calls if c.day in day_set]
    offered = [c for c in calls if c.offered]

    head_start = estimate_head_start(log.calls)
    vip_counts = Counter(c.type for c in log.calls
                         if head_start and c.offered and c.priority == head_start.vip_priority)
    split = ({t for t, n in vip_counts.items() if n >= MIN_VIP_CALLS}
             if head_start is not None and head_start.shown else set())
    base_type: dict[str, str] = {}
    by_volume = Counter(c.type for c in offered)
    for kind, _ in by_volume.most_common():
        base_type[kind] = kind
        if kind in split:
            base_type[f"{kind}_vip"] = kind
    def type_of(call: Call) -> str:
        return _scenario_type(call, head_start, base_type)

    counts: dict[str, list[float]] = {t: [0.0] * HOURS for t in base_type}
    for call in offered:
        counts[type_of(call)][call.hour] += 1
    rates = {t: [n / len(chosen) for n in row] for t, row in counts.items()}
    per_day = Counter(c.day for c in offered)
    totals = [per_day[d] for d in chosen]
    busyness = _busyness_cv(totals)

    handle = _per_type(offered, type_of, list(base_type),
                       lambda cs: [c.service for c in cs if c.service is not None],
                       lambda values, pooled: fit_handle_time(values, pooled), "talk times")
    patience = _per_type(
        offered, type_of, list(base_type), lambda cs: [c for c in cs if c.wait > 0
                                                        or c.outcome == ABANDONED],
        lambda cs, pooled: _patience_fit(cs, pooled), "abandons",
        enough=lambda cs: sum(c.outcome == ABANDONED for c in cs) >= MIN_FIT, required=False)

    groups = infer_groups(log.calls)
    activity = agent_activity(log.calls, groups, away_after)
    table = staffing_table(activity, groups, chosen)
    staffing = {g: [statistics.fmean(table[d][g][h] for d in chosen) for h in range(HOURS)]
                for g in groups.skills}

    ivr = sum(1 for c in calls if not c.offered)
    shares: dict[str, dict[int, float]] = {}
    for kind in by_volume:
        ps = Counter(c.priority for c in offered if c.type == kind)
        shares[kind] = {p: n / by_volume[kind] for p, n in sorted(ps.items())}
    queue_patience = {}
    if patience_queue:
        from sim.analysis.queue_patience import fit_by_type

        queue_patience = fit_by_type(calls, type_of)
    return Calibration(log, chosen, days_text, list(base_type), base_type, rates, busyness,
                       handle, patience, groups, staffing, head_start, fit_wrap_up(activity),
                       ivr / len(calls) if calls else 0.0, shares, dict(per_day), handle_time,
                       away_after, activity, queue_patience)


def _patience_fit(calls: list[Call], pooled: bool) -> PatienceFit:
    fit = fit_patience([c.wait for c in calls if c.outcome == ABANDONED],
                       [c.wait for c in calls if c.outcome == SERVED], pooled)
    return replace(fit, by_band=patience_by_band(calls))


def _per_type(calls: list[Call], type_of: Callable[[Call], str], types: list[str],
              select: Callable[[list[Call]], list[Any]],
              fit: Callable[[list[Any], bool], Any], what: str,
              enough: Callable[[list[Any]], bool] | None = None,
              required: bool = True) -> dict[str, Any]:
    """Fit per type; a type with too little data gets the fit of all types pooled. With too
    little data in all, no fit (``{}``) unless ``required``, then a ``ValueError``."""
    enough = enough or (lambda values: len(values) >= MIN_FIT)
    by_type: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_type[type_of(call)].append(call)
    everything = select(calls)
    if not enough(everything) and not required:
        return {}
    if not enough(everything):
        raise ValueError(f"too few {what} in the log to fit ({len(everything)}); allowed: a log "
                         f"with at least {MIN_FIT}")
    pooled_fit = None
    fits = {}
    for kind in types:
        values = select(by_type[kind])
        if enough(values):
            fits[kind] = fit(values, False)
        else:
            pooled_fit = pooled_fit or fit(everything, True)
            fits[kind] = pooled_fit
    return fits


def _busyness_cv(totals: list[int]) -> float | None:
    """cv of the day factor: daily totals' squared cv minus their Poisson part (1/mean)."""
    if len(totals) < 3:
        return None
    mean = statistics.fmean(totals)
    excess = statistics.variance(totals) / mean**2 - 1 / mean
    return math.sqrt(excess) if excess > 0 else None


def _round_profile(values: Sequence[float]) -> list[int]:
    """Whole agents per interval whose running total stays within half an agent of the
    fractional one (error diffusion): 0.3, 0.3, 0.3 becomes 0, 1, 0, not 0, 0, 0."""
    rounded, carry = [], 0.0
    for value in values:
        count = max(0, math.floor(value + carry + 0.5))
        carry += value - count
        rounded.append(count)
    return rounded


# ------------------------------------------------------------------------ YAML
class _Writer:
    """Commented YAML for a calibration: data in flow style, reasoning in comments."""

    def __init__(self, calibration: Calibration, out: Path) -> None:
        self.c = calibration
        self.out = out
        self.lines: list[str] = []

    def text(self) -> str:
        c = self.c
        data = c.scenario_dict(name=self.out.stem)
        report = c.log.report
        excluded = sum(report.excluded.values())
        self.comment(f"Calibrated by `ccsim calibrate` from {report.source} ({report.format}).")
        self.comment(f"Lines: {report.lines} read, {report.used} used, {excluded} not used"
                     + (" (" + ", ".join(f"{n} {k}" for k, n in report.excluded.most_common())
                        + ")" if excluded else "") + ".")
        self.comment(f"Days: {c.days_text}; calls per day {min(c.offered_per_day[d] for d in c.days)}"
                     f"-{max(c.offered_per_day[d] for d in c.days)}.")
        self.comment(f"IVR: {c.ivr_share:.1%} of the used lines on these days ended in the IVR "
                     "without asking for an agent; ccsim has no IVR stage, so they are not "
                     "simulated.")
        self.comment("Waits, SL and ASA are for calls that asked for an agent (offered).")
        self.lines.append(f"name: {data['name']}")
        self.lines.append("description: >")
        self.lines.append(f"  Calibrated from {Path(report.source).name} ({c.days_text}). "
                          "Edit freely: every value is a plain scenario key.")
        self.lines.append(f"run: {_flow(data['run'])}")
        self.lines.append("contact_types:")
        wrap = c.wrap_up
        if wrap is not None:
            self.comment(f"wrap_up (every type): agents' gaps between two talks while a caller "
                         f"they could serve was waiting ({wrap.n} gaps,", 2)
            self.comment(f"median {wrap.median:.0f}s, mean {wrap.mean:.0f}s): after-call work, "
                         "pauses and ringing; lognormal by mean and cv.", 2)
        else:
            self.comment("No wrap_up: too few gaps between talks with callers waiting.", 2)
        for kind in c.types:
            self.contact_type(kind, data["contact_types"][kind])
        self.lines.append("agents:")
        self.comment("Groups from the agent ids in the log: an agent with 95%+ of 20+ answered "
                     "calls of one", 2)
        self.comment("type is a specialist (TYPE_desk), the rest are 'general'; a group has a "
                     "type as skill", 2)
        self.comment("when it answered 10%+ of that type's calls. Staffing per hour: mean "
                     "agents logged in: an agent", 2)
        self.comment("counts from their first talk through idle gaps, and as away once callers "
                     "they could serve", 2)
        self.comment(f"have waited {c.away_after:g}s in a gap (--away-after); averaged over the "
                     "days, rounded keeping the", 2)
        self.comment("agent-hours. Agents logged in before their first or after their last talk "
                     "are not seen.", 2)
        for group, spec in data["agents"].items():
            agents = sorted(a for a, g in c.groups.members.items() if g == group)
            self.lines.append(f"  {group}:")
            self.comment(f"{len(agents)} agent ids: " + ", ".join(agents[:12])
                         + (", ..." if len(agents) > 12 else ""), 4)
            self.lines.append(f"    skills: [{', '.join(spec['skills'])}]")
            self.profile("staffing", [str(n) for n in spec["staffing"]], 4)
        if "busyness" in data:
            self.comment("Busyness: cv of daily totals with their Poisson part removed "
                         "(cv^2 = var/mean^2 - 1/mean).")
            self.lines.append(f"busyness: {{dist: gamma, cv: {data['busyness']['cv']}}}")
        else:
            self.comment("No busyness: daily totals vary no more than Poisson noise.")
        self.routing(data["routing"])
        self.lines.append("service_level: {threshold: 20s, short_abandon: 5s}")
        return "\n".join(self.lines) + "\n"

    def comment(self, text: str, indent: int = 0) -> None:
        self.lines.append(" " * indent + "# " + text)

    def profile(self, key: str, values: list[str], indent: int) -> None:
        pad = " " * indent
        self.lines.append(f"{pad}{key}:")
        rows = [values[i:i + 6] for i in range(0, HOURS, 6)]
        for index, row in enumerate(rows):
            start = "[" if index == 0 else " "
            end = "]" if index == len(rows) - 1 else ","
            self.lines.append(f"{pad}  {start}{', '.join(row)}{end}"
                              f"  # {index * 6:02d}:00-{index * 6 + 5:02d}:00")

    def contact_type(self, kind: str, spec: dict[str, Any]) -> None:
        c = self.c
        self.lines.append(f"  {kind}:")
        total = sum(c.rates[kind]) * len(c.days)
        base = c.base_type[kind]
        shares = ", ".join(f"{p}: {s:.0%}" for p, s in c.priority_shares.get(base, {}).items())
        what = f"high-priority (priority {c.head_start.vip_priority}) {base} calls" \
            if kind != base and c.head_start else f"{kind} calls"
        self.comment(f"{round(total)} {what} asked for an agent on these days"
                     + (f"; priority shares of {base}: {shares}" if shares and kind == base
                        else ""), 4)
        self.lines.append("    arrivals:")
        self.profile("rates", spec["arrivals"]["rates"], 6)
        fit = c.handle[kind]
        source = "all types pooled, too few of this type" if fit.pooled else "this type"
        self.comment(f"Handle time from {fit.n} talk times > 0 of {source}: lognormal with "
                     f"their mean and cv, KS distance {fit.ks:.3f};", 4)
        self.comment(f"log-space MLE: mu {fit.mu:.3f}, sigma {fit.sigma:.3f}, mean "
                     f"{fit.mle_mean:.0f}s, KS {fit.ks_mle:.3f} (whole-second times add ties).", 4)
        self.comment("Alternative: --handle-time empirical" if c.handle_time == "lognormal"
                     else "Empirical: resamples these talk times.", 4)
        self.lines.append(f"    handle_time: {_flow(spec['handle_time'])}")
        p = c.patience.get(kind)
        if p is None:
            self.comment(f"No patience: fewer than {MIN_FIT} abandons in the log, so callers "
                         "never hang up here.", 4)
        elif "patience_per_waiting" in spec:
            self.queue_patience(c.queue_patience[kind], spec)
        else:
            self.patience(p, spec["patience"])
        if "wrap_up" in spec:
            self.lines.append(f"    wrap_up: {_flow(spec['wrap_up'])}")

    def queue_patience(self, q: QueuePatienceFit, spec: dict[str, Any]) -> None:
        self.comment(f"Patience by the queue met (--patience-queue): {q.abandons} abandons of "
                     f"{q.calls} callers who queued,", 4)
        self.comment("answered calls censored; a Weibull whose scale shrinks by "
                     f"exp(-{q.per_waiting:.3f}) per caller waiting", 4)
        self.comment(f"on arrival (against none: likelihood ratio p = {q.p_value:.1g}).", 4)
        self.lines.append(f"    patience: {_flow(spec['patience'])}")
        self.lines.append(f"    patience_per_waiting: {spec['patience_per_waiting']}")

    def patience(self, p: PatienceFit, spec: dict[str, Any]) -> None:
        source = "all types pooled, too few abandons of this type" if p.pooled else "this type"
        self.comment(f"Patience ({source}): {p.abandoned} abandons observed, {p.censored} "
                     "answered calls censored at their wait;", 4)
        self.comment(f"{p.dist} MLE with censoring (exponential mean {p.exponential_mean:.0f}s; "
                     f"Weibull vs exponential 2dlogL = {p.likelihood_ratio:.1f}, "
                     "Weibull if > 3.84).", 4)
        km = ", ".join(f"S({t}s) = {s:.2f}" for t, s in p.km_survival.items())
        median = f"median {p.km_median:.0f}s" if p.km_median is not None else "median beyond data"
        self.comment(f"Kaplan-Meier: {median}, {km}. The abandoned-only mean "
                     f"({p.abandoned_only_mean:.0f}s) is biased low.", 4)
        bands = ", ".join(f"{label} {mean:.0f}s" for label, mean, _ in p.by_band
                          if mean is not None)
        if bands:
            self.comment(f"Mean patience by hour band (exponential MLE; one value is "
                         f"written): {bands}", 4)
        self.lines.append(f"    patience: {_flow(spec)}")

    def routing(self, routing: dict[str, Any]) -> None:
        head = self.c.head_start
        if head is None:
            self.comment("Routing: the log has a single priority class.")
        else:
            self.comment(f"Head start of priority {head.vip_priority}: {head.pairs} pairs of "
                         "answered calls that waited together; out of order under FCFS "
                         f"{head.out_of_order_at_zero},")
            self.comment(f"fewest ({head.out_of_order_at_best}) with a {head.seconds:.0f}s "
                         f"head start: {'a head start is' if head.shown else 'no head start'} "
                         "shown (needs 10% fewer).")
        self.lines.append("routing:")
        self.lines.append(f"  policy: {routing['policy']}")
        if "priority" in routing:
            self.lines.append("  priority:")
            self.lines.append("    classes:")
            for kind, spec in routing["priority"]["classes"].items():
                self.lines.append(f"      {kind}: {_flow(spec)}")


def _flow(mapping: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"


# ------------------------------------------------------------------------ CLI
def configure(parser: Any) -> None:
    """Give ``ccsim calibrate``'s parser (help line in ``sim.cli.LAZY_COMMANDS``) its
    arguments and handler."""
    parser.add_argument("log", help="call log file")
    parser.add_argument("--out", required=True, metavar="SCENARIO.yaml",
                        help="scenario file to write")
    parser.add_argument("--mapping", metavar="MAP.yaml",
                        help="column mapping for a CSV log (docs/calibration.md)")
    parser.add_argument("--days", default="weekdays",
                        help="weekdays (default), weekend, all, or day names e.g. fri or sun,mon")
    parser.add_argument("--handle-time", choices=["lognormal", "empirical"], default="lognormal",
                        help="handle-time distribution to write (default lognormal)")
    parser.add_argument("--patience-queue", action="store_true",
                        help="fit patience that shrinks with the queue a caller finds and "
                             "write it (patience_per_waiting) where the log shows it")
    add_away_after_option(parser)
    add_limit_options(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.set_defaults(handler=_cmd_calibrate)


def add_away_after_option(parser: Any) -> None:
    """``--away-after DURATION``: how staffing is inferred (shared with ``ccsim reality``)."""
    parser.add_argument("--away-after", default=f"{AWAY_AFTER:g}s", metavar="DURATION",
                        help="callers may wait this long while an agent is between talks before "
                        f"the agent counts as away (default {AWAY_AFTER:g}s)")


def _cmd_calibrate(args: Any) -> int:
    check_output_file(args.out, "--out")
    result = calibrate(args.log, args.days, args.mapping, args.handle_time,
                       parse_flag("--away-after", parse_duration, args.away_after),
                       no_limits=args.no_limits, patience_queue=args.patience_queue)
    print(result.log.report.format_text())
    written = result.write(args.out)
    print(f"calibrated on {result.days_text}: {len(result.types)} contact types, "
          f"{len(result.groups.skills)} agent groups")
    for path in written:
        print(f"wrote {path}")
    return 0
