"""Customers, identity resolution and verification: rates as configured, common random
numbers, conservation with IVR exits, verification time in AHT and occupancy, and
identity-aware routing.

Statistical checks use binomial or sample-mean standard errors with a z of 4.5
(two-sided chance 7e-6 per check; with the ~20 checks here the chance that any one
misses by chance under a new seed is below 2e-4). Seeds are fixed, so runs are
deterministic.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from sim import Simulation, run, scenario_from_dict
from sim.model.customers import FRAUD, GENUINE, PROSPECT
from sim.model.identity import Caller, IdentityModel
from sim.model.scenario import Scenario
from sim.kernel.streams import RandomStreams
from sim.stages.identity import IdentityStage

Z = 4.5


def _within(observed: float, expected: float, standard_error: float) -> None:
    assert abs(observed - expected) <= Z * standard_error, (observed, expected, standard_error)


def _binomial(successes: float, trials: float, p: float) -> None:
    assert trials > 0
    _within(successes / trials, p, math.sqrt(p * (1 - p) / trials) + 1e-12)


METHODS: dict[str, Any] = {
    "knowledge_questions": {"questions": 3, "time": {"dist": "exponential", "mean": "20s"},
                            "genuine_fail": 0.2, "fraud_pass": 0.6},
    "otp": {"time": {"dist": "constant", "value": "40s"}, "delivery_failure": 0.05,
            "fraud_pass": 0.05, "fee": 0.02},
    "voice_biometrics": {"time": {"dist": "constant", "value": "5s"}, "enrolled": 0.6,
                         "false_reject": 0.05, "false_accept": 0.02},
    "manual_check": {"time": {"dist": "uniform", "low": "60s", "high": "180s"},
                     "genuine_fail": 0.05, "fraud_pass": 0.1},
}


def _data(**changes: Any) -> dict[str, Any]:
    """A one-queue bank with customers, prospects, fraud and every method configured."""
    data: dict[str, Any] = {
        "name": "identity-test",
        "run": {"duration": "10h", "replications": 1, "seed": 11},
        "contact_types": {"calls": {
            "arrivals": {"rate": "600/h"},
            "handle_time": {"dist": "exponential", "mean": "180s"},
            "patience": {"dist": "exponential", "mean": "5min"},
        }},
        "agents": {"team": {"count": 30, "skills": ["calls"]},
                   "desk": {"count": 4, "skills": ["calls"]}},
        "routing": {"policy": "fcfs", "fraud_desk": {"desk": "desk"}},
        "customers": {
            "population": 5000, "tiers": {"standard": 0.9, "vip": 0.1},
            "languages": {"en": 0.8, "es": 0.2}, "value": {"mean": 20000, "cv": 2},
            "channels": {"voice": 0.7, "app": 0.3},
            "prospects": {"share": 0.05, "intents": {"open_account": 1.0}},
            "fraud": {"share": 0.02, "spoof": 0.4,
                      "intents": {"wire_transfer": 0.7, "balance": 0.3}},
        },
        "identity": {
            "ivr_time": {"dist": "constant", "value": "30s"},
            "intents": {
                "balance": {"share": 0.5, "risk": "low", "self_service": 0.6},
                "card_issue": {"share": 0.2, "risk": "medium"},
                "wire_transfer": {"share": 0.25, "risk": "high", "fraud_loss": 3000},
                "open_account": {"share": 0.05, "risk": "medium"},
            },
            "methods": copy.deepcopy(METHODS),
            "verification": {"strategy": ["kba_all", "passive_stepup", "biometric"]},
            "agent_cost_per_hour": 36, "loss_per_fraud": 1000,
        },
    }
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return data


def _scenario(**changes: Any) -> Scenario:
    return scenario_from_dict(_data(**changes))


def _callers(scenario: Scenario, strategy: str, count: int, seed: int = 5) -> list[Caller]:
    """``count`` resolved callers straight from the identity model (no queueing)."""
    from policies.verification import make_strategy

    assert scenario.customers is not None
    model = IdentityModel(scenario.customers, scenario.identity, make_strategy(strategy, scenario),
                          RandomStreams(seed, 0), ("calls",), np.ones(24))
    times = np.linspace(0, 86400, count, endpoint=False)
    return [model.resolve("calls", "voice", float(t)) for t in times]


# ------------------------------------------------------------- rates and times
def test_caller_kinds_and_intents_come_out_as_configured() -> None:
    callers = _callers(_scenario(), "kba_all", 40000)
    kinds = [c.kind for c in callers]
    _binomial(kinds.count(FRAUD), len(kinds), 0.02)
    _binomial(kinds.count(PROSPECT), len(kinds), 0.05)
    genuine = [c for c in callers if c.kind == GENUINE]
    _binomial(sum(c.intent == "balance" for c in genuine), len(genuine), 0.5)
    balance = [c for c in genuine if c.intent == "balance"]
    _binomial(sum(c.self_service for c in balance), len(balance), 0.6)
    assert not any(c.self_service for c in callers if c.kind == FRAUD)
    assert all(c.customer is None and c.verified is None for c in callers if c.kind == PROSPECT)


def _signals_one_by_one(model: IdentityModel, row: tuple[float, ...],
                        scenario: Scenario) -> tuple[object, ...]:
    """What a contact's row says, by 0.3.0's rules for one contact (the reference)."""
    from bisect import bisect_right

    def pick(shares: dict[str, float], u: float) -> str:
        cumulative, total = [], 0.0
        for share in shares.values():
            total += share
            cumulative.append(total)
        return list(shares)[min(bisect_right(cumulative, u), len(shares) - 1)]

    customers, identity = scenario.customers, scenario.identity
    assert customers is not None and customers.fraud is not None
    fraud, prospects = customers.fraud, customers.prospects
    prospect_share = prospects.share if prospects is not None else 0.0
    device = carrier = on_file = False
    if row[0] < fraud.share:
        kind, intent = FRAUD, pick(fraud.intents, row[7])
        on_file = row[3] < fraud.spoof
        carrier = on_file and row[6] < fraud.spoofed_carrier_match
        device = on_file and row[5] < fraud.device_match
    elif row[0] < fraud.share + prospect_share:
        assert prospects is not None
        kind, intent = PROSPECT, pick(prospects.intents, row[7])
    else:
        kind = GENUINE
        intent = pick({n: i.share for n, i in identity.intents.items()}, row[7]) \
            if identity is not None else ""
        on_file = carrier = row[3] < customers.known_number
        device = on_file and row[5] < customers.device_match
    unique_number = on_file and row[4] >= customers.shared_number
    if kind == PROSPECT:  # no number, no score: compare what the stream gives
        return row, kind, intent
    score = identity.score if identity is not None else None
    if score is None:
        return row, kind, intent, on_file, unique_number, None
    before_flags = score.ani * unique_number + score.device * device + score.carrier * carrier
    passive = []
    for flags in range(4):  # 0.3.0's confidence and identification after this many flags
        confidence = min(1.0, max(0.0, before_flags - score.flag_penalty * flags))
        passive.append((confidence, unique_number and confidence >= score.passive_threshold))
    return row, kind, intent, on_file, unique_number, tuple(passive)


@pytest.mark.parametrize("changes", [{}, {"identity": None, "routing__fraud_desk": None},
                                     {"customers__prospects": None}],
                         ids=["identity", "no identity block", "no prospects"])
def test_the_signals_worked_out_a_block_at_a_time_are_those_of_each_row(
        changes: dict[str, Any]) -> None:
    scenario = _scenario(customers__fraud__share=0.2, **changes)
    assert scenario.customers is not None
    model = IdentityModel(scenario.customers, scenario.identity, None, RandomStreams(3, 0),
                          ("calls",), np.ones(24))
    stream = model.caller_rows(RandomStreams(3, 0), "calls")
    kinds = set()
    for _ in range(5000):
        draw = stream.next_value()
        expected = _signals_one_by_one(model, draw[0], scenario)
        assert draw[:len(expected)] == expected
        assert all(type(value) is type(other) for value, other in zip(draw, expected))
        kinds.add(draw[1])
    assert kinds == ({GENUINE, FRAUD} if "customers__prospects" in changes
                     else {GENUINE, FRAUD, PROSPECT})


@pytest.mark.parametrize("method, genuine_fail, fraud_pass, mean_time", [
    ("knowledge_questions", 0.2, 0.6, 60.0),
    ("otp", 0.05, 0.05, 40.0),
    ("manual_check", 0.05, 0.1, 120.0),
])
def test_each_method_fails_passes_and_takes_time_as_configured(
        method: str, genuine_fail: float, fraud_pass: float, mean_time: float) -> None:
    scenario = _scenario(customers__fraud__share=0.3,
                         identity__verification={"strategy": "kba_all",
                                                 "kba_all": {"method": method}})
    callers = [c for c in _callers(scenario, "kba_all", 30000) if c.verified is not None]
    genuine = [c for c in callers if c.kind == GENUINE]
    fraud = [c for c in callers if c.kind == FRAUD]
    _binomial(sum(not c.verified for c in genuine), len(genuine), genuine_fail)
    _binomial(sum(c.verified for c in fraud), len(fraud), fraud_pass)
    assert all(c.methods == (method,) for c in callers)
    where = "ivr_verify_s" if method == "otp" else "agent_verify_s"
    seconds = np.array([getattr(c, where) for c in callers])
    _within(seconds.mean(), mean_time, seconds.std(ddof=1) / math.sqrt(len(seconds)) + 1e-9)
    assert all(getattr(c, "agent_verify_s" if method == "otp" else "ivr_verify_s") == 0
               for c in callers)


def test_voice_biometrics_error_rates_and_enrolment_come_out_as_configured() -> None:
    scenario = _scenario(customers__fraud__share=0.3,
                         identity__verification={"strategy": "biometric",
                                                 "biometric": {"fallback": []}})
    callers = [c for c in _callers(scenario, "biometric", 30000) if c.verified is not None]
    enrolled = [c for c in callers if c.customer is not None and c.customer.voice_enrolled]
    _binomial(len(enrolled), len(callers), 0.6)
    genuine = [c for c in enrolled if c.kind == GENUINE]
    fraud = [c for c in enrolled if c.kind == FRAUD]
    _binomial(sum(not c.verified for c in genuine), len(genuine), 0.05)
    _binomial(sum(c.verified for c in fraud), len(fraud), 0.02)
    # Not enrolled and no fallback: nothing can run, so the caller is refused unasked.
    assert all(not c.verified and c.methods == () for c in callers if c not in enrolled)


def test_with_every_fraud_pass_rate_at_one_no_fraud_is_caught() -> None:
    methods = copy.deepcopy(METHODS)
    for spec in methods.values():
        spec["fraud_pass" if "fraud_pass" in spec else "false_accept"] = 1.0
    for strategy in ("kba_all", "passive_stepup", "biometric"):
        scenario = _scenario(identity__methods=methods, customers__fraud__share=0.2,
                             identity__verification={"strategy": strategy})
        overall = Simulation(scenario, "fcfs", 0).run().overall
        assert overall["fraud_attempts"] > 100
        assert overall["fraud_caught"] == 0, strategy
        assert overall["fraud_let_through"] > 0


PERFECT_SIGNAL = {
    "customers__known_number": 1.0, "customers__shared_number": 0.0,
    "customers__device_match": 1.0, "customers__habit_strength": 1.0,
    "customers__habit_window": "24h", "customers__channels": {"voice": 1.0},
    "customers__fraud": None,
    "identity__verification": {"strategy": "passive_stepup", "passive_stepup": {
        "trusted": {"low": [], "medium": [], "high": []}}},
}


def test_with_a_perfect_passive_signal_no_genuine_customer_is_asked_anything() -> None:
    scenario = _scenario(**PERFECT_SIGNAL)
    overall = Simulation(scenario, "fcfs", 0).run().overall
    assert overall["genuine"] > 5000
    assert overall["passive_identified"] == pytest.approx(1 - 0.05, abs=0.01)  # prospects aside
    assert overall["asked_rate"] == 0.0
    assert overall["verify_ivr_s"] == 0.0 and overall["verify_agent_s"] == 0.0
    assert overall["flags_raised"] == 0.0 and overall["genuine_refused"] == 0.0


def test_flags_and_confidence_follow_the_signals() -> None:
    callers = [c for c in _callers(_scenario(customers__fraud__share=0.3), "passive_stepup", 20000)
               if c.customer is not None]
    genuine = [c for c in callers if c.kind == GENUINE]
    # A genuine caller on a number not on file raises the new-number flag (share 1 - 0.9).
    _binomial(sum("new_number" in c.flags for c in genuine), len(genuine), 0.1)
    fraud = [c for c in callers if c.kind == FRAUD]
    _binomial(sum("new_number" in c.flags for c in fraud), len(fraud), 0.6)  # 1 - spoof share
    for caller in callers:
        assert 0.0 <= caller.confidence <= 1.0
        assert not caller.identified or ("new_number" not in caller.flags
                                         and caller.confidence >= 0.8)


# ----------------------------------------------------- common random numbers
def _record_callers(sim: Simulation) -> list[tuple[Any, ...]]:
    identity = sim.stage(IdentityStage)
    assert identity is not None
    log: list[tuple[Any, ...]] = []
    resolve = identity.model.resolve

    def recording(contact_type: str, channel: str, now: float, logged_in: bool = False,
                  menu_intent: str | None = None) -> Caller:
        caller = resolve(contact_type, channel, now, logged_in, menu_intent)
        log.append((now, caller.kind, caller.customer.id if caller.customer else None,
                    caller.flags, caller.intent, caller.confidence, caller.identified,
                    caller.verified, caller.methods, caller.agent_verify_s, caller.ivr_verify_s))
        return caller

    identity.model.resolve = recording  # type: ignore[method-assign]
    return log


@pytest.mark.parametrize("strategy", ["kba_all", "passive_stepup", "biometric"])
def test_identity_and_verification_of_contact_k_are_the_same_under_every_policy(
        strategy: str) -> None:
    scenario = _scenario(identity__verification={"strategy": strategy})
    logs = []
    for policy in ("fcfs", "priority", "fraud_desk"):
        sim = Simulation(scenario, policy, 0)
        logs.append(_record_callers(sim))
        sim.run()
    assert len(logs[0]) > 5000
    assert logs[0] == logs[1] == logs[2]


def test_strategies_see_the_same_callers_and_the_same_method_outcomes() -> None:
    scenario = _scenario()
    by_strategy = {}
    for strategy in ("kba_all", "biometric"):
        by_strategy[strategy] = _callers(scenario, strategy, 5000)
    kba, bio = by_strategy["kba_all"], by_strategy["biometric"]
    assert [(c.kind, c.customer.id if c.customer else None, c.flags, c.intent) for c in kba] == \
        [(c.kind, c.customer.id if c.customer else None, c.flags, c.intent) for c in bio]
    # Where biometric fell back to the questions only, their outcome and time are kba_all's.
    same = [(k, b) for k, b in zip(kba, bio) if b.methods == ("knowledge_questions",)]
    assert len(same) > 500
    assert all(k.verified == b.verified and k.agent_verify_s == b.agent_verify_s
               for k, b in same)


def test_identity_leaves_arrivals_and_handle_times_unchanged() -> None:
    with_identity = Simulation(_scenario(identity__ivr_time={"dist": "constant", "value": "0s"},
                                         identity__intents={"balance": {"share": 1.0,
                                                                        "risk": "low"}},
                                         customers__prospects=None, customers__fraud=None,
                                         identity__verification={"strategy": "passive_stepup",
                                                                 "passive_stepup": {
                                                                     "step_up": {"low": [],
                                                                                 "medium": [],
                                                                                 "high": []}}}),
                               "fcfs", 0).run().overall
    plain = Simulation(_scenario(identity=None, customers=None, routing={"policy": "fcfs"}),
                       "fcfs", 0).run().overall
    for metric in ("arrivals", "offered", "answered", "abandoned", "aht_s", "service_level"):
        # Same contacts; sums are only added up in another order (per-tier cells).
        assert with_identity[metric] == pytest.approx(plain[metric], rel=1e-12), metric


# ----------------------------------------------------------------- conservation
@pytest.mark.parametrize("length", [{"duration": "6h"}, {"arrivals": 4000}], ids=["duration", "drain"])
@pytest.mark.parametrize("strategy", ["kba_all", "passive_stepup"])
def test_every_arrival_is_accounted_for(length: dict[str, Any], strategy: str) -> None:
    data = _data(identity__verification={"strategy": strategy})
    data["run"] = {**length, "replications": 2, "seed": 3, "warmup": "0s"}
    data["waiting_room"] = {"capacity": 5}
    data["agents"]["team"]["count"] = 16  # loaded enough that some callers are blocked
    results = run(scenario_from_dict(data))
    for rep in results.runs[next(iter(results.runs))]:
        o = rep.overall
        assert o["arrivals"] == (o["self_service"] + o["refused_in_ivr"] + o["in_ivr_at_end"]
                                 + o["blocked"] + o["offered"])
        assert o["offered"] == o["answered"] + o["abandoned"] + o["in_queue_at_end"]
        assert o["arrivals"] == o["genuine"] + o["prospects"] + o["fraud_attempts"]
        assert o["fraud_attempts"] >= o["fraud_caught"] + o["fraud_let_through"]
        assert o["self_service"] > 0 and o["blocked"] > 0
        if "arrivals" in length:
            assert o["in_ivr_at_end"] == 0 and o["in_queue_at_end"] == 0


@pytest.mark.parametrize("strategy", ["kba_all", "passive_stepup"])
def test_contacts_ending_in_the_ivr_are_counted_at_arrival_with_the_same_figures(
        strategy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a trace, profiles or churn, a contact that ends in the IVR before the horizon
    is counted when it arrives, with no IVR-end event; every figure is the same as with
    the event (a warm-up, and contacts still in the IVR at the horizon, included)."""
    data = _data(identity__verification={"strategy": strategy})
    data["run"] = {"duration": "3h", "warmup": "1h", "replications": 1, "seed": 4}
    data["identity"]["ivr_time"] = {"dist": "exponential", "mean": "2min"}
    ivr_ends: list[int] = []
    on_ivr_end = IdentityStage._on_ivr_end

    def counted_ivr_end(stage: IdentityStage, contact: Any) -> None:
        ivr_ends[-1] += 1
        on_ivr_end(stage, contact)

    monkeypatch.setattr(IdentityStage, "_on_ivr_end", counted_ivr_end)
    figures = []
    for start in (IdentityStage.start, lambda stage: None):  # at arrival; by the event
        monkeypatch.setattr(IdentityStage, "start", start)
        ivr_ends.append(0)
        figures.append(json.dumps(asdict(Simulation(scenario_from_dict(data), "fcfs").run()),
                                  sort_keys=True))
    result = json.loads(figures[0])["overall"]
    assert result["self_service"] > 100 and result["in_ivr_at_end"] > 0
    assert (result["refused_in_ivr"] > 0) == (strategy == "passive_stepup")  # an IVR passcode
    # The events left are those of callers who go on to the queue.
    assert ivr_ends[0] < ivr_ends[1] - result["self_service"]
    assert figures[0] == figures[1]


