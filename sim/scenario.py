"""Scenario files: YAML in, typed frozen objects out, with errors a person can act on.

A scenario is validated in full before anything runs. Every problem is
reported as ``FILE:LINE: field.path: what is wrong (what is allowed)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from .distributions import Busyness, Distribution, _Dist
from .errors import FieldError, ScenarioError
from .fields import Duration, Rate, StrictModel

DAY = 86400.0


class RunSettings(StrictModel):
    """How long to simulate, how often, and from which seed."""

    duration: Duration | None = Field(
        default=None, gt=0, description="Simulated time per replication, warm-up included."
    )
    arrivals: int | None = Field(
        default=None, ge=1,
        description="Stop after this many arrivals (instead of duration) and let the system empty.",
    )
    warmup: Duration = Field(default=0.0, ge=0, description="Initial period left out of metrics.")
    replications: int = Field(default=1, ge=1, description="Independent replications.")
    seed: int = Field(default=0, ge=0, description="Root seed of every random stream.")
    interval: Duration = Field(
        default=1800.0, gt=0,
        description="Length of one interval of the day: the unit of rate and staffing "
        "profiles and of per-interval reports. Must divide 24h.",
    )

    @model_validator(mode="after")
    def _one_length(self) -> RunSettings:
        if (self.duration is None) == (self.arrivals is None):
            raise ValueError("give exactly one of duration (e.g. 8h) or arrivals (a count)")
        if self.duration is not None and self.warmup >= self.duration:
            raise ValueError("warmup must be shorter than duration")
        periods = DAY / self.interval
        if abs(periods - round(periods)) > 1e-9:
            raise ValueError("interval must divide 24h evenly, e.g. 15min, 30min or 1h")
        return self

    @property
    def intervals_per_day(self) -> int:
        """Number of intervals in a day."""
        return round(DAY / self.interval)


class Arrivals(StrictModel):
    """Poisson arrivals: a constant rate, or one rate per interval of the day."""

    rate: Rate | None = Field(default=None, gt=0, description="Constant arrival rate.")
    rates: tuple[Rate, ...] | None = Field(
        default=None, min_length=1,
        description="Piecewise-constant rate, one per interval of the day (run.interval).",
    )

    @model_validator(mode="after")
    def _one_form(self) -> Arrivals:
        if (self.rate is None) == (self.rates is None):
            raise ValueError("give exactly one of rate (e.g. 120/h) or rates (one per interval)")
        if self.rates is not None and (min(self.rates) < 0 or max(self.rates) <= 0):
            raise ValueError("rates must be >= 0 and not all zero")
        return self


class ContactType(StrictModel):
    """One kind of contact: its arrivals and the durations that matter for it."""

    arrivals: Arrivals
    handle_time: Distribution = Field(description="Talk and hold time with an agent.")
    patience: Distribution | None = Field(
        default=None, description="Time a caller waits before hanging up; absent: never abandons."
    )
    wrap_up: Distribution | None = Field(
        default=None, description="After-contact work that keeps the agent busy; absent: none."
    )

    @model_validator(mode="after")
    def _no_top_level_weight(self) -> ContactType:
        for name in ("handle_time", "patience", "wrap_up"):
            dist: _Dist | None = getattr(self, name)
            if dist is not None and dist.weight is not None:
                raise ValueError(f"{name}: weight is only allowed inside a mixture's components")
        return self


class Shift(StrictModel):
    """``count`` agents on duty from ``start`` to ``end`` (time of day; may wrap past midnight)."""

    start: Duration = Field(ge=0, lt=DAY)
    end: Duration = Field(ge=0, le=DAY)
    count: int = Field(ge=1)

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if self.start == self.end:
            raise ValueError("a shift needs start != end")
        return self


class AgentGroup(StrictModel):
    """A team of interchangeable agents with the same skills."""

    skills: tuple[str, ...] = Field(min_length=1, description="Contact types this group serves.")
    count: int | None = Field(default=None, ge=0, description="Agents on duty all day.")
    staffing: tuple[int, ...] | None = Field(
        default=None, min_length=1, description="Agents on duty per interval of the day."
    )
    shifts: tuple[Shift, ...] | None = Field(
        default=None, min_length=1, description="Shifts; agents on duty add up."
    )
    speed: float = Field(
        default=1.0, gt=0, description="Work rate: handle time is the contact's work / speed."
    )

    @model_validator(mode="after")
    def _one_staffing(self) -> AgentGroup:
        given = [n for n in ("count", "staffing", "shifts") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of count, staffing (per interval) or shifts")
        if self.staffing is not None and min(self.staffing) < 0:
            raise ValueError("staffing counts must be >= 0")
        return self

    def on_duty(self, interval: float, intervals_per_day: int) -> list[tuple[float, int]]:
        """Step function of agents on duty over one day as ``(time of day, count)`` changes."""
        if self.count is not None:
            return [(0.0, self.count)]
        if self.staffing is not None:
            return [(i * interval, n) for i, n in enumerate(self.staffing)]
        assert self.shifts is not None
        points = sorted({0.0, *(s.start for s in self.shifts), *(s.end % DAY for s in self.shifts)})
        steps = []
        for time in points:
            count = 0
            for shift in self.shifts:
                end = shift.end
                inside = shift.start <= time < end if shift.start < end else (
                    time >= shift.start or time < end % DAY)
                count += shift.count if inside else 0
            steps.append((time, count))
        return steps


class WaitingRoom(StrictModel):
    """Finite queue: an arrival that finds ``capacity`` contacts waiting is blocked."""

    capacity: int = Field(ge=0)


class ServiceLevel(StrictModel):
    """Thresholds used by the service-level metrics."""

    threshold: Duration = Field(default=20.0, ge=0, description="T in SL(T).")
    short_abandon: Duration = Field(
        default=5.0, ge=0, description="Abandons within this time are short abandons."
    )


class Routing(StrictModel):
    """Which routing policy runs, plus parameters for any registered policy.

    ``policy`` names the default policy; each other key is a registered policy
    name whose value holds that policy's parameters, so one scenario can carry
    settings for every policy it will be compared under.
    """

    model_config = {**StrictModel.model_config, "extra": "allow"}
    policy: str = Field(description="Name of a registered routing policy, e.g. fcfs or priority.")

    def params_for(self, name: str) -> dict[str, Any]:
        """Raw parameters given for policy ``name`` (empty when none)."""
        return dict((self.model_extra or {}).get(name) or {})


class Scenario(StrictModel):
    """A complete, validated scenario."""

    name: str = Field(min_length=1)
    description: str = ""
    run: RunSettings
    contact_types: dict[str, ContactType] = Field(min_length=1)
    agents: dict[str, AgentGroup] = Field(min_length=1)
    routing: Routing
    service_level: ServiceLevel = ServiceLevel()
    waiting_room: WaitingRoom | None = None
    busyness: Busyness | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        periods = self.run.intervals_per_day
        for type_name, ctype in self.contact_types.items():
            rates = ctype.arrivals.rates
            if rates is not None and len(rates) != periods:
                raise FieldError(
                    ("contact_types", type_name, "arrivals", "rates"),
                    f"needs {periods} rates, one per {self.run.interval:g}s interval "
                    f"(run.interval); got {len(rates)}",
                )
        known = sorted(self.contact_types)
        for group_name, group in self.agents.items():
            if group.staffing is not None and len(group.staffing) != periods:
                raise FieldError(
                    ("agents", group_name, "staffing"),
                    f"needs {periods} counts, one per interval (run.interval); "
                    f"got {len(group.staffing)}",
                )
            for index, skill in enumerate(group.skills):
                if skill not in self.contact_types:
                    raise FieldError(
                        ("agents", group_name, "skills", index),
                        f"unknown contact type {skill!r}; known: {', '.join(known)}",
                    )
        served = {skill for group in self.agents.values() for skill in group.skills}
        for type_name in self.contact_types:
            if type_name not in served:
                raise FieldError(
                    ("contact_types", type_name),
                    "no agent group has this skill; add it to some agents.GROUP.skills",
                )
        from policies import policy_spec  # late import: policies depend on sim

        policy_spec(self.routing.policy, where=("routing", "policy"))
        for extra in self.routing.model_extra or {}:
            spec = policy_spec(extra, where=("routing", extra))
            spec.parse_params(self.routing.params_for(extra), self, where=("routing", extra))
        return self

    def with_overrides(
        self, *, seed: int | None = None, replications: int | None = None,
    ) -> Scenario:
        """Copy with run settings replaced (for CLI flags)."""
        run = self.run.model_copy(update={
            k: v for k, v in (("seed", seed), ("replications", replications)) if v is not None
        })
        return self.model_copy(update={"run": run})


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; raise ``ScenarioError`` on any problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ScenarioError(str(path), [" file not found"]) from None
    except OSError as exc:
        raise ScenarioError(str(path), [f" cannot read: {exc.strerror}"]) from None
    return parse_scenario(text, source=str(path), base_dir=path.parent)


def parse_scenario(text: str, source: str = "<string>", base_dir: str | Path = ".") -> Scenario:
    """Validate scenario YAML text; errors carry ``source`` and line numbers."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(source, [f"{where} YAML syntax error: {problem}"]) from None
    if not isinstance(data, dict):
        raise ScenarioError(source, ["1: a scenario must be a mapping of keys (name, run, ...)"])
    return scenario_from_dict(data, source=source, base_dir=base_dir, _yaml_root=root)


