"""The ``churn`` block: bad experiences make customers leave and sour later contacts.

A bad experience is a wait longer than ``long_wait`` (answered), an abandonment, an
unresolved contact (with an ``outcomes`` block) or a genuine customer refused by
verification. Each one makes the customer leave with its own probability (``hazard``),
lowers the sentiment the center sees on their later contacts and may shorten their
patience. The defaults and their sources are in docs/costs.md; the stage is
``sim.stages.churn``.
"""

from __future__ import annotations

from pydantic import Field

from sim.model.fields import Duration, Number, Probability, StrictModel

EXPERIENCES = ("long_wait", "abandoned", "unresolved", "refused")
"""The kinds of bad experience, in the order of ``Hazard``'s fields."""


class Hazard(StrictModel):
    """Per kind of bad experience, the chance that it makes the customer leave."""

    long_wait: Probability = Field(default=0.02, description="Answered after long_wait.")
    abandoned: Probability = Field(default=0.03, description="Hung up in the queue.")
    unresolved: Probability = Field(default=0.03, description="Served, not resolved.")
    refused: Probability = Field(default=0.05, description="A genuine customer refused by "
                                 "verification (in the IVR or by the agent).")


class Churn(StrictModel):
    """How experience feeds behaviour (needs a ``customers`` block)."""

    long_wait: Duration = Field(default=120.0, gt=0, description="An answered wait longer "
                                "than this is a bad experience.")
    hazard: Hazard = Hazard()
    sentiment_drop: Probability = Field(
        default=0.1, description="Sentiment (0 to 1) lost per bad experience, seen on the "
        "customer's later contacts (floor 0).")
    patience_factor: Number = Field(
        default=1.0, gt=0, le=1, description="Multiplier on the patience of the customer's "
        "later contacts per bad experience (1: patience unchanged).")
    value_share: Probability = Field(
        default=1.0, description="Share of a customer's value lost when they leave.")
