"""ON/OFF benchmark: the uplift of a policy run in ``onoff`` mode over its baseline.

How vendors of predictive pairing measure its value (domain brief §2): switch it
ON and OFF in time slots on the same live traffic and compare, often with most
slots ON (80:20) once the vendor is trusted. In ccsim, ``predictive`` with
``onoff: {baseline, slot, on_share, objective}`` decides in ON slots (the first
after midnight, then ``on_share`` of the day's slots spread evenly: every other
one at 0.5, four of five at 0.8) and lets the baseline decide in OFF slots, while
its model keeps learning from every finished contact.

Why alternate slots rather than compare two runs: both arms see the same
traffic, staffing and time-of-day pattern, which is how it can be done in a
real center, where one cannot replay a day. Adjacent ON and OFF slots are
blocked so that slow changes over the day (load, mix) cancel in the difference.

A block is a run of ON slots and the run of OFF slots after it: an (ON, OFF)
pair at 0.5, four ON and one OFF at 0.8, one ON and four OFF at 0.2. Uplift =
mean over blocks of (metric over the block's ON slots - metric over its OFF
slots), pooled over replications, with a 95% Student-t interval over the blocks.
The metric (the experiment's ``objective``: fcr, aht_s or match_hit_rate) pools
the slots' intervals, weighted by the contacts handled (``net_value``, a total, is
summed and divided by the contacts handled: net value per handled contact), and counts contacts by
the interval in which they arrived (as every per-interval result does). An
unequal split measures the OFF arm from fewer contacts, so its interval is wider
than a 50:50 split's of the same length: the price of keeping most traffic ON.

Read it with care:

* Warm-up: the model starts knowing nothing. Set ``run.warmup`` long enough for
  it to learn; only measured intervals count.
* The interval treats blocks as independent. Neighbouring slots share a queue at
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
PER_HANDLED_TOTALS = ("net_value",)
"""Totals per interval, measured per handled contact: a slot's is its intervals' sum over
their contacts handled (ON and OFF sides handle different numbers of contacts)."""


@dataclass(frozen=True)
class Uplift:
    """The ON minus OFF difference of one metric, over blocks of adjacent slots."""

    label: str
    """Results label of the policy run in ON/OFF mode."""
    baseline: str
    metric: str
    on: float
    """Mean of the metric over the ON slots of the pairs."""
    off: float
    """Mean of the metric over the OFF slots of the pairs."""
    uplift: Estimate
    """Mean ON - OFF per block with its 95% t-interval; ``n`` = blocks."""
    on_share: float = 0.5
    """Share of the day's slots that were ON."""

    def as_json(self) -> dict[str, Any]:
        """``{"metric", "baseline", "on_share", "on", "off", "uplift": {"mean", "ci95"},
        "pairs"}``; ``pairs`` counts blocks (ON, OFF pairs when slots alternate)."""
        return {"metric": self.metric, "baseline": self.baseline, "on_share": self.on_share,
                "on": _json(self.on), "off": _json(self.off),
                "uplift": self.uplift.as_json(), "pairs": self.uplift.n}


def uplifts(results: RunResults, metric: str | None = None) -> dict[str, Uplift]:
    """The uplift of every label of ``results`` whose policy ran in ON/OFF mode, in each
    one's ``objective`` unless ``metric`` is given."""
    return {label: onoff_uplift(results, label, metric) for label, replications
            in results.runs.items() if _onoff(results, replications[0].policy) is not None}


