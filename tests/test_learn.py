"""The learning interface (``sim.learn``): Gymnasium environments over the engine, and
trained agents as routing policies.

What must hold: both environments pass Gymnasium's ``check_env``; equal seeds and
actions give equal observations and rewards; fcfs played through the environment is
``ccsim run --policy fcfs`` to the last digit (the environment runs the same engine and
streams); rewards add up to what the contacts' trace says; bad arguments fail with
errors that say what is allowed.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.learn import fcfs_action, register_agent_policy
from sim.learn.encoding import ARRIVAL, FREED_AGENT

gymnasium = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

from sim.learn.control_env import RoutingControlEnv  # noqa: E402
from sim.learn.routing_env import RoutingEnv  # noqa: E402

# Few replications are the point of these runs (equality, not estimates).
pytestmark = pytest.mark.filterwarnings("ignore::sim.errors.FewReplicationsWarning")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

TWO_TYPES = {
    "name": "two_types",
    "run": {"duration": "3h", "replications": 2, "seed": 11, "interval": "30min"},
    "contact_types": {
        "gold": {"arrivals": {"rate": "60/h"}, "handle_time": {"dist": "exponential",
                                                               "mean": "4min"},
                 "patience": {"dist": "exponential", "mean": "5min"}},
        "basic": {"arrivals": {"rate": "240/h"}, "handle_time": {"dist": "exponential",
                                                                 "mean": "4min"},
                  "patience": {"dist": "exponential", "mean": "10min"}},
    },
    "agents": {"pool": {"count": 20, "skills": ["gold", "basic"]},
               "basic_only": {"count": 2, "skills": ["basic"]}},
    "routing": {"policy": "fcfs"},
}


def two_types(**run: object) -> sim.Scenario:
    data = copy.deepcopy(TWO_TYPES)
    data["run"].update(run)
    return sim.scenario_from_dict(data)


def play(env: gymnasium.Env, choose, seed: int | None = None, options=None):
    """One episode: (observations, rewards, final info)."""
    observation, info = env.reset(seed=seed, options=options)
    observations, rewards = [observation], []
    while True:
        observation, reward, terminated, truncated, info = env.step(choose(observation, info))
        observations.append(observation)
        rewards.append(reward)
        assert not truncated
        if terminated:
            return observations, rewards, info


def fcfs_choice(env: RoutingEnv):
    return lambda observation, info: fcfs_action(observation, env.encoder)


@pytest.fixture(autouse=True)
def _registrations_end_with_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Agent policies a test registers leave the registry with it: other tests in the same
    worker (the fuzz's coverage of every registered policy) must not meet them."""
    from policies.base import ROUTING_POLICIES

    ROUTING_POLICIES.specs()  # discover the shipped ones first, so they stay
    monkeypatch.setattr(ROUTING_POLICIES, "_specs", dict(ROUTING_POLICIES._specs))


@pytest.fixture(scope="module")
def quickstart() -> sim.Scenario:
    return sim.load_scenario(SCENARIOS / "quickstart.yaml")


# --- Gymnasium's own checks ----------------------------------------------------------------

def test_routing_env_passes_check_env():
    env = gymnasium.make("ccsim/Routing-v0", scenario=str(SCENARIOS / "quickstart.yaml"))
    check_env(env.unwrapped)


@pytest.mark.filterwarnings("ignore:.*symmetric and normalized space")  # ranges are the user's
def test_control_env_passes_check_env():
    env = gymnasium.make("ccsim/RoutingControl-v0", scenario=str(SCENARIOS / "quickstart.yaml"),
                         policy="priority", controls={"classes.vip.priority": (0, 2)})
    check_env(env.unwrapped)


# --- the same run as ccsim run --------------------------------------------------------------

