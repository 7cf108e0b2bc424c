"""The ``workflow`` policy (issue 16, items 2 and 3): workflows configured in YAML.

* Equivalence: workflow configurations of ``bullseye``, ``skills`` and ``vip`` serve every
  contact exactly as those policies do (same agent, same wait) on the same seed, and
  every ``acd`` strategy with penalties that widen is the same ``order_by`` over steps.
* The rings example per type: [VIP desk at 0 s, everyone at 20 s] for VIPs only no
  longer holds general calls (their ASA equals fcfs's within the CI of the paired
  difference) while the VIP desk still answers VIPs first.
* The expression language: what it accepts, what it computes, and errors that name the
  filter, the step and the token, through the scenario's normal error path.
"""

from __future__ import annotations

import copy
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from scipy import stats
from test_acd import CENTER, STRATEGIES

import sim
from policies import make_policy
from policies.expressions import Attribute, ExpressionError, compile_expression
from sim.errors import ScenarioError

pytestmark = pytest.mark.filterwarnings("ignore::sim.errors.FewReplicationsWarning")

ROOT = Path(__file__).resolve().parents[1]

BULLSEYE_DEFAULT_RINGS = {"filters": [{"steps": [
    {"targets": "level >= 8", "timeout": "30s"},
    {"targets": "level >= 5", "timeout": "30s"},
    {}]}]}
"""bullseye's default rings: level 8+ at once, 5+ after 30 s, every skilled agent after 60 s."""
SKILLS_BEST = {"pick": "best_skill", "filters": [{"steps": [{"order_by": "best_skill"}]}]}
"""skills with mode best_proficiency and pick best_skill (bank_vip's configuration)."""
VIP_TEAM = {"filters": [
    {"name": "vip", "when": "tier == 'vip'", "priority": 1, "head_start": "90s",
     "steps": [{"targets": "group == 'vip_team'", "timeout": "10s", "priority": 1}, {}]},
    {"name": "others", "steps": [{"targets": "group != 'vip_team'", "timeout": "0s"}, {}]}]}
"""vip with tiers {vip: priority 1, head start 90 s}, team vip_team, overflow after 10 s and
team_helps (bank_vip's configuration): the team is the VIPs' first step and everyone else's
last resort, and a team agent takes VIPs first (step priority 1)."""


