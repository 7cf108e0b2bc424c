"""Staffing optimiser: the fewest agents that meet service targets under a routing policy.

    ccsim staff SCENARIO.yaml --target "service_level>=0.8" --target "abandon_rate<=0.05"

Method
------
1. **Erlang start.** For each scope (the whole run, or each interval of the
   day when the scenario has per-interval ``rates`` or ``staffing``), the
   traffic of all contact types is pooled into one M/M/c(+M) queue: total
   rate, rate-weighted mean handle time (plus wrap-up) and mean patience
   (Erlang C when some type never abandons). The smallest count meeting every
   target with an exact formula (``sim.analytics``) is shared among the sized
   groups in proportion to their current counts; agents of fixed groups
   (``shifts``) on duty are subtracted.
2. **Refinement by simulation.** Each staffing level is simulated with the
   scenario's replications (common random numbers: every level sees the same
   contacts). A scope that misses a target gets one more agent, in the sized
   group with the highest utilisation; while every scope meets every target,
   each group in turn gives up agents in every scope where it may (1, then 2,
   4, ... while that works, back to 1 after a miss), and a scope that misses
   with one agent fewer gets it back and is settled.

Acceptance (CI-aware)
---------------------
A target counts as **met** only when the whole 95% confidence interval over
replications lies on its good side (``low >= 0.8`` for ``service_level>=0.8``).
When the interval straddles the target the level is treated as not meeting it:
a plan must meet the target, not meet it half of the time. Such close calls
are listed in the output; more replications (``--replications``) resolve them.
A scope with no offered contacts meets every target.

For a single-skill scenario with exponential handle times and patience the
answer is the exact Erlang C/A staffing whenever the replications separate the
neighbouring counts (see ``tests/test_staffing.py``).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.analysis.analytics import full_time_equivalents, queue_figures, required_agents
from sim.cli.options import (
    add_limit_options, at_least, check_count_options, check_workload, checked_jobs, share_flag,
)
from sim.runner import Estimate, RunResults, run
from sim.model.scenario import DAY, AgentGroup, Scenario, load_scenario
from sim.analysis.sweep import split_label
from sim.errors import UsageError
from sim.files import check_output_folder, write_atomic
from sim.model.units import format_duration, parse_share

# Metrics that improve with more agents, and the side a staffing target bounds.
TARGET_METRICS: dict[str, str] = {
    "service_level": ">=", "abandon_rate": "<=", "asa_s": "<=", "mean_wait_s": "<=",
    "wait_p50_s": "<=", "wait_p90_s": "<=", "wait_p99_s": "<=", "p_wait": "<=",
    "occupancy": "<=", "utilisation": "<=",
}
_SHARES = ("service_level", "abandon_rate", "p_wait", "occupancy", "utilisation")
# The exact-formula counterpart of each metric, for the Erlang start (wait
# percentiles have none; simulation alone handles them).
_ANALYTIC = {"service_level": "service_level", "abandon_rate": "p_abandon", "asa_s": "asa_s",
             "mean_wait_s": "mean_wait_s", "p_wait": "p_wait", "occupancy": "occupancy",
             "utilisation": "occupancy"}
MET, MISSED, CLOSE = "met", "missed", "close"
MAX_LEVELS = 80
"""Staffing levels simulated at most before giving up."""
_TARGET = re.compile(r"^\s*([A-Za-z_0-9]+)\s*(>=|<=|=>|=<|>|<|==|=)\s*([^\s<>=]\S*)\s*$")


ONE_DAY = ("its rates or staffing differ by weekday, and the optimiser sizes one day that "
           "repeats; allowed: a scenario without weekday keys (arrivals.weekdays, "
           "rates_by_weekday, staffing_by_weekday, shift days), e.g. one per weekday to size")
"""Why ``ccsim staff`` and ``ccsim roster`` refuse a scenario whose weekdays differ."""


class StaffingError(ValueError):
    """Targets that cannot be reached or a scenario the optimiser cannot size."""


@dataclass(frozen=True)
class Target:
    """A bound on one metric, e.g. ``service_level >= 0.8``."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def judge(self, estimate: Estimate) -> str:
        """``met`` / ``missed`` when the 95% CI is wholly on one side, else ``close``."""
        if estimate.n == 0 or math.isnan(estimate.mean):
            return MET  # no contacts in this scope: nothing to serve
        low, high = estimate.low, estimate.high
        if math.isnan(low):  # one replication: no interval, the mean decides
            low = high = estimate.mean
        good, bad = (low >= self.value, high < self.value) if self.op == ">=" else (
            high <= self.value, low > self.value)
        return MET if good else MISSED if bad else CLOSE

    def holds(self, value: float) -> bool:
        """Whether an exact value meets the target."""
        return value >= self.value if self.op == ">=" else value <= self.value