@pytest.mark.parametrize("file", ["quickstart.yaml", "bank_vip.yaml", "omnichannel_bank.yaml"])
def test_fcfs_through_the_environment_is_ccsim_run_fcfs(file):
    """Tiers (bank_vip: K = 3 tier classes) and channel capacity (omnichannel) included."""
    scenario = sim.load_scenario(SCENARIOS / file)
    env = RoutingEnv(scenario)
    _, _, info = play(env, fcfs_choice(env))
    expected = sim.Simulation(scenario, "fcfs", 0).run()
    assert env.decisions > 1000
    assert info["result"].overall == expected.overall
    assert info["result"].by_type == expected.by_type
    assert info["result"].by_group == expected.by_group


def test_episodes_are_the_replications_of_ccsim_run():
    scenario = two_types()
    runs = sim.run(scenario, ["fcfs"], seed=5, replications=3, progress=False).runs["fcfs"]
    env = RoutingEnv(scenario)
    first = play(env, fcfs_choice(env), seed=5)[2]["result"]
    second = play(env, fcfs_choice(env))[2]["result"]  # no seed: the next replication
    third = play(env, fcfs_choice(env), options={"replication": 2})[2]["result"]
    assert [first.overall, second.overall, third.overall] == [r.overall for r in runs]


def test_same_seed_same_actions_same_observations_and_rewards():
    def random_valid(seed):
        rng = np.random.default_rng(seed)
        return lambda observation, info: int(rng.choice(np.flatnonzero(info["action_mask"])))

    one, two = RoutingEnv(two_types()), RoutingEnv(two_types())
    obs_one, rewards_one, _ = play(one, random_valid(3), seed=9)
    obs_two, rewards_two, _ = play(two, random_valid(3), seed=9)
    assert rewards_one == rewards_two
    assert all(np.array_equal(a, b) for a, b in zip(obs_one, obs_two, strict=True))
    obs_other, _, _ = play(two, random_valid(4), seed=9)
    assert len(obs_other) != len(obs_one) or any(
        not np.array_equal(a, b) for a, b in zip(obs_one, obs_other))


# --- decisions, masks, actions --------------------------------------------------------------

def test_decisions_have_an_option_and_masks_say_which():
    env = RoutingEnv(two_types())
    groups = len(env.encoder.groups)
    observation, info = env.reset()
    kinds = set()
    for _ in range(3000):
        mask = info["action_mask"]
        assert mask[0] == 1  # holding is allowed by default
        if info["decision"] == ARRIVAL:
            assert mask[1:1 + groups].any() and not mask[1 + groups:].any()
        else:
            assert info["decision"] == FREED_AGENT
            assert mask[1 + groups:].any() and not mask[1:1 + groups].any()
        kinds.add(info["decision"])
        assert env.observation_space.contains(observation)
        observation, _, terminated, _, info = env.step(fcfs_action(observation, env.encoder))
        if terminated:
            break
    assert kinds == {ARRIVAL, FREED_AGENT}


def test_basic_only_agents_are_never_offered_gold_contacts():
    env = RoutingEnv(two_types())
    layout = env.encoder
    gold_action = 1 + len(layout.groups) + layout.types.index("gold")
    observation, info = env.reset()
    for _ in range(3000):
        group = np.flatnonzero(observation[layout._group_at:layout._group_at + 2])
        if info["decision"] == FREED_AGENT and layout.groups[group[0]] == "basic_only":
            assert not info["action_mask"][gold_action]
        observation, _, terminated, _, info = env.step(fcfs_action(observation, layout))
        if terminated:
            break


def test_forbidden_action_holds_and_hold_is_refused_when_not_allowed():
    scenario = two_types()
    held = play(RoutingEnv(scenario), lambda o, i: 0)[2]["result"]  # never route anyone
    assert held.overall["answered"] == 0
    # Without hold, a forbidden action takes the first allowed option: nobody waits
    # next to an idle agent who could take them.
    env = RoutingEnv(scenario, allow_hold=False)
    result = play(env, lambda o, i: 0)[2]["result"]
    assert result.overall["answered"] > 0.9 * result.overall["offered"]


def test_step_before_reset_is_refused():
    with pytest.raises(RuntimeError, match="call reset"):
        RoutingEnv(two_types()).step(0)


# --- rewards ---------------------------------------------------------------------------------

