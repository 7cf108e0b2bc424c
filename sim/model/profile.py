"""Customer profiles and the interaction predictor (domain brief S3, S7).

Every finished interaction (inbound contact or outbound attempt) is written to
the customer's profile (``ProfileStore.record``). The ``InteractionPredictor``
derives behavioural estimates from a profile on demand: the customer's hour
and channel habits, patience per channel, and the chance that an outbound
attempt at a given hour and channel reaches them, and from that the best time
and channel to make contact.

Every estimate is a posterior mean that shrinks the customer's own counts
towards a segment prior (``Priors``) with a pseudo-count ``prior_weight``: a
customer without history gets the prior exactly, and a habitual customer's
own pattern dominates after a handful of contacts. Estimates at time ``now``
use only interactions that ended by ``now``, so the predictor never peeks at
outcomes the center could not yet know.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from sim.errors import FieldError
from sim.model.customers import categories
from sim.model.fields import Int, Number, Probability, StrictModel
from sim.model.sharing import BuildCache, Column, as_numpy, codes, floats, generator_key
from sim.model.traits import estimate_multiplier

if TYPE_CHECKING:
    from sim.model.customers import Population

HOURS = 24
HOUR = 3600.0
DAY = 86400.0

INBOUND, OUTBOUND = "inbound", "outbound"
"""Directions of an interaction: made by the customer, or by the center to them."""

SERVED, ABANDONED, SELF_SERVED, BLOCKED = "served", "abandoned", "self_served", "blocked"
"""Outcomes of an inbound contact."""

REACHED, UNREACHED = "reached", "unreached"
"""Outcomes of an outbound attempt (right-party contact or not)."""


class Interaction(NamedTuple):
    """One finished interaction in a customer's profile.

    A NamedTuple because profiles keep many of them: it is compact and cheap to build.
    """

    start: float
    """Seconds since run start (negative for pre-run history)."""
    end: float
    """When it finished; an estimate at ``now`` uses it only if ``end <= now``."""
    channel: str
    direction: str
    """``INBOUND`` or ``OUTBOUND``."""
    outcome: str
    """``SERVED``, ``ABANDONED``, ``SELF_SERVED``, ``BLOCKED``, ``REACHED`` or ``UNREACHED``."""
    waited: float = 0.0
    """Seconds in queue; for ``ABANDONED``, the time until the customer gave up."""
    patience_scale: float = math.inf
    """Mean patience of the contact's segment (its type's x its tier's factor), kept with
    customer traits to learn the customer's patience multiplier; ``inf``: not learned from."""


_new_tuple = tuple.__new__