def parse_target(text: str) -> Target:
    """``"service_level>=0.8"``, ``"abandon_rate <= 5%"``, ``"asa_s<=30"`` -> ``Target``.

    Raises ``ValueError`` naming what is allowed for an unknown metric, a
    malformed expression or a bound on the wrong side.
    """
    allowed = ", ".join(f"{m}{op}VALUE" for m, op in TARGET_METRICS.items())
    match = _TARGET.match(text)
    if match is None:
        raise ValueError(f"target {text!r} is not METRIC>=VALUE or METRIC<=VALUE; allowed: "
                         f"e.g. service_level>=0.8, abandon_rate<=0.05")
    metric, op, raw = match.groups()
    if metric not in TARGET_METRICS:
        raise ValueError(f"target {text!r}: unknown metric {metric!r}; allowed: {allowed}")
    op = {"=>": ">=", "=<": "<="}.get(op, op)
    want = TARGET_METRICS[metric]
    if op != want:
        trend = "rises" if want == ">=" else "falls"
        raise ValueError(f"target {text!r}: {metric} {trend} with more agents, so a staffing "
                         f"target bounds it with {want}; allowed: {metric}{want}VALUE")
    try:
        value = parse_share(raw)
    except ValueError:
        raise ValueError(f"target {text!r}: {raw!r} is not a number; allowed: a number such "
                         "as 0.8 or 80%") from None
    if metric in _SHARES and not 0 < value < 1:
        raise ValueError(f"target {text!r}: {metric} is a share; allowed: a value strictly "
                         "between 0 and 1 (or 0% and 100%)")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"target {text!r}: allowed: a bound greater than 0")
    return Target(metric, op, value)


@dataclass(frozen=True)
class Staffing:
    """The optimiser's answer and how it got there."""

    scenario: Scenario
    """The input scenario with the optimised counts."""
    policy: str
    targets: tuple[Target, ...]
    groups: tuple[str, ...]
    """Groups sized by the optimiser (the others are kept as given)."""
    scopes: tuple[str, ...]
    """``("all",)`` for one count per group, else interval labels ``HH:MM``."""
    schedule: dict[str, tuple[int, ...]]
    """Agents per sized group, one per scope."""
    erlang: dict[str, tuple[int, ...]]
    """The Erlang estimate (where the search starts unless ``start`` was given)."""
    achieved: dict[str, dict[str, Estimate]]
    """Per scope, each target metric's estimate at the answer."""
    close_calls: tuple[tuple[str, str], ...]
    """(group, scope) where one agent fewer gave a CI that straddled a target."""
    levels: int
    """Staffing levels simulated."""
    cost: dict[str, Estimate] | None = None
    """With the cost objective: ``agent_cost`` and ``total_cost`` of the answer."""


