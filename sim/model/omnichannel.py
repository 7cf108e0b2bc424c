"""Scenario blocks of the omnichannel center: channels and agent capacity, blending,
retrials, callbacks, digital journeys and proactive outbound campaigns.

Each block is optional; a scenario without them behaves exactly as before (one
contact per agent at a time, no retrials, no callbacks, no outbound). The engine
reads them (``sim.engine``); what they mean is in docs/omnichannel.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from sim.model.distributions import Distribution
from sim.errors import FieldError, show_value
from sim.model.fields import Duration, Int, Number, Probability, Rate, StrictModel


class Channel(StrictModel):
    """How contacts on one channel are measured and worked."""

    service_level: Duration | None = Field(
        default=None, ge=0, description="T of SL(T) for this channel (e-mail: a response "
        "target in hours); absent: service_level.threshold.")
    concurrency_factor: Number = Field(
        default=0.0, ge=0, description="Handle time stretches by 1 + factor x (other contacts "
        "of this channel the agent already holds when it starts).")
    deferrable: bool = Field(
        default=False, description="Deferrable work (e-mail): an agent takes it only when no "
        "real-time contact it could take waits, within blending.deferrable_max_share.")


class Blending(StrictModel):
    """How deferrable work is kept from blocking real-time contacts."""

    deferrable_max_share: Probability = Field(
        default=1.0, description="At most this share of on-duty agents hold deferrable work "
        "at once (a real-time burst then finds the rest free).")


class Retrial(StrictModel):
    """An abandoned customer tries again."""

    probability: Probability = Field(description="Chance that an abandoned contact is retried.")
    delay: Distribution = Field(description="Time from abandoning to the retry.")
    switch: dict[str, Probability] = Field(
        default_factory=dict, description="Shares of retries that come back as another contact "
        "type (e.g. {chat: 0.3}: a channel switch); the rest retry as the same type.")

    @model_validator(mode="after")
    def _at_most_one(self) -> Retrial:
        total = sum(self.switch.values())
        if total > 1 + 1e-9:
            raise FieldError(("switch",), f"shares sum to {total:g}; allowed: a sum of at most 1 "
                             "(the rest retry as the same type)")
        return self


class Callback(StrictModel):
    """Virtual hold: a caller facing a long predicted wait is offered a call back."""

    threshold: Duration = Field(ge=0, description="Offer when the predicted wait exceeds this.")
    accept: Probability = Field(description="Chance that an offered caller accepts.")
    mode: Literal["virtual_hold", "scheduled"] = Field(
        default="virtual_hold", description="virtual_hold: the callback keeps the caller's place "
        "in the queue; scheduled: it joins the queue at a later slot (delay).")
    delay: Duration = Field(default=0.0, ge=0, description="scheduled: time to the chosen slot.")
    reach: Probability = Field(
        default=0.9, description="Chance that the agent's call back reaches the right party.")
    dial_time: Duration = Field(
        default=20.0, ge=0, description="Agent time of a call back that reaches no one.")


class Journey(StrictModel):
    """Contacts that escalate from a digital session (web or app browsing, a cart)."""

    start: str = Field(default="web", min_length=1, description="Channel of the session.")
    share: Probability = Field(description="Share of this type's contacts that escalate from "
                               "a session.")
    recognised: Probability = Field(
        description="Chance that the session's login carries into the contact (identity "
        "stitching): the customer is then known without asking.")


class Reach(StrictModel):
    """True chance that an outbound attempt reaches the right party (hidden from strategies)."""

    base: Probability = Field(default=0.15, description="Outside the customer's habits.")
    in_hours: Number = Field(default=2.5, ge=0, description="Factor inside the customer's "
                             "preferred hours.")
    own_channel: Number = Field(default=1.6, ge=0, description="Factor on the customer's "
                                "preferred channel.")
    max: Probability = Field(default=0.9, description="Upper bound of the chance.")

    def chance(self, in_hours: bool, own_channel: bool) -> float:
        """Reach probability of one attempt."""
        factor = (self.in_hours if in_hours else 1.0) * (self.own_channel if own_channel else 1.0)
        return min(self.max, self.base * factor)


HOURS_ALLOWED = "[start, end] with 0 <= start < end <= 24, e.g. [8, 21]"
"""What a campaign's ``hours`` may be, as messages say."""


