"""The routing-policy protocol and the registry that maps YAML names to policies.

A policy only decides. The engine calls it at two moments:

* ``select_agent(contact, state)`` when a contact arrives: return an idle agent
  that should take it now, or ``None`` to queue it;
* ``select_contact(agent, state)`` when an agent becomes free: return a waiting
  contact for it, or ``None`` to leave it idle.

It sees a read-only ``RoutingState`` (see ``sim.state``) and never touches
SimPy, so it can be unit-tested and benchmarked alone. Adding a policy means
adding one module in this package that decorates its class with
``@register_policy("name")``; modules here are discovered automatically, and
other packages can register through the ``ccsim.policies`` entry-point group.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import (
    TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, TypeVar, Union, get_args, get_origin,
)

from pydantic import BaseModel, ConfigDict, ValidationError

from sim.errors import FieldError, explain

if TYPE_CHECKING:
    from sim.scenario import Scenario
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


class UnknownPolicyError(ValueError):
    """A policy name that nobody registered."""


class PolicyConfigError(FieldError):
    """Invalid policy parameters, tied to the field path where they were given."""


PolicyFactory = Callable[[Any, "Scenario"], RoutingPolicy]


@dataclass(frozen=True)
class PolicySpec:
    """A registered policy: its name, parameter model and constructor."""

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

    def build(self, scenario: Scenario) -> RoutingPolicy:
        """A fresh policy instance for one run of ``scenario``."""
        params = self.parse_params(scenario.routing.params_for(self.name), scenario)
        return self.factory(params, scenario)


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


_REGISTRY: dict[str, PolicySpec] = {}
_discovered = False

P = TypeVar("P")


def register_policy(name: str, params: type[PolicyParams] = PolicyParams) -> Callable[[P], P]:
    """Class decorator: make a policy available under ``name`` in scenario files and the CLI.

    The class is constructed as ``cls(params, scenario)`` with validated ``params``.
    """

    def decorate(cls: P) -> P:
        if name in _REGISTRY and _REGISTRY[name].factory is not cls:
            raise ValueError(f"policy name {name!r} is already registered")
        doc = (getattr(cls, "__doc__", None) or "").strip().splitlines()
        _REGISTRY[name] = PolicySpec(name, params, cls, doc[0] if doc else "")  # type: ignore[arg-type]
        setattr(cls, "name", name)
        return cls

    return decorate


def _discover() -> None:
    """Import every module of this package and every ``ccsim.policies`` entry point once."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module("policies")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "base":
            importlib.import_module(f"policies.{module.name}")
    for entry in entry_points(group="ccsim.policies"):
        entry.load()


def registered_policies() -> dict[str, PolicySpec]:
    """Every known policy by name."""
    _discover()
    return dict(_REGISTRY)


def policy_spec(name: str, where: tuple[str | int, ...] = ()) -> PolicySpec:
    """The registered policy ``name``; unknown names raise an error listing the known ones."""
    known = registered_policies()
    if name not in known:
        message = f"unknown routing policy {name!r}; known: {', '.join(sorted(known))}"
        raise PolicyConfigError(where, message) if where else UnknownPolicyError(message)
    return known[name]


def make_policy(name: str, scenario: Scenario) -> RoutingPolicy:
    """Build policy ``name`` with the parameters ``scenario`` gives for it."""
    return policy_spec(name).build(scenario)