def scenario_from_dict(
    data: dict[str, Any], source: str = "", base_dir: str | Path = ".", _yaml_root: Any = None,
) -> Scenario:
    """Validate a plain dict (as YAML would give) into a ``Scenario``."""
    try:
        return Scenario.model_validate(data, context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        raise ScenarioError(source, _describe(exc, _yaml_root)) from None


def _describe(exc: ValidationError, root: Any) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        path: tuple[str | int, ...] = tuple(error["loc"])
        message = error["msg"]
        context_error = (error.get("ctx") or {}).get("error")
        if isinstance(context_error, FieldError):
            path, message = path + context_error.path, context_error.message
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        elif error["type"] == "extra_forbidden":
            message = f"unknown key; allowed here: {_allowed_keys(exc, path)}"
        elif error["type"] == "union_tag_invalid":
            message = f"unknown distribution {error['input'].get('dist')!r}; allowed: " + ", ".join(
                _dist_names())
        elif error["type"] == "union_tag_not_found":
            message = "missing key 'dist' (the distribution's name: " + ", ".join(_dist_names()) + ")"
        path = _clean_path(path)
        line = _line_of(root, path)
        field = ".".join(str(p) for p in path) or "(top level)"
        problems.append(f"{line}: {field}: {message}" if line else f" {field}: {message}")
    return problems


def _dist_names() -> list[str]:
    from .distributions import DISTRIBUTION_NAMES

    return list(DISTRIBUTION_NAMES)


def _clean_path(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's internal union/tag segments so the path matches the YAML."""
    from .distributions import DISTRIBUTION_NAMES

    cleaned: list[str | int] = []
    for index, part in enumerate(path):
        previous = path[index - 1] if index else None
        is_tag = part in DISTRIBUTION_NAMES and previous in (
            "handle_time", "patience", "wrap_up") or (
            part in DISTRIBUTION_NAMES and isinstance(previous, int))
        if is_tag or (isinstance(part, str) and part.startswith(("function-", "tagged-union["))):
            continue
        cleaned.append(part)
    return tuple(cleaned)


def _allowed_keys(exc: ValidationError, path: tuple[str | int, ...]) -> str:
    schema = Scenario.model_json_schema(by_alias=True)
    node: Any = schema
    defs = schema.get("$defs", {})
    for part in _clean_path(path)[:-1]:
        node = _resolve(node, defs)
        if isinstance(part, int):
            node = node.get("items", {})
        elif "properties" in node and part in node["properties"]:
            node = node["properties"][part]
        elif "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
            node = node["additionalProperties"]
        else:
            return "see docs/scenarios.md"
    node = _resolve(node, defs)
    names = list(node.get("properties", {}))
    return ", ".join(names) if names else "see docs/scenarios.md"


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    while True:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            node = options[0] if len(options) == 1 else {"properties": {
                k: v for o in options for k, v in _resolve(o, defs).get("properties", {}).items()}}
        else:
            return node


def _line_of(root: Any, path: tuple[str | int, ...]) -> int | None:
    """Line (1-based) of the deepest YAML node along ``path`` that exists."""
    node, line = root, None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line
            node, line = match, (key.start_mark.line + 1 if key is not None else line)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def scenario_json_schema() -> str:
    """JSON Schema of scenario files, for editor completion and checking."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ccsim scenario"
    from policies import registered_policies

    routing = schema["$defs"]["Routing"]
    routing["properties"]["policy"]["enum"] = sorted(registered_policies())
    for name, spec in sorted(registered_policies().items()):
        routing["properties"][name] = spec.params_model.model_json_schema(by_alias=True)
    routing["additionalProperties"] = False
    return json.dumps(schema, indent=2)