def optimise_staffing(
    scenario: Scenario,
    targets: Sequence[Target],
    policy: str | None = None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    start: dict[str, Sequence[int]] | None = None,
    no_limits: bool = False,
    objective: str = "agents",
) -> Staffing:
    """Smallest agent counts meeting every target under ``policy`` (see the module doc).

    ``objective="cost"`` (a scenario with a ``costs`` block) looks for the cheapest
    staffing instead: an agent that is missing goes to the group with the most
    utilisation per money, agents are given up by the dearest groups first, and then
    moved one by one from dearer groups to cheaper ones while the targets hold (after
    which the cheaper groups give up what they can).

    ``start`` replaces the Erlang estimate: one count per scope for each sized
    group (``[n]`` when staffing is constant). ``no_limits`` lifts the judgement bounds
    of ``sim.limits`` for every simulated level.
    """
    if not targets:
        raise StaffingError("no target given; allowed: e.g. --target 'service_level>=0.8'")
    scenario = scenario.with_overrides(seed=seed, replications=replications)
    if scenario.run.replications < 2:
        raise StaffingError("CI-aware acceptance needs at least 2 replications; allowed: "
                            "--replications 2 or more (or run.replications in the scenario)")
    if scenario.by_weekday:
        raise StaffingError(f"{scenario.name}: {ONE_DAY}")
    policy = policy or scenario.routing.policy
    groups = tuple(name for name, g in scenario.agents.items() if g.shifts is None)
    rates = None
    if objective == "cost":
        if scenario.costs is None:
            raise StaffingError(f"{scenario.name}: the cost objective prices agents with the "
                                "scenario's costs block, which it has none of; allowed: add "
                                "costs with agent_per_hour, or --objective agents")
        rates = dict(zip(scenario.agents, scenario.costs.rates(tuple(scenario.agents))))
    if not groups:
        raise StaffingError(f"{scenario.name}: every agent group works shifts, which the "
                            "optimiser keeps as given; allowed: a group with count or staffing")
    for type_name in scenario.contact_types:
        servers = [n for n, g in scenario.agents.items() if type_name in g.skills]
        if not set(servers) & set(groups):
            raise StaffingError(
                f"{scenario.name}: contact type {type_name!r} is served only by groups with "
                f"shifts ({', '.join(servers)}), which the optimiser keeps as given, so no "
                "count it chooses can change that type's figures; allowed: give one of those "
                "groups count or staffing (one count per interval)")
    per_interval = (any(t.arrivals.rates is not None for t in scenario.contact_types.values())
                    or any(scenario.agents[g].staffing is not None for g in groups))
    periods = scenario.run.intervals_per_day if per_interval else 1
    erlang = _erlang_start(scenario, groups, targets, periods)
    initial = erlang if start is None else _checked_start(start, groups, periods)
    search = _Search(scenario, policy, targets, groups, periods, jobs, no_limits, rates)
    schedule = search.run(initial)
    if rates is not None:
        schedule = search.run(search.cheapen(schedule))
    best = search.evaluate(schedule)
    cost = None if rates is None else {m: best.summary("overall")[search.label][m]
                                       for m in ("agent_cost", "total_cost")}
    scopes = tuple(search.scope_name(s) for s in range(periods))
    achieved = {label: {t.metric: figures[t.metric] for t in targets}
                for label, figures in zip(scopes, search.scope_figures(best))}
    return Staffing(search.scenario_for(schedule), policy, tuple(targets), groups, scopes,
                    {g: tuple(c) for g, c in schedule.items()},
                    {g: tuple(c) for g, c in erlang.items()}, achieved,
                    tuple((g, search.scope_name(s)) for g, s, count in sorted(search.close_calls)
                          if schedule[g][s] == count + 1),
                    len(search.cache), cost)


def _checked_start(start: dict[str, Sequence[int]], groups: tuple[str, ...],
                   periods: int) -> dict[str, list[int]]:
    if set(start) != set(groups) or any(len(c) != periods for c in start.values()):
        raise StaffingError(f"start must give {periods} count(s) for each of {', '.join(groups)}")
    return {g: [int(n) for n in start[g]] for g in groups}


def _erlang_start(scenario: Scenario, groups: tuple[str, ...], targets: Sequence[Target],
                  periods: int) -> dict[str, list[int]]:
    """Pooled Erlang C/A estimate per scope, shared among ``groups`` (see module doc)."""
    interval = scenario.run.interval if periods > 1 else DAY
    schedule: dict[str, list[int]] = {g: [] for g in groups}
    for slot in range(periods):
        needed = erlang_agents(scenario, scenario.contact_types, slot, targets)
        fixed = sum(_mean_on_duty(g, scenario, slot * interval, interval)
                    for name, g in scenario.agents.items() if name not in groups)
        sized = max(needed - math.floor(fixed), 0)
        weights = [_count_at(scenario.agents[g], slot) for g in groups]
        total = sum(weights)
        shares = [w / total for w in weights] if total else [1 / len(groups)] * len(groups)
        for name, share in zip(groups, shares):
            schedule[name].append(math.ceil(sized * share))
    return schedule


