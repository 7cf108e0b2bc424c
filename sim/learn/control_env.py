"""``ccsim/RoutingControl-v0``: one step per interval of the day; the action sets the
routing policy's parameters.

A planner's lever is rarely a single routing decision: it is a VIP head start, a ring's
timeout, an overflow delay, set per time of day. Each action here is a vector of such
parameters (``controls``: dotted paths into the policy's parameters, each with its
range); the policy runs with them through the next interval, at the engine's full speed,
and the reward is what the contacts that left the queue in that interval cost
(``sim.learn.rewards``). The policy is rebuilt with the new parameters when they change
(learned state of a learning policy, such as ``predictive``'s, starts afresh then).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import numpy as np
from greenlet import greenlet

from policies import policy_spec
from sim.kernel.cells import sl_thresholds
from sim.learn.rewards import RewardMeter, reward_weights, type_weight_map
from sim.learn.routing_env import EpisodeCounter, scenario_of
from sim.model.scenario import DAY, Scenario

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.state import Contact

_PER_TYPE = ("arrivals", "answered", "answered_in_sl", "abandoned", "wait_s")
"""What the observation counts per contact type over the interval just ended."""


class _Delegate:
    """The engine's policy: forwards to the current policy object, which the environment
    replaces when the parameters change (stages hold on to this one)."""

    name: ClassVar[str]

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def select_agent(self, contact: Any, state: Any) -> Any:
        return self.inner.select_agent(contact, state)

    def select_contact(self, agent: Any, state: Any) -> Any:
        return self.inner.select_contact(agent, state)


def _delegate_for(inner: Any) -> _Delegate:
    """A delegate named as ``inner``'s policy, with its optional hooks (``recheck_after``,
    ``observe``): the engine installs the feedback stage only for policies that have them."""
    members: dict[str, Any] = {"name": type(inner).name}
    for hook in ("recheck_after", "observe"):
        if callable(getattr(inner, hook, None)):
            members[hook] = (lambda name: lambda self, *args: getattr(self.inner, name)(*args))(
                hook)
    return type("Delegate", (_Delegate,), members)(inner)


class RoutingControlEnv(gym.Env[np.ndarray, np.ndarray]):
    """Interval-by-interval control of a routing policy's parameters.

    ``controls`` maps a dotted path into the policy's parameters to its (low, high)
    range, e.g. ``{"tiers.vip.head_start": (0, 300)}`` for ``vip``: the action is a
    vector in that box, in that order. The observation: time of day (sine, cosine),
    then per contact type the interval's arrivals, answered, answered within the
    service-level threshold, abandoned and mean wait (minutes), then per type the
    contacts waiting now, per group the agents on duty now, then the parameters in
    force. Seeds and replications work as in ``RoutingEnv``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, scenario: str | Path | Scenario, *, controls: Mapping[str, Sequence[float]],
                 policy: str | None = None, reward: str | Mapping[str, float] = "wait",
                 type_weights: Mapping[str, float] | None = None,
                 verification: str | None = None, outbound: str | None = None) -> None:
        self.scenario = scenario_of(scenario)
        self.policy = policy or self.scenario.routing.policy
        self._spec = policy_spec(self.policy)
        raw = self.scenario.routing.params_for(self.policy)
        self._params = self._spec.parse_params(raw, self.scenario)
        self._base = self._params.model_dump()
        if not controls:
            raise ValueError("controls is empty; allowed: a mapping of dotted parameter paths of "
                             f"policy {self.policy!r} to (low, high), e.g. "
                             f"{{{_example_path(self._base)!r}: (0, 300)}}")
        self.controls = tuple(controls)
        low, high = [], []
        for path, bounds in controls.items():
            _check_numeric(self._base, path, self.policy)
            lo, hi = (float(b) for b in bounds)
            if not lo <= hi:
                raise ValueError(f"controls[{path!r}]: ({lo}, {hi}) is not a range; allowed: "
                                 "(low, high) with low <= high")
            low.append(lo)
            high.append(hi)
        self.action_space = gym.spaces.Box(np.array(low), np.array(high), dtype=np.float64)
        types, groups = len(self.scenario.contact_types), len(self.scenario.agents)
        size = 2 + len(_PER_TYPE) * types + types + groups + len(low)
        obs_low = np.zeros(size)
        obs_low[:2] = -1.0
        obs_low[size - len(low):] = low
        obs_high = np.full(size, 1e9)
        obs_high[:2] = 1.0
        obs_high[size - len(high):] = high
        self.observation_space = gym.spaces.Box(obs_low, obs_high, dtype=np.float64)
        reward_weights(reward)  # bad rewards fail here, not in reset
        type_weight_map(self.scenario, type_weights)
        self._reward_spec, self._type_weights = reward, type_weights
        self._verification, self._outbound = verification, outbound
        self._interval = self.scenario.run.interval
        self._episodes = EpisodeCounter(self.scenario)
        self._simulation: greenlet | None = None
        self._kernel: Simulation | None = None
        self._meter: RewardMeter | None = None
        self._counts = np.zeros((types, len(_PER_TYPE)))
        self._applied: np.ndarray | None = None

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode (seeds and replications as in ``RoutingEnv.reset``)."""
        super().reset(seed=seed)
        scenario, replication = self._episodes.next(seed, options)
        from sim.kernel.kernel import Simulation

        self._delegate = _delegate_for(self._spec.build(
            self.scenario.routing.params_for(self.policy), scenario))
        kernel = self._kernel = Simulation(scenario, self._delegate, replication,
                                           verification=self._verification,
                                           outbound=self._outbound)
        self._meter = RewardMeter(self.scenario, self._reward_spec, self._type_weights)
        self._meter.attach(kernel)
        self._listen(kernel)
        self._applied = np.array([_get(self._base, path) for path in self.controls], dtype=float)
        kernel.clock.schedule(0.0, self._boundary)
        self._simulation = greenlet(kernel.run)
        observation, _, _, info = self._advance(self._simulation.switch())
        return observation, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Run the next interval with the parameters ``action`` (clipped to their ranges):
        (observation, reward, terminated, truncated, info)."""
        if self._simulation is None:
            raise RuntimeError("step() before reset() or after the episode ended; "
                               "call reset() first")
        values = np.clip(np.asarray(action, dtype=float).reshape(len(self.controls)),
                         self.action_space.low, self.action_space.high)
        if not np.array_equal(values, self._applied):
            self._apply(values)
        observation, reward, terminated, info = self._advance(self._simulation.switch())
        return observation, reward, terminated, False, info

    # ------------------------------------------------------------------ inside the run
    def _boundary(self, _: Any) -> None:
        """An interval starts: pause for the agent's parameters, then go on."""
        assert self._simulation is not None and self._kernel is not None
        self._simulation.parent.switch(None)
        self._kernel.clock.schedule(self._interval, self._boundary)

    def _listen(self, kernel: Simulation) -> None:
        """Count each type's arrivals, answers and abandonments of the interval."""
        index = {name: t for t, name in enumerate(self.scenario.contact_types)}
        counts = self._counts
        counts[:] = 0.0
        admit, answered, abandoned = kernel.admit, kernel.answered, kernel.abandoned
        thresholds = sl_thresholds(self.scenario)

        def on_admit(contact: Contact, now: float) -> None:
            counts[index[contact.type], 0] += 1
            admit(contact, now)

        def on_answer(contact: Contact, now: float) -> None:
            answered(contact, now)
            row, wait = counts[index[contact.type]], now - contact.arrival
            row[1] += 1
            row[2] += wait <= thresholds[contact.type]
            row[4] += wait

        def on_abandon(contact: Contact, now: float, waited: float) -> None:
            abandoned(contact, now, waited)
            counts[index[contact.type], 3] += 1

        kernel.admit, kernel.answered, kernel.abandoned = on_admit, on_answer, on_abandon

    def _apply(self, values: np.ndarray) -> None:
        """Rebuild the policy with ``values`` set at the control paths."""
        params = self._params
        for path, value in zip(self.controls, values):
            params = _replaced(params, path.split("."), float(value))
        assert self._kernel is not None
        inner = self._spec.factory(params, self._kernel.scenario)
        self._delegate.inner = inner
        self._kernel.policy = inner
        self._applied = values

    def _advance(self, outcome: Any) -> tuple[np.ndarray, float, bool, dict[str, Any]]:
        assert self._meter is not None and self._kernel is not None
        reward = self._meter.take(self._kernel.state)
        kernel = self._kernel
        now = kernel.clock.now
        angle = 2.0 * math.pi * (now % DAY) / DAY
        counts = self._counts.copy()
        answered = counts[:, 1]
        counts[:, 4] = np.divide(counts[:, 4], answered * 60.0, out=np.zeros_like(answered),
                                 where=answered > 0)  # mean wait of the answered, minutes
        self._counts[:] = 0.0
        state = kernel.state
        observation = np.concatenate((
            [math.sin(angle), math.cos(angle)], counts.ravel(),
            [state.waiting_count(t) for t in kernel.type_names],
            kernel.on_duty_by_group, self._applied))
        terminated = outcome is not None  # the run returned its result
        info: dict[str, Any] = {"time": now}
        if terminated:
            info["result"] = outcome
            self._simulation = None
        return observation, reward, terminated, info


