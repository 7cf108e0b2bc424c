"""Fuzzing scenario dictionaries across every feature (issue 13, item 7).

Hypothesis builds scenario dicts as YAML would give them: a small core scenario (the
strategy of ``tests/test_invariants.py``) with any combination of the optional blocks on
top: customers and identity (intents, methods, verification strategies and their
parameters), proficiency, outcomes and matching, mobile agents and owners, channels,
capacity mixes, blending, retrials, callbacks, journeys, the predictor, outbound
campaigns, and the parameters of every registered routing policy.

* Valid dicts must validate and run; the run's invariants must hold: the accounting
  identity and capacity for every feature (``tests/invariant_checks.py``), and for the
  plain model the exact trace-level checks of ``tests/test_invariants.py``.
* Mutated dicts (wrong types, out-of-range, huge, zero or negative values, missing and
  unknown keys, empty mappings and lists) must either fail with a ``ScenarioError``
  whose every problem reads ``LINE: field.path: what; allowed: ...`` (the line is empty
  for a dict), or validate and then run with the same invariants.

Every run is one replication of a few simulated hours with small rates and agent counts;
a mutated scenario that validates but would simulate many events is only validated.
A run that does not end within ``RUN_BUDGET_S`` fails the example (a hang). Examples are
derandomized, so the test is deterministic.

The bugs the fuzzing found are tests at the end of this file, each with the exact input.
A bug still open is a strict xfail there, and the strategies steer around it so that the
fuzz tests keep guarding everything else; once fixed, the xfail mark and the exclusion go.
"""

from __future__ import annotations

import atexit
import copy
import math
import re
import shutil
import signal
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from invariant_checks import CapacityWatch, check_accounting
from test_invariants import (
    INTERVALS, POLICIES as CORE_POLICIES, RecordingTrace, add_shrinkage, check_conservation,
    check_trace,
)
from test_invariants import scenarios as core_scenarios

from policies.acd import Strategy as AcdStrategy
from policies.orderings import Ordering
from sim import ScenarioError, Simulation, scenario_from_dict
from sim.model.units import parse_duration
from sim.state import BLOCKED, RINGING

RUN_BUDGET_S = 8.0
"""Wall-clock seconds one run may take before the example counts as a hang."""
MAX_EVENTS_TO_RUN = 20_000
"""Mutated scenarios expected to simulate more events than this are only validated."""
MAX_AGENTS_TO_RUN = 300
MAX_POPULATION_TO_RUN = 5_000

FUZZ_SETTINGS = settings(
    # No shrinking: a failing scenario is reported as drawn (shrinking one of these dicts
    # can take many minutes); add Phase.shrink locally to get a smaller one.
    max_examples=60, deadline=timedelta(seconds=10), derandomize=True, database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large])

TOP_LEVEL = ("name", "description", "run", "contact_types", "agents", "routing",
             "service_level", "waiting_room", "busyness", "customers", "identity",
             "proficiency", "outcomes", "matching", "channels", "blending", "predictor",
             "outbound")


# =============================================================================== values
def seconds(low: float, high: float) -> st.SearchStrategy[str]:
    return st.integers(int(low), int(high)).map(lambda s: f"{s}s")


def distributions(low: int = 10, high: int = 600, zero: bool = False
                  ) -> st.SearchStrategy[dict[str, Any]]:
    """Every distribution kind, means between ``low`` and ``high`` seconds."""
    mean = seconds(low, high)
    return st.one_of(
        st.builds(lambda m: {"dist": "exponential", "mean": m}, mean),
        st.builds(lambda v: {"dist": "constant", "value": v},
                  seconds(0 if zero else low, high)),
        st.builds(lambda lo, w: {"dist": "uniform", "low": f"{lo}s", "high": f"{lo + w}s"},
                  st.integers(0 if zero else low, high), st.integers(0, high)),
        st.builds(lambda m, k: {"dist": "erlang", "mean": m, "k": k}, mean,
                  st.integers(1, 5)),
        st.builds(lambda m, cv: {"dist": "gamma", "mean": m, "cv": cv}, mean,
                  st.sampled_from([0.2, 1.0, 3.0])),
        st.builds(lambda m, cv: {"dist": "lognormal", "mean": m, "cv": cv}, mean,
                  st.sampled_from([0.3, 1.2, 5.0])),
        st.builds(lambda m, k: {"dist": "weibull", "mean": m, "shape": k}, mean,
                  st.sampled_from([0.5, 1.0, 3.0])),
        st.builds(lambda xs: {"dist": "empirical", "samples": [f"{x}s" for x in xs]},
                  st.lists(st.integers(low, high), min_size=1, max_size=4)),
        st.builds(lambda w, a, b: {"dist": "mixture", "components": [
            {"weight": w, "dist": "constant", "value": a},
            {"weight": round(1 - w, 2), "dist": "exponential", "mean": b}]},
            st.sampled_from([0.1, 0.5, 0.9]), seconds(0 if zero else low, high), mean),
    )


def probabilities() -> st.SearchStrategy[float]:
    return st.sampled_from([0.0, 0.05, 0.3, 0.5, 0.9, 1.0])


def shares(names: list[str]) -> dict[str, float]:
    """Shares over ``names`` that sum to 1 exactly enough (1e-9)."""
    if len(names) == 1:
        return {names[0]: 1.0}
    first = round(1.0 / len(names), 3)
    return {**{n: first for n in names[:-1]}, names[-1]: round(1 - first * (len(names) - 1), 3)}


INTENT_SETS = [
    {"balance": "low"},
    {"balance": "low", "transfer": "high"},
    {"balance": "low", "card": "medium", "transfer": "high"},
]
METHOD_NAMES = ("knowledge_questions", "otp", "voice_biometrics", "manual_check")
CHANNEL_NAMES = ("voice", "chat", "email")


