"""Needs, not just arrivals (issue 14 item 5; docs/needs.md).

A need arises a lead time before its call; an outbound attempt that reaches the customer
first serves it and takes the call away. Checked here: the needs add up exactly
(arisen = served inbound + served by outreach + open at the end) per replication; on
common random numbers the inbound contacts of the intent drop by exactly the calls taken
away and nothing else changes; the share of needs reached first matches the reach chance
within its binomial CI; without outreach the block changes no figure; and bad input fails
with the file, the field and what is allowed.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from typing import Any

import pytest
import yaml
from invariant_checks import check_accounting

from sim.errors import ScenarioError
from sim.kernel.kernel import Simulation
from sim.model.customers import GENUINE
from sim.model.scenario import Scenario, parse_scenario, scenario_from_dict
from sim.runner import run
from sim.stages.needs import NeedsStage
from sim.state import Contact

pytestmark = pytest.mark.filterwarnings("ignore::sim.errors.FewReplicationsWarning")

REACH = 0.4

SCENARIO = """\
name: needs-test
run: {duration: 3d, replications: 5, seed: 14, interval: 1h, warmup: 0s}
contact_types:
  calls:
    channel: voice
    arrivals:
      rates: [0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 100/h, 140/h, 150/h, 140/h,
              120/h, 130/h, 140/h, 130/h, 110/h, 100/h, 80/h, 60/h, 0/h, 0/h, 0/h, 0/h]
    handle_time: {dist: lognormal, mean: 3min, cv: 1.0}
    patience: {dist: exponential, mean: 5min}
busyness: {dist: gamma, cv: 0.1}
agents:
  retail:
    count: 14
    skills: [calls]
routing: {policy: fcfs}
customers:
  population: 5000
  tiers: {standard: 0.9, vip: 0.1}
  languages: {en: 1.0}
  channels: {voice: 0.8, app: 0.2}
  value: {mean: 1000}
  prospects: {share: 0.02, intents: {card_expiry: 1.0}}
  fraud: {share: 0.01, spoof: 0.5, intents: {card_expiry: 1.0}}
identity:
  ivr_time: {dist: lognormal, mean: 30s, cv: 0.5}
  intents:
    card_expiry: {share: 0.3, risk: low, self_service: 0.2}
    balance: {share: 0.7, risk: low, self_service: 0.5}
  methods:
    knowledge_questions:
      questions: 2
      time: {dist: constant, value: 10s}
      genuine_fail: 0.1
      fraud_pass: 0.5
      where: agent
  verification: {strategy: kba_all}
  agent_cost_per_hour: 20
  loss_per_fraud: 100
needs:
  intents:
    card_expiry: {lead: {dist: constant, value: 4h}}
outbound:
  strategies: [predicted_best_time]
  predicted_best_time: {horizon: 1s}   # dial at once
  groups: [retail]
  max_share: 1.0
  dial_time: 20s
  reach: {base: 0.4, in_hours: 1.0, own_channel: 1.0, max: 1.0}
  campaigns:
    card_outreach:
      trigger: needs
      intents: [card_expiry]
      channels: [voice]
      hours: [0, 24]
      handle_time: {dist: constant, value: 1min}
      max_attempts: 1
