"""Outbound strategies: the registry, fixed_time and predicted_best_time (domain brief S3).

Hand-built profiles and fixed seeds: deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from policies.base import PolicyConfigError, UnknownPolicyError
from policies.outbound import (
    OUTBOUND_STRATEGIES,
    OutboundStrategy,
    OutboundTask,
    make_outbound,
    outbound_spec,
)
from policies.outbound.predicted_best_time import PredictedBestTime
from sim.model.profile import (
    DAY,
    HOUR,
    INBOUND,
    SERVED,
    Interaction,
    InteractionPredictor,
    PredictorConfig,
    Priors,
    ProfileStore,
    hour_of_day,
)

CHANNELS = ("voice", "app", "web")
NOW = 10 * DAY + 13 * HOUR + 1234.0  # day 10, 13:20:34


def _predictor() -> InteractionPredictor:
    """Customer 0 contacts by app at 22:00-23:00 (18 of 20); customer 1 is new."""
    rng = np.random.default_rng(2)
    store = ProfileStore(2, 20)
    for k in range(20):
        day = (k - 20) * DAY
        if k % 10:
            start, channel = day + 22 * HOUR + rng.random() * HOUR, "app"
        else:
            start, channel = day + rng.random() * DAY, "voice"
        store.record(0, Interaction(start, start + 300.0, channel, INBOUND, SERVED))
    priors = Priors(CHANNELS, np.ones(24), {"voice": 0.6, "app": 0.3, "web": 0.1},
                    {"voice": 420.0, "app": math.inf, "web": 300.0})
    return InteractionPredictor(store, priors, PredictorConfig())


def _task(customer: int = 0, due: float = 0.0, hours: tuple[int, int] = (8, 23),
          channels: tuple[str, ...] = ("voice", "app"), fixed_hour: int = 10) -> OutboundTask:
    return OutboundTask(customer, "retention", channels, hours, fixed_hour, due, 1)


def test_registry_lists_both_strategies() -> None:
    specs = OUTBOUND_STRATEGIES.specs()
    assert {"fixed_time", "predicted_best_time"} <= set(specs)
    assert all(spec.summary for spec in specs.values())
    assert make_outbound("fixed_time").name == "fixed_time"
    assert make_outbound("predicted_best_time", None).name == "predicted_best_time"


def test_unknown_strategy_lists_the_known_ones() -> None:
    with pytest.raises(UnknownPolicyError) as error:
        make_outbound("random_dial")
    assert "random_dial" in str(error.value)
    for known in ("fixed_time", "predicted_best_time"):
        assert known in str(error.value)
    # With a field path (as the scenario gives it), the error points there.
    with pytest.raises(PolicyConfigError) as located:
        outbound_spec("random_dial", ("outbound", "strategy"))
    assert located.value.path == ("outbound", "strategy")
    assert "predicted_best_time" in located.value.message


def test_bad_parameters_are_rejected_with_their_path() -> None:
    with pytest.raises(PolicyConfigError) as error:
        make_outbound("predicted_best_time", {"horizon": "-2h"}, ("outbound", "params"))
    assert error.value.path == ("outbound", "params", "horizon")
    with pytest.raises(PolicyConfigError, match="unknown parameter 'hour'"):
        make_outbound("fixed_time", {"hour": 10})
    strategy = make_outbound("predicted_best_time", {"horizon": "12h"})
    assert isinstance(strategy, PredictedBestTime)
    assert strategy.horizon == 12 * HOUR


def test_fixed_time_is_the_next_fixed_hour_on_the_default_channel() -> None:
    strategy = make_outbound("fixed_time")
    predictor = _predictor()
    rng = np.random.default_rng(4)
    for _ in range(300):
        now = float(rng.uniform(0, 5 * DAY))
        due = now + float(rng.uniform(-DAY, DAY))
        fixed = int(rng.integers(24))
        time, channel = strategy.schedule(_task(due=due, fixed_hour=fixed), predictor, now)
        earliest = max(now, due)
        assert channel == "voice"
        assert time % DAY == fixed * HOUR
        assert earliest <= time < earliest + DAY
    # Exactly at the fixed hour: now.
    at_ten = 3 * DAY + 10 * HOUR
    assert strategy.schedule(_task(), predictor, at_ten) == (at_ten, "voice")


def test_predicted_best_time_calls_in_the_predicted_hour() -> None:
    strategy = make_outbound("predicted_best_time")
    predictor = _predictor()
    time, channel = strategy.schedule(_task(), predictor, NOW)
    assert (hour_of_day(time), channel) == (22, "app")
    assert time == NOW - 13 * HOUR - 1234.0 + 22 * HOUR
    # It is the predictor's answer, from the due time when that is later.
    for customer in (0, 1):
        for due in (0.0, NOW + 5 * HOUR, NOW + 1.5 * DAY):
            task = _task(customer, due)
            best = predictor.best_time(customer, max(NOW, due), task.channels, task.hours)
            assert strategy.schedule(task, predictor, NOW) == best[:2]


def test_predicted_best_time_respects_the_horizon() -> None:
    strategy = make_outbound("predicted_best_time", {"horizon": "2h"})
    predictor = _predictor()
    time, _ = strategy.schedule(_task(hours=(0, 24)), predictor, NOW)
    assert NOW <= time <= NOW + 2 * HOUR


@pytest.mark.parametrize("name", ["fixed_time", "predicted_best_time"])
def test_no_attempt_before_now_or_due(name: str) -> None:
    strategy: OutboundStrategy = make_outbound(name)
    predictor = _predictor()
    rng = np.random.default_rng(9)
    for _ in range(300):
        now = float(rng.uniform(0, 3 * DAY))
        if rng.random() < 0.2:
            now = math.floor(now / HOUR) * HOUR
        due = now + float(rng.choice([-HOUR, 0.0, float(rng.uniform(0, 2 * DAY))]))
        first = int(rng.integers(24))
        task = _task(int(rng.integers(2)), due, (first, int(rng.integers(25))),
                     ("web", "app", "voice"), int(rng.integers(24)))
        time, channel = strategy.schedule(task, predictor, now)
        assert time >= max(now, due)
        assert channel in task.channels