# ============================================================================ layers
class Draft:
    """A scenario dict being built, with what later layers need to know."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.types: list[str] = list(data["contact_types"])
        self.groups: list[str] = list(data["agents"])
        self.intents: list[str] = []
        self.tiers: list[str] = []
        self.highest = 10.0
        self.lowest = 1.0

    def skills_of(self, group: str) -> list[str]:
        skills = self.data["agents"][group]["skills"]
        return list(skills) if isinstance(skills, list) else list(skills.keys())

    def channel_of(self, type_name: str) -> str:
        return self.data["contact_types"][type_name].get("channel", "voice")

    def type_channels(self) -> list[str]:
        return list(dict.fromkeys(self.channel_of(t) for t in self.types))

    def peak(self, group: str) -> int:
        spec = self.data["agents"][group]
        if "count" in spec:
            return int(spec["count"])
        if "staffing" in spec:
            return max(spec["staffing"])
        # Most agents on duty at once: shifts overlap only where they do (each start is a
        # candidate peak; a shift may wrap past midnight).
        shifts = [(parse_duration(s["start"]), parse_duration(s["end"]), int(s["count"]))
                  for s in spec["shifts"]]

        def on_duty(time: float) -> int:
            return sum(count for start, end, count in shifts
                       if (start <= time < end if start < end
                           else time >= start or time < end % 86400))

        return max(on_duty(start) for start, _, _ in shifts)


def add_channels(draw: st.DrawFn, d: Draft) -> None:
    """Channels per type, a channels block, blending, capacity mixes, retrials,
    callbacks and journeys."""
    for name in d.types:
        if draw(st.booleans()):
            d.data["contact_types"][name]["channel"] = draw(st.sampled_from(CHANNEL_NAMES))
    used = d.type_channels()
    if draw(st.booleans()):
        block: dict[str, Any] = {}
        for channel in used + draw(st.sampled_from([[], ["video"]])):
            spec: dict[str, Any] = {}
            if draw(st.booleans()):
                spec["service_level"] = draw(st.sampled_from(["0s", "20s", "60s", "4h"]))
            if draw(st.booleans()):
                spec["concurrency_factor"] = draw(st.sampled_from([0, 0.25, 1.0]))
            if channel == "email" and draw(st.booleans()):
                spec["deferrable"] = True
            block[channel] = spec
        d.data["channels"] = block
        if draw(st.booleans()):
            # (0 never serves deferrable work: see test_runs_by_arrivals_that_cannot_drain_end)
            d.data["blending"] = {"deferrable_max_share": draw(st.sampled_from([0.3, 1.0]))}
    for group in d.groups:
        if draw(st.booleans()):
            mine = list(dict.fromkeys(d.channel_of(t) for t in d.skills_of(group)))
            mixes: list[dict[str, int]] = [{c: draw(st.integers(1, 3))} for c in mine]
            if len(mine) > 1 and draw(st.booleans()):
                mixes.append({c: draw(st.integers(0, 2)) for c in mine})
            d.data["agents"][group]["capacity"] = mixes
    for name in d.types:
        spec = d.data["contact_types"][name]
        if draw(st.integers(0, 2)) == 0:
            probability = draw(probabilities())
            # Every abandoned attempt of a probability 1 retries until the run ends: short
            # delays would make a valid example too long to run (runnable).
            retrial: dict[str, Any] = {"probability": probability, "delay": draw(
                distributions(1800, 3600) if probability == 1 else distributions(30, 1200))}
            others = [t for t in d.types if t != name]
            if others and draw(st.booleans()):
                retrial["switch"] = {draw(st.sampled_from(others)): draw(
                    st.sampled_from([0.0, 0.3, 1.0]))}
            spec["retrial"] = retrial
        if draw(st.integers(0, 2)) == 0:
            callback: dict[str, Any] = {"threshold": draw(st.sampled_from(["0s", "30s", "90s"])),
                                        "accept": draw(probabilities())}
            if draw(st.booleans()):
                callback["mode"] = draw(st.sampled_from(["virtual_hold", "scheduled"]))
                callback["delay"] = draw(st.sampled_from(["0s", "10min"]))
            if draw(st.booleans()):
                callback["reach"] = draw(probabilities())
                callback["dial_time"] = draw(st.sampled_from(["0s", "20s"]))
            spec["callback"] = callback
        if draw(st.integers(0, 2)) == 0:
            spec["journey"] = {"start": draw(st.sampled_from(["web", "app"])),
                               "share": draw(probabilities()),
                               "recognised": draw(probabilities())}


def add_customers(draw: st.DrawFn, d: Draft, identity: bool) -> None:
    d.tiers = draw(st.sampled_from([["standard"], ["standard", "vip"],
                                    ["standard", "gold", "vip"]]))
    d.intents = list(draw(st.sampled_from(INTENT_SETS)))
    languages = draw(st.sampled_from([["en"], ["en", "es"]]))
    channels = list(dict.fromkeys([*d.type_channels(), *draw(st.sampled_from(
        [[], ["app"], ["app", "web"]]))]))
    customers: dict[str, Any] = {
        "population": draw(st.integers(20, 400)),
        "tiers": shares(d.tiers), "languages": shares(languages),
        "channels": shares(channels),
        "value": {"mean": draw(st.sampled_from([100, 20000])),
                  **({"cv": draw(st.sampled_from([0.5, 2]))} if draw(st.booleans()) else {})},
    }
    if "en" in languages and draw(st.booleans()):
        customers["dialects"] = {"en": {"general": 0.9, "scottish": 0.1}}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "habit_window": st.sampled_from(["1h", "2h", "24h"]),
        "habit_strength": probabilities(),
        "activity_cv": st.sampled_from([0.5, 1.0, 3.0]),
        "churn_risk": st.builds(lambda m: {"mean": m, "concentration": 10}, probabilities()),
        "sentiment": st.builds(lambda m: {"mean": m}, probabilities()),
        "phones": st.just({1: 0.7, 2: 0.3}),
        "devices": st.just({1: 1.0}),
        "carriers": st.just({"a": 0.5, "b": 0.5}),
        "history": st.sampled_from([0, 1, 4]),
        "known_number": probabilities(),
        "shared_number": probabilities(),
        "device_match": probabilities(),
        "patience_factor": st.just({d.tiers[-1]: 0.5}),
    }
    for key, strategy in optional.items():
        if draw(st.integers(0, 2)) == 0:
            customers[key] = draw(strategy)
    if draw(st.booleans()):
        customers["prospects"] = {"share": draw(st.sampled_from([0.0, 0.1, 0.5])),
                                  "intents": shares(d.intents[:1])}
    if draw(st.booleans()):
        customers["fraud"] = {"share": draw(st.sampled_from([0.0, 0.05, 0.3])),
                              "spoof": draw(probabilities()),
                              "intents": shares(d.intents[-1:])}
        if draw(st.booleans()):
            customers["fraud"]["spoofed_carrier_match"] = draw(probabilities())
            customers["fraud"]["device_match"] = draw(probabilities())
    d.data["customers"] = customers
    if identity:
        add_identity(draw, d)


def add_identity(draw: st.DrawFn, d: Draft) -> None:
    intents: dict[str, Any] = {}
    for name, share in shares(d.intents).items():
        intent: dict[str, Any] = {"share": share, "risk": dict(
            kv for s in INTENT_SETS for kv in s.items())[name]}
        if draw(st.booleans()):
            intent["self_service"] = draw(probabilities())
        if draw(st.integers(0, 3)) == 0:
            intent["fraud_loss"] = draw(st.sampled_from([0, 500]))
        intents[name] = intent
    configured = draw(st.lists(st.sampled_from(METHOD_NAMES), min_size=1, unique=True))
    time = distributions(1, 40, zero=True)
    methods: dict[str, Any] = {}
    for method in configured:
        if method == "knowledge_questions":
            spec = {"time": draw(time), "genuine_fail": draw(probabilities()),
                    "fraud_pass": draw(probabilities())}
            if draw(st.booleans()):
                spec["questions"] = draw(st.integers(1, 5))
        elif method == "otp":
            spec = {"time": draw(time), "delivery_failure": draw(probabilities()),
                    "fraud_pass": draw(probabilities())}
        elif method == "voice_biometrics":
            spec = {"time": draw(time), "enrolled": draw(probabilities()),
                    "false_reject": draw(probabilities()), "false_accept": draw(probabilities())}
        else:
            spec = {"time": draw(time), "genuine_fail": draw(probabilities()),
                    "fraud_pass": draw(probabilities())}
        if method != "manual_check" and draw(st.booleans()):
            spec["where"] = draw(st.sampled_from(["ivr", "agent"]))
        if draw(st.booleans()):
            spec["fee"] = draw(st.sampled_from([0, 0.02, 1]))
        methods[method] = spec
    strategies = draw(st.lists(st.sampled_from(["kba_all", "passive_stepup", "biometric"]),
                               min_size=1, max_size=3, unique=True))
    chain = st.lists(st.sampled_from(configured), max_size=3, unique=True)
    verification: dict[str, Any] = {
        "strategy": strategies[0] if len(strategies) == 1 and draw(st.booleans())
        else strategies}
    defaults = {"kba_all": {"knowledge_questions"},
                "passive_stepup": {"otp", "knowledge_questions", "manual_check"},
                "biometric": {"voice_biometrics", "knowledge_questions"}}
    for strategy in strategies:
        if defaults[strategy] <= set(configured) and draw(st.booleans()):
            continue  # the defaults are runnable
        if strategy == "kba_all":
            verification[strategy] = {"method": draw(st.sampled_from(configured)),
                                      "escalate_to": draw(chain)}
        elif strategy == "biometric":
            verification[strategy] = {"method": draw(st.sampled_from(configured)),
                                      "fallback": draw(chain)}
        else:
            verification[strategy] = {
                key: {risk: draw(chain) for risk in ("low", "medium", "high")}
                for key in ("trusted", "step_up")}
    identity: dict[str, Any] = {
        "ivr_time": draw(distributions(1, 60, zero=True)), "intents": intents,
        "methods": methods, "verification": verification,
        "agent_cost_per_hour": draw(st.sampled_from([0, 20])),
        "loss_per_fraud": draw(st.sampled_from([0, 1000])),
    }
    if draw(st.booleans()):
        identity["score"] = {"ani": 0.5, "device": 0.3, "carrier": 0.2,
                             "flag_penalty": draw(st.sampled_from([0, 0.25])),
                             "passive_threshold": draw(probabilities())}
    d.data["identity"] = identity


def add_quality(draw: st.DrawFn, d: Draft) -> None:
    """Proficiency levels, outcomes (with repeat contacts) and matching."""
    if draw(st.booleans()):
        d.lowest, d.highest = draw(st.sampled_from([(1, 10), (0, 5), (1, 2)]))
        d.data["proficiency"] = {"lowest": d.lowest, "highest": d.highest,
                                 "speed_at_lowest": draw(st.sampled_from([0.5, 1.0, 1.5]))}
    level = st.sampled_from([d.lowest, (d.lowest + d.highest) / 2, d.highest])
    for group in d.groups:
        spec = d.data["agents"][group]
        if draw(st.booleans()):
            spec["skills"] = {t: draw(level) for t in spec["skills"]}
        if d.intents and "identity" in d.data and draw(st.booleans()):
            spec["intent_levels"] = {d.intents[0]: draw(level)}
        if "customers" in d.data and draw(st.booleans()):
            spec["languages"] = draw(st.sampled_from([["en"], ["es"], ["en", "es"]]))
            if draw(st.booleans()):
                spec["dialects"] = ["scottish"]
    if draw(st.booleans()):
        outcomes: dict[str, Any] = {"resolution_at_lowest": draw(probabilities()),
                                    "resolution_at_highest": draw(probabilities())}
        if draw(st.booleans()):
            outcomes["match_bonus"] = draw(probabilities())
        if draw(st.booleans()):
            outcomes["repeat_after"] = draw(distributions(600, 7200))
            if "arrivals" in d.data["run"]:  # (else some customers come back for ever)
                for key in ("resolution_at_lowest", "resolution_at_highest"):
                    outcomes[key] = outcomes[key] or 0.5
        d.data["outcomes"] = outcomes
    if draw(st.booleans()):
        matching: dict[str, Any] = {}
        for key in ("language", "owner", "preferred"):  # they compare with customers
            if draw(st.booleans()):
                matching[key] = draw(st.booleans()) and "customers" in d.data
        if draw(st.booleans()) or not any(matching.values()):
            matching["min_level"] = draw(level)
        d.data["matching"] = matching


ROSTERS = Path(tempfile.mkdtemp(prefix="ccsim-fuzz-rosters-"))
"""Roster files of drawn scenarios (named by their text, so a file is written once)."""
atexit.register(shutil.rmtree, ROSTERS, True)


def add_workforce(draw: st.DrawFn, d: Draft) -> None:
    """Per-agent speed spreads, learning curves, and named agents: the count or shifts of
    some groups become rows of a roster file (``agents: {roster: FILE}``), each row with
    the group's skills or a subset, sometimes its own speed."""
    for group in d.groups:
        spec = d.data["agents"][group]
        if draw(st.booleans()):
            spec["speed"] = draw(st.sampled_from([
                {"dist": "lognormal", "mean": 1, "cv": 0.3},
                {"dist": "uniform", "low": 0.5, "high": 1.5}]))
        if draw(st.booleans()):
            spec["learning"] = {"start": draw(st.sampled_from([0.5, 0.9])),
                                "contacts": draw(st.integers(1, 20))}
    named = [g for g in d.groups if ("count" in d.data["agents"][g] or "shifts" in
                                     d.data["agents"][g]) and draw(st.booleans())]
    dialling = set(d.data.get("outbound", {}).get("groups", []))
    rows = []
    for group in named:
        spec = d.data["agents"][group]
        shifts = spec.pop("shifts", None) or [{"start": "0h", "end": "24h",
                                               "count": spec.pop("count")}]
        subsets = st.lists(st.sampled_from(d.skills_of(group)), min_size=1, unique=True)
        first = True  # has every skill of the group: each is some agent's
        for shift in shifts:
            start, end = (int(str(shift[key]).removesuffix("h")) for key in ("start", "end"))
            for _ in range(int(shift["count"])):
                own = "" if first or draw(st.booleans()) else ";".join(draw(subsets))
                first = False
                speed = draw(st.sampled_from(["", "", "0.8", "1.25"]))
                # The group's first agent works every day, with the group's breaks; a
                # dialling group's agents all do (fewer on some weekdays could leave
                # outbound.max_share under one agent, which the validator rightly refuses).
                weekday = "" if len(rows) == 0 or rows[-1][1] != group or group in dialling \
                    else draw(
                    st.sampled_from(["", "mon;tue;wed;thu;fri", "sat;sun", "fri"]))
                breaks = "" if weekday == "" else draw(st.sampled_from(["", "10min@0h-40min"]))
                rows.append((f"{group}-n{len(rows)}", group, f"{start:02d}:00", f"{end:02d}:00",
                             own, speed, weekday, breaks))
    if rows:
        text = "agent,group,start,end,skills,speed,weekday,breaks\n" + "".join(
            ",".join(row) + "\n" for row in rows)
        path = ROSTERS / f"{zlib.crc32(text.encode())}.csv"
        path.write_text(text)
        d.data["agents"]["roster"] = str(path)