"""
"""Calls from 8:00 to 20:00; every need arises 4 h before its call and is dialled at
once with a reach chance of 0.4 whatever the hour or channel, once: each need is reached
first with probability 0.4, and none is still open when the run ends (the last call of
the last day is at 20:00, before the end at 24:00)."""


def _data() -> dict[str, Any]:
    return yaml.safe_load(SCENARIO)


def _scenario(data: dict[str, Any]) -> Scenario:
    return scenario_from_dict(data, source="needs.yaml")


def _without(data: dict[str, Any], *blocks: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for block in blocks:
        del data[block]
    return data


def _busy_scenario() -> Scenario:
    """Everything that can happen to a need happens: exponential leads (some cut at
    max_lead), needs the center does not know of, a campaign that dials only in office
    hours and retries (calls come first: attempts withdrawn), a list campaign that reaches
    random customers and serves their needs by chance, a warm-up and needs open at the end."""
    data = _data()
    data["run"].update(duration="2d", replications=3, warmup="6h")
    data["needs"] = {"max_lead": "1d", "intents": {"card_expiry": {
        "lead": {"dist": "exponential", "mean": "6h"}, "known": 0.7}}}
    campaigns = data["outbound"]["campaigns"]
    campaigns["card_outreach"].update(hours=[9, 17], max_attempts=2, retry_after="1h")
    campaigns["card_reminder"] = {
        "trigger": "list", "per_day": 1500, "intents": ["card_expiry"], "channels": ["voice"],
        "hours": [8, 20], "handle_time": {"dist": "constant", "value": "1min"},
        "max_attempts": 1}
    data["outbound"]["reach"] = {"base": 0.3, "in_hours": 2.0, "own_channel": 1.2, "max": 0.9}
    return _scenario(data)


def _first_contacts_by_intent(results: Any) -> dict[int, Counter[tuple[str, str]]]:
    """Inbound contacts per replication by (caller kind, intent), from the trace: every
    contact has one row (answered, abandoned, self-served, ... or still there at the end)."""
    counts: dict[int, Counter[tuple[str, str]]] = {}
    for row in results.contacts:
        if row["contact_id"] is not None:  # outbound attempts have none
            counts.setdefault(row["replication"], Counter())[row["caller"], row["intent"]] += 1
    return counts


# ------------------------------------------------------------------ conservation
def test_needs_add_up_exactly_per_replication() -> None:
    scenario = _busy_scenario()
    results = run(scenario, contacts=False)
    for rep in results.runs["fcfs"]:
        check_accounting(rep, scenario)  # the calls that happen still add up
        figures = rep.overall
        assert figures["needs_arisen"] == (figures["needs_served_inbound"]
                                           + figures["needs_served_outreach"]
                                           + figures["needs_open_at_end"])
        # Every way a need can end occurred, so the identity is not trivially met.
        for name in ("needs_served_inbound", "needs_served_outreach", "needs_open_at_end",
                     "needs_calls_avoided", "needs_attempts_withdrawn"):
            assert figures[name] > 0, name


def test_read_ahead_calls_are_the_kernels_calls() -> None:
    """Call k of a type read ahead has the kernel's k-th arrival's time, customer and
    intent: each genuine contact of a needs intent finds its need, and no other does."""
    scenario = _scenario(_without(_data(), "outbound"))
    simulation = Simulation(scenario, "fcfs", replication=1)
    stage = simulation.stage(NeedsStage)
    assert stage is not None
    admit, matched = simulation.admit, []

    def admit_and_check(contact: Contact, now: float) -> None:
        calls = stage._calls[contact.type]
        need = (calls.needs[0] if calls.needs and calls.needs[0].call == calls.made + 1
                else None)
        admit(contact, now)
        caller = contact.identity
        assert caller is not None
        if caller.kind == GENUINE and caller.intent == "card_expiry":
            # The customer the caller is (routing may not know it yet: contact.customer).
            assert need is not None and caller.customer is not None
            assert (need.customer, need.intent, need.call_time) == (
                caller.customer.id, caller.intent, now)
            matched.append(need)
        else:
            assert need is None

    simulation.admit = admit_and_check
    figures = simulation.run().overall
    assert len(matched) == figures["needs_served_inbound"] > 500
    assert figures["needs_served_outreach"] == figures["needs_calls_avoided"] == 0


# -------------------------------------------------- calls taken away, exactly
def test_inbound_contacts_of_the_intent_drop_by_the_needs_reached_first() -> None:
    data = _data()
    reached = run(_scenario(data), contacts=True)
    alone = run(_scenario(_without(data, "outbound")), contacts=True)
    with_outreach = _first_contacts_by_intent(reached)
    without = _first_contacts_by_intent(alone)
    for rep, before in without.items():
        after, figures = with_outreach[rep], reached.runs["fcfs"][rep].overall
        avoided = figures["needs_calls_avoided"]
        assert avoided > 100
        assert after["genuine", "card_expiry"] == before["genuine", "card_expiry"] - avoided
        # Only needs are served first: other intents and other callers are untouched.
        assert {k: v for k, v in after.items() if k != ("genuine", "card_expiry")} == {
            k: v for k, v in before.items() if k != ("genuine", "card_expiry")}
        # With outbound off the block serves every need by its call.
        alone_figures = alone.runs["fcfs"][rep].overall
        assert alone_figures["needs_served_inbound"] == before["genuine", "card_expiry"]
        assert figures["needs_served_inbound"] == after["genuine", "card_expiry"]


def test_share_reached_first_matches_the_reach_chance() -> None:
    """Each need gets one attempt, 4 h before its call, reaching with chance 0.4: the
    needs served by outreach are binomial(needs arisen, 0.4); pooled over replications the
    share lies within the 99.9% interval of that binomial."""
    results = run(_scenario(_data()))
    reps = [r.overall for r in results.runs["fcfs"]]
    for figures in reps:
        assert figures["needs_open_at_end"] == 0
        assert figures["needs_attempts_withdrawn"] == 0
        # every need was dialled before its call, so reach alone decided
        assert figures["outbound_attempts"] == figures["needs_arisen"]
    arisen = sum(f["needs_arisen"] for f in reps)
    outreach = sum(f["needs_served_outreach"] for f in reps)
    half_width = 3.29 * math.sqrt(REACH * (1 - REACH) / arisen)
    assert arisen > 5000
    assert abs(outreach / arisen - REACH) < half_width
    assert results.summary()["fcfs"]["needs_outreach_share"].mean == pytest.approx(
        outreach / arisen, abs=half_width)


# -------------------------------------------------------- opt-in: nothing moves
def _without_needs_figures(figures: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in figures.items() if not k.startswith("needs_")}


def _same(first: float, second: float) -> bool:
    return first == second or (math.isnan(first) and math.isnan(second))


@pytest.mark.parametrize("outbound", ["off", "not serving needs"])
def test_needs_without_outreach_change_no_figure(outbound: str) -> None:
    """With no campaign serving needs (outbound off, or campaigns without intents) the
    needs block only adds its own figures: every other one is identical."""
    data = _data()
    if outbound == "off":
        data = _without(data, "outbound")
    else:
        data["outbound"]["campaigns"] = {"reminder": {
            "trigger": "list", "per_day": 300, "channels": ["voice"],
            "handle_time": {"dist": "constant", "value": "1min"}}}
    data["run"]["replications"] = 2
    with_needs = run(_scenario(data))
    plain = run(_scenario(_without(data, "needs")))
    for first, second in zip(with_needs.runs["fcfs"], plain.runs["fcfs"]):
        assert first.overall["needs_arisen"] > 0
        figures = _without_needs_figures(first.overall)
        assert figures.keys() == second.overall.keys()
        assert all(_same(figures[k], second.overall[k]) for k in figures), [
            k for k in figures if not _same(figures[k], second.overall[k])]
        assert first.by_type == second.by_type
        assert first.by_campaign == second.by_campaign


# ------------------------------------------------------------------ bad input
def _edited(old: str, new: str) -> str:
    assert SCENARIO.count(old) == 1, old
    return SCENARIO.replace(old, new)


BAD = [
    pytest.param(_edited("    card_expiry: {lead: {dist: constant, value: 4h}}",
                         "    card_lost: {lead: {dist: constant, value: 4h}}"),
                 "needs.intents.card_lost", "allowed: an intent under identity.intents "
                 "(card_expiry, balance)", id="unknown-intent"),
    pytest.param(_edited("run: {duration: 3d,", "run: {arrivals: 5000,"),
                 "run.arrivals", "allowed: run.duration", id="run-by-count"),
    pytest.param(_edited("      intents: [card_expiry]\n", "      intents: [balance]\n"),
                 "outbound.campaigns.card_outreach.intents.0",
                 "is not under needs.intents, so it has no needs to serve; allowed: "
                 "card_expiry", id="campaign-intent-without-needs"),
    pytest.param(_edited("      intents: [card_expiry]\n", ""),
                 "outbound.campaigns.card_outreach.intents",
                 "a needs campaign needs intents; allowed: intents under needs.intents",
                 id="needs-campaign-without-intents"),
    pytest.param(_edited("      max_attempts: 1\n", "      max_attempts: 1\n      per_day: 10\n"),
                 "outbound.campaigns.card_outreach.per_day",
                 "allowed: no per_day or rate with trigger: needs", id="needs-campaign-per-day"),
    pytest.param(_edited("{lead: {dist: constant, value: 4h}}",
                         "{lead: {dist: exponential, mean: 10d}}"),
                 "needs.intents.card_expiry.lead", "allowed: a lead whose mean is at most "
                 "max_lead", id="lead-longer-than-max-lead"),
    pytest.param(_edited("    card_expiry: {lead: {dist: constant, value: 4h}}",
                         "    card_expiry: {lead: {dist: constant, value: 4h}, known: 2}"),
                 "needs.intents.card_expiry.known", "", id="known-not-a-share"),
    pytest.param(_edited("      max_attempts: 1\n", "      max_attempts: 1\n"
                         "    second:\n      trigger: needs\n      intents: [card_expiry]\n"
                         "      channels: [voice]\n"
                         "      handle_time: {dist: constant, value: 1min}\n"),
                 "outbound.campaigns.second.intents.0", "allowed: one needs campaign per "
                 "intent", id="two-needs-campaigns"),
]


@pytest.mark.parametrize(("text", "field", "allowed"), BAD)
def test_bad_needs_input_names_file_field_and_what_is_allowed(text: str, field: str,
                                                              allowed: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="needs.yaml")
    message = str(caught.value)
    assert "needs.yaml:" in message and f" {field}:" in message, message
    assert "allowed" in message and allowed in message, message
    assert "Traceback" not in message


def test_needs_need_identity_and_campaign_intents_need_needs() -> None:
    data = _without(_data(), "identity")
    with pytest.raises(ScenarioError, match=r"needs: needs are intents.*allowed: add customers "
                                            r"and identity, or remove needs"):
        _scenario(data)
    data = _without(_data(), "needs")
    with pytest.raises(ScenarioError, match=r"outbound\.campaigns\.card_outreach\.intents: .*"
                                            r"no needs block; allowed: add needs"):
        _scenario(data)
