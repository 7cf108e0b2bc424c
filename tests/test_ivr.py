"""IVR menu trees (``ivr:`` block, ``sim.stages.ivr``): path probabilities equal the
products of shares, hang-up and self-service rates, conservation, IVR minutes against
the expected sum of prompt times, routed contacts drawn from their leaf type, common
random numbers across policies, leaves that set identity intents, and validation errors.

Theory is computed here from the menu dict itself (independently of the engine's
compiled tree). Tolerances: a chi-square test at level 1e-4 for the path frequencies,
and z = 4.5 standard errors (two-sided 7e-6) for means and shares. Seeds are fixed.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from invariant_checks import check_accounting
from scipy import stats

from sim import ScenarioError, Simulation, run, scenario_from_dict
from sim.model.scenario import load_scenario, parse_scenario
from sim.stages.ivr import IvrMenuStage

ROOT = Path(__file__).resolve().parents[1]
Z = 4.5
CHI_SQUARE_LEVEL = 1e-4

MENU: dict[str, Any] = {
    "prompt": {"dist": "constant", "value": "10s"},
    "hang_up": 0.05,
    "choices": {
        "a": {"share": 0.5, "prompt": {"dist": "exponential", "mean": "20s"},
              "self_service": 0.6, "type": "general"},
        "b": {"share": 0.3, "prompt": {"dist": "uniform", "low": "0s", "high": "30s"},
              "hang_up": 0.1, "self_service": 0.2, "choices": {
                  "b1": {"share": 0.25, "prompt": {"dist": "constant", "value": "5s"},
                         "type": "urgent"},
                  "b2": {"share": 0.75, "prompt": {"dist": "exponential", "mean": "8s"},
                         "self_service": 0.3, "hang_up": 0.02, "type": "general"}}},
        "c": {"share": 0.2, "prompt": {"dist": "constant", "value": "15s"}, "type": "urgent"},
    },
}
URGENT_HANDLE_MEAN, URGENT_HANDLE_CV = 200.0, 0.5


def _data(arrivals: int | None = 40_000, **run_keys: Any) -> dict[str, Any]:
    """Menu callers (general) and a direct line (urgent); enough agents that few wait."""
    run_settings: dict[str, Any] = {"seed": 16, **run_keys}
    if arrivals is not None:
        run_settings["arrivals"] = arrivals
    return {
        "name": "ivr-test",
        "run": run_settings,
        "contact_types": {
            "general": {"arrivals": {"rate": "600/h"},
                        "handle_time": {"dist": "exponential", "mean": "60s"},
                        "patience": {"dist": "exponential", "mean": "2min"}},
            "urgent": {"arrivals": {"rate": "30/h"},
                       "handle_time": {"dist": "lognormal", "mean": f"{URGENT_HANDLE_MEAN}s",
                                       "cv": URGENT_HANDLE_CV},
                       "patience": {"dist": "exponential", "mean": "5min"}},
        },
        "agents": {"team": {"count": 30, "skills": ["general", "urgent"]}},
        "routing": {"policy": "fcfs",
                    "priority": {"classes": {"urgent": {"priority": 5}}}},
        "ivr": {"entry": ["general"], "menu": copy.deepcopy(MENU)},
    }


# ------------------------------------------------------------------- theory from the dict
def _mean_seconds(dist: dict[str, Any]) -> float:
    def seconds(text: str) -> float:
        return float(text.removesuffix("s"))

    if dist["dist"] == "constant":
        return seconds(dist["value"])
    if dist["dist"] == "exponential":
        return seconds(dist["mean"])
    assert dist["dist"] == "uniform"
    return (seconds(dist["low"]) + seconds(dist["high"])) / 2


def _outcomes(node: dict[str, Any], reach: float = 1.0, path: str = "",
              into: dict[str, float] | None = None) -> dict[str, float]:
    """Probability of each way out of the menu: hang_up, self_service, or a leaf's path."""
    into = into if into is not None else {"hang_up": 0.0, "self_service": 0.0}
    hang_up, self_service = node.get("hang_up", 0.0), node.get("self_service", 0.0)
    into["hang_up"] += reach * hang_up
    into["self_service"] += reach * (1 - hang_up) * self_service
    going_on = reach * (1 - hang_up) * (1 - self_service)
    if "choices" not in node:
        into[path] = going_on
        return into
    for name, child in node["choices"].items():
        _outcomes(child, going_on * child["share"], f"{path}/{name}".lstrip("/"), into)
    return into


