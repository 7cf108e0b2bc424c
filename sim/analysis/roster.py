"""Cost-optimal shift rosters, verified by simulation (``ccsim roster``), and rosters applied
to a scenario (``ccsim run --roster``).

    ccsim roster SCENARIO.yaml --target "service_level>=0.8" --shift-lengths 8h,6h,4h \\
        --starts-every 30min --out roster.csv

Method (docs/rosters.md walks through it on a shipped scenario)
----------------------------------------------------------------
1. **Requirements.** Each contact type is sized on one rostered group, its *home*: the
   rostered group with the fewest skills that serves it (the specialists; ties go to the
   group listed first). Per interval of the day, a group needs the Erlang C/A agents
   (``sim.analysis.staffing.erlang_agents``) for the pooled traffic of its home types,
   on the phones; ``shrinkage`` s turns that into ``ceil(n / (1 - s))`` paid heads.
   Rostered groups that are home to no type are kept as given.
2. **Integer program.** Shifts start every ``starts_every`` and last one of the shift
   lengths. Per group, ``scipy.optimize.milp`` (HiGHS) chooses how many agents start
   each shift so that every interval has at least its paid heads, at the fewest agent-hours
   (the cost: one rate per hour per group does not change the choice); among rosters with
   those hours it then takes one with the fewest agents. When the run covers 24 hours or
   more the day wraps: shifts may run past midnight into the start of the day, as the
   scenario's own shifts do; a shorter run (``run.duration`` below 24h) is the whole day,
   and shifts lie within it.
3. **Verification.** The roster replaces the rostered groups' count, staffing or shifts
   and the scenario is simulated under the policy. Targets hold per interval of the day
   for all contact types together (the figures of ``--by interval``). An interval meets
   a target when the **mean** over replications does; the 95% CI is reported, and a met
   interval whose CI reaches past the target is marked ``close``. In each missed interval,
   the rostered group with the highest simulated occupancy among those whose home types
   have traffic then gets one more agent on the phones in its requirement, and the program
   is solved again, until every interval meets every target or ``max_iterations``
   simulations have run; the intervals still missed are named.

Shrinkage comes in two ways, not to be combined for the same time off. A group's
``breaks``, ``meetings``, ``absenteeism`` and ``aux`` in the scenario are simulated on the
roster's shifts, in the verifying simulation and in ``ccsim run --roster`` alike (a break
must fit the roster's shortest shift). ``shrinkage`` stands for time off the scenario
does not model: the verifying simulation then puts ``floor(scheduled x (1 - s))`` agents
on the phones in each part of the day (the expected number at work, never above it).

Roster files
------------
CSV with the header ``agent,group,start,end``, one row per agent: a unique agent id, an
agent group of the scenario, and the shift's start and end as clock times ``HH:MM``
(``run.day_start`` applied: ``08:00`` is simulation time 0 when the day starts at 8h);
``end`` may be ``24:00`` and a shift whose end is before its start runs past midnight.
``sim.model.roster_file`` reads and writes them (with the optional per-agent columns a
scenario's ``agents: {roster: FILE}`` reads; ``apply_roster`` refuses those).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.analysis.analytics import full_time_equivalents
from sim.analysis.staffing import (
    ONE_DAY, Target, erlang_agents, interval_label, simulate, target_flags,
)
from reports.compare import aligned
from sim.analysis.sweep import split_label
from sim.cli.options import (
    add_limit_options, at_least, check_count_options, check_plugin_names, check_workload,
    checked_jobs, parse_flag, share_flag,
)
from sim.errors import FieldError, ScenarioError, UsageError, show_value
from sim.files import check_output_file, write_atomic
from sim.limits import Limits, limits_for, over_limit
from sim.model.roster_file import RosterRow, clock_text, format_roster_csv, shift_counts
from sim.model.scenario import DAY, AgentGroup, Scenario, Shift, load_scenario
from sim.model.shrinkage import check_breaks
from sim.model.units import format_duration, parse_duration
from sim.runner import Estimate, RunResults

MAX_SLOTS = 1440
"""Parts of a day the program covers at most (one a minute)."""
DEFAULT_ITERATIONS = 10
PLOT_FORMATS = ("svg", "png")


class RosterError(ValueError):
    """A roster the program cannot build for this scenario and these flags."""


# ------------------------------------------------------------------------- the program
@dataclass(frozen=True)
class ShiftCount:
    """``count`` agents on a shift of ``length`` slots starting at slot ``start``."""

    start: int
    length: int
    count: int


def cover_at_minimum_cost(requirement: Sequence[int], lengths: Sequence[int], step: int,
                          wrap: bool) -> list[ShiftCount]:
    """Agents per shift covering ``requirement`` (agents per slot) at the fewest agent-slots,
    and among those the fewest agents: an integer program solved by HiGHS.

    Shifts start every ``step`` slots from slot 0 and last one of ``lengths`` slots; with
    ``wrap`` the slots are a day that repeats (a shift may run past the last slot into the
    first), else shifts lie within the slots. Raises ``RosterError`` when some slot with a
    requirement lies in no shift.
    """
    import numpy as np
    from scipy.optimize import LinearConstraint, milp
    from scipy.sparse import lil_array

    slots = len(requirement)
    patterns = [(start, length) for start in range(0, slots, step) for length in lengths
                if wrap or start + length <= slots]
    needed = np.array(requirement, dtype=float)
    if not needed.any():
        return []
    cover = lil_array((slots, len(patterns)))
    for column, (start, length) in enumerate(patterns):
        for offset in range(length):
            cover[(start + offset) % slots, column] = 1.0
    uncovered = [slot for slot in range(slots) if needed[slot] > 0 and not cover[[slot], :].nnz]
    if uncovered:
        raise RosterError(f"slot {uncovered[0]} lies in no shift")
    matrix = cover.tocsr()
    hours = np.array([length for _, length in patterns], dtype=float)
    integral = np.ones(len(patterns))
    least = milp(hours, constraints=LinearConstraint(matrix, needed, np.inf),
                 integrality=integral)
    if least.status != 0:
        raise RosterError(f"the integer program found no roster: {least.message}")
    # Second pass, the same hours: the fewest people (longer shifts where they cost nothing).
    heads = milp(np.ones(len(patterns)), integrality=integral, constraints=[
        LinearConstraint(matrix, needed, np.inf),
        LinearConstraint(hours[np.newaxis, :], -np.inf, round(least.fun) + 0.5)])
    chosen = heads.x if heads.status == 0 else least.x
    return [ShiftCount(start, length, round(x)) for (start, length), x in zip(patterns, chosen)
            if round(x) > 0]


def coverage(shifts: Sequence[ShiftCount], slots: int) -> list[int]:
    """Agents on shift in each of ``slots`` slots (a shift past the last slot wraps)."""
    on = [0] * slots
    for shift in shifts:
        for offset in range(shift.length):
            on[(shift.start + offset) % slots] += shift.count
    return on


# ---------------------------------------------------------------------- roster files
def apply_roster(scenario: Scenario, rows: Sequence[RosterRow], source: str,
                 limits: Limits) -> Scenario:
    """``scenario`` with each group named in ``rows`` working the rows' shifts every day
    instead of its count, staffing (by weekday too), shifts or named agents (other groups
    unchanged); a group the scenario lacks, a row with the agent's own skills, languages or
    speed (those need the roster in the scenario, as named agents), or more agents than
    ``limits`` allow, is a ``ScenarioError`` naming ``source``."""
    problems = [f"{row.line}: group: {show_value(row.group)} is not an agent group of "
                f"scenario {scenario.name!r}; allowed: {', '.join(scenario.agents)}"
                for row in rows if row.group not in scenario.agents]
    problems += [f"{row.line}: {column}: the agent's own value needs named agents; allowed: "
                 "a blank cell (ccsim run --roster applies shifts only), or the roster in "
                 "the scenario as agents: {roster: FILE}"
                 for row in rows for column in row.own_values()[:1]]
    if problems:
        raise ScenarioError(source, problems)
    agents = dict(scenario.agents)
    for name, counts in shift_counts(rows, scenario.run.day_start).items():
        # Rows with weekdays are refused above: every shift runs every day.
        agents[name] = agents[name].restaffed(shifts=_shifts(Counter(
            {(start, end): count for (start, end, _), count in counts.items()})))
        _check_breaks_fit(agents[name], name, source)
        seats = agents[name].seats(scenario.run.interval, scenario.run.intervals_per_day)
        if seats > limits.agents:
            raise ScenarioError(source, [" " + over_limit(
                seats, limits.agents, f"agents of group {name} on duty at once",
                "a smaller roster")])
    return scenario.model_copy(update={"agents": agents})


def _check_breaks_fit(group: AgentGroup, name: str, source: str) -> None:
    """The group's breaks fit in the roster's shortest shift (as validation checks them
    against the scenario's own shifts); else a ``ScenarioError`` naming ``source``."""
    lengths = [shift.length for shift in group.shifts or () if shift.breaks is None]
    if not group.breaks or not lengths:
        return
    try:
        check_breaks(group.breaks, lengths, "roster's shortest shift")
    except FieldError as exc:
        raise ScenarioError(source, [f" agents.{name}.{'.'.join(map(str, exc.path))}: "
                                     f"{exc.message}"]) from None


def _shifts(counts: Counter[tuple[float, float]]) -> tuple[Shift, ...]:
    """``Shift`` models of agents per ``(start, end)`` in seconds of simulation time."""
    return tuple(Shift(start=f"{start:g}s", end=f"{end:g}s", count=count)
                 for (start, end), count in sorted(counts.items()))


# ------------------------------------------------------------------- the roster search
@dataclass(frozen=True)
class Grid:
    """The parts of the day the program covers: ``slots`` of ``slot`` seconds from
    simulation time 0, each inside one interval of the scenario."""

    slot: float
    slots: int
    wrap: bool
    step: int
    """Slots between two shift starts."""
    lengths: tuple[int, ...]
    """Shift lengths in slots."""
    per_interval: int
    """Slots per interval of the scenario."""

    def interval_of(self, slot: int, intervals_per_day: int) -> int:
        """The interval of the day that holds ``slot``."""
        return (slot // self.per_interval) % intervals_per_day

    def intervals(self, intervals_per_day: int) -> list[int]:
        """The intervals of the day that hold some slot, in order."""
        return sorted({self.interval_of(s, intervals_per_day) for s in range(self.slots)})


def make_grid(scenario: Scenario, lengths: Sequence[float], starts_every: float) -> Grid:
    """The slot grid of ``scenario`` for these shift lengths and start spacing; a
    ``RosterError`` says what is allowed when they do not fit it."""
    run = scenario.run
    if run.duration is None:
        raise RosterError(f"{scenario.name}: the run ends after run.arrivals, so it has no "
                          "day to cover with shifts; allowed: run.duration (e.g. 24h)")
    interval = run.interval
    if interval % 60 or starts_every % 60:
        raise RosterError(f"--starts-every {format_duration(starts_every)} and run.interval "
                          f"{format_duration(interval)} must be whole minutes (a roster "
                          "file has HH:MM times); allowed: e.g. 30min")
    slot = float(math.gcd(int(interval), int(starts_every)))
    wrap = run.duration >= DAY
    slots = round(DAY / slot) if wrap else math.ceil(run.duration / slot)
    if slots > MAX_SLOTS:
        raise RosterError(f"--starts-every {format_duration(starts_every)} and run.interval "
                          f"{format_duration(interval)} cut the day into "
                          f"{format_duration(slot)} parts; allowed: a common grid of at "
                          "least 1min")
    for length in lengths:
        if length % slot:
            raise RosterError(f"--shift-lengths: {format_duration(length)} is not a whole "
                              f"number of {format_duration(slot)} (the grid of --starts-every "
                              f"and run.interval); allowed: multiples of {format_duration(slot)}")
    fitting = tuple(round(length / slot) for length in lengths
                    if wrap or length <= run.duration)
    if not fitting:
        raise RosterError(f"--shift-lengths: every shift is longer than the run "
                          f"({format_duration(run.duration)}), which does not wrap past "
                          f"midnight; allowed: a length of at most "
                          f"{format_duration(run.duration)}")
    return Grid(slot, slots, wrap, round(starts_every / slot), fitting,
                round(interval / slot))


def home_types(scenario: Scenario, rostered: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each rostered group's home types: for each type, the rostered group with the fewest
    skills that serves it (first listed on a tie)."""
    homes: dict[str, list[str]] = {group: [] for group in rostered}
    for type_name in scenario.contact_types:
        servers = [g for g in rostered if type_name in scenario.agents[g].skills]
        if servers:
            homes[min(servers, key=lambda g: len(scenario.agents[g].skills))].append(type_name)
    return {group: tuple(types) for group, types in homes.items()}


@dataclass(frozen=True)
class IntervalResult:
    """One interval of the day in the verifying simulation."""

    label: str
    """Key of the interval in simulation time of day, as in ``--by interval``."""
    figures: dict[str, Estimate]
    """Each target metric's estimate (absent: nothing measured)."""
    verdict: str
    """``met``, ``close`` (met by the mean, the 95% CI reaches past the target), ``missed``."""


@dataclass(frozen=True)
class Roster:
    """The answer of ``build_roster`` and how it was verified."""

    scenario: Scenario
    """The scenario with the roster applied (as ``ccsim run --roster`` builds it)."""
    policy: str
    targets: tuple[Target, ...]
    shrinkage: float
    grid: Grid
    groups: tuple[str, ...]
    """Rostered groups."""
    kept: tuple[str, ...]
    """Groups kept as given."""
    homes: dict[str, tuple[str, ...]]
    erlang: dict[str, tuple[int, ...]]
    """Erlang agents on the phones per group and interval of the day."""
    requirement: dict[str, tuple[int, ...]]
    """Agents on the phones per group and interval after the raises of verification."""
    shifts: dict[str, tuple[ShiftCount, ...]]
    rows: tuple[RosterRow, ...]
    erlang_optimum_hours: float
    """Agent-hours of the program's optimum over the Erlang requirements alone."""
    iterations: int
    """Simulations run."""
    results: RunResults
    intervals: tuple[IntervalResult, ...]

    def paid(self, group: str) -> list[int]:
        """Paid heads the program covers per interval of the day."""
        return [paid_heads(n, self.shrinkage) for n in self.requirement[group]]

    def scheduled(self, group: str) -> list[int]:
        """Agents on shift per interval of the day (the fewest within it)."""
        on = coverage(self.shifts[group], self.grid.slots)
        intervals = self.scenario.run.intervals_per_day
        least: list[int | None] = [None] * intervals
        for slot, count in enumerate(on):
            index = self.grid.interval_of(slot, intervals)
            least[index] = count if least[index] is None else min(least[index], count)
        return [n or 0 for n in least]

    def hours(self, group: str) -> float:
        """Agent-hours of ``group``'s roster."""
        return sum(s.length * s.count for s in self.shifts[group]) * self.grid.slot / 3600

    def agents(self, group: str) -> int:
        return sum(s.count for s in self.shifts[group])

    @property
    def unmet(self) -> list[str]:
        """Interval keys where some target is missed."""
        return [i.label for i in self.intervals if i.verdict == MISSED]


MET, CLOSE, MISSED = "met", "close", "missed"


def paid_heads(on_phones: int, shrinkage: float) -> int:
    """Paid agents that leave ``on_phones`` at work after ``shrinkage``."""
    return math.ceil(full_time_equivalents(on_phones, shrinkage) - 1e-9)


def build_roster(
    scenario: Scenario,
    targets: Sequence[Target],
    shift_lengths: Sequence[float],
    starts_every: float,
    policy: str | None = None,
    *,
    shrinkage: float = 0.0,
    groups: Sequence[str] | None = None,
    max_iterations: int = DEFAULT_ITERATIONS,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    no_limits: bool = False,
) -> Roster:
    """The cheapest roster of ``shift_lengths`` starting every ``starts_every`` seconds
    meeting every target in every interval in simulation (see the module doc)."""
    if not targets:
        raise RosterError("no target given; allowed: e.g. --target 'service_level>=0.8'")
    if scenario.by_weekday:
        raise RosterError(f"{scenario.name}: {ONE_DAY}")
    scenario = scenario.with_overrides(seed=seed, replications=replications)
    policy = policy or scenario.routing.policy
    label = split_label(policy)[0]
    grid = make_grid(scenario, shift_lengths, starts_every)
    wanted = list(groups or scenario.agents)
    unknown = [g for g in wanted if g not in scenario.agents]
    if unknown:
        raise RosterError(f"--group {unknown[0]}: no such agent group in {scenario.name}; "
                          f"allowed: {', '.join(scenario.agents)}")
    homes = {g: types for g, types in home_types(scenario, wanted).items() if types}
    if not homes:
        raise RosterError(f"{scenario.name}: no contact type is served by "
                          f"{', '.join(wanted)}; allowed: --group naming a group that serves "
                          "a contact type")
    rostered = tuple(g for g in scenario.agents if g in homes)
    kept = tuple(g for g in scenario.agents if g not in homes)
    intervals = scenario.run.intervals_per_day
    erlang = {g: tuple(erlang_agents(scenario, homes[g], i, targets) for i in range(intervals))
              for g in rostered}
    need = {g: list(counts) for g, counts in erlang.items()}
    optimum = 0.0
    for iteration in range(1, max_iterations + 1):
        shifts = {}
        for group in rostered:
            paid = [paid_heads(n, shrinkage) for n in need[group]]
            per_slot = [paid[grid.interval_of(s, intervals)] for s in range(grid.slots)]
            try:
                shifts[group] = tuple(cover_at_minimum_cost(per_slot, grid.lengths, grid.step,
                                                            grid.wrap))
            except RosterError as exc:
                raise RosterError(f"group {group}: {exc}; allowed: shift lengths at least "
                                  "--starts-every, so that every part of the day can be "
                                  "covered") from None
        if iteration == 1:
            optimum = sum(s.length * s.count for g in rostered for s in shifts[g]) \
                * grid.slot / 3600
            if not optimum:
                raise RosterError(f"{scenario.name}: no interval of the run needs an agent of "
                                  f"{', '.join(rostered)} (no calls of their types); allowed: "
                                  "a scenario with traffic for the groups to roster")
        rows = _rows(scenario, shifts, grid)
        verified = _verifying_scenario(scenario, rows, shifts, grid, shrinkage)
        results = simulate(verified, policy, jobs, no_limits)
        judged = _judge(results, label, targets, scenario.run.interval)
        missed = [i for i in judged if i.verdict == MISSED]
        if not missed or iteration == max_iterations:
            break
        for interval in missed:
            slot = round(_seconds(interval.label) / scenario.run.interval)
            group = _busiest(results, label, rostered, homes, scenario, interval.label, slot)
            if group is not None:
                need[group][slot] += 1
    applied = apply_roster(scenario, rows, "<roster>", limits_for(no_limits))
    return Roster(applied, policy, tuple(targets), shrinkage, grid, rostered, kept, homes,
                  erlang, {g: tuple(c) for g, c in need.items()}, shifts, tuple(rows),
                  optimum, iteration, results, tuple(judged))


def _rows(scenario: Scenario, shifts: dict[str, tuple[ShiftCount, ...]],
          grid: Grid) -> list[RosterRow]:
    """One row per agent, numbered per group in order of start, in clock time."""
    rows: list[RosterRow] = []
    day_start = scenario.run.day_start
    for group, counts in shifts.items():
        total = sum(s.count for s in counts)
        width = max(3, len(str(total)))
        number = 0
        for shift in sorted(counts, key=lambda s: (s.start, s.length)):
            start = shift.start * grid.slot + day_start
            for _ in range(shift.count):
                number += 1
                rows.append(RosterRow(f"{group}-{number:0{width}d}", group, start % DAY,
                                      (start + shift.length * grid.slot) % DAY or DAY,
                                      len(rows) + 2))
    return rows


def _verifying_scenario(scenario: Scenario, rows: Sequence[RosterRow],
                        shifts: dict[str, tuple[ShiftCount, ...]], grid: Grid,
                        shrinkage: float) -> Scenario:
    """The scenario simulated to verify a roster: the roster itself without shrinkage; with
    it, ``floor(scheduled x (1 - s))`` agents on the phones per slot, as stacked shifts."""
    if not shrinkage:
        return apply_roster(scenario, rows, "<roster>", limits_for(True))
    agents = dict(scenario.agents)
    for group, counts in shifts.items():
        on = [math.floor(n * (1 - shrinkage) + 1e-9) for n in coverage(counts, grid.slots)]
        layers: Counter[tuple[float, float]] = Counter()
        for level in range(1, max(on, default=0) + 1):
            for first, end_slot in _runs([n >= level for n in on], grid.wrap):
                end = end_slot * grid.slot
                layers[first * grid.slot, end if end <= DAY else end - DAY] += 1
        agents[group] = agents[group].restaffed(count=None if layers else 0,
                                                shifts=_shifts(layers) or None)
    return scenario.model_copy(update={"agents": agents})


def _runs(flags: Sequence[bool], wrap: bool) -> list[tuple[int, int]]:
    """``(first, end)`` slots (end exclusive) of each run of true flags; with ``wrap`` a run
    through the last slot goes on into the first, so ``end`` may pass the last slot."""
    count = len(flags)
    if all(flags):
        return [(0, count)]
    # With wrap, read the day from a slot that is off, so that no run is cut at its end.
    origin = next(i for i in range(count) if not flags[i]) if wrap else 0
    runs = []
    first: int | None = None
    for index in range(origin, origin + count):
        if flags[index % count] and first is None:
            first = index
        elif not flags[index % count] and first is not None:
            runs.append((first, index))
            first = None
    if first is not None:
        runs.append((first, origin + count))
    return [(start % count, start % count + end - start) for start, end in runs]


def _seconds(label: str) -> float:
    parts = [int(p) for p in label.split(":")] + [0]
    return parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]


def _judge(results: RunResults, label: str, targets: Sequence[Target],
           interval: float) -> list[IntervalResult]:
    """Each measured interval's verdict: the mean decides, the CI marks close calls."""
    judged = []
    by_interval = results.summary("by_interval")[label]
    for key in sorted(by_interval, key=_seconds):
        figures = {t.metric: by_interval[key][t.metric] for t in targets
                   if t.metric in by_interval[key]}
        verdict = MET
        for target in targets:
            value = figures.get(target.metric)
            if value is None or math.isnan(value.mean):
                continue  # nothing offered in this interval: nothing to serve
            if not target.holds(value.mean):
                verdict = MISSED
            elif verdict == MET and target.judge(value) != "met":
                verdict = CLOSE
        judged.append(IntervalResult(key, figures, verdict))
    return judged


def _busiest(results: RunResults, label: str, rostered: Sequence[str],
             homes: dict[str, tuple[str, ...]], scenario: Scenario, key: str,
             slot: int) -> str | None:
    """The rostered group with traffic of its home types in interval ``slot`` whose agents
    were busiest there (mean occupancy over replications): where an agent helps most."""
    def rate(type_name: str) -> float:
        arrivals = scenario.contact_types[type_name].arrivals
        return arrivals.rates[slot] if arrivals.rates is not None else arrivals.rate

    candidates = [g for g in rostered if any(rate(t) > 0 for t in homes[g])]

    def occupancy(group: str) -> float:
        values = [r.by_group_interval.get(group, {}).get(key, {}).get("occupancy", math.nan)
                  for r in results.runs[label]]
        finite = [v for v in values if not math.isnan(v)]
        return sum(finite) / len(finite) if finite else math.inf  # nobody there: add one

    return max(candidates, key=occupancy, default=None)


# --------------------------------------------------------------------------- output
def format_roster(roster: Roster, cost_per_hour: float | None = None) -> str:
    """What ``ccsim roster`` prints: the method in two lines, agents, agent-hours and cost
    per group, and per interval (clock time) each group's paid requirement and scheduled
    agents and each target metric in simulation, ``mean [95% CI]``."""
    scenario, grid = roster.scenario, roster.grid
    reps = scenario.run.replications
    lengths = ", ".join(format_duration(n * grid.slot) for n in grid.lengths)
    lines = [
        f"{scenario.name}: roster under {roster.policy} for "
        f"{', '.join(map(str, roster.targets))}; shifts of {lengths} starting every "
        f"{format_duration(grid.step * grid.slot)}"
        + (" (the day wraps: shifts may run past midnight)" if grid.wrap else ""),
        f"(an interval meets a target when its mean over {reps} replication"
        f"{'s' if reps != 1 else ''} does; close: the 95% CI reaches past it; "
        f"{roster.iterations} simulation{'s' if roster.iterations != 1 else ''}; SL threshold "
        f"{format_duration(scenario.service_level.threshold)}"
        + (f"; shrinkage {roster.shrinkage:.0%}: paid heads = agents on the phones / "
           f"(1 - shrinkage)" if roster.shrinkage else "") + ")",
        "Home types: " + "; ".join(f"{g} {', '.join(roster.homes[g])}" for g in roster.groups)
        + (f"; kept as given: {', '.join(roster.kept)}" if roster.kept else ""),
        "",
    ]
    header = ["Group", "Agents", "Agent-hours"] + (["Cost"] if cost_per_hour else [])
    table = []
    for group in roster.groups:
        hours = roster.hours(group)
        table.append([group, str(roster.agents(group)), f"{hours:.1f}"]
                     + ([f"{hours * cost_per_hour:,.2f}"] if cost_per_hour else []))
    total = sum(roster.hours(g) for g in roster.groups)
    table.append(["Total", str(sum(roster.agents(g) for g in roster.groups)), f"{total:.1f}"]
                 + ([f"{total * cost_per_hour:,.2f}"] if cost_per_hour else []))
    lines += aligned([header, *table])
    added = total - roster.erlang_optimum_hours
    lines += ["", f"Integer program on the Erlang requirements alone: "
              f"{roster.erlang_optimum_hours:.1f} agent-hours; verified roster: {total:.1f} "
              f"({added:+.1f}, {added / roster.erlang_optimum_hours:+.1%})"
              if roster.erlang_optimum_hours else ""]
    interval_header, interval_table = interval_rows(roster)
    lines += ["", *aligned([interval_header, *interval_table])]
    raised = [f"{g} {clock_text(i * scenario.run.interval + scenario.run.day_start)} "
              f"+{roster.requirement[g][i] - roster.erlang[g][i]}"
              for g in roster.groups for i in range(scenario.run.intervals_per_day)
              if roster.requirement[g][i] > roster.erlang[g][i]]
    lines.append("")
    if raised:
        lines.append("Raised by simulation (agents on the phones above Erlang): "
                     + ", ".join(raised))
    unmet = roster.unmet
    lines.append(
        f"Not met after {roster.iterations} simulations: "
        + ", ".join(clock_text(_seconds(k) + scenario.run.day_start) for k in unmet)
        + "; allowed: more --max-iterations, or a policy or targets within reach"
        if unmet else "Every interval meets every target in simulation.")
    return "\n".join(lines)


def interval_rows(roster: Roster) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-interval table (clock time): intervals with a
    requirement, an agent scheduled or a measured figure."""
    scenario = roster.scenario
    metrics = list(dict.fromkeys(t.metric for t in roster.targets))
    header = ["Clock"] + [f"{g} {column}" for g in roster.groups
                          for column in ("need", "sched")] + metrics + [""]
    paid = {g: roster.paid(g) for g in roster.groups}
    scheduled = {g: roster.scheduled(g) for g in roster.groups}
    judged = {i.label: i for i in roster.intervals}
    rows = []
    for index in roster.grid.intervals(scenario.run.intervals_per_day):
        key = interval_label(index, scenario.run.interval)
        result = judged.get(key)
        measured = result is not None and any(
            not math.isnan(v.mean) for v in result.figures.values())
        if not measured and not any(paid[g][index] or scheduled[g][index]
                                    for g in roster.groups):
            continue
        cells = [f"{paid[g][index]}" if column == "need" else f"{scheduled[g][index]}"
                 for g in roster.groups for column in ("need", "sched")]
        figures = [_estimate_text(result.figures.get(m)) if result else "-" for m in metrics]
        flag = "" if result is None or result.verdict == MET else result.verdict
        rows.append([clock_text(index * scenario.run.interval + scenario.run.day_start),
                     *cells, *figures, flag])
    return header, rows


def _estimate_text(value: Estimate | None) -> str:
    if value is None or math.isnan(value.mean):
        return "-"
    if math.isnan(value.low):
        return f"{value.mean:.3f}"
    return f"{value.mean:.3f} [{value.low:.3f}, {value.high:.3f}]"


def roster_json(roster: Roster, cost_per_hour: float | None = None) -> dict[str, Any]:
    """The ``--json`` document: totals per group and per interval the Erlang, required,
    paid and scheduled agents per group and each target metric ``{mean, ci95}``."""
    scenario = roster.scenario
    judged = {i.label: i for i in roster.intervals}
    paid = {g: roster.paid(g) for g in roster.groups}
    scheduled = {g: roster.scheduled(g) for g in roster.groups}
    intervals = []
    for index in roster.grid.intervals(scenario.run.intervals_per_day):
        key = interval_label(index, scenario.run.interval)
        result = judged.get(key)
        intervals.append({
            "interval": key,
            "clock": clock_text(index * scenario.run.interval + scenario.run.day_start),
            "erlang": {g: roster.erlang[g][index] for g in roster.groups},
            "required": {g: roster.requirement[g][index] for g in roster.groups},
            "paid": {g: paid[g][index] for g in roster.groups},
            "scheduled": {g: scheduled[g][index] for g in roster.groups},
            "results": {m: v.as_json() for m, v in result.figures.items()} if result else {},
            "verdict": result.verdict if result else None})
    groups = {g: {"agents": roster.agents(g), "agent_hours": roster.hours(g),
                  "home_types": list(roster.homes[g])} for g in roster.groups}
    if cost_per_hour:
        for group in groups.values():
            group["cost"] = group["agent_hours"] * cost_per_hour
    return {"scenario": scenario.name, "policy": roster.policy,
            "targets": [str(t) for t in roster.targets], "shrinkage": roster.shrinkage,
            "seed": roster.results.seed, "replications": roster.results.replications,
            "iterations": roster.iterations, "met": not roster.unmet,
            "unmet": roster.unmet, "erlang_optimum_agent_hours": roster.erlang_optimum_hours,
            "agent_hours": sum(roster.hours(g) for g in roster.groups),
            "kept_groups": list(roster.kept), "groups": groups, "intervals": intervals}


def write_roster_plot(roster: Roster, path: str | Path) -> None:
    """Requirement vs scheduled agents per group and the target metrics in simulation
    against clock time, as SVG or PNG by the file's suffix (matplotlib, imported here)."""
    from reports.plots import plot_roster, render

    scenario = roster.scenario
    interval = scenario.run.interval
    shown = roster.grid.intervals(scenario.run.intervals_per_day)  # consecutive from 0
    edges = [i * interval for i in [*shown, shown[-1] + 1]]
    staffing = {g: (edges, [roster.paid(g)[i] for i in shown],
                    [roster.scheduled(g)[i] for i in shown]) for g in roster.groups}
    achieved = {i.label: i.figures for i in roster.intervals}
    figure = plot_roster(staffing, achieved, roster.targets, scenario.run.day_start,
                         f"{scenario.name}: roster under {roster.policy}")
    write_atomic(path, render(figure, Path(path).suffix.lstrip(".").lower()))


# ------------------------------------------------------------------------------ CLI
def configure(parser: argparse.ArgumentParser) -> None:
    """Give ``ccsim roster``'s parser (help line in ``sim.cli.LAZY_COMMANDS``) its
    arguments and handler."""
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--target", action="append", required=True, metavar="EXPR",
                        help="per interval of the day, e.g. 'service_level>=0.8' (repeatable)")
    parser.add_argument("--shift-lengths", required=True, metavar="LIST",
                        help="lengths a shift may have, e.g. 8h,6h,4h")
    parser.add_argument("--starts-every", required=True, metavar="DURATION",
                        help="spacing of shift starts from the start of the day, e.g. 30min")
    parser.add_argument("--policy", metavar="NAME", help="routing policy (default: "
                        "routing.policy)")
    parser.add_argument("--shrinkage", metavar="SHARE", help="share of paid time off the "
                        "phones, e.g. 30%%: paid heads = agents on the phones / (1 - share)")
    parser.add_argument("--max-occupancy", metavar="SHARE",
                        help="most occupancy allowed, e.g. 85%%: the target occupancy<=SHARE")
    parser.add_argument("--group", action="append", metavar="NAME",
                        help="roster only this agent group (repeatable; default: all)")
    parser.add_argument("--cost-per-hour", metavar="AMOUNT",
                        help="cost of one agent-hour, e.g. 25: also print the cost")
    parser.add_argument("--max-iterations", type=int, default=DEFAULT_ITERATIONS,
                        help=f"simulations at most (default {DEFAULT_ITERATIONS})")
    parser.add_argument("--replications", type=int, help="replications per simulation")
    parser.add_argument("--seed", type=int, help="root seed (overrides run.seed)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes for "
                        "replications")
    parser.add_argument("--out", required=True, metavar="PATH", help="roster CSV to write")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--plot", metavar="PATH", help="also draw requirement, scheduled "
                        "agents and simulated targets per interval (.svg or .png)")
    add_limit_options(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.set_defaults(handler=_cmd_roster)


def parse_shift_lengths(text: str) -> tuple[float, ...]:
    """``"8h,6h,4h"`` -> seconds, without repeats; each above 0 and below 24h."""
    lengths: list[float] = []
    for part in text.split(","):
        length = parse_duration(part.strip())
        if not 0 < length < DAY:
            raise ValueError(f"{show_value(part.strip())} is not above 0 and below 24h; "
                             "allowed: durations such as 8h,6h,4h")
        if length not in lengths:
            lengths.append(length)
    return tuple(lengths)


def parse_starts_every(text: str) -> float:
    """A spacing of shift starts that divides 24h into whole minutes."""
    spacing = parse_duration(text)
    if spacing <= 0 or spacing % 60 or (DAY / spacing) % 1:
        raise ValueError(f"{show_value(text)} does not divide 24h into whole minutes; "
                         "allowed: e.g. 15min, 30min or 1h")
    return spacing


def _cmd_roster(args: argparse.Namespace) -> int:
    from policies import policy_spec

    targets = target_flags(args)
    shrinkage = (share_flag("--shrinkage", args.shrinkage, below_one=True)
                 if args.shrinkage is not None else 0.0)
    lengths = parse_flag("--shift-lengths", parse_shift_lengths, args.shift_lengths)
    starts_every = parse_flag("--starts-every", parse_starts_every, args.starts_every)
    cost = None
    if args.cost_per_hour is not None:
        cost = parse_flag("--cost-per-hour", float, args.cost_per_hour)
        if not math.isfinite(cost) or cost <= 0:
            raise UsageError(f"--cost-per-hour {show_value(args.cost_per_hour)}: allowed: "
                             "an amount above 0, e.g. 25")
    at_least("--max-iterations", args.max_iterations, 1)
    check_count_options(args)
    if args.policy:
        check_plugin_names("--policy", [split_label(args.policy)[0]], policy_spec)
    check_output_file(args.out, "--out")
    if args.json:
        check_output_file(args.json, "--json")
    if args.plot:
        check_output_file(args.plot, "--plot")
        if Path(args.plot).suffix.lstrip(".").lower() not in PLOT_FORMATS:
            raise UsageError(f"--plot {show_value(args.plot)}: allowed: a file name ending "
                             "in .svg or .png")
    scenario = load_scenario(args.scenario, no_limits=args.no_limits)
    check_workload(scenario, args)
    roster = build_roster(scenario, targets, lengths, starts_every, args.policy,
                          shrinkage=shrinkage, groups=args.group,
                          max_iterations=args.max_iterations, replications=args.replications,
                          seed=args.seed, jobs=checked_jobs(args.jobs),
                          no_limits=args.no_limits)
    # Files first: a reader of stdout that stops early must not cost them.
    write_atomic(args.out, format_roster_csv(roster.rows))
    if args.json:
        write_atomic(args.json, json.dumps(roster_json(roster, cost), indent=2,
                                           allow_nan=False) + "\n")
    if args.plot:
        write_roster_plot(roster, args.plot)
    print(format_roster(roster, cost))
    print(f"roster: {args.out} ({len(roster.rows)} agents)", file=sys.stderr)
    return 1 if roster.unmet else 0