def add_mobile(draw: st.DrawFn, d: Draft) -> None:
    group = draw(st.sampled_from(d.groups))
    spec = d.data["agents"][group]
    spec["mobile"] = {"ring": draw(distributions(1, 30)),
                      "answer": draw(st.sampled_from([0.05, 0.5, 1.0]))}  # (0 is refused)
    if "capacity" in spec:  # a mobile agent takes one contact at a time
        spec["capacity"] = [{c: 1} for c in dict.fromkeys(
            c for mix in spec["capacity"] for c in mix)]
    if d.tiers and draw(st.booleans()):
        spec["owns"] = {"tiers": [d.tiers[-1]]}
        if draw(st.booleans()):
            spec["owns"]["share"] = draw(probabilities())


def add_predictor(draw: st.DrawFn, d: Draft) -> None:
    low = draw(st.sampled_from([0.0, 0.15, 0.5]))
    d.data["predictor"] = {"history_kept": draw(st.integers(1, 20)),
                           "prior_weight": draw(st.sampled_from([0.5, 4])),
                           "history_days": draw(st.sampled_from([1, 90])),
                           "answer_low": low, "answer_high": max(low, 0.6)}


def add_outbound(draw: st.DrawFn, d: Draft) -> None:
    run = d.data["run"]
    if "duration" not in run:  # campaigns release tasks for as long as the run lasts
        run.pop("arrivals")
        run["duration"] = f"{draw(st.integers(1, 4))}h"
    channels = list(d.data["customers"]["channels"])
    group = draw(st.sampled_from(d.groups))
    share = draw(st.sampled_from([0.3, 1.0]))
    if share * d.peak(group) < 1:
        share = 1.0
    campaigns: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 2))):
        campaign: dict[str, Any] = {
            "channels": draw(st.lists(st.sampled_from(channels), min_size=1, unique=True)),
            "handle_time": draw(distributions(30, 400))}
        if draw(st.booleans()):
            campaign |= {"trigger": "list", "per_day": draw(st.integers(1, 40))}
        else:
            campaign |= {"trigger": "signal", "rate": f"{draw(st.integers(1, 6))}/h",
                         "signal_channel": draw(st.sampled_from(channels))}
        if draw(st.booleans()):
            start = draw(st.integers(0, 20))
            campaign["hours"] = [start, draw(st.integers(start + 1, 24))]
            campaign["fixed_hour"] = draw(st.integers(0, 23))
        if draw(st.booleans()):
            campaign["max_attempts"] = draw(st.integers(1, 4))
            campaign["retry_after"] = draw(st.sampled_from(["0s", "30min", "4h"]))
            campaign["delay"] = draw(st.sampled_from(["0s", "15min"]))
        campaigns[f"c{index}"] = campaign
    outbound: dict[str, Any] = {
        "strategies": draw(st.lists(st.sampled_from(["fixed_time", "predicted_best_time"]),
                                    min_size=1, unique=True)),
        "groups": [group], "max_share": share, "campaigns": campaigns}
    if draw(st.booleans()):
        outbound["dial_time"] = draw(st.sampled_from(["0s", "20s"]))
        outbound["reach"] = {"base": draw(probabilities()), "in_hours": 2.5,
                             "own_channel": 1.6, "max": 0.9}
    if draw(st.booleans()):
        outbound["predicted_best_time"] = {"horizon": draw(st.sampled_from(["1h", "24h"]))}
    d.data["outbound"] = outbound


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