def _expected_seconds(node: dict[str, Any]) -> float:
    """Expected menu time of a caller: each node's mean prompt times the chance to hear it."""
    going_on = (1 - node.get("hang_up", 0.0)) * (1 - node.get("self_service", 0.0))
    return _mean_seconds(node["prompt"]) + going_on * sum(
        child["share"] * _expected_seconds(child) for child in node.get("choices", {}).values())


def test_theory_of_the_test_menu_sums_to_one() -> None:
    # Guards the helpers themselves: every caller leaves the menu one way.
    assert math.isclose(sum(_outcomes(MENU).values()), 1.0)
    assert math.isclose(_expected_seconds(MENU), 10 + 0.95 * (
        0.5 * 20 + 0.3 * (15 + 0.9 * 0.8 * (0.25 * 5 + 0.75 * 8)) + 0.2 * 15))


# ------------------------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def long_run() -> Any:
    scenario = scenario_from_dict(_data())
    return scenario, Simulation(scenario, "fcfs").run()


def test_paths_hang_ups_and_self_service_follow_the_products_of_shares(long_run: Any) -> None:
    _, result = long_run
    f = result.overall
    expected = _outcomes(MENU)
    observed = {"hang_up": f["ivr_hang_ups"], "self_service": f["ivr_self_served"]} | {
        path: f[f"ivr_leaf/{path}"] for path in expected if path not in ("hang_up", "self_service")}
    entries = f["ivr_entries"]
    assert set(observed) == set(expected) and sum(observed.values()) == entries
    names = sorted(expected)
    _, p_value = stats.chisquare([observed[n] for n in names],
                                 [expected[n] * entries for n in names])
    assert p_value > CHI_SQUARE_LEVEL, (p_value, observed, expected)
    for share, p in (("ivr_hang_up_rate", expected["hang_up"]),
                     ("ivr_self_service_rate", expected["self_service"])):
        assert abs(f[share] - p) <= Z * math.sqrt(p * (1 - p) / entries), (share, f[share], p)


def test_ivr_minutes_equal_the_expected_prompt_times_along_the_paths(long_run: Any) -> None:
    _, result = long_run
    f = result.overall
    entries = f["ivr_entries"]
    # The standard error of the mean menu time, from each path's exact time distribution,
    # is bounded by the largest one: the prompts' standard deviations add up along a path
    # (exponential 20 s; uniform 30 s: 8.7 s; exponential 8 s) and paths differ by < 40 s.
    bound = (20 + 8.7 + 8) + 40
    expected = _expected_seconds(MENU)
    assert abs(f["ivr_s_per_entry"] - expected) <= Z * bound / math.sqrt(entries), (
        f["ivr_s_per_entry"], expected)
    assert f["ivr_minutes"] == pytest.approx(f["ivr_s_per_entry"] * entries / 60)


def test_routed_callers_queue_as_their_leaf_type_with_its_work(long_run: Any) -> None:
    _, result = long_run
    urgent = result.by_type["urgent"]
    assert urgent["ivr_routed"] == result.overall["ivr_leaf/b/b1"] + result.overall["ivr_leaf/c"]
    assert urgent["ivr_hang_ups"] == urgent["ivr_self_served"] == 0  # counted at the entry
    # Routed and direct urgent contacts alike take urgent's handle time (general's is 60 s).
    handled = urgent["handled"]
    standard_error = URGENT_HANDLE_MEAN * URGENT_HANDLE_CV / math.sqrt(handled)
    assert abs(urgent["aht_s"] - URGENT_HANDLE_MEAN) <= Z * standard_error, urgent["aht_s"]


def test_every_arrival_is_accounted_for(long_run: Any) -> None:
    scenario, result = long_run
    check_accounting(result, scenario)  # drains: a run by arrivals ends empty
    for scope, f in [("overall", result.overall), *result.by_type.items()]:
        unqueued = f["ivr_hang_ups"] + f["ivr_self_served"] + f["ivr_in_menu_at_end"]
        assert f["arrivals"] == unqueued + f["offered"] + f["blocked"], scope
        assert f["offered"] == f["answered"] + f["abandoned"] + f["in_queue_at_end"], scope
        assert f["ivr_entries"] == unqueued + f["ivr_routed"], scope
    assert result.overall["arrivals"] == 40_000


def test_callers_still_in_the_menu_at_the_end_are_counted() -> None:
    scenario = scenario_from_dict(_data(arrivals=None, duration="2h", warmup="10min"))
    result = Simulation(scenario, "fcfs").run()
    assert result.overall["ivr_in_menu_at_end"] > 0
    check_accounting(result, scenario, drains=False)


