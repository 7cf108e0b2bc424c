"""Experience feeds behaviour (issue 14, item 2): the ``churn`` block.

* with a constant chance h per bad experience, customers churned = h x bad experiences
  within the binomial error (pooled over replications);
* a customer who left makes no more contacts, first contacts and retrials alike;
* a customer who stays sees their sentiment lowered (and, when configured, patience
  shortened) on later contacts by the bad experiences so far;
* with every chance 0 and no effect on later contacts the block changes no figure (its
  draws are its own: common random numbers);
* bad keys give errors naming the field and what is allowed.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from sim import ScenarioError, Simulation, scenario_from_dict
from sim.stages.churn import Churn
from sim.stages.identity import IdentityStage

Z = 3.29
"""Two-sided 99.9% normal quantile: the tolerance of the statistical checks, in standard
errors (seeds are fixed, so each check passes or fails the same way every run)."""
NO_EXPERIENCE = {"long_wait": 0.0, "abandoned": 0.0, "unresolved": 0.0, "refused": 0.0}


def _scenario(churn: dict[str, Any] | None, *, population: int = 2000, agents: int = 8,
              retrial: bool = False, replications: int = 1) -> dict[str, Any]:
    calls: dict[str, Any] = {"arrivals": {"rate": "150/h"},
                             "handle_time": {"dist": "exponential", "mean": "4min"},
                             "patience": {"dist": "exponential", "mean": "2min"}}
    if retrial:
        calls["retrial"] = {"probability": 0.8, "delay": {"dist": "exponential",
                                                          "mean": "10min"}}
    data: dict[str, Any] = {
        "name": "churn", "run": {"duration": "8h", "seed": 5, "replications": replications},
        "contact_types": {"calls": calls},
        "agents": {"team": {"count": agents, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"},
        "customers": {"population": population, "tiers": {"standard": 0.8, "vip": 0.2},
                      "languages": {"en": 1.0}, "value": {"mean": 5000, "cv": 1.0}},
    }
    if churn is not None:
        data["churn"] = churn
    return data


class Recorder:
    """Wraps a simulation's steps to record, per customer, the abandonments and the
    contacts that reached routing (with the sentiment and patience they carried)."""

    def __init__(self, simulation: Simulation) -> None:
        self.routed: list[tuple[int, int, float, float, float, int]] = []
        """(contact, customer, time, sentiment seen, patience, abandonments before) per
        contact routed."""
        self.abandons: dict[int, int] = {}
        route, abandoned = simulation.route, simulation.abandoned

        def recorded_route(contact: Any, now: float) -> None:
            customer = contact.customer
            if customer is not None:
                self.routed.append((contact.id, customer.id, now, customer.sentiment,
                                    contact.patience, self.abandons.get(customer.id, 0)))
            route(contact, now)

        def recorded_abandon(contact: Any, now: float, waited: float) -> None:
            abandoned(contact, now, waited)
            if contact.customer is not None:
                self.abandons[contact.customer.id] = self.abandons.get(contact.customer.id,
                                                                       0) + 1

        simulation.route, simulation.abandoned = recorded_route, recorded_abandon


def _simulation(data: dict[str, Any], replication: int = 0,
                policy: str = "fcfs") -> Simulation:
    return Simulation(scenario_from_dict(data), policy, replication)


# ------------------------------------------------------------------------ theory
def test_churned_customers_match_a_constant_hazard_per_bad_experience() -> None:
    """Only abandonment is a bad experience, with chance h = 0.15: every abandonment of a
    customer still there drives them away with chance h, so over 8 replications the
    churned count is h x abandonments within Z binomial standard errors."""
    h, replications = 0.15, 8
    data = _scenario({"hazard": {**NO_EXPERIENCE, "abandoned": h}}, agents=9)
    churned = abandoned = 0.0
    for replication in range(replications):
        result = _simulation(data, replication).run()
        churned += result.overall["churned"]
        abandoned += result.overall["abandoned"]
    assert abandoned > 500
    error = math.sqrt(abandoned * h * (1 - h))
    assert abs(churned - h * abandoned) <= Z * error, (churned, h * abandoned, error)


def test_value_lost_is_the_value_share_of_the_customers_who_left() -> None:
    """Every abandonment drives the customer away: value lost = value share x the sum of
    the values of the customers who left."""
    data = _scenario({"hazard": {**NO_EXPERIENCE, "abandoned": 1.0}, "value_share": 0.25})
    simulation = _simulation(data)
    result = simulation.run()
    churn = simulation.stage(Churn)
    identity = simulation.stage(IdentityStage)
    assert churn is not None and identity is not None
    values = identity.population.columns.value
    assert result.overall["churned"] == len(churn.left) > 0
    assert result.overall["value_lost"] == pytest.approx(
        0.25 * sum(values[c] for c in churn.left), rel=1e-9)
    assert sum(f["churned"] for f in result.by_tier.values()) == result.overall["churned"]


# ------------------------------------------------------------------- behaviour
@pytest.mark.parametrize("retrial", [False, True], ids=["first-contacts", "retrials"])
def test_a_customer_who_left_makes_no_more_contacts(retrial: bool) -> None:
    """A small base where one abandonment drives a customer away: after their abandonment
    none of their contacts reaches routing (retrials included), and fewer contacts arrive
    than without churn, on the same arrival draws."""
    data = _scenario({"hazard": {**NO_EXPERIENCE, "abandoned": 1.0}}, population=300,
                     agents=7, retrial=retrial)
    simulation = _simulation(data)
    recorder = Recorder(simulation)
    left_at: dict[int, float] = {}
    abandoned = simulation.abandoned

    def note(contact: Any, now: float, waited: float) -> None:
        abandoned(contact, now, waited)
        left_at.setdefault(contact.customer.id, now)

    simulation.abandoned = note
    result = simulation.run()
    assert left_at
    late = [(c, t) for _, c, t, *_ in recorder.routed if c in left_at and t > left_at[c]]
    assert not late, late[:5]
    baseline = _simulation(_scenario(None, population=300, agents=7, retrial=retrial)).run()
    assert result.overall["arrivals"] < baseline.overall["arrivals"]


def test_bad_experiences_lower_sentiment_and_patience_on_later_contacts() -> None:
    """No one leaves (chance 0); each abandonment (waits never count as long) lowers sentiment by 0.2 and halves the
    patience of the customer's later contacts: every contact carries max(base - 0.2 k, 0)
    and 0.5^k of its patience draw (the same contact's in a run without churn: arrivals,
    callers and draws are the same), k the customer's abandonments before it."""
    churn = {"hazard": NO_EXPERIENCE, "sentiment_drop": 0.2, "patience_factor": 0.5,
             "long_wait": "100h"}  # abandonment the only bad experience
    simulation = _simulation(_scenario(churn, population=200, agents=7))
    recorder = Recorder(simulation)
    simulation.run()
    plain = _simulation(_scenario(None, population=200, agents=7))
    plain_recorder = Recorder(plain)
    plain.run()
    draws = {contact: (customer, patience)
             for contact, customer, _, _, patience, _ in plain_recorder.routed}
    identity = simulation.stage(IdentityStage)
    assert identity is not None
    base = identity.population.columns.sentiment
    later = [row for row in recorder.routed if row[5] > 0]
    assert len(later) > 50
    for contact, customer, _, sentiment, patience, before in recorder.routed:
        assert sentiment == pytest.approx(max(base[customer] - 0.2 * before, 0.0), abs=1e-12)
        assert draws[contact][0] == customer
        assert patience == pytest.approx(draws[contact][1] * 0.5**before, rel=1e-12)


