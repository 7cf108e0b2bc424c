"""Replications, policy comparisons on common random numbers, and their summaries.

This is the public Python API next to ``load_scenario``::

    from sim import load_scenario, run
    results = run(load_scenario("scenarios/quickstart.yaml"), policies=["fcfs", "priority"])
    results.summary()["fcfs"]["service_level"]      # Estimate(mean=..., low=..., high=...)
    rows = results.records()                       # plain dicts, ready for pandas.DataFrame
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scipy import stats

from policies import policy_spec

from sim.files import atomic_path
from sim.kernel.cells import ReplicationResult
from sim.kernel.kernel import Simulation
from sim.limits import limits_for, over_limit
from sim.model.scenario import Scenario
from sim.kernel.trace import TraceWriter
from sim.workers import cap_jobs, worker_pool

SCOPES = ("overall", "by_type", "by_group", "by_interval", "by_tier", "by_channel",
          "by_campaign")


@dataclass(frozen=True)
class Estimate:
    """Mean over replications with a 95% Student-t confidence interval (NaN when undefined)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the width of the 95% interval."""
        return (self.high - self.low) / 2

    def as_json(self) -> dict[str, Any]:
        """``{"mean": x, "ci95": [lo, hi]}`` with JSON ``null`` for NaN."""
        return {"mean": _json_number(self.mean), "ci95": [_json_number(self.low),
                                                          _json_number(self.high)]}


def estimate(values: Iterable[float]) -> Estimate:
    """Mean and 95% t-interval of per-replication values, ignoring NaN ones."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return Estimate(mean, math.nan, math.nan, len(finite))
    half = float(stats.t.ppf(0.975, len(finite) - 1)) * statistics.stdev(finite) / math.sqrt(
        len(finite))
    return Estimate(mean, mean - half, mean + half, len(finite))


@dataclass
class RunResults:
    """Every replication of every policy of one scenario run, and their summaries."""

    scenario: Scenario
    seed: int
    replications: int
    runs: dict[str, list[ReplicationResult]]

    @property
    def policies(self) -> list[str]:
        """Policy names in the order they were run."""
        return list(self.runs)

    def summary(self, scope: str = "overall") -> dict[str, Any]:
        """Estimates per policy: ``{policy: {metric: Estimate}}`` for ``overall``,
        ``{policy: {key: {metric: Estimate}}}`` for ``by_type``, ``by_group``, ``by_interval``,
        ``by_tier``, ``by_channel``, ``by_campaign``."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        out: dict[str, Any] = {}
        for policy, reps in self.runs.items():
            if scope == "overall":
                out[policy] = _estimates([r.overall for r in reps])
            else:
                keys = dict.fromkeys(k for r in reps for k in getattr(r, scope))
                out[policy] = {
                    key: _estimates([getattr(r, scope)[key] for r in reps
                                     if key in getattr(r, scope)])
                    for key in keys
                }
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``ccsim run --json``."""

        def encode(tree: Any) -> Any:
            if isinstance(tree, Estimate):
                return tree.as_json()
            return {k: encode(v) for k, v in tree.items()}

        document: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replications": self.replications,
            "results": encode(self.summary("overall")),
        }
        for scope in SCOPES[1:]:
            document[scope] = encode(self.summary(scope))
        if self.scenario.identity is not None:
            # Labels name the strategy only when several are compared: record it always.
            document["verification"] = {label: reps[0].verification
                                        for label, reps in self.runs.items()}
        if self.scenario.outbound is not None:
            document["outbound"] = {label: reps[0].outbound for label, reps in self.runs.items()}
        return document

    def records(self) -> list[dict[str, Any]]:
        """One row per policy, replication, scope, key and metric (long format)."""
        rows: list[dict[str, Any]] = []
        for policy, reps in self.runs.items():
            for rep in reps:
                groups: list[tuple[str, str, dict[str, float]]] = [("overall", "", rep.overall)]
                for scope in SCOPES[1:]:
                    groups += [(scope.removeprefix("by_"), key, figures)
                               for key, figures in getattr(rep, scope).items()]
                for scope, key, figures in groups:
                    rows += [{"policy": policy, "replication": rep.replication, "scope": scope,
                              "key": key, "metric": metric, "value": value}
                             for metric, value in figures.items()]
        return rows


def _estimates(figures: Sequence[dict[str, float]]) -> dict[str, Estimate]:
    metrics = dict.fromkeys(m for f in figures for m in f)
    return {m: estimate(f.get(m, math.nan) for f in figures) for m in metrics}


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _run_one(task: tuple[Scenario, str, str | None, str | None, int]) -> ReplicationResult:
    scenario, policy, verification, outbound, replication = task
    return Simulation(scenario, policy, replication, verification=verification,
                      outbound=outbound).run()