@pytest.mark.filterwarnings("ignore::sim.FewReplicationsWarning")
def test_paths_and_menu_time_are_the_same_under_every_policy() -> None:
    data = _data(arrivals=None, duration="6h")
    data["agents"]["team"]["count"] = 9  # busy enough that the policies order the queue
    results = run(scenario_from_dict(data), ["fcfs", "priority"], replications=2,
                  contacts=True, progress=False)
    rows: dict[str, dict[tuple[int, int], tuple[Any, ...]]] = {"fcfs": {}, "priority": {}}
    waits: dict[str, dict[tuple[int, int], float]] = {"fcfs": {}, "priority": {}}
    for row in results.contacts:
        key = (row["replication"], row["contact_id"])
        menu_end = row["outcome"].startswith("ivr_") or row["outcome"] == "in_ivr_menu_at_end"
        # Queue entry (arrival_s after the menu) and type, or how and when the menu ended.
        rows[row["policy"]][key] = (row["type"], row["arrival_s"],
                                    row["outcome"] if menu_end else "queued")
        waits[row["policy"]][key] = row["wait_s"]
    assert rows["fcfs"] == rows["priority"]
    assert waits["fcfs"] != waits["priority"]  # the policies did serve differently
    ivr = [m for m in results.summary()["fcfs"] if m.startswith("ivr_")]
    per_replication = {(r["policy"], r["replication"], r["metric"]): r["value"]
                       for r in results.records() if r["scope"] == "overall"
                       and r["metric"] in ivr}
    for replication in range(2):
        for metric in ivr:
            assert per_replication["fcfs", replication, metric] == \
                per_replication["priority", replication, metric], metric


def test_a_scenario_without_a_menu_has_no_stage_and_no_menu_figures() -> None:
    data = _data()
    del data["ivr"]
    sim = Simulation(scenario_from_dict(data), "fcfs")
    assert sim.stage(IvrMenuStage) is None
    assert not [m for m in sim.run().overall if m.startswith("ivr_")]


@pytest.mark.filterwarnings("ignore::sim.FewReplicationsWarning")
def test_leaves_set_the_intent_with_an_identity_block() -> None:
    from test_identity import _data as identity_data

    data = identity_data()
    data["run"] = {"arrivals": 6000, "seed": 3}
    for intent in data["identity"]["intents"].values():
        intent.pop("self_service", None)
    menu = {"prompt": {"dist": "constant", "value": "8s"}, "hang_up": 0.04, "choices": {
        "balance": {"share": 0.5, "prompt": {"dist": "constant", "value": "20s"},
                    "self_service": 0.7, "intent": "balance"},
        "cards": {"share": 0.2, "prompt": {"dist": "constant", "value": "5s"},
                  "intent": "card_issue"},
        "payments": {"share": 0.3, "prompt": {"dist": "constant", "value": "5s"},
                     "choices": {
                         "transfer": {"share": 0.6, "prompt": {"dist": "constant",
                                                                "value": "5s"},
                                      "intent": "wire_transfer"},
                         "new": {"share": 0.4, "prompt": {"dist": "constant", "value": "5s"},
                                 "intent": "open_account"}}}}}
    data["ivr"] = {"entry": ["calls"], "menu": menu}
    scenario = scenario_from_dict(data)
    results = run(scenario, ["fcfs"], verifications=["kba_all"], contacts=True,
                  progress=False)
    # First contacts only (a repeat keeps its first contact's caller).
    intents = Counter(row["intent"] for row in results.contacts
                      if row["intent"] is not None and row["contact_id"] <= 6000)
    expected = _outcomes(menu)
    leaf_intent = {"balance": "balance", "cards": "card_issue",
                   "payments/transfer": "wire_transfer", "payments/new": "open_account"}
    names = sorted(leaf_intent)
    counts = [intents[leaf_intent[n]] for n in names]
    total = sum(counts)
    assert total == sum(intents.values())  # every resolved caller took a leaf's intent
    going_on = sum(expected[n] for n in names)
    _, p_value = stats.chisquare(counts, [expected[n] / going_on * total for n in names])
    assert p_value > CHI_SQUARE_LEVEL, (p_value, intents)
    check_accounting(Simulation(scenario, "fcfs", verification="kba_all").run(), scenario)


def test_ivr_bank_is_a_bank_where_most_callers_finish_in_the_menu() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "ivr_bank.yaml")
    result = Simulation(scenario, "fcfs").run()
    check_accounting(result, scenario)
    f = result.overall
    # shared/domain.md: about 65% of bank callers finish in the IVR.
    assert 0.55 <= f["ivr_self_service_rate"] <= 0.70
    assert f["ivr_leaf/cards/lost_card"] > 0 and f["ivr_leaf/mortgage"] > 0


