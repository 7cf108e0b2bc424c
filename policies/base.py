"""The routing-policy protocol, the plug-in specs and the routing-policy registry's functions.

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

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from policies.registry import ROUTING_POLICIES
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
