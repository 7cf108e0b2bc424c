"""Replications, policy comparisons on common random numbers, and their summaries.

This is the public Python API next to ``load_scenario``::

    from sim import load_scenario, run
    results = run(load_scenario("scenarios/quickstart.yaml"), policies=["fcfs", "priority"])
    results.summary()["fcfs"]["service_level"]      # Estimate(mean=..., low=..., high=...)
    rows = results.records()                       # plain dicts, ready for pandas.DataFrame
    frame = results.to_frame("type")               # tidy DataFrame (pip install 'ccsim[pandas]')

Scopes are named ``overall``, ``type``, ``group``, ``interval``, ``tier``, ``channel``,
``campaign``, ``agent`` and ``weekday`` (``SCOPE_NAMES``), as in ``ccsim run --by``; the
JSON document's keys ``by_type``... are accepted wherever a scope is. Figures per agent and
per weekday are kept only when asked for (``run(..., per_agent=True)``,
``run(..., by_weekday=True)``).
"""

from __future__ import annotations

import math
import statistics
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scipy import stats

from policies import policy_spec

from sim.errors import FewReplicationsWarning
from sim.files import atomic_path
from sim.kernel.cells import ReplicationResult, is_omnichannel
from sim.kernel.kernel import Simulation
from sim.kernel.metrics import metric_range
from sim.limits import limits_for, over_limit
from sim.model.scenario import Scenario
from sim.kernel.trace import TRACE_COLUMNS, TraceRecorder, TraceRows, TraceTee, TraceWriter
from sim.workers import cap_jobs, worker_pool

if TYPE_CHECKING:
    import pandas

SCOPES = ("overall", "by_type", "by_group", "by_interval", "by_tier", "by_channel",
          "by_campaign", "by_agent", "by_weekday")
"""Attribute names of ``ReplicationResult`` (and keys of the JSON document) per scope."""
ON_REQUEST = ("by_agent", "by_weekday")
"""Scopes with figures only when ``run`` is asked for them (the JSON document has their key
only then)."""
SCOPE_NAMES = tuple(scope.removeprefix("by_") for scope in SCOPES)
"""The names of scopes: ``overall``, ``type``, ``group``, ``interval``, ``tier``, ``channel``,
``campaign``, ``agent``, ``weekday`` (``ccsim run --by``, ``ccsim compare --by``,
``records()``, ``to_frame()``); ``agent`` and ``weekday`` have figures only when the run
was asked for them (``run(..., per_agent=True)``, ``by_weekday=True``)."""

MIN_REPLICATIONS = 5
"""Fewer replications than this make ``run`` warn: their t-intervals are too wide to read."""


def scope_attribute(scope: str) -> str:
    """``by_type`` for ``type`` or ``by_type``, ``overall`` for ``overall``; a ``ValueError``
    naming the scopes for anything else."""
    attribute = scope if scope in SCOPES else f"by_{scope}"
    if attribute not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; allowed: {', '.join(SCOPE_NAMES)} "
                         "(or by_type, by_group, ... as in the JSON document)")
    return attribute


def scopes_of(scenario: Scenario) -> tuple[str, ...]:
    """The scopes a run of ``scenario`` has figures for (``SCOPE_NAMES`` order): per tier
    with customers, per channel with channels, retrials, callbacks, journeys or outbound,
    per campaign with outbound; per weekday always (when asked for: ``by_weekday``)."""
    present = {"tier": scenario.customers is not None,
               "channel": is_omnichannel(scenario),
               "campaign": scenario.outbound is not None}
    return tuple(name for name in SCOPE_NAMES if present.get(name, True))


