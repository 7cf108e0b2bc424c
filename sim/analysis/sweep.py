"""Parameter sweeps: a grid over scenario parameters x policies x replications, resumable.

A sweep file is a scenario file with one more top-level key::

    sweep:
      grid:                                   # dotted paths into the scenario
        agents.team.count: {from: 90, to: 110, step: 2}
        contact_types.calls.patience.mean: [2min, 3min, 5min]
      policies: [fcfs, priority]              # default: each point's routing.policy
      replications: 5                         # default: run.replications

Every run is one (grid point, policy label, replication). Replication ``r`` of
every grid point and label uses the streams of the scenario seed with
replication index ``r`` (``sim.streams``), so neighbouring grid points and
policies are compared on the same contacts, and a run's result depends only
on what it is, never on which executor or worker ran it or in which order.

Each finished run is written at once, atomically, to its own JSON file in the
results directory, named by a hash of what it computes (the normalized
scenario of its grid point, its label and replication). Rerunning a sweep
skips the runs whose file exists, so an interrupted sweep resumes where it
stopped and a grown grid only computes what is new. ``manifest.json`` holds
the normalized base scenario; a directory is never shared by two different
base scenarios.

Python API::

    sweep = load_sweep("scenarios/sweeps/sweep-example.yaml")
    outcome = run_sweep(sweep, "sweep-results", jobs=2)    # executor="dask" for Dask
    for point in load_results(sweep, "sweep-results"):
        point.results.summary()["fcfs"]["service_level"]   # Estimate(mean, low, high, n)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import io
import itertools
import json
import logging
import math
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import yaml
from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo

from policies import UnknownPolicyError, policy_spec
from policies.verification import strategy_spec
from sim.cli.options import (
    add_limit_options, check_count_options, check_metric_names, checked_jobs,
)
from sim.kernel.cells import ReplicationResult
from sim.kernel.kernel import Simulation
from sim.errors import FieldError, ScenarioError, UsageError, explain, show_value
from sim.files import ReadError, check_output_folder, read_text, safe_file_name, write_atomic
from sim.limits import DEFAULT_LIMITS, Limits, limits_for, over_limit
from sim.model import yaml_input
from sim.model.fields import Int, Number, StrictModel
from sim.runner import SCOPES, Estimate, RunResults
from sim.model.scenario import (
    Scenario, _line_of, compose_yaml, parse_scenario, scenario_from_dict,
)
from sim.workers import cap_jobs, usable_cores, worker_pool

SWEEP_KEY = "sweep"
MANIFEST = "manifest.json"
RUNS = "runs"
DEFAULT_METRICS = ("service_level", "abandon_rate", "asa_s", "occupancy")
EXECUTORS = ("local", "dask")
_FORMAT = 1
"""Version of the results-directory layout, stored in the manifest."""
_SEED_PATHS = ("run", "run.seed", "run.replications")
_RANGE_HINT = ("allowed: a list of values, e.g. [90, 100, 110], or a numeric range "
               "{from: 90, to: 110, step: 2}")


class SweepError(ValueError):
    """A sweep that cannot run or a results directory that cannot be used; says why."""


# ------------------------------------------------------------------------ the sweep block
class _Range(StrictModel):
    """``{from, to, step}``: ``from``, ``from + step``, ... up to ``to`` inclusive."""

    start: Number = Field(alias="from")
    stop: Number = Field(alias="to")
    step: Number = Field(gt=0)

    def values(self, limit: float) -> list[float | int]:
        """The values, unless there are more than ``limit`` (counted before any is made)."""
        steps = (self.stop - self.start) / self.step * (1 + 1e-12)
        if steps < 0:
            raise FieldError(("to",), f"to {self.stop:g} is below from {self.start:g}, so "
                             "the range is empty; allowed: to >= from")
        if not steps + 1 <= limit:  # also when the span overflows to infinity
            raise FieldError(("step",), over_limit(
                steps + 1, limit, "grid points", "a larger step or a shorter range"))
        count = math.floor(steps) + 1
        whole = all(float(v).is_integer() for v in (self.start, self.step))
        # start + i*step rather than repeated addition, so 0.1 steps do not drift;
        # round(..., 12) drops the last-bit noise that would make 0.30000000000000004.
        return [int(self.start + i * self.step) if whole else round(self.start + i * self.step, 12)
                for i in range(count)]


def _grid_values(raw: Any, info: ValidationInfo) -> tuple[Any, ...]:
    if isinstance(raw, list):
        if not raw:
            raise FieldError((), f"has no values; {_RANGE_HINT}")
        return tuple(raw)
    if isinstance(raw, dict):
        limits: Limits = (info.context or {}).get("limits", DEFAULT_LIMITS)
        try:
            return tuple(_Range.model_validate(raw).values(limits.grid_points))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            context_error = (error.get("ctx") or {}).get("error")
            path = tuple(error["loc"]) + (context_error.path if isinstance(
                context_error, FieldError) else ())
            raise FieldError(path, f"{explain(error)}; {_RANGE_HINT}") from None
    raise FieldError((), f"{show_value(raw)} is not a list or range; {_RANGE_HINT}")


GridValues = Annotated[tuple[Any, ...], BeforeValidator(_grid_values)]


class SweepSpec(StrictModel):
    """The ``sweep:`` block of a scenario file."""

    grid: dict[str, GridValues] = Field(
        description="Dotted scenario path -> list of values or {from, to, step}; the sweep "
        "runs every combination (Cartesian product, first path outermost).")
    policies: tuple[str, ...] | None = Field(
        default=None, min_length=1,
        description="Labels run at every grid point on the same contacts: a policy name, or "
        "policy/strategy for one verification strategy of an identity block; a bare policy "
        "runs every listed strategy, as ccsim run does. Default: routing.policy.")
    replications: Int | None = Field(
        default=None, ge=1, description="Replications per grid point and label; "
        "default: run.replications.")


# -------------------------------------------------------------------- points and units
@dataclass(frozen=True)
class GridPoint:
    """One combination of grid values and the validated scenario it gives."""

    index: int
    overrides: tuple[tuple[str, Any], ...]
    scenario: Scenario
    key: str
    """Hash of the normalized scenario: equal keys compute equal runs."""

    @property
    def title(self) -> str:
        """``agents.team.count=90, routing.policy=priority``."""
        return _title(self.overrides)


@dataclass(frozen=True)
class RunUnit:
    """One simulation of a sweep: a grid point under a policy label, one replication."""

    point: GridPoint
    label: str
    replication: int

    @property
    def file_name(self) -> str:
        """Name of the run's result file (labels are opaque: percent-encoded)."""
        return f"{self.point.key}-{quote(self.label, safe='')}-r{self.replication}.json"


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: base scenario, grid points, labels and replications."""

    source: str
    base: Scenario
    paths: tuple[str, ...]
    points: tuple[GridPoint, ...]
    labels: tuple[str, ...] | None
    replications: int

    def labels_of(self, point: GridPoint) -> tuple[str, ...]:
        """Labels run at ``point``."""
        return _expand(self.labels or (point.scenario.routing.policy,), point.scenario)

    def units(self) -> list[RunUnit]:
        """Every run, point by point, replication by replication, label by label (the
        labels of one replication share its customers while they are in the population
        cache, ``Population.shared``)."""
        return [RunUnit(point, label, r) for point in self.points
                for r in range(self.replications) for label in self.labels_of(point)]


def load_sweep(
    path: str | Path,
    *,
    grid: dict[str, Any] | None = None,
    policies: Sequence[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    no_limits: bool = False,
) -> Sweep:
    """Read a scenario file with a ``sweep:`` block and validate every grid point.

    ``grid`` entries (path -> list or ``{from, to, step}``) are added to the
    file's grid (replacing a path given there); ``policies``, ``replications``
    and ``seed`` replace the file's. A file without ``sweep:`` works when
    ``grid`` is given. Errors are ``ScenarioError`` lines naming the file, the
    line and the field; a bad grid point is named by its values. ``no_limits``
    lifts the judgement bounds of ``sim.limits`` (grid points, expected events, ...).
    """
    path = Path(path)
    source = str(path)
    limits = limits_for(no_limits)
    try:
        text = read_text(path, yaml_input.MAX_YAML_BYTES)
    except ReadError as exc:
        raise ScenarioError(source, [f" cannot read: {exc}; allowed: a scenario YAML file"]
                            ) from None
    root = compose_yaml(text, source)
    base_text = _split_sweep_block(root, text, source)
    # Validates the base scenario on its own.
    base = parse_scenario(base_text, source=source, base_dir=path.parent,
                          no_limits=no_limits).with_overrides(seed=seed)
    data = yaml_input.construct(root)
    spec_data = data.pop(SWEEP_KEY, None)
    if spec_data is None and not grid:
        raise ScenarioError(source, [
            (f" (top level): no grid: the file has no '{SWEEP_KEY}:' block (or it is empty) and "
            f"no --grid was given; allowed: a '{SWEEP_KEY}:' block with a grid (see "
            "docs/sweeps.md) or --grid PATH=VALUES")])
    if grid:
        spec_data = {} if spec_data is None else spec_data
        file_grid = spec_data.get("grid") if isinstance(spec_data, dict) else None
        if isinstance(spec_data, dict) and isinstance(file_grid, (dict, type(None))):
            spec_data = {**spec_data, "grid": {**(file_grid or {}), **grid}}
    spec = _validate_spec(spec_data, source, root, limits)
    _check_paths(spec, data, source, root)
    labels = (tuple(policies) if policies else None) or spec.policies
    _check_label_names(labels or (), source, root)
    # Counted before any point is built: each is a whole scenario to validate.
    size = math.prod(len(values) for values in spec.grid.values())
    if size > limits.grid_points:
        raise ScenarioError(source, [_problem(root, (SWEEP_KEY, "grid"), over_limit(
            size, limits.grid_points, "grid points", "fewer values per path"))])
    points = []
    for index, values in enumerate(itertools.product(*spec.grid.values())):
        overrides = tuple(zip(spec.grid, values))
        point_data = _fresh_copy(data)
        for dotted, value in overrides:
            _set_path(point_data, dotted, _fresh_copy(value))
        where = f"{source} [grid point {_title(overrides)}]"
        scenario = scenario_from_dict(point_data, source=where, base_dir=path.parent,
                                      _yaml_root=root, no_limits=no_limits
                                      ).with_overrides(seed=seed)
        _check_labels(_expand(labels or (scenario.routing.policy,), scenario), scenario, where)
        points.append(GridPoint(index, overrides, scenario, _digest(_normalized(scenario))))
    count = replications if replications is not None else (
        spec.replications or base.run.replications)
    events = sum(point.scenario.expected_events() for point in points) * count
    if events > limits.events:
        raise ScenarioError(source, [_problem(root, (SWEEP_KEY,), over_limit(
            events, limits.events, "expected events",
            "fewer grid points, lower rates, a shorter run.duration or fewer replications",
            f" (arrivals, outbound tasks and interval boundaries of {len(points)} grid points "
            f"x {count} replications)"))])
    return Sweep(source, base, tuple(spec.grid), tuple(points), labels, count)


def _split_sweep_block(root: Any, text: str, source: str) -> str:
    """The text with the ``sweep`` block (of the YAML tree ``root``) blanked out.

    Blanking (not deleting) the block's lines keeps every other line where it
    was, so the scenario's own validation reports the right line numbers.
    """
    if not isinstance(root, yaml.MappingNode):
        return text
    entries = [(k, v) for k, v in root.value if k.value == SWEEP_KEY]
    if not entries:
        return text
    if len(entries) > 1:
        raise ScenarioError(source, [
            (f"{entries[1][0].start_mark.line + 1}: {SWEEP_KEY}: key given twice (first on line "
            f"{entries[0][0].start_mark.line + 1}); allowed: one '{SWEEP_KEY}:' block")])
    key, value = entries[0]
    first = key.start_mark.line
    last = value.end_mark.line if value.end_mark.column == 0 else value.end_mark.line + 1
    others = [k for k, _ in root.value if k is not key and first <= k.start_mark.line < last]
    if others or key.start_mark.column != 0:
        raise ScenarioError(source, [
            (f"{first + 1}: {SWEEP_KEY}: shares lines with other keys; allowed: '{SWEEP_KEY}:' "
            "as its own block at the top level (see docs/sweeps.md)")])
    lines = text.splitlines(keepends=True)
    return "".join("\n" if first <= i < last else line for i, line in enumerate(lines))


def _validate_spec(raw: Any, source: str, root: Any, limits: Limits) -> SweepSpec:
    try:
        spec = SweepSpec.model_validate(raw, context={"limits": limits})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            context_error = (error.get("ctx") or {}).get("error")
            path: tuple[str | int, ...] = (SWEEP_KEY, *error["loc"])
            if isinstance(context_error, FieldError):
                path += context_error.path
            path = tuple(p for p in path if not str(p).startswith("function-"))
            problems.append(_problem(root, path, explain(error)))
        raise ScenarioError(source, problems) from None
    if not spec.grid:
        raise ScenarioError(source, [_problem(root, (SWEEP_KEY, "grid"), (
            "the grid is empty; allowed: at least one dotted path with values, e.g. "
            "agents.team.count: [90, 100, 110]"))])
    return spec


def _check_paths(spec: SweepSpec, data: dict[str, Any], source: str, root: Any) -> None:
    problems = []
    paths = list(spec.grid)
    for dotted in paths:
        where = (SWEEP_KEY, "grid", dotted)
        if dotted in _SEED_PATHS:
            problems.append(_problem(root, where, (
                "seeds and replications are not grid parameters (every grid point uses the "
                "same random numbers); allowed: sweep.replications, or --seed / --replications")))
            continue
        clash = next((p for p in paths if p != dotted and p.startswith(dotted + ".")), None)
        if clash is not None:
            problems.append(_problem(root, where, (
                f"overlaps {clash!r}, which sets a part of it; allowed: paths that do not "
                "contain one another")))
            continue
        message = _path_problem(data, dotted)
        if message:
            problems.append(_problem(root, where, message))
    if problems:
        raise ScenarioError(source, problems)


def _path_problem(data: Any, dotted: str) -> str | None:
    """What is wrong with ``dotted`` as a path into ``data`` (None if it can be set).

    Every part but the last must exist, so that a misspelt name is reported
    here instead of creating a new mapping; the last may be a new key.
    """
    parts = dotted.split(".")
    if not all(parts):
        return ("is not a dotted path; allowed: keys joined by '.', e.g. "
                "contact_types.calls.patience.mean")
    node = data
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the top level"
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                if last:
                    return None
                known = ", ".join(str(k) for k in node) or "(none)"
                return f"no key {part!r} under {here}; known: {known}"
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return (f"{part!r} is not an item of the list at {here}; "
                        f"allowed: an index 0..{len(node) - 1}")
            node = node[int(part)]
        else:
            return f"{here} is a single value ({show_value(node)}), not a mapping or list"
    return None


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value


def _fresh_copy(node: Any) -> Any:
    """Deep copy that does not keep YAML aliases shared (``copy.deepcopy`` would):
    overriding one use of an ``&anchor`` must not change the others."""
    if isinstance(node, dict):
        return {key: _fresh_copy(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_fresh_copy(item) for item in node]
    return node


def _expand(names: Sequence[str], scenario: Scenario) -> tuple[str, ...]:
    """Labels as ``ccsim run`` makes them: a bare policy of a scenario that lists several
    verification strategies runs under each, as ``policy/strategy``."""
    strategies = scenario.identity.verification.strategies if scenario.identity else ()
    return tuple(label for name in names for label in (
        [f"{name}/{s}" for s in strategies] if "/" not in name and len(strategies) > 1
        else [name]))


def split_label(label: str) -> tuple[str, str | None]:
    """A result label's policy and verification strategy:
    ``"fcfs/kba_all"`` -> ``("fcfs", "kba_all")``; ``"fcfs"`` -> ``("fcfs", None)``."""
    policy, _, strategy = label.partition("/")
    return policy, strategy or None


def _check_label_names(labels: Sequence[str], source: str, root: Any) -> None:
    for index, label in enumerate(labels):
        policy, strategy = split_label(label)
        try:
            policy_spec(policy)
            if strategy is not None:
                strategy_spec(strategy)
        except UnknownPolicyError as exc:
            raise ScenarioError(source, [_problem(root, (SWEEP_KEY, "policies", index),
                                                  f"{label!r}: {exc}")]) from None


def _check_labels(labels: Sequence[str], scenario: Scenario, where: str) -> None:
    """Each label's policy parameters (and strategy) are valid for this grid point."""
    for label in labels:
        policy, strategy = split_label(label)
        try:
            policy_spec(policy).parse_params(scenario.routing.params_for(policy), scenario,
                                             where=("routing", policy))
        except FieldError as exc:
            field = ".".join(str(p) for p in exc.path)
            raise ScenarioError(where, [f" {field}: {exc.message}"]) from None
        known = scenario.identity.verification.strategies if scenario.identity else ()
        if strategy is not None and strategy not in known:
            raise ScenarioError(where, [
                (f" {SWEEP_KEY}.policies: {label!r} names verification strategy {strategy!r}, "
                f"which the scenario does not list; allowed: one of identity.verification."
                f"strategy ({', '.join(known) or 'no identity block'})")])


