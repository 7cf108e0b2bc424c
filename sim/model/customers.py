"""The synthetic customer base: who calls, from which phone, when and how often.

A scenario's ``customers`` block describes a population (profile attributes,
phones and devices, habits, contact history) and the other callers: prospects
(non-customers) and fraudsters who claim to be a real customer. Each
replication has one ``Population``, drawn from its own random streams, built
once and shared by every policy and strategy run on it (``Population.shared``,
each run on a ``fork`` with its own per-run state); the engine asks it, for
every arriving contact, which caller it is (``Population.pick``).

Habits (domain brief S3): each customer has a preferred channel and a
preferred window of hours. A contact arriving at hour ``h`` on channel ``c``
comes, with probability ``habit_strength``, from a customer whose habit is
``(c, h)`` and otherwise from any customer; either way customers are weighted
by their own activity (gamma distributed, so a few customers call often and
the same customer calls again).
"""

from __future__ import annotations

import copy
import functools
import math
from bisect import bisect_right
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import Field, field_validator, model_validator

from sim.errors import FieldError
from sim.model.fields import CountShares, Duration, Int, Number, Probability, Shares, StrictModel
from sim.model.sharing import BuildCache, Column, as_numpy, codes, floats, generator_key
from sim.model.traits import Traits

HOURS = 24
HOUR = 3600.0
DAY = 86400.0
_NEVER = -math.inf
"""``Customer.last_contact`` of a customer with no contact in the run yet."""
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
    traits: Traits | None = Field(
        default=None, description="Persistent per-customer patience and handle-time "
        "multipliers (docs/customer_behaviour.md); absent: none.")
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
        combinations = math.prod(_category_radices(self))
        if combinations > _MAX_CATEGORIES:
            raise FieldError(("tiers",), (
                f"{combinations:,} combinations of tiers, languages, dialects, channels, device "
                f"counts and voice prints; allowed: at most {_MAX_CATEGORIES:,} (2^62)"))
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
    """One customer's profile as routing policies see it (read-only by convention).

    A snapshot taken when the contact resolves: ``contacts``, ``last_contact`` and
    ``last_agent`` do not change when the customer makes another contact later."""

    __slots__ = ("id", "tier", "language", "dialect", "value", "churn_risk", "sentiment",
                 "preferred_channel", "preferred_hours", "devices", "last_contact",
                 "voice_enrolled", "owner", "last_agent", "_run_contacts", "_population")

    tier: str
    language: str
    dialect: str | None
    value: float
    churn_risk: float
    sentiment: float
    """0 = very negative, 1 = very positive."""
    preferred_channel: str
    preferred_hours: tuple[float, float]
    """(start, end) time of day of the customer's usual contacts; may wrap midnight."""
    devices: int
    voice_enrolled: bool
    owner: tuple[str, int] | None
    """(group, seat) of the customer's adviser or case owner, if any."""

    def __new__(cls, population: Population, index: int) -> Self:
        # Of the class for the columns drawn so far (``_with_draws_on_read``).
        variant = population.columns.drawn_on_read.customer_class
        return _new_object(variant)  # type: ignore[return-value]

    def __init__(self, population: Population, index: int) -> None:
        # The fixed attributes but the owner come as one tuple, shared by every customer
        # of the same categories and preferred hours (``Population.fix``).
        # Membership tests and subscripts, not dict.get: a call to C each, and the owner
        # and the run's dicts are sparse (most customers have no entry).
        columns, fixed = population.columns, population.fixed
        key = columns.categories[index] * HOURS + columns.habit_hour[index]
        (self.tier, self.language, self.dialect, self.preferred_channel, self.devices,
         self.voice_enrolled, self.preferred_hours) = (
            fixed[key] if key in fixed else population.fix(key))
        owner = columns.owner
        self.owner = owner[index] if index in owner else None
        self.id = index
        for name, column in columns.drawn_on_read.attributes:
            setattr(self, name, column[index])
        run_contacts = columns.run_contacts
        if index in run_contacts:  # written together with last_contact (record_contact)
            self._run_contacts = run_contacts[index]
            self.last_contact: float = columns.last_contact[index]
            """Time of the previous contact in this run, or -inf."""
        else:
            self._run_contacts = 0
            self.last_contact = _NEVER
        last_agent = columns.last_agent
        self.last_agent: int | None = last_agent[index] if index in last_agent else None
        """Id of the agent who last served the customer in this run, if any."""
        self._population = population

    @property
    def contacts(self) -> int:
        """Contacts so far (history before the run plus this run's)."""
        history: int = self._population.columns.drawn_on_read.get("contacts")[self.id]
        return history + self._run_contacts

    @property
    def phones(self) -> tuple[str, ...]:
        """Carrier of each phone number on file."""
        # Built when read: it costs more than all the other attributes together, and
        # no shipped policy reads it.
        return self._population.phones(self.id)

    def __repr__(self) -> str:
        return f"Customer({self.id}, {self.tier!r}, {self.language!r})"


