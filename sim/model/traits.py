"""Persistent customer traits (issue 14, item 1): what stays the same about one customer
from contact to contact.

A scenario's ``customers.traits`` block gives the spread of two hidden multipliers per
customer: patience (the true patience of each of their contacts is the contact type's
draw x the tier's ``patience_factor`` x the customer's multiplier) and handle time (the
contact's work x the multiplier). Each multiplier is lognormal with mean 1 and the given
coefficient of variation, so the centre's average patience and handle time stay those
of the contact types; a cv of 0 makes every multiplier exactly 1. The sentiment baseline
is the population's own per-customer ``sentiment`` score (``customers.sentiment``, its
spread set by ``concentration``), drawn from its own stream already.

Each multiplier has its own random stream (``traits/patience``, ``traits/handle_time``),
so adding traits never shifts another draw (common random numbers), and a fraudster
claiming to be a customer keeps their own behaviour: traits apply to genuine callers
only. The multipliers are ground truth: routing policies never see them; they see the
interaction predictor's estimate of the patience multiplier, learned from the
customer's finished contacts (``estimate_multiplier``, docs/customer_behaviour.md).
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING

from pydantic import Field

from sim.model.fields import Number, StrictModel
from sim.model.sharing import floats

if TYPE_CHECKING:
    import numpy as np

    from sim.kernel.streams import RandomStreams
    from sim.state import Contact


class Traits(StrictModel):
    """The ``customers.traits`` block: how much customers differ from one another."""

    patience_cv: Number = Field(
        default=0.0, ge=0, le=10, description="Spread of each customer's patience "
        "multiplier (lognormal, mean 1): 0 = every customer has the contact type's patience; "
        "0.5 or more = some customers hang up far sooner than others, contact after contact.")
    handle_time_cv: Number = Field(
        default=0.0, ge=0, le=10, description="Spread of each customer's handle-time "
        "multiplier (lognormal, mean 1): some customers always take longer to serve.")


def lognormal_multipliers(rng: np.random.Generator, cv: float, size: int) -> np.ndarray:
    """``size`` lognormal draws with mean 1 and coefficient of variation ``cv``."""
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), size)


class CustomerTraits:
    """The drawn multipliers of one replication's customers (the same for every policy)."""

    __slots__ = ("patience", "handle_time")

    def __init__(self, spec: Traits, streams: RandomStreams, size: int) -> None:
        self.patience: array = floats(lognormal_multipliers(
            streams.generator("traits/patience"), spec.patience_cv, size))
        """Customer i's patience multiplier."""
        self.handle_time: array = floats(lognormal_multipliers(
            streams.generator("traits/handle_time"), spec.handle_time_cv, size))
        """Customer i's handle-time multiplier."""

    def apply(self, contact: Contact, customer: int) -> None:
        """Make the contact's drawn patience and work the customer's own."""
        contact.patience *= self.patience[customer]
        contact.work *= self.handle_time[customer]
        contact.personal = True


def estimate_multiplier(exposure: float, abandonments: int, prior_weight: float) -> float:
    """Posterior mean of a customer's patience multiplier from censored waits.

    Model: the patience of contact i is m x s_i x X_i, X_i ~ Exp(1), where s_i is the
    segment's mean patience (type x tier) and m the customer's multiplier. A wait t_i
    ends in abandonment (an event) or in an answer (censored at t_i). With rate
    lambda = 1/m the likelihood is lambda^d exp(-lambda E), E = sum t_i / s_i (the
    ``exposure``) and d the abandonments. A Gamma(w + 1, w) prior on lambda (the prior
    mean of m = 1/lambda is w / w = 1: the segment's own patience, held with the weight
    of w abandonments) gives the posterior Gamma(w + 1 + d, w + E), whose mean of 1/lambda
    is (w + E) / (w + d). Without history it is 1 exactly; with many contacts it tends
    to E / d, the censored-data maximum-likelihood estimate.
    """
    return (prior_weight + exposure) / (prior_weight + abandonments)
