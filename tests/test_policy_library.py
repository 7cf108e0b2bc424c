"""The indexed policy library: ``skills``, ``vip``, ``bullseye`` and ``preferred_agent``.

Unit tests decide on hand-built ``RoutingState``s filled as the engine fills them
(see ``test_policies.World``), with agents that carry groups, levels and seats and
contacts that carry a customer tier, an intent or a last agent. Engine runs check
that each policy reduces to ``fcfs`` when its parameters make it so (which also
shows the keyed indexes stay in step with the engine) and that each changes
the figure it exists for.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

# isort: off
from sim import ScenarioError, Simulation, scenario_from_dict
from policies import make_policy
# isort: on
from conftest import contract_scenario_data
from test_policies import World

from sim.state import IN_SERVICE, RINGING, WAITING, Agent, Contact

ROOT = Path(__file__).resolve().parents[1]


class Center(World):
    """A ``World`` whose agents have groups, levels and seats, and whose contacts have
    profiles (tier, last agent) and intents."""

    def member(self, group: str, skills: tuple[str, ...] = ("general", "vip"),
               levels: dict[str, float] | None = None, idle_since: float | None = None) -> Agent:
        agent = self.agent(skills, group)
        agent.levels = dict(levels or {})
        agent.seat = (group, agent.id)
        self.state._seats[agent.seat] = agent
        return agent if idle_since is None else self.idle(agent, idle_since)

    def caller(self, type_: str, arrival: float | None = None, tier: str | None = None,
               intent: str | None = None, last_agent: int | None = None) -> Contact:
        """A contact with a profile; it waits when ``arrival`` is given, else it is arriving."""
        contact = Contact(len(self.contacts) + 1, type_, self.env.now if arrival is None
                          else arrival, float("inf"), 300.0, 0.0, None, True)
        if tier is not None or last_agent is not None:
            contact.customer = SimpleNamespace(tier=tier, last_agent=last_agent)  # type: ignore[assignment]
        if intent is not None:
            contact.identity = SimpleNamespace(intent=intent)  # type: ignore[assignment]
        if arrival is not None:
            contact.status = WAITING
            self.state._waiting[type_].append(contact)
            self.state._waiting_count[type_] += 1
            self.contacts.append(contact)
        return contact


def _quickstart(**routing: Any) -> dict[str, Any]:
    """The contract scenario (quickstart with customers) with these policy parameters."""
    data = contract_scenario_data()
    data["routing"].update(routing)
    return data


def _policy(name: str, data: dict[str, Any]) -> Any:
    return make_policy(name, scenario_from_dict(copy.deepcopy(data)))


def _with_levels(**routing: Any) -> dict[str, Any]:
    """Quickstart with levels: generalists 4 on general and 2 on vip; the desk 9 and 10."""
    data = _quickstart(**routing)
    data["agents"]["generalists"]["skills"] = {"general": 4, "vip": 2}
    data["agents"]["vip_desk"]["skills"] = {"vip": 10, "general": 9}
    return data


def _bank(name: str, experts: tuple[float, float], juniors: tuple[float, float],
          params: dict[str, Any]) -> tuple[Any, Center, Agent, Agent]:
    """Policy ``name`` on identity_bank (one type, ``calls``, with intents) with experts
    and juniors of these levels for (calls, wire_transfer), and a center where one expert
    (idle since 1 s) and one junior (since 2 s) are idle."""
    data = yaml.safe_load((ROOT / "scenarios" / "identity_bank.yaml").read_text())
    data["agents"] = {group: {"count": 10, "skills": {"calls": calls},
                              "intent_levels": {"wire_transfer": wire}}
                      for group, (calls, wire) in (("experts", experts), ("juniors", juniors))}
    data["routing"][name] = params
    center = Center(100.0, types=("calls",), skills=("calls",))
    expert = center.member("experts", ("calls",),
                           {"calls": experts[0], "wire_transfer": experts[1]}, 1.0)
    junior = center.member("juniors", ("calls",),
                           {"calls": juniors[0], "wire_transfer": juniors[1]}, 2.0)
    return _policy(name, data), center, expert, junior


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    return str(error.value)


# ---------------------------------------------------------------------------------- skills
def test_skills_best_proficiency_takes_the_highest_level_then_the_longest_idle() -> None:
    policy = _policy("skills", _with_levels(skills={}))
    center = Center(100.0)
    low = center.member("generalists", levels={"general": 4}, idle_since=1.0)
    high_early = center.member("vip_desk", levels={"general": 9}, idle_since=10.0)
    high_late = center.member("vip_desk", levels={"general": 9}, idle_since=20.0)
    assert policy.select_agent(center.caller("general"), center.state) is high_early
    center.take(high_early)
    assert policy.select_agent(center.caller("general"), center.state) is high_late
    center.take(high_late)
    assert policy.select_agent(center.caller("general"), center.state) is low
    longest = _policy("skills", _with_levels(skills={"mode": "longest_idle"}))
    center.idle(high_early, 50.0)
    assert longest.select_agent(center.caller("general"), center.state) is low


def test_skills_min_level_keeps_contacts_from_lower_agents() -> None:
    policy = _policy("skills", _with_levels(skills={"min_level": {"vip": 5}}))
    center = Center(100.0)
    generalist = center.member("generalists", levels={"general": 4, "vip": 2}, idle_since=1.0)
    assert policy.select_agent(center.caller("vip"), center.state) is None
    assert policy.select_agent(center.caller("general"), center.state) is generalist
    vip = center.caller("vip", arrival=5.0)
    general = center.caller("general", arrival=50.0)
    freed = center.member("generalists", levels={"general": 4, "vip": 2})
    assert policy.select_contact(freed, center.state) is general
    desk = center.member("vip_desk", levels={"vip": 10, "general": 9})
    assert policy.select_contact(desk, center.state) is vip


def test_skills_pick_best_skill_or_oldest() -> None:
    center = Center(100.0)
    vip = center.caller("vip", arrival=5.0)
    general = center.caller("general", arrival=50.0)
    desk = center.member("vip_desk", levels={"vip": 10, "general": 9})
    generalist = center.member("generalists", levels={"general": 4, "vip": 2})
    best_skill = _policy("skills", _with_levels(skills={"pick": "best_skill"}))
    assert best_skill.select_contact(desk, center.state) is vip
    assert best_skill.select_contact(generalist, center.state) is general
    oldest = _policy("skills", _with_levels(skills={"pick": "oldest"}))
    assert oldest.select_contact(generalist, center.state) is vip
    center.abandon(vip)
    assert best_skill.select_contact(desk, center.state) is general


@pytest.mark.parametrize("name, params", [
    ("skills", {"min_level": {"calls": 5}}),
    ("bullseye", {"rings": [{"after": "0s", "min_level": 5}, {"after": "1min"}]}),
])
def test_levels_follow_the_intent_where_the_agent_lists_one(name: str,
                                                            params: dict[str, Any]) -> None:
    """wire_transfer callers: the juniors' level 10 for it beats the experts' 3; other
    callers: the level for calls decides, 8 for experts and 2 for juniors (below 5: not
    eligible, or not before the outer ring opens at 1 min)."""
    policy, center, expert, junior = _bank(name, (8, 3), (2, 10), params)
    assert policy.select_agent(center.caller("calls", intent="wire_transfer"),
                               center.state) is junior
    assert policy.select_agent(center.caller("calls", intent="balance"), center.state) is expert
    assert policy.select_agent(center.caller("calls"), center.state) is expert
    center.take(expert)
    assert policy.select_agent(center.caller("calls", intent="card_issue"), center.state) is None
    center.take(junior)
    card = center.caller("calls", arrival=50.0, intent="card_issue")
    wire = center.caller("calls", arrival=60.0, intent="wire_transfer")
    assert policy.select_contact(expert, center.state) is card
    assert policy.select_contact(junior, center.state) is wire


def test_skills_parameters_are_checked() -> None:
    assert "email" in _error(_quickstart(skills={"min_level": {"email": 3}}))
    text = _error(_with_levels(skills={"min_level": {"vip": 11}}))
    assert "min_level.vip" in text and "never be served" in text and "at most 10" in text
    assert "best_proficiency" in _error(_quickstart(skills={"mode": "fastest"}))


# ------------------------------------------------------------------------------------- vip
def test_vip_scores_tiers_with_priority_aging_and_head_start() -> None:
    policy = _policy("vip", _quickstart(vip={
        "tiers": {"vip": {"priority": 1, "head_start": "90s"}, "standard": {"aging": "1/h"}}}))
    center = Center(3500.0)
    standard = center.caller("general", arrival=0.0, tier="standard")  # score 3500/3600
    vip = center.caller("general", arrival=3400.0, tier="vip")
    agent = center.member("generalists")
    assert policy.select_contact(agent, center.state) is vip
    center.env.now = 3700.0  # the standard caller's score passes 1
    assert policy.select_contact(agent, center.state) is standard
    # Equal scores: the earliest arrival minus head start; unknown callers have class 0.
    flat = _policy("vip", _quickstart(vip={"tiers": {"vip": {"head_start": "90s"}}}))
    center = Center(200.0)
    center.caller("vip", arrival=20.0)
    vip = center.caller("vip", arrival=100.0, tier="vip")
    assert flat.select_contact(center.member("generalists"), center.state) is vip
    center.abandon(vip)
    assert flat.select_contact(center.member("generalists"), center.state).arrival == 20.0


def test_vip_team_keeps_its_tiers_until_overflow() -> None:
    policy = _policy("vip", _quickstart(vip={"team": "vip_desk", "overflow_after": "30s"}))
    center = Center(100.0)
    other = center.member("generalists", idle_since=1.0)
    team = center.member("vip_desk", idle_since=50.0)
    assert policy.select_agent(center.caller("vip", tier="vip"), center.state) is team
    assert policy.select_agent(center.caller("vip", tier="standard"), center.state) is other
    assert policy.select_agent(center.caller("vip"), center.state) is other
    center.take(team)
    arriving = center.caller("vip", tier="vip")
    assert policy.select_agent(arriving, center.state) is None
    assert policy.recheck_after(arriving, center.state) == pytest.approx(30.0)
    center.env.now = 130.0  # the recheck: others may now take it
    assert policy.select_agent(arriving, center.state) is other
    assert policy.recheck_after(arriving, center.state) is None
    # Only team tiers are rechecked, and only with a team and an overflow.
    assert policy.recheck_after(center.caller("vip", tier="standard"), center.state) is None
    never = _policy("vip", _quickstart(vip={"team": "vip_desk", "overflow_after": None}))
    assert never.select_agent(center.caller("vip", arrival=0.0, tier="vip"), center.state) is None
    assert never.recheck_after(center.contacts[-1], center.state) is None


def test_vip_freed_agents_follow_the_team_rules() -> None:
    data = _quickstart(vip={"team": "vip_desk", "overflow_after": "30s"})
    policy = _policy("vip", data)
    center = Center(100.0)
    standard = center.caller("general", arrival=0.0, tier="standard")
    vip = center.caller("vip", arrival=80.0, tier="vip")
    other, team = center.member("generalists"), center.member("vip_desk")
    assert policy.select_contact(other, center.state) is standard  # the vip waited 20 s
    center.env.now = 110.0
    assert policy.select_contact(other, center.state) is vip  # 30 s: overflow, priority 1
    center.abandon(vip)
    assert policy.select_contact(team, center.state) is standard  # team_helps
    aloof = _policy("vip", _quickstart(vip={"team": "vip_desk", "team_helps": False}))
    assert aloof.select_contact(team, center.state) is None
    center.idle(team, 1.0)
    assert aloof.select_agent(center.caller("general", tier="standard"), center.state) is None
    # A team agent takes its tiers first, even a younger contact of a lower score.
    unranked = _policy("vip", _quickstart(vip={"team": "vip_desk", "tiers": {}}))
    center = Center(100.0)
    center.caller("general", arrival=0.0, tier="standard")
    vip = center.caller("vip", arrival=90.0, tier="vip")
    assert unranked.select_contact(center.member("vip_desk"), center.state) is vip


def test_vip_parameters_are_checked() -> None:
    text = _error(_quickstart(vip={"tiers": {"gold": {"priority": 2}}}))
    assert "vip.tiers.gold" in text and "standard, vip" in text
    assert "vip_team" in _error(_quickstart(vip={"team": "vip_team"}))
    assert "team_tiers.0" in _error(_quickstart(vip={"team": "vip_desk", "team_tiers": ["x"]}))
    data = _quickstart(vip={})
    del data["customers"]
    del data["routing"]["fraud_desk"], data["agents"]["vip_desk"]["owns"]
    data["routing"] = {"policy": "vip"}
    assert "no customers block" in _error(data)


# -------------------------------------------------------------------------------- bullseye
RINGS = {"rings": [{"after": "0s", "groups": ["vip_desk"]},
                   {"after": "30s", "groups": ["generalists"], "min_level": 4},
                   {"after": "60s"}]}


def test_bullseye_offers_the_innermost_open_ring() -> None:
    policy = _policy("bullseye", _with_levels(bullseye=RINGS))
    center = Center(100.0)
    strong = center.member("generalists", levels={"general": 4, "vip": 2}, idle_since=1.0)
    weak = center.member("generalists", levels={"general": 3, "vip": 2}, idle_since=0.0)
    contact = center.caller("general", arrival=100.0)
    assert policy.select_agent(contact, center.state) is None
    assert policy.recheck_after(contact, center.state) == pytest.approx(30.0)
    center.env.now = 130.0
    assert policy.select_agent(contact, center.state) is strong
    assert policy.recheck_after(contact, center.state) == pytest.approx(30.0)
    desk = center.member("vip_desk", levels={"general": 9}, idle_since=120.0)
    assert policy.select_agent(contact, center.state) is desk  # inner ring before longer idle
    center.take(desk)
    center.take(strong)
    assert policy.select_agent(contact, center.state) is None
    center.env.now = 160.0
    assert policy.select_agent(contact, center.state) is weak
    assert policy.recheck_after(contact, center.state) is None


def test_bullseye_contacts_keep_their_place_while_the_pool_widens() -> None:
    policy = _policy("bullseye", _with_levels(bullseye=RINGS))
    center = Center(100.0)
    old = center.caller("general", arrival=60.0)  # 40 s: rings 0 and 1 open
    young = center.caller("vip", arrival=90.0)    # 10 s: ring 0
    levels = {"general": 4, "vip": 4}
    assert policy.select_contact(center.member("vip_desk"), center.state) is old
    assert policy.select_contact(center.member("generalists", levels=levels),
                                 center.state) is old
    weak = center.member("generalists", levels={"general": 3, "vip": 3})
    assert policy.select_contact(weak, center.state) is None
    center.abandon(old)
    assert policy.select_contact(center.member("generalists", levels=levels),
                                 center.state) is None
    center.env.now = 150.0
    assert policy.select_contact(weak, center.state) is young


def test_bullseye_parameters_are_checked() -> None:
    assert "allowed: 0s" in _error(_quickstart(bullseye={"rings": [{"after": "5s"}]}))
    text = _error(_quickstart(bullseye={"rings": [{"after": "0s"}, {"after": "0s"}]}))
    assert "bullseye.rings.1.after" in text and "increasing" in text
    text = _error(_quickstart(bullseye={"rings": [{"after": "0s", "groups": ["nobody"]}]}))
    assert "bullseye.rings.0.groups.0" in text and "generalists" in text


# ------------------------------------------------------------------------- preferred_agent
def test_preferred_agent_takes_the_last_agent_when_idle_or_waits_for_them() -> None:
    policy = _policy("preferred_agent", _quickstart(preferred_agent={"timeout": "1min"}))
    center = Center(100.0)
    longest = center.member("generalists", idle_since=0.0)
    last = center.member("generalists", idle_since=50.0)
    assert policy.select_agent(center.caller("general", last_agent=last.id),
                               center.state) is last
    center.take(last)
    contact = center.caller("general", last_agent=last.id)
    assert policy.select_agent(contact, center.state) is None
    assert policy.recheck_after(contact, center.state) == pytest.approx(60.0)
    center.env.now = 160.0
    assert policy.select_agent(contact, center.state) is longest
    assert policy.recheck_after(contact, center.state) is None
    # No wait for unknown callers, first-time customers, or a last agent who is off duty,
    # lacks the skill or never existed.
    vip_only = center.member("vip_desk", skills=("vip",))
    off_duty = center.member("generalists")
    off_duty.on_duty = False
    for last_agent in (None, vip_only.id, off_duty.id, 999):
        arriving = center.caller("general", last_agent=last_agent)
        assert policy.select_agent(arriving, center.state) is longest
        assert policy.recheck_after(arriving, center.state) is None
    # Nor for a last agent who let the contact ring unanswered (it falls back to the center).
    center.idle(last, 160.0)
    rang = center.caller("general", last_agent=last.id)
    assert policy.select_agent(rang, center.state) is last
    rang.unanswered = (last.id,)
    assert policy.select_agent(rang, center.state) is longest
    center.take(longest)
    center.take(last)
    assert policy.recheck_after(rang, center.state) is None


def test_preferred_agent_freed_agents_take_their_own_customers_first() -> None:
    policy = _policy("preferred_agent", _quickstart(preferred_agent={"timeout": "1min"}))
    center = Center(100.0)
    first, second = center.member("generalists"), center.member("generalists")
    open_old = center.caller("general", arrival=50.0)
    for_first = center.caller("vip", arrival=70.0, last_agent=first.id)
    for_second = center.caller("general", arrival=60.0, last_agent=second.id)
    assert policy.select_contact(first, center.state) is for_first
    assert policy.select_contact(second, center.state) is for_second
    third = center.member("generalists")
    assert policy.select_contact(third, center.state) is open_old
    center.abandon(open_old)
    assert policy.select_contact(third, center.state) is None  # both wait for their agent
    center.env.now = 125.0  # for_second has waited 65 s, for_first 55 s
    assert policy.select_contact(third, center.state) is for_second
    # The preference is fixed at queue time: an agent off duty then is nobody's preference.
    first.on_duty = False
    late = center.caller("general", arrival=125.0, last_agent=first.id)
    center.abandon(for_second)
    assert policy.select_contact(third, center.state) is late


def test_preferred_agent_needs_customers() -> None:
    data = _quickstart()
    del data["customers"], data["routing"]["fraud_desk"], data["agents"]["vip_desk"]["owns"]
    data["routing"] = {"policy": "preferred_agent"}
    assert "no customers block" in _error(data)


# ------------------------------------------------------------------------- keyed indexes
def _by_level(agent: Agent) -> float:
    return -agent.levels["general"]


def test_keyed_indexes_follow_appends_made_after_they_are_built() -> None:
    center = Center(100.0)
    state = center.state
    low = center.member("generalists", levels={"general": 4}, idle_since=1.0)
    assert state.best_idle("general", _by_level) is low
    high = center.member("vip_desk", levels={"general": 9}, idle_since=2.0)
    high_later = center.member("vip_desk", levels={"general": 9}, idle_since=3.0)
    assert state.best_idle("general", _by_level) is high  # equals: the longest idle
    center.take(high)
    assert state.best_idle("general", _by_level) is high_later
    center.take(high_later)
    assert state.best_idle("general", _by_level) is low
    assert state.best_idle("general", _by_level, below=-5) is None  # -4 is not below -5
    center.idle(high, 4.0)
    assert state.best_idle("general", _by_level, below=-5) is high
    gold = center.caller("general", arrival=5.0, tier="gold")
    assert state.oldest_waiting_by("general", "tier", "gold") is gold
    second = center.caller("general", arrival=6.0, tier="gold")
    center.abandon(gold)
    assert state.oldest_waiting_each("general", "tier") == [("gold", second)]
    assert state.oldest_waiting_by("general", "tier", "silver") is None


@pytest.mark.parametrize("primary_dropped_it", [False, True])
def test_a_ringing_contact_keeps_its_place_in_its_bucket(primary_dropped_it: bool) -> None:
    """A contact offered to a mobile agent may come back unanswered: the engine files it
    again in arrival order only if its entry has left the primary queue meanwhile; the
    bucket must hold it exactly once either way."""
    center = Center(100.0)
    ringing = center.caller("vip", arrival=10.0, tier="vip")
    after = center.caller("vip", arrival=20.0, tier="vip")
    state = center.state
    assert state.oldest_waiting_by("vip", "tier", "vip") is ringing
    ringing.status = RINGING
    assert state.oldest_waiting_by("vip", "tier", "vip") is after
    if primary_dropped_it:
        assert state.oldest_waiting("vip") is after
    ringing.status = WAITING  # unanswered: back to the queue
    state.return_waiting(ringing)
    assert state.oldest_waiting_by("vip", "tier", "vip") is ringing
    assert list(state._waiting_by["tier"]["vip"]._queues["vip"]) == [ringing, after]
    ringing.status = IN_SERVICE
    assert state.oldest_waiting_each("vip", "tier") == [("vip", after)]
    center.abandon(after)
    assert state.oldest_waiting_by("vip", "tier", "vip") is None


def test_stale_entries_behind_a_valid_first_one_are_dropped_in_bulk() -> None:
    """The first entry stays valid while 10,000 others go stale behind it: the index
    stays within twice its live size (at least 64)."""
    center = Center(0.0)
    state = center.state
    center.member("vip_desk", levels={"general": 9}, idle_since=0.0)  # the best, idle all along
    state.best_idle("general", _by_level)
    center.caller("general", arrival=0.0, tier="vip")  # waits all along
    state.oldest_waiting_by("general", "tier", "vip")
    busy = center.member("generalists", levels={"general": 4})
    for step in range(10_000):
        center.take(center.idle(busy, float(step)))
        center.abandon(center.caller("general", arrival=float(step), tier="vip"))
    assert len(state._ranked["general", _by_level]._heap) <= 130
    assert len(state._waiting_by["tier"]["general"]._queues["vip"]) <= 130


def test_has_waited_allows_for_rounding() -> None:
    center = Center(0.1 + 30.0 - 1e-9)
    contact = center.caller("general", arrival=0.1)
    assert center.state.has_waited(contact, 30.0)
    assert not center.state.has_waited(contact, 30.01)


# ---------------------------------------------------------------------------- engine runs
def _busy_quickstart(**routing: Any) -> Any:
    data = _quickstart(**routing)
    data["run"] = {"arrivals": 4000, "seed": 5}
    data["contact_types"]["general"]["arrivals"]["rate"] = "560/h"
    return scenario_from_dict(data)


@pytest.mark.parametrize("name, params", [
    ("skills", {"mode": "best_proficiency"}),
    ("bullseye", {"rings": [{"after": "0s"}]}),
    ("vip", {"tiers": {}}),
])
def test_policies_with_neutral_parameters_are_fcfs_in_the_engine(name: str,
                                                                 params: dict[str, Any]) -> None:
    """Equal levels, one ring, equal tiers and no team: the same decisions as fcfs, so
    the same figures exactly (a busy run: ASA about 24 s)."""
    scenario = _busy_quickstart(**{name: params})
    fcfs = Simulation(scenario, "fcfs", 0).run()
    assert fcfs.overall["asa_s"] > 10
    assert Simulation(scenario, name, 0).run().overall == fcfs.overall


def _experts_and_juniors(**routing: Any) -> Any:
    """Quickstart at 70% load with 12 experts (level 10) and 40 juniors (level 3); a
    handled contact is a match when its agent's level is at least 8."""
    data = contract_scenario_data()
    data["run"] = {"arrivals": 3000, "seed": 5}
    data["contact_types"]["general"]["arrivals"]["rate"] = "300/h"
    data["agents"] = {"experts": {"count": 12, "skills": {"general": 10, "vip": 10}},
                      "juniors": {"count": 40, "skills": {"general": 3, "vip": 3}}}
    data["routing"] = {"policy": "fcfs", **routing}
    data["matching"] = {"min_level": 8}
    return scenario_from_dict(data)


