"""Streaming metric accumulators and the metric definitions ccsim commits to.

The engine updates one ``ContactCell`` per (contact type, interval of the day)
and one ``GroupCell`` per (agent group, interval); memory depends on the
number of types, groups and intervals, never on the number of contacts.
Per-type, per-group, per-interval and overall figures are sums of cells,
computed once at the end. Definitions (see docs/scenarios.md, "Metrics"):

* offered = arrivals - blocked (blocked contacts never entered the queue);
* service_level = answered within T / (answered + abandoned after T);
* asa_s = mean wait of answered contacts; mean_wait_s = mean time in queue of
  answered and abandoned contacts; wait percentiles are over answered contacts;
* abandon_rate = abandoned / offered (short abandons included; reported apart);
* p_wait = share of offered contacts that had to queue;
* aht_s = talk + wrap-up per handled contact (contacts finished in the window);
* with an identity block, offered also leaves out contacts that ended in the
  IVR (self-service, refused there) or were still in it at the end; waits are
  measured from the end of the IVR, when the contact enters the queue; so with an IVR
  menu (``sim.stages.ivr``: hang-ups and self-service in the menu, callers still in it);
* occupancy = handling / (handling + available idle time);
  utilisation = handling / logged-in time. They coincide until agents have
  not-ready states, which the model does not have yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import reduce
from operator import add, attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.stages.ivr import IvrCell

LINEAR_BIN_WIDTH = 0.25
"""Seconds per histogram bin below ``LINEAR_LIMIT``."""
LINEAR_LIMIT = 60.0
LOG_RATIO = 1.01
"""Above ``LINEAR_LIMIT`` bins grow geometrically: percentiles within 1% relative."""
_LINEAR_BINS = int(LINEAR_LIMIT / LINEAR_BIN_WIDTH)
_LOG_BINS = int(math.log(1e7 / LINEAR_LIMIT) / math.log(LOG_RATIO)) + 1
HISTOGRAM_BINS = 1 + _LINEAR_BINS + _LOG_BINS
"""Bin 0 holds waits of exactly zero (answered at once), so low percentiles read 0."""
_INV_LOG_RATIO = 1.0 / math.log(LOG_RATIO)

CONTACT_METRICS = (
    "arrivals", "offered", "answered", "abandoned", "short_abandons", "blocked",
    "in_queue_at_end", "service_level", "asa_s", "mean_wait_s", "wait_p50_s", "wait_p90_s",
    "wait_p99_s", "abandon_rate", "p_wait", "handled", "aht_s",
)
AGENT_METRICS = ("occupancy", "utilisation", "agents_logged_in")
RING_METRICS = ("ring_offers", "direct_reach_rate", "fallback_rate")
"""Figures of mobile agents, present when some group is mobile."""
SYSTEM_METRICS = ("mean_queue_length", "measured_hours")
OVERALL_METRICS = CONTACT_METRICS + AGENT_METRICS + SYSTEM_METRICS

SHARE_METRICS = frozenset({
    "service_level", "abandon_rate", "p_wait", "occupancy", "utilisation", "fcr",
    "match_hit_rate", "direct_reach_rate", "fallback_rate", "passive_identified",
    "self_service_rate", "asked_rate", "genuine_refused_rate", "flag_precision",
    "customer_abandon_rate", "callback_reach_rate", "cross_channel_recognised",
    "outbound_hit_rate", "outbound_agent_share", "shrinkage", "break_adherence",
    "transfer_rate", "chain_fcr",
    "ivr_hang_up_rate", "ivr_self_service_rate",
})
"""Figures that are shares of a whole (0 to 1): a part over a total that contains it."""


SIGNED_METRICS = frozenset({"net_value"})
"""Figures that are a balance of money in and out, so may be negative (``sim.stages.costs``)."""


def metric_range(name: str) -> tuple[float, float]:
    """The values figure ``name`` can take, which its confidence interval is clipped to.

    Every other figure the engine reports is a count, a time, an amount of money or a ratio
    of such sums, so none is negative; shares (``SHARE_METRICS``) are also at most 1.
    A t-interval from few replications ignores that (an ASA interval reaching below 0 s,
    occupancy above 100%), so the interval is cut at the range. Paired differences are
    signed and are not clipped.
    """
    if name in SIGNED_METRICS:
        return -math.inf, math.inf
    return (0.0, 1.0) if name in SHARE_METRICS else (0.0, math.inf)


def wait_bin(wait: float) -> int:
    """Histogram bin of a positive wait in seconds (bin 0 is for waits of exactly zero)."""
    # floor, not int: the same for these positive values, and a builtin function's call is
    # specialised where int's (a class call) is not: 8 ns against 55.
    if wait < LINEAR_LIMIT:
        return 1 + math.floor(wait * (1.0 / LINEAR_BIN_WIDTH))
    index = 1 + _LINEAR_BINS + math.floor(math.log(wait / LINEAR_LIMIT) * _INV_LOG_RATIO)
    return index if index < HISTOGRAM_BINS else HISTOGRAM_BINS - 1


def bin_edges(index: int) -> tuple[float, float]:
    """Lower and upper wait (seconds) of histogram bin ``index``; bin 0 is exactly zero."""
    if index == 0:
        return 0.0, 0.0
    if index <= _LINEAR_BINS:
        return (index - 1) * LINEAR_BIN_WIDTH, index * LINEAR_BIN_WIDTH
    k = index - 1 - _LINEAR_BINS
    return LINEAR_LIMIT * LOG_RATIO**k, LINEAR_LIMIT * LOG_RATIO ** (k + 1)


def histogram_quantile(counts: Sequence[int], q: float) -> float:
    """The ``q`` quantile, interpolated linearly inside its bin; NaN when empty."""
    total = sum(counts)
    if total == 0:
        return math.nan
    target = q * total
    running = 0
    for index, count in enumerate(counts):
        if count and running + count >= target:
            low, high = bin_edges(index)
            return low + (high - low) * (target - running) / count
        running += count
    return bin_edges(len(counts) - 1)[1]


_CONTACT_COUNTERS = (
    "arrivals", "blocked", "answered", "answered_in_sl", "abandoned", "abandoned_in_sl",
    "short_abandoned", "queued", "wait_answered_sum", "wait_abandoned_sum", "handled",
    "handle_sum", "in_queue_at_end", "in_service_at_end", "resolved", "matched", "repeats",
    "retrials", "retried", "callbacks_offered", "callbacks_accepted", "callbacks_completed",
    "callbacks_unreached", "callbacks_pending_at_end", "journeys", "journeys_recognised",
    "wait_unreached_sum", "wait_at_end_sum",
)


_counters = attrgetter(*_CONTACT_COUNTERS)
_NO_WAITS = (0,)
"""The histogram of a cell nobody was answered in, for its (NaN) percentiles."""


class ContactCell:
    """Counters for the contacts of one type that arrived in one interval of the day."""

    __slots__ = (*_CONTACT_COUNTERS, "tracks", "histogram", "identity", "sl_threshold", "ivr")

    def __init__(self, identity: bool = False, tracks: int = 0,
                 sl_threshold: float = 20.0) -> None:
        for name in _CONTACT_COUNTERS:
            setattr(self, name, 0)
        self.tracks = tracks
        """Which optional figures apply: TRACK_OUTCOMES, TRACK_MATCHING, TRACK_OMNI (bit flags)."""
        self.histogram: list[int] | None = None
        """Answered contacts per wait bin (``wait_bin``); made at the first answer, so that
        the many cells nobody is answered in (a type's intervals outside its hours) cost
        no 1,400-bin list each."""
        self.identity = IdentityCell() if identity else None
        """Identity and verification counters, when the scenario has an identity block."""
        self.sl_threshold = sl_threshold
        """T of SL(T) for these contacts (their channel's, else the scenario's)."""
        self.ivr: IvrCell | None = None
        """IVR menu counters, set by ``sim.stages.ivr`` when the scenario has a menu."""

    def new_histogram(self) -> list[int]:
        """The cell's wait histogram, made empty now (at the first answered contact)."""
        self.histogram = histogram = [0] * HISTOGRAM_BINS
        return histogram

    def wait_counts(self) -> list[int]:
        """The wait histogram, all zeros when nobody was answered."""
        return self.histogram or [0] * HISTOGRAM_BINS

    def add(self, other: ContactCell) -> None:
        """Add ``other``'s counts into this cell."""
        self.add_all((other,))

    def add_all(self, others: Iterable[ContactCell]) -> None:
        """Add the counts of ``others`` into this cell: the same numbers as ``add`` of each
        in turn (every float sum in the same order), at a fraction of the cost for many.

        The results sum each cell into several scopes (type, interval, tier), hundreds of
        cells each: one pass per counter over all of them (``reduce`` in C) instead of a
        Python ``setattr`` per counter and cell, and wait histograms summed bin by bin
        across all cells at once instead of a new 1,400-bin list per cell."""
        rows, histograms, identities = [], [], []
        for other in others:
            self.tracks |= other.tracks
            counts = _counters(other)
            if any(counts):  # an empty cell changes nothing: skip its 28 sums
                rows.append(counts)
            if other.answered:  # the histogram holds answered contacts only
                histograms.append(other.histogram)
            if other.identity is not None:
                identities.append(other.identity)
            if other.ivr is not None:
                if self.ivr is None:
                    self.ivr = other.ivr.empty()
                self.ivr.add(other.ivr)
        if rows:
            for name, start, column in zip(_CONTACT_COUNTERS, _counters(self), zip(*rows)):
                setattr(self, name, reduce(add, column, start))
        if histograms:
            if self.histogram:
                histograms.insert(0, self.histogram)
            # Bin by bin across all cells at once (exact: integer counts); a bin's tuple
            # across cells costs more than the pairwise sum when there are two.
            self.histogram = (list(histograms[0]) if len(histograms) == 1
                              else list(map(add, *histograms)) if len(histograms) == 2
                              else list(map(sum, zip(*histograms))))
        if identities:
            if self.identity is None:
                self.identity = IdentityCell()
            self.identity.add_all(identities)

    def figures(self) -> dict[str, float]:
        """Contact metrics of this cell; NaN where a ratio has no denominator."""
        identity = self.identity
        offered = self.arrivals - self.blocked - (
            identity.ivr_exits + identity.in_ivr_at_end if identity is not None else 0) - (
            self.ivr.unqueued if self.ivr is not None else 0)
        sl_base = self.answered + self.abandoned - self.abandoned_in_sl
        # A call back that reached no one also left the queue after its wait.
        finished = self.answered + self.abandoned + self.callbacks_unreached
        waits = self.histogram or _NO_WAITS
        return {
            "arrivals": float(self.arrivals),
            "offered": float(offered),
            "answered": float(self.answered),
            "abandoned": float(self.abandoned),
            "short_abandons": float(self.short_abandoned),
            "blocked": float(self.blocked),
            "in_queue_at_end": float(self.in_queue_at_end),
            "service_level": _ratio(self.answered_in_sl, sl_base),
            "asa_s": _ratio(self.wait_answered_sum, self.answered),
            "mean_wait_s": _ratio(self.wait_answered_sum + self.wait_abandoned_sum
                                  + self.wait_unreached_sum, finished),
            "wait_p50_s": histogram_quantile(waits, 0.50),
            "wait_p90_s": histogram_quantile(waits, 0.90),
            "wait_p99_s": histogram_quantile(waits, 0.99),
            "abandon_rate": _ratio(self.abandoned, offered),
            "p_wait": _ratio(self.queued, offered),
            "handled": float(self.handled),
            "aht_s": _ratio(self.handle_sum, self.handled),
        } | (identity.figures(self.arrivals, self.handled, self.handle_sum)
             if identity is not None else {}) | self._optional_figures() | (
            self.ivr.figures() if self.ivr is not None else {})

    def _optional_figures(self) -> dict[str, float]:
        figures = {}
        if self.tracks & TRACK_OUTCOMES:
            figures["fcr"] = _ratio(self.resolved, self.handled)
            figures["repeat_contacts"] = float(self.repeats)
        if self.tracks & TRACK_MATCHING:
            figures["match_hit_rate"] = _ratio(self.matched, self.handled)
        if self.tracks & TRACK_OMNI:
            # A customer's need is their first contact; it is lost when its last try
            # abandoned (an abandoned contact that was retried is not the last try).
            needs = self.arrivals - self.retrials - self.repeats
            figures |= {
                "in_service_at_end": float(self.in_service_at_end),
                "retrials": float(self.retrials),
                "needs": float(needs),
                "customer_abandon_rate": _ratio(self.abandoned - self.retried, needs),
                "callbacks_offered": float(self.callbacks_offered),
                "callbacks_accepted": float(self.callbacks_accepted),
                "callbacks_completed": float(self.callbacks_completed),
                "callbacks_unreached": float(self.callbacks_unreached),
                "callbacks_pending_at_end": float(self.callbacks_pending_at_end),
                "callback_reach_rate": _ratio(
                    self.callbacks_completed,
                    self.callbacks_completed + self.callbacks_unreached),
                "cross_channel_contacts": float(self.journeys),
                "cross_channel_recognised": _ratio(self.journeys_recognised, self.journeys),
                # Seconds waited so far by contacts still in queue at the end (e-mail left
                # overnight): with finished waits, the whole area under the queue length.
                "queue_wait_at_end_s": float(self.wait_at_end_sum),
            }
        return figures


TRACK_OUTCOMES, TRACK_MATCHING, TRACK_OMNI = 1, 2, 4

IDENTITY_COUNTERS = (
    "genuine", "prospects", "fraud_attempts", "passive_identified", "flagged", "flagged_fraud",
    "self_served", "refused_in_ivr", "in_ivr_at_end", "ivr_verify_sum", "agent_verify_sum",
    "cost_sum", "concluded", "asked", "genuine_concluded", "genuine_refused", "fraud_caught",
    "fraud_let_through", "fraud_loss",
)
_identity_counters = attrgetter(*IDENTITY_COUNTERS)


class IdentityCell:
    """Identity and verification counters of the contacts of one cell.

    Arrival-time counts (kinds, passive identification, flags, IVR time) are
    taken when the contact arrives; outcomes when its journey ends (in the
    IVR, or when the agent finishes). Money is summed as it is spent.
    """

    __slots__ = IDENTITY_COUNTERS

    def __init__(self) -> None:
        for name in IDENTITY_COUNTERS:
            setattr(self, name, 0)

    @property
    def ivr_exits(self) -> int:
        """Contacts that ended in the IVR and never queued."""
        return self.self_served + self.refused_in_ivr  # type: ignore[no-any-return]

    def add(self, other: IdentityCell) -> None:
        """Add ``other``'s counts into this cell."""
        self.add_all((other,))

    def add_all(self, others: Sequence[IdentityCell]) -> None:
        """Add the counts of ``others`` into this cell, in order (see ``ContactCell.add_all``)."""
        columns = zip(*map(_identity_counters, others))
        for name, start, column in zip(IDENTITY_COUNTERS, _identity_counters(self), columns):
            setattr(self, name, reduce(add, column, start))

    def figures(self, arrivals: int, handled: int, handle_sum: float) -> dict[str, float]:
        """Identity metrics; see docs/identity.md for the definitions."""
        return {
            "genuine": float(self.genuine),
            "prospects": float(self.prospects),
            "passive_identified": _ratio(self.passive_identified, arrivals),
            "self_service": float(self.self_served),
            "self_service_rate": _ratio(self.self_served, arrivals),
            "refused_in_ivr": float(self.refused_in_ivr),
            "in_ivr_at_end": float(self.in_ivr_at_end),
            "verify_ivr_s": _ratio(self.ivr_verify_sum, arrivals),
            "verify_agent_s": _ratio(self.agent_verify_sum, handled),
            "aht_without_verify_s": _ratio(handle_sum - self.agent_verify_sum, handled),
            "verify_cost": _ratio(self.cost_sum, arrivals),
            "asked_rate": _ratio(self.asked, self.concluded),
            "genuine_refused": float(self.genuine_refused),
            "genuine_refused_rate": _ratio(self.genuine_refused, self.genuine_concluded),
            "fraud_attempts": float(self.fraud_attempts),
            "fraud_caught": float(self.fraud_caught),
            "fraud_let_through": float(self.fraud_let_through),
            "fraud_loss": float(self.fraud_loss),
            "fraud_loss_per_contact": _ratio(self.fraud_loss, arrivals),
            "flags_raised": float(self.flagged),
            "flag_precision": _ratio(self.flagged_fraud, self.flagged),
        }


class GroupCell:
    """Agent time of one group in one interval of the day."""

    __slots__ = ("busy", "logged_in", "handled", "handle_sum", "ring_offers", "ring_answered",
                 "mobile")

    def __init__(self, mobile: bool = False) -> None:
        self.busy = 0.0
        self.logged_in = 0.0
        self.handled = 0
        self.handle_sum = 0.0
        self.ring_offers = 0
        self.ring_answered = 0
        self.mobile = mobile
        """Whether the group rings (mobile agents): then reach figures apply."""

    def add(self, other: GroupCell) -> None:
        """Add ``other``'s times and counts into this cell."""
        self.busy += other.busy
        self.logged_in += other.logged_in
        self.handled += other.handled
        self.handle_sum += other.handle_sum
        self.ring_offers += other.ring_offers
        self.ring_answered += other.ring_answered
        self.mobile = self.mobile or other.mobile

    def figures(self, measured_time: float) -> dict[str, float]:
        """Agent metrics: occupancy, utilisation, mean agents logged in, contacts
        finished in the window and their mean handling time."""
        idle = self.logged_in - self.busy
        return {
            "occupancy": _ratio(self.busy, self.busy + idle),
            "utilisation": _ratio(self.busy, self.logged_in),
            "agents_logged_in": _ratio(self.logged_in, measured_time),
            "handled": float(self.handled),
            "aht_s": _ratio(self.handle_sum, self.handled),
        } | ({"ring_offers": float(self.ring_offers),
              "direct_reach_rate": _ratio(self.ring_answered, self.ring_offers),
              "fallback_rate": _ratio(self.ring_offers - self.ring_answered, self.ring_offers)}
             if self.mobile else {})


def merged_contacts(cells: Iterable[ContactCell]) -> ContactCell:
    """Sum of contact cells."""
    total = ContactCell()
    total.add_all(cells)
    return total


def merged_groups(cells: Iterable[GroupCell]) -> GroupCell:
    """Sum of group cells."""
    total = GroupCell()
    for cell in cells:
        total.add(cell)
    return total


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan
