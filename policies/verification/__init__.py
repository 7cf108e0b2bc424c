"""Verification strategies: which identity checks a contact must pass, from risk and confidence.

A strategy is a plain object with one method::

    verify(caller, checks) -> bool

``caller`` is what the center knows after passive resolution and the IVR
(``sim.identity.Caller``: claimed ``customer``, ``identified``,
``confidence``, ``flags``, ``intent``, ``risk``); ``checks.run(method)`` runs
one configured method (``knowledge_questions``, ``otp``,
``voice_biometrics``, ``manual_check``) on the contact's pre-drawn outcome
and time and says whether the caller passed. Return ``True`` to let the
caller through, ``False`` to refuse. The strategy never sees whether the
caller is a fraudster, and never touches SimPy.

Adding a strategy is one module in this package decorated with
``@register_strategy("name", Params)``; other packages can register through
the ``ccsim.verification`` entry-point group. Parameters come from
``identity.verification.NAME`` in the scenario.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, get_args

from policies.base import PolicyConfigError, PolicyParams, PolicySpec
from policies.registry import VERIFICATION_STRATEGIES

if TYPE_CHECKING:
    from sim.model.identity import Caller, Checks
    from sim.model.scenario import Scenario

MethodName = Literal["knowledge_questions", "otp", "voice_biometrics", "manual_check"]
"""A verification method a strategy may ask for."""


class VerificationStrategy(Protocol):
    """What the engine needs from a verification strategy."""

    name: ClassVar[str]

    def verify(self, caller: Caller, checks: Checks) -> bool:
        """Run the checks this caller needs; True lets the caller through."""
        ...


register_strategy = VERIFICATION_STRATEGIES.register
"""Class decorator: ``@register_strategy("name", Params)`` makes a strategy available by name."""


def strategy_spec(name: str, where: tuple[str | int, ...] = ()) -> PolicySpec:
    """The registered strategy ``name``; unknown names raise an error listing the known ones."""
    return VERIFICATION_STRATEGIES.spec(name, where)


def make_strategy(name: str, scenario: Scenario) -> VerificationStrategy:
    """Build strategy ``name`` with the parameters ``scenario`` gives for it."""
    assert scenario.identity is not None
    raw = scenario.identity.verification.params_for(name)
    return strategy_spec(name).build(raw, scenario)  # type: ignore[no-any-return]


def first_pass(checks: Checks, chain: Sequence[str]) -> bool:
    """Try the available methods of ``chain`` in order until one passes.

    An empty chain asks nothing and lets the caller through; a chain none of
    whose methods passes (or can run) refuses.
    """
    return checks.first_pass(chain)


class ChainStrategy:
    """A strategy that runs one fixed chain of methods for every caller (see ``first_pass``)."""

    def __init__(self, params: StrategyParams, scenario: Scenario) -> None:
        self.chain: tuple[str, ...] = params.chain()

    def verify(self, caller: Caller, checks: Checks) -> bool:
        return checks.first_pass(self.chain)


class StrategyParams(PolicyParams):
    """Base of strategy parameters: every method they name must be configured."""

    def chain(self) -> tuple[str, ...]:
        """The fixed chain of a ``ChainStrategy``."""
        raise NotImplementedError(f"{type(self).__name__} does not define one fixed chain")

    def method_names(self) -> dict[tuple[str | int, ...], str]:
        """Every method named in the parameters, by field path (unknown names are already
        rejected by the ``MethodName`` type)."""
        found: dict[tuple[str | int, ...], str] = {}

        def walk(path: tuple[str | int, ...], value: Any) -> None:
            if isinstance(value, str) and value in get_args(MethodName):
                found[path] = value
            elif isinstance(value, dict):
                for key, item in value.items():
                    walk((*path, key), item)
            elif isinstance(value, (list, tuple)):
                for index, item in enumerate(value):
                    walk((*path, index), item)

        for field in type(self).model_fields:
            walk((field,), getattr(self, field))
        return found

    def check_against(self, scenario: Scenario) -> None:
        """Reject a method that the scenario's identity.methods does not configure."""
        assert scenario.identity is not None
        configured = scenario.identity.methods.configured()
        for path, method in self.method_names().items():
            if method not in configured:
                given = "set" if path[0] in self.model_fields_set else "default"
                raise PolicyConfigError(path, (
                    f"method {method!r} ({given} value) is not configured under "
                    f"identity.methods; configured: {', '.join(configured) or 'none'}; "
                    f"allowed: configure it, or set this parameter to configured methods"))