def test_skills_best_proficiency_raises_the_match_rate() -> None:
    """Longest idle sends a quarter of the contacts to experts (their share of agents);
    best proficiency sends them every contact that finds one idle. Tolerance: 5 standard
    errors of a difference of two rates near 0.3 over 3000 contacts (0.012 each)."""
    best = Simulation(_experts_and_juniors(skills={"mode": "best_proficiency"}), "skills",
                      0).run()
    longest = Simulation(_experts_and_juniors(skills={"mode": "longest_idle"}), "skills",
                         0).run()
    assert longest.overall["match_hit_rate"] == pytest.approx(12 / 52, abs=0.06)
    assert best.overall["match_hit_rate"] > longest.overall["match_hit_rate"] + 0.06


def test_bullseye_keeps_contacts_for_the_inner_ring_until_it_opens_wider() -> None:
    scenario = _experts_and_juniors(bullseye={"rings": [{"after": "0s", "groups": ["experts"]},
                                                        {"after": "1min"}]})
    fcfs = Simulation(scenario, "fcfs", 0).run()
    rings = Simulation(scenario, "bullseye", 0).run()

    def expert_share(result: Any) -> float:
        return result.by_group["experts"]["handled"] / result.overall["handled"]

    assert expert_share(fcfs) == pytest.approx(12 / 52, abs=0.06)
    assert expert_share(rings) > expert_share(fcfs) + 0.1
    assert rings.overall["mean_wait_s"] > fcfs.overall["mean_wait_s"] + 10  # waits for experts


