"""The scoring policies ``contextual`` and ``predictive``, and the ON/OFF uplift report.

Unit tests decide on small hand-built ``RoutingState``s (``World`` from test_policies);
engine tests run scenarios built here, where matching or learning truly pays (or,
as a control, cannot).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

# isort: off
from sim import ScenarioError, run, scenario_from_dict
from policies import make_policy
# isort: on
from conftest import contract_scenario_data
from test_policies import World

from reports.onoff import format_uplift, onoff_uplift, uplifts
from policies.predictive import OnOff
from sim.model.units import DAY
from sim.model.identity import Caller
from sim.runner import estimate
from sim.state import WAITING, Agent, Contact

ROOT = Path(__file__).resolve().parents[1]
BOTH = ("general", "vip")


def _customer(language: str = "en", dialect: str | None = None, tier: str = "standard",
              churn_risk: float = 0.1, sentiment: float = 0.6) -> Any:
    """The profile attributes routing reads (a stand-in for ``sim.customers.Customer``)."""
    return SimpleNamespace(language=language, dialect=dialect, tier=tier,
                           churn_risk=churn_risk, sentiment=sentiment)


def _equip(agent: Agent, level: float, languages: tuple[str, ...] = (),
           dialects: tuple[str, ...] = (), **intents: float) -> Agent:
    agent.levels = {skill: level for skill in agent.skills} | intents
    agent.languages, agent.dialects = frozenset(languages), frozenset(dialects)
    return agent


def _contextual(**params: Any) -> Any:
    data = contract_scenario_data()
    data["routing"]["contextual"] = params
    return make_policy("contextual", scenario_from_dict(data))


# ------------------------------------------------------------------------------ contextual
def test_contextual_prefers_the_dialect_speaking_expert_over_the_longest_idle_agent() -> None:
    world = World(100.0)
    longest = world.idle(_equip(world.agent(("general",)), 7.0, ("de",)), 1.0)
    expert = world.idle(_equip(world.agent(("general",)), 9.6, ("de",), ("bavarian",)), 90.0)
    contact = world.arriving("general")
    contact.customer = _customer("de", "bavarian")
    assert make_policy("fcfs", scenario_from_dict(contract_scenario_data())).select_agent(
        contact, world.state) is longest
    assert _contextual().select_agent(contact, world.state) is expert
    # Without language or level weight, only idle time is left: the longest idle wins.
    flat = _contextual(weights={"language": 0, "level": 0}, require_language=False)
    assert flat.select_agent(contact, world.state) is longest


def test_contextual_intent_level_outranks_the_type_level() -> None:
    world = World(100.0)
    world.idle(_equip(world.agent(("general",)), 10.0, wealth=6.0), 1.0)
    wealth_expert = world.idle(_equip(world.agent(("general",)), 7.0, wealth=9.8), 2.0)
    contact = world.arriving("general")
    contact.identity = Caller()
    contact.identity.intent = "wealth"
    policy = _contextual(min_level=9.5)
    assert policy.level(wealth_expert.levels, contact) == 9.8
    assert policy.select_agent(contact, world.state) is wealth_expert


def test_contextual_waits_for_a_qualified_agent_then_relaxes() -> None:
    policy = _contextual(min_level=9.5, wait_for_match="30s")
    world = World(100.0)
    good = _equip(world.idle(world.agent(("general",)), 10.0), 9.0)
    contact = world.arriving("general")
    assert policy.select_agent(contact, world.state) is None
    assert policy.recheck_after(contact, world.state) == pytest.approx(30.0)
    queued = world.wait("general", 100.0)
    world.env.now = 110.0
    assert policy.recheck_after(queued, world.state) == pytest.approx(20.0)
    assert policy.select_contact(good, world.state) is None  # 9.0 < 9.5 within 30 s
    expert = _equip(world.agent(("general",)), 9.7)
    assert policy.select_contact(expert, world.state) is queued
    world.env.now = 130.0  # the engine's recheck: waited 30 s, anyone skilled may take it
    assert policy.select_agent(queued, world.state) is good
    assert policy.select_contact(good, world.state) is queued
    assert policy.recheck_after(queued, world.state) is None


def test_contextual_holds_a_contact_only_for_agents_that_exist() -> None:
    """min_level 9.5: only the vip desk (9.6 at vip) qualifies, and only for vip calls."""
    data = contract_scenario_data()
    data["agents"]["generalists"]["skills"] = {"general": 9, "vip": 9}
    data["agents"]["vip_desk"]["skills"] = {"vip": 9.6, "general": 9}
    data["routing"]["contextual"] = {"min_level": 9.5}
    policy = make_policy("contextual", scenario_from_dict(data))
    world = World(100.0)
    agent = world.idle(_equip(world.agent(BOTH), 9.0), 1.0)
    general, vip = world.arriving("general"), world.arriving("vip")
    assert policy.select_agent(general, world.state) is agent
    assert policy.recheck_after(general, world.state) is None
    assert policy.select_agent(vip, world.state) is None
    assert policy.recheck_after(vip, world.state) == pytest.approx(30.0)


def test_contextual_holds_a_caller_for_their_language_only_when_required() -> None:
    world = World(100.0)
    english = world.idle(_equip(world.agent(("general",)), 10.0, ("en",)), 1.0)
    contact = world.arriving("general")
    contact.customer = _customer("es")
    assert _contextual().select_agent(contact, world.state) is None
    assert _contextual().recheck_after(contact, world.state) == pytest.approx(30.0)
    assert _contextual(require_language=False).select_agent(contact, world.state) is english
    # Nothing to hold for: no threshold, and an unknown caller has no language.
    anonymous = world.arriving("general")
    assert _contextual().recheck_after(anonymous, world.state) is None
    assert _contextual().select_agent(anonymous, world.state) is english


def test_contextual_freed_agent_serves_the_impatient_unhappy_customer_first() -> None:
    world = World(200.0)
    calm = world.wait("general", 100.0)
    calm.customer = _customer(churn_risk=0.05, sentiment=0.9)
    upset = world.wait("general", 150.0)
    upset.customer = _customer(churn_risk=0.8, sentiment=0.1)
    agent = _equip(world.agent(("general",)), 9.0)
    assert _contextual().select_contact(agent, world.state) is upset
    plain = _contextual(weights={"patience": 0, "sentiment": 0})
    assert plain.select_contact(agent, world.state) is calm  # equal scores: the oldest


def test_contextual_urgency_grows_with_waiting() -> None:
    """A content caller who has waited 15 min goes before an unhappier one who waited
    100 s: urgency wait / (wait + predicted patience) outweighs the sentiment term."""
    world = World(1000.0)
    old = world.wait("general", 100.0)
    old.customer = _customer(sentiment=0.9)
    young = world.wait("general", 900.0)
    young.customer = _customer(sentiment=0.5)
    agent = _equip(world.agent(("general",)), 9.0)
    assert _contextual().select_contact(agent, world.state) is old
    assert _contextual(weights={"patience": 0}).select_contact(agent, world.state) is young


def test_contextual_min_level_must_lie_on_the_scale() -> None:
    data = contract_scenario_data()
    data["routing"]["contextual"] = {"min_level": 11}
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert "routing.contextual.min_level" in str(error.value) and "1 to 10" in str(error.value)


def _dialect_center() -> dict[str, Any]:
    """English speakers and two German dialects; a dialect match resolves more often."""
    return {
        "name": "dialects",
        "run": {"duration": "8h", "warmup": "30min", "replications": 3, "seed": 11},
        "contact_types": {"calls": {
            "arrivals": {"rate": "100/h"},
            "handle_time": {"dist": "exponential", "mean": "300s"},
            "patience": {"dist": "exponential", "mean": "5min"}}},
        "agents": {
            "english": {"count": 10, "skills": {"calls": 8}, "languages": ["en"]},
            "bavarian": {"count": 3, "skills": {"calls": 9.6}, "languages": ["de"],
                         "dialects": ["bavarian"]},
            "swabian": {"count": 3, "skills": {"calls": 9.6}, "languages": ["de"],
                        "dialects": ["swabian"]}},
        "customers": {"population": 5000, "tiers": {"standard": 1.0},
                      "languages": {"en": 0.7, "de": 0.3},
                      "dialects": {"de": {"bavarian": 0.5, "swabian": 0.5}},
                      "value": {"mean": 5000}},
        "outcomes": {"resolution_at_lowest": 0.3, "resolution_at_highest": 0.8,
                     "match_bonus": 0.15},
        "matching": {"language": True},
        "routing": {"policy": "contextual"},
    }


def test_contextual_matches_dialects_that_fcfs_misses() -> None:
    results = run(scenario_from_dict(_dialect_center()), ["fcfs", "contextual"], progress=False)
    fcfs, contextual = results.runs["fcfs"], results.runs["contextual"]
    # Same contacts in each replication (common random numbers): compare per replication.
    hits = estimate(c.overall["match_hit_rate"] - f.overall["match_hit_rate"]
                    for f, c in zip(fcfs, contextual))
    fcr = estimate(c.overall["fcr"] - f.overall["fcr"] for f, c in zip(fcfs, contextual))
    # fcfs sends German callers (30%) mostly to English agents; contextual almost never.
    assert hits.low > 0.15 and contextual[0].overall["match_hit_rate"] > 0.95
    assert fcr.low > 0
    # Holding a caller for a speaker lasts at most wait_for_match (30 s) before relaxing.
    assert max(r.overall["asa_s"] for r in contextual) < 30.0


# ------------------------------------------------------------------------------ predictive
def _predictive(**params: Any) -> Any:
    data = contract_scenario_data()
    data["routing"]["predictive"] = params
    return make_policy("predictive", scenario_from_dict(data))


def _finish(policy: Any, world: World, agent: Agent, type_: str, resolved: bool,
            handle_time: float = 300.0, times: int = 1) -> None:
    """``times`` finished contacts of ``type_`` by ``agent`` with the given outcome."""
    for _ in range(times):
        contact = world.arriving(type_)
        contact.resolved = resolved
        policy.observe(contact, agent, handle_time, world.state)


def test_predictive_learns_which_agent_resolves_a_kind_of_contact() -> None:
    world = World(100.0)
    weak = world.idle(world.agent(BOTH), 1.0)
    strong = world.idle(world.agent(BOTH), 2.0)
    policy = _predictive(explore="epsilon", epsilon=0.0)
    # Knowing nothing, every pair looks alike: greedy keeps the longest idle.
    assert policy.select_agent(world.arriving("general"), world.state) is weak
    _finish(policy, world, weak, "general", resolved=False, times=40)
    _finish(policy, world, strong, "general", resolved=True, times=40)
    assert policy.select_agent(world.arriving("general"), world.state) is strong
    # What it learnt of general calls says nothing about vip calls.
    assert policy.select_agent(world.arriving("vip"), world.state) is weak


def test_predictive_thompson_sampling_settles_on_the_better_agent() -> None:
    world = World(100.0)
    agents = [world.idle(world.agent(("general",)), float(t)) for t in range(2)]
    policy = _predictive()
    first = [policy.select_agent(world.arriving("general"), world.state) for _ in range(200)]
    assert 70 < first.count(agents[1]) < 130  # equal Beta(1, 1) priors: a fair coin
    _finish(policy, world, agents[0], "general", resolved=False, times=40)
    _finish(policy, world, agents[1], "general", resolved=True, times=40)
    later = [policy.select_agent(world.arriving("general"), world.state) for _ in range(200)]
    assert later.count(agents[1]) == 200


def test_predictive_freed_agent_takes_the_contact_it_beats_others_at() -> None:
    """A freed agent who resolves vip calls better than the average agent, and general calls
    worse, takes the vip contact although the general one is older."""
    world = World(100.0)
    policy = _predictive(explore="epsilon", epsilon=0.0)
    agent, other = world.agent(BOTH), world.agent(BOTH)
    general = world.wait("general", 10.0)
    vip = world.wait("vip", 50.0)
    assert policy.select_contact(agent, world.state) is general  # nothing known: the oldest
    _finish(policy, world, agent, "vip", resolved=True, times=20)
    _finish(policy, world, agent, "general", resolved=False, times=20)
    _finish(policy, world, other, "vip", resolved=False, times=20)
    _finish(policy, world, other, "general", resolved=True, times=20)
    assert policy.select_contact(agent, world.state) is vip
    assert policy.select_contact(other, world.state) is general
    # Within one kind of contact, arrival order holds.
    world.wait("vip", 60.0)
    assert policy.select_contact(agent, world.state) is vip


def test_predictive_handle_time_penalty_prefers_the_faster_of_equal_resolvers() -> None:
    world = World(100.0)
    slow = world.idle(world.agent(("general",)), 1.0)
    fast = world.idle(world.agent(("general",)), 2.0)
    for penalty, expected in ((0.0, slow), (0.05, fast)):
        policy = _predictive(explore="epsilon", epsilon=0.0, handle_time_penalty=penalty)
        for agent, seconds in ((slow, 600.0), (fast, 200.0)):
            _finish(policy, world, agent, "general", True, seconds, times=10)
            _finish(policy, world, agent, "general", False, seconds, times=10)
        assert policy.select_agent(world.arriving("general"), world.state) is expected


class _Unfinished(Contact):
    """A contact whose outcome is not known yet: reading it is a test failure."""

    @property  # type: ignore[override]
    def resolved(self) -> bool:
        raise AssertionError("a policy read the outcome of an unfinished contact")

    @resolved.setter
    def resolved(self, value: bool) -> None:
        pass


def test_predictive_reads_outcomes_only_of_finished_contacts() -> None:
    policy = _predictive()
    world = World(100.0)
    agents = [world.idle(world.agent(BOTH), float(t)) for t in range(3)]
    _finish(policy, world, agents[0], "vip", resolved=True, times=5)
    arriving = _Unfinished(1, "vip", 100.0, math.inf, 300.0, 0.0, None, True)
    assert policy.select_agent(arriving, world.state) in agents
    waiting = []
    for index, type_ in enumerate(BOTH):  # two kinds waiting: the model compares them
        contact = _Unfinished(2 + index, type_, 50.0, math.inf, 300.0, 0.0, None, True)
        contact.status = WAITING
        world.state._waiting[type_].append(contact)
        world.state._waiting_count[type_] += 1
        waiting.append(contact)
    assert policy.select_contact(world.agent(BOTH), world.state) in waiting
    with pytest.raises(AssertionError, match="unfinished"):
        policy.observe(arriving, agents[0], 300.0, world.state)


def test_predictive_keys_by_intent_or_segment() -> None:
    contact = Contact(1, "general", 0.0, math.inf, 300.0, 0.0, None, True)
    assert _predictive().key(contact) == "general"  # no identity: the contact type
    contact.identity = Caller()
    contact.identity.intent = "payments"
    assert _predictive().key(contact) == "payments"
    segment = _predictive(key="segment")
    assert segment.key(contact) == "unknown"
    contact.customer = _customer(tier="vip")
    assert segment.key(contact) == "vip"


def test_predictive_onoff_alternates_slots_of_the_day_with_the_baseline() -> None:
    policy = _predictive(explore="epsilon", epsilon=0.0,
                         onoff={"baseline": "fcfs", "slot": "30min"})
    assert [policy.on(t * 60.0) for t in (0, 29, 30, 59, 60, 24 * 60 + 10, 24 * 60 + 40)] == [
        True, True, False, False, True, True, False]
    world = World(10.0)
    longest = world.idle(world.agent(("general",)), 1.0)
    best = world.idle(world.agent(("general",)), 2.0)
    _finish(policy, world, longest, "general", resolved=False, times=30)
    _finish(policy, world, best, "general", resolved=True, times=30)
    assert policy.select_agent(world.arriving("general"), world.state) is best  # ON
    world.env.now = 45 * 60.0
    assert policy.select_agent(world.arriving("general"), world.state) is longest  # OFF: fcfs


@pytest.mark.parametrize(("params", "path", "words"), [
    ({"onoff": {"baseline": "predictive"}}, "onoff.baseline", "another registered policy"),
    ({"onoff": {"baseline": "lifo"}}, "onoff.baseline", "fcfs"),
    ({"onoff": {"slot": "45min"}}, "onoff.slot", "run.interval"),
    ({"onoff": {"slot": "7h"}}, "onoff.slot", "divides 24h"),
    ({"epsilon": 0.1}, "epsilon", "explore: epsilon"),
    ({"candidates": 0}, "candidates", "1 or more"),
])
def test_predictive_parameters_are_checked(params: dict[str, Any], path: str,
                                           words: str) -> None:
    data = contract_scenario_data()
    data["routing"]["predictive"] = params
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert f"routing.predictive.{path}" in str(error.value) and words in str(error.value)


def test_predictive_needs_outcomes_and_customers_for_segments() -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    data["routing"]["predictive"] = {}
    with pytest.raises(ScenarioError, match="no outcomes block"):
        scenario_from_dict(data)
    data["outcomes"] = {"resolution_at_lowest": 0.5, "resolution_at_highest": 0.9}
    data["routing"]["predictive"] = {"key": "segment"}
    with pytest.raises(ScenarioError, match="no customers block"):
        scenario_from_dict(data)


@pytest.mark.parametrize("name", ["contextual", "predictive"])
def test_an_unanswered_mobile_agent_is_not_rung_again(name: str) -> None:
    policy = make_policy(name, scenario_from_dict(contract_scenario_data()))
    world = World(100.0)
    adviser = world.idle(world.agent(("general",)), 1.0)
    contact = world.arriving("general")
    contact.unanswered = (adviser.id,)
    assert policy.select_agent(contact, world.state) is None
    seated = world.idle(world.agent(("general",)), 2.0)
    assert policy.select_agent(contact, world.state) is seated
    waiting = world.wait("general", 50.0)
    waiting.unanswered = (adviser.id,)
    assert policy.select_contact(adviser, world.state) is None
    assert policy.select_contact(seated, world.state) is waiting


# ------------------------------------------------------------------------- ON/OFF uplift
def _pairing_center(differ: bool, onoff: bool = True) -> dict[str, Any]:
    """Two kinds of calls and two teams of 10: with ``differ``, each team is top at one kind
    and bottom at the other (resolution 0.9 vs 0.3), so fcfs, blind to it, resolves about
    (0.9 + 0.3) / 2 = 0.6 and perfect pairing 0.9; otherwise both teams are mid-level."""
    strong, weak = (10, 1) if differ else (5.5, 5.5)
    return {
        "name": "pairing",
        # The model learns during the 2 h warm-up; 22 measured pairs of 30 min slots.
        "run": {"duration": "24h", "warmup": "2h", "replications": 3, "seed": 7,
                "interval": "30min"},
        "contact_types": {kind: {
            "arrivals": {"rate": "60/h"},
            "handle_time": {"dist": "exponential", "mean": "300s"},
            "patience": {"dist": "exponential", "mean": "5min"}} for kind in ("x", "y")},
        "agents": {"a": {"count": 10, "skills": {"x": strong, "y": weak}},
                   "b": {"count": 10, "skills": {"x": weak, "y": strong}}},
        "outcomes": {"resolution_at_lowest": 0.3, "resolution_at_highest": 0.9},
        "routing": {"policy": "predictive", "predictive": (
            {"onoff": {"baseline": "fcfs", "slot": "30min"}} if onoff else {})},
    }


def test_predictive_uplift_over_fcfs_where_agents_differ() -> None:
    results = run(scenario_from_dict(_pairing_center(differ=True)), ["fcfs", "predictive"],
                  progress=False)
    assert list(uplifts(results)) == ["predictive"]  # fcfs did not run in ON/OFF mode
    uplift = onoff_uplift(results)
    assert uplift.as_json()["uplift"] == uplift.uplift.as_json()
    estimate_ = uplift.uplift
    assert uplift.baseline == "fcfs" and estimate_.n == 3 * 22  # 24 pairs a day, 2 in warm-up
    assert 0.55 < uplift.off < 0.65  # fcfs: (0.9 + 0.3) / 2
    # Most of the 0.3 that perfect pairing would add, measured to +-0.02.
    assert estimate_.low > 0.2 and estimate_.half_width < 0.03
    assert "ON/OFF uplift of predictive over fcfs" in format_uplift(uplift)


def test_predictive_uplift_is_nil_where_agents_are_alike() -> None:
    uplift = onoff_uplift(run(scenario_from_dict(_pairing_center(differ=False)), progress=False))
    estimate_ = uplift.uplift
    assert estimate_.low < 0 < estimate_.high and estimate_.half_width < 0.03


def test_predictive_always_on_beats_fcfs_on_the_same_contacts() -> None:
    results = run(scenario_from_dict(_pairing_center(differ=True, onoff=False)),
                  ["fcfs", "predictive"], progress=False)
    gain = estimate(p.overall["fcr"] - f.overall["fcr"]
                    for f, p in zip(results.runs["fcfs"], results.runs["predictive"]))
    assert gain.low > 0.2
    with pytest.raises(ValueError, match="did not run in ON/OFF mode"):
        onoff_uplift(results)


def test_onoff_uplift_rejects_what_it_cannot_pool() -> None:
    results = run(scenario_from_dict(_pairing_center(differ=True)), replications=1,
                  progress=False)
    with pytest.raises(ValueError, match="cannot be pooled"):
        onoff_uplift(results, metric="service_level")
    with pytest.raises(ValueError, match="was not run"):
        onoff_uplift(results, label="fcfs")


@pytest.mark.parametrize(("share", "pattern"), [
    (0.5, "10" * 24),
    (0.8, "11110" * 9 + "111"),
    (0.2, "10000" * 9 + "100"),
    (0.7, "1110110110" * 4 + "11101101"),  # 7 ON of every 10, never two OFF in a row
])
def test_onoff_split_spreads_the_on_slots_evenly(share: float, pattern: str) -> None:
    onoff = OnOff(slot="30min", on_share=share)
    slots = onoff.day_slots()
    assert "".join("1" if on else "0" for on in slots) == pattern
    policy = _predictive(explore="epsilon", epsilon=0.0,
                         onoff={"baseline": "fcfs", "slot": "30min", "on_share": share})
    assert [policy.on(i * 1800.0 + 60.0) for i in range(48)] == list(slots)
    assert [policy.on(DAY + i * 1800.0) for i in range(48)] == list(slots)  # every day alike


@pytest.mark.parametrize(("onoff", "words"), [
    ({"on_share": 0.99}, "leaves no OFF slot in a day of 48 slots"),
    ({"on_share": 1.0}, "less than 1"),
    ({"on_share": 0.0}, "greater than 0"),
    ({"objective": "service_level"}, "fcr"),
])
def test_onoff_split_and_objective_are_checked(onoff: dict[str, Any], words: str) -> None:
    data = _pairing_center(differ=True)
    data["routing"]["predictive"]["onoff"].update(onoff)
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert "routing.predictive.onoff" in str(error.value) and words in str(error.value)


def test_an_80_20_experiment_measures_the_uplift_in_its_objective() -> None:
    data = _pairing_center(differ=True)
    data["routing"]["predictive"]["onoff"]["on_share"] = 0.8
    results = run(scenario_from_dict(data), progress=False)
    uplift = onoff_uplift(results)
    # 9 blocks of four ON and one OFF slot a day; the 2 h warm-up holds the first 4 slots,
    # so the first block keeps its OFF slot alone and drops out.
    assert uplift.metric == "fcr" and uplift.on_share == 0.8 and uplift.uplift.n == 3 * 8
    assert uplift.as_json()["on_share"] == 0.8
    assert 0.55 < uplift.off < 0.65  # fcfs: (0.9 + 0.3) / 2, as at 50:50
    assert uplift.uplift.low > 0.2  # the same uplift as at 50:50, with a wider interval
    assert "blocks of slots, 80% ON" in format_uplift(uplift)
    # Handle time does not depend on the agent here: the AHT uplift's interval holds 0.
    data["routing"]["predictive"]["onoff"]["objective"] = "aht_s"
    aht = uplifts(run(scenario_from_dict(data), progress=False))["predictive"]
    assert aht.metric == "aht_s" and aht.uplift.low < 0 < aht.uplift.high
    assert 270 < aht.on < 330 and 270 < aht.off < 330  # exponential, mean 300 s


def test_an_experiment_in_net_value_measures_it_per_handled_contact() -> None:
    data = _pairing_center(differ=True)
    data["routing"]["predictive"]["onoff"]["objective"] = "net_value"
    with pytest.raises(ScenarioError, match="no costs block"):
        scenario_from_dict(copy.deepcopy(data))
    # 20 agents at $30 an hour cost $300 a 30 min slot, which handles about 60 contacts
    # (120 an hour arrive, few abandon): net value about -$5 per handled contact.
    data["costs"] = {"agent_per_hour": 30}
    uplift = onoff_uplift(run(scenario_from_dict(data), progress=False))
    assert uplift.metric == "net_value"
    assert -5.6 < uplift.off < -4.6 and -5.6 < uplift.on < -4.6
    assert uplift.uplift.n == 3 * 22