def erlang_agents(scenario: Scenario, type_names: Iterable[str], slot: int,
                  targets: Sequence[Target]) -> int:
    """Smallest M/M/c(+M) server count meeting every target that has an exact formula for
    the traffic of ``type_names`` pooled in interval ``slot`` of the day (0 without
    traffic): total rate, rate-weighted mean handle time (plus wrap-up) and mean patience
    (Erlang C when some type never abandons)."""
    rate = aht_sum = patience_sum = 0.0
    never_abandon = False
    for name in type_names:
        ctype = scenario.contact_types[name]
        arrivals = ctype.arrivals
        type_rate = arrivals.rates[slot] if arrivals.rates is not None else arrivals.rate
        if not type_rate:
            continue
        rate += type_rate
        aht_sum += type_rate * (ctype.handle_time.mean
                                + (ctype.wrap_up.mean if ctype.wrap_up else 0.0))
        if ctype.patience is None:
            never_abandon = True
        else:
            patience_sum += type_rate * ctype.patience.mean
    if rate <= 0:
        return 0
    patience = None if never_abandon else patience_sum / rate
    return _servers_for(rate, aht_sum / rate, patience, scenario.service_level.threshold,
                        targets)


def _servers_for(rate: float, aht: float, patience: float | None, threshold: float,
                 targets: Sequence[Target]) -> int:
    """Smallest M/M/c(+M) server count meeting every target that has an exact formula."""
    load = rate * aht
    floor = math.floor(load) + 1 if patience is None else 1  # Erlang C needs c > load
    for target in targets:
        if target.metric == "service_level":
            floor = max(floor, required_agents(rate, aht, target.value, threshold, patience))
    exact = [t for t in targets if t.metric in _ANALYTIC and t.metric != "service_level"]
    servers = floor
    while exact:
        figures = queue_figures(rate, aht, servers, threshold, patience)
        if all(t.holds(getattr(figures, _ANALYTIC[t.metric])) for t in exact):
            break
        servers += 1
    return servers


def _mean_on_duty(group: AgentGroup, scenario: Scenario, begin: float, length: float) -> float:
    """Time-average number of ``group``'s agents on duty over ``[begin, begin + length)``."""
    steps = group.on_duty(scenario.run.interval, scenario.run.intervals_per_day)
    total = 0.0
    for index, (time, count) in enumerate(steps):
        end = steps[index + 1][0] if index + 1 < len(steps) else DAY
        total += count * max(0.0, min(end, begin + length) - max(time, begin))
    return total / length


def _count_at(group: AgentGroup, slot: int) -> int:
    return group.count if group.count is not None else group.staffing[slot]  # type: ignore[index]


def simulate(scenario: Scenario, policy: str, jobs: int = 1,
             no_limits: bool = False) -> RunResults:
    """``scenario`` under ``policy`` (``NAME`` or ``NAME/STRATEGY``) with one verification
    strategy (the label's, else the scenario's first), so that the results carry the plain
    policy name as their label."""
    name, strategy = split_label(policy)
    identity = scenario.identity
    strategies = [strategy] if strategy else (
        list(identity.verification.strategies[:1]) if identity else None)
    return run(scenario, [name], jobs=jobs, progress=False, verifications=strategies,
               no_limits=no_limits)


def interval_label(slot: int, interval: float) -> str:
    """The key ``HH:MM`` (``HH:MM:SS`` off whole minutes) of interval ``slot`` of the day in
    per-interval results."""
    seconds = round(slot * interval)
    label = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
    return label if seconds % 60 == 0 else f"{label}:{seconds % 60:02d}"


