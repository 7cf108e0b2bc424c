"""Patience that depends on the queue a caller finds, fitted from a log.

In the Anonymous Bank logs callers who arrive to a long queue give up much sooner: the
censored patience of January's PS callers (Kaplan-Meier, answered calls censored) falls
from 877 s with nobody waiting to 279 s with 6-9 waiting, within one band of hours as
well as over the day. ``fit_queue_patience`` fits the model the engine runs with
``contact_types.X.patience_per_waiting`` (``sim.stages.queue_patience``): a Weibull
patience whose scale is ``scale_empty x exp(-per_waiting x q)``, q the callers waiting when
the call arrived, by maximum likelihood with answered calls right-censored at their wait,
and tests it against ``per_waiting = 0`` (likelihood ratio, one degree of freedom).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from sim.analysis.calibrate import MIN_FIT, QueueTimeline
from sim.analysis.calllog import ABANDONED, Call

SIGNIFICANCE = 0.05
"""The likelihood-ratio test's level: below it the queue's effect is taken as shown."""


@dataclass(frozen=True)
class QueuePatienceFit:
    """A Weibull patience whose scale shrinks by ``exp(-per_waiting)`` per caller waiting on
    arrival; ``likelihood_ratio`` = 2 (log-likelihood - that with ``per_waiting = 0``)."""

    calls: int
    """Callers who queued (waited more than 0 s)."""
    abandons: int
    mean_empty_s: float
    """Mean patience of a caller who finds nobody waiting."""
    shape: float
    per_waiting: float
    likelihood_ratio: float

    @property
    def p_value(self) -> float:
        """Of "patience does not depend on the queue" (chi-square, one degree of freedom)."""
        return float(stats.chi2.sf(max(self.likelihood_ratio, 0.0), 1))

    @property
    def shown(self) -> bool:
        """Whether the data show callers giving up sooner in longer queues."""
        return self.per_waiting > 0 and self.p_value < SIGNIFICANCE

    def patience_dict(self) -> dict[str, Any]:
        """The scenario keys of the fit: ``patience`` and ``patience_per_waiting``."""
        return {"patience": {"dist": "weibull", "mean": f"{self.mean_empty_s:.1f}s",
                             "shape": round(self.shape, 3)},
                "patience_per_waiting": round(self.per_waiting, 4)}

    def as_json(self) -> dict[str, Any]:
        """The fit as a JSON mapping."""
        return {"calls": self.calls, "abandons": self.abandons,
                "mean_empty_s": round(self.mean_empty_s, 1), "shape": round(self.shape, 3),
                "per_waiting": round(self.per_waiting, 4), "p_value": self.p_value,
                "shown": self.shown}


def queue_met(calls: Sequence[Call]) -> list[int]:
    """For each call, how many callers (of any type) were waiting when it arrived."""
    timeline = QueueTimeline(calls, {call.type for call in calls})
    return timeline.waiting_before([call.arrival for call in calls])


def fit_queue_patience(waits: Sequence[float], abandoned: Sequence[bool],
                       queue: Sequence[int]) -> QueuePatienceFit:
    """The censored maximum-likelihood fit of callers who queued: ``waits`` (s), whether each
    ``abandoned`` (else answered: right-censored at its wait) and the ``queue`` each met.
    An abandon logged at 0 s counts at 0.5 s, within the log's one-second resolution."""
    wait = np.maximum(np.asarray(waits, dtype=float), 0.5)
    event = np.asarray(abandoned, dtype=bool)
    met = np.asarray(queue, dtype=float)

    def minus_log_likelihood(log_scale: float, per_waiting: float, log_shape: float) -> float:
        shape = math.exp(log_shape)
        log_scales = log_scale - per_waiting * met
        z = wait / np.exp(log_scales)
        return -float(np.sum(event * (log_shape - log_scales + (shape - 1) * np.log(z)))
                      - np.sum(z ** shape))

    start = math.log(float(wait.sum()) / max(int(event.sum()), 1))
    null = optimize.minimize(lambda p: minus_log_likelihood(p[0], 0.0, p[1]), [start, 0.0],
                             method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-7})
    full = optimize.minimize(lambda p: minus_log_likelihood(*p), [null.x[0], 0.0, null.x[1]],
                             method="Nelder-Mead",
                             options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 4000})
    log_scale, per_waiting, log_shape = (float(v) for v in full.x)
    shape = math.exp(log_shape)
    return QueuePatienceFit(len(wait), int(event.sum()),
                            math.exp(log_scale) * math.gamma(1 + 1 / shape), shape, per_waiting,
                            2 * (float(null.fun) - float(full.fun)))


def fit_by_type(calls: Sequence[Call],
                type_of: Callable[[Call], str]) -> dict[str, QueuePatienceFit]:
    """``fit_queue_patience`` per scenario type over ``calls`` (those of the calibration
    days), for the types with ``MIN_FIT`` abandons or more."""
    offered = [c for c in calls if c.offered]
    grouped: dict[str, list[tuple[float, bool, int]]] = defaultdict(list)
    for call, met in zip(offered, queue_met(offered)):
        if call.wait > 0:
            grouped[type_of(call)].append((call.wait, call.outcome == ABANDONED, met))
    return {kind: fit_queue_patience(*zip(*rows)) for kind, rows in sorted(grouped.items())
            if sum(abandoned for _, abandoned, _ in rows) >= MIN_FIT}