def _problem(root: Any, path: tuple[str | int, ...], message: str) -> str:
    line = _line_of(root, path)
    field = ".".join(str(p) for p in path)
    return f"{line}: {field}: {message}" if line else f" {field}: {message}"


def _title(overrides: Sequence[tuple[str, Any]]) -> str:
    return ", ".join(f"{path}={_show(value)}" for path, value in overrides)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _normalized(scenario: Scenario) -> dict[str, Any]:
    """What determines a run's result: the validated scenario in canonical units,
    without its name, description and replication count."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    for name, group in scenario.agents.items():
        if group.members:  # named agents (a roster file): each one's shift and profile
            data["agents"][name]["members"] = [
                {"name": agent.name, "start": agent.start, "end": agent.end,
                 "profile": agent.profile.model_dump(mode="json", exclude_defaults=True)}
                for agent in group.members]
    data.pop("name", None)
    data.pop("description", None)
    data.get("run", {}).pop("replications", None)
    return data


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ------------------------------------------------------------------ results directory
@dataclass(frozen=True)
class SweepOutcome:
    """What one ``run_sweep`` call did."""

    directory: Path
    total: int
    reused: int
    """Runs found already finished in the directory."""
    executed: int
    """Runs computed and written by this call."""

    @property
    def remaining(self) -> int:
        """Runs still missing (non-zero only after a ``max_runs`` stop)."""
        return self.total - self.reused - self.executed


def open_results(sweep: Sweep, directory: str | Path) -> Path:
    """Create or check the results directory of ``sweep``; returns its runs folder.

    Raises ``SweepError`` when the directory holds results of a different base
    scenario or is not a sweep directory at all.
    """
    directory = Path(directory)
    manifest = directory / MANIFEST
    base = _normalized(sweep.base)
    document = {"format": _FORMAT, "scenario": sweep.base.name, "source": sweep.source,
                "base_hash": _digest(base), "base": base}
    if manifest.exists():
        try:
            stored = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SweepError(f"{manifest}: unreadable manifest ({exc}); allowed: a results "
                             "directory written by ccsim sweep, or a new directory") from None
        if stored.get("base_hash") != document["base_hash"]:
            differences = _differences(stored.get("base"), base)
            raise SweepError(
                f"{directory}: holds runs of a different scenario ({stored.get('scenario')!r} "
                f"from {stored.get('source')}); this sweep's base scenario differs in "
                f"{differences}; refusing to mix their results; allowed: another --results "
                "directory, or delete this one to start over")
    elif directory.exists() and any(directory.iterdir()):
        raise SweepError(f"{directory}: not empty and has no {MANIFEST}, so it is not a sweep "
                         "results directory; allowed: a new or empty directory")
    else:
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(manifest, json.dumps(document, indent=2, sort_keys=True))
    runs = directory / RUNS
    runs.mkdir(exist_ok=True)
    return runs


def _differences(old: Any, new: Any) -> str:
    """``run.seed (1 -> 2), agents.team.count (100 -> 90)``: up to five leaf differences."""
    found: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in dict.fromkeys([*a, *b]):
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
        elif a != b:
            found.append(f"{path or '(everything)'} ({_show(a)} -> {_show(b)})")

    walk(old, new, "")
    return ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")


def _save(runs: Path, unit: RunUnit, result: ReplicationResult) -> None:
    document = {"point": dict(unit.point.overrides), "label": unit.label,
                "replication": unit.replication, "result": dataclasses.asdict(result)}
    # NaN is kept as NaN (Python's JSON reads it back) so a loaded run equals the computed one.
    write_atomic(runs / unit.file_name, json.dumps(document))


def _load(runs: Path, unit: RunUnit) -> ReplicationResult:
    path = runs / unit.file_name
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        result = ReplicationResult(**document["result"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SweepError(f"{path}: unreadable run result ({exc}); allowed: delete the file "
                         "and rerun the sweep to compute it again") from None
    return result


# ------------------------------------------------------------------------- executors
def _simulate(scenario: Scenario, label: str, replication: int) -> ReplicationResult:
    """One run; module-level so that process pools and Dask workers can pickle it."""
    policy, strategy = split_label(label)
    return Simulation(scenario, policy, replication, verification=strategy).run()


def _execute(
    units: Sequence[RunUnit], executor: str, jobs: int, scheduler: str | None, timeout: float,
) -> Iterator[tuple[RunUnit, ReplicationResult]]:
    """Yield each unit with its result as soon as it finishes (in any order)."""
    if executor == "dask" or scheduler is not None:
        yield from _execute_dask(units, jobs, scheduler, timeout)
    elif jobs == 1:
        for unit in units:
            yield unit, _simulate(unit.point.scenario, unit.label, unit.replication)
    else:
        with worker_pool(min(jobs, len(units))) as pool:
            futures = {pool.submit(_simulate, u.point.scenario, u.label, u.replication): u
                       for u in units}
            for future in as_completed(futures):
                yield futures[future], future.result()


def _execute_dask(
    units: Sequence[RunUnit], jobs: int, scheduler: str | None, timeout: float,
) -> Iterator[tuple[RunUnit, ReplicationResult]]:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        raise SweepError("the Dask executor needs the optional extra; allowed: "
                         "pip install 'ccsim[dask]', or the default local executor") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - any failure here means "no scheduler"
            raise SweepError(
                f"--scheduler {scheduler}: no Dask scheduler answered within {timeout:g} s "
                f"({type(exc).__name__}: {exc}); allowed: the address of a running "
                "scheduler, e.g. tcp://host:8786, or --executor dask for a local cluster"
            ) from None
    try:
        by_key = {}
        futures = []
        for unit in units:
            # The key names what is computed, so identical runs submitted by two
            # sweeps to one scheduler are computed once.
            key = f"ccsim-run-{unit.file_name}"
            by_key[key] = unit
            futures.append(client.submit(_simulate, unit.point.scenario, unit.label,
                                         unit.replication, key=key, pure=False))
        for future, result in dask_completed(futures, with_results=True):
            yield by_key[future.key], result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(
    sweep: Sweep,
    directory: str | Path,
    *,
    executor: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    connect_timeout: float = 10.0,
    max_runs: int | None = None,
    progress: bool | None = None,
) -> SweepOutcome:
    """Compute every run of ``sweep`` not yet in ``directory``, writing each as it finishes.

    ``executor`` is ``"local"`` (``jobs`` processes, default and at most all cores;
    ``jobs=1`` runs in this process) or ``"dask"`` (a ``LocalCluster`` of
    ``jobs`` single-threaded worker processes, or the scheduler at
    ``scheduler``, e.g. ``tcp://host:8786``, reached within
    ``connect_timeout`` seconds). ``max_runs`` stops after that many new runs
    (the rest are computed by a later call). ``progress`` shows a bar with ETA
    on stderr (default: when stderr is a terminal).
    """
    if executor not in EXECUTORS:
        raise SweepError(f"executor {executor!r} is unknown; allowed: {', '.join(EXECUTORS)}")
    jobs = usable_cores() if jobs is None else jobs
    if jobs < 1:
        raise SweepError(f"jobs={jobs}; allowed: 1 or more")
    if scheduler is None:  # workers on this machine
        jobs = cap_jobs(jobs)
    if max_runs is not None and max_runs < 0:
        raise SweepError(f"max_runs={max_runs}; allowed: 0 or more")
    runs = open_results(sweep, directory)
    units = sweep.units()
    todo = [u for u in units if not (runs / u.file_name).exists()]
    reused = len(units) - len(todo)
    if max_runs is not None:
        todo = todo[:max_runs]
    executed = 0
    if todo:
        from tqdm import tqdm

        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=len(todo), unit="run", file=sys.stderr, disable=not show,
                  desc="sweep") as bar:
            for unit, result in _execute(todo, executor, jobs, scheduler, connect_timeout):
                _save(runs, unit, result)
                executed += 1
                bar.update(1)
    return SweepOutcome(Path(directory), len(units), reused, executed)


# --------------------------------------------------------------------------- summary
@dataclass(frozen=True)
class PointResults:
    """All runs of one grid point, as ``sim.runner.RunResults`` (one entry per label)."""

    point: GridPoint
    results: RunResults


def load_results(sweep: Sweep, directory: str | Path) -> list[PointResults]:
    """Read the finished runs of ``sweep``; raises ``SweepError`` if any is missing."""
    runs = Path(directory) / RUNS
    units = sweep.units()
    missing = [u for u in units if not (runs / u.file_name).exists()]
    if missing:
        raise SweepError(f"{directory}: {len(missing)} of {len(units)} runs are not finished "
                         f"(first: {missing[0].point.title}, {missing[0].label}, replication "
                         f"{missing[0].replication}); allowed: rerun the sweep to complete it")
    out = []
    for point in sweep.points:
        by_label = {label: [_load(runs, RunUnit(point, label, r))
                            for r in range(sweep.replications)]
                    for label in sweep.labels_of(point)}
        out.append(PointResults(point, RunResults(point.scenario, point.scenario.run.seed,
                                                  sweep.replications, by_label)))
    return out


def summary_json(sweep: Sweep, points: Sequence[PointResults]) -> dict[str, Any]:
    """``{"scenario", "seed", "replications", "grid", "points": [{"point", "results", ...}]}``;
    each point carries the ``ccsim run --json`` keys ``results`` and ``by_*``."""
    entries = []
    for item in points:
        document = item.results.to_json()
        entries.append({"point": dict(item.point.overrides),
                        **{key: document[key] for key in ("results", *SCOPES[1:])
                           if key in document}})
    return {"scenario": sweep.base.name, "seed": sweep.base.run.seed,
            "replications": sweep.replications, "grid": list(sweep.paths), "points": entries}


def write_summary(sweep: Sweep, points: Sequence[PointResults], directory: str | Path) -> None:
    """Write ``summary.json`` and ``summary.csv`` (one row per grid point and label,
    ``METRIC``, ``METRIC_low``, ``METRIC_high`` columns) into ``directory``."""
    directory = Path(directory)
    write_atomic(directory / "summary.json",
                  json.dumps(summary_json(sweep, points), indent=2, allow_nan=False))
    rows = _summary_rows(points)
    metrics = list(dict.fromkeys(m for _, _, figures in rows for m in figures))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*sweep.paths, "policy",
                     *(f"{m}{s}" for m in metrics for s in ("", "_low", "_high"))])
    for item, label, figures in rows:
        writer.writerow([*(_show(v) for _, v in item.point.overrides), label,
                         *(_csv_number(getattr(figures[m], part)) if m in figures else ""
                           for m in metrics for part in ("mean", "low", "high"))])
    write_atomic(directory / "summary.csv", buffer.getvalue())


def _csv_number(value: float) -> str:
    return "" if math.isnan(value) else repr(value)


def _summary_rows(
    points: Sequence[PointResults],
) -> list[tuple[PointResults, str, dict[str, Estimate]]]:
    return [(item, label, figures) for item in points
            for label, figures in item.results.summary().items()]


def format_summary(sweep: Sweep, points: Sequence[PointResults],
                   metrics: Sequence[str] = DEFAULT_METRICS) -> str:
    """Text table: one row per grid point and label, ``mean ± 95% CI half-width`` per metric."""
    from reports.table import TABLE_ROWS, _cell

    formats = {metric: fmt for metric, _, fmt in TABLE_ROWS}
    names = {metric: label for metric, label, _ in TABLE_ROWS}
    header = [*sweep.paths, "policy", *(names.get(m, m) for m in metrics)]
    body = [[*(_show(v) for _, v in item.point.overrides), label,
             *(_cell(figures.get(m), formats.get(m, "{:.4g}")) for m in metrics)]
            for item, label, figures in _summary_rows(points)]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    fixed = len(sweep.paths) + 1  # grid values and label left-aligned, figures right-aligned
    lines = ["  ".join(c.ljust(w) if i < fixed else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths))) for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ------------------------------------------------------------------------------- CLI
def configure(sweep: argparse.ArgumentParser) -> None:
    """Give ``ccsim sweep``'s parser (help line in ``sim.cli.LAZY_COMMANDS``) its arguments
    and handler."""
    sweep.add_argument("scenario", help="scenario YAML file with a 'sweep:' block")
    sweep.add_argument("--grid", action="append", default=[], metavar="PATH=VALUES",
                       help="add a grid path, e.g. 'agents.team.count=[90, 95, 100]' or "
                       "'agents.team.count={from: 90, to: 110, step: 2}' (repeatable)")
    sweep.add_argument("--policy", action="append", metavar="NAME",
                       help="policy label run at every grid point (repeatable; "
                       "replaces sweep.policies)")
    sweep.add_argument("--replications", type=int, help="replications per grid point and label")
    sweep.add_argument("--seed", type=int, help="root seed (overrides run.seed)")
    sweep.add_argument("--results", metavar="DIR",
                       help="results directory (default: SCENARIO-NAME.sweep in the current "
                       "directory, the name reduced to letters, digits, '.', '_' and '-'); "
                       "rerunning with the same directory resumes")
    sweep.add_argument("--executor", choices=EXECUTORS, default="local",
                       help="local processes (default) or a Dask LocalCluster")
    sweep.add_argument("--jobs", type=int,
                       help="worker processes (default and at most: all cores)")
    sweep.add_argument("--scheduler", metavar="ADDR",
                       help="Dask scheduler address, e.g. tcp://host:8786 (implies dask)")
    sweep.add_argument("--connect-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="how long to wait for --scheduler to answer (default 10)")
    sweep.add_argument("--metric", action="append", metavar="NAME",
                       help=f"metric column of the printed table (repeatable; default: "
                       f"{', '.join(DEFAULT_METRICS)})")
    add_limit_options(sweep)
    sweep.add_argument("--debug", action="store_true", help="show tracebacks")
    sweep.set_defaults(handler=_cmd_sweep)


def _cmd_sweep(args: argparse.Namespace) -> int:
    grid = {}
    for entry in args.grid:
        dotted, sep, values = entry.partition("=")
        if not sep or not dotted.strip():
            raise UsageError(f"--grid {entry!r}: allowed: PATH=VALUES, e.g. "
                             "'agents.team.count=[90, 95, 100]'")
        try:
            grid[dotted.strip()] = yaml_input.load(values)
        except (yaml.YAMLError, yaml_input.YamlLimitError) as exc:
            problem = exc.message if isinstance(exc, yaml_input.YamlLimitError) else (
                getattr(exc, "problem", None) or "syntax error")
            raise UsageError(f"--grid {entry!r}: the values are not YAML ({problem})") from None
    check_count_options(args)
    if args.connect_timeout <= 0:
        raise UsageError("--connect-timeout must be > 0 seconds")
    metrics = check_metric_names(args.metric) if args.metric else list(DEFAULT_METRICS)
    if args.results:
        check_output_folder(args.results, "--results")
    sweep = load_sweep(args.scenario, grid=grid or None, policies=args.policy,
                       replications=args.replications, seed=args.seed,
                       no_limits=args.no_limits)
    # A name from the file must not lead out of the working directory ('../x', '/etc').
    directory = Path(args.results or f"{safe_file_name(sweep.base.name, 'sweep')}.sweep")
    check_output_folder(directory, "--results")
    units = len(sweep.units())
    print(f"{sweep.base.name}: {len(sweep.points)} grid points x "
          f"{len(sweep.labels_of(sweep.points[0]))} labels x {sweep.replications} "
          f"replications = {units} runs, seed {sweep.base.run.seed}; results in {directory}",
          file=sys.stderr)
    jobs = args.jobs if args.jobs is None or args.scheduler else checked_jobs(args.jobs)
    outcome = run_sweep(sweep, directory, executor=args.executor, jobs=jobs,
                        scheduler=args.scheduler, connect_timeout=args.connect_timeout)
    print(f"{outcome.reused} runs were already done, {outcome.executed} computed now",
          file=sys.stderr)
    points = load_results(sweep, directory)
    # A known metric may still be absent from these results (fraud_caught without an
    # identity block): that is only seen now.
    known = dict.fromkeys(m for item in points for reps in item.results.runs.values()
                          for rep in reps for m in rep.overall)
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise UsageError(f"--metric {unknown[0]!r} is not a figure of this scenario's runs; "
                         f"allowed: {', '.join(known)} (the runs are saved: rerun with one of "
                         "these to print at once)")
    write_summary(sweep, points, directory)
    print(format_summary(sweep, points, metrics))
    print(f"\nSummary: {directory / 'summary.csv'}, {directory / 'summary.json'}")
    return 0
