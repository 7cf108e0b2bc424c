"""Channels, agent capacity, retrials, callbacks, journeys, profiles and outbound in the engine.

Statistical checks use paired differences over replications (common random numbers)
with Student-t intervals, or binomial standard errors with z = 4.5.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from sim import load_scenario, run
from sim.kernel.kernel import Simulation
from sim.stages.blending import Blending
from sim.stages.outbound import Outbound
from sim.stages.profiles import Profiles
from sim.model.profile import InteractionPredictor
from sim.model.scenario import Scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _scenario(name: str, **changes: Any) -> Scenario:
    scenario = load_scenario(SCENARIOS / name)
    if changes:
        scenario = scenario.model_copy(update=changes)
    return scenario


def _short_omnichannel(**run: Any) -> Scenario:
    scenario = _scenario("omnichannel_bank.yaml")
    return scenario.model_copy(update={"run": scenario.run.model_copy(update=run)})


# ------------------------------------------------------------------ capacity
def test_no_agent_exceeds_its_capacity_and_a_call_never_shares_an_agent() -> None:
    scenario = _short_omnichannel(replications=1)
    sim = Simulation(scenario, "fcfs", 0)
    channels = scenario.channel_names()
    mixes = {name: [tuple(m.get(c, 0) for c in channels) for m in group.capacity or ()]
             for name, group in scenario.agents.items()}
    voice = channels.index("voice")
    start = sim.start_service
    seen = {"starts": 0, "concurrent": 0}

    def checked_start(agent: Any, contact: Any, now: float) -> None:
        start(agent, contact, now)
        load = agent.load
        assert any(all(h <= limit for h, limit in zip(load, mix)) for mix in mixes[agent.group]), (
            agent, load)
        assert load[voice] <= 1
        if load[voice]:
            assert sum(load) == 1, f"{agent!r} holds a call beside other contacts: {load}"
        seen["starts"] += 1
        seen["concurrent"] += sum(load) > 1

    sim.start_service = checked_start  # type: ignore[method-assign]
    result = sim.run()
    assert seen["starts"] > 3000
    assert seen["concurrent"] > 500  # agents did hold several chats at once
    assert result.by_channel["email"]["service_level"] > 0.9


def test_concurrency_stretches_chat_handle_time() -> None:
    """With a stretch factor the same chats take longer on average than without."""
    base = _short_omnichannel(replications=3)
    channels = dict(base.channels or {})
    flat = base.model_copy(update={"channels": {
        name: spec.model_copy(update={"concurrency_factor": 0.0})
        for name, spec in channels.items()}})
    stretched = run(base, replications=3, progress=False).summary("by_channel")["fcfs"]["chat"]
    plain = run(flat, replications=3, progress=False).summary("by_channel")["fcfs"]["chat"]
    assert stretched["aht_s"].low > plain["aht_s"].high


def test_deferrable_work_waits_while_real_time_contacts_wait() -> None:
    """Whenever an agent starts an e-mail, no call or chat it could take was waiting."""
    scenario = _short_omnichannel(replications=1)
    sim = Simulation(scenario, "fcfs", 0)
    start = sim.start_service
    violations = []

    def checked_start(agent: Any, contact: Any, now: float) -> None:
        if contact.type == "email" and contact.status == 0:  # taken from the queue
            waiting = [t for t in agent.capacity.open(agent.load)
                       if t != "email" and sim.state.waiting_count(t)]
            if waiting:
                violations.append((now, agent, waiting))
        start(agent, contact, now)

    sim.start_service = checked_start  # type: ignore[method-assign]
    sim.run()
    blending = sim.stage(Blending)
    assert blending is not None
    assert blending._in_service <= blending._share * max(sum(sim.on_duty_by_group), 1) + 1


# --------------------------------------------------------------- conservation
@pytest.mark.parametrize("mode", ["virtual_hold", "scheduled"])
def test_every_contact_ends_in_exactly_one_state(mode: str) -> None:
    scenario = _short_omnichannel(replications=1, duration=14 * 3600.0)
    calls = scenario.contact_types["calls"]
    assert calls.callback is not None
    callback = calls.callback.model_copy(update={"mode": mode, "delay": 1800.0,
                                                  "threshold": 30.0})
    types = dict(scenario.contact_types)
    types["calls"] = calls.model_copy(update={"callback": callback})
    scenario = scenario.model_copy(update={"contact_types": types})
    for replication in range(2):
        figures = Simulation(scenario, "fcfs", replication).run().overall
        ended = (figures["handled"] + figures["callbacks_unreached"]
                 + figures["in_service_at_end"] + figures["abandoned"] + figures["blocked"]
                 + figures["self_service"] + figures["refused_in_ivr"]
                 + figures["in_ivr_at_end"] + figures["in_queue_at_end"]
                 + figures["callbacks_pending_at_end"])
        assert ended == figures["arrivals"], figures
        assert figures["retrials"] > 0 and figures["callbacks_accepted"] > 0
        assert figures["in_service_at_end"] > 0  # the run stops mid-afternoon
        if mode == "scheduled":
            assert figures["callbacks_pending_at_end"] > 0


def test_retrials_and_abandonment_per_contact_and_per_customer() -> None:
    scenario = _short_omnichannel(replications=1)
    figures = Simulation(scenario, "fcfs", 0).run().overall
    assert figures["arrivals"] == figures["needs"] + figures["retrials"]
    # Retried abandons are not lost customers: per need, abandonment is lower.
    assert figures["customer_abandon_rate"] < figures["abandon_rate"]
    assert figures["unique_customers"] < figures["needs"]
    assert 0 < figures["retrials"] <= figures["abandoned"]


def test_retrials_follow_their_probability() -> None:
    """Of abandoned calls, the share retried is retrial.probability (binomial, z = 4.5)."""
    scenario = _short_omnichannel(replications=1)
    sim = Simulation(scenario, "fcfs", 0)
    result = sim.run()
    calls = result.by_type["calls"]
    index = sim.type_names.index("calls")
    cells = sim.cells.contact[index] + [c for (name, _), tier_cells in sim.cells.tier.items()
                                        if name == "calls" for c in tier_cells]
    retried = sum(c.retried for c in cells)
    abandoned = calls["abandoned"]
    p = scenario.contact_types["calls"].retrial.probability  # type: ignore[union-attr]
    assert abandoned > 100
    assert abs(retried / abandoned - p) <= 4.5 * math.sqrt(p * (1 - p) / abandoned)


def test_journeys_are_recognised_by_login_or_passive_resolution() -> None:
    scenario = _short_omnichannel(replications=1)
    figures = Simulation(scenario, "fcfs", 0).run().by_type["chat"]
    share = scenario.contact_types["chat"].journey.share  # type: ignore[union-attr]
    arrivals = figures["arrivals"] - figures["retrials"]
    assert abs(figures["cross_channel_contacts"] / arrivals - share) <= 4.5 * math.sqrt(
        share * (1 - share) / arrivals)
    # 80% log in; of the others, passive resolution still knows many genuine customers.
    assert 0.8 < figures["cross_channel_recognised"] < 1.0


# --------------------------------------------------------------- predictor
def test_the_predictor_only_sees_finished_interactions_during_a_run() -> None:
    scenario = _short_omnichannel(replications=1, duration=12 * 3600.0)
    sim = Simulation(scenario, "contextual", 0)
    predictor = sim.state.predictor
    assert isinstance(predictor, InteractionPredictor)
    profiles = sim.stage(Profiles)
    assert profiles is not None
    store = profiles.store
    patience = predictor.patience
    calls = {"n": 0}

    def checked(customer: int, channel: str, now: float) -> float:
        calls["n"] += 1
        assert all(i.end <= now for i in store.history(customer))
        assert now == sim.clock.now
        return patience(customer, channel, now)

    predictor.patience = checked  # type: ignore[method-assign]
    sim.run()
    assert calls["n"] > 1000


# ---------------------------------------------------------------- outbound
def _outbound(replications: int = 4, **reach: float) -> Scenario:
    scenario = _scenario("outbound_best_time.yaml")
    scenario = scenario.model_copy(update={"run": scenario.run.model_copy(update={
        "duration": 2 * 86400.0, "replications": replications})})
    if reach:
        outbound = scenario.outbound
        assert outbound is not None
        scenario = scenario.model_copy(update={"outbound": outbound.model_copy(update={
            "reach": outbound.reach.model_copy(update=reach)})})
    return scenario


def _hit_rate_difference(scenario: Scenario) -> Any:
    from reports.compare import paired_difference

    results = run(scenario, progress=False)
    fixed, best = (results.runs[f"fcfs/{name}"] for name in ("fixed_time", "predicted_best_time"))
    return paired_difference([r.overall["outbound_hit_rate"] for r in fixed],
                             [r.overall["outbound_hit_rate"] for r in best])


@pytest.mark.slow  # paired runs of 2 days of outbound_best_time: 11-20 s
def test_predicted_best_time_reaches_more_customers_than_fixed_time() -> None:
    difference = _hit_rate_difference(_outbound())
    assert difference.low > 0.15, difference


@pytest.mark.slow  # paired runs of 2 days of outbound_best_time: 11-20 s
def test_with_flat_habits_both_strategies_reach_as_many() -> None:
    """When the hour and channel do not change the chance of an answer, knowing the
    customer's habits cannot help: the paired difference covers 0."""
    difference = _hit_rate_difference(_outbound(replications=6, in_hours=1.0, own_channel=1.0))
    assert difference.low < 0 < difference.high, difference
    assert difference.half_width < 0.02


