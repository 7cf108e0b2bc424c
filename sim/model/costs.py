"""The ``costs`` block: what the center pays and earns, priced per replication.

Every key is optional but ``agent_per_hour``; a scenario without the block reports no
money beyond the identity block's verification cost and fraud loss. The stage that
prices a run lives in ``sim.stages.costs``; docs/costs.md defines every figure.
"""

from __future__ import annotations

from pydantic import Field

from sim.errors import FieldError
from sim.model.fields import Number, Probability, StrictModel


class Telephony(StrictModel):
    """Money per minute on the line, apart for the IVR, the queue and the talk."""

    ivr: Number = Field(default=0.0, ge=0, description="Per minute in the IVR.")
    queue: Number = Field(default=0.0, ge=0, description="Per minute waiting in the queue "
                          "(a call back waits off the line and pays nothing).")
    talk: Number = Field(default=0.0, ge=0, description="Per minute with an agent (talk and "
                         "hold; wrap-up is after the call).")
    channels: list[str] | None = Field(
        default=None, min_length=1,
        description="Channels whose contacts are billed per minute; absent: voice only "
        "(chat and e-mail hold no line).")

    def billed(self) -> list[str]:
        """The channels billed per minute."""
        return ["voice"] if self.channels is None else self.channels


class OutboundValue(StrictModel):
    """What an outbound attempt costs and what a right-party contact earns."""

    dial: Number = Field(default=0.0, ge=0, description="Per attempt dialled.")
    conversion: Probability = Field(
        default=0.0, description="Share of right-party contacts that buy.")
    sale_value: Number = Field(default=0.0, ge=0, description="Money earned per sale.")


class Costs(StrictModel):
    """Agent pay, telephony, dialling and the value of outbound sales."""

    agent_per_hour: Number | dict[str, Number] = Field(
        description="Money per on-duty agent hour: one figure for every group, or one per "
        "group, e.g. {general: 30, vip: 45}.")
    telephony: Telephony = Telephony()
    callback_dial: Number = Field(default=0.0, ge=0,
                                  description="Per call back dialled (reached or not).")
    outbound: OutboundValue = OutboundValue()

    def rates(self, groups: tuple[str, ...]) -> list[float]:
        """Money per on-duty second of each of ``groups``, in their order."""
        per_hour = self.agent_per_hour
        return [(per_hour if isinstance(per_hour, float | int) else per_hour[g]) / 3600.0
                for g in groups]

    def check(self, groups: tuple[str, ...], channels: tuple[str, ...]) -> None:
        """Raise unless every group has a rate, every rate is >= 0 and every billed channel
        exists (``groups`` and ``channels``: the scenario's)."""
        per_hour = self.agent_per_hour
        if isinstance(per_hour, dict):
            for group, rate in per_hour.items():
                if group not in groups:
                    raise FieldError(("costs", "agent_per_hour", group), (
                        f"unknown agent group {group!r}; allowed: {', '.join(groups)}"))
                if rate < 0:
                    raise FieldError(("costs", "agent_per_hour", group), (
                        f"{rate:g} is negative; allowed: money per hour >= 0, e.g. 30"))
            missing = [g for g in groups if g not in per_hour]
            if missing:
                raise FieldError(("costs", "agent_per_hour"), (
                    f"no rate for group {', '.join(map(repr, missing))}; allowed: a rate for "
                    "every agent group, or one figure for all"))
        elif per_hour < 0:
            raise FieldError(("costs", "agent_per_hour"), (
                f"{per_hour:g} is negative; allowed: money per hour >= 0, e.g. 30"))
        for index, channel in enumerate(self.telephony.channels or ()):
            if channel not in channels:
                raise FieldError(("costs", "telephony", "channels", index), (
                    f"unknown channel {channel!r}; allowed: {', '.join(channels)}"))
