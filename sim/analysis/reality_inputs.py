"""What the log shows, what the scenario assumes and what the simulation realises, per hour.

The first question of a reality check that misses is *which input is off*.
For every hour of day and contact type this module sets side by side:

* **log**: the calls that arrived, the share of them with the top priority,
  the mean talk time of the answered ones, the patience the log implies
  (and its Kaplan-Meier curve at 60 s and 300 s), the agents busy talking,
  and the agents on duty as inferred from their activity
  (``sim.calibrate.agent_activity``; inferred, not observed: the log has no
  login records);
* **scenario**: what the simulated days' scenarios assume for that hour
  (rates, the share in VIP classes, the band's handle-time and patience
  means and patience curve, the staffing given);
* **simulated**: what the runs realise from the per-contact trace, counted
  exactly as the log's side is (mean over replications).

Patience on both realised sides is the censored exponential estimate: the
time all callers spent waiting (abandoned ones until they hung up, answered
ones until answer, right-censored) over the number who abandoned. It is the
maximum-likelihood mean of an exponential patience and reads the log and the
simulation the same way, so a scenario's patience that the simulation
realises differently from the log shows up here even when the distribution
is not exponential. The Kaplan-Meier curve counts abandons as events and
answered calls as censored at their wait, per whole second (an abandon and an
answer in the same second: the abandon first), so it streams from counts per
second. Agents busy = talk seconds inside the hour / 3600 / days (talks that
spill past midnight count in the early hours, on both sides).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sim.analysis.calibrate import HOURS
from sim.model.units import parse_duration, parse_rate

DAY = 86400.0
SURVIVAL_AT = (60, 300)
"""Seconds at which the patience curves are compared."""
INPUTS = ("calls", "top_priority_share", "handle_s", "patience_s", "survival_60s",
          "survival_300s", "agents_busy", "agents_on_duty")
"""The compared inputs, in the order tables show them."""
ALL_TYPES = "all"
WAIT_TAIL_AT = (1, 20, 60, 120, 300)
"""Seconds t at which the wait distributions are compared: the share of the answered and
abandoned calls that waited t or longer (1 s: waited at all, at the log's resolution)."""


def base_type(kind: str) -> str:
    """The log's type of a simulated type split by hour band (``PS@16-19`` -> ``PS``)."""
    return kind.split("@", 1)[0]


@dataclass(frozen=True)
class AssumedType:
    """What a scenario assumes for one contact type in one hour: expected calls and the
    call-weighted means of handle time, wrap-up and patience (inf: nobody abandons)."""

    calls: float
    handle_s: float
    wrap_s: float
    patience_s: float
    survival: tuple[float, ...] = (1.0,) * len(SURVIVAL_AT)
    """P(patience > t) at each of ``SURVIVAL_AT``."""
    top_share: float = 0.0
    """Share of the calls in a VIP class."""


@dataclass(frozen=True)
class AssumedHour:
    """What a simulated day's scenario assumes for one hour of day."""

    agents: float
    """Mean agents on duty over the hour, all groups."""
    types: dict[str, AssumedType]
    """Per log type (band types merged); only types with calls in the hour."""


def patience_survival(spec: dict[str, Any] | None, seconds: float) -> float:
    """P(patience > ``seconds``) of a scenario's ``patience`` (exponential or Weibull by
    mean and shape; None: nobody abandons)."""
    if spec is None:
        return 1.0
    mean = parse_duration(spec["mean"])
    if spec.get("dist") == "weibull":
        shape = float(spec["shape"])
        scale = mean / math.gamma(1 + 1 / shape)
        return math.exp(-((seconds / scale) ** shape))
    return math.exp(-seconds / mean)


def assumed_hours(scenario: dict[str, Any], top: Iterable[str] = ()) -> list[AssumedHour]:
    """Per hour of day, what ``scenario`` (rates, not a trace; ``run.interval`` a
    divisor of an hour) assumes: agents on duty and, per type, calls, mean times, the
    patience curve and the share in the VIP classes ``top`` (log types)."""
    top = set(top)
    types = scenario["contact_types"]
    per_hour = len(next(iter(types.values()))["arrivals"]["rates"]) // HOURS
    staffing = [sum(g["staffing"][i] for g in scenario["agents"].values())
                for i in range(per_hour * HOURS)]
    hours = []
    for hour in range(HOURS):
        slots = range(hour * per_hour, (hour + 1) * per_hour)
        width = 4 + len(SURVIVAL_AT)
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * width)
        for name, spec in types.items():
            calls = sum(parse_rate(spec["arrivals"]["rates"][i]) for i in slots) * 3600 / per_hour
            if calls == 0:
                continue
            wrap = parse_duration(spec["wrap_up"]["mean"]) if "wrap_up" in spec else 0.0
            patience = (parse_duration(spec["patience"]["mean"]) if "patience" in spec
                        else math.inf)
            total = sums[base_type(name)]
            total[0] += calls
            total[1] += calls * parse_duration(spec["handle_time"]["mean"])
            total[2] += calls * wrap
            total[3] += calls * patience
            for index, seconds in enumerate(SURVIVAL_AT):
                total[4 + index] += calls * patience_survival(spec.get("patience"), seconds)
        hours.append(AssumedHour(
            sum(staffing[i] for i in slots) / per_hour,
            {kind: AssumedType(calls, handle / calls, wrap / calls, patience / calls,
                               tuple(value / calls for value in rest),
                               1.0 if kind in top else 0.0)
             for kind, (calls, handle, wrap, patience, *rest) in sums.items()}))
    return hours