def _get(params: Any, path: str) -> Any:
    for key in path.split("."):
        params = params[key]
    return params


def _replaced(params: Any, path: list[str], value: float) -> Any:
    """``params`` (a frozen parameter model, or a mapping in one) with the number at
    ``path`` replaced. Values are in the model's own units (seconds for durations), so
    the copy is made without validating again: YAML's units are gone by now."""
    key, rest = path[0], path[1:]
    if isinstance(params, Mapping):
        child = params[key]
        return {**params, key: _replaced(child, rest, value) if rest else value}
    child = getattr(params, key)
    return params.model_copy(update={key: _replaced(child, rest, value) if rest else value})


def _check_numeric(params: dict[str, Any], path: str, policy: str) -> None:
    """``path`` leads to a number among ``policy``'s parameters (with their defaults)."""
    try:
        value = _get(params, path)
    except (KeyError, TypeError):
        raise ValueError(f"controls: {path!r} is not a parameter of policy {policy!r}; "
                         f"allowed: a dotted path to a number, e.g. {_example_path(params)!r}"
                         ) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"controls: {path!r} of policy {policy!r} is {value!r}, not a number; "
                         f"allowed: a dotted path to a number, e.g. {_example_path(params)!r}")


def _example_path(params: Any, prefix: str = "") -> str:
    """The first dotted path to a number in ``params`` (for error messages)."""
    if isinstance(params, dict):
        for key, value in params.items():
            found = _example_path(value, f"{prefix}{key}.")
            if found:
                return found
        return ""
    if isinstance(params, (int, float)) and not isinstance(params, bool):
        return prefix.rstrip(".")
    return ""