# -------------------------------------------------------------------------- bad input
def _problems(data: dict[str, Any]) -> str:
    text = yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="menu.yaml")
    return str(caught.value)


def _with_menu(change: Any) -> dict[str, Any]:
    data = _data()
    change(data["ivr"]["menu"])
    return data


@pytest.mark.parametrize("change, expected", [
    (lambda m: m["choices"]["a"].update(share=0.6),
     "ivr.menu.choices: shares sum to 1.1 (0.6 + 0.3 + 0.2); allowed: shares that sum to 1"),
    (lambda m: m["choices"]["c"].update(type="urgnet"),
     "ivr.menu.choices.c.type: unknown contact type 'urgnet'; allowed: a contact type "
     "(general, urgent)"),
    (lambda m: m["choices"]["c"].pop("type"),
     "ivr.menu.choices.c: this leaf sends callers on without saying where; allowed: type"),
    (lambda m: m["choices"]["c"].update(intent="balance"),
     "ivr.menu.choices.c.intent: an intent needs an identity block"),
    (lambda m: m["choices"]["b"].update(type="urgent"),
     "ivr.menu.choices.b.type: type is for a leaf, and this node has choices"),
    (lambda m: m["choices"]["b"]["choices"]["b1"].pop("share"),
     "ivr.menu.choices.b.choices.b1.share: missing; allowed: the share of callers"),
    (lambda m: m.update(share=1),
     "ivr.menu.share: the root has no parent to share"),
    (lambda m: m["choices"]["a"].update(hang_up=1.5),
     "ivr.menu.choices.a.hang_up: "),
])
def test_mistakes_in_the_menu_name_the_file_the_node_and_what_is_allowed(
        change: Any, expected: str) -> None:
    message = _problems(_with_menu(change))
    assert message.startswith("menu.yaml:") and expected in message, message


def _chain(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"prompt": {"dist": "constant", "value": "1s"}, "type": "general"}
    for _ in range(levels - 1):
        node = {"prompt": {"dist": "constant", "value": "1s"},
                "choices": {"next": {"share": 1, **node}}}
    return node


def test_menus_deeper_or_larger_than_the_bounds_are_refused() -> None:
    data = _data()
    data["ivr"]["menu"] = _chain(8)
    scenario_from_dict(copy.deepcopy(data))  # 8 levels are allowed
    data["ivr"]["menu"] = _chain(9)
    assert "allowed: at most 8 levels (the root is level 1)" in _problems(data)
    leaf = {"prompt": {"dist": "constant", "value": "1s"}, "type": "general"}
    wide = {"prompt": leaf["prompt"], "choices": {
        f"o{i}": {"share": 0.01, **copy.deepcopy(leaf)} for i in range(100)}}
    data["ivr"]["menu"] = {"prompt": leaf["prompt"], "choices": {
        "x": {"share": 0.5, **copy.deepcopy(wide)}, "y": {"share": 0.5, **copy.deepcopy(wide)}}}
    assert "203 nodes; allowed: at most 200 nodes in a menu" in _problems(data)


def test_a_menu_that_loops_back_is_refused_when_read() -> None:
    text = yaml.safe_dump(_data(), sort_keys=False).replace(
        "  menu:\n", "  menu: &main\n", 1).replace(
        "        type: urgent\n", "        type: urgent\n        choices: {again: *main}\n", 1)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="loop.yaml")
    assert str(caught.value).startswith("loop.yaml:")
    assert "alias *main is used inside the value it names" in str(caught.value)


def test_unknown_entries_and_identity_self_service_are_refused() -> None:
    data = _data()
    data["ivr"]["entry"] = ["genral"]
    assert ("ivr.entry.0: unknown contact type 'genral'; allowed: a contact type "
            "(general, urgent)") in _problems(data)
    from test_identity import _data as identity_data

    data = identity_data()
    data["ivr"] = {"entry": ["calls"], "menu": {
        "prompt": {"dist": "constant", "value": "5s"}, "intent": "balanse"}}
    message = _problems(data)
    assert "ivr.menu.intent: unknown intent 'balanse'; allowed: an intent under " \
        "identity.intents (balance, card_issue, wire_transfer, open_account)" in message
    assert "identity.intents.balance.self_service: 0.6 with an ivr menu, whose nodes decide " \
        "self-service; allowed: 0" in message
