"""ON/OFF benchmark: the uplift of a policy run in ``onoff`` mode over its baseline.

How vendors of predictive pairing measure its value (domain brief §2): switch it
ON and OFF in alternating time slots on the same live traffic and compare. In
ccsim, ``predictive`` with ``onoff: {baseline, slot}`` decides in ON slots (the
first after midnight, then every other one) and lets the baseline decide in OFF
slots, while its model keeps learning from every finished contact.

Why alternate slots rather than compare two runs: both arms see the same
traffic, staffing and time-of-day pattern, which is how it can be done in a
real center, where one cannot replay a day. Adjacent ON and OFF slots are
paired so that slow changes over the day (load, mix) cancel in the difference.

Uplift = mean over pairs (ON slot ``2j``, OFF slot ``2j+1`` of the day) of
(metric in ON slot - metric in OFF slot), pooled over replications, with a 95%
Student-t interval over the pairs. The metric of a slot pools its intervals,
weighted by the contacts handled, and counts contacts by the interval in which
they arrived (as every per-interval result does).

Read it with care:

* Warm-up: the model starts knowing nothing. Set ``run.warmup`` long enough for
  it to learn; only measured intervals count.
* The interval treats pairs as independent. Neighbouring slots share a queue at
  the boundary (a contact arriving late in a slot may be routed in the next) and
  unresolved contacts call again in later slots, so neighbours are somewhat
  correlated and the interval is somewhat too narrow; more replications rather
  than shorter slots narrow it honestly.
* It measures what switching the policy on gives while the center otherwise runs
  the baseline, not a whole day under each policy: for that, compare the
  policies side by side (``ccsim run --policy fcfs --policy predictive``) on
  common random numbers.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from policies import policy_spec
from sim.runner import Estimate, RunResults, estimate
from sim.model.scenario import DAY

PER_HANDLED = ("fcr", "match_hit_rate", "aht_s")
"""Metrics that are means over handled contacts: slot figures pool intervals by ``handled``."""


@dataclass(frozen=True)
class Uplift:
    """The ON minus OFF difference of one metric, over paired adjacent slots."""

    label: str
    """Results label of the policy run in ON/OFF mode."""
    baseline: str
    metric: str
    on: float
    """Mean of the metric over the ON slots of the pairs."""
    off: float
    """Mean of the metric over the OFF slots of the pairs."""
    uplift: Estimate
    """Mean ON - OFF per pair with its 95% t-interval; ``n`` = pairs."""

    def as_json(self) -> dict[str, Any]:
        """``{"metric", "baseline", "on", "off", "uplift": {"mean", "ci95"}, "pairs"}``."""
        return {"metric": self.metric, "baseline": self.baseline, "on": _json(self.on),
                "off": _json(self.off), "uplift": self.uplift.as_json(), "pairs": self.uplift.n}


def uplifts(results: RunResults, metric: str = "fcr") -> dict[str, Uplift]:
    """The uplift of every label of ``results`` whose policy ran in ON/OFF mode."""
    return {label: onoff_uplift(results, label, metric) for label, replications
            in results.runs.items() if _onoff(results, replications[0].policy) is not None}


def onoff_uplift(results: RunResults, label: str = "predictive", metric: str = "fcr") -> Uplift:
    """The uplift of the policy behind ``label`` (run with ``onoff``) over its baseline.

    Raises ``ValueError`` when ``label`` was not run, its policy has no ``onoff``
    parameters, or ``metric`` is not a mean over handled contacts (``PER_HANDLED``).
    """
    if metric not in PER_HANDLED:
        raise ValueError(f"metric {metric!r} cannot be pooled over slots; allowed: "
                         f"{', '.join(PER_HANDLED)}")
    if label not in results.runs:
        raise ValueError(f"{label!r} was not run; run: {', '.join(results.runs)}")
    replications = results.runs[label]
    policy = replications[0].policy
    onoff = _onoff(results, policy)
    if onoff is None:
        raise ValueError(f"policy {policy!r} did not run in ON/OFF mode; allowed: a policy "
                         f"with onoff parameters (routing.{policy}.onoff)")
    slots = round(DAY / onoff.slot)
    ons: list[float] = []
    offs: list[float] = []
    for replication in replications:
        figures = _slot_figures(replication.by_interval, metric, onoff.slot, slots)
        for on, off in zip(figures[0::2], figures[1::2]):
            if not (math.isnan(on) or math.isnan(off)):
                ons.append(on)
                offs.append(off)
    return Uplift(label, onoff.baseline, metric,
                  statistics.fmean(ons) if ons else math.nan,
                  statistics.fmean(offs) if offs else math.nan,
                  estimate(on - off for on, off in zip(ons, offs)))


def _onoff(results: RunResults, policy: str) -> Any:
    """The ``onoff`` parameters ``policy`` ran with, or None."""
    scenario = results.scenario
    params = policy_spec(policy).parse_params(scenario.routing.params_for(policy), scenario)
    return getattr(params, "onoff", None)


def _json(value: float) -> float | None:
    return None if math.isnan(value) else value


def _slot_figures(by_interval: dict[str, dict[str, float]], metric: str, slot: float,
                  slots: int) -> list[float]:
    """The metric per slot of the day (NaN for a slot without handled contacts)."""
    weighted = [0.0] * slots
    handled = [0.0] * slots
    for label, figures in by_interval.items():
        count, value = figures.get("handled", 0.0), figures.get(metric, math.nan)
        if count > 0 and not math.isnan(value):
            index = int(_seconds(label) // slot)
            weighted[index] += value * count
            handled[index] += count
    return [w / n if n > 0 else math.nan for w, n in zip(weighted, handled)]


def _seconds(label: str) -> float:
    """Time of day of an interval label, ``HH:MM`` or ``HH:MM:SS``."""
    parts = [int(part) for part in label.split(":")]
    return parts[0] * 3600.0 + parts[1] * 60.0 + (parts[2] if len(parts) > 2 else 0)


def format_uplift(uplift: Uplift) -> str:
    """One line for a terminal, e.g. ``fcr ON/OFF uplift of predictive over fcfs: ...``."""
    estimate_ = uplift.uplift
    interval = (f"95% CI {estimate_.low:+.4f} to {estimate_.high:+.4f}"
                if not math.isnan(estimate_.low) else "no CI: fewer than 2 pairs")
    return (f"{uplift.metric} ON/OFF uplift of {uplift.label} over {uplift.baseline}: "
            f"{estimate_.mean:+.4f} ({interval}; {estimate_.n} slot pairs; "
            f"ON {uplift.on:.4f}, OFF {uplift.off:.4f})")
