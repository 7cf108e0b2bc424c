"""Customer profiles and the interaction predictor (domain brief S3, S7).

No peeking (estimates at ``now`` ignore interactions that end later), priors for
new customers, recovery of habits from a profile and from a seeded population,
patience from censored waits, answer chances and the best time to call.

Statistical checks use binomial or sampling standard errors with z = 4.5 (or 4 for
the patience estimate as its brief asks); seeds are fixed, so runs are deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.customers import Customer, Customers, Population
from sim.model.profile import (
    ABANDONED,
    DAY,
    HOUR,
    INBOUND,
    OUTBOUND,
    REACHED,
    SERVED,
    UNREACHED,
    Interaction,
    InteractionPredictor,
    PredictorConfig,
    Priors,
    ProfileStore,
    _by_owner_then_time,
    hour_of_day,
)
from sim.kernel.streams import RandomStreams

CHANNELS = ("voice", "app", "web")
# Daytime-heavy prior hours: a flat prior would hide mistakes in how it is used.
HOUR_WEIGHTS = np.array([1.0] * 8 + [4.0] * 10 + [2.0] * 6)
PATIENCE = {"voice": 420.0, "app": math.inf, "web": 300.0}
PRIORS = Priors(CHANNELS, HOUR_WEIGHTS, {"voice": 0.6, "app": 0.3, "web": 0.1}, PATIENCE)
NOW = 30 * DAY + 15 * HOUR + 600.0  # day 30, 15:10


def _predictor(*interactions: Interaction, customer: int = 0,
               config: PredictorConfig | None = None) -> InteractionPredictor:
    config = config or PredictorConfig()
    store = ProfileStore(4, config.history_kept)
    for item in interactions:
        store.record(customer, item)
    return InteractionPredictor(store, PRIORS, config)


def _habitual(channel: str, hour: int, width: int, in_habit: int = 18, total: int = 20,
              seed: int = 3) -> list[Interaction]:
    """``total`` inbound contacts on past days, ``in_habit`` of them (at random positions)
    on ``channel`` inside ``hour`` .. ``hour + width``, the others anywhere on any channel."""
    rng = np.random.default_rng(seed)
    habit = set(rng.permutation(total)[:in_habit].tolist())
    history = []
    for k in range(total):
        day = (k - total) * DAY
        if k in habit:
            start, used = day + hour * HOUR + rng.random() * width * HOUR, channel
        else:
            start, used = day + rng.random() * DAY, CHANNELS[rng.integers(len(CHANNELS))]
        history.append(Interaction(start, start + 300.0, used, INBOUND, SERVED))
    return history


def _estimates(predictor: InteractionPredictor, now: float) -> tuple[object, ...]:
    return (predictor.hour_shares(0, now).tolist(), predictor.channel_shares(0, now),
            predictor.patience(0, "voice", now), predictor.patience(0, "app", now),
            [predictor.answer_probability(0, h, c, now) for h in range(24) for c in CHANNELS],
            predictor.best_time(0, now, CHANNELS, (8, 20)))


# ------------------------------------------------------------------ no peeking
def test_estimates_use_only_interactions_that_ended() -> None:
    before = [
        Interaction(NOW - 5 * DAY, NOW - 5 * DAY + 400, "voice", INBOUND, SERVED, 40.0),
        Interaction(NOW - 3 * DAY, NOW - 3 * DAY + 90, "voice", INBOUND, ABANDONED, 90.0),
        Interaction(NOW - 2 * DAY, NOW - 2 * DAY + 30, "voice", OUTBOUND, UNREACHED),
        Interaction(NOW - 600, NOW, "app", INBOUND, SERVED, 5.0),  # ends exactly now: visible
    ]
    later = [
        Interaction(NOW - 50, NOW + 1, "voice", INBOUND, ABANDONED, 51.0),
        Interaction(NOW - 100, NOW + 1, "voice", OUTBOUND, REACHED),
        Interaction(NOW - 200, NOW + 1, "app", INBOUND, ABANDONED, 30.0),
    ]
    full = _predictor(*before, *later)
    known = _predictor(*before)
    assert _estimates(full, NOW) == _estimates(known, NOW)
    assert _estimates(full, NOW + 0.5) == _estimates(known, NOW + 0.5)
    # Once they have ended, every estimate moves.
    after, old = _estimates(full, NOW + 1), _estimates(known, NOW + 1)
    for moved, kept in zip(after[:5], old[:5]):
        assert moved != kept
    assert full.patience(0, "app", NOW) == math.inf
    assert full.patience(0, "app", NOW + 1) == pytest.approx(35.0)  # (5 + 30) / 1


# ---------------------------------------------------------------- new customer
def test_a_customer_without_history_gets_the_priors_exactly() -> None:
    predictor = _predictor()
    assert predictor.hour_shares(1, NOW).tolist() == PRIORS.hour_shares.tolist()
    assert predictor.channel_shares(1, NOW) == dict(zip(CHANNELS,
                                                        PRIORS.channel_shares.tolist()))
    assert predictor.preferred_channel(1, NOW) == "voice"
    assert predictor.preferred_hours(1, NOW, 10) == 8
    for channel, mean in PATIENCE.items():
        assert predictor.patience(1, channel, NOW) == mean
    config = predictor.config
    for hour in range(24):
        for channel, share in zip(CHANNELS, (0.6, 0.3, 0.1)):
            expected = config.answer_low + (config.answer_high - config.answer_low) * (
                HOUR_WEIGHTS[hour] / HOUR_WEIGHTS.max()) * (share / 0.6)
            assert predictor.answer_probability(1, hour, channel, NOW) == pytest.approx(
                expected, rel=1e-12)


# -------------------------------------------------------------------- recovery
@pytest.mark.parametrize("channel, hour, width", [("app", 22, 1), ("voice", 10, 2)],
                         ids=["B app 22-23", "A voice 10-12"])
def test_habit_is_recovered_from_twenty_contacts(channel: str, hour: int, width: int) -> None:
    predictor = _predictor(*_habitual(channel, hour, width))
    assert predictor.preferred_channel(0, NOW) == channel
    assert predictor.preferred_hours(0, NOW, width) == hour
    shares = predictor.hour_shares(0, NOW)
    assert shares.sum() == pytest.approx(1.0)
    assert shares[hour:hour + width].sum() >= 0.5
    assert predictor.channel_shares(0, NOW)[channel] >= 0.5


POPULATION_HOURS = np.array([0.2] * 7 + [1.0] * 14 + [0.5] * 3)
"""Hour weights the test population's preferred hours start with."""


