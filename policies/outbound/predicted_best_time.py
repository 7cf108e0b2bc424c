"""Each attempt at the customer's predicted best hour and channel (domain brief S3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from policies.base import PolicyParams
from sim.model.fields import Duration

from . import OutboundTask, register_outbound

if TYPE_CHECKING:
    from sim.model.profile import InteractionPredictor


class PredictedBestTimeParams(PolicyParams):
    """How far ahead the strategy looks for the best hour."""

    horizon: Duration = Field(
        default=86400.0, gt=0, description="Look this far past the earliest time for the "
        "hour with the best chance of reaching the customer (e.g. 24h: one full day).")


@register_outbound("predicted_best_time", PredictedBestTimeParams)
class PredictedBestTime:
    """The hour and channel with the highest predicted answer chance within the horizon."""

    def __init__(self, params: PredictedBestTimeParams, scenario: object) -> None:
        """``scenario`` is unused (the registry passes one to every plug-in)."""
        self.horizon = params.horizon

    def schedule(self, task: OutboundTask, predictor: InteractionPredictor,
                 now: float) -> tuple[float, str]:
        """``predictor.best_time`` from ``max(now, task.due)`` over the campaign's channels
        and calling hours."""
        time, channel, _ = predictor.best_time(
            task.customer, max(now, task.due), task.channels, task.hours, self.horizon)
        return time, channel