def hour_of_day(time: float) -> int:
    """Hour of day (0-23) of a time in seconds since run start (day 0 starts at 0)."""
    return int(time % DAY // HOUR)


class PredictorConfig(StrictModel):
    """The scenario's ``predictor`` block: how profiles are kept and estimates shrunk."""

    history_kept: Int = Field(
        default=20, ge=1, description="Most recent interactions kept per customer "
        "(bounds memory; S3 reasons over the last 20 contacts).")
    prior_weight: Number = Field(
        default=4.0, gt=0, description="Pseudo-count of the segment prior in every "
        "estimate: how many of the customer's own interactions weigh as much as the prior.")
    history_days: Number = Field(
        default=90.0, gt=0, description="Pre-run history (customers.history contacts per "
        "customer) is spread over this many days before the run starts.")
    answer_low: Probability = Field(
        default=0.15, description="Prior chance that an outbound attempt reaches the "
        "customer outside their habitual hours and channel.")
    answer_high: Probability = Field(
        default=0.6, description="Prior chance that an outbound attempt reaches the "
        "customer at their most habitual hour on their most habitual channel.")

    @model_validator(mode="after")
    def _ordered(self) -> PredictorConfig:
        if self.answer_low > self.answer_high:
            raise FieldError(("answer_high",), (
                f"{self.answer_high:g} is below answer_low ({self.answer_low:g}); allowed: "
                "a chance at least answer_low"))
        return self


class Priors:
    """Segment priors: the estimates for a customer without history, and the target
    every customer's estimates shrink towards."""

    def __init__(self, channels: tuple[str, ...], hour_weights: np.ndarray,
                 channel_shares: Mapping[str, float], patience_mean: Mapping[str, float]) -> None:
        """``hour_weights``: 24 non-negative weights of contacts by hour of day (any scale);
        ``channel_shares``: weight of each of ``channels`` (missing ones weigh 0);
        ``patience_mean``: mean patience in seconds per channel, ``math.inf`` for a
        channel where customers never abandon."""
        weights = np.asarray(hour_weights, dtype=float)
        if weights.shape != (HOURS,) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("hour_weights must be 24 non-negative weights with a positive sum")
        unknown = set(channel_shares) - set(channels)
        if unknown:
            raise ValueError(f"channel_shares names unknown channels: {', '.join(sorted(unknown))}")
        shares = np.array([channel_shares.get(c, 0.0) for c in channels], dtype=float)
        if (shares < 0).any() or shares.sum() <= 0:
            raise ValueError("channel_shares must be non-negative with a positive sum")
        self.channels = channels
        self.channel_index = {c: i for i, c in enumerate(channels)}
        self.hour_shares: np.ndarray = weights / weights.sum()
        """Prior share of contacts by hour of day (sums to 1)."""
        self.channel_shares: np.ndarray = shares / shares.sum()
        """Prior share of contacts by channel, in the order of ``channels`` (sums to 1)."""
        self.patience_mean = dict(patience_mean)

    @classmethod
    def from_population(cls, population: Population, hour_weights: np.ndarray,
                        patience_mean: Mapping[str, float]) -> Priors:
        """The priors that match how ``population`` and ``ProfileStore.seed_history`` draw
        habits: preferred hours start with ``hour_weights`` (the weights the population was
        built with) and last ``habit_window``; a share ``habit_strength`` of contacts falls
        inside them, the rest at a uniform hour. Channels keep the population's shares."""
        weights = np.asarray(hour_weights, dtype=float)
        window = round(population.habit_window / HOUR)
        # A window starting at hour s covers s .. s+window-1: each hour's chance of being
        # covered is the sum of the start weights of the window hours before it.
        start = weights / weights.sum()
        covered = sum(np.roll(start, k) for k in range(window)) / window
        strength = population.spec.habit_strength
        hours = strength * covered + (1.0 - strength) / HOURS
        return cls(population.channel_names, hours, population.spec.channels, patience_mean)


class _SeededHistory(NamedTuple):
    """Every customer's pre-run contacts, read-only, shared by the stores seeded from them."""

    offsets: Column
    """Customer i's contacts are entries ``offsets[i]:offsets[i + 1]``."""
    start: Column
    """Start times, by customer and, for one customer, in time order."""
    channel: Column
    """Codes into ``channels``."""
    channels: tuple[str, ...]
    state: dict[str, Any]
    """The generator's state after the draws."""
    interactions: list[tuple[Interaction, ...] | None]
    """Customer i's latest seeded contacts as ``Interaction``s, made at a store's first use
    of customer i and shared by every later store that keeps no more of them (tuples:
    read-only)."""


class ProfileStore:
    """Every customer's recent interactions (a bounded deque per customer, created lazily).

    The seeded pre-run history is shared: a store copies a customer's seeded contacts
    into the customer's own deque when the history is first read, so runs seeded alike
    cost one draw, make each customer's seeded ``Interaction``s once, and never see
    each other's interactions. A customer whose history is only written (most of them:
    a run records every contact, a policy reads few profiles) never has them made.
    """

    shared_histories: ClassVar[BuildCache[_SeededHistory]] = BuildCache(2)
    """Seeded histories kept for ``seed_history`` (two, like ``Population.shared_builds``)."""

    def __init__(self, size: int, keep: int) -> None:
        """Profiles for customers ``0 .. size-1``, each keeping its ``keep`` latest interactions."""
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.keep = keep
        # None until a customer's first interaction: most customers of a large
        # population never make contact in a short run.
        self._histories: list[deque[Interaction] | None] = [None] * size
        self._seeded: _SeededHistory | None = None
        self._without_seeded: set[int] = set()
        """Customers whose deque holds this run's interactions only: their seeded contacts
        (all earlier) go in front at the first read."""

    def record(self, customer: int, interaction: Interaction) -> None:
        """Write a finished interaction to the customer's profile (the oldest may drop out)."""
        history = self._histories[customer]
        if history is None:
            history = self._histories[customer] = deque(maxlen=self.keep)
            if self._seeded is not None:
                self._without_seeded.add(customer)
        history.append(interaction)

    def history(self, customer: int) -> tuple[Interaction, ...]:
        """The customer's kept interactions, in the order they were recorded."""
        history = self._histories[customer]
        if history is None or customer in self._without_seeded:
            if self._seeded is None:
                return ()
            self._without_seeded.discard(customer)
            history = self._histories[customer] = self._with_seeded(customer, history or ())
        return tuple(history)

    def _with_seeded(self, customer: int, recorded: Iterable[Interaction]) -> deque[Interaction]:
        """The customer's deque: the latest ``keep`` of the seeded contacts then ``recorded``."""
        seeded = self._seeded
        assert seeded is not None
        first, last = seeded.offsets[customer], seeded.offsets[customer + 1]
        contacts = seeded.interactions[customer]
        if contacts is None or len(contacts) < min(self.keep, last - first):
            first = max(first, last - self.keep)  # the latest ``keep``: all a deque holds
            names = seeded.channels
            # tuple.__new__ builds the NamedTuple without its Python-level __new__ (a call
            # per contact, most of this function's time); every field is given.
            contacts = seeded.interactions[customer] = tuple([
                _new_tuple(Interaction, (begin, begin + 300.0, names[which], INBOUND, SERVED,
                                         0.0, math.inf))
                for begin, which in zip(seeded.start[first:last], seeded.channel[first:last])])
        history = deque(contacts, maxlen=self.keep)  # the latest ``keep`` of them
        history.extend(recorded)
        return history

    def seed_history(self, population: Population, rng: np.random.Generator,
                     days: float) -> None:
        """Pre-run history: customer ``i`` gets ``columns.contacts[i]`` past inbound
        ``SERVED`` contacts, each on a day drawn uniformly from the ``days`` days before 0
        (the day holding time ``-days * 86400`` counts whole).

        Each contact, with probability ``spec.habit_strength``, is on the customer's
        preferred channel at a uniform time inside their preferred hours; otherwise on a
        channel drawn with ``spec.channels`` shares at a uniform time of day. Each lasts
        300 s without waiting. Contacts are recorded in time order, so the profile keeps
        the latest ones.

        Call once, before any ``record``. Stores seeded from the same customers
        (``population.key``), generator state and ``days`` share one drawn history
        (``shared_histories``); either way ``rng`` ends in the state the draws leave.
        """
        if self._seeded is not None or self._histories.count(None) != len(self._histories):
            raise ValueError("seed_history must be called once, before any record")
        key = (population.key, generator_key(rng), days)
        seeded = self.shared_histories.get(key, lambda: _draw_history(population, rng, days))
        # A shared history skipped the draws: move rng on as drawing would have.
        rng.bit_generator.state = seeded.state
        self._seeded = seeded


def _draw_history(population: Population, rng: np.random.Generator,
                  days: float) -> _SeededHistory:
    """The draws of ``ProfileStore.seed_history``."""
    columns = population.columns
    counts = as_numpy(columns.contacts).astype(np.int64)
    owner = np.repeat(np.arange(population.size), counts)
    total = len(owner)
    names = population.channel_names
    preferred = as_numpy(columns.channel).astype(np.int64)
    habit_start = as_numpy(columns.habit_hour) * HOUR
    # One draw per column for all contacts at once; the order of draws is fixed, so a
    # seed gives one history.
    day_start = np.floor(rng.uniform(-days * DAY, 0.0, total) / DAY) * DAY
    in_habit = rng.random(total) < population.spec.habit_strength
    habit_time = habit_start[owner] + rng.random(total) * population.habit_window
    other_time = rng.random(total) * DAY
    shares = np.cumsum(list(population.spec.channels.values()))
    other_channel = categories(shares / shares[-1], rng.random(total))
    start = day_start + np.where(in_habit, habit_time % DAY, other_time)
    channel = np.where(in_habit, preferred[owner], other_channel)
    # By customer, then by time: each customer's contacts are one run of entries.
    order = _by_owner_then_time(owner, start, math.ceil(days) * DAY)
    return _SeededHistory(codes(np.concatenate(([0], np.cumsum(counts)))), floats(start[order]),
                          codes(channel[order]), names, rng.bit_generator.state,
                          [None] * population.size)


def _by_owner_then_time(owner: np.ndarray, start: np.ndarray, before: float) -> np.ndarray:
    """The permutation ``np.lexsort((start, owner))`` gives, for starts in [-before, DAY).

    One sort of the float key owner x span + start + before (span wider than the starts'
    range) is 5-10 times faster than lexsort's two passes. Rounding the key keeps its
    order (it may only make unequal keys equal), so when all keys differ the order is
    lexsort's exactly; equal keys (e.g. equal starts of one customer, whose order lexsort
    keeps by index) fall back to lexsort.
    """
    span = before + 2 * DAY
    key = owner * span + (start + before)
    order = np.argsort(key)
    if len(order) > 1 and not (np.diff(key[order]) > 0).all():
        return np.lexsort((start, owner))
    return order


class InteractionPredictor:
    """Per-customer behavioural estimates from the profile (S7).

    Estimates are computed on demand from the at most ``history_kept``
    interactions of one profile, using only those with ``end <= now``.
    """

    def __init__(self, store: ProfileStore, priors: Priors, config: PredictorConfig) -> None:
        self.store = store
        self.priors = priors
        self.config = config

    def _inbound_counts(self, customer: int, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Visible inbound contacts by start hour, and by channel (``priors.channels``
        order; contacts on other channels count in neither)."""
        hours = [0] * HOURS
        channels = [0] * len(self.priors.channels)
        index = self.priors.channel_index
        for item in self.store.history(customer):
            if item.end <= now and item.direction == INBOUND:
                which = index.get(item.channel)
                if which is not None:
                    channels[which] += 1
                hours[int(item.start % DAY // HOUR)] += 1
        return np.array(hours, dtype=float), np.array(channels, dtype=float)

    def _shrink(self, prior: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Dirichlet posterior mean with ``prior_weight`` pseudo-counts spread as ``prior``.

        Written as prior * w/(w+n) + counts/(w+n) so that without counts it is the
        prior exactly (w/w is exactly 1), not merely up to rounding.
        """
        weight = self.config.prior_weight
        total = weight + counts.sum()
        return prior * (weight / total) + counts / total

    def hour_shares(self, customer: int, now: float) -> np.ndarray:
        """Share of the customer's contacts by hour of day (24 values summing to 1)."""
        hours, _ = self._inbound_counts(customer, now)
        return self._shrink(self.priors.hour_shares, hours)

    def channel_shares(self, customer: int, now: float) -> dict[str, float]:
        """Share of the customer's contacts by channel (``priors.channels``)."""
        _, channels = self._inbound_counts(customer, now)
        shares = self._shrink(self.priors.channel_shares, channels)
        return dict(zip(self.priors.channels, shares.tolist()))

    def preferred_channel(self, customer: int, now: float) -> str:
        """The channel with the largest share (ties: the first in ``priors.channels``)."""
        _, channels = self._inbound_counts(customer, now)
        shares = self._shrink(self.priors.channel_shares, channels)
        return self.priors.channels[int(np.argmax(shares))]

    def preferred_hours(self, customer: int, now: float, width_hours: int) -> int:
        """Start hour of the window of ``width_hours`` hours (may wrap midnight) that holds
        the largest share of the customer's contacts (ties: the earliest start)."""
        if not 1 <= width_hours <= HOURS:
            raise ValueError(f"width_hours must be 1 to 24, got {width_hours}")
        shares = self.hour_shares(customer, now)
        # Window starting at s sums shares[s .. s+width-1]: roll left by k for hour s+k.
        windows = sum(np.roll(shares, -k) for k in range(width_hours))
        return int(np.argmax(windows))

    def patience(self, customer: int, channel: str, now: float) -> float:
        """Mean patience in seconds on ``channel``.

        Gamma-exponential conjugate on censored waits: every inbound contact on the
        channel exposes its wait (an abandoned one until the customer gave up, a served
        one until service began), abandonments are the events. Estimate
        (w * prior mean + total wait) / (w + abandonments). A prior mean of ``inf``
        carries no exposure to weigh: the estimate is ``inf`` until the customer has
        abandoned, then total wait / abandonments.
        """
        waited = 0.0
        abandoned = 0
        for item in self.store.history(customer):
            if item.end <= now and item.direction == INBOUND and item.channel == channel:
                waited += item.waited
                abandoned += item.outcome == ABANDONED
        prior = self.priors.patience_mean[channel]
        if math.isinf(prior):
            return waited / abandoned if abandoned else math.inf
        total = self.config.prior_weight + abandoned
        return prior * (self.config.prior_weight / total) + waited / total

    def patience_multiplier(self, customer: int, now: float) -> float:
        """The customer's patience relative to their segment: the posterior mean of their
        patience multiplier (``sim.model.traits.estimate_multiplier``) from every visible
        inbound contact with a ``patience_scale`` (waits / scale are the exposure,
        abandonments the events). 1 exactly without such contacts."""
        exposure = 0.0
        abandoned = 0
        for item in self.store.history(customer):
            if item.end <= now and item.direction == INBOUND and item.patience_scale < math.inf:
                exposure += item.waited / item.patience_scale
                abandoned += item.outcome == ABANDONED
        return estimate_multiplier(exposure, abandoned, self.config.prior_weight)

    def _answer_table(self, customer: int, now: float, channels: Sequence[str]) -> np.ndarray:
        """Chance of reaching the customer by hour of day (rows) and channel of ``channels``
        (columns): prior from the customer's habits, updated with outbound attempts at the
        same hour +-1 on the same channel."""
        config = self.config
        hours, channel_counts = self._inbound_counts(customer, now)
        hour_share = self._shrink(self.priors.hour_shares, hours)
        channel_share = self._shrink(self.priors.channel_shares, channel_counts)
        index = self.priors.channel_index
        # Channels outside the customer's habits (e.g. an sms campaign) get share 0:
        # the answer_low floor.
        wanted = np.array([channel_share[index[c]] if c in index else 0.0 for c in channels])
        prior = config.answer_low + (config.answer_high - config.answer_low) * (
            hour_share[:, None] / hour_share.max()) * (wanted / channel_share.max())
        width = len(channels)
        column = {c: i for i, c in enumerate(channels)}
        # Flat hour * width + column counts; every attempt also counts for the
        # neighbouring hours: answering at 10:00 says much about 9:00 and 11:00.
        attempts = [0] * (HOURS * width)
        reached = [0] * (HOURS * width)
        seen = False
        for item in self.store.history(customer):
            if item.end <= now and item.direction == OUTBOUND and item.channel in column:
                hour = int(item.start % DAY // HOUR)
                which = column[item.channel]
                got = item.outcome == REACHED
                for near in (hour - 1) % HOURS, hour, (hour + 1) % HOURS:
                    attempts[near * width + which] += 1
                    reached[near * width + which] += got
                seen = True
        if not seen:
            return prior
        weight = config.prior_weight
        total = weight + np.array(attempts, dtype=float).reshape(HOURS, width)
        successes = np.array(reached, dtype=float).reshape(HOURS, width)
        return prior * (weight / total) + successes / total

    def answer_probability(self, customer: int, hour: int, channel: str, now: float) -> float:
        """Chance that an outbound attempt at ``hour`` (of day) on ``channel`` reaches the
        customer.

        Prior m0 = answer_low + (answer_high - answer_low) * (hour share / largest hour
        share) * (channel share / largest channel share); posterior mean with the visible
        outbound attempts at that hour +-1 (circular) on that channel:
        (w * m0 + reached) / (w + attempts).
        """
        return float(self._answer_table(customer, now, (channel,))[hour % HOURS, 0])

    def best_time(self, customer: int, now: float, channels: Sequence[str],
                  hours: tuple[int, int], horizon: float = DAY) -> tuple[float, str, float]:
        """(time, channel, answer probability) of the best outbound attempt.

        Candidates are ``now`` (for the current hour) and every start of an hour in
        ``(now, now + horizon]``, kept when their hour of day lies in the calling hours
        ``[hours[0], hours[1])`` (``hours[1] <= hours[0]`` wraps past midnight, equal
        bounds allow the whole day), on each of ``channels``. The one with the highest
        ``answer_probability`` wins; ties go to the earliest time, then to the first
        channel. If no calling hour lies within the horizon, the first one after it is
        the only candidate time.
        """
        if not channels:
            raise ValueError("best_time needs at least one channel")
        first, last = hours
        length = (last - first) % HOURS or HOURS
        table = self._answer_table(customer, now, channels)
        current = hour_of_day(now)
        # Candidate k: k = 0 is now, k >= 1 the k-th hour start after now.
        count = math.floor((now + horizon) / HOUR) - math.floor(now / HOUR)
        steps = np.arange(count + 1)
        allowed = steps[(current + steps - first) % HOURS < length]
        if not len(allowed):
            extended = np.arange(count + 1, count + 1 + HOURS)
            allowed = extended[(current + extended - first) % HOURS < length][:1]
        chances = table[(current + allowed) % HOURS]
        best = int(np.argmax(chances))  # first maximum in row-major order: earliest, then channel
        step, which = divmod(best, len(channels))
        k = int(allowed[step])
        time = now if k == 0 else (math.floor(now / HOUR) + k) * HOUR
        return time, channels[which], float(chances[step, which])
