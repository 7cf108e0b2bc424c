"""Passive signals first; questions or a passcode only when risk or anomalies demand them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from . import MethodName, StrategyParams, first_pass, register_strategy

if TYPE_CHECKING:
    from sim.model.identity import Caller, Checks, RiskLevel
    from sim.model.scenario import Scenario

Chains = dict[str, tuple[MethodName, ...]]


class PassiveStepupParams(StrategyParams):
    """Per risk level, what a trusted caller runs and what everyone else runs.

    A caller is trusted when passively identified (number linked to one
    customer, confidence at or above ``identity.score.passive_threshold``) and
    no flag is raised. Each chain is tried in order until one method passes;
    an empty chain asks nothing.
    """

    trusted: Chains = Field(default_factory=lambda: {"low": (), "medium": (), "high": ("otp",)})
    step_up: Chains = Field(default_factory=lambda: {
        "low": ("otp", "knowledge_questions"),
        "medium": ("otp", "knowledge_questions"),
        "high": ("otp", "manual_check"),
    })

    def check_against(self, scenario: Scenario) -> None:
        from policies.base import PolicyConfigError

        for field in ("trusted", "step_up"):
            missing = {"low", "medium", "high"} - set(getattr(self, field))
            unknown = set(getattr(self, field)) - {"low", "medium", "high"}
            if missing or unknown:
                raise PolicyConfigError((field,), (
                    f"risk levels {sorted(unknown or missing)} are "
                    f"{'unknown' if unknown else 'missing'}; allowed: exactly low, medium, high"))
        super().check_against(scenario)


@register_strategy("passive_stepup", PassiveStepupParams)
class PassiveStepup:
    """Trust passive identification for low risk; step up by risk level and anomaly flags."""

    def __init__(self, params: PassiveStepupParams, scenario: Scenario) -> None:
        self.params = params
        # Plain dicts: read for every verified caller (a pydantic field read costs more).
        self._trusted, self._step_up = dict(params.trusted), dict(params.step_up)

    def verify(self, caller: Caller, checks: Checks) -> bool:
        risk: RiskLevel = caller.risk
        trusted = caller.identified and not caller.flags
        chain = (self._trusted if trusted else self._step_up)[risk]
        return first_pass(checks, chain)
