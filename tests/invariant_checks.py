"""Invariants of one replication of any scenario, whatever features it uses.

``tests/test_invariants.py`` checks the plain model (one contact per agent, no IVR, no
retrials) exactly, from the per-contact trace. The checks here hold for every feature
(identity and its IVR, capacity mixes, mobile agents, callbacks, retrials, outbound):

* ``check_accounting``: every counted contact ends in exactly one state
  (docs/omnichannel.md §9, docs/scenarios.md §12), per type, channel and tier and
  overall; counts are whole and add up over types; shares lie in [0, 1];
* ``CapacityWatch``: every contact an agent starts fits what the agent may hold (one
  contact, or a capacity mix), the agent is on duty and has the skill, and no group
  ever has more agents on duty than its staffing allows.

Used by ``tests/test_fuzz.py``; usable by any test that runs a ``Simulation``.
"""

from __future__ import annotations

import math
from typing import Any

COUNTS = ("arrivals", "offered", "answered", "abandoned", "blocked", "in_queue_at_end",
          "handled", "short_abandons")
OPTIONAL_COUNTS = ("in_service_at_end", "self_service", "refused_in_ivr", "in_ivr_at_end",
                   "ivr_hang_ups", "ivr_self_served", "ivr_in_menu_at_end", "ivr_routed",
                   "callbacks_unreached", "callbacks_pending_at_end", "retrials",
                   "callbacks_offered", "callbacks_accepted", "callbacks_completed",
                   "repeat_contacts", "cross_channel_contacts")
SHARES = ("service_level", "abandon_rate", "p_wait", "fcr", "match_hit_rate",
          "self_service_rate", "passive_identified", "genuine_refused_rate",
          "callback_reach_rate", "cross_channel_recognised", "asked_rate", "ivr_hang_up_rate",
          "ivr_self_service_rate")
WAITS = ("asa_s", "mean_wait_s", "wait_p50_s", "wait_p90_s", "wait_p99_s", "aht_s")


def _get(figures: dict[str, float], name: str) -> float:
    return figures.get(name, 0.0)


def check_contact_figures(scope: str, f: dict[str, float], drains: bool) -> None:
    """One scope's contact figures: the accounting identity and sane values."""
    for name in (*COUNTS, *OPTIONAL_COUNTS):
        if name in f:
            assert f[name] >= 0 and f[name] == int(f[name]), (scope, name, f[name])
    # Contacts that never queued: they ended in identity's IVR or in the IVR menu, or were
    # still in one at the end.
    ivr = (_get(f, "self_service") + _get(f, "refused_in_ivr") + _get(f, "in_ivr_at_end")
           + _get(f, "ivr_hang_ups") + _get(f, "ivr_self_served") + _get(f, "ivr_in_menu_at_end"))
    assert f["offered"] == f["arrivals"] - f["blocked"] - ivr, (scope, "offered", f)
    # Every counted contact ends in exactly one state (docs/omnichannel.md §9). Without
    # the omnichannel figures, answered contacts are handled or still in service.
    served = (f["handled"] + f["in_service_at_end"] if "in_service_at_end" in f
              else f["answered"])
    ended = (served + _get(f, "callbacks_unreached") + f["abandoned"] + f["blocked"] + ivr
             + f["in_queue_at_end"] + _get(f, "callbacks_pending_at_end"))
    assert ended == f["arrivals"], (scope, "states do not add up to arrivals", f)
    assert f["handled"] <= f["answered"], (scope, "handled > answered")
    assert f["short_abandons"] <= f["abandoned"], (scope, "short abandons > abandoned")
    if "retrials" in f:
        assert f["retrials"] <= f["arrivals"], scope
    if "callbacks_accepted" in f:
        assert f["callbacks_accepted"] <= f["callbacks_offered"], scope
    for name in SHARES:
        value = f.get(name, math.nan)
        assert math.isnan(value) or -1e-12 <= value <= 1 + 1e-12, (scope, name, value)
    for name in WAITS:
        value = f.get(name, math.nan)
        assert math.isnan(value) or value >= 0, (scope, name, value)
    if drains:
        for name in ("in_queue_at_end", "in_service_at_end", "in_ivr_at_end",
                     "ivr_in_menu_at_end", "callbacks_pending_at_end"):
            assert _get(f, name) == 0, (scope, name, "a run by arrivals ends empty")