@dataclass(frozen=True)
class Estimate:
    """Mean over replications with a 95% Student-t confidence interval (NaN when undefined).

    The interval of a metric is cut at the values the metric can take
    (``sim.kernel.metrics.metric_range``: shares within 0..1, nothing negative);
    ``clipped`` says a bound was cut, so the interval is no longer symmetric.
    """

    mean: float
    low: float
    high: float
    n: int
    clipped: bool = False

    @property
    def half_width(self) -> float:
        """Half the width of the 95% interval."""
        return (self.high - self.low) / 2

    def as_json(self) -> dict[str, Any]:
        """``{"mean": x, "ci95": [lo, hi]}`` with JSON ``null`` for NaN."""
        return {"mean": _json_number(self.mean), "ci95": [_json_number(self.low),
                                                          _json_number(self.high)]}

    def text(self, fmt: str) -> str:
        """``mean ± half-width`` in format ``fmt`` (e.g. ``{:.1%}``); a clipped interval as
        ``mean [low, high]`` (a ± would misplace it); ``-`` when undefined, no ``±`` with
        one replication."""
        if math.isnan(self.mean):
            return "-"
        text = fmt.format(self.mean)
        if math.isnan(self.half_width):
            return text
        if self.clipped:
            return f"{text} [{fmt.format(self.low).lstrip()}, {fmt.format(self.high).lstrip()}]"
        return f"{text} ± {fmt.format(self.half_width).lstrip()}"