_new_object = object.__new__
_init_customer = Customer.__init__


class _OnRead:
    """A ``Customer`` attribute whose column is drawn at its first read (``value``,
    ``churn_risk``, ``sentiment``; ``_DrawnOnRead``): the customer's entry of the column,
    kept in the attribute's slot.

    Only on the classes of ``_with_draws_on_read``, for the columns not drawn yet: a
    descriptor written in Python costs a call per read, and once a column is drawn its
    attribute is a plain slot again. Not ``Customer.__getattr__``: Python 3.11 specialises
    no attribute read of a class with one, and routing reads a customer's tier, hours and
    channel for every contact."""

    __slots__ = ("_name", "_slot")

    def __init__(self, name: str) -> None:
        self._name = name
        self._slot = Customer.__dict__[name]  # the slot's member descriptor

    def __get__(self, customer: Customer | None, owner: type | None = None) -> Any:
        if customer is None:
            return self
        try:
            return self._slot.__get__(customer, owner)
        except AttributeError:  # this snapshot's first read
            value = customer._population.columns.drawn_on_read.get(self._name)[customer.id]
            self._slot.__set__(customer, value)
            return value

    def __set__(self, customer: Customer, value: float) -> None:
        self._slot.__set__(customer, value)


@functools.cache
def _with_draws_on_read(names: frozenset[str]) -> type[Customer]:
    """``Customer`` with the attributes ``names`` drawn on read: the class of the snapshots
    taken while those columns are not drawn yet (at most 8 classes, all ``Customer``)."""
    return type("Customer", (Customer,), {"__slots__": (), "__module__": __name__,
                                          "__qualname__": "Customer",
                                          **{name: _OnRead(name) for name in sorted(names)}})


def snapshot(population: Population, index: int) -> Customer:
    """``Customer(population, index)`` for the per-contact path. Calling a class runs its
    Python ``__init__`` from C, in an interpreter loop of its own; a plain function call
    runs it in the caller's loop (per contact: fewer instructions and, above all, less of
    the interpreter's code through the instruction cache)."""
    customer = _new_object(population.columns.drawn_on_read.customer_class)
    _init_customer(customer, population, index)
    return customer


@dataclass(slots=True)
class _Columns:
    """Per-customer attributes, indexed by customer id.

    The shared ones are compact read-only columns (``sim.model.sharing``): they index
    to plain ints and floats on the per-contact path, nearly as fast as lists, in a
    fraction of the memory. Categorical ones hold codes into the population's name
    tuples. The last three are one run's own state: sparse dicts, because most
    customers of a large base make no contact in a run, so a fork starts them empty
    at no cost.
    """

    categories: Column
    """Tier, language, dialect, preferred channel, devices and voice print as one code
    (``Population.fix`` reads it)."""
    channel: Column
    """Preferred channel: codes into ``Population.channel_names``."""
    habit_hour: Column
    """Hour of day (0-23) at which the preferred hours start."""
    owner: dict[int, tuple[str, int]]
    """(group, seat) of owned customers only."""
    drawn_on_read: _DrawnOnRead
    """Read as attributes of these columns too: ``value``, ``churn_risk``, ``sentiment``,
    ``contacts`` (contacts before the run), ``phone_offsets`` and ``phone_carriers``
    (customer i's phones are ``phone_carriers[phone_offsets[i]:phone_offsets[i + 1]]``,
    codes into ``Population.carrier_names``)."""
    run_contacts: dict[int, int] = field(default_factory=dict)
    """Contacts made in this run, by customer."""
    last_contact: dict[int, float] = field(default_factory=dict)
    """Time of the latest contact in this run, by customer."""
    last_agent: dict[int, int] = field(default_factory=dict)
    """Id of the agent who last served the customer in this run (written by the engine)."""

    def fork(self) -> _Columns:
        """The same shared columns with empty per-run state."""
        return replace(self, run_contacts={}, last_contact={}, last_agent={})

    # Properties, not ``__getattr__``: on a class with one, Python 3.11 specialises none of
    # its attribute reads (``fix``, ``in_habit`` and ``record_contact`` read columns for
    # every contact).
    value = property(lambda self: self.drawn_on_read.get("value"))
    churn_risk = property(lambda self: self.drawn_on_read.get("churn_risk"))
    sentiment = property(lambda self: self.drawn_on_read.get("sentiment"))
    contacts = property(lambda self: self.drawn_on_read.get("contacts"))
    phone_offsets = property(lambda self: self.drawn_on_read.get("phone_offsets"))
    phone_carriers = property(lambda self: self.drawn_on_read.get("phone_carriers"))