def test_vip_overflow_hands_team_contacts_to_others_at_the_timeout() -> None:
    """A team of one always busy, the other agents mostly idle: VIP customers' contacts
    are answered at once by the team agent or at 30 s by someone else (a recheck), so
    their 90th wait percentile sits at 30 s (histogram bins of 0.25 s)."""
    data = _quickstart(vip={"team": "vip_desk", "overflow_after": "30s"})
    data["run"] = {"arrivals": 3000, "seed": 5}
    data["agents"]["vip_desk"]["count"] = 1
    data["contact_types"]["general"]["arrivals"]["rate"] = "200/h"
    data["contact_types"]["vip"]["arrivals"]["rate"] = "60/h"
    scenario = scenario_from_dict(data)
    fcfs = Simulation(scenario, "fcfs", 0).run().by_tier["vip"]
    vip = Simulation(scenario, "vip", 0).run().by_tier["vip"]
    assert fcfs["wait_p90_s"] < 1
    assert 29.75 <= vip["wait_p50_s"] <= vip["wait_p90_s"] <= 30.75


def test_preferred_agent_raises_the_preferred_match_rate() -> None:
    """300 customers calling 4000 times: almost every contact has a last agent, whom fcfs
    finds by chance (1 in 52) and preferred_agent whenever free within a minute."""
    data = _quickstart(preferred_agent={"timeout": "1min"})
    data["run"] = {"arrivals": 4000, "seed": 5}
    data["customers"]["population"] = 300
    data["matching"] = {"preferred": True}
    scenario = scenario_from_dict(data)
    fcfs = Simulation(scenario, "fcfs", 0).run().overall["match_hit_rate"]
    preferred = Simulation(scenario, "preferred_agent", 0).run().overall["match_hit_rate"]
    assert fcfs < 0.1
    assert preferred > fcfs + 0.15