SHRINKAGE_KEYS = {"breaks", "meetings", "absenteeism", "aux"}


def add_weekdays(draw: st.DrawFn, d: Draft) -> None:
    """The weekday the run starts on, rates and staffing that differ by weekday. Some
    weekday keeps the base rates and staffing, so every type is still served some time.
    (The dialling groups keep theirs: fewer agents on some weekdays could leave
    outbound.max_share under one agent, which the validator rightly refuses.)"""
    run = d.data["run"]
    run["start_weekday"] = draw(st.sampled_from(WEEKDAYS))
    slots = INTERVALS[run["interval"]]
    for name in d.types:
        arrivals = d.data["contact_types"][name]["arrivals"]
        days = draw(st.lists(st.sampled_from(WEEKDAYS[1:]), max_size=3, unique=True))
        own = days[:draw(st.integers(0, len(days)))]
        if own:
            arrivals["rates_by_weekday"] = {day: [f"{r}/h" for r in draw(st.lists(
                st.sampled_from([0, 30, 120]), min_size=slots, max_size=slots))] for day in own}
        if days[len(own):]:
            arrivals["weekdays"] = {day: draw(st.sampled_from([0, 0.5, 1, 2]))
                                    for day in days[len(own):]}
    dialling = set(d.data.get("outbound", {}).get("groups", []))
    for group in d.groups:
        spec = d.data["agents"][group]
        # Shrinkage follows one repeating day: a group with it keeps one (validation
        # refuses the two together).
        # A roster's group has its agents' weekdays (add_workforce) and no head count.
        named = not {"count", "staffing", "shifts"} & set(spec)
        if named or group in dialling or SHRINKAGE_KEYS & set(spec) or any(
                "breaks" in shift for shift in spec.get("shifts", [])):
            continue
        # Groups with shifts always get some weekdays (rarer than the others: drawn
        # with them every time, the coverage check sees shift days).
        if "shifts" not in spec and not draw(st.booleans()):
            continue
        if "shifts" in spec:
            for shift in spec["shifts"]:
                if draw(st.booleans()):
                    shift["days"] = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1,
                                                  max_size=6, unique=True))
            spec["shifts"][0].pop("days", None)  # the first runs every day
        else:
            spec["staffing_by_weekday"] = {
                day: draw(st.one_of(st.integers(0, 4), st.lists(
                    st.integers(0, 4), min_size=slots, max_size=slots)))
                for day in draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3,
                                         unique=True))}


def add_ivr(draw: st.DrawFn, d: Draft) -> None:
    """An IVR menu of up to three levels in front of some types; with identity the leaves
    set intents (and the intents' own self-service gives way to the menu's)."""
    identity = d.data.get("identity")

    def node(level: int) -> dict[str, Any]:
        spec: dict[str, Any] = {"prompt": draw(distributions(1, 60, zero=True)),
                                "hang_up": draw(probabilities()),
                                "self_service": draw(probabilities())}
        children = draw(st.integers(0 if level > 1 else 1, 3 if level < 3 else 0))
        if children:
            names = [f"option{i}" for i in range(children)]
            spec["choices"] = {name: {"share": share, **node(level + 1)}
                               for name, share in shares(names).items()}
        elif identity is not None:
            spec["intent"] = draw(st.sampled_from(d.intents))
        else:
            spec["type"] = draw(st.sampled_from(d.types))
        return spec

    if identity is not None:
        for intent in identity["intents"].values():
            intent.pop("self_service", None)
    d.data["ivr"] = {"entry": draw(st.lists(st.sampled_from(d.types), min_size=1, unique=True)),
                     "menu": node(1)}


