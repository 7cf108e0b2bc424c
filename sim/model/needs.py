"""Needs, not just arrivals (``needs`` block; docs/needs.md).

A customer's inbound contact is the moment they would call; the need behind it (its
intent) arose a lead time earlier. Whichever contact comes first serves the need: the
call, or an outbound attempt that reaches the customer while the need is open, in which
case the call does not happen. The stage is ``sim.stages.needs``; this module holds the
scenario block and its checks against the other blocks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from sim.errors import FieldError
from sim.model.distributions import Constant, Distribution, Empirical, Mixture, Uniform, _Dist
from sim.model.fields import Duration, Probability, StrictModel
from sim.model.units import format_duration

if TYPE_CHECKING:
    from sim.model.scenario import Scenario

WEEK = 7 * 86400.0


class NeedIntent(StrictModel):
    """How needs of one intent arise and what the center knows of them."""

    lead: Distribution = Field(description="Time from the need arising to the customer's "
                               "call about it (e.g. a card expiry notice 3 days before).")
    known: Probability = Field(
        default=1.0, description="Share of these needs the center knows of when they arise "
        "(a card expiry date on file: 1; a fraud alert the bank raised: 1; a question the "
        "customer has not told anyone: 0). Only known needs become tasks of a needs campaign.")


class Needs(StrictModel):
    """Intents whose inbound contacts are the late end of a need that outreach may serve first."""

    intents: dict[str, NeedIntent] = Field(min_length=1, description="Per intent (a name "
                                           "under identity.intents), its lead time and "
                                           "how much of it the center knows.")
    max_lead: Duration = Field(
        default=WEEK, gt=0, description="Longest lead time: longer draws are cut to it. The "
        "simulation looks this far ahead at the calls to come.")

    @model_validator(mode="after")
    def _leads_fit(self) -> Needs:
        for name, intent in self.intents.items():
            if intent.lead.mean > self.max_lead:
                raise FieldError(("intents", name, "lead"), (
                    f"mean lead {format_duration(intent.lead.mean)} is longer than max_lead "
                    f"{format_duration(self.max_lead)}, so most leads would be cut; allowed: "
                    "a lead whose mean is at most max_lead, or a longer max_lead"))
        return self

    @property
    def read_ahead(self) -> float:
        """How far ahead of now a need can arise: the longest lead any intent can draw, at
        most ``max_lead`` (a shorter look ahead reads fewer calls to come)."""
        return max(min(longest(intent.lead), self.max_lead) for intent in self.intents.values())


def longest(dist: _Dist) -> float:
    """The longest value ``dist`` can draw (infinite for an unbounded distribution)."""
    if isinstance(dist, Constant):
        return dist.value
    if isinstance(dist, Uniform):
        return dist.high
    if isinstance(dist, Empirical):
        return max(dist.samples or (0.0,))
    if isinstance(dist, Mixture):
        return max(longest(component) for component in dist.components)
    return math.inf


def check_needs(scenario: Scenario) -> None:
    """The ``needs`` block and the campaigns that serve needs agree with the other blocks."""
    needs, outbound = scenario.needs, scenario.outbound
    campaigns = outbound.campaigns if outbound is not None else {}
    if needs is None:
        for name, campaign in campaigns.items():
            if campaign.intents:
                raise FieldError(("outbound", "campaigns", name, "intents"), (
                    "a campaign serves needs of intents, but the scenario has no needs block; "
                    "allowed: add needs with these intents, or remove intents (and trigger: "
                    "needs)"))
        return
    if scenario.identity is None:
        raise FieldError(("needs",), (
            "needs are intents, which the identity block names (identity.intents); allowed: "
            "add customers and identity, or remove needs"))
    if scenario.run.arrivals is not None:
        raise FieldError(("run", "arrivals"), (
            "needs arise ahead of the calls over the run's duration, so a run by a count of "
            "arrivals cannot say which calls a need heads off; allowed: run.duration (e.g. "
            "24h) with needs, or remove needs"))
    known = ", ".join(scenario.identity.intents)
    for intent in needs.intents:
        if intent not in scenario.identity.intents:
            raise FieldError(("needs", "intents", intent), (
                f"unknown intent {intent!r}; allowed: an intent under identity.intents "
                f"({known})"))
    targeted: dict[str, str] = {}
    for name, campaign in campaigns.items():
        for index, intent in enumerate(campaign.intents):
            if intent not in needs.intents:
                raise FieldError(("outbound", "campaigns", name, "intents", index), (
                    f"intent {intent!r} is not under needs.intents, so it has no needs to "
                    f"serve; allowed: {', '.join(needs.intents)}"))
            if campaign.trigger == "needs" and targeted.setdefault(intent, name) != name:
                raise FieldError(("outbound", "campaigns", name, "intents", index), (
                    f"needs of intent {intent!r} are already the tasks of campaign "
                    f"{targeted[intent]!r}; allowed: one needs campaign per intent"))