class _Search:
    """Simulation-driven search over (group, scope) counts, with a cache of levels."""

    def __init__(self, scenario: Scenario, policy: str, targets: Sequence[Target],
                 groups: tuple[str, ...], periods: int, jobs: int, no_limits: bool,
                 rates: dict[str, float] | None = None) -> None:
        self.scenario = scenario
        self.rates = rates
        """Money per agent-second by group, with the cost objective."""
        self.policy = policy
        self.label = split_label(policy)[0]
        """Key of the results: the policy name (one strategy is run)."""
        self.targets = tuple(targets)
        self.groups = groups
        # Agents are given up group by group in turn; with the cost objective always the
        # dearest group that still may (the sort is stable: equal rates keep file order).
        self.giving_up = groups if rates is None else tuple(
            sorted(groups, key=lambda g: -rates[g]))
        self.periods = periods
        self.jobs = jobs
        self.no_limits = no_limits
        self.cache: dict[tuple[tuple[int, ...], ...], RunResults] = {}
        self.close_calls: set[tuple[str, int, int]] = set()
        """(group, scope, count) where ``count`` agents gave a CI straddling a target."""

    # ---------------------------------------------------------------- evaluation
    def scenario_for(self, schedule: dict[str, list[int]]) -> Scenario:
        """The scenario with ``schedule`` in place of the sized groups' counts."""
        agents = dict(self.scenario.agents)
        for name, counts in schedule.items():
            agents[name] = (agents[name].restaffed(count=counts[0]) if self.periods == 1
                            else agents[name].restaffed(staffing=tuple(counts)))
        return self.scenario.model_copy(update={"agents": agents})

    def evaluate(self, schedule: dict[str, list[int]]) -> RunResults:
        key = tuple(tuple(schedule[g]) for g in self.groups)
        if key not in self.cache:
            if len(self.cache) >= MAX_LEVELS:
                raise StaffingError(
                    f"no staffing settled after {MAX_LEVELS} simulated levels; the targets "
                    f"({', '.join(map(str, self.targets))}) may be out of reach under "
                    f"{self.policy}; allowed: looser targets or more replications")
            self.cache[key] = simulate(self.scenario_for(schedule), self.policy, self.jobs,
                                       self.no_limits)
        return self.cache[key]

    def scope_figures(self, results: RunResults) -> list[dict[str, Estimate]]:
        """Estimates of every scope in order (missing intervals: no measured time)."""
        if self.periods == 1:
            return [results.summary("overall")[self.label]]
        by_label = results.summary("by_interval")[self.label]
        empty = Estimate(math.nan, math.nan, math.nan, 0)
        figures = [{t.metric: empty for t in self.targets} for _ in range(self.periods)]
        for label, estimates in by_label.items():
            figures[self._slot(label)] = estimates
        return figures

    def measured_slots(self, results: RunResults) -> list[int]:
        """Scopes with measured time in the run."""
        if self.periods == 1:
            return [0]
        return [self._slot(label) for label in results.summary("by_interval")[self.label]]

    def scope_name(self, slot: int) -> str:
        return "all" if self.periods == 1 else interval_label(slot, self.scenario.run.interval)

    def _slot(self, label: str) -> int:
        parts = [int(p) for p in label.split(":")] + [0]
        return round((parts[0] * 3600 + parts[1] * 60 + parts[2]) / self.scenario.run.interval)

    def verdicts(self, results: RunResults) -> list[str]:
        """Per scope: ``met`` if every target is met, else ``missed`` or ``close``."""
        out = []
        for figures in self.scope_figures(results):
            judged = [t.judge(figures[t.metric]) for t in self.targets if t.metric in figures]
            out.append(MISSED if MISSED in judged else CLOSE if CLOSE in judged else MET)
        return out

    # ------------------------------------------------------------------- search
    def run(self, schedule: dict[str, list[int]]) -> dict[str, list[int]]:
        schedule = {g: list(c) for g, c in schedule.items()}
        # Intervals outside the measured window (warm-up, after the end) have no
        # figures to judge: their counts stay as they start.
        measured = set(self.measured_slots(self.evaluate(schedule)))
        settled = {(g, s) for g in self.groups for s in range(self.periods) if s not in measured}
        steps: dict[tuple[str, int], int] = {}
        """Agents a (group, scope) gives up at its next try: doubles while that works."""
        turn = 0
        while True:
            results = self.evaluate(schedule)
            verdicts = self.verdicts(results)
            failing = [s for s, v in enumerate(verdicts) if v != MET]
            if failing:
                group = self._busiest(results)
                for slot in failing:
                    if verdicts[slot] == CLOSE:
                        self.close_calls.add((group, slot, schedule[group][slot]))
                    schedule[group][slot] += 1
                    settled.add((group, slot))
                continue
            # Every scope meets every target: try fewer agents, group by group.
            for offset in range(len(self.groups)):
                group = self.giving_up[(turn + offset) % len(self.groups)
                                       if self.rates is None else offset]
                slots = [s for s in range(self.periods)
                         if schedule[group][s] > 0 and (group, s) not in settled]
                if slots:
                    break
            else:
                return schedule
            turn += 1
            trial = {g: list(c) for g, c in schedule.items()}
            for slot in slots:
                trial[group][slot] -= min(steps.get((group, slot), 1), trial[group][slot])
            verdicts = self.verdicts(self.evaluate(trial))
            for slot in slots:
                step = schedule[group][slot] - trial[group][slot]
                if verdicts[slot] == MET:
                    steps[(group, slot)] = 2 * step  # gallop down from a generous start
                    continue
                trial[group][slot] = schedule[group][slot]
                if step > 1:
                    steps[(group, slot)] = 1  # overshot: go on one agent at a time
                    continue
                settled.add((group, slot))  # one agent fewer misses: this count is the answer
                if verdicts[slot] == CLOSE:
                    self.close_calls.add((group, slot, trial[group][slot] - 1))
            schedule = trial

    def cheapen(self, schedule: dict[str, list[int]]) -> dict[str, list[int]]:
        """With the cost objective: move one agent at a time, in every measured scope at
        once, from a dearer group to a cheaper one (the largest saving first) while the
        scope still meets every target; the scopes that then miss keep their agent."""
        rates = self.rates
        assert rates is not None
        measured = set(self.measured_slots(self.evaluate(schedule)))
        pairs = sorted(((dear, cheap) for dear in self.groups for cheap in self.groups
                        if rates[cheap] < rates[dear]),
                       key=lambda pair: rates[pair[1]] - rates[pair[0]])
        moved = True
        while moved:
            moved = False
            for dear, cheap in pairs:
                slots = [s for s in measured if schedule[dear][s] > 0]
                if not slots:
                    continue
                trial = {g: list(c) for g, c in schedule.items()}
                for slot in slots:
                    trial[dear][slot] -= 1
                    trial[cheap][slot] += 1
                verdicts = self.verdicts(self.evaluate(trial))
                for slot in slots:
                    if verdicts[slot] != MET:
                        trial[dear][slot] += 1
                        trial[cheap][slot] -= 1
                if trial != schedule:
                    schedule, moved = trial, True
                    break
        return schedule

    def _busiest(self, results: RunResults) -> str:
        """The sized group with the highest utilisation: where an agent helps most (with the
        cost objective, per money: a free group first)."""
        by_group = results.summary("by_group")[self.label]
        rates = self.rates

        def utilisation(group: str) -> float:
            value = by_group[group]["utilisation"].mean if group in by_group else math.nan
            if math.isnan(value):
                return -1.0
            if rates is None:
                return value
            return value / rates[group] if rates[group] > 0 else math.inf

        return max(self.groups, key=utilisation)