@pytest.fixture(scope="module")
def seeded() -> tuple[Population, ProfileStore]:
    """20,000 customers (8 earlier contacts on average, 2-hour habits) and their
    seeded pre-run history."""
    spec = Customers.model_validate({
        "population": 20000, "tiers": {"standard": 0.9, "vip": 0.1}, "languages": {"en": 1.0},
        "value": {"mean": 5000}, "channels": {"voice": 0.5, "app": 0.3, "web": 0.2},
        "habit_window": "2h", "history": 8.0,
    })
    population = Population(spec, RandomStreams(7, 0).generator, POPULATION_HOURS, 0.0)
    config = PredictorConfig()
    store = ProfileStore(population.size, config.history_kept)
    store.seed_history(population, np.random.default_rng(11), config.history_days)
    return population, store


def test_seeded_history_follows_the_population_habits(
        seeded: tuple[Population, ProfileStore]) -> None:
    population, store = seeded
    config = PredictorConfig()
    columns = population.columns
    contacts = [item for i in range(population.size) for item in store.history(i)]
    kept = [min(n, config.history_kept) for n in columns.contacts]
    assert [len(store.history(i)) for i in range(population.size)] == kept
    assert all(-config.history_days * DAY <= c.start < 0 for c in contacts)
    assert all(c.end == c.start + 300.0 and c.direction == INBOUND and c.outcome == SERVED
               for c in contacts)
    # Kept in time order, so a full profile holds the latest contacts.
    assert all(list(store.history(i)) == sorted(store.history(i)) for i in range(100))
    # A contact is in habit by draw (habit_strength), or by chance outside it.
    owners = [i for i in range(population.size) for _ in store.history(i)]
    in_habit = sum(all(population.in_habit(i, c.channel, c.start))
                   for i, c in zip(owners, contacts))
    spec = population.spec
    share = spec.channels
    window = population.habit_window / DAY
    chance = spec.habit_strength + (1 - spec.habit_strength) * window * sum(
        columns.channel.count(population.channel_names.index(c)) / population.size * s
        for c, s in share.items())
    n = len(contacts)
    assert abs(in_habit / n - chance) <= 4.5 * math.sqrt(chance * (1 - chance) / n)
    # Priors.from_population gives the hour distribution the seeded contacts have. A
    # customer's contacts share one habit, so the error is that of a cluster sample:
    # customers are the units, weighted by their kept contacts (design effect
    # E[N^2] / E[N]^2).
    priors = Priors.from_population(population, POPULATION_HOURS, PATIENCE)
    by_hour = np.bincount([hour_of_day(c.start) for c in contacts], minlength=24) / n
    sizes = np.array(kept, dtype=float)
    effect = (sizes**2).mean() / sizes.mean() ** 2
    p = priors.hour_shares
    error = np.sqrt(effect * p * (1 - p) / population.size)
    assert (np.abs(by_hour - p) <= 4.5 * error).all()
    assert priors.channel_shares.tolist() == pytest.approx([0.5, 0.3, 0.2])