def test_zero_chances_change_no_figure() -> None:
    """Chances 0, no sentiment drop, patience kept: every figure of the plain run (the
    block draws from its own stream, so no other draw moves)."""
    quiet = {"hazard": NO_EXPERIENCE, "sentiment_drop": 0.0}
    plain = _simulation(_scenario(None)).run()
    churned = _simulation(_scenario(quiet)).run()
    assert {k: v for k, v in churned.overall.items()
            if k not in ("churned", "value_lost")} == plain.overall
    assert churned.overall["churned"] == 0.0


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("churn, where, allowed", [
    ({"hazard": {"abandoned": 1.5}}, "churn.hazard.abandoned", ""),
    ({"hazard": {"bored": 0.1}}, "churn.hazard.bored", ""),
    ({"patience_factor": 0}, "churn.patience_factor", ""),
    ({"long_wait": "soon"}, "churn.long_wait", ""),
], ids=["chance-above-1", "unknown-experience", "zero-patience-factor", "bad-duration"])
def test_bad_churn_keys_name_the_field(churn: dict[str, Any], where: str, allowed: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(_scenario(churn))
    assert where in str(caught.value), str(caught.value)


def test_churn_needs_customers() -> None:
    data = _scenario({})
    del data["customers"]
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data)
    message = str(caught.value)
    assert "churn" in message and "allowed: add customers" in message, message
