"""Build once, share: every policy and strategy of one replication runs on one shared
customer base and one seeded profile history, with results identical to separate builds
and no run seeing another run's contacts."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim import run
from sim.errors import ScenarioError
from sim.kernel.streams import RandomStreams
from sim.model.customers import Customer, Population, _Pool, categories
from sim.model.profile import INBOUND, SERVED, Interaction, ProfileStore
from sim.model.scenario import Scenario, scenario_from_dict
from sim.model.sharing import BuildCache, generator_key

ROOT = Path(__file__).resolve().parents[1]
HOURS = np.ones(24)


@pytest.fixture
def caches(monkeypatch: pytest.MonkeyPatch) -> tuple[BuildCache[Population],
                                                      BuildCache[object]]:
    """Fresh population and seeded-history caches (counting from zero builds)."""
    populations: BuildCache[Population] = BuildCache(2)
    histories: BuildCache[object] = BuildCache(2)
    monkeypatch.setattr(Population, "shared_builds", populations)
    monkeypatch.setattr(ProfileStore, "shared_histories", histories)
    return populations, histories


def _omnichannel() -> Scenario:
    """The omnichannel bank (customers, identity, predictor) made small: 3,000 customers,
    the first hour of traffic."""
    data = yaml.safe_load((ROOT / "scenarios" / "omnichannel_bank.yaml").read_text())
    data["customers"]["population"] = 3000
    data["run"]["duration"] = "9h"
    return scenario_from_dict(data)


def _population(replication: int = 0) -> Population:
    return Population.shared(_omnichannel().customers, RandomStreams(5, replication).generator,
                             HOURS, 0.5)


def test_every_policy_of_a_replication_uses_one_build(
        caches: tuple[BuildCache[Population], BuildCache[object]]) -> None:
    populations, histories = caches
    # More replications than the cache keeps: sharing relies on the runner running
    # every policy of one replication in a row.
    run(_omnichannel(), ["fcfs", "contextual"], replications=3, progress=False)
    assert populations.builds == 3 and histories.builds == 3  # one per replication


def test_shared_builds_give_the_results_of_separate_builds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = _omnichannel()
    shared = run(scenario, ["fcfs", "contextual"], replications=2, progress=False).to_json()
    # A cache that keeps nothing: every run builds its own customers and history.
    monkeypatch.setattr(Population, "shared_builds", BuildCache(0))
    monkeypatch.setattr(ProfileStore, "shared_histories", BuildCache(0))
    separate = run(scenario, ["fcfs", "contextual"], replications=2, progress=False).to_json()
    assert shared == separate


def test_a_run_never_sees_another_runs_contacts(
        caches: tuple[BuildCache[Population], BuildCache[object]]) -> None:
    first, second = _population(), _population()
    assert caches[0].builds == 1 and first.columns.categories is second.columns.categories
    before = Customer(second, 3)
    first.columns.last_agent[3] = 7  # as the engine writes it when an agent serves
    first.record_contact(3, 100.0)
    assert (Customer(first, 3).contacts, Customer(first, 3).last_contact,
            Customer(first, 3).last_agent) == (before.contacts + 1, 100.0, 7)
    after = Customer(second, 3)
    assert (after.contacts, after.last_contact, after.last_agent) == (
        before.contacts, -math.inf, None)
    # The profile store: one shared seeded history, each store's own writes.
    stores = [ProfileStore(first.size, 20), ProfileStore(second.size, 20)]
    for store, population in zip(stores, (first, second)):
        store.seed_history(population, np.random.default_rng(3), 90.0)
    assert caches[1].builds == 1
    seeded = stores[1].history(3)
    assert seeded  # customer 3 has pre-run contacts to share
    stores[0].record(3, Interaction(100.0, 400.0, "voice", INBOUND, SERVED))
    assert stores[0].history(3) == (seeded + stores[0].history(3)[-1:])[-20:]
    assert stores[1].history(3) == seeded and ProfileStore(first.size, 20).history(3) == ()


def test_seeded_contacts_are_the_interactions_the_constructor_makes(
        caches: tuple[BuildCache[Population], BuildCache[object]]) -> None:
    population = _population()
    # A store keeping few first, then one keeping more (it makes the longer tuple), then
    # one keeping few again (it shares that tuple).
    stores = [ProfileStore(population.size, keep) for keep in (2, 20, 2)]
    for store in stores:
        store.seed_history(population, np.random.default_rng(3), 90.0)
    # A customer with more pre-run contacts than the small stores keep.
    customer = next(c for c in range(population.size) if population.columns.contacts[c] > 2)
    first_kept = stores[0].history(customer)
    history = stores[1].history(customer)
    assert len(history) == min(20, population.columns.contacts[customer])
    assert first_kept == history[-2:]
    # Made without the NamedTuple's __new__ (ProfileStore._with_seeded): each field as the
    # constructor would set it, defaults included.
    assert [tuple(item) for item in history] == [
        tuple(Interaction(item.start, item.start + 300.0, item.channel, INBOUND, SERVED))
        for item in history]
    assert all(type(item) is Interaction for item in history)
    # One set of seeded Interactions, shared; each store keeps its own latest ``keep``.
    kept = stores[2].history(customer)
    assert kept == history[-2:] and kept[0] is history[-2]


def test_a_shared_history_leaves_the_generator_where_drawing_would(
        caches: tuple[BuildCache[Population], BuildCache[object]]) -> None:
    population = _population()
    ends = []
    for _ in range(2):
        rng = np.random.default_rng(3)
        ProfileStore(population.size, 20).seed_history(population, rng, 90.0)
        ends.append((generator_key(rng), rng.random()))
    assert caches[1].builds == 1 and ends[0] == ends[1]


def test_the_caches_are_bounded(
        caches: tuple[BuildCache[Population], BuildCache[object]]) -> None:
    populations = caches[0]
    for replication in range(5):
        _population(replication)
    assert len(populations) == 2 and populations.builds == 5
    _population(4)  # still kept
    _population(0)  # dropped long ago: built again
    assert len(populations) == 2 and populations.builds == 6
    populations.clear()
    assert len(populations) == 0
    nothing: BuildCache[int] = BuildCache(0)
    assert [nothing.get("key", lambda: 1) for _ in range(3)] == [1, 1, 1]
    assert len(nothing) == 0 and nothing.builds == 3


@pytest.mark.parametrize("count", [1, 2, 3, 24, 32, 33, 100])
def test_categories_are_those_searchsorted_gives(count: int) -> None:
    """``categories`` replaces numpy's searchsorted in the population's draws: the same
    category for every uniform (the customers, and so every golden figure, depend on it),
    at boundaries, between equal boundaries (zero shares) and past the end."""
    rng = np.random.default_rng(count)
    weights = rng.random(count)
    weights[::3] = 0.0 if count > 2 else weights[::3]
    cumulative = np.cumsum(weights / weights.sum()) * (1 - 1e-12)  # a last boundary < 1
    u = np.concatenate([rng.random(20_000), cumulative, np.nextafter(cumulative, 0.0),
                        [0.0, 1 - 1e-16]])
    expected = np.minimum(np.searchsorted(cumulative, u, "right"), count - 1)
    assert categories(cumulative, u).tolist() == expected.tolist()


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 100, 5_000, 17_001])
def test_a_pool_picks_whom_a_bisection_of_all_its_weights_picks(count: int) -> None:
    """A pool's guide table only narrows the bisection: the same member for every
    uniform as bisecting all cumulative weights (which customer calls, and so every
    golden figure, depends on it), with members of zero weight, on every bucket's bound
    and just below it, at 0 and just below 1."""
    rng = np.random.default_rng(count)
    weights = rng.gamma(0.3, 1.0, count)
    weights[rng.random(count) < 0.1] = 0.0
    weights[0] = 1.0
    members = list(range(100, 100 + count))
    pool = _Pool(members, weights)
    cumulative = np.cumsum(weights)
    bounds = np.arange(pool._buckets + 1) / pool._buckets
    u = np.concatenate([rng.random(20_000), bounds[:-1], np.nextafter(bounds[1:], 0.0),
                        [0.0, 1 - 2**-53]])
    expected = np.minimum(np.searchsorted(cumulative, u * cumulative[-1], "right"), count - 1)
    assert [pool.pick(x) for x in u.tolist()] == [members[i] for i in expected.tolist()]


def test_a_habit_pool_holds_the_customers_whose_window_covers_its_hour() -> None:
    """Pool (channel, h): the customers of that channel whose preferred window starts at
    h, then at h - 1, ... (wrapping midnight), each group in customer order, with their
    activity as cumulative weights. Which customer a contact picks (and so every golden
    figure) depends on this order."""
    data = yaml.safe_load((ROOT / "scenarios" / "omnichannel_bank.yaml").read_text())
    data["customers"].update(population=2000, habit_window="3h")
    scenario = scenario_from_dict(data)
    assert len(scenario.customers.channels) >= 3
    # Traffic every hour, heavier around midnight: windows wrap in the pools.
    weights = np.array([3.0 if hour in (0, 22, 23) else 1.0 for hour in range(24)])
    population = Population(scenario.customers, RandomStreams(3, 0).generator, weights, 0.5)
    columns = population.columns
    channels, starts = list(columns.channel), list(columns.habit_hour)
    pools = population._pools
    assert list(pools) == list(population.channel_names)
    for code, name in enumerate(population.channel_names):
        assert len(pools[name]) == 24
        for hour in range(24):
            expected = [index for back in range(3) for index in range(population.size)
                        if channels[index] == code and starts[index] == (hour - back) % 24]
            pool = population.habit_pool(name, hour)
            assert (list(pool._members) if pool is not None else []) == expected
            if pool is not None:
                weights_in_order = [population._everyone._cumulative[i]
                                    - (population._everyone._cumulative[i - 1] if i else 0.0)
                                    for i in expected]
                assert list(pool._cumulative) == pytest.approx(np.cumsum(weights_in_order))


def test_columns_drawn_on_read_are_the_draws_of_their_own_streams(
        caches: tuple[BuildCache[Population], BuildCache[object]]) -> None:
    spec = _omnichannel().customers
    population = _population()
    drawn_on_read = population.columns.drawn_on_read
    assert drawn_on_read.attributes == []  # nothing drawn until read
    # A customer whose snapshot is taken before any column is drawn reads them on demand.
    early = Customer(population, 7)
    streams = RandomStreams(5, 0)
    expected = {
        "value": spec.value.sample(streams.generator("population/value"), spec.population),
        "churn_risk": spec.churn_risk.sample(streams.generator("population/churn_risk"),
                                             spec.population),
        "sentiment": spec.sentiment.sample(streams.generator("population/sentiment"),
                                           spec.population),
    }
    history = streams.generator("population/history").poisson(spec.history, spec.population)
    counts = np.array(list(spec.phones))[_choices(
        spec.phones.values(), streams.generator("population/phones").random(spec.population))]
    carriers = _choices(spec.carriers.values(),
                        streams.generator("population/carriers").random(counts.sum()))
    assert early.sentiment == expected["sentiment"][7]
    assert [name for name, _ in drawn_on_read.attributes] == ["sentiment"]
    # A fork of the same build sees the column drawn through another fork.
    other = _population()
    assert other is not population and other.columns.drawn_on_read is drawn_on_read
    assert list(other.columns.sentiment) == expected["sentiment"].tolist()
    for name, values in expected.items():
        assert list(getattr(population.columns, name)) == values.tolist()
    assert list(population.columns.contacts) == history.tolist()
    first = counts[:11].sum()
    assert Customer(population, 11).phones == tuple(
        population.carrier_names[c] for c in carriers[first:first + counts[11]])
    # Later snapshots get every drawn attribute at once; the run's own contacts add up.
    population.record_contact(11, 60.0)
    late = Customer(population, 11)
    assert (late.value, late.churn_risk, late.sentiment, late.contacts) == (
        expected["value"][11], expected["churn_risk"][11], expected["sentiment"][11],
        history[11] + 1)
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        late.colour  # noqa: B018 - the read is the test


def _choices(shares: Iterable[float], u: np.ndarray) -> np.ndarray:
    """Categories of ``u`` by (normalised) shares, as the population draws them."""
    weights = np.array(list(shares))
    return categories(np.cumsum(weights / weights.sum()), u)


def test_a_scenario_that_reads_no_profile_score_never_draws_one(
        caches: tuple[BuildCache[Population], BuildCache[object]]) -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "identity_bank.yaml").read_text())
    data["customers"]["population"] = 3000
    data["run"]["duration"] = "10h"
    run(scenario_from_dict(data), ["fcfs"], replications=1, verifications=["kba_all"],
        progress=False)
    populations, _ = caches
    (build,) = populations._entries.values()
    assert build.columns.drawn_on_read.attributes == []
    assert set(build.columns.drawn_on_read._draws) == {
        "value", "churn_risk", "sentiment", "contacts", "phone_offsets", "phone_carriers"}


def test_each_customers_categories_are_the_draws_of_their_own_streams(
        caches: tuple[BuildCache[Population], BuildCache[object]]) -> None:
    """Tier, language, dialect, channel, devices and voice print come out of one combined
    code per customer (``_combined``) as drawn, each from its own stream."""
    spec = _omnichannel().customers
    assert spec is not None
    population, streams, size = _population(), RandomStreams(5, 0), spec.population

    def drawn(name: str, shares: Iterable[float]) -> np.ndarray:
        return _choices(shares, streams.generator(f"population/{name}").random(size))

    tiers, languages = drawn("tier", spec.tiers.values()), drawn("language",
                                                                 spec.languages.values())
    channels, devices = drawn("channel", spec.channels.values()), drawn("devices",
                                                                    spec.devices.values())
    voice = streams.generator("population/voice_enrolled").random(size) < 0.5
    dialect_u = streams.generator("population/dialect").random(size)
    seen = set()
    for index in range(size):
        customer = Customer(population, index)
        language = population.language_names[languages[index]]
        shares = spec.dialects.get(language)
        dialect = None if shares is None else list(shares)[_choices(
            shares.values(), dialect_u[index:index + 1])[0]]
        expected = (population.tier_names[tiers[index]], language, dialect,
                    population.channel_names[channels[index]],
                    population.device_counts[devices[index]], bool(voice[index]))
        assert (customer.tier, customer.language, customer.dialect, customer.preferred_channel,
                customer.devices, customer.voice_enrolled) == expected, index
        seen.add(expected)
    assert len(seen) > 20  # many combinations decoded, not a few repeated


def test_more_categories_than_one_code_can_hold_are_refused_at_validation() -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "identity_bank.yaml").read_text())
    count = 5000  # 5000^5 x 2 combinations: over 2^62
    customers = data["customers"]
    for field, prefix in (("tiers", "t"), ("languages", "l"), ("channels", "c")):
        customers[field] = {f"{prefix}{i}": 1 / count for i in range(count)}
    customers["dialects"] = {"l0": {f"d{i}": 1 / count for i in range(count)}}
    customers["devices"] = {i + 1: 1 / count for i in range(count)}
    with pytest.raises(ScenarioError, match=r"customers\.tiers: 6,251,250,000,000,000,000 "
                       r"combinations of tiers, .*; allowed: at most 4,611,686,018,427,387,904"):
        scenario_from_dict(data, source="big.yaml")
