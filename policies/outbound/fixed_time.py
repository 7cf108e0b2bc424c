"""Every attempt at the same hour of day on the campaign's default channel."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from policies.base import PolicyParams

from . import OutboundTask, register_outbound

if TYPE_CHECKING:
    from sim.model.profile import InteractionPredictor

DAY = 86400.0


@register_outbound("fixed_time")
class FixedTime:
    """Next fixed_hour:00 on the campaign's first channel, whoever the customer is."""

    def __init__(self, params: PolicyParams, scenario: object) -> None:
        """No parameters; ``scenario`` is unused (the registry passes one to every plug-in)."""

    def schedule(self, task: OutboundTask, predictor: InteractionPredictor,
                 now: float) -> tuple[float, str]:
        """The first ``task.fixed_hour``:00 at or after ``max(now, task.due)``."""
        earliest = max(now, task.due)
        time = math.floor(earliest / DAY) * DAY + task.fixed_hour * 3600.0
        if time < earliest:
            time += DAY
        return time, task.channels[0]
