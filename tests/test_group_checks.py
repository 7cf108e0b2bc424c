"""Verification that depends on who answers (issue 14, item 4): an agent group's own
``manual_check`` (a fraud desk's call-back).

Rates are checked with binomial standard errors (z = 4.5). The routing check is paired
over replications (common random numbers): fraud_desk against fcfs on the same callers
and the same staffing, the 95% t interval of per-replication differences. Measured
(seed 41, 8 replications of 8 h, 2% fraud, a desk of 6 whose check lets 10% of
fraudsters and refuses 2% of genuine customers): fraud caught +14.0 [+8.6, +19.4] per
replication, fraud let through -27.5 [-33.5, -21.5], genuine customers refused -16.6
[-22.0, -11.2] (fcfs sends 6 in 32 callers to the desk's check at random), service
level -0.045 [-0.067, -0.023].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sim import Simulation, estimate, scenario_from_dict
from sim.errors import ScenarioError
from sim.kernel.streams import RandomStreams
from sim.model.customers import FRAUD, GENUINE
from sim.model.identity import Caller, GroupChecks
from sim.model.scenario import Scenario

Z = 4.5
DESK_CHECK = {"time": {"dist": "exponential", "mean": "90s"}, "genuine_fail": 0.02,
              "fraud_pass": 0.1, "fee": 1.5}


def _data(desk_check: dict[str, Any] | None = DESK_CHECK) -> dict[str, Any]:
    """A bank line with 2% fraud; knowledge questions let 60% of fraudsters through; a
    desk of 6 beside 26 agents takes flagged callers first under fraud_desk."""
    data: dict[str, Any] = {
        "name": "desk-test",
        "run": {"duration": "8h", "replications": 1, "seed": 41},
        "contact_types": {"calls": {
            "arrivals": {"rate": "400/h"},
            "handle_time": {"dist": "exponential", "mean": "4min"},
            "patience": {"dist": "exponential", "mean": "5min"}}},
        "agents": {"team": {"count": 26, "skills": ["calls"]},
                   "desk": {"count": 6, "skills": ["calls"]}},
        "routing": {"policy": "fcfs", "fraud_desk": {"desk": "desk", "desk_helps": True}},
        "customers": {"population": 20000, "tiers": {"standard": 1.0},
                      "languages": {"en": 1.0}, "value": {"mean": 20000},
                      "fraud": {"share": 0.02, "spoof": 0.4, "intents": {"payments": 1.0}}},
        "identity": {
            "ivr_time": {"dist": "constant", "value": "20s"},
            "intents": {"balance": {"share": 0.5, "risk": "low"},
                        "payments": {"share": 0.5, "risk": "medium"}},
            "methods": {"knowledge_questions": {
                "questions": 3, "time": {"dist": "exponential", "mean": "15s"},
                "genuine_fail": 0.15, "fraud_pass": 0.6}},
            "verification": {"strategy": "passive_stepup", "passive_stepup": {
                "trusted": {"low": [], "medium": [], "high": []},
                "step_up": {level: ["knowledge_questions"]
                            for level in ("low", "medium", "high")}}},
            "agent_cost_per_hour": 30, "loss_per_fraud": 2000},
    }
    if desk_check is not None:
        data["agents"]["desk"]["manual_check"] = dict(desk_check)
    return data


def _scenario(**kwargs: Any) -> Scenario:
    return scenario_from_dict(_data(**kwargs))


def _caller(kind: int, verified: bool | None = True) -> Caller:
    caller = Caller()
    caller.kind = kind
    caller.verified = verified
    return caller


def test_the_check_runs_at_its_rates_once_per_verified_caller() -> None:
    scenario = _scenario()
    checks = GroupChecks.build(scenario, RandomStreams(3, 0), ("calls",))
    assert checks is not None
    desk, team = list(scenario.agents).index("desk"), list(scenario.agents).index("team")
    count = 20000
    outcomes: dict[int, list[bool]] = {GENUINE: [], FRAUD: []}
    seconds = []
    for index in range(count):
        caller = _caller(FRAUD if index % 2 else GENUINE)
        checks.draw(caller, "calls")
        assert checks.run(caller, team) == 0.0 and caller.verified  # no check in the team
        seconds.append(checks.run(caller, desk))
        outcomes[caller.kind].append(bool(caller.verified))
        assert checks.run(caller, desk) == 0.0  # once per caller
        assert caller.agent_verify_s == seconds[-1] and caller.agent_fee == 1.5
    for kind, chance in ((GENUINE, 1 - 0.02), (FRAUD, 0.1)):
        passed = np.mean(outcomes[kind])
        assert abs(passed - chance) <= Z * math.sqrt(chance * (1 - chance) / (count / 2))
    assert abs(np.mean(seconds) - 90.0) <= Z * 90.0 / math.sqrt(count)


def test_callers_refused_before_or_without_a_claim_are_not_checked() -> None:
    scenario = _scenario()
    checks = GroupChecks.build(scenario, RandomStreams(3, 0), ("calls",))
    assert checks is not None
    desk = list(scenario.agents).index("desk")
    for verified in (False, None):  # refused by the strategy; nothing to verify (prospect)
        caller = _caller(FRAUD, verified)
        checks.draw(caller, "calls")
        assert checks.run(caller, desk) == 0.0 and caller.verified is verified


def test_without_a_group_check_nothing_is_drawn() -> None:
    assert GroupChecks.build(_scenario(desk_check=None), RandomStreams(3, 0), ("calls",)) is None


def test_a_group_check_without_identity_names_the_field() -> None:
    data = _data()
    del data["identity"]
    data["customers"].pop("fraud")
    del data["routing"]["fraud_desk"]
    with pytest.raises(ScenarioError, match=r"agents\.desk\.manual_check.*no identity block"):
        scenario_from_dict(data)


def test_the_checks_time_is_agent_verification_time() -> None:
    with_check = Simulation(_scenario(), "fcfs", 0).run().overall
    without = Simulation(_scenario(desk_check=None), "fcfs", 0).run().overall
    assert with_check["arrivals"] == without["arrivals"]  # the same callers
    assert with_check["verify_agent_s"] > without["verify_agent_s"]
    assert with_check["fraud_caught"] > without["fraud_caught"]


def test_a_fraud_desk_with_a_better_check_catches_more_fraud_than_fcfs() -> None:
    scenario = _scenario()
    runs = [(Simulation(scenario, "fraud_desk", r).run().overall,
             Simulation(scenario, "fcfs", r).run().overall) for r in range(8)]
    caught = estimate(desk["fraud_caught"] - fcfs["fraud_caught"] for desk, fcfs in runs)
    assert caught.low > 0, caught
    let_through = estimate(desk["fraud_let_through"] - fcfs["fraud_let_through"]
                           for desk, fcfs in runs)
    assert let_through.high < 0, let_through