class _DrawnOnRead:
    """Columns drawn at their first read, then kept; shared by every fork of a build.

    The beta, lognormal and Poisson draws of these columns cost over half of a
    population's build, yet most scenarios read few of them (only the churn stage reads
    ``value``; ``contacts`` only profiles, policies and stages that look at the history;
    no shipped policy reads the phones).
    Each column has its own random stream (``population/<name>``) that nothing else
    draws from, so drawing it later gives the same values as drawing it at the build.
    """

    __slots__ = ("_columns", "_draws", "attributes", "customer_class")

    def __init__(self, draws: dict[str, Callable[[], Column]]) -> None:
        self._draws = draws
        self._columns: dict[str, Column] = {}
        self.attributes: list[tuple[str, Column]] = []
        """(name, column) of the ``Customer`` attributes among the columns drawn so far:
        a scenario that reads one reads it for most contacts, so every later snapshot
        gets it at once."""
        self.customer_class = _with_draws_on_read(_ATTRIBUTES_ON_READ)
        """The class of a snapshot taken now: the attributes not drawn yet drawn on read."""

    def get(self, name: str) -> Column:
        """The column ``name``, drawn now if this is its first read."""
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = self._draws.pop(name)()
            if name in _ATTRIBUTES_ON_READ:
                self.attributes.append((name, column))
                self.customer_class = _with_draws_on_read(
                    _ATTRIBUTES_ON_READ - {drawn for drawn, _ in self.attributes})
        return column


_ATTRIBUTES_ON_READ = frozenset(("value", "churn_risk", "sentiment"))
"""The ``Customer`` attributes whose columns are drawn on read (``_DrawnOnRead``)."""


_STREAMS = ("tier", "language", "dialect", "value", "churn_risk", "sentiment", "channel",
            "habit_hour", "activity", "phones", "carriers", "devices", "history",
            "voice_enrolled", "owner")
"""The population's random streams, one per attribute (``population/<name>``)."""

OwnerGroups = tuple[tuple[str, int, tuple[str, ...], float], ...]
"""(group, seats, tiers, share) of each group that owns customers."""

_MAX_CATEGORIES = 2**62
"""Combinations of categorical attributes a population may have: ``_combined`` codes them
in 64-bit integers."""

_Fixed = tuple[str, str, "str | None", str, int, bool, tuple[float, float]]
"""The attributes of a customer that do not change in a run but the owner, in
``Customer.__init__``'s order: tier, language, dialect, preferred channel, devices, whether
the voice is enrolled, and the preferred hours."""


