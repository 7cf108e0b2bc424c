"""The synthetic customer base: who calls, from which phone, when and how often.

A scenario's ``customers`` block describes a population (profile attributes,
phones and devices, habits, contact history) and the other callers: prospects
(non-customers) and fraudsters who claim to be a real customer. The engine
builds one ``Population`` per replication from its own random stream and asks
it, for every arriving contact, which caller it is (``Population.pick``).

Habits (domain brief S3): each customer has a preferred channel and a
preferred window of hours. A contact arriving at hour ``h`` on channel ``c``
comes, with probability ``habit_strength``, from a customer whose habit is
``(c, h)`` and otherwise from any customer; either way customers are weighted
by their own activity (gamma distributed, so a few customers call often and
the same customer calls again).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

import numpy as np
from pydantic import Field, field_validator, model_validator

from .errors import FieldError
from .fields import CountShares, Duration, Int, Number, Probability, Shares, StrictModel

HOURS = 24
GENUINE, PROSPECT, FRAUD = range(3)
"""Kinds of caller (ground truth, hidden from routing policies)."""


class Spread(StrictModel):
    """A profile score in [0, 1] drawn from a beta distribution with this mean."""

    mean: Probability
    concentration: Number = Field(
        default=10.0, gt=0, description="Beta a + b: larger means customers are more alike.")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` scores."""
        mean = min(max(self.mean, 1e-9), 1 - 1e-9)
        return rng.beta(mean * self.concentration, (1 - mean) * self.concentration, size)


