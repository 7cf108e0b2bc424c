"""Tabular Q-learning on ``ccsim/Routing-v0``: learn whom a freed agent should take.

The scenario (``two_costs.yaml``) has gold and basic callers whose minute of waiting
costs 5 and 1; the reward is that holding cost (``reward="wait"`` with type weights).
The learner sees a small state — how many gold and basic callers wait, in four bands
each — and, when an agent is freed with both kinds waiting, picks one (arrivals have a
single pool, so nothing to learn there). Then the greedy policy runs as a ccsim routing
policy beside fcfs on the same callers, and the paired 95% interval of the difference
in waiting cost says whether it learned something fcfs does not know.

    python docs/learning/q_learning.py [--episodes 30] [--replications 20] [--save PATH]

``--save`` writes the Q-table as JSON (default: ``q_table.json`` beside this file); the
``agent`` policy of ``two_costs.yaml`` reads it through ``trained_agent``, so that

    ccsim compare docs/learning/two_costs.yaml --policy fcfs --policy agent --by type

shows the same comparison from the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import sim
from reports.compare import compare, paired_difference, to_text
from sim.files import write_atomic
from sim.learn import register_agent_policy
from sim.learn.encoding import DecisionEncoder
from sim.learn.routing_env import RoutingEnv

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "two_costs.yaml"
TABLE = HERE / "q_table.json"
COSTS = {"gold": 5.0, "basic": 1.0}
"""Cost of a minute of waiting per contact type: the reward's type weights."""
BANDS = (0, 1, 2, 3)
"""Lower edges of the bands of a queue's length in the learner's state: 0, 1, 2, 3 or more
(a finer state learns no better in 30 episodes: its rarer states stay unexplored)."""


class QAgent:
    """A Q-table over (gold band, basic band) for freed-agent decisions."""

    def __init__(self, encoder: DecisionEncoder, table: dict[str, list[float]] | None = None):
        self.encoder = encoder
        self.first_contact_action = 1 + len(encoder.groups)
        self.q: defaultdict[str, np.ndarray] = defaultdict(
            lambda: np.zeros(encoder.actions),
            {key: np.asarray(values) for key, values in (table or {}).items()})

    def state(self, observation: np.ndarray) -> str:
        """The learner's view of a decision: its kind and both queues' bands."""
        encoder = self.encoder
        bands = [int(np.searchsorted(BANDS, observation[encoder._waiting_at + t], "right"))
                 for t in range(len(encoder.types))]
        kind = "arrival" if observation[0] else "freed"
        return f"{kind}:{bands[0]}:{bands[1]}"

    def allowed(self, observation: np.ndarray) -> list[int]:
        """Actions with an option behind them, from the observation alone."""
        encoder = self.encoder
        if observation[0]:  # an arrival: an idle agent of some group
            return [1 + g for g in range(len(encoder.groups))
                    if observation[encoder._agents_at + 4 * g + 2]]
        tiers = len(encoder.tiers)
        return [self.first_contact_action + c for c in range(len(encoder.types) * tiers)
                if observation[encoder._class_offset(c)]
                and observation[encoder._takes_at + c // tiers]]

    def __call__(self, observation: np.ndarray) -> int:
        """The greedy action: the best allowed action by the Q-table."""
        values = self.q[self.state(observation)]
        allowed = self.allowed(observation)
        return max(allowed, key=lambda action: values[action])

    def to_json(self) -> dict[str, list[float]]:
        return {key: [round(v, 6) for v in values] for key, values in sorted(self.q.items())}


def train(episodes: int, seed: int = 1, alpha: float = 0.02, gamma: float = 0.8,
          epsilon: float = 0.2) -> QAgent:
    """Q-learning over ``episodes`` episodes (replications 1000, 1001, ... of the scenario:
    not those the comparison runs).

    A small step and generous exploration: the reward between two decisions is a few
    seconds of holding cost, and what a choice changes shows over the next few decisions
    (docs/learning.md says which settings learned what)."""
    env = RoutingEnv(SCENARIO, reward="wait", type_weights=COSTS, allow_hold=False)
    agent = QAgent(env.encoder)
    rng = np.random.default_rng(seed)
    for episode in range(episodes):
        observation, _ = env.reset(options={"replication": 1000 + episode})
        state, done = agent.state(observation), False
        while not done:
            allowed = agent.allowed(observation)
            values = agent.q[state]
            action = (int(rng.choice(allowed)) if rng.random() < epsilon
                      else max(allowed, key=lambda a: values[a]))
            observation, reward, done, _, _ = env.step(action)
            following = agent.state(observation)
            future = 0.0 if done else max(agent.q[following][a] for a in agent.allowed(observation))
            values[action] += alpha * (reward + gamma * future - values[action])
            state = following
    return agent


def waiting_cost(results: sim.RunResults, label: str) -> list[float]:
    """Per replication: the cost of all waiting (minutes times the type's cost)."""
    costs = []
    for replication in results.runs[label]:
        costs.append(sum(
            COSTS[name] * figures["mean_wait_s"] * (figures["answered"] + figures["abandoned"])
            / 60.0 for name, figures in replication.by_type.items()))
    return costs


def load_agent(path: Path = TABLE) -> QAgent:
    """The greedy agent of a saved Q-table."""
    scenario = sim.load_scenario(SCENARIO)
    table = json.loads(path.read_text(encoding="utf-8"))
    return QAgent(DecisionEncoder(scenario, allow_hold=False), table)


def trained_agent(observation: np.ndarray) -> int:
    """The saved Q-table's greedy action (the ``agent`` policy of ``two_costs.yaml``)."""
    global _loaded
    if _loaded is None:
        if not TABLE.is_file():
            raise FileNotFoundError(f"{TABLE} is missing: run python {__file__} first")
        _loaded = load_agent()
    return _loaded(observation)


_loaded: QAgent | None = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--save", type=Path, default=TABLE)
    args = parser.parse_args(argv)
    agent = train(args.episodes)
    write_atomic(args.save, json.dumps(agent.to_json(), indent=1) + "\n")
    both = {key: values for key, values in agent.to_json().items()
            if key.startswith("freed:") and "0" not in key.split(":")[1:]}
    gold_first = sum(values[agent.first_contact_action] > values[agent.first_contact_action + 1]
                     for values in both.values())
    print(f"learned from {args.episodes} episodes; with both kinds waiting, gold first in "
          f"{gold_first} of {len(both)} states")
    register_agent_policy("q_learned", agent)
    scenario = sim.load_scenario(SCENARIO)
    results = sim.run(scenario, ["fcfs", "q_learned"], replications=args.replications,
                      progress=False)
    for name in COSTS:
        print(to_text([compare(results, ["asa_s", "service_level", "abandon_rate"],
                               scope="type", key=name)]))
    fcfs, learned = waiting_cost(results, "fcfs"), waiting_cost(results, "q_learned")
    difference = paired_difference(fcfs, learned)
    print(f"waiting cost per day: fcfs {np.mean(fcfs):,.0f}, q_learned {np.mean(learned):,.0f}; "
          f"difference {difference.mean:+,.0f} [{difference.low:+,.0f}, {difference.high:+,.0f}] "
          f"(paired 95% CI, {args.replications} replications)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