def test_recorded_interactions_follow_the_seeded_ones(
        seeded: tuple[Population, ProfileStore]) -> None:
    """A customer written to before any read gets the seeded contacts in front at the
    first read: the latest ``keep`` of seeded then recorded, as if seeded at first write."""
    population, store = seeded
    keep = 5
    counts = population.columns.contacts
    # Customers with 3, keep - 1 and more than keep seeded contacts (all in the fixture's
    # store, which keeps 20); 0, 1, 2 and keep + 1 recorded before their first read.
    chosen = [next(i for i in range(population.size) if counts[i] == n)
              for n in (3, keep - 1, keep + 7)]
    for customer in chosen:
        seeded_part = store.history(customer)
        assert len(seeded_part) == counts[customer]
        for recorded in (0, 1, 2, keep + 1):
            own = ProfileStore(population.size, keep)
            own.seed_history(population, np.random.default_rng(11),
                             PredictorConfig().history_days)
            items = [Interaction(float(k), float(k) + 60.0, "voice", INBOUND, SERVED)
                     for k in range(recorded)]
            for item in items:
                own.record(customer, item)
            assert own.history(customer) == (*seeded_part, *items)[-keep:]
            # Read once, the deque is whole: later writes append to it.
            later = Interaction(1e4, 1e4 + 60.0, "app", INBOUND, SERVED)
            own.record(customer, later)
            assert own.history(customer) == (*seeded_part, *items, later)[-keep:]


@pytest.mark.parametrize("case", ["random", "equal starts", "keys that round together"])
def test_seeded_contacts_are_ordered_as_lexsort_orders_them(case: str) -> None:
    rng = np.random.default_rng(3)
    owner = np.repeat(np.arange(5000), rng.poisson(4, 5000))
    before = 30 * DAY
    start = rng.uniform(-before, DAY, len(owner))
    if case == "equal starts":  # lexsort keeps equal (owner, start) in index order
        start[1::3] = start[::3][:len(start[1::3])]
        start[owner % 7 == 0] = -DAY
    elif case == "keys that round together":  # starts of one customer 1e-9 s apart
        start[1::2] = start[::2][:len(start[1::2])] + 1e-9
    order = _by_owner_then_time(owner, start, before)
    assert np.array_equal(order, np.lexsort((start, owner)))


def test_preferred_channel_is_recovered_for_customers_with_enough_history(
        seeded: tuple[Population, ProfileStore]) -> None:
    population, store = seeded
    predictor = InteractionPredictor(
        store, Priors.from_population(population, POPULATION_HOURS, PATIENCE), PredictorConfig())
    rich = [i for i in range(population.size) if population.columns.contacts[i] >= 10]
    assert len(rich) >= 2000
    right = sum(predictor.preferred_channel(i, 0.0) == Customer(population, i).preferred_channel
                for i in rich)
    assert right / len(rich) >= 0.9
    # The preferred 2-hour window starts at the true habit start for most of them too.
    starts = sum(predictor.preferred_hours(i, 0.0, 2) * HOUR
                 == Customer(population, i).preferred_hours[0] for i in rich)
    assert starts / len(rich) >= 0.8