# --------------------------------------------------------------------------- output
def format_staffing(result: Staffing, shrinkage: float | None = None) -> str:
    """The schedule with the achieved value of each target metric (mean [95% CI]); with
    ``shrinkage``, also the full-time equivalents to pay for it."""
    before, after = staffing_notes(result, shrinkage)
    header, rows = schedule_rows(result)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [*before, ""]
    for row in [header, ["-" * w for w in widths], *rows]:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join([*lines, *after])


def staffing_notes(result: Staffing,
                   shrinkage: float | None = None) -> tuple[list[str], list[str]]:
    """The lines around the schedule table: title, acceptance rule and Erlang start before
    it; totals, the FTE at ``shrinkage`` (when given) and close calls after it (shared by
    the text and the page)."""
    scenario = result.scenario
    before = [(f"{scenario.name}: staffing under {result.policy} for "
               f"{', '.join(map(str, result.targets))}"),
              (f"(a target counts as met when its whole 95% CI over "
               f"{scenario.run.replications} replications is on the good side; {result.levels} "
               f"staffing levels simulated; SL threshold "
               f"{format_duration(scenario.service_level.threshold)})"),
              "Erlang estimate: " + ", ".join(
                  f"{g} {_counts_text(result.erlang[g])}" for g in result.groups)]
    fixed = [g for g in scenario.agents if g not in result.groups]
    if fixed:
        before.append(f"Kept as given (shifts): {', '.join(fixed)}")
    after = []
    if len(result.scopes) > 1:
        after.append("Total agent-intervals: " + ", ".join(
            f"{g} {sum(result.schedule[g])}" for g in result.groups))
    if shrinkage is not None:
        # The simulated agents are on the phones; FTE are the paid heads behind them.
        per_interval = len(result.scopes) > 1
        hours = scenario.run.interval / 3600 if per_interval else 1.0
        paid = {g: full_time_equivalents(sum(result.schedule[g]) * hours, shrinkage)
                for g in result.groups}
        after.append((f"Paid hours at {shrinkage:.0%} shrinkage (agent-hours / (1 - shrinkage)): "
                      if per_interval else
                      f"FTE at {shrinkage:.0%} shrinkage (agents / (1 - shrinkage)): ")
                     + ", ".join(f"{g} {paid[g]:.1f}{' h' if per_interval else ''}"
                                 for g in result.groups))
    if result.cost is not None:
        after.append("Cost of the answer per replication: agent " + _estimate_text(
            result.cost["agent_cost"]) + ", total " + _estimate_text(result.cost["total_cost"]))
    if result.close_calls:
        where = ", ".join(f"{g} at {s}" if len(result.scopes) > 1 else g
                          for g, s in result.close_calls)
        after.append(f"Close calls (one agent fewer gave a 95% CI straddling a target): "
                     f"{where}; more replications may lower these counts")
    return before, after


