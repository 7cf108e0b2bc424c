"""Outbound strategies: when, and on which channel, to attempt each outbound contact.

The engine hands a strategy one ``OutboundTask`` at a time (a campaign's
customer, allowed channels and calling hours, the earliest time) and gets back
the time and channel of the attempt. A strategy only decides: it sees the
customer through the ``InteractionPredictor`` (domain brief S3, S7), never the
ground truth of the population, and never touches SimPy.

Adding a strategy is one module in this package decorated with
``@register_outbound("name", Params)``; other packages can register through
the ``ccsim.outbound`` entry-point group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from policies.base import PolicySpec
from policies.registry import OUTBOUND_STRATEGIES

if TYPE_CHECKING:
    from sim.model.profile import InteractionPredictor


class OutboundTask(NamedTuple):
    """One outbound attempt the engine asks a strategy to place."""

    customer: int
    """Population index of the customer to reach."""
    campaign: str
    """Name of the campaign the attempt belongs to."""
    channels: tuple[str, ...]
    """Channels the campaign may use; the first is its default."""
    hours: tuple[int, int]
    """Allowed calling hours ``[start, end)`` of day; ``end <= start`` wraps past midnight."""
    fixed_hour: int
    """Hour of day at which ``fixed_time`` places every attempt."""
    due: float
    """Earliest time of the attempt, in seconds since run start."""
    attempt: int
    """1 for the first attempt, 2 for the first retry, ..."""


class OutboundStrategy(Protocol):
    """What the engine needs from an outbound strategy."""

    name: ClassVar[str]

    def schedule(self, task: OutboundTask, predictor: InteractionPredictor,
                 now: float) -> tuple[float, str]:
        """When (at or after ``max(now, task.due)``) and on which channel to attempt ``task``."""
        ...


register_outbound = OUTBOUND_STRATEGIES.register
"""Class decorator: ``@register_outbound("name", Params)`` makes a strategy available by name."""


def outbound_spec(name: str, where: tuple[str | int, ...] = ()) -> PolicySpec:
    """The registered strategy ``name``; unknown names raise an error listing the known ones."""
    return OUTBOUND_STRATEGIES.spec(name, where)


def make_outbound(name: str, params: dict[str, Any] | None = None,
                  where: tuple[str | int, ...] = ()) -> OutboundStrategy:
    """Build strategy ``name`` from its raw parameters; errors name the field path under
    ``where``."""
    spec = outbound_spec(name, where)
    # Outbound strategies take nothing from the scenario but their parameters (none
    # of their parameter models checks against it), so no scenario is passed.
    parsed = spec.parse_params(params or {}, None, where)  # type: ignore[arg-type]
    return spec.factory(parsed, None)  # type: ignore[no-any-return]