class Money(StrictModel):
    """A lognormal amount of money by mean and coefficient of variation."""

    mean: Number = Field(gt=0)
    cv: Number = Field(default=1.0, gt=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` amounts."""
        sigma2 = math.log1p(self.cv**2)
        return rng.lognormal(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2), size)


class Prospects(StrictModel):
    """Callers who are not customers: nothing to resolve or verify."""

    share: Probability = Field(description="Share of all contacts made by prospects.")
    intents: Shares = Field(description="Their reasons for calling (intent names).")


class Fraud(StrictModel):
    """Fraudsters: each targets a real customer and claims to be them."""

    share: Probability = Field(description="Share of all contacts that are fraud attempts, "
                               "e.g. 0.001 for 1 call in 1,000.")
    spoof: Probability = Field(description="Share of attempts that spoof the victim's number.")
    spoofed_carrier_match: Probability = Field(
        default=0.3, description="Chance that a spoofed call's network carrier matches the "
        "carrier on file (spoofed calls often arrive through other networks).")
    device_match: Probability = Field(
        default=0.0, description="Chance that the fraudster's device matches the victim's.")
    intents: Shares = Field(description="What fraudsters ask for (intent names).")


class Customers(StrictModel):
    """The customer base and the other callers."""

    population: Int = Field(ge=1, description="Number of customers.")
    tiers: Shares = Field(description="Segment or tier shares, e.g. {standard: 0.9, vip: 0.1}.")
    languages: Shares = Field(description="Language shares, e.g. {en: 0.8, es: 0.2}.")
    dialects: dict[str, Shares] = Field(
        default_factory=dict, description="Per language, shares of its dialects.")
    channels: Shares = Field(
        default_factory=lambda: {"voice": 1.0},
        description="Preferred-channel shares (voice, app, web, chat, ...).")
    habit_window: Duration = Field(
        default=7200.0, gt=0, le=86400.0,
        description="Length of a customer's preferred hours, in whole hours.")
    habit_strength: Probability = Field(
        default=0.9, description="Share of a customer's contacts made in their preferred "
        "channel and hours (S3: 18 of 20).")
    activity_cv: Number = Field(
        default=1.0, gt=0, description="Spread of how often customers call (gamma weights).")
    value: Money = Field(description="Customer value (e.g. balance held), lognormal.")
    churn_risk: Spread = Spread(mean=0.1)
    sentiment: Spread = Field(
        default=Spread(mean=0.6), description="0 = very negative, 1 = very positive.")
    phones: CountShares = Field(
        default_factory=lambda: {1: 0.7, 2: 0.25, 3: 0.05},
        description="Shares of customers by number of phones on file.")
    devices: CountShares = Field(
        default_factory=lambda: {1: 0.8, 2: 0.2},
        description="Shares of customers by number of devices on file.")
    carriers: Shares = Field(
        default_factory=lambda: {"carrier_a": 0.4, "carrier_b": 0.35, "carrier_c": 0.25},
        description="Carrier shares of the phones on file.")
    history: Number = Field(default=4.0, ge=0, description="Mean earlier contacts per customer.")
    known_number: Probability = Field(
        default=0.9, description="Share of genuine calls made from a number on file.")
    shared_number: Probability = Field(
        default=0.03, description="Share of numbers on file shared with another customer "
        "(family or business lines): such a number does not identify one customer.")
    device_match: Probability = Field(
        default=0.9, description="Chance that a genuine call from a number on file also "
        "comes from a device on file.")
    patience_factor: dict[str, Number] = Field(
        default_factory=dict, description="Per tier, a multiplier on the patience of its "
        "customers' contacts (e.g. {vip: 0.5}: VIPs hang up twice as fast).")
    prospects: Prospects | None = None
    fraud: Fraud | None = None

    @field_validator("phones", "devices")
    @classmethod
    def _counts(cls, value: dict[int, float]) -> dict[int, float]:
        for count in value:
            if count < 1:
                raise FieldError((count,), f"{count} is not a count; allowed: 1 or more")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Customers:
        if self.habit_window % 3600.0:
            raise FieldError(("habit_window",), (
                f"{self.habit_window:g}s is not a whole number of hours; allowed: 1h to 24h "
                "in whole hours, e.g. 2h"))
        for tier, factor in self.patience_factor.items():
            if tier not in self.tiers:
                raise FieldError(("patience_factor", tier), (
                    f"unknown tier {tier!r}; allowed: one of tiers ({', '.join(self.tiers)})"))
            if factor <= 0:
                raise FieldError(("patience_factor", tier), (
                    f"{factor:g} is not positive; allowed: a multiplier > 0, e.g. 0.5"))
        for language in self.dialects:
            if language not in self.languages:
                raise FieldError(("dialects", language), (
                    f"unknown language {language!r}; allowed: one of languages "
                    f"({', '.join(self.languages)})"))
        others = (self.prospects.share if self.prospects else 0.0) + (
            self.fraud.share if self.fraud else 0.0)
        if others > 1.0:
            raise FieldError(("fraud", "share"), (
                f"prospects.share + fraud.share = {others:g}; allowed: at most 1"))
        return self

    def intent_names(self) -> set[str]:
        """Intents named by prospects and fraudsters (must exist under identity.intents)."""
        return set(self.prospects.intents if self.prospects else ()) | set(
            self.fraud.intents if self.fraud else ())


class Customer:
    """One customer's profile as routing policies see it (read-only by convention)."""

    __slots__ = ("id", "tier", "language", "dialect", "value", "churn_risk", "sentiment",
                 "preferred_channel", "preferred_hours", "phones", "devices", "contacts",
                 "last_contact", "voice_enrolled", "owner", "last_agent")

    def __init__(self, population: Population, index: int) -> None:
        columns = population.columns
        self.id = index
        self.tier: str = columns.tier[index]
        self.language: str = columns.language[index]
        self.dialect: str | None = columns.dialect[index]
        self.value: float = columns.value[index]
        self.churn_risk: float = columns.churn_risk[index]
        self.sentiment: float = columns.sentiment[index]
        """0 = very negative, 1 = very positive."""
        self.preferred_channel: str = columns.channel[index]
        start = columns.habit_start[index]
        self.preferred_hours = (start, (start + population.habit_window) % 86400.0)
        """(start, end) time of day of the customer's usual contacts; may wrap midnight."""
        first, last = columns.phone_offsets[index], columns.phone_offsets[index + 1]
        self.phones: tuple[str, ...] = tuple(columns.phone_carriers[first:last])
        """Carrier of each phone number on file."""
        self.devices: int = columns.devices[index]
        self.contacts: int = columns.contacts[index]
        """Contacts so far (history before the run plus this run's)."""
        self.last_contact: float = columns.last_contact[index]
        """Time of the previous contact in this run, or -inf."""
        self.voice_enrolled: bool = columns.voice_enrolled[index]
        self.owner: tuple[str, int] | None = columns.owner[index]
        """(group, seat) of the customer's adviser or case owner, if any."""
        self.last_agent: int | None = columns.last_agent[index]
        """Id of the agent who last served the customer in this run, if any."""

    def __repr__(self) -> str:
        return f"Customer({self.id}, {self.tier!r}, {self.language!r})"


class _Columns:
    """Per-customer attributes as Python lists: one list index per contact is far
    cheaper than numpy scalar indexing on the per-contact path."""

    def __init__(self, **columns: list[object]) -> None:
        self.__dict__.update(columns)


class Population:
    """The customers of one replication.

    Memory grows with the population size, which the scenario fixes; not with
    the number of contacts.
    """

    def __init__(self, spec: Customers, generator: Callable[[str], np.random.Generator],
                 hour_weights: np.ndarray, voice_enrolment: float,
                 owner_groups: tuple[tuple[str, int, tuple[str, ...], float], ...] = ()) -> None:
        """``owner_groups``: (group, seats, tiers, share) of each group that owns customers."""
        size = spec.population
        self.spec = spec
        self.size = size
        self.channel_names = tuple(spec.channels)
        self.habit_window = spec.habit_window

        def rng(column: str) -> np.random.Generator:
            # One stream per attribute: changing how one is drawn (a share, a mean, a
            # sampler that uses a varying amount of randomness) never moves another.
            return generator(f"population/{column}")

        tier = _choose(rng("tier"), spec.tiers.values(), size)
        language = _choose(rng("language"), spec.languages.values(), size)
        dialect_u = rng("dialect").random(size)
        value = spec.value.sample(rng("value"), size)
        churn_risk = spec.churn_risk.sample(rng("churn_risk"), size)
        sentiment = spec.sentiment.sample(rng("sentiment"), size)
        self.channel = _choose(rng("channel"), spec.channels.values(), size)
        # Preferred hours start where the traffic is: hour h with weight of its arrivals.
        self.habit_hour = _choose(rng("habit_hour"), hour_weights, size)
        shape = 1.0 / spec.activity_cv**2
        self.activity = rng("activity").gamma(shape, 1.0 / shape, size)
        phone_counts = np.array(list(spec.phones))[_choose(rng("phones"), spec.phones.values(),
                                                           size)]
        phone_carriers = _choose(rng("carriers"), spec.carriers.values(), int(phone_counts.sum()))
        devices = np.array(list(spec.devices))[_choose(rng("devices"), spec.devices.values(), size)]
        contacts = rng("history").poisson(spec.history, size)
        enrolled = rng("voice_enrolled").random(size) < voice_enrolment
        carriers = tuple(spec.carriers)
        offsets = np.concatenate(([0], np.cumsum(phone_counts))).tolist()
        carrier_list = [carriers[c] for c in phone_carriers.tolist()]
        self.columns = _Columns(
            tier=[tuple(spec.tiers)[t] for t in tier.tolist()],
            language=[tuple(spec.languages)[lang] for lang in language.tolist()],
            dialect=self._dialects(language, dialect_u),
            value=value.tolist(), churn_risk=churn_risk.tolist(), sentiment=sentiment.tolist(),
            channel=[self.channel_names[c] for c in self.channel.tolist()],
            habit_start=(self.habit_hour * 3600.0).tolist(),
            phone_offsets=offsets, phone_carriers=carrier_list,
            devices=devices.tolist(), contacts=contacts.tolist(),
            last_contact=[-math.inf] * size, voice_enrolled=enrolled.tolist(),
            owner=self._owners(tier, owner_groups, rng("owner")), last_agent=[None] * size,
        )
        self._pools = self._habit_pools()
        self._everyone = _Pool(np.arange(size), self.activity)

    def _owners(self, tier: np.ndarray, groups: tuple[tuple[str, int, tuple[str, ...], float], ...],
                rng: np.random.Generator) -> list[tuple[str, int] | None]:
        """Each customer's owner: the first group that owns their tier, a uniform seat."""
        owners: list[tuple[str, int] | None] = [None] * self.size
        u, seat_u = rng.random(self.size), rng.random(self.size)
        names = tuple(self.spec.tiers)
        for group, seats, tiers, share in groups:
            wanted = np.isin(tier, [names.index(t) for t in tiers]) & (u < share)
            for index in np.flatnonzero(wanted).tolist():
                if owners[index] is None and seats > 0:
                    owners[index] = (group, min(int(seat_u[index] * seats), seats - 1))
        return owners

    def _dialects(self, language: np.ndarray, u: np.ndarray) -> list[str | None]:
        dialect: list[str | None] = [None] * self.size
        names = tuple(self.spec.languages)
        for lang, shares in self.spec.dialects.items():
            members = np.flatnonzero(language == names.index(lang))
            chosen = np.minimum(np.searchsorted(np.cumsum(list(shares.values())), u[members],
                                                "right"), len(shares) - 1)
            dialect_names = tuple(shares)
            for index, which in zip(members.tolist(), chosen.tolist()):
                dialect[index] = dialect_names[which]
        return dialect

    def _habit_pools(self) -> dict[tuple[int, int], _Pool]:
        """Customers by (preferred channel, hour of day inside their preferred window)."""
        window_hours = round(self.habit_window / 3600.0)
        keys = np.concatenate([self.channel * HOURS + (self.habit_hour + k) % HOURS
                               for k in range(window_hours)])
        members = np.tile(np.arange(self.size), window_hours)
        order = np.argsort(keys, kind="stable")
        keys, members = keys[order], members[order]
        bounds = np.searchsorted(keys, np.arange(len(self.channel_names) * HOURS + 1))
        pools = {}
        for key in range(len(self.channel_names) * HOURS):
            chosen = members[bounds[key]:bounds[key + 1]]
            if len(chosen):
                pools[divmod(key, HOURS)] = _Pool(chosen, self.activity[chosen])
        return pools

    def pick(self, channel: str, time: float, habit_u: float, pick_u: float) -> int:
        """The customer who makes a contact on ``channel`` at ``time`` (two uniforms)."""
        pool = None
        if habit_u < self.spec.habit_strength and channel in self.channel_names:
            pool = self._pools.get((self.channel_names.index(channel), int(time // 3600) % HOURS))
        return (pool or self._everyone).pick(pick_u)

    def pick_victim(self, pick_u: float) -> int:
        """A fraudster's target: any customer, uniformly."""
        return min(int(pick_u * self.size), self.size - 1)

    def in_habit(self, index: int, channel: str, time: float) -> tuple[bool, bool]:
        """Whether ``time`` lies in the customer's preferred hours, and ``channel`` is theirs."""
        columns = self.columns
        offset = (time % 86400.0 - columns.habit_start[index]) % 86400.0
        return offset < self.habit_window, columns.channel[index] == channel

    def record_contact(self, index: int, time: float) -> None:
        """Add a contact to the customer's history."""
        self.columns.contacts[index] += 1
        self.columns.last_contact[index] = time


class _Pool:
    """Customers to draw from in proportion to their activity (bisect on cumulative weights)."""

    __slots__ = ("_members", "_cumulative", "_total")

    def __init__(self, members: np.ndarray, weights: np.ndarray) -> None:
        self._members = members.tolist()
        self._cumulative = list(accumulate(weights.tolist()))
        self._total = self._cumulative[-1] if self._cumulative else 0.0

    def __bool__(self) -> bool:
        return self._total > 0

    def pick(self, u: float) -> int:
        position = bisect_right(self._cumulative, u * self._total)
        return int(self._members[min(position, len(self._members) - 1)])


def _choose(rng: np.random.Generator, shares: object, size: int) -> np.ndarray:
    """``size`` indices drawn with the given (not necessarily normalised) weights."""
    weights = np.asarray(list(shares), dtype=float)  # type: ignore[call-overload]
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(size), "right"), len(weights) - 1)