def schedule_rows(result: Staffing) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the schedule: per scope the agents of each sized group and each
    target metric's achieved ``mean [95% CI]``; closed intervals (no agents, no contacts)
    are left out."""
    metrics = list(dict.fromkeys(t.metric for t in result.targets))
    header = ["Interval" if len(result.scopes) > 1 else "", *result.groups, *metrics]
    rows = []
    for index, scope in enumerate(result.scopes):
        counts = [result.schedule[g][index] for g in result.groups]
        figures = result.achieved[scope]
        if len(result.scopes) > 1 and not any(counts) and all(
                math.isnan(figures[m].mean) for m in metrics):
            continue  # closed interval: no agents, no contacts
        rows.append([scope if len(result.scopes) > 1 else "Agents", *map(str, counts),
                     *(_estimate_text(figures[m]) for m in metrics)])
    return header, rows


def write_staffing_report(result: Staffing, directory: str | Path,
                          shrinkage: float | None = None) -> Path:
    """``DIRECTORY/index.html``: the schedule as a self-contained page in the style of
    ``ccsim compare --report``, with, for a per-interval schedule, a figure of agents per
    group and of each target metric achieved (95% band, target as a grey line) against
    clock time. Returns the path of the page."""
    from reports.findings import clock_time
    from reports.page import escape, figure_html, page, table, version
    from reports.plots import plot_by_interval, render

    scenario = result.scenario
    header, rows = schedule_rows(result)
    before, after = staffing_notes(result, shrinkage)
    # The page speaks clock time (run.day_start), as every report page does.
    day_start, multi = scenario.run.day_start, len(result.scopes) > 1
    if multi:
        header[0] = "Clock time"
    figure = ""
    if len(result.scopes) > 1:
        open_slots = [i for i, scope in enumerate(result.scopes)
                      if any(result.schedule[g][i] for g in result.groups)]
        nothing = Estimate(math.nan, math.nan, math.nan, 0)
        series = {group: {result.scopes[i]: {"agents": Estimate(
            float(result.schedule[group][i]), math.nan, math.nan, 1)} for i in open_slots}
            for group in result.groups}
        agents = plot_by_interval(series, ["agents"], "Agents on duty per group", day_start)
        metrics = list(dict.fromkeys(t.metric for t in result.targets))
        achieved = plot_by_interval(
            {result.policy: {result.scopes[i]: {m: result.achieved[result.scopes[i]].get(
                m, nothing) for m in metrics} for i in open_slots}},
            metrics, "Target metrics achieved", day_start)
        for axis, metric in zip(achieved.axes, metrics):
            for target in result.targets:
                if target.metric == metric:
                    axis.axhline(target.value, color="0.4", linewidth=1)
        figure = (figure_html("agents", "Agents per group", "The optimised schedule per "
                              "interval of the day (clock time); closed intervals left out.",
                              render(agents, "svg"))
                  + figure_html("achieved", "Targets achieved", "Each target metric at the "
                                "schedule with its 95% band over replications; the grey line "
                                "is the target.", render(achieved, "svg")))
    body = f"""<h1>Staffing: {escape(scenario.name)}</h1>
