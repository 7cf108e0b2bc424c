"""Persistent customer traits and the learned patience estimate (issue 14, item 1).

The estimator is checked against censored exponential data of known mean (asymptotic
standard error of the censored maximum-likelihood estimate m / sqrt(d), z = 4.5). The
routing check is paired over replications (common random numbers): contextual routing
with the interaction predictor against the same policy without it, the 95% t interval
of the per-replication differences in abandonment rate. Measured (seed 14, 10
replications of 5 days): with patience_cv 1 the predictor lowers abandonment by
0.158 points [0.086, 0.230]; with patience_cv 0 the difference is -0.005 points
[-0.058, +0.048]. Those two run 40 five-day replications (about 20 s of CPU): marked
slow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sim import Simulation, estimate, scenario_from_dict
from sim.errors import ScenarioError
from sim.model.profile import (
    ABANDONED, INBOUND, SERVED, Interaction, InteractionPredictor, PredictorConfig, Priors,
    ProfileStore,
)
from sim.model.scenario import Scenario
from sim.model.traits import estimate_multiplier
from sim.stages.identity import IdentityStage

Z = 4.5


def _data(patience_cv: float | None, predictor: bool, handle_time_cv: float = 0.0,
          duration: str = "5d") -> dict[str, Any]:
    """One queue near full load (120/h on 30 agents of 15 min: offered load 1.0), 200
    customers who call about 70 times each in 5 days, contextual routing on urgency only."""
    data: dict[str, Any] = {
        "name": "traits-test",
        "run": {"duration": duration, "replications": 1, "seed": 14, "interval": "1h"},
        "contact_types": {"calls": {
            "arrivals": {"rate": "120/h"},
            "handle_time": {"dist": "exponential", "mean": "15min"},
            "patience": {"dist": "exponential", "mean": "3min"},
        }},
        "agents": {"team": {"count": 30, "skills": ["calls"]}},
        "routing": {"policy": "contextual", "contextual": {"weights": {"sentiment": 0}}},
        "customers": {"population": 200, "tiers": {"standard": 1.0}, "languages": {"en": 1.0},
                      "value": {"mean": 1000}},
    }
    if patience_cv is not None:
        data["customers"]["traits"] = {"patience_cv": patience_cv,
                                       "handle_time_cv": handle_time_cv}
    if predictor:
        data["predictor"] = {"history_kept": 50, "prior_weight": 1}
    return data


def _scenario(*args: Any, **kwargs: Any) -> Scenario:
    return scenario_from_dict(_data(*args, **kwargs))


# ------------------------------------------------------------------ the estimator
def test_the_estimate_is_the_posterior_mean_and_one_without_history() -> None:
    assert estimate_multiplier(0.0, 0, 4.0) == 1.0
    assert estimate_multiplier(6.0, 2, 4.0) == pytest.approx((4 + 6) / (4 + 2))


@pytest.mark.parametrize("true_mean", [0.3, 1.0, 3.0])
def test_the_estimate_converges_to_the_true_mean_on_censored_exponential_data(
        true_mean: float) -> None:
    rng = np.random.default_rng(140)
    n = 4000
    patience = rng.exponential(true_mean, n)
    # Answered after an exponential wait of mean 1 (censoring), else abandoned.
    answer_at = rng.exponential(1.0, n)
    waited = np.minimum(patience, answer_at)
    abandoned = int((patience < answer_at).sum())
    value = estimate_multiplier(float(waited.sum()), abandoned, 4.0)
    assert abs(value - true_mean) <= Z * true_mean / math.sqrt(abandoned), (value, abandoned)


def test_the_predictor_learns_from_waits_scaled_by_the_segment_patience() -> None:
    store = ProfileStore(2, keep=20)
    # Customer 0 abandoned after 60 s of a 120 s segment and was served after 30 s of a
    # 60 s one; contacts without a scale (seeded history, unlimited patience) are ignored.
    store.record(0, Interaction(0.0, 60.0, "voice", INBOUND, ABANDONED, 60.0, 120.0))
    store.record(0, Interaction(100.0, 400.0, "voice", INBOUND, SERVED, 30.0, 60.0))
    store.record(0, Interaction(500.0, 800.0, "voice", INBOUND, ABANDONED, 90.0))
    predictor = InteractionPredictor(store, Priors(("voice",), np.ones(24), {"voice": 1.0},
                                                   {"voice": 180.0}), PredictorConfig())
    assert predictor.patience_multiplier(0, 1000.0) == pytest.approx((4 + 0.5 + 0.5) / (4 + 1))
    assert predictor.patience_multiplier(0, 200.0) == pytest.approx((4 + 0.5) / (4 + 1))
    assert predictor.patience_multiplier(1, 1000.0) == 1.0


# ------------------------------------------------------------------ the traits
def test_traits_scale_each_customers_patience_and_work_by_their_own_multiplier() -> None:
    plain = Simulation(_scenario(None, False, duration="2h"), "fcfs", 0)
    traits = Simulation(_scenario(1.0, False, handle_time_cv=0.5, duration="2h"), "fcfs", 0)
    seen: dict[str, list[Any]] = {"plain": [], "traits": []}
    for name, sim in (("plain", plain), ("traits", traits)):
        route = sim.route

        def record(contact, now, route=route, name=name):  # type: ignore[no-untyped-def]
            seen[name].append((contact.customer.id, contact.patience, contact.work))
            route(contact, now)

        sim.route = record
        sim.run()
    multipliers = traits.stage(IdentityStage).traits
    assert multipliers is not None
    assert len(seen["plain"]) == len(seen["traits"]) > 100
    for (who, patience, work), (same, scaled_patience, scaled_work) in zip(
            seen["plain"], seen["traits"]):
        assert who == same  # the same callers: traits draw from streams of their own
        assert scaled_patience == patience * multipliers.patience[who]
        assert scaled_work == work * multipliers.handle_time[who]
    values = np.array(multipliers.patience)
    # Lognormal with mean 1 and cv 1 over 200 customers.
    assert abs(values.mean() - 1.0) <= Z * 1.0 / math.sqrt(len(values))


def test_zero_spread_leaves_every_draw_as_it_was() -> None:
    zero = Simulation(_scenario(0.0, False, duration="1d"), "fcfs", 0).run()
    plain = Simulation(_scenario(None, False, duration="1d"), "fcfs", 0).run()
    assert zero.overall == plain.overall


def test_a_bad_spread_names_the_field() -> None:
    data = _data(1.0, False)
    data["customers"]["traits"]["patience_cv"] = -1
    with pytest.raises(ScenarioError, match="customers.traits.patience_cv"):
        scenario_from_dict(data)


# ------------------------------------------------------------------ routing on it
def _abandonment_difference(patience_cv: float, replications: int = 10):  # type: ignore[no-untyped-def]
    """Paired estimate of abandonment rate, contextual with the predictor minus without."""
    learned, blind = _scenario(patience_cv, True), _scenario(patience_cv, False)
    return estimate(Simulation(learned, "contextual", r).run().overall["abandon_rate"]
                    - Simulation(blind, "contextual", r).run().overall["abandon_rate"]
                    for r in range(replications))


@pytest.mark.slow
def test_with_patience_spread_the_learned_estimate_lowers_abandonment() -> None:
    difference = _abandonment_difference(1.0)
    assert difference.high < 0, difference


@pytest.mark.slow
def test_without_patience_spread_the_predictor_changes_abandonment_by_chance_only() -> None:
    difference = _abandonment_difference(0.0)
    assert difference.low < 0 < difference.high, difference