def test_outbound_respects_its_share_of_agents_and_counts_every_task() -> None:
    scenario = _outbound(replications=1)
    sim = Simulation(scenario, "fcfs", 0, outbound="predicted_best_time")
    outbound = sim.stage(Outbound)
    assert outbound is not None
    dialer = outbound.dialer
    begin = dialer.begin
    peak = {"working": 0}

    def checked(attempt: Any, now: float) -> float:
        duration = begin(attempt, now)
        on_duty = sum(sim.on_duty_by_group[g] for g in outbound._dialling)
        assert dialer.working <= scenario.outbound.max_share * on_duty + 1e-9  # type: ignore[union-attr]
        peak["working"] = max(peak["working"], dialer.working)
        return duration

    dialer.begin = checked  # type: ignore[method-assign]
    result = sim.run()
    figures = result.overall
    assert peak["working"] >= 2
    assert figures["outbound_attempts"] >= figures["outbound_reached"] > 0
    assert math.isclose(figures["outbound_hit_rate"],
                        figures["outbound_reached"] / figures["outbound_attempts"])
    assert set(result.by_campaign) == set(scenario.outbound.campaigns)  # type: ignore[union-attr]


def test_predictive_can_pair_by_the_predicted_preferred_channel() -> None:
    """key: preferred_channel tells customers apart by the channel the predictor expects,
    as of their arrival; the run learns per (intent, channel) key."""
    from sim.model.outcomes import Outcomes

    scenario = _short_omnichannel(replications=1, duration=12 * 3600.0)
    routing = scenario.routing.model_copy(update={"predictive": {"key": "preferred_channel"}})
    scenario = scenario.model_copy(update={
        "routing": routing,
        "outcomes": Outcomes(resolution_at_lowest=0.6, resolution_at_highest=0.9)})
    sim = Simulation(scenario, "predictive", 0)
    sim.run()
    keys = set(sim.policy._keys)  # type: ignore[attr-defined]
    channels = {key.split("|")[1] for key in keys}
    assert len(channels) >= 3 and channels <= {*scenario.customers.channels, "unknown"}  # type: ignore[union-attr]