def rows_by_policy(data: dict[str, Any], policies: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every contact's row per policy, without the policy's name."""
    result = sim.run(sim.scenario_from_dict(data), policies, contacts=True, progress=False)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in policies}
    for row in result.contacts or ():
        rows[row["policy"]].append({k: v for k, v in row.items() if k != "policy"})
    return rows


def bank_vip(workflow: dict[str, Any]) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "scenarios" / "bank_vip.yaml").read_text())
    data["run"]["replications"] = 1
    data["routing"]["workflow"] = workflow
    return data


@pytest.mark.parametrize("policy, workflow", [
    ("bullseye", BULLSEYE_DEFAULT_RINGS), ("skills", SKILLS_BEST), ("vip", VIP_TEAM)])
def test_workflow_configurations_serve_every_contact_as_the_policy_does(
        policy: str, workflow: dict[str, Any]) -> None:
    rows = rows_by_policy(bank_vip(workflow), [policy, "workflow"])
    assert len(rows[policy]) > 6000
    # Same agent, same wait, same outcome for every contact (a day of bank_vip).
    assert rows["workflow"] == rows[policy]


def test_workflow_configurations_of_the_contract_policies_are_the_same() -> None:
    """The contract scenario's bullseye (a group ring, everyone at 20 s), skills (a minimum
    level for one type) and vip (team with overflow after 30 s, default tiers)."""
    from conftest import contract_scenario_data

    data = contract_scenario_data()
    data["run"]["replications"] = 1
    configurations = {
        "bullseye": {"filters": [{"steps": [
            {"targets": "group == 'generalists'", "timeout": "20s"}, {}]}]},
        "skills": {"pick": "best_skill", "filters": [
            {"when": "type == 'vip'", "steps": [{"targets": "level >= 5",
                                                  "order_by": "best_skill"}]},
            {"steps": [{"order_by": "best_skill"}]}]},
        "vip": {"filters": [
            {"when": "tier == 'vip'", "priority": 1,
             "steps": [{"targets": "group == 'vip_desk'", "timeout": "30s", "priority": 1}, {}]},
            {"steps": [{"targets": "group != 'vip_desk'", "timeout": "0s"}, {}]}]},
    }
    for policy, workflow in configurations.items():
        data["routing"]["workflow"] = workflow
        rows = rows_by_policy(data, [policy, "workflow"])
        assert rows["workflow"] == rows[policy], policy


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_acd_strategy_is_an_order_by_over_widening_steps(strategy: str) -> None:
    """acd with the second group at penalty 1, reached after 20 s, is a workflow whose
    first step is the first group for 20 s: the same rows, for every strategy."""
    data = copy.deepcopy(CENTER)
    data["routing"]["acd"] = {"strategy": strategy, "penalties": {"second": 1},
                              "max_penalty": 0,
                              "raise_penalty": [{"after": "20s", "max_penalty": 1}]}
    data["routing"]["workflow"] = {"filters": [{"steps": [
        {"targets": "group == 'first'", "timeout": "20s", "order_by": strategy},
        {"order_by": strategy}]}]}
    rows = rows_by_policy(data, ["acd", "workflow"])
    assert rows["workflow"] == rows["acd"]
    assert any(row["agent_group"] == "second" for row in rows["acd"])


def test_the_new_orderings_spread_work_as_they_say() -> None:
    """least_occupied and round_robin even out the contacts per agent that linear piles on
    the first agents; best_skill gives arriving contacts to the highest level."""
    data = copy.deepcopy(CENTER)
    data["run"]["duration"] = "8h"

    def taken(order_by: str) -> Counter[int]:
        data["routing"]["workflow"] = {"filters": [{"steps": [{"order_by": order_by}]}]}
        rows = rows_by_policy(data, ["workflow"])["workflow"]
        return Counter(row["agent_id"] for row in rows if row["outcome"] == "answered")

    spread = {name: max(c.values()) - min(c.values()) for name, c in (
        (name, taken(name)) for name in ("linear", "round_robin", "least_occupied"))}
    assert spread["round_robin"] < spread["linear"]
    assert spread["least_occupied"] < spread["linear"]


def test_without_filters_it_is_fcfs_and_pays_for_no_hooks() -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    data["run"]["replications"] = 1
    rows = rows_by_policy(data, ["fcfs", "workflow"])
    assert rows["workflow"] == rows["fcfs"]
    # No recheck or observe hook unless a step waits or an ordering counts handle time:
    # the engine installs its feedback stage only for policies that have them.
    plain = make_policy("workflow", sim.scenario_from_dict(data))
    assert not hasattr(plain, "recheck_after") and not hasattr(plain, "observe")
    data["routing"]["workflow"] = {"filters": [{"steps": [
        {"targets": "group == 'vip_desk'", "timeout": "10s"}, {"order_by": "least_occupied"}]}]}
    widening = make_policy("workflow", sim.scenario_from_dict(data))
    assert hasattr(widening, "recheck_after") and hasattr(widening, "observe")


# ------------------------------------------------------------------ the rings example
def test_rings_per_type_no_longer_hold_general_calls() -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    data["run"]["replications"] = 10
    data["routing"]["bullseye"] = {"rings": [{"after": "0s", "groups": ["vip_desk"]},
                                             {"after": "20s"}]}
    data["routing"]["workflow"] = {"filters": [{"when": "type == 'vip'", "steps": [
        {"targets": "group == 'vip_desk'", "timeout": "20s", "priority": 1}, {}]}]}
    policies = ["fcfs", "bullseye", "workflow"]
    result = sim.run(sim.scenario_from_dict(data), policies, contacts=True, progress=False)
    asa: dict[str, list[float]] = {name: [] for name in policies}
    for record in result.records():
        if (record["scope"], record["key"], record["metric"]) == ("type", "general", "asa_s"):
            asa[record["policy"]].append(record["value"])
    # Within the CI ccsim reports for fcfs over the replications.
    fcfs = result.summary("type")["fcfs"]["general"]["asa_s"]
    workflow = result.summary("type")["workflow"]["general"]["asa_s"]
    assert fcfs.low <= workflow.mean <= fcfs.high, (workflow.mean, fcfs)
    # Paired on the same contacts the difference is measurable but small and in the callers'
    # favour (VIPs keep to their desk a little longer, generalists answer general calls):
    # nobody is held. Its upper bound stays below one second.
    difference = [w - f for w, f in zip(asa["workflow"], asa["fcfs"], strict=True)]
    assert _t_interval(difference)[1] < 1.0, _t_interval(difference)
    # Rings for every type held general calls near the 20 s ring (the finding).
    held = [b - f for b, f in zip(asa["bullseye"], asa["fcfs"], strict=True)]
    assert _t_interval(held)[0] > 10.0
    # The VIP desk still answers VIPs first: far more of them than under fcfs.
    by_desk = {name: [0, 0] for name in policies}
    for row in result.contacts or ():
        if row["type"] == "vip" and row["outcome"] == "answered":
            by_desk[row["policy"]][0] += row["agent_group"] == "vip_desk"
            by_desk[row["policy"]][1] += 1
    share = {name: desk / answered for name, (desk, answered) in by_desk.items()}
    assert share["workflow"] > 2 * share["fcfs"], share


def _t_interval(values: list[float]) -> tuple[float, float]:
    """The 95% t interval of the mean of ``values``."""
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    half = stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))
    return mean - half, mean + half


# ------------------------------------------------------------------ expressions
NAMES = {
    "tier": Attribute("text", lambda x, _: x.get("tier"), ""),
    "value": Attribute("number", lambda x, _: x.get("value"), ""),
    "repeat": Attribute("flag", lambda x, _: x.get("repeat", False), ""),
    "languages": Attribute("set", lambda x, _: x.get("languages", ()), ""),
    "level": Attribute("number", lambda _, level: level, ""),
}


@pytest.mark.parametrize("text, subject, level, expected", [
    ("tier == 'vip'", {"tier": "vip"}, 0, True),
    ("tier == \"vip\"", {"tier": "gold"}, 0, False),
    ("tier != 'vip'", {}, 0, True),
    ("tier == 'vip' AND level >= 8", {"tier": "vip"}, 8.0, True),
    ("tier == 'vip' and level >= 8", {"tier": "vip"}, 7.9, False),
    ("tier in ['vip', 'gold'] or repeat", {"tier": "std", "repeat": True}, 0, True),
    ("tier not in ['vip', 'gold']", {"tier": "std"}, 0, True),
    ("not (tier == 'vip' or value > 1e4)", {"tier": "std", "value": 20000.0}, 0, False),
    ("value > 100 and value <= 2.5e3", {"value": 2500.0}, 0, True),
    ("value < 100", {}, 0, False),  # an unknown value compares false, never raises
    ("languages has 'es'", {"languages": ("en", "es")}, 0, True),
    ("'de' in languages", {"languages": ("en", "es")}, 0, False),
    ("'de' not in languages", {"languages": ("en",)}, 0, True),
    ("repeat == false", {}, 0, True),
    ("level > value", {"value": 3.0}, 4.0, True),
])
def test_expressions_compute(text: str, subject: dict[str, Any], level: float,
                             expected: bool) -> None:
    assert compile_expression(text, NAMES, {"tier": {"vip", "gold", "std"}})(
        subject, level) is expected


@pytest.mark.parametrize("text, token, says", [
    ("tier == 'vp'", "'vp'", "not a known tier; allowed: gold, std, vip"),
    ("levle >= 8", "levle", "not a name here; allowed: languages, level, repeat, tier, value"),
    ("level == 'high'", "==", "compares a number with a text"),
    ("tier < 'vip'", "<", "orders texts"),
    ("tier", "tier", "not a condition"),
    ("level >= ", "end of expression", "where a value belongs"),
    ("tier == 'vip", "'vip", "an unclosed quote"),
    ("__import__('os') == 1", "__import__", "not a name here"),
    ("value.real > 1", ".", "a character the language lacks"),
    ("tier == 'vip'; 1", ";", "a character the language lacks"),
    ("level >= 8 level", "level", "after a complete expression"),
    ("tier in ['vip', 3]", "3", "in a list of texts"),
    ("(level > 1", "end of expression", "where ')' belongs"),
    ("'x' in tier", "tier", "not a set"),
])
def test_expression_errors_name_the_token(text: str, token: str, says: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(says)) as caught:
        compile_expression(text, NAMES, {"tier": {"vip", "gold", "std"}})
    assert caught.value.token == token


def test_expressions_are_never_handed_to_python() -> None:
    source = (ROOT / "policies" / "expressions.py").read_text()
    for word in ("eval(", "exec(", "import ast", "__import__", "builtins"):
        assert word not in source


# ------------------------------------------------------------------ scenario errors
@pytest.mark.parametrize("workflow, message", [
    ({"filters": [{"steps": [{"targets": "group == 'first'", "timeout": "20s"},
                             {"targets": "grup == 'second'"}]}]},
     "routing.workflow.filters.0.steps.1.targets: filter 1, step 2: 'grup' is not a name"),
    ({"filters": [{"name": "vips", "when": "tier == 'vip'"}]},
     "routing.workflow.filters.0.when: filter vips: 'vip' is not a known tier; allowed: "
     "(none)"),
    ({"filters": [{"steps": [{"targets": "group == 'thrid'", "timeout": "5s"}, {}]}]},
     "steps.0.targets: filter 1, step 1: 'thrid' is not a known group; allowed: first, second"),
    ({"filters": [{"steps": [{"targets": "group == 'first'"}, {}]}]},
     "routing.workflow.filters.0.steps.0.timeout: filter 1, step 1 has no timeout"),
    ({"filters": [{"steps": [{"timeout": "10s"}]}]},
     "steps.0.timeout: filter 1, step 1 is the last step"),
    ({"filters": [{"steps": [{}]}, {"when": "type == 'calls'"}]},
     "routing.workflow.filters.0.when: filter 1 has no 'when'"),
    ({"filters": [{"steps": [{"order_by": "roundrobin"}]}]},
     "routing.workflow.filters.0.steps.0.order_by"),
    ({"order": ["third"]}, "routing.workflow.order: unknown agent group 'third'"),
])
def test_bad_workflows_name_the_field_step_and_token(workflow: dict[str, Any],
                                                     message: str) -> None:
    data = copy.deepcopy(CENTER)
    data["routing"]["workflow"] = workflow
    with pytest.raises(ScenarioError) as caught:
        sim.scenario_from_dict(data)
    assert message in str(caught.value)


def test_a_bad_workflow_in_a_file_names_the_file_and_line(tmp_path: Path) -> None:
    data = copy.deepcopy(CENTER)
    data["routing"]["workflow"] = {"filters": [{"steps": [{"targets": "level >> 3"}]}]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as caught:
        sim.load_scenario(path)
    text = str(caught.value)
    assert "bad.yaml:" in text and "filter 1, step 1: '>'" in text, text