<p class="meta">{escape(before[0])}. ccsim {escape(version())}.</p>
{"".join(f"<p>{escape(line)}</p>" for line in before[1:])}
<h2>Schedule</h2>
{table(header, [[(clock_time(row[0], day_start) if multi else row[0], ""),
                  *((cell, "") for cell in row[1:])] for row in rows])}
{"".join(f"<p>{escape(line)}</p>" for line in after)}
{figure}"""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    index = directory / "index.html"
    write_atomic(index, page(f"ccsim staffing: {scenario.name}", body))
    return index


def _counts_text(counts: Sequence[int]) -> str:
    return str(counts[0]) if len(counts) == 1 else f"{sum(counts)} agent-intervals"


def _estimate_text(estimate: Estimate) -> str:
    if math.isnan(estimate.mean):
        return "-"
    return f"{estimate.mean:.4g} [{estimate.low:.4g}, {estimate.high:.4g}]"


# ------------------------------------------------------------------------------ CLI
def configure(staff: argparse.ArgumentParser) -> None:
    """Give ``ccsim staff``'s parser (help line in ``sim.cli.LAZY_COMMANDS``) its arguments
    and handler."""
    staff.add_argument("scenario", help="scenario YAML file")
    staff.add_argument("--target", action="append", required=True, metavar="EXPR",
                       help="e.g. 'service_level>=0.8' or 'abandon_rate<=5%%' (repeatable; "
                       f"metrics: {', '.join(TARGET_METRICS)})")
    staff.add_argument("--policy", metavar="NAME", help="routing policy (default: routing.policy)")
    staff.add_argument("--replications", type=int, help="replications per staffing level")
    staff.add_argument("--seed", type=int, help="root seed (overrides run.seed)")
    staff.add_argument("--jobs", type=int, default=1, help="parallel processes for replications")
    staff.add_argument("--max-occupancy", metavar="SHARE",
                       help="most occupancy allowed, e.g. 85%%: the target occupancy<=SHARE, "
                       "for the Erlang start and the simulations alike")
    staff.add_argument("--shrinkage", metavar="SHARE",
                       help="share of paid time off the phones (breaks, meetings, training, "
                       "absence), e.g. 30%%: also print the FTE to pay for the answer")
    staff.add_argument("--objective", choices=("agents", "cost"), default="agents",
                       help="what to minimise while the targets hold: agents (default), or "
                       "cost with the scenario's costs block (the cheapest staffing)")
    staff.add_argument("--report", metavar="DIR",
                       help="also write the schedule as a self-contained page, DIR/index.html")
    add_limit_options(staff)
    staff.add_argument("--debug", action="store_true", help="show tracebacks")
    staff.set_defaults(handler=_cmd_staff)


def target_flags(args: argparse.Namespace) -> list[Target]:
    """The targets of ``--target`` (repeatable) and ``--max-occupancy``, for ``staff``
    and ``roster``; a bad one is a ``UsageError`` naming its flag."""
    try:
        targets = [parse_target(text) for text in args.target]
    except ValueError as exc:
        raise UsageError(f"--target: {exc}") from None
    if args.max_occupancy is not None:
        targets.append(Target("occupancy", "<=", share_flag(
            "--max-occupancy", args.max_occupancy, below_one=False)))
    return targets


def _cmd_staff(args: argparse.Namespace) -> int:
    from policies import UnknownPolicyError, policy_spec

    targets = target_flags(args)
    shrinkage = (share_flag("--shrinkage", args.shrinkage, below_one=True)
                 if args.shrinkage is not None else None)
    at_least("--replications", args.replications, 2, " (the acceptance rule needs a CI)")
    check_count_options(args)
    if args.policy:
        try:
            policy_spec(split_label(args.policy)[0])
        except UnknownPolicyError as exc:
            raise UsageError(f"--policy: {exc}") from None
    if args.report:
        check_output_folder(args.report, "--report")
    scenario = load_scenario(args.scenario, no_limits=args.no_limits)
    check_workload(scenario, args)
    result = optimise_staffing(scenario, targets, args.policy, replications=args.replications,
                               seed=args.seed, jobs=checked_jobs(args.jobs),
                               no_limits=args.no_limits, objective=args.objective)
    if args.report:  # files first: a reader of stdout that stops early must not cost them
        print(f"report: {write_staffing_report(result, args.report, shrinkage)}",
              file=sys.stderr)
    print(format_staffing(result, shrinkage))
    return 0