def check_accounting(result: Any, scenario: Any, drains: bool | None = None) -> None:
    """Every contact-figure scope of one replication's result, and agent figures;
    ``drains``: whether the run must end empty (default: when it runs by arrivals)."""
    if drains is None:
        drains = scenario.run.arrivals is not None
    check_contact_figures("overall", result.overall, drains)
    for breakdown in ("by_type", "by_channel", "by_tier"):
        scopes = getattr(result, breakdown)
        for key, figures in scopes.items():
            check_contact_figures(f"{breakdown}.{key}", figures, drains)
        if scopes and breakdown != "by_channel":  # channels may be empty of contacts
            for name in COUNTS:
                total = sum(f[name] for f in scopes.values())
                assert total == result.overall[name], (breakdown, name, total,
                                                       result.overall[name])
    assert set(result.by_type) == set(scenario.contact_types)
    for name, figures in [("overall", result.overall), *result.by_group.items()]:
        for metric in ("occupancy", "utilisation"):
            value = figures.get(metric, math.nan)
            assert math.isnan(value) or -1e-12 <= value <= 1 + 1e-9, (name, metric, value)
        logged_in = figures.get("agents_logged_in", 0.0)
        assert math.isnan(logged_in) or logged_in >= 0, (name, logged_in)
    outbound = result.overall
    if "needs_arisen" in outbound:  # conservation of needs (docs/needs.md)
        assert outbound["needs_arisen"] == (outbound["needs_served_inbound"]
                                            + outbound["needs_served_outreach"]
                                            + outbound["needs_open_at_end"]), outbound
    if "outbound_attempts" in outbound:
        assert outbound["outbound_reached"] <= outbound["outbound_attempts"]
        for name in ("outbound_hit_rate", "outbound_agent_share"):
            value = outbound.get(name, math.nan)
            assert math.isnan(value) or 0 <= value <= 1 + 1e-9, (name, value)


class CapacityWatch:
    """Wraps ``sim.start_service`` of a ``Simulation`` (after its stages are installed) and
    checks every start against the agent's capacity, duty and skills."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        scenario = sim.scenario
        self.channels = tuple(scenario.channel_names())
        self.mixes = {name: [tuple(mix.get(c, 0) for c in self.channels)
                             for mix in group.capacity]
                      for name, group in scenario.agents.items() if group.capacity is not None}
        self.peak = [group.seats(sim.cells.interval, sim.cells.intervals)  # on any weekday
                     for group in scenario.agents.values()]
        self.starts = 0
        self._start = sim.start_service
        sim.start_service = self._checked_start

    def _checked_start(self, agent: Any, contact: Any, now: float) -> None:
        assert agent.on_duty and not agent.leaving, (
            f"{agent!r} starts contact {contact.id} at {now} while off duty or leaving")
        assert contact.type in agent.skill_set, (
            f"{agent!r} starts a {contact.type} contact without the skill")
        self._start(agent, contact, now)
        self.starts += 1
        self.check_group(agent.group_index)
        if getattr(agent, "ringing", False) and agent.held == 0:
            return  # a mobile agent's phone rings: the contact starts when answered
        if agent.capacity is None:
            assert agent.held == 1, f"{agent!r} holds {agent.held} contacts, allowed one"
            return
        load = tuple(agent.load)
        assert sum(load) == agent.held, (agent, load, agent.held)
        assert any(all(held <= limit for held, limit in zip(load, mix))
                   for mix in self.mixes[agent.group]), (
            f"{agent!r} holds {dict(zip(self.channels, load))}, which fits no capacity mix")

    def check_group(self, index: int) -> None:
        on_duty = [a for a in self.sim.agents[index] if a.on_duty]
        assert len(on_duty) == self.sim.on_duty_by_group[index]
        # Agents due to leave finish their contact first, so the day's peak is the bound.
        assert len(on_duty) <= self.peak[index], (self.sim.group_names[index], len(on_duty),
                                                  self.peak[index])

    def check_end(self) -> None:
        for index in range(len(self.sim.agents)):
            self.check_group(index)
            for agent in self.sim.agents[index]:
                assert agent.held >= 0, agent