def run(
    scenario: Scenario,
    policies: Sequence[str] | None = None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    trace: str | Path | None = None,
    jobs: int = 1,
    progress: bool | None = None,
    verifications: Sequence[str] | None = None,
    outbounds: Sequence[str] | None = None,
    no_limits: bool = False,
) -> RunResults:
    """Run ``scenario`` under each policy (default: the scenario's own) on the same contacts.

    Replication ``r`` of every policy uses the same random streams, so the
    policies face identical arrivals, patience and work (common random
    numbers). With an identity block, each policy also runs under each
    verification strategy in ``verifications`` (default: the scenario's
    list); results are then labelled ``policy/strategy``. With an outbound block, likewise
    for each outbound strategy in ``outbounds`` (default: the scenario's list); a label
    names each strategy dimension that has more than one entry. ``jobs > 1`` runs
    replications in parallel processes (at most one per core); ``trace`` writes a
    per-contact CSV (sequential runs only; it replaces the file only once complete).
    ``progress`` shows a bar on a terminal (default: only when stderr is one).
    ``replications`` beyond the bounds of ``sim.limits`` raise ``ValueError`` unless
    ``no_limits``.
    """
    scenario = scenario.with_overrides(seed=seed, replications=replications)
    limits = limits_for(no_limits)
    if scenario.run.replications > limits.replications:
        raise ValueError(f"replications={scenario.run.replications}: " + over_limit(
            scenario.run.replications, limits.replications, "replications",
            "fewer replications"))
    problem = scenario.workload_problem(scenario.run.replications, limits)
    if problem is not None:
        raise ValueError(f"replications={scenario.run.replications}: {problem[1]}")
    names = list(dict.fromkeys(policies or [scenario.routing.policy]))
    for name in names:
        spec = policy_spec(name)
        spec.parse_params(scenario.routing.params_for(name), scenario)
    strategies = _strategies(scenario, verifications)
    dialers = _outbound_strategies(scenario, outbounds)
    count = scenario.run.replications
    # Replication by replication: every run of one replication faces the same customers,
    # built once while they are in the population cache (``Population.shared``).
    tasks = [(scenario, name, strategy, dialer, r) for r in range(count)
             for name in names for strategy in strategies for dialer in dialers]
    if trace is not None and jobs > 1:
        raise ValueError("a per-contact trace needs jobs=1")
    show = sys.stderr.isatty() if progress is None else progress
    jobs = cap_jobs(jobs)
    if jobs > 1:
        with worker_pool(jobs) as pool, _Progress(len(tasks), show) as bar:
            results = []
            for result in pool.map(_run_one, tasks):
                results.append(result)
                bar.advance(1.0)
    else:
        results = []
        with (atomic_path(trace) if trace is not None else nullcontext()) as trace_path:
            writer = TraceWriter(trace_path) if trace_path is not None else None
            try:
                with _Progress(len(tasks), show) as bar:
                    for task_scenario, name, strategy, dialer, replication in tasks:
                        sim = Simulation(task_scenario, name, replication, trace=writer,
                                         progress=bar.within_task(), verification=strategy,
                                         outbound=dialer)
                        results.append(sim.run())
                        bar.advance_to_task_end()
            finally:
                if writer is not None:
                    writer.close()
    runs: dict[str, list[ReplicationResult]] = {}
    for result in results:
        label = "/".join([result.policy]
                         + ([str(result.verification)] if len(strategies) > 1 else [])
                         + ([str(result.outbound)] if len(dialers) > 1 else []))
        runs.setdefault(label, []).append(result)
    return RunResults(scenario, scenario.run.seed, count, runs)


def _strategies(scenario: Scenario, verifications: Sequence[str] | None) -> list[str | None]:
    """Verification strategies to run, checked against the scenario."""
    if scenario.identity is None:
        if verifications:
            raise ValueError(f"--verification needs a scenario with an identity block; "
                             f"scenario {scenario.name!r} has no identity block, so there is "
                             "nothing to verify")
        return [None]
    from policies.verification import strategy_spec

    names = list(dict.fromkeys(verifications or scenario.identity.verification.strategies))
    for name in names:
        strategy_spec(name).parse_params(scenario.identity.verification.params_for(name),
                                         scenario)
    return list(names)


def _outbound_strategies(scenario: Scenario, outbounds: Sequence[str] | None) -> list[str | None]:
    """Outbound strategies to run, checked against the scenario."""
    if scenario.outbound is None:
        if outbounds:
            raise ValueError(f"--outbound needs a scenario with an outbound block; scenario "
                             f"{scenario.name!r} has no outbound block, so nothing is dialled")
        return [None]
    from policies.outbound import outbound_spec

    names = list(dict.fromkeys(outbounds or scenario.outbound.strategies))
    for name in names:
        outbound_spec(name).parse_params(scenario.outbound.params_for(name), scenario)
    return list(names)


class _Progress:
    """A tqdm bar over (policy, replication) units, shown after two seconds on a terminal."""

    def __init__(self, units: int, show: bool) -> None:
        self._bar: Any = None
        self._done = 0.0
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=units, unit="run", delay=2.0, file=sys.stderr,
                             bar_format="{l_bar}{bar}| {n:.1f}/{total} runs [{elapsed}<{remaining}]")

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def advance(self, amount: float) -> None:
        if self._bar is not None:
            self._bar.update(amount)
            self._done += amount

    def within_task(self) -> Callable[[float], None] | None:
        if self._bar is None:
            return None
        start = self._done

        def report(fraction: float) -> None:
            self.advance(start + fraction - self._done)

        return report

    def advance_to_task_end(self) -> None:
        self.advance(math.floor(self._done + 1e-9) + 1 - self._done if self._done % 1 else 1.0)
