"""``ccsim/Routing-v0``: one step per routing decision of the ccsim engine.

The engine runs unchanged: the environment hands it a policy whose ``select_agent`` and
``select_contact`` pause the simulation at each decision that has an option (a contact
arrives while an agent who can take it is idle; an agent is free while contacts it can
take wait) and resume it with the agent's action. The pause is a greenlet switch (the
``greenlet`` package, a C extension of about a microsecond per switch): the simulation
keeps its own call stack between decisions, so no engine code is split into callbacks
and everything between two decisions runs at the engine's full speed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import numpy as np
from greenlet import greenlet

from policies.agent import AgentParams, AgentPolicy
from sim.learn.encoding import Decision, DecisionEncoder
from sim.learn.rewards import RewardMeter, reward_weights, type_weight_map
from sim.model.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.state import AgentView, ContactView, RoutingState


def scenario_of(scenario: str | Path | Scenario) -> Scenario:
    """A scenario object from a YAML path (validated as ``ccsim run`` does) or as given."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(Path(scenario))


class _PausingPolicy(AgentPolicy):
    """The engine's policy inside the environment: each decision goes to the agent."""

    def __init__(self, env: RoutingEnv, scenario: Scenario, allow_hold: bool) -> None:
        super().__init__(AgentParams(allow_hold=allow_hold), scenario, act=_unused)
        self._env = env

    def action(self, decision: Decision) -> int:
        return self._env._pause(decision)


def _unused(observation: np.ndarray) -> int:
    raise AssertionError("the environment's agent acts through step()")


class EpisodeCounter:
    """Seed and replication of successive episodes, numbered as ``ccsim run`` numbers
    replications: ``reset(seed=S)`` is replication 0 of root seed S, each later reset
    the next replication, ``options={"replication": r}`` replication r."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.seed = scenario.run.seed
        self.replication = -1

    def next(self, seed: int | None, options: dict[str, Any] | None) -> tuple[Scenario, int]:
        """The scenario (with the root seed) and the replication of the episode a reset
        starts."""
        if seed is not None:
            self.seed, self.replication = int(seed), -1
        self.replication = int((options or {}).get("replication", self.replication + 1))
        return self.scenario.with_overrides(seed=self.seed), self.replication


class RoutingEnv(gym.Env[np.ndarray, np.int64]):
    """Routing decisions of one ccsim scenario as a Gymnasium environment.

    ``reset(seed=S)`` starts replication 0 of the scenario with root seed ``S`` (default:
    the scenario's ``run.seed``); each later ``reset()`` without a seed starts the next
    replication, so episodes 0, 1, 2, ... face exactly the customers of ``ccsim run
    --seed S`` replications 0, 1, 2, ... (``options={"replication": r}`` picks one).
    An episode is one replication; it ends (``terminated``) when the run ends, with the
    run's metrics in ``info["result"]`` (a ``ReplicationResult``).

    Observation, actions and mask: see ``sim.learn.encoding``; ``info["action_mask"]``
    marks the allowed actions, ``info["decision"]`` says the kind. An action the mask
    forbids holds (or takes the first allowed option when ``allow_hold`` is False).
    The reward of a step is what contacts cost between this decision and the next
    (``sim.learn.rewards``: ``reward="wait"``, ``"abandonment"``, ``"service_level"`` or a
    mapping of components to coefficients, each contact weighted by ``type_weights``).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, scenario: str | Path | Scenario, *,
                 reward: str | Mapping[str, float] = "wait",
                 type_weights: Mapping[str, float] | None = None, allow_hold: bool = True,
                 verification: str | None = None, outbound: str | None = None) -> None:
        self.scenario = scenario_of(scenario)
        self.encoder = DecisionEncoder(self.scenario, allow_hold)
        self._reward_spec = reward
        self._type_weights = type_weights
        # Bad rewards fail here, not in reset.
        reward_weights(reward)
        type_weight_map(self.scenario, type_weights)
        self._verification = verification
        self._outbound = outbound
        self.observation_space = gym.spaces.Box(self.encoder.low, self.encoder.high,
                                                dtype=np.float64)
        self.action_space = gym.spaces.Discrete(self.encoder.actions)
        self._episodes = EpisodeCounter(self.scenario)
        self._simulation: greenlet | None = None
        self._decision: Decision | None = None
        self._meter: RewardMeter | None = None
        self._kernel_state: RoutingState | None = None
        self.decisions = 0
        """Decisions taken in the current episode."""

    # ------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: replication 0 of root seed ``seed``, else the next replication
        (``options={"replication": r}``: replication ``r``); the first observation."""
        super().reset(seed=seed)
        scenario, replication = self._episodes.next(seed, options)
        from sim.kernel.kernel import Simulation

        # Each run keeps its own recent service level: a fresh policy and its encoder.
        policy = _PausingPolicy(self, self.scenario, self.encoder.allow_hold)
        kernel = Simulation(scenario, policy, replication,
                            verification=self._verification, outbound=self._outbound)
        self._meter = RewardMeter(self.scenario, self._reward_spec, self._type_weights)
        self._meter.attach(kernel)
        self._kernel_state = kernel.state
        self.decisions = 0
        self._simulation = greenlet(kernel.run)
        observation, _, _, info = self._advance(self._simulation.switch())
        return observation, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Take ``action`` for the pending decision and run to the next one: (observation,
        reward, terminated, truncated, info); ``info["result"]`` when the run ends."""
        if self._decision is None or self._simulation is None:
            raise RuntimeError("step() before reset() or after the episode ended; "
                               "call reset() first")
        self.decisions += 1
        observation, reward, terminated, info = self._advance(
            self._simulation.switch(int(action)))
        return observation, reward, terminated, False, info

    def action_masks(self) -> np.ndarray:
        """The current decision's mask (the ``action_masks`` convention of maskable
        learners)."""
        if self._decision is None:
            return np.zeros(self.encoder.actions, dtype=np.int8)
        return self._decision.mask

    # ------------------------------------------------------------------ the pause
    def _pause(self, decision: Decision) -> int:
        """Inside the simulation: hand ``decision`` to the agent, return its action."""
        parent = self._simulation.parent  # type: ignore[union-attr]
        return parent.switch(decision)

    def _advance(self, outcome: Decision | ReplicationResult
                 ) -> tuple[np.ndarray, float, bool, dict[str, Any]]:
        """Observation, reward, end of episode and info after the simulation paused at a
        decision or ended."""
        assert self._meter is not None and self._kernel_state is not None
        reward = self._meter.take(self._kernel_state)
        if isinstance(outcome, Decision):
            self._decision = outcome
            return outcome.observation, reward, False, {
                "action_mask": outcome.mask, "decision": outcome.kind}
        self._decision = None
        self._simulation = None
        observation = np.zeros(self.encoder.size)
        observation[3] = 1.0  # cos of the time of day: a valid point of the space
        return observation, reward, True, {
            "action_mask": np.zeros(self.encoder.actions, dtype=np.int8), "decision": None,
            "result": outcome}