def _hour_pair(value: object) -> object:
    # Checked here: pydantic reads a tuple of two as a mapping with keys 0 and 1, and a
    # short list would be reported as "missing required key 1", saying nothing allowed.
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{show_value(value)} is not a [start, end] pair of hours; "
                         f"allowed: {HOURS_ALLOWED}")
    return value


class Campaign(StrictModel):
    """One outbound campaign: who is contacted, on which channels, at which hours."""

    trigger: Literal["list", "signal", "needs"] = Field(
        description="list: per_day customers due each day (payment reminders); signal: a "
        "digital signal (purchase interest, browsing) at rate creates a task; needs: each "
        "known open need of its intents creates a task (docs/needs.md).")
    per_day: Int | None = Field(default=None, ge=1, description="list: customers per day.")
    rate: Rate | None = Field(default=None, description="signal: signals per unit time.")
    signal_channel: str = Field(default="app", description="signal: where it happens; the "
                                "customer is picked by that channel's habits.")
    delay: Duration = Field(default=0.0, ge=0, description="From release to first due time.")
    channels: tuple[str, ...] = Field(min_length=1, description="Channels the campaign may "
                                      "use; the first is fixed_time's.")
    hours: Annotated[tuple[Int, Int], BeforeValidator(_hour_pair)] = Field(
        default=(8, 21), description="Allowed hours [start, end).")
    fixed_hour: Int = Field(default=10, ge=0, le=23, description="fixed_time's hour.")
    handle_time: Distribution = Field(description="Conversation time once reached.")
    max_attempts: Int = Field(default=3, ge=1)
    retry_after: Duration = Field(default=14400.0, ge=0, description="Earliest next attempt "
                                  "after a miss.")
    intents: tuple[str, ...] = Field(
        default=(), description="Intents (under needs.intents) the campaign talks about: "
        "reaching a customer serves their open need of one of them (docs/needs.md).")

    @model_validator(mode="after")
    def _trigger_fields(self) -> Campaign:
        if self.trigger == "list" and self.per_day is None:
            raise FieldError(("per_day",), "a list campaign needs per_day; allowed: a whole "
                             "number of customers per day, e.g. 200")
        if self.trigger == "signal" and self.rate is None:
            raise FieldError(("rate",), "a signal campaign needs rate; allowed: a rate, e.g. 20/h")
        if self.trigger == "needs" and not self.intents:
            raise FieldError(("intents",), "a needs campaign needs intents; allowed: intents "
                             "under needs.intents, e.g. [card_expiry]")
        if self.trigger == "needs" and (self.per_day is not None or self.rate is not None):
            raise FieldError(("per_day" if self.per_day is not None else "rate",), (
                "a needs campaign takes its tasks from open needs; allowed: no per_day or "
                "rate with trigger: needs"))
        start, end = self.hours
        if not 0 <= start < end <= 24:
            raise FieldError(("hours",), f"[{start}, {end}] is not a window of the day; allowed: "
                             f"{HOURS_ALLOWED}")
        return self


class Outbound(StrictModel):
    """Proactive outbound: campaigns placed by an outbound strategy, dialled by agents."""

    model_config = {**StrictModel.model_config, "extra": "allow"}
    strategies: tuple[str, ...] = Field(
        min_length=1, description="Outbound strategies to compare (e.g. fixed_time, "
        "predicted_best_time); other keys named like a strategy hold its parameters.")
    groups: tuple[str, ...] = Field(min_length=1, description="Agent groups that dial.")
    max_share: Probability = Field(
        default=0.3, description="At most this share of the dialling groups' on-duty agents "
        "work outbound at once; they dial only when no inbound contact they could take waits.")
    dial_time: Duration = Field(default=20.0, ge=0, description="Agent time of an attempt "
                                "(dialling, ringing, a message), reached or not.")
    reach: Reach = Reach()
    campaigns: dict[str, Campaign] = Field(min_length=1)

    def params_for(self, name: str) -> dict[str, Any]:
        """Raw parameters given for strategy ``name`` (empty when none)."""
        return dict((self.model_extra or {}).get(name) or {})