class Population:
    """The customers of one replication.

    Memory grows with the population size, which the scenario fixes; not with
    the number of contacts. Every run of a replication (policy, strategy) faces the
    same customers: ``Population.shared`` builds them once and gives each run a
    ``fork`` whose per-run state (contacts made, last agent, ...) is its own.
    """

    shared_builds: ClassVar[BuildCache[Population]] = BuildCache(2)
    """Builds kept for ``shared``: the runner runs every policy and strategy of one
    replication in a row, so two are plenty and bound the memory of long sweeps."""

    def __init__(self, spec: Customers, generator: Callable[[str], np.random.Generator],
                 hour_weights: np.ndarray, voice_enrolment: float,
                 owner_groups: OwnerGroups = ()) -> None:
        """``generator(purpose)``: a fresh generator per call (``RandomStreams.generator``);
        ``owner_groups``: (group, seats, tiers, share) of each group that owns customers."""
        rng = _generators(generator)
        size = spec.population
        self.key = _key(spec, rng, hour_weights, voice_enrolment, owner_groups)
        """Everything the draws depend on: equal keys, equal customers."""
        self.spec = spec
        self.size = size
        self.tier_names = tuple(spec.tiers)
        self.language_names = tuple(spec.languages)
        self.dialect_names: tuple[str | None, ...] = (None, *dict.fromkeys(
            name for shares in spec.dialects.values() for name in shares))
        self.channel_names = tuple(spec.channels)
        self.carrier_names = tuple(spec.carriers)
        self.device_counts = tuple(spec.devices)
        self.habit_window = spec.habit_window
        self._habit_strength = spec.habit_strength  # a plain float: read for every contact

        # One stream per attribute: changing how one is drawn (a share, a mean, a
        # sampler that uses a varying amount of randomness) never moves another. Each
        # is made a compact column at once: with a million customers, the numpy
        # temporaries kept alive together would outweigh the whole population.
        tier = codes(_choose(rng["tier"], spec.tiers.values(), size))
        language = codes(_choose(rng["language"], spec.languages.values(), size))
        dialect = codes(self._dialects(as_numpy(language), rng["dialect"].random(size)))
        channel = codes(_choose(rng["channel"], spec.channels.values(), size))
        # Preferred hours start where the traffic is: hour h with weight of its arrivals.
        habit_hour = codes(_choose(rng["habit_hour"], hour_weights, size))
        shape = 1.0 / spec.activity_cv**2
        activity = rng["activity"].gamma(shape, 1.0 / shape, size)
        devices = codes(_choose(rng["devices"], spec.devices.values(), size))
        voice_enrolled = codes(rng["voice_enrolled"].random(size) < voice_enrolment)
        self._radices = _category_radices(spec)
        self._preferred_hours = tuple((start * HOUR, (start * HOUR + self.habit_window) % DAY)
                                      for start in range(HOURS))
        self.columns = _Columns(
            categories=_combined((tier, language, dialect, channel, devices, voice_enrolled),
                                 self._radices),
            channel=channel, habit_hour=habit_hour,
            owner=self._owners(as_numpy(tier), owner_groups, rng["owner"]),
            drawn_on_read=_DrawnOnRead({name: partial(draw, self, rng)
                                        for name, draw in _DRAWS_ON_READ.items()}))
        self._everyone = _Pool(range(size), activity)
        self._pools = self._habit_pools(as_numpy(channel), as_numpy(habit_hour), activity)
        self.fixed: dict[int, _Fixed] = {}
        """The fixed attributes (``fix``) by key: ``columns.categories`` x 24 + the first
        preferred hour. Made at a key's first read and shared by every fork; one entry per
        combination met (never more than the customers who made contact): a few thousand
        in the shipped scenarios, so most contacts, even a customer's first, find theirs."""

    def fix(self, key: int) -> _Fixed:
        """The fixed attributes of the customers whose key is ``key`` (see ``fixed``)."""
        code, hour = divmod(key, HOURS)
        digits = []
        for radix in reversed(self._radices):
            code, digit = divmod(code, radix)
            digits.append(digit)
        voice, devices, channel, dialect, language, tier = digits
        self.fixed[key] = attributes = (
            self.tier_names[tier], self.language_names[language], self.dialect_names[dialect],
            self.channel_names[channel], self.device_counts[devices], voice == 1,
            self._preferred_hours[hour])
        return attributes

    @classmethod
    def shared(cls, spec: Customers, generator: Callable[[str], np.random.Generator],
               hour_weights: np.ndarray, voice_enrolment: float,
               owner_groups: OwnerGroups = ()) -> Population:
        """The same customers as ``Population(...)`` with these arguments, built once per
        distinct key (``shared_builds``) and returned as a ``fork`` for one run."""
        key = _key(spec, _generators(generator), hour_weights, voice_enrolment, owner_groups)
        return cls.shared_builds.get(key, lambda: cls(
            spec, generator, hour_weights, voice_enrolment, owner_groups)).fork()

    def fork(self) -> Population:
        """These customers with fresh per-run state: what one run records (contacts, last
        agents) is never seen by another run of the same build."""
        fork = copy.copy(self)
        fork.columns = self.columns.fork()
        return fork

    def _owners(self, tier: np.ndarray, groups: OwnerGroups,
                rng: np.random.Generator) -> dict[int, tuple[str, int]]:
        """Each owned customer's owner: the first group that owns their tier, a uniform seat."""
        owners: dict[int, tuple[str, int]] = {}
        if not groups:
            return owners  # no draws: the owner stream is drawn from nowhere else
        u, seat_u = rng.random(self.size), rng.random(self.size)
        for group, seats, tiers, share in groups:
            if seats <= 0:
                continue
            wanted = np.flatnonzero(
                np.isin(tier, [self.tier_names.index(t) for t in tiers]) & (u < share))
            seat = np.minimum((seat_u[wanted] * seats).astype(np.int64), seats - 1)
            for index, which in zip(wanted.tolist(), seat.tolist()):
                owners.setdefault(index, (group, which))
        return owners

    def _dialects(self, language: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Each customer's dialect as a code into ``dialect_names`` (0: none)."""
        dialect = np.zeros(self.size, dtype=np.int64)
        for lang, shares in self.spec.dialects.items():
            members = np.flatnonzero(language == self.language_names.index(lang))
            chosen = categories(np.cumsum(list(shares.values())), u[members])
            dialect[members] = np.array([self.dialect_names.index(d) for d in shares])[chosen]
        return dialect

    def _habit_pools(self, channel: np.ndarray, habit_hour: np.ndarray,
                     activity: np.ndarray) -> dict[str, list[_Pool | _PendingPool | None]]:
        """Customers by preferred channel and hour of day inside their preferred window
        (None: nobody, or nobody with a weight, prefers that channel at that hour).

        The pool of hour h holds, in this order, the customers whose window starts at h,
        then at h - 1, ... (each group in customer order): customers are sorted once by
        (channel, first hour), and each pool joins the groups of its window's hours. A
        pool is made at its first pick (``_PendingPool``): a scenario's contacts come on
        few channels in some hours of the day (identity_bank: 12 of 72 pools)."""
        window_hours = round(self.habit_window / HOUR)
        groups = len(self.channel_names) * HOURS
        # Compact dtypes: with a million customers these temporaries dominate the build.
        first = channel.astype(np.int32) * HOURS + habit_hour.astype(np.int32)
        if groups <= np.iinfo(np.uint16).max:
            # numpy's stable sort is a radix sort for 16-bit keys: several times faster
            # than on 32-bit ones, and a stable order of equal keys is the same order.
            first = first.astype(np.uint16)
        order = np.argsort(first, kind="stable").astype(np.uint32)
        bounds = np.searchsorted(first[order], np.arange(groups + 1)).tolist()
        pools: dict[str, list[_Pool | _PendingPool | None]] = {}
        for key in range(groups):
            code, hour = divmod(key, HOURS)
            starts = [code * HOURS + (hour - back) % HOURS for back in range(window_hours)]
            groups_in_window = [order[bounds[start]:bounds[start + 1]] for start in starts]
            pending = _PendingPool(partial(self._make_pool, self.channel_names[code], hour,
                                           groups_in_window, activity), self._everyone)
            pools.setdefault(self.channel_names[code], []).append(
                pending if any(len(group) for group in groups_in_window) else None)
        return pools

    def _make_pool(self, channel: str, hour: int, groups_in_window: list[np.ndarray],
                   activity: np.ndarray) -> _Pool | None:
        """Make the pending pool of ``channel`` at ``hour`` (see ``_habit_pools``) and put
        it in its place for every fork: the pool, or None when it has no weight."""
        chosen = np.concatenate(groups_in_window)
        pool = _Pool(codes(chosen), activity[chosen]) or None
        self._pools[channel][hour] = pool
        return pool

    def habit_pool(self, channel: str, hour: int) -> _Pool | None:
        """The customers who prefer ``channel`` at ``hour`` of the day (None: nobody),
        with their weights: what a contact picks from when it keeps to the habit."""
        pool = self._pools[channel][hour]
        return pool.make() if isinstance(pool, _PendingPool) else pool

    def pick(self, channel: str, time: float, habit_u: float, pick_u: float) -> int:
        """The customer who makes a contact on ``channel`` at ``time`` (two uniforms)."""
        pools = self._pools
        if habit_u < self._habit_strength and channel in pools:
            pool = pools[channel][int(time // 3600) % HOURS]
            if pool is not None:
                return pool.pick(pick_u)
        return self._everyone.pick(pick_u)

    def pick_victim(self, pick_u: float) -> int:
        """A fraudster's target: any customer, uniformly."""
        index = int(pick_u * self.size)
        return index if index < self.size else self.size - 1

    def contact(self, index: int, channel: str, time: float) -> tuple[Customer, bool, bool]:
        """A contact of customer ``index`` on ``channel`` at ``time``: the customer's record
        as the contact finds it (``snapshot``), whether ``time`` lies in their preferred
        hours and ``channel`` is theirs (``in_habit``); the contact is then added to their
        history (``record_contact``). One call for the three, on the per-contact path: the
        record already holds what the other two would read again."""
        columns = self.columns
        # snapshot(self, index), one call less
        customer = _new_object(columns.drawn_on_read.customer_class)
        _init_customer(customer, self, index)
        columns.run_contacts[index] = customer._run_contacts + 1
        columns.last_contact[index] = time
        # preferred_hours[0] is the float in_habit computes: the first hour times HOUR.
        return (customer, (time % DAY - customer.preferred_hours[0]) % DAY < self.habit_window,
                customer.preferred_channel == channel)

    def in_habit(self, index: int, channel: str, time: float) -> tuple[bool, bool]:
        """Whether ``time`` lies in the customer's preferred hours, and ``channel`` is theirs."""
        columns = self.columns
        offset = (time % DAY - columns.habit_hour[index] * HOUR) % DAY
        return offset < self.habit_window, self.channel_names[columns.channel[index]] == channel

    def phones(self, index: int) -> tuple[str, ...]:
        """Carrier of each of the customer's phone numbers on file."""
        columns, carriers = self.columns, self.carrier_names
        first, last = columns.phone_offsets[index], columns.phone_offsets[index + 1]
        return tuple([carriers[c] for c in columns.phone_carriers[first:last]])

    def record_contact(self, index: int, time: float) -> None:
        """Add a contact to the customer's history (this run's state only)."""
        columns = self.columns
        columns.run_contacts[index] = columns.run_contacts.get(index, 0) + 1
        columns.last_contact[index] = time


_Generators = dict[str, np.random.Generator]

_DRAWS_ON_READ: dict[str, Callable[[Population, _Generators], Column]] = {
    "value": lambda p, rng: floats(p.spec.value.sample(rng["value"], p.size)),
    "churn_risk": lambda p, rng: floats(p.spec.churn_risk.sample(rng["churn_risk"], p.size)),
    "sentiment": lambda p, rng: floats(p.spec.sentiment.sample(rng["sentiment"], p.size)),
    "contacts": lambda p, rng: codes(rng["history"].poisson(p.spec.history, p.size)),
    "phone_offsets": lambda p, rng: codes(np.concatenate(([0], np.cumsum(np.array(
        list(p.spec.phones))[_choose(rng["phones"], p.spec.phones.values(), p.size)])))),
    "phone_carriers": lambda p, rng: codes(_choose(
        rng["carriers"], p.spec.carriers.values(), p.columns.phone_offsets[-1])),
}
"""How each column drawn on read is drawn, from the build and its generators (by name)."""


class _PendingPool:
    """A pool of ``Population._habit_pools`` not made yet: made at its first pick."""

    __slots__ = ("_everyone", "make")

    def __init__(self, make: Callable[[], _Pool | None], everyone: _Pool) -> None:
        self.make = make
        """Make the pool (it replaces this one) and return it (None: no weight)."""
        self._everyone = everyone

    def pick(self, u: float) -> int:
        # As Population.pick: a pool without weight leaves the pick to everyone.
        return (self.make() or self._everyone).pick(u)


class _Pool:
    """Customers to draw from in proportion to their activity (bisect on cumulative weights).

    A guide table narrows each bisection: entry b of ``_guide`` is where ``b / buckets`` of
    the total weight falls among the cumulative weights, so a pick of ``u`` bisects only
    between the entries of its bucket (about 32 members) for the same insertion point:
    about five probes instead of log2(members), each of which makes a float of the array
    (a bucket of 32 keeps the table's making cheap: a pool is made once, picked from a
    few thousand times)."""

    __slots__ = ("_members", "_cumulative", "_total", "_last", "_guide", "_buckets")

    def __init__(self, members: Sequence[int], weights: np.ndarray) -> None:
        self._members = members
        # numpy's cumsum adds in order, like a running Python sum: the same floats.
        cumulative = np.cumsum(weights)
        self._cumulative = floats(cumulative)
        self._total = self._cumulative[-1] if len(self._cumulative) else 0.0
        self._last = len(members) - 1
        # A power of two: b / buckets is exact, so for b = floor(u * buckets) the bounds
        # (b / buckets) * total <= u * total <= ((b + 1) / buckets) * total hold in floats.
        buckets = 1 << (len(members) // 32).bit_length()
        self._buckets = float(buckets)  # a float: 3.11 specialises float * float only
        bounds = np.arange(buckets + 1) / buckets * self._total
        self._guide = codes(np.searchsorted(cumulative, bounds, side="right"))

    def __bool__(self) -> bool:
        return self._total > 0

    def pick(self, u: float) -> int:
        guide, bucket = self._guide, math.floor(u * self._buckets)
        index = bisect_right(self._cumulative, u * self._total, guide[bucket], guide[bucket + 1])
        # Not min(): 3.11's min() parses keyword arguments on every call (a tenth of a
        # pick's time, and C code the per-contact path runs nowhere else).
        return self._members[index if index < self._last else self._last]


def _generators(generator: Callable[[str], np.random.Generator]) -> _Generators:
    return {name: generator(f"population/{name}") for name in _STREAMS}


def _key(spec: Customers, rng: dict[str, np.random.Generator], hour_weights: np.ndarray,
         voice_enrolment: float, owner_groups: OwnerGroups) -> Hashable:
    """What a build depends on: the spec, the state of every stream before its draws and
    the other inputs (so two keys are equal exactly when the customers are)."""
    return (spec.model_dump_json(), tuple(generator_key(r) for r in rng.values()),
            np.asarray(hour_weights, dtype=float).tobytes(), voice_enrolment, owner_groups)


def _category_radices(spec: Customers) -> tuple[int, ...]:
    """How many values each digit of ``_Columns.categories`` takes, most significant first:
    tiers, languages, dialects (and none), preferred channels, device counts, voice print."""
    dialects = {name for shares in spec.dialects.values() for name in shares}
    return (len(spec.tiers), len(spec.languages), 1 + len(dialects), len(spec.channels),
            len(spec.devices), 2)


def _combined(columns: tuple[Column, ...], radices: tuple[int, ...]) -> Column:
    """One code per customer for several code columns: the codes as digits of a number
    with these radices (the first column the most significant)."""
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    for column, radix in zip(columns, radices):
        combined *= radix
        combined += as_numpy(column)
    return codes(combined)


def _choose(rng: np.random.Generator, shares: object, size: int) -> np.ndarray:
    """``size`` indices drawn with the given (not necessarily normalised) weights."""
    weights = np.asarray(list(shares), dtype=float)  # type: ignore[call-overload]
    return categories(np.cumsum(weights / weights.sum()), rng.random(size))


_FEW_CATEGORIES = 32


def categories(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each uniform of ``u``, the first category whose cumulative share exceeds it (the
    last category past the end): ``np.minimum(np.searchsorted(cumulative, u, "right"),
    len(cumulative) - 1)``, the same integers, for a few categories many times faster."""
    if len(cumulative) > _FEW_CATEGORIES:
        return np.minimum(np.searchsorted(cumulative, u, "right"), len(cumulative) - 1)
    # The number of boundaries at or below each value, one vector pass per boundary:
    # 0.1-1.5 ms for 200,000 values and 2-24 categories, where searchsorted's binary
    # search per value takes 3-6 ms.
    index = np.zeros(len(u), dtype=np.uint8)
    for boundary in cumulative[:-1]:
        index += u >= boundary
    return index