def estimate(values: Iterable[float],
             bounds: tuple[float, float] = (-math.inf, math.inf)) -> Estimate:
    """Mean and 95% t-interval of per-replication values, ignoring NaN ones; the interval
    is clipped to ``bounds`` (``metric_estimate`` passes the metric's range)."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return Estimate(mean, math.nan, math.nan, len(finite))
    half = float(stats.t.ppf(0.975, len(finite) - 1)) * statistics.stdev(finite) / math.sqrt(
        len(finite))
    low, high = max(mean - half, bounds[0]), min(mean + half, bounds[1])
    return Estimate(mean, low, high, len(finite),
                    clipped=low != mean - half or high != mean + half)


def metric_estimate(metric: str, values: Iterable[float]) -> Estimate:
    """``estimate`` of a metric's per-replication values, clipped to the metric's range."""
    return estimate(values, metric_range(metric))


@dataclass(repr=False)
class RunResults:
    """Every replication of every policy of one scenario run, and their summaries."""

    scenario: Scenario
    seed: int
    replications: int
    runs: dict[str, list[ReplicationResult]]
    contacts: list[dict[str, Any]] | None = field(default=None)
    """One row per contact (the columns of ``--trace``, ``TRACE_COLUMNS``) when ``run`` was
    asked for them with ``contacts=True``; else ``None``."""

    @property
    def per_agent(self) -> bool:
        """Whether the run kept figures per agent (``run(..., per_agent=True)``)."""
        return self._kept("by_agent")

    def _kept(self, scope: str) -> bool:
        """Whether some replication has figures in ``scope`` (one kept on request)."""
        return any(getattr(rep, scope) for reps in self.runs.values() for rep in reps)

    @property
    def policies(self) -> list[str]:
        """Policy names in the order they were run."""
        return list(self.runs)

    def __repr__(self) -> str:
        # The scenario alone prints pages; its name, the labels and counts say what this is.
        contacts = "" if self.contacts is None else f", contacts={len(self.contacts)}"
        return (f"RunResults(scenario={self.scenario.name!r}, policies={self.policies}, "
                f"replications={self.replications}, seed={self.seed}{contacts})")

    def summary(self, scope: str = "overall") -> dict[str, Any]:
        """Estimates per policy: ``{policy: {metric: Estimate}}`` for ``overall``,
        ``{policy: {key: {metric: Estimate}}}`` for ``type``, ``group``, ``interval``,
        ``tier``, ``channel``, ``campaign``, ``agent``, ``weekday`` (``by_type``... accepted
        too; ``agent`` needs a run with ``per_agent=True``, ``weekday`` one with
        ``by_weekday=True``)."""
        scope = scope_attribute(scope)
        if scope == "by_agent" and not self.per_agent:
            raise ValueError("no per-agent figures were kept; allowed: run(..., "
                             "per_agent=True) (ccsim run --by agent)")
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
            if scope not in ON_REQUEST or self._kept(scope):
                document[scope] = encode(self.summary(scope))
        if self.scenario.identity is not None:
            # Labels name the strategy only when several are compared: record it always.
            document["verification"] = {label: reps[0].verification
                                        for label, reps in self.runs.items()}
        if self.scenario.outbound is not None:
            document["outbound"] = {label: reps[0].outbound for label, reps in self.runs.items()}
        return document

    def records(self) -> list[dict[str, Any]]:
        """One row per policy, replication, scope, key and metric (long format); ``scope``
        is one of ``SCOPE_NAMES`` and ``key`` is ``""`` for ``overall``."""
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

    def to_frame(self, scope: str | Sequence[str] | None = None) -> pandas.DataFrame:
        """A tidy ``pandas.DataFrame``: one row per policy, scope, key and metric with
        ``mean``, ``ci95_low``, ``ci95_high`` and ``n`` (replications with a value).

        ``scope`` is one of ``SCOPE_NAMES`` (``by_type``... accepted too), a list of them,
        or ``None`` for every scope. ``key`` is the contact type, group, ``HH:MM``
        interval, tier, channel, campaign or agent (``""`` for ``overall``). Needs pandas
        (``pip install 'ccsim[pandas]'``).
        """
        pandas = require_pandas("RunResults.to_frame")
        if scope is None:
            wanted = [s for s in SCOPES if s not in ON_REQUEST or self._kept(s)]
        else:
            wanted = [scope_attribute(name)
                      for name in ([scope] if isinstance(scope, str) else scope)]
        rows = []
        for attribute in dict.fromkeys(wanted):
            name = attribute.removeprefix("by_")
            for policy, tree in self.summary(attribute).items():
                keyed = {"": tree} if attribute == "overall" else tree
                rows += [(policy, name, key, metric, value.mean, value.low, value.high, value.n)
                         for key, figures in keyed.items() for metric, value in figures.items()]
        return pandas.DataFrame(rows, columns=FRAME_COLUMNS)

    def contacts_frame(self) -> pandas.DataFrame:
        """The per-contact rows (``contacts``) as a ``pandas.DataFrame`` with the columns of
        ``--trace``; blank cells are missing values (NaN/None)."""
        pandas = require_pandas("RunResults.contacts_frame")
        if self.contacts is None:
            raise ValueError("no per-contact rows were kept; allowed: run(..., contacts=True)")
        return pandas.DataFrame(self.contacts, columns=TRACE_COLUMNS)


FRAME_COLUMNS = ("policy", "scope", "key", "metric", "mean", "ci95_low", "ci95_high", "n")
"""Columns of ``RunResults.to_frame``."""


def require_pandas(what: str) -> Any:
    """The pandas module, or an ``ImportError`` that says how to install it (pandas is an
    optional dependency: the simulator and its CLI do not need it)."""
    try:
        import pandas
    except ImportError:
        raise ImportError(f"{what} needs pandas, an optional dependency; install it with "
                          "pip install 'ccsim[pandas]' (or pip install pandas)") from None
    return pandas


def _estimates(figures: Sequence[dict[str, float]]) -> dict[str, Estimate]:
    metrics = dict.fromkeys(m for f in figures for m in f)
    return {m: metric_estimate(m, (f.get(m, math.nan) for f in figures)) for m in metrics}


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _run_one(task: tuple[Scenario, str, str | None, str | None, int, bool, bool, bool],
             ) -> tuple[ReplicationResult, list[tuple[Any, ...]] | None]:
    """One replication in a worker process, with its per-contact rows when asked for."""
    (scenario, policy, verification, outbound, replication, keep_contacts, per_agent,
     by_weekday) = task
    recorder = TraceRecorder() if keep_contacts else None
    result = Simulation(scenario, policy, replication, trace=recorder, verification=verification,
                        outbound=outbound, per_agent=per_agent, by_weekday=by_weekday).run()
    return result, recorder.rows if recorder is not None else None


def run(
    scenario: Scenario,
    policies: Sequence[str] | None = None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    trace: str | Path | None = None,
    contacts: bool = False,
    per_agent: bool = False,
    jobs: int = 1,
    progress: bool | None = None,
    verifications: Sequence[str] | None = None,
    outbounds: Sequence[str] | None = None,
    no_limits: bool = False,
    by_weekday: bool = False,
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
    per-contact CSV (sequential runs only; it replaces the file only once complete);
    ``contacts=True`` keeps the same rows in memory as ``RunResults.contacts`` (any
    ``jobs``; memory grows with the number of contacts). ``per_agent=True`` adds figures per
    agent (scope ``agent``: handled, AHT, occupancy, utilisation, agent-hours; memory grows
    with the number of agents); ``by_weekday=True`` adds figures per weekday
    (``summary("weekday")``; seven times the metric cells).
    ``progress`` shows a bar on a terminal (default: only when stderr is one).
    ``replications`` beyond the bounds of ``sim.limits`` raise ``ValueError`` unless
    ``no_limits``; fewer than ``MIN_REPLICATIONS`` warn (``FewReplicationsWarning``).
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
    if count < MIN_REPLICATIONS:
        warnings.warn(FewReplicationsWarning(
            f"{count} replication{'s' if count != 1 else ''}: 95% confidence intervals "
            f"{'are undefined' if count == 1 else 'from so few are wide and unreliable'}; "
            f"allowed: {MIN_REPLICATIONS} or more replications (10 or more for tight "
            "intervals)"), stacklevel=2)
    # Replication by replication: every run of one replication faces the same customers,
    # built once while they are in the population cache (``Population.shared``).
    tasks = [(scenario, name, strategy, dialer, r, contacts, per_agent, by_weekday)
             for r in range(count)
             for name in names for strategy in strategies for dialer in dialers]
    if trace is not None and jobs > 1:
        raise ValueError("a per-contact trace needs jobs=1")
    show = sys.stderr.isatty() if progress is None else progress
    jobs = cap_jobs(jobs)
    rows: list[tuple[Any, ...]] = []
    if jobs > 1:
        with worker_pool(jobs) as pool, _Progress(len(tasks), show) as bar:
            results = []
            # ``map`` yields in task order: the rows come out as a sequential run's would.
            for result, task_rows in pool.map(_run_one, tasks):
                results.append(result)
                rows += task_rows or []
                bar.advance_to_task_end()
    else:
        results = []
        with (atomic_path(trace) if trace is not None else nullcontext()) as trace_path:
            writer = TraceWriter(trace_path) if trace_path is not None else None
            recorder = TraceRecorder(rows) if contacts else None
            try:
                with _Progress(len(tasks), show) as bar:
                    for task_scenario, name, strategy, dialer, replication, *_ in tasks:
                        sim = Simulation(task_scenario, name, replication,
                                         trace=_tee(writer, recorder),
                                         progress=bar.within_task(), verification=strategy,
                                         outbound=dialer, per_agent=per_agent,
                                         by_weekday=by_weekday)
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
    return RunResults(scenario, scenario.run.seed, count, runs,
                      [dict(zip(TRACE_COLUMNS, row)) for row in rows] if contacts else None)


def _tee(writer: TraceWriter | None, recorder: TraceRecorder | None) -> TraceRows | None:
    """The one trace sink a run feeds: the file, the memory, or both."""
    if writer is None or recorder is None:
        return writer or recorder
    return TraceTee(writer, recorder)


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
    """A tqdm bar over (policy, replication) runs, shown after two seconds on a terminal.

    The bar moves within a run (the engine reports the share of it done); the count
    beside it is of whole runs finished, so it never reads ``9.5/10``.
    """

    def __init__(self, units: int, show: bool) -> None:
        self._bar: Any = None
        self._done = 0.0
        self._finished = 0
        self._units = units
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=units, unit="run", delay=2.0, file=sys.stderr,
                             bar_format="{l_bar}{bar}| {postfix} [{elapsed}<{remaining}]")
            self._bar.set_postfix_str(self._count(), refresh=False)

    def _count(self) -> str:
        return f"{self._finished}/{self._units} runs"

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
        self._finished += 1
        if self._bar is not None:
            self._bar.set_postfix_str(self._count(), refresh=False)
        self.advance(self._finished - self._done)