def add_routing(draw: st.DrawFn, d: Draft) -> None:
    """A policy that can run on the scenario, and parameter blocks for several policies
    (every block is validated, run or not)."""
    data = d.data
    routing = data["routing"]
    has_customers = "customers" in data
    reach_any = any("mobile" in g or "owns" in g for g in data["agents"].values())
    # Groups that may serve every type (a fraud desk, a team that never overflows), and
    # whether groups neither mobile nor owning cover every type (mobile_advisers' center):
    # validation refuses a policy that would leave some contacts with nobody to take them.
    complete = [g for g in d.groups if set(d.types) <= set(d.skills_of(g))]
    center = {skill for g, spec in data["agents"].items()
              if "mobile" not in spec and "owns" not in spec for skill in d.skills_of(g)}
    candidates = ["fcfs", "priority", "skills", "bullseye", "contextual", "agent", "acd",
                  "workflow"]
    if "outcomes" in data:
        candidates.append("predictive")
    if has_customers:
        candidates += ["vip", "preferred_agent"] + (["fraud_desk"] if complete else [])
    if reach_any and set(d.types) <= center:
        candidates.append("mobile_advisers")
    routing["policy"] = draw(st.sampled_from(candidates + candidates[8:]))  # features twice

    def alone(group: str) -> bool:
        """Whether ``group`` is the only one with some skill."""
        others = {skill for g in d.groups if g != group for skill in d.skills_of(g)}
        return not set(d.skills_of(group)) <= others

    def vip() -> dict[str, Any]:
        team = draw(st.sampled_from(d.groups))
        overflow = draw(st.sampled_from([None, "0s", "30s"] if team in complete
                                        else ["0s", "30s"]))
        return {"tiers": {d.tiers[-1]: {"priority": 1, "head_start": "30s"}}, "team": team,
                "team_tiers": [d.tiers[-1]], "overflow_after": overflow,
                "team_helps": alone(team) or draw(st.booleans())}

    def fraud_desk() -> dict[str, Any]:
        desk = draw(st.sampled_from(complete))
        return {"desk": desk, "min_confidence": draw(probabilities()),
                "desk_helps": alone(desk) or draw(st.booleans()), "vip_tiers": [d.tiers[-1]]}

    def workflow() -> dict[str, Any]:
        """One type's own steps, the last open to every agent: every contact is answerable."""
        orders = get_args(Ordering)
        first = {"targets": f"group == '{draw(st.sampled_from(d.groups))}'",
                 "timeout": draw(st.sampled_from(["0s", "20s"])), "priority": 1,
                 "order_by": draw(st.sampled_from(orders))}
        return {"pick": draw(st.sampled_from(["oldest", "best_skill"])),
                "filters": [{"when": f"type == '{d.types[0]}'",
                             "priority": draw(st.sampled_from([0, 1])),
                             "steps": [first, {"order_by": draw(st.sampled_from(orders))}]}]}

    params: dict[str, Any] = {
        "skills": lambda: {"mode": draw(st.sampled_from(["best_proficiency", "longest_idle"])),
                           "pick": draw(st.sampled_from(["oldest", "best_skill"])),
                           "min_level": {d.types[0]: d.lowest}},
        "bullseye": lambda: {"rings": [
            {"after": "0s", "groups": [draw(st.sampled_from(d.groups))]},
            {"after": draw(st.sampled_from(["10s", "60s"])),
             **({"min_level": d.lowest} if draw(st.booleans()) else {})}]},
        "contextual": lambda: {
            "weights": {"language": 1, "level": draw(st.sampled_from([0, 1])),
                        "patience": 0.5, "sentiment": 0.25, "idle": 0.1},
            "require_language": draw(st.booleans()),
            "wait_for_match": draw(st.sampled_from(["0s", "30s"])),
            "candidates": draw(st.integers(1, 8))},
        "predictive": lambda: {
            "key": draw(st.sampled_from(["intent", "segment"] if has_customers else ["intent"])),
            "prior": {"successes": 1, "failures": 2},
            "explore": "thompson", "handle_time_penalty": draw(st.sampled_from([0, 0.01])),
            "candidates": draw(st.integers(1, 8)),
            **({"onoff": {"baseline": "fcfs", "slot": data["run"]["interval"]}}
               if draw(st.booleans()) else {})},
        "vip": vip,
        "preferred_agent": lambda: {"timeout": draw(st.sampled_from(["0s", "60s"]))},
        "fraud_desk": fraud_desk,
        "mobile_advisers": lambda: {"intents": d.intents[:1] if "identity" in data else [],
                                    "advisers_take_queue": draw(st.booleans())},
        # No act: the agent is fcfs read from the learning observation.
        "agent": lambda: {"allow_hold": draw(st.booleans())},
        # Penalty 1 for the first group, reached after 30 s: every contact is answerable.
        "acd": lambda: {"strategy": draw(st.sampled_from(get_args(AcdStrategy))),
                        "penalties": {d.groups[0]: 1}, "order": list(reversed(d.groups)),
                        **({"max_penalty": 0, "raise_penalty": [{"after": "30s",
                                                                 "max_penalty": 1}]}
                           if draw(st.booleans()) else {})},
        "workflow": workflow,
    }
    for name in candidates:
        if name in params and (name == routing["policy"] or draw(st.booleans())):
            routing[name] = params[name]()


LAYERS = ("channels", "customers", "identity", "quality", "mobile", "predictor", "outbound",
          "service_level", "workforce")