def test_rewards_add_up_to_the_trace():
    """Warm-up 0: the reward counts every contact, the trace too."""
    scenario = two_types(warmup="0s", replications=1)
    weights = {"gold": 5.0, "basic": 1.0}
    rows = sim.run(scenario, ["fcfs"], contacts=True, progress=False).contacts
    # The wait reward charges contacts still waiting at the end up to the end, as the trace.
    left = [row for row in rows if row["outcome"] in ("answered", "abandoned", "waiting_at_end")]
    waits = {t: sum(r["wait_s"] for r in left if r["type"] == t) for t in weights}
    abandons = {t: sum(r["outcome"] == "abandoned" and r["type"] == t for r in rows)
                for t in weights}
    in_sl = {t: sum(r["outcome"] == "answered" and r["type"] == t and r["wait_s"] <= 20.0
                    for r in rows) for t in weights}
    for reward, expected in (
            ("wait", -sum(weights[t] * waits[t] for t in weights) / 60.0),
            ("abandonment", -sum(weights[t] * abandons[t] for t in weights)),
            ("service_level", sum(weights[t] * in_sl[t] for t in weights))):
        env = RoutingEnv(scenario, reward=reward, type_weights=weights)
        total = sum(play(env, fcfs_choice(env))[1])
        assert total == pytest.approx(expected, rel=1e-9), reward


@pytest.mark.parametrize("kwargs, message", [
    ({"reward": "profit"}, "reward 'profit' is unknown; allowed: wait, abandonment"),
    ({"reward": "net_value"}, "needs a cost model"),
    ({"reward": {"waiting": 1.0}}, "component 'waiting' is unknown; allowed: wait, abandon"),
    ({"reward": {"wait": "a lot"}}, "is not a number"),
    ({"reward": {}}, "reward is empty"),
    ({"type_weights": {"platinum": 2}}, "'platinum' is not a contact type"),
    ({"type_weights": {"gold": -1}}, "allowed: a number >= 0"),
])
def test_bad_reward_arguments_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        RoutingEnv(two_types(), **kwargs)


# --- the control environment -------------------------------------------------------------------

def test_control_env_with_the_scenario_parameters_is_ccsim_run():
    scenario = sim.load_scenario(SCENARIOS / "bank_vip.yaml")
    env = RoutingControlEnv(scenario, policy="vip", controls={"tiers.vip.head_start": (0, 300)})
    observations, rewards, info = play(env, lambda o, i: np.array([90.0]))  # the file's value
    assert len(rewards) == 24  # 12 hours of 30-minute intervals
    assert info["result"].overall == sim.Simulation(scenario, "vip", 0).run().overall
    assert all(env.observation_space.contains(o) for o in observations)


def test_control_env_actions_change_the_policy():
    env = RoutingControlEnv(SCENARIOS / "quickstart.yaml", policy="priority",
                            controls={"classes.vip.priority": (0, 2)})
    vip_first = play(env, lambda o, i: np.array([1.0]), seed=1)[2]["result"]
    vip_level = play(env, lambda o, i: np.array([0.0]), seed=1)[2]["result"]
    assert vip_first.by_type["vip"]["asa_s"] < vip_level.by_type["vip"]["asa_s"]
    # Half the day each way lies between the two.
    steps = iter(range(10_000))
    half = play(env, lambda o, i: np.array([1.0 if next(steps) < 8 else 0.0]), seed=1)[2]
    assert half["result"].overall != vip_first.overall != half["result"].overall


@pytest.mark.parametrize("controls, message", [
    ({}, r"controls is empty; allowed: .* e.g. \{'classes"),
    ({"classes.gold.priority": (0, 1)}, "'classes.gold.priority' is not a parameter"),
    ({"classes": (0, 1)}, "is .*, not a number"),
    ({"classes.vip.priority": (2, 1)}, r"\(2.0, 1.0\) is not a range"),
])
def test_bad_controls_say_what_is_allowed(controls, message):
    with pytest.raises(ValueError, match=message):
        RoutingControlEnv(SCENARIOS / "quickstart.yaml", policy="priority", controls=controls)


# --- trained agents as policies ---------------------------------------------------------------