def _sums() -> defaultdict[tuple[str, int], float]:
    return defaultdict(float)


@dataclass
class RealisedTally:
    """Sums per (log type, hour of day) of what one side realised, over the scored days."""

    calls: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    talks: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    talk_s: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    abandons: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    waited_s: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    busy_s: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    """Talk seconds inside each hour of day (by the hour the talk ran in, not the arrival)."""
    top: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    """Calls with the top priority (log) or in a VIP class (simulation)."""
    abandoned_at: defaultdict[tuple[str, int], Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter))
    """Abandons per whole second of wait, for the Kaplan-Meier curve."""
    answered_at: defaultdict[tuple[str, int], Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter))

    def add(self, kind: str, arrival: float, answered: bool, wait: float,
            talk: float | None, top: bool = False) -> None:
        """One answered or abandoned contact (times in seconds; ``talk`` None when unknown;
        ``top``: of the top priority class)."""
        key = (kind, int((arrival % DAY) // 3600))
        self.calls[key] += 1
        self.top[key] += top
        self.waited_s[key] += wait
        (self.answered_at if answered else self.abandoned_at)[key][int(wait)] += 1
        if not answered:
            self.abandons[key] += 1
            return
        if talk is None:
            return
        self.talks[key] += 1
        self.talk_s[key] += talk
        begin, end = arrival + wait, arrival + wait + talk
        while begin < end:
            slot_end = min(end, (begin // 3600 + 1) * 3600)
            self.busy_s[(kind, int((begin % DAY) // 3600))] += slot_end - begin
            begin = slot_end

    def wait_tail(self, kind: str) -> dict[str, float]:
        """Over all hours, the share of the answered and abandoned calls of ``kind``
        (``ALL_TYPES``: all) that waited t or longer, for t in ``WAIT_TAIL_AT``."""
        seconds: Counter[int] = Counter()
        for counts in (self.answered_at, self.abandoned_at):
            for (k, _), waits in counts.items():
                if kind in (ALL_TYPES, k):
                    seconds.update(waits)
        calls = sum(seconds.values())
        return {f"waited_{t}s": (sum(n for second, n in seconds.items() if second >= t) / calls
                                 if calls else math.nan) for t in WAIT_TAIL_AT}

    def figures(self, kind: str, hour: int, days: int) -> dict[str, float]:
        """Calls, mean talk, censored patience mean and agents busy of ``kind``
        (``ALL_TYPES`` for every type) in ``hour``, per ``days`` scored days."""
        def total(sums: dict[tuple[str, int], float]) -> float:
            if kind != ALL_TYPES:
                return sums.get((kind, hour), 0.0)
            return sum(value for (_, h), value in sums.items() if h == hour)

        def merged(counts: dict[tuple[str, int], Counter[int]]) -> Counter[int]:
            return sum((c for (k, h), c in counts.items()
                        if h == hour and kind in (ALL_TYPES, k)), Counter())

        talks, abandons, calls = total(self.talks), total(self.abandons), total(self.calls)
        curve = kaplan_meier(merged(self.abandoned_at), merged(self.answered_at), SURVIVAL_AT)
        return {"calls": calls,
                "top_priority_share": total(self.top) / calls if calls else math.nan,
                "handle_s": total(self.talk_s) / talks if talks else math.nan,
                "patience_s": total(self.waited_s) / abandons if abandons else math.nan,
                **{f"survival_{t}s": value for t, value in zip(SURVIVAL_AT, curve)},
                "agents_busy": total(self.busy_s) / 3600 / days}


def kaplan_meier(events: Counter[int], censored: Counter[int],
                 at: Iterable[int]) -> list[float]:
    """The Kaplan-Meier survival at each of ``at`` seconds from counts per whole second of
    events (abandons) and censorings (answers); an event and a censoring in the same second:
    the event first. NaN without observations."""
    at = list(at)
    at_risk = sum(events.values()) + sum(censored.values())
    if not at_risk:
        return [math.nan] * len(at)
    survival, curve = 1.0, {}
    times = sorted(events.keys() | censored.keys())
    passed = 0  # seconds of ``times`` already counted
    for point in sorted(at):
        while passed < len(times) and times[passed] < point:
            second = times[passed]
            passed += 1
            if events[second]:
                survival *= 1 - events[second] / at_risk
            at_risk -= events[second] + censored[second]
        curve[point] = survival
    return [curve[point] for point in at]


@dataclass
class AssumedTally:
    """What the simulated days' scenarios assume, summed per (log type, hour of day)."""

    calls: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    handle: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    patience: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    survival: defaultdict[tuple[str, int], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0] * len(SURVIVAL_AT)))
    top: defaultdict[tuple[str, int], float] = field(default_factory=_sums)
    agents: list[float] = field(default_factory=lambda: [0.0] * HOURS)

    def add_day(self, hours: list[AssumedHour]) -> None:
        """Add one simulated day (``assumed_hours`` of its scenario)."""
        for hour, assumed in enumerate(hours):
            self.agents[hour] += assumed.agents
            for kind, figures in assumed.types.items():
                self.calls[(kind, hour)] += figures.calls
                self.handle[(kind, hour)] += figures.calls * figures.handle_s
                self.patience[(kind, hour)] += figures.calls * figures.patience_s
                self.top[(kind, hour)] += figures.calls * figures.top_share
                sums = self.survival[(kind, hour)]
                for index, value in enumerate(figures.survival):
                    sums[index] += figures.calls * value

    def figures(self, kind: str, hour: int, days: int) -> dict[str, float]:
        """Expected calls, mean handle time and patience of ``kind`` (``ALL_TYPES``: all,
        weighted by calls) in ``hour``, and the agents on duty, per ``days`` scored days."""
        keys = [key for key in self.calls if key[1] == hour and kind in (ALL_TYPES, key[0])]
        calls = sum(self.calls[key] for key in keys)

        def mean(values: Iterable[float]) -> float:
            return sum(values) / calls if calls else math.nan

        return {"calls": calls,
                "top_priority_share": mean(self.top[k] for k in keys),
                "handle_s": mean(self.handle[k] for k in keys),
                "patience_s": mean(self.patience[k] for k in keys),
                **{f"survival_{t}s": mean(self.survival[k][index] for k in keys)
                   for index, t in enumerate(SURVIVAL_AT)},
                "agents_on_duty": self.agents[hour] / days}


@dataclass
class InputComparison:
    """The three sides of every hour and type, ready for the JSON, the text and the page."""

    log: RealisedTally
    log_agents: list[float]
    """Agents on duty per hour of day inferred from the log, summed over the scored days."""
    scenario: AssumedTally
    simulated: list[RealisedTally]
    """One per replication."""
    days: int

    def rows(self) -> list[dict[str, Any]]:
        """One entry per hour with calls and per type (``all`` first): ``{hour, type, log,
        scenario, simulated}``, each side a dict of ``INPUTS`` (NaN where undefined)."""
        types = sorted({kind for kind, _ in self.log.calls})
        rows = []
        for hour in range(HOURS):
            if not any(self.log.calls.get((kind, hour)) for kind in types):
                continue
            for kind in [ALL_TYPES, *types] if len(types) > 1 else [ALL_TYPES]:
                log = self.log.figures(kind, hour, self.days)
                if kind != ALL_TYPES and not log["calls"]:
                    continue
                scenario = self.scenario.figures(kind, hour, self.days)
                per_rep = [tally.figures(kind, hour, self.days) for tally in self.simulated]
                simulated = {name: _mean([figures[name] for figures in per_rep])
                             for name in INPUTS if name != "agents_on_duty"}
                if kind == ALL_TYPES:
                    log["agents_on_duty"] = self.log_agents[hour] / self.days
                    simulated["agents_on_duty"] = scenario["agents_on_duty"]
                else:
                    del scenario["agents_on_duty"]
                scenario["agents_busy"] = math.nan  # an outcome, not an assumption
                rows.append({"hour": hour, "type": kind, "log": log,
                             "scenario": scenario, "simulated": simulated})
        return rows

    def waits(self) -> list[dict[str, Any]]:
        """Per type (``all`` first), over all hours, the share of the log's and the
        simulation's calls (mean of replications) that waited t or longer:
        ``{type, log, simulated}``, each side ``{waited_Ts: share}`` for ``WAIT_TAIL_AT``.
        The same inputs can give the same SL and different tails: a simulation with too
        many long waits abandons too much."""
        types = sorted({kind for kind, _ in self.log.calls})
        rows = []
        for kind in [ALL_TYPES, *types] if len(types) > 1 else [ALL_TYPES]:
            per_rep = [tally.wait_tail(kind) for tally in self.simulated]
            log = self.log.wait_tail(kind)
            rows.append({"type": kind, "log": log,
                         "simulated": {name: _mean([r[name] for r in per_rep]) for name in log}})
        return rows

    def waits_json(self) -> list[dict[str, Any]]:
        """``waits`` with JSON ``null`` for NaN."""
        return [{"type": row["type"], **{side: _json_figures(row[side])
                                         for side in ("log", "simulated")}}
                for row in self.waits()]

    def waits_text(self) -> str:
        """``waits`` as lines of text."""
        head = f"{'type':>6} | " + " | ".join(f"{f'>= {t}s log':>11} {'sim':>6}"
                                              for t in WAIT_TAIL_AT)
        lines = [("share of the answered and abandoned calls that waited at least t "
                  "(all hours; log, mean of replications):"), head, "-" * len(head)]
        for row in self.waits():
            lines.append(f"{row['type']:>6} | " + " | ".join(
                f"{_share(row['log'][f'waited_{t}s'], 3):>11} "
                f"{_share(row['simulated'][f'waited_{t}s'], 3):>6}" for t in WAIT_TAIL_AT))
        return "\n".join(lines)

    def to_json(self) -> list[dict[str, Any]]:
        """``rows`` with JSON ``null`` for NaN and sides without a figure left out."""
        return [{"hour": row["hour"], "type": row["type"],
                 **{side: _json_figures(row[side]) for side in ("log", "scenario", "simulated")}}
                for row in self.rows()]

    def format_text(self, min_calls: float = 0) -> str:
        """All types per hour with at least ``min_calls`` calls: log / scenario / simulated."""
        head = (f"{'hour':>4} | {'calls log':>9} {'sim':>7} | {'talk (s) log':>12} {'scn':>6} "
                f"{'sim':>6} | {'patience (s) log':>16} {'scn':>6} {'sim':>6} | "
                f"{'S(60s) log':>10} {'scn':>5} {'sim':>5} | "
                f"{'busy log':>8} {'sim':>5} | {'on duty log':>11} {'scn':>5}")
        lines = ["what the log shows, the scenario assumes and the simulation realises "
                 "(all types; on duty in the log is inferred from activity):", head,
                 "-" * len(head)]
        for row in self.rows():
            if row["type"] != ALL_TYPES or row["log"]["calls"] < min_calls:
                continue
            log, scenario, simulated = row["log"], row["scenario"], row["simulated"]
            lines.append(
                f"{row['hour']:>4} | {log['calls']:>9.0f} {simulated['calls']:>7.0f} | "
                f"{_num(log['handle_s']):>12} {_num(scenario['handle_s']):>6} "
                f"{_num(simulated['handle_s']):>6} | {_num(log['patience_s']):>16} "
                f"{_num(scenario['patience_s']):>6} {_num(simulated['patience_s']):>6} | "
                f"{_share(log['survival_60s']):>10} {_share(scenario['survival_60s']):>5} "
                f"{_share(simulated['survival_60s']):>5} | "
                f"{log['agents_busy']:>8.2f} {simulated['agents_busy']:>5.2f} | "
                f"{log['agents_on_duty']:>11.2f} {scenario['agents_on_duty']:>5.2f}")
        return "\n".join(lines)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _json_figures(figures: dict[str, float]) -> dict[str, float | None]:
    """Figures rounded for the JSON, ``null`` for NaN."""
    return {name: None if math.isnan(value) else round(value, 4)
            for name, value in figures.items()}


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def _share(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"
