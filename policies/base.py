"""The routing-policy protocol and the registry that maps YAML names to policies.

A policy only decides. The engine calls it at two moments:

* ``select_agent(contact, state)`` when a contact arrives: return an idle agent
  that should take it now, or ``None`` to queue it;
* ``select_contact(agent, state)`` when an agent becomes free: return a waiting
  contact of one of the types in ``agent.open``, or ``None`` to leave it idle.
  ``agent.open`` is the agent's skills, or fewer: those that still fit beside the
  contacts it holds (channel capacity), less deferrable work while real-time
  contacts wait for it.

It sees a read-only ``RoutingState`` (see ``sim.state``) and never touches
SimPy, so it can be unit-tested and benchmarked alone. Adding a policy means
adding one module in this package that decorates its class with
``@register_policy("name")``; modules here are discovered automatically, and
other packages can register through the ``ccsim.policies`` entry-point group.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import types
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import (
    TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, TypeVar, Union, get_args, get_origin,
)

from pydantic import BaseModel, ConfigDict, ValidationError

from sim.errors import FieldError, explain

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState


class PolicyParams(BaseModel):
    """Base of every policy's parameter model: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutingPolicy(Protocol):
    """What the engine needs from a policy."""

    name: ClassVar[str]

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        """Pick an idle agent for an arriving contact, or ``None`` to queue it."""
        ...

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        """Pick a waiting contact for a freed agent, or ``None`` to leave it idle."""
        ...


class LearningPolicy(RoutingPolicy, Protocol):
    """Optional hooks a policy may add; the engine calls them only when present.

    * ``recheck_after(contact, state) -> float | None``: called when a contact
      starts to wait; the engine offers it again through ``select_agent`` after
      that many seconds (and asks again each time), e.g. when the eligible pool
      widens with waiting. ``None``: no recheck.
    * ``observe(contact, agent, handle_time, state)``: called when an agent
      finishes a contact, with ``contact.resolved`` and ``contact.matched``
      known. The only way a policy learns outcomes: it never sees those of
      contacts not yet finished.
    """

    def recheck_after(self, contact: ContactView, state: RoutingState) -> float | None:
        """Seconds until ``select_agent`` is asked again for this waiting contact."""
        ...

    def observe(self, contact: ContactView, agent: AgentView, handle_time: float,
                state: RoutingState) -> None:
        """Learn from a finished contact."""
        ...


class UnknownPolicyError(ValueError):
    """A policy name that nobody registered."""


class PolicyConfigError(FieldError):
    """Invalid policy parameters, tied to the field path where they were given."""


PolicyFactory = Callable[[Any, "Scenario"], Any]


def types_lacking(scenario: Scenario, group: str) -> list[str]:
    """Contact types that ``group`` does not have among its skills."""
    return [name for name in scenario.contact_types if name not in scenario.agents[group].skills]


def skills_only_in(scenario: Scenario, group: str) -> list[str]:
    """Contact types that ``group`` alone has among its skills (no other group serves them)."""
    others = {skill for name, spec in scenario.agents.items() if name != group
              for skill in spec.skills}
    return [name for name in scenario.contact_types
            if name in scenario.agents[group].skills and name not in others]


@dataclass(frozen=True)
class PolicySpec:
    """A registered plug-in (routing policy or verification strategy): its name,
    parameter model and constructor."""

    name: str
    params_model: type[PolicyParams]
    factory: PolicyFactory
    summary: str

    def parse_params(
        self, raw: dict[str, Any], scenario: Scenario, where: tuple[str | int, ...] = (),
    ) -> PolicyParams:
        """Validate raw YAML parameters; errors name the field path under ``where``."""
        try:
            params = self.params_model.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            loc = tuple(p for p in error["loc"] if not str(p).startswith(("function-", "[key]")))
            context_error = (error.get("ctx") or {}).get("error")
            if isinstance(context_error, FieldError):
                loc, message = loc + tuple(context_error.path), context_error.message
            elif error["type"] == "extra_forbidden":
                owner = _model_at(self.params_model, loc[:-1])
                allowed = ", ".join(owner.model_fields) if owner is not None else ""
                message = (f"unknown parameter {loc[-1]!r} of policy {self.name!r}; "
                           f"allowed here: {allowed or '(none)'}")
            elif error["type"] == "missing" and (
                    owner := _model_at(self.params_model, loc[:-1])) is not None:
                required = [n for n, f in owner.model_fields.items() if f.is_required()]
                message = (f"missing required key {loc[-1]!r} of {self.name!r}; "
                           f"required here: {', '.join(required)}")
            else:
                found, value = _raw_value(raw, loc)
                message = explain(error, value) if found else explain(error)
            raise PolicyConfigError(where + loc, message) from None
        check = getattr(params, "check_against", None)
        if check is not None:
            try:
                check(scenario)
            except PolicyConfigError as exc:
                raise PolicyConfigError(where + exc.path, exc.message) from None
        return params

    def build(self, raw: dict[str, Any], scenario: Scenario) -> Any:
        """A fresh plug-in instance for one run of ``scenario``, from its raw parameters."""
        return self.factory(self.parse_params(raw, scenario), scenario)