# -------------------------------------------------------------------- patience
def test_patience_estimate_from_censored_exponential_waits() -> None:
    rng = np.random.default_rng(5)
    mean, count = 120.0, 3000
    patience = rng.exponential(mean, count)
    service = rng.exponential(90.0, count)  # wait until an agent answers: censors patience
    history = []
    for k, (gives_up, answered) in enumerate(zip(patience.tolist(), service.tolist())):
        start = -DAY + k * 10.0
        waited = min(gives_up, answered)
        outcome = ABANDONED if gives_up < answered else SERVED
        history.append(Interaction(start, start + waited + 1, "app", INBOUND, outcome, waited))
    config = PredictorConfig(history_kept=count)
    estimate = _predictor(*history, config=config).patience(0, "app", 0.0)
    abandoned = sum(h.outcome == ABANDONED for h in history)
    assert abandoned > 1000
    # The MLE's standard error is mean / sqrt(abandonments).
    assert abs(estimate - mean) <= 4 * mean / math.sqrt(abandoned)


def test_patience_shrinks_towards_the_prior_mean() -> None:
    history = [
        Interaction(-300, -200, "voice", INBOUND, SERVED, 30.0),
        Interaction(-200, -100, "voice", INBOUND, ABANDONED, 60.0),
        Interaction(-100, -10, "voice", INBOUND, ABANDONED, 90.0),
        Interaction(-100, -10, "web", INBOUND, ABANDONED, 5.0),  # other channel
        Interaction(-100, -10, "voice", OUTBOUND, UNREACHED, 7.0),  # not a wait in queue
    ]
    predictor = _predictor(*history)
    assert predictor.patience(0, "voice", 0.0) == pytest.approx((4 * 420 + 180) / 6)
    # An infinite prior mean: never abandons until seen, then the plain estimate.
    app = [Interaction(-300, -200, "app", INBOUND, SERVED, 30.0)]
    assert _predictor(*app).patience(0, "app", 0.0) == math.inf
    app.append(Interaction(-200, -100, "app", INBOUND, ABANDONED, 60.0))
    assert _predictor(*app).patience(0, "app", 0.0) == 90.0


# ---------------------------------------------------- answer chance, best time
def test_answer_chance_is_higher_in_the_habit_window() -> None:
    predictor = _predictor(*_habitual("app", 22, 1))
    inside = predictor.answer_probability(0, 22, "app", NOW)
    assert inside > 0.5
    for hour in range(24):
        if hour != 22:
            assert predictor.answer_probability(0, hour, "app", NOW) < inside
        assert predictor.answer_probability(0, hour, "voice", NOW) < inside
    # A channel outside every habit gets the floor.
    assert predictor.answer_probability(0, 22, "sms", NOW) == predictor.config.answer_low


def test_outbound_outcomes_update_the_answer_chance() -> None:
    habit = _habitual("app", 22, 1)
    base = _predictor(*habit).answer_probability(0, 22, "app", NOW)
    missed = [Interaction(start, start + 40.0, "app", OUTBOUND, UNREACHED)
              for start in (NOW - k * DAY + 7 * HOUR for k in range(1, 6))]
    assert all(hour_of_day(m.start) == 22 for m in missed)
    # Room for all: outbound attempts must not push inbound contacts out of the profile.
    config = PredictorConfig(history_kept=40)
    before = _predictor(*habit, config=config)
    lower = _predictor(*habit, *missed, config=config)
    expected = (config.prior_weight * base) / (config.prior_weight + 5)
    assert lower.answer_probability(0, 22, "app", NOW) == pytest.approx(expected)
    # Evidence reaches the neighbouring hours only.
    for hour in (21, 23):
        assert lower.answer_probability(0, hour, "app", NOW) < before.answer_probability(
            0, hour, "app", NOW)
    for hour in (20, 0):
        assert lower.answer_probability(0, hour, "app", NOW) == before.answer_probability(
            0, hour, "app", NOW)
    assert lower.answer_probability(0, 22, "voice", NOW) == before.answer_probability(
        0, 22, "voice", NOW)
    reached = [m._replace(outcome=REACHED) for m in missed]
    assert _predictor(*habit, *reached, config=config).answer_probability(
        0, 22, "app", NOW) > base