# ------------------------------------------------- verification time in AHT
def test_one_question_of_30s_to_every_caller_adds_30s_to_aht_and_to_occupancy() -> None:
    """M/M/c without abandonment (Erlang C world), every caller genuine with one 30 s
    question that never fails: each handled contact's agent time grows by exactly 30 s,
    so AHT grows by 30 s and utilisation by rate x 30 s / agents."""
    one_question = {"knowledge_questions": {"questions": 1,
                                            "time": {"dist": "constant", "value": "30s"},
                                            "genuine_fail": 0.0, "fraud_pass": 0.0}}
    changes: dict[str, Any] = {
        "contact_types__calls__patience": None, "customers__prospects": None,
        "customers__fraud": None, "identity__methods": one_question,
        "identity__ivr_time": {"dist": "constant", "value": "0s"},
        "identity__intents": {"balance": {"share": 1.0, "risk": "low"}},
        "identity__verification": {"strategy": "kba_all"},
        "agents": {"team": {"count": 40, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"},
        "run": {"duration": "40h", "warmup": "2h", "replications": 6, "seed": 4},
    }
    verified = run(_scenario(**changes)).summary()["fcfs"]
    plain = run(_scenario(**changes, identity=None, customers=None)).summary()["fcfs"]
    assert verified["aht_s"].mean - verified["aht_without_verify_s"].mean == pytest.approx(30.0)
    assert verified["verify_agent_s"].mean == pytest.approx(30.0)
    # Same callers and work: AHT differs by 30 s up to the finished-in-window edge effect.
    difference = verified["aht_s"].mean - plain["aht_s"].mean
    _within(difference, 30.0, math.hypot(verified["aht_s"].half_width,
                                         plain["aht_s"].half_width) / 1.96)
    rate, agents = 600 / 3600, 40
    _within(verified["utilisation"].mean, rate * (180 + 30) / agents,
            verified["utilisation"].half_width / 1.96)
    _within(plain["utilisation"].mean, rate * 180 / agents, plain["utilisation"].half_width / 1.96)


# ------------------------------------------------------------- identity routing
def test_fraud_desk_takes_every_suspicious_contact_and_only_those() -> None:
    scenario = _scenario(routing={"policy": "fraud_desk",
                                  "fraud_desk": {"desk": "desk", "vip_team": "team"}})
    sim = Simulation(scenario, "fraud_desk", 0)
    served: list[tuple[bool, str, bool]] = []
    start = sim.start_service

    def recording(agent: Any, contact: Any, now: float) -> None:
        served.append((sim.policy.suspicious(contact), agent.group,  # type: ignore[attr-defined]
                       contact.identity is not None and contact.identity.kind == FRAUD))
        start(agent, contact, now)

    sim.start_service = recording  # type: ignore[method-assign]
    sim.run()
    suspicious = [s for s in served if s[0]]
    assert len(suspicious) > 200 and len(served) - len(suspicious) > 1000
    assert all(group == "desk" for _, group, _ in suspicious)
    assert all(group == "team" for flag, group, _ in served if not flag)
    # The desk sees a far richer mix of fraud than the floor.
    fraud_share_desk = sum(f for _, _, f in suspicious) / len(suspicious)
    fraud_share_team = sum(f for s, _, f in served if not s) / (len(served) - len(suspicious))
    assert fraud_share_desk > 3 * fraud_share_team


def test_without_an_identity_block_nobody_is_suspicious() -> None:
    """Customers alone give routing a profile but no identity evidence: the fraud desk
    must not take everyone because their confidence is unknown."""
    scenario = _scenario(identity=None, routing={"policy": "fraud_desk",
                                                 "fraud_desk": {"desk": "desk"}})
    sim = Simulation(scenario, "fraud_desk", 0)
    groups: list[str] = []
    start = sim.start_service

    def recording(agent: Any, contact: Any, now: float) -> None:
        assert contact.identity is None and contact.customer is not None or \
            contact.customer is None
        groups.append(agent.group)
        start(agent, contact, now)

    sim.start_service = recording  # type: ignore[method-assign]
    sim.run()
    assert len(groups) > 3000 and set(groups) == {"team"}


def test_routing_state_shows_the_customer_profile_and_identity() -> None:
    scenario = _scenario()
    sim = Simulation(scenario, "fcfs", 0)
    seen: list[Any] = []
    select = sim.select_agent

    def recording(contact: Any, state: Any) -> Any:
        seen.append(contact)
        return select(contact, state)

    sim.select_agent = recording  # type: ignore[method-assign]
    sim.run()
    customers = [c for c in seen if c.customer is not None]
    assert len(customers) > 1000
    tiers = {c.customer.tier for c in customers}
    assert tiers == {"standard", "vip"}
    sample = customers[0]
    assert sample.customer.language in ("en", "es") and sample.customer.value > 0
    assert 0 <= sample.customer.churn_risk <= 1 and 0 <= sample.customer.sentiment <= 1
    assert sample.identity.intent in scenario.identity.intents  # type: ignore[union-attr]
    assert sample.identity.risk in ("low", "medium", "high")
    # The same customer calls again: some customers are seen more than once.
    ids = [c.customer.id for c in customers]
    assert len(set(ids)) < len(ids)


def test_patience_factor_scales_the_same_draws_for_a_tier() -> None:
    """VIPs with patience factor 0.5 hang up on the same draws, twice as fast: with no agent
    ever free (1 agent, long calls) every queued VIP waits exactly half the patience it
    would have had."""
    changes: dict[str, Any] = {"identity": None, "routing": {"policy": "fcfs"},
                               "agents": {"team": {"count": 1, "skills": ["calls"]}},
                               "contact_types__calls__handle_time": {"dist": "constant",
                                                                     "value": "100h"}}
    plain = Simulation(_scenario(**changes), "fcfs", 0)
    halved = Simulation(_scenario(**changes, customers__patience_factor={"vip": 0.5}), "fcfs", 0)
    waits = []
    for sim in (plain, halved):
        log: dict[int, tuple[str, float]] = {}
        end = sim._on_patience_end

        def recording(contact: Any, sim: Simulation = sim, log: dict[int, Any] = log,
                      end: Any = end) -> None:
            if contact.status == 0:  # WAITING: it abandons now
                log[contact.id] = (contact.customer.tier if contact.customer else "-",
                                   sim.clock.now - contact.arrival)
            end(contact)

        sim._on_patience_end = recording  # type: ignore[method-assign]
        sim.run()
        waits.append(log)
    assert len(waits[0]) > 1000
    for contact_id, (tier, waited) in waits[0].items():
        expected = waited * (0.5 if tier == "vip" else 1.0)
        assert waits[1][contact_id] == (tier, pytest.approx(expected)), contact_id