@st.composite
def valid_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A small scenario dict with any combination of the optional feature blocks."""
    data = draw(core_scenarios())
    data["name"] = "fuzz"
    layers = {layer for layer in LAYERS if draw(st.booleans())}
    if "identity" in layers or "outbound" in layers:
        layers.add("customers")
    d = Draft(data)
    if "channels" in layers:
        add_channels(draw, d)
    if "customers" in layers:
        add_customers(draw, d, "identity" in layers)
    if "quality" in layers:
        add_quality(draw, d)
    if "mobile" in layers:
        add_mobile(draw, d)
    if "predictor" in layers:
        add_predictor(draw, d)
    if "outbound" in layers:
        add_outbound(draw, d)
    add_routing(draw, d)
    if "workforce" in layers:
        add_workforce(draw, d)
    if "service_level" in layers:
        data["service_level"] = {"threshold": draw(st.sampled_from(["0s", "20s", "5min"])),
                                 "short_abandon": draw(st.sampled_from(["0s", "5s"]))}
    if draw(st.booleans()):
        add_shrinkage(draw, data)
    # Drawn last, so that the layers above draw the scenarios they drew before weeks.
    if draw(st.booleans()):
        add_weekdays(draw, d)
    if draw(st.booleans()):  # after weeks, for the same reason
        add_transfers(draw, data)
    if draw(st.booleans()):
        add_ivr(draw, d)
    if draw(st.booleans()):
        add_money(draw, data)
    return data


def add_transfers(draw: st.DrawFn, data: dict[str, Any]) -> None:
    """Transfer blocks on some types, to any type (itself too: loops end at max_legs)."""
    names = list(data["contact_types"])
    for spec in data["contact_types"].values():
        if not draw(st.booleans()):
            continue
        transfer: dict[str, Any] = {
            "probability": draw(probabilities()), "to": draw(st.sampled_from(names)),
            "after": draw(st.sampled_from([0.0, 0.5, 1.0, [0.2, 0.9]])),
            "mode": draw(st.sampled_from(["cold", "warm"])), "max_legs": draw(st.integers(2, 4))}
        if transfer["mode"] == "warm" and draw(st.booleans()):
            transfer["conference"] = draw(distributions(0, 60, zero=True))
        spec["transfer"] = transfer


def add_money(draw: st.DrawFn, data: dict[str, Any]) -> None:
    """A costs block (one rate or one per group), and with customers maybe churn."""
    rate = draw(st.sampled_from([0.0, 25.5, None]))
    data["costs"] = {
        "agent_per_hour": rate if rate is not None else {
            group: draw(st.sampled_from([0.0, 18.0, 60.0])) for group in data["agents"]
            if group != "roster"},  # agents.roster names the roster file, not a group
        "telephony": {"ivr": 0.01, "queue": draw(st.sampled_from([0.0, 0.02])), "talk": 0.03},
        "callback_dial": 0.05, "outbound": {"dial": 0.1, "conversion": 0.2, "sale_value": 80}}
    if "customers" in data and draw(st.booleans()):
        data["churn"] = {
            "long_wait": draw(seconds(1, 300)),
            "hazard": {kind: draw(probabilities())
                       for kind in ("long_wait", "abandoned", "unresolved", "refused")},
            "sentiment_drop": draw(probabilities()),
            "patience_factor": draw(st.sampled_from([0.5, 1.0]))}


# ========================================================================= mutations
DURATION = re.compile(r"^[0-9.e+]+ ?(ms|s|sec|min|h|d)$")
RATE = re.compile(r"^[0-9.e+]+ ?/ ?(ms|s|sec|min|h|d)$")


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def bad_values(value: Any) -> list[Any]:
    """Replacements for ``value``: wrong types, out-of-range, huge, zero, negative."""
    common: list[Any] = [None, "x" * 300, nested(60), {"unexpected": 1}, [1, "two"]]
    if isinstance(value, bool):
        return [*common, "yes", 1, 0.5, "maybe"]
    if isinstance(value, str) and DURATION.match(value):
        return [*common, "0s", "1ms", "-5s", "1e9h", "1e308d", "5", "nan s", "", "5 parsecs",
                "1h30min", 5, True]
    if isinstance(value, str) and RATE.match(value):
        return [*common, "0/h", "-1/h", "1e12/h", "1e308/ms", "5", "inf/h", "x/h", 3.0]
    if isinstance(value, int):
        return [*common, 0, 1, -1, 10**9, 10**12, 10**100, 2.5, "many", True, -(10**9)]
    if isinstance(value, float):
        return [*common, -0.5, 0.0, 1.0, 1.0000001, 1.5, 1e300, -1e300, math.nan, math.inf,
                "high", True, 10**20]
    if isinstance(value, str):
        return [*common, "", "unknown_name", "voice", 7, "../../etc/passwd"]
    if isinstance(value, list):
        return [*common, [], "x", [None], [[[]]], value * 50]
    if isinstance(value, dict):
        return [*common, {}, [], "x", 5]
    return [*common, 0, "x", {}]


def extreme_values(value: Any) -> list[Any]:
    """Replacements of the same kind at the edge of what is allowed (many validate)."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, str) and DURATION.match(value):
        return ["0s", "1ms", "24h", "100h"]
    if isinstance(value, str) and RATE.match(value):
        return ["0/h", "1/d", "1000/h"]
    if isinstance(value, int):
        return [0, 1, 50]
    if isinstance(value, float):
        return [0.0, 1.0, 1e-9, 0.999999]
    if isinstance(value, list):
        return [[], value[:1], value + value]
    if isinstance(value, dict):
        return [{}]
    return [None]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value of the dict, containers included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def parent_of(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A valid scenario with one to three mistakes."""
    data = copy.deepcopy(draw(valid_scenarios()))
    if draw(st.integers(0, 2)) == 0:  # one value at the edge of what is allowed
        path = draw(st.sampled_from(list(paths(data))))
        parent = parent_of(data, path)
        parent[path[-1]] = draw(st.sampled_from(extreme_values(parent[path[-1]])))
        return data
    for _ in range(draw(st.integers(1, 3))):
        where = list(paths(data))
        kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "unknown_key",
                                     "empty", "rename"]))
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = parent_of(data, path)
        key = path[-1]
        if kind == "replace":
            parent[key] = draw(st.sampled_from(bad_values(parent[key])))
        elif kind == "delete":
            del parent[key]
        elif kind == "unknown_key":
            target = parent[key] if isinstance(parent[key], dict) else parent
            if isinstance(target, dict):
                target[draw(st.sampled_from(["colour", "sede", "rate", "Count", "1"]))] = 1
        elif kind == "empty":
            if isinstance(parent[key], (dict, list)):
                parent[key] = type(parent[key])()
            else:
                parent[key] = ""
        elif isinstance(parent, dict):  # rename: references to the old name dangle
            parent[draw(st.sampled_from(["renamed", "t0", "g0", "vip"]))] = parent.pop(key)
    return data


# ============================================================================ checks
PROBLEM = re.compile(
    r"^(?P<line>\d*):? ?(?P<path>\(top level\)|[^\s:;'\"]+(?: [^\s:;'\"]+)*): (?P<what>\S.*)$")
SEGMENT = re.compile(r"^[\w-]+$")
LEAKS = ("Input should", "Value error", "function-", "tagged-union", "[key]",
         "Field required", "validation error", "Traceback")


def check_problems(error: ScenarioError, data: Any) -> None:
    """Every problem reads ``LINE: field.path: what; allowed: ...``."""
    assert error.problems, "a ScenarioError without problems"
    keys = set(TOP_LEVEL) | (set(map(str, data)) if isinstance(data, dict) else set())
    for problem in error.problems:
        assert "\n" not in problem, problem
        found = PROBLEM.match(problem.strip())
        assert found, f"not 'LINE: field.path: what; allowed: ...': {problem!r}"
        path = found["path"]
        assert path == "(top level)" or path.split(".")[0] in keys, (
            f"the path {path!r} does not start at a top-level key: {problem!r}")
        assert path == "(top level)" or all(SEGMENT.match(p) for p in path.split(".")), (
            f"the path {path!r} is not a dotted field path: {problem!r}")
        what = found["what"]
        assert re.search(r"; (allowed|known|required here)|allowed here|allowed:", what), (
            f"no 'allowed' part: {problem!r}")
        # (A value is quoted shortened: test_a_huge_value_is_not_quoted_in_full.)
        assert len(problem) < 1000, f"a problem line of {len(problem)} characters"
        for leak in LEAKS:
            assert leak not in problem, f"{leak!r} leaked into {problem!r}"


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def give_up(signum: int, frame: Any) -> None:
        raise Hang(f"a run did not end within {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _first(names: Any) -> str | None:
    if names is None:
        return None
    return names if isinstance(names, str) else next(iter(names))


def is_core(data: dict[str, Any]) -> bool:
    """The plain model that ``tests/test_invariants.py`` checks exactly from the trace."""
    return (data["routing"]["policy"] in CORE_POLICIES
            and not set(data) & {"customers", "identity", "proficiency", "outcomes",
                                 "matching", "channels", "blending", "predictor", "outbound",
                                 "ivr"}
            and "roster" not in data["agents"]  # (a named agent leaves itself: not set_staff)
            and all(set(g) <= {"skills", "count", "staffing", "shifts", "speed"}
                    and isinstance(g["skills"], list) and not isinstance(g.get("speed"), dict)
                    and not any("days" in shift for shift in g.get("shifts", []))
                    for g in data["agents"].values())
            and all(set(t) <= {"arrivals", "handle_time", "patience", "wrap_up"}
                    for t in data["contact_types"].values()))


def run_and_check(scenario: Any, data: dict[str, Any]) -> None:
    """One replication under the scenario's policy (first verification and outbound
    strategy), within the time budget; every invariant that applies."""
    policy = scenario.routing.policy
    verification = _first(scenario.identity.verification.strategy
                          if scenario.identity is not None else None)
    outbound = _first(scenario.outbound.strategies if scenario.outbound is not None else None)
    with tempfile.TemporaryDirectory() as folder:
        trace = RecordingTrace(Path(folder) / "trace.csv")
        with trace:
            sim = Simulation(scenario, policy, 0, trace=trace, verification=verification,
                             outbound=outbound)
            watch = CapacityWatch(sim)
            try:
                with time_limit(RUN_BUDGET_S):
                    result = sim.run()
            except ScenarioError as error:
                # A run that cannot advance (retrials or repeats at one instant) stops
                # with the field named.
                check_problems(error, data)
                return
    watch.check_end()
    check_accounting(result, scenario, drains=scenario.run.arrivals is not None)
    if scenario.costs is not None:
        check_money(result, sim)
    if is_core(data):
        check_conservation(result, data)
        check_trace(data, scenario, result, sim, trace.rows, policy)


def check_money(result: Any, sim: Simulation) -> None:
    """Agent cost is on-duty time x rate per group; in every scope total cost is the sum
    of its parts and net value is revenue less costs, fraud loss and value lost."""
    rates = sim.scenario.costs.rates(sim.group_names)
    for name, cells, rate in zip(sim.group_names, sim.cells.group, rates):
        assert result.by_group[name]["agent_cost"] == sum(c.logged_in for c in cells) * rate
    parts = ("agent_cost", "telecom_cost", "dial_cost", "verification_fees")
    for figures in (result.overall, *result.by_type.values(), *result.by_tier.values(),
                    *result.by_interval.values()):
        assert all(figures[p] >= 0 for p in parts), figures
        assert math.isclose(figures["total_cost"], sum(figures[p] for p in parts),
                            rel_tol=1e-12, abs_tol=1e-9)
        assert math.isclose(figures["net_value"], figures["revenue"] - figures["total_cost"]
                            - figures.get("fraud_loss", 0.0) - figures["value_lost"],
                            rel_tol=1e-12, abs_tol=1e-6)


def runnable(scenario: Any) -> bool:
    """Whether one replication is cheap enough for a fuzz example."""
    agents = sum(max(n for _, n in group.on_duty(scenario.run.interval,
                                                 round(86400 / scenario.run.interval)))
                 for group in scenario.agents.values())
    population = scenario.customers.population if scenario.customers is not None else 0
    return (scenario.expected_events() <= MAX_EVENTS_TO_RUN and agents <= MAX_AGENTS_TO_RUN
            and population <= MAX_POPULATION_TO_RUN)


# ============================================================================= tests
@FUZZ_SETTINGS
@given(data=valid_scenarios())
def test_valid_scenarios_validate_run_and_keep_their_invariants(data: dict[str, Any]) -> None:
    try:
        scenario = scenario_from_dict(copy.deepcopy(data))
    except ScenarioError as error:
        check_problems(error, data)
        raise AssertionError(f"a valid scenario was rejected:\n{error}") from None
    assert runnable(scenario)
    run_and_check(scenario, data)


@FUZZ_SETTINGS
@given(data=mutated_scenarios())
def test_mutated_scenarios_fail_clearly_or_run_correctly(data: dict[str, Any]) -> None:
    try:
        scenario = scenario_from_dict(copy.deepcopy(data))
    except ScenarioError as error:
        check_problems(error, data)
        return
    if runnable(scenario):
        run_and_check(scenario, data)


def nodes(node: Any) -> Iterator[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from nodes(child)


def features(data: dict[str, Any]) -> set[str]:
    """What one scenario dict uses: top-level blocks, policy, strategies, per-type and
    per-group features."""
    used = {f"block:{key}" for key in data}
    used.add(f"policy:{data['routing']['policy']}")
    used |= {f"params:{key}" for key in data["routing"] if key != "policy"}
    verification = data.get("identity", {}).get("verification", {})
    strategies = verification.get("strategy", [])
    used |= {f"strategy:{s}" for s in ([strategies] if isinstance(strategies, str)
                                       else strategies)}
    used |= {f"method:{m}" for m in data.get("identity", {}).get("methods", {})}
    used |= {f"outbound:{s}" for s in data.get("outbound", {}).get("strategies", [])}
    used |= {f"type:{key}" for t in data["contact_types"].values() for key in t}
    used |= {f"group:{key}" for g in data["agents"].values() if isinstance(g, dict)
             for key in g}
    used |= {"agents:roster"} if "roster" in data["agents"] else set()
    used |= {f"dist:{node['dist']}" for node in nodes(data)
             if isinstance(node, dict) and isinstance(node.get("dist"), str)}
    used.add(f"run:{'duration' if 'duration' in data['run'] else 'arrivals'}")
    used |= {f"run:{key}" for key in data["run"] if key == "start_weekday"}
    used |= {f"arrivals:{key}" for t in data["contact_types"].values()
             for key in t["arrivals"] if "weekday" in key}
    used |= {f"shift:{key}" for g in data["agents"].values() if isinstance(g, dict)
             for shift in g.get("shifts", []) for key in shift if key == "days"}
    return used


def test_the_strategies_cover_every_feature() -> None:
    """The valid strategy reaches every top-level block, every registered routing policy,
    verification and outbound strategy, and every per-type and per-group feature (a guard
    against a layer that silently stops being drawn)."""
    from policies import registered_policies

    seen: set[str] = set()

    # Hypothesis also draws constants it finds in the project's modules, so the derandomized
    # examples move with any change of the code: 150 once missed fraud_desk (1 in 7 of the
    # scenarios with customers), 300 once missed shift:days (after transfers were added);
    # 400 leave a margin.
    @settings(max_examples=400, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=valid_scenarios())
    def collect(data: dict[str, Any]) -> None:
        seen.update(features(data))

    collect()
    expected = {f"block:{key}" for key in TOP_LEVEL if key != "description"}
    expected |= {f"policy:{name}" for name in registered_policies()}
    expected |= {f"params:{name}" for name in registered_policies() if name != "fcfs"}
    expected |= {f"strategy:{s}" for s in ("kba_all", "passive_stepup", "biometric")}
    expected |= {f"method:{m}" for m in METHOD_NAMES}
    expected |= {"outbound:fixed_time", "outbound:predicted_best_time"}
    expected |= {f"type:{key}" for key in ("arrivals", "handle_time", "patience", "wrap_up",
                                           "channel", "retrial", "callback", "journey",
                                           "transfer")}
    expected |= {f"group:{key}" for key in ("count", "staffing", "shifts", "speed",
                                            "capacity", "mobile", "owns", "intent_levels",
                                            "languages", "dialects", "breaks",
                                            "meetings", "absenteeism", "aux", "learning")}
    expected.add("agents:roster")
    expected |= {f"dist:{d}" for d in ("exponential", "constant", "uniform", "erlang", "gamma",
                                       "lognormal", "weibull", "empirical", "mixture")}
    expected |= {"run:duration", "run:arrivals", "run:start_weekday", "arrivals:weekdays",
                 "arrivals:rates_by_weekday", "group:staffing_by_weekday", "shift:days"}
    assert expected <= seen, sorted(expected - seen)


# ==================================================== bugs the fuzzing found (reported)
def _plain(**changes: Any) -> dict[str, Any]:
    """One type, one group of two agents, fcfs; ``changes`` replace top-level keys."""
    data: dict[str, Any] = {
        "name": "found", "run": {"arrivals": 20, "seed": 1},
        "contact_types": {"calls": {"arrivals": {"rate": "60/h"},
                                    "handle_time": {"dist": "constant", "value": "60s"}}},
        "agents": {"team": {"count": 2, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"},
    }
    return data | changes


CUSTOMERS = {"population": 100, "tiers": {"standard": 0.5, "vip": 0.5},
             "languages": {"en": 1.0}, "value": {"mean": 100}}
TWO_TYPES = {"a": {"arrivals": {"rate": "60/h"},
                   "handle_time": {"dist": "constant", "value": "60s"}},
             "b": {"arrivals": {"rate": "60/h"},
                   "handle_time": {"dist": "constant", "value": "60s"}}}


def _ends_or_is_rejected(data: dict[str, Any], budget: float) -> None:
    """Either validation rejects ``data`` naming a field, or one replication ends within
    ``budget`` seconds (a run by arrivals ends empty)."""
    try:
        scenario = scenario_from_dict(data)
    except ScenarioError as error:
        check_problems(error, data)
        return
    with time_limit(budget):
        result = Simulation(scenario, scenario.routing.policy, 0).run()
    if scenario.run.arrivals is not None:
        assert result.overall["in_queue_at_end"] == 0


def test_run_by_arrivals_with_mobile_agents_ends_empty() -> None:
    data = _plain(run={"arrivals": 50, "seed": 20}, contact_types={"calls": {
        "arrivals": {"rate": "240/h"}, "handle_time": {"dist": "constant", "value": "300s"},
        "patience": {"dist": "constant", "value": "200s"}}},
        agents={"advisers": {"count": 2, "skills": ["calls"], "mobile": {
            "ring": {"dist": "exponential", "mean": "10s"}, "answer": 0.5}}})
    result = Simulation(scenario_from_dict(data), "fcfs", 0).run()
    assert result.overall["arrivals"] == 50
    assert result.overall["in_queue_at_end"] == 0


def test_mobile_agent_ringing_zero_seconds_unanswered_does_not_hang() -> None:
    _ends_or_is_rejected(_plain(run={"duration": "1h", "seed": 1}, agents={"team": {
        "count": 2, "skills": ["calls"],
        "mobile": {"ring": {"dist": "constant", "value": "0s"}, "answer": 0.0}}}), 2.0)


UNDRAINED = {
    "mobile agents that never answer": _plain(agents={"team": {
        "count": 2, "skills": ["calls"],
        "mobile": {"ring": {"dist": "constant", "value": "10s"}, "answer": 0.0}}}),
    "deferrable work capped at 0": _plain(
        contact_types={"mail": {"channel": "email", "arrivals": {"rate": "60/h"},
                                "handle_time": {"dist": "constant", "value": "60s"}}},
        agents={"team": {"count": 2, "skills": ["mail"]}},
        channels={"email": {"deferrable": True}}, blending={"deferrable_max_share": 0.0}),
    "fraud_desk: the desk is the only group for a type": _plain(
        contact_types=TWO_TYPES, customers=CUSTOMERS,
        agents={"desk": {"count": 2, "skills": ["a"]}, "team": {"count": 2, "skills": ["b"]}},
        routing={"policy": "fraud_desk", "fraud_desk": {"desk": "desk"}}),
    "vip: the team is the only group for a type and does not help": _plain(
        contact_types=TWO_TYPES, customers=CUSTOMERS,
        agents={"team": {"count": 2, "skills": ["a"]}, "rest": {"count": 2, "skills": ["b"]}},
        routing={"policy": "vip", "vip": {"team": "team", "team_helps": False,
                                          "overflow_after": None}}),
    "outcomes never resolved, with repeats": _plain(
        run={"arrivals": 7, "seed": 2}, outcomes={
            "resolution_at_lowest": 0.0, "resolution_at_highest": 0.0,
            "repeat_after": {"dist": "exponential", "mean": "600s"}}),
    "contextual: every agent is mobile": _plain(
        run={"arrivals": 113, "seed": 0, "interval": "6h"},
        agents={"team": {"count": 2, "skills": ["calls"], "mobile": {
            "ring": {"dist": "constant", "value": "9s"}, "answer": 0.5}}},
        routing={"policy": "contextual"}),
}


def test_a_contact_back_from_an_unanswered_ring_keeps_its_place_in_the_waiting_room() -> None:
    # Found by the fuzz harness: a ringing contact counts in the queue, so one rung at
    # arrival can fill the room; another back unanswered then found it full and was blocked
    # after having queued (p_wait above 1).
    data = _plain(run={"duration": "3h", "seed": 4}, contact_types={"calls": {
        "arrivals": {"rate": "300/h"}, "handle_time": {"dist": "exponential", "mean": "90s"},
        "patience": {"dist": "exponential", "mean": "120s"}}},
        agents={"team": {"count": 3, "skills": ["calls"], "mobile": {
            "ring": {"dist": "constant", "value": "20s"}, "answer": 0.5}}},
        waiting_room={"capacity": 1}, routing={"policy": "contextual"})
    sim = Simulation(scenario_from_dict(data), "contextual", 0)
    hold, back_and_blocked, returns = sim.hold, [], []

    def watched(contact: Any, now: float) -> None:
        ringing = contact.status == RINGING
        returns.append(ringing)
        hold(contact, now)
        if ringing and contact.status == BLOCKED:
            back_and_blocked.append(contact)

    sim.hold = watched
    overall = sim.run().overall
    assert sum(returns) > 50 and overall["blocked"] > 0  # rings came back to a full room
    assert back_and_blocked == [] and overall["p_wait"] <= 1.0


@pytest.mark.parametrize("data", list(UNDRAINED.values()), ids=list(UNDRAINED))
def test_runs_by_arrivals_that_cannot_drain_end(data: dict[str, Any]) -> None:
    _ends_or_is_rejected(copy.deepcopy(data), 2.0)


@pytest.mark.slow
def test_a_storm_of_retrials_ends_or_is_rejected_within_20_s() -> None:
    _ends_or_is_rejected(_plain(
        run={"duration": "8h", "seed": 1},
        contact_types={"calls": {
            "arrivals": {"rate": "120/h"}, "handle_time": {"dist": "constant", "value": "600s"},
            "patience": {"dist": "constant", "value": "0s"},
            "retrial": {"probability": 1.0, "delay": {"dist": "constant", "value": "1ms"}}}}),
        20.0)


def test_a_huge_speed_at_lowest_is_rejected(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    path = tmp_path / "speed.yaml"
    path.write_text(
        "name: speed\nrun: {duration: 1h, seed: 1}\ncontact_types:\n  calls:\n"
        "    arrivals: {rate: 60/h}\n    handle_time: {dist: exponential, mean: 3min}\n"
        "agents:\n  team: {count: 2, skills: [calls]}\nrouting: {policy: fcfs}\n"
        "proficiency: {lowest: 1, highest: 10, speed_at_lowest: 1e20}\n")
    assert main(["run", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:10: proficiency.speed_at_lowest: ")


def test_a_wrong_strategy_gives_one_line_naming_the_field() -> None:
    data = _plain(customers=CUSTOMERS, identity={
        "ivr_time": {"dist": "constant", "value": "10s"},
        "intents": {"balance": {"share": 1.0, "risk": "low"}}, "methods": {},
        "verification": {"strategy": 5}, "agent_cost_per_hour": 0, "loss_per_fraud": 0})
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].strip().startswith("identity.verification.strategy: ")


@pytest.mark.parametrize("hours", [[8], []], ids=["one", "none"])
def test_a_short_hours_list_says_what_is_allowed(hours: list[int]) -> None:
    data = _plain(run={"duration": "2h", "seed": 1}, customers=CUSTOMERS, outbound={
        "strategies": ["fixed_time"], "groups": ["team"], "max_share": 1.0,
        "campaigns": {"reminder": {"trigger": "list", "per_day": 10, "channels": ["voice"],
                                   "hours": hours,
                                   "handle_time": {"dist": "constant", "value": "60s"}}}})
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    [problem] = info.value.problems
    assert problem.strip().startswith("outbound.campaigns.reminder.hours: ")
    assert "allowed" in problem and "missing required key" not in problem


def test_a_huge_value_is_not_quoted_in_full() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_plain(run={"duration": "2h", "interval": "x" * 10_000}))
    [problem] = info.value.problems
    assert problem.strip().startswith("run.interval: ") and len(problem) < 500