def onoff_uplift(results: RunResults, label: str = "predictive",
                 metric: str | None = None) -> Uplift:
    """The uplift of the policy behind ``label`` (run with ``onoff``) over its baseline, in
    ``metric`` (default: the experiment's ``objective``).

    Raises ``ValueError`` when ``label`` was not run, its policy has no ``onoff``
    parameters, or ``metric`` cannot be pooled per handled contact (``PER_HANDLED``,
    ``PER_HANDLED_TOTALS``).
    """
    if metric is not None and metric not in PER_HANDLED + PER_HANDLED_TOTALS:
        raise ValueError(f"metric {metric!r} cannot be pooled over slots; allowed: "
                         f"{', '.join(PER_HANDLED + PER_HANDLED_TOTALS)}")
    if label not in results.runs:
        raise ValueError(f"{label!r} was not run; run: {', '.join(results.runs)}")
    replications = results.runs[label]
    policy = replications[0].policy
    onoff = _onoff(results, policy)
    if onoff is None:
        raise ValueError(f"policy {policy!r} did not run in ON/OFF mode; allowed: a policy "
                         f"with onoff parameters (routing.{policy}.onoff)")
    metric = metric or onoff.objective
    day_slots = onoff.day_slots()
    blocks = _blocks(day_slots)
    ons: list[float] = []
    offs: list[float] = []
    for replication in replications:
        weighted, handled = _slot_sums(replication.by_interval, metric, onoff.slot,
                                       len(day_slots))
        for on_slots, off_slots in blocks:
            on, off = _pooled(on_slots, weighted, handled), _pooled(off_slots, weighted, handled)
            if not (math.isnan(on) or math.isnan(off)):
                ons.append(on)
                offs.append(off)
    return Uplift(label, onoff.baseline, metric,
                  statistics.fmean(ons) if ons else math.nan,
                  statistics.fmean(offs) if offs else math.nan,
                  estimate(on - off for on, off in zip(ons, offs)), onoff.on_share)


def _blocks(day_slots: tuple[bool, ...]) -> list[tuple[range, range]]:
    """The day's blocks: a run of ON slots and the run of OFF slots after it (an ON, OFF
    pair when slots alternate); a last run of ON slots with no OFF after it is left out."""
    blocks = []
    start = 0
    while start < len(day_slots):
        off = start
        while off < len(day_slots) and day_slots[off]:
            off += 1
        end = off
        while end < len(day_slots) and not day_slots[end]:
            end += 1
        if end > off:
            blocks.append((range(start, off), range(off, end)))
        start = end
    return blocks


def _pooled(slots: range, weighted: list[float], handled: list[float]) -> float:
    """The metric over ``slots``, weighted by the contacts handled (NaN: none handled)."""
    count = sum(handled[i] for i in slots)
    return sum(weighted[i] for i in slots) / count if count > 0 else math.nan


def _onoff(results: RunResults, policy: str) -> Any:
    """The ``onoff`` parameters ``policy`` ran with, or None."""
    scenario = results.scenario
    params = policy_spec(policy).parse_params(scenario.routing.params_for(policy), scenario)
    return getattr(params, "onoff", None)


def _json(value: float) -> float | None:
    return None if math.isnan(value) else value


def _slot_sums(by_interval: dict[str, dict[str, float]], metric: str, slot: float,
               slots: int) -> tuple[list[float], list[float]]:
    """Per slot of the day: the metric times the contacts handled, summed over the slot's
    intervals, and the contacts handled."""
    weighted = [0.0] * slots
    handled = [0.0] * slots
    total = metric in PER_HANDLED_TOTALS
    for label, figures in by_interval.items():
        count, value = figures.get("handled", 0.0), figures.get(metric, math.nan)
        if count > 0 and not math.isnan(value):
            index = int(_seconds(label) // slot)
            weighted[index] += value if total else value * count
            handled[index] += count
    return weighted, handled


def _seconds(label: str) -> float:
    """Time of day of an interval label, ``HH:MM`` or ``HH:MM:SS``."""
    parts = [int(part) for part in label.split(":")]
    return parts[0] * 3600.0 + parts[1] * 60.0 + (parts[2] if len(parts) > 2 else 0)


def format_uplift(uplift: Uplift) -> str:
    """One line for a terminal, e.g. ``fcr ON/OFF uplift of predictive over fcfs: ...``."""
    estimate_ = uplift.uplift
    interval = (f"95% CI {estimate_.low:+.4f} to {estimate_.high:+.4f}"
                if not math.isnan(estimate_.low) else "no CI: fewer than 2 pairs")
    blocks = ("slot pairs" if uplift.on_share == 0.5 else
              f"blocks of slots, {uplift.on_share:.0%} ON")
    return (f"{uplift.metric} ON/OFF uplift of {uplift.label} over {uplift.baseline}: "
            f"{estimate_.mean:+.4f} ({interval}; {estimate_.n} {blocks}; "
            f"ON {uplift.on:.4f}, OFF {uplift.off:.4f})")