def _raw_value(raw: Any, loc: tuple[str | int, ...]) -> tuple[bool, Any]:
    """The value a user wrote at ``loc`` (pydantic may report it already converted)."""
    node = raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False, None
    return True, node


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The parameter model that holds the value at ``loc`` (through dicts, lists, optionals)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) in (list, tuple):
            tp = get_args(tp)[0]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` around a type."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


P = TypeVar("P")


class Registry:
    """Names to plug-in specs for one kind of plug-in, discovered lazily.

    Every module of ``package`` is imported once on first use, and every entry
    point of ``entry_group``, so a plug-in registers itself by being there.
    ``decorator`` is the name the package's modules call ``register`` by: the
    listing of ``summaries`` finds the plug-ins by it without importing them.
    """

    def __init__(self, kind: str, package: str, entry_group: str, decorator: str) -> None:
        self.kind = kind
        self._package = package
        self._entry_group = entry_group
        self._decorator = decorator
        self._specs: dict[str, PolicySpec] = {}
        self._discovered = False

    def register(self, name: str, params: type[PolicyParams] = PolicyParams) -> Callable[[P], P]:
        """Class decorator: make a plug-in available under ``name``.

        The class is constructed as ``cls(params, scenario)`` with validated ``params``.
        """

        def decorate(cls: P) -> P:
            if name in self._specs and self._specs[name].factory is not cls:
                raise ValueError(f"{self.kind} name {name!r} is already registered")
            summary = _summary(getattr(cls, "__doc__", None))
            self._specs[name] = PolicySpec(name, params, cls, summary)  # type: ignore[arg-type]
            setattr(cls, "name", name)
            return cls

        return decorate

    def specs(self) -> dict[str, PolicySpec]:
        """Every known plug-in by name."""
        if not self._discovered:
            self._discovered = True
            package = importlib.import_module(self._package)
            for module in pkgutil.iter_modules(package.__path__):
                if module.name != "base":
                    importlib.import_module(f"{self._package}.{module.name}")
            for entry in entry_points(group=self._entry_group):
                entry.load()
        return dict(self._specs)

    def summaries(self) -> dict[str, str]:
        """Every known plug-in's summary (the first paragraph of its docstring).

        The package's modules are read, not imported: importing them builds every
        parameter model and pulls in numpy and the scenario model, several times the
        cost of ``ccsim policies`` itself. So a plug-in there must be a module-level
        class decorated with ``@decorator("name", ...)``, the name a literal.
        Entry-point plug-ins are imported (their source is not ours to read).
        """
        if self._discovered:
            return {name: spec.summary for name, spec in self._specs.items()}
        package = importlib.import_module(self._package)
        found: dict[str, str] = {}
        for module in pkgutil.iter_modules(package.__path__):
            if module.name != "base":
                spec = importlib.util.find_spec(f"{self._package}.{module.name}")
                assert spec is not None and spec.origin is not None
                found.update(_declared(Path(spec.origin).read_text(), self._decorator))
        for entry in entry_points(group=self._entry_group):
            entry.load()
        # Plug-ins registered so far: entry points, and any registered at run time.
        found.update({name: spec.summary for name, spec in self._specs.items()})
        return found

    def spec(self, name: str, where: tuple[str | int, ...] = ()) -> PolicySpec:
        """The plug-in ``name``; unknown names raise an error listing the known ones."""
        known = self.specs()
        if name not in known:
            message = f"unknown {self.kind} {name!r}; known: {', '.join(sorted(known))}"
            raise PolicyConfigError(where, message) if where else UnknownPolicyError(message)
        return known[name]


def _summary(doc: str | None) -> str:
    """The first paragraph of a plug-in class's docstring on one line, or ``""`` (a summary
    may run over several lines; the first alone would stop mid-sentence)."""
    paragraph = inspect.cleandoc(doc or "").split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def _declared(source: str, decorator: str) -> dict[str, str]:
    """Name and summary of each module-level class of ``source`` decorated with
    ``@decorator("name", ...)``."""
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for call in node.decorator_list:
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id == decorator and call.args
                    and isinstance(call.args[0], ast.Constant)
                    and isinstance(call.args[0].value, str)):
                found[call.args[0].value] = _summary(ast.get_docstring(node))
    return found


ROUTING_POLICIES = Registry("routing policy", "policies", "ccsim.policies", "register_policy")
register_policy = ROUTING_POLICIES.register
"""Class decorator: ``@register_policy("name")`` makes a routing policy available by name."""


def registered_policies() -> dict[str, PolicySpec]:
    """Every known routing policy by name."""
    return ROUTING_POLICIES.specs()


def policy_spec(name: str, where: tuple[str | int, ...] = ()) -> PolicySpec:
    """The registered policy ``name``; unknown names raise an error listing the known ones."""
    return ROUTING_POLICIES.spec(name, where)


def make_policy(name: str, scenario: Scenario) -> RoutingPolicy:
    """Build policy ``name`` with the parameters ``scenario`` gives for it."""
    return policy_spec(name).build(scenario.routing.params_for(name), scenario)  # type: ignore[no-any-return]