def test_best_time_follows_the_habit_and_the_calling_hours() -> None:
    predictor = _predictor(*_habitual("app", 22, 1))
    time, channel, chance = predictor.best_time(0, NOW, CHANNELS, (0, 24))
    assert (hour_of_day(time), channel) == (22, "app")
    assert time == NOW - 15 * HOUR - 600 + 22 * HOUR  # 22:00 the same day
    assert chance == predictor.answer_probability(0, 22, "app", NOW)
    # Calling hours that wrap midnight and include 22.
    assert hour_of_day(predictor.best_time(0, NOW, CHANNELS, (20, 2))[0]) == 22
    # Calling hours without 22: the best allowed hour and channel.
    time, channel, chance = predictor.best_time(0, NOW, CHANNELS, (9, 21))
    assert 9 <= hour_of_day(time) < 21
    assert NOW <= time <= NOW + DAY
    assert chance == max(predictor.answer_probability(0, h, c, NOW)
                         for h in range(9, 21) for c in CHANNELS)
    # Now inside the best hour: call now.
    late = NOW + 7 * HOUR + 20 * 60  # 22:30
    assert predictor.best_time(0, late, CHANNELS, (0, 24))[:2] == (late, "app")
    # A horizon that ends before any calling hour: the first calling hour after it.
    time, _, _ = predictor.best_time(0, NOW, CHANNELS, (6, 8), horizon=HOUR)
    assert time == NOW - 15 * HOUR - 600 + DAY + 6 * HOUR


def _brute_best(predictor: InteractionPredictor, now: float, channels: tuple[str, ...],
                hours: tuple[int, int], horizon: float) -> tuple[float, str, float]:
    """best_time by enumeration (calling hours that do not wrap)."""
    last = math.floor((now + horizon) / HOUR)
    times = [now] + [h * HOUR for h in range(math.floor(now / HOUR) + 1, last + 1)]
    allowed = [t for t in times if hours[0] <= hour_of_day(t) < hours[1]]
    if not allowed:  # none within the horizon: the first calling hour after it
        allowed = [next(h * HOUR for h in range(last + 1, last + 25)
                        if hours[0] <= hour_of_day(h * HOUR) < hours[1])]
    best: tuple[float, str, float] | None = None
    for time in allowed:
        for channel in channels:
            chance = predictor.answer_probability(0, hour_of_day(time), channel, now)
            if best is None or chance > best[2]:
                best = (time, channel, chance)
    assert best is not None
    return best


def test_best_time_is_the_best_candidate_by_enumeration() -> None:
    rng = np.random.default_rng(17)
    history = _habitual("voice", 10, 2, in_habit=12, total=16) + [
        Interaction(-k * DAY + 11 * HOUR, -k * DAY + 11 * HOUR + 40, "voice", OUTBOUND,
                    REACHED if k % 3 else UNREACHED) for k in range(1, 5)]
    predictor = _predictor(*history)
    for _ in range(200):
        now = float(rng.uniform(0, 3 * DAY))
        if rng.random() < 0.2:
            now = math.floor(now / HOUR) * HOUR  # exactly on an hour start
        first = int(rng.integers(0, 23))
        hours = (first, int(rng.integers(first + 1, 25)))
        horizon = float(rng.choice([DAY, 6 * HOUR, 2 * DAY]))
        channels = ("web", "voice") if rng.random() < 0.5 else ("app",)
        got = predictor.best_time(0, now, channels, hours, horizon)
        assert got == _brute_best(predictor, now, channels, hours, horizon)
        assert got[0] >= now


def test_new_customer_ties_go_to_the_earliest_time() -> None:
    flat = Priors(CHANNELS, np.ones(24), {"voice": 1.0}, PATIENCE)
    predictor = InteractionPredictor(ProfileStore(1, 20), flat, PredictorConfig())
    assert predictor.best_time(0, NOW, ("app", "voice"), (0, 24)) == (
        NOW, "voice", pytest.approx(PredictorConfig().answer_high))
    assert predictor.best_time(0, NOW, ("voice",), (16, 18))[0] == NOW + HOUR - 600


def test_profile_keeps_the_latest_interactions() -> None:
    store = ProfileStore(3, 2)
    items = [Interaction(float(k), float(k), "voice", INBOUND, SERVED) for k in range(3)]
    for item in items:
        store.record(1, item)
    assert store.history(1) == tuple(items[1:])
    assert store.history(0) == ()


@pytest.mark.parametrize("bad", [
    {"history_kept": 0}, {"prior_weight": 0}, {"answer_low": 0.7}, {"answer_high": 1.5},
    {"unknown": 1}])
def test_predictor_config_rejects_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PredictorConfig.model_validate(bad)