def test_registered_agent_runs_beside_builtin_policies(quickstart):
    encoder_of = {}

    def fcfs_agent(observation):
        return fcfs_action(observation, encoder_of["layout"])

    encoder_of["layout"] = RoutingEnv(quickstart).encoder
    register_agent_policy("fcfs_agent_test", fcfs_agent)
    results = sim.run(quickstart, ["fcfs", "fcfs_agent_test", "agent"], replications=2,
                      progress=False)
    fcfs, learned, default_agent = (results.runs[name] for name in
                                    ("fcfs", "fcfs_agent_test", "agent"))
    assert [r.overall for r in learned] == [r.overall for r in fcfs]
    assert [r.overall for r in default_agent] == [r.overall for r in fcfs]


def test_agent_policy_loads_its_callable_from_a_file(tmp_path, monkeypatch):
    (tmp_path / "trained.py").write_text("def act(observation):\n    return 0\n")
    monkeypatch.chdir(tmp_path)
    data = copy.deepcopy(TWO_TYPES)
    data["routing"]["agent"] = {"act": "trained.py:act"}
    result = sim.Simulation(sim.scenario_from_dict(data), "agent", 0).run()
    assert result.overall["answered"] == 0  # act holds every contact


@pytest.mark.parametrize("act, message", [
    ("trained", "is not 'module:attribute'"),
    ("missing.py:act", "file 'missing.py' not found"),
    ("no_such_module_here:act", "cannot import 'no_such_module_here'"),
    ("math:not_there", "'math' has no callable 'not_there'"),
])
def test_agent_policy_with_a_bad_callable_names_the_parameter(act, message, tmp_path,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = copy.deepcopy(TWO_TYPES)
    data["routing"]["agent"] = {"act": act}
    with pytest.raises(sim.ScenarioError, match=message) as error:
        sim.scenario_from_dict(data)
    assert "routing.agent.act" in str(error.value)


def test_core_install_needs_no_gymnasium():
    """With gymnasium and greenlet unimportable, the encoding and the agent policy work."""
    code = textwrap.dedent(f"""
        import sys
        sys.modules["gymnasium"] = None
        sys.modules["greenlet"] = None
        import sim, sim.learn
        scenario = sim.load_scenario({str(SCENARIOS / "quickstart.yaml")!r})
        print(sim.Simulation(scenario, "agent", 0).run().overall["answered"])
        try:
            sim.learn.RoutingEnv
        except ImportError:
            print("no env")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    assert float(out[0]) > 0 and out[1:] == ["no", "env"]


# --- the example of docs/learning.md ---------------------------------------------------------

def test_the_example_learns_a_policy_that_beats_fcfs(tmp_path, capsys, monkeypatch):
    """docs/learning/q_learning.py as the docs run it (fewer replications): the learned
    policy's waiting cost is below fcfs's with a paired 95% interval that excludes 0, and
    training is deterministic: it writes the Q-table shipped beside it."""
    import importlib.util
    import json
    import re

    spec = importlib.util.spec_from_file_location("q_learning",
                                                  ROOT / "docs" / "learning" / "q_learning.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    saved = tmp_path / "q_table.json"
    assert example.main(["--replications", "10", "--save", str(saved)]) == 0
    out = capsys.readouterr().out
    low, high = (float(x.replace(",", "")) for x in re.search(
        r"difference [-+][\d,]+ \[([-+][\d,]+), ([-+][\d,]+)\]", out).groups())
    assert low < high < 0, out
    shipped = json.loads((ROOT / "docs" / "learning" / "q_table.json").read_text())
    assert json.loads(saved.read_text()) == shipped
    # The shipped table drives the scenario's agent policy: ccsim compare's second column.
    monkeypatch.chdir(ROOT)
    scenario = sim.load_scenario(ROOT / "docs" / "learning" / "two_costs.yaml")
    results = sim.run(scenario, ["fcfs", "agent"], replications=3, progress=False)
    assert (results.runs["agent"][0].by_type["gold"]["asa_s"]
            < results.runs["fcfs"][0].by_type["gold"]["asa_s"])