def test_dialling_agents_still_take_queued_inbound_contacts() -> None:
    """After an outbound attempt, a one-at-a-time agent picks queued calls again: with
    outbound on, inbound abandonment stays near the same center without outbound."""
    scenario = _outbound(replications=1)
    without = scenario.model_copy(update={"outbound": None, "predictor": None})
    calls = Simulation(scenario, "fcfs", 0, outbound="fixed_time").run().overall
    alone = Simulation(without, "fcfs", 0).run().overall
    assert calls["abandon_rate"] < 2 * alone["abandon_rate"] + 0.02
    assert calls["p_wait"] > 0.01 and calls["asa_s"] > 0


def test_an_agent_going_off_duty_takes_no_new_chat() -> None:
    """Staffing drops while agents hold chats: a leaving agent finishes what it holds and
    gets nothing new (checked at every service start)."""
    scenario = _short_omnichannel(replications=1, duration=16 * 3600.0)
    sim = Simulation(scenario, "fcfs", 0)
    start = sim.start_service
    leaving_starts = []

    def checked_start(agent: Any, contact: Any, now: float) -> None:
        if agent.leaving:
            leaving_starts.append((now, agent, contact))
        start(agent, contact, now)

    sim.start_service = checked_start  # type: ignore[method-assign]
    sim.run()
    assert not leaving_starts, leaving_starts[:3]
