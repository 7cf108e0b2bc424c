"""One routing decision as a learner sees it: a fixed-size observation, an action mask,
and what each action means.

Shared by the Gymnasium environment (``sim.learn.routing_env``) and by the policy that
runs a trained agent inside ccsim (``sim.learn.agent_policy``), so that an agent sees
exactly the same observation while it learns and when it is compared with the built-in
policies. Everything here comes from the policy's read-only ``RoutingState`` and the
scenario (what the center knows), never from a contact's true patience or kind.

Actions (``Discrete(1 + G + T x K)``; G agent groups, T contact types, K tier classes):

* ``0``: hold: queue the arriving contact, or leave the freed agent idle;
* ``1 + g``: an arriving contact goes to the longest-idle agent of group ``g`` who can take
  it (the agent ``fcfs`` would pick within that group);
* ``1 + G + t x K + k``: a freed agent takes the oldest waiting contact of type ``t`` and
  tier class ``k`` (the scenario's customer tiers, then one class for callers with no
  known tier; K = 1 without a ``customers`` block).

The observation (float64; waits and times in minutes) is laid out as ``feature_names``
lists: the decision's kind, the time of day, the recent service level, the deciding
contact's type and tier or the freed agent's group and the types it takes, per type the
waiting contacts, per class whether any waits, the oldest one's wait and its expected
patience, and per group the agents on duty, idle, idle and able to take the arriving
contact, and the longest such idle time.
"""

from __future__ import annotations

import math
from operator import attrgetter
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.kernel.cells import sl_thresholds
from sim.model.scenario import DAY, Scenario

if TYPE_CHECKING:
    from sim.state import AgentView, ContactView, RoutingState

HOLD = 0
"""The action that queues the arriving contact or leaves the freed agent idle."""
ARRIVAL, FREED_AGENT = "arrival", "freed_agent"
"""The two kinds of decision."""
OPEN_BOUND = 1e9
"""Upper bound of counts and times in the observation space: none in fact, but a finite
one keeps learners' input normalisation sane."""
ANY_TIER = object()
"""The tier class of a scenario without customers: a type's whole queue."""
PATIENCE_CAP_S = DAY
"""Expected patience beyond a day (or none: a type that never abandons) shows as a day."""


class Decision:
    """A routing decision the engine needs: its observation, mask and options."""

    __slots__ = ("kind", "observation", "mask", "_options", "_state")

    def __init__(self, kind: str, observation: np.ndarray, mask: np.ndarray,
                 options: dict[int, Any], state: RoutingState) -> None:
        self.kind = kind
        """``ARRIVAL`` (a contact arrives with idle agents able to take it) or
        ``FREED_AGENT`` (an agent is free with contacts it can take waiting)."""
        self.observation = observation
        self.mask = mask
        """1 for the actions allowed now, as ``int8`` (Gymnasium's convention)."""
        self._options = options
        """Per allowed routing action: the agent (arrival), or the (type, tier class) whose
        oldest waiting contact it means (freed agent), looked up only if chosen."""
        self._state = state

    def choose(self, action: int) -> Any:
        """The agent (arrival) or contact (freed agent) that ``action`` means, or None to
        hold. An action the mask forbids holds, or, when holding is not allowed, takes
        the first allowed option."""
        option = self._options.get(int(action))
        if option is None:
            if self.mask[HOLD]:
                return None
            option = self._options[min(self._options)]
        if self.kind == ARRIVAL:
            return option
        skill, tier = option
        if tier is ANY_TIER:
            return self._state.oldest_waiting(skill)
        return self._state.oldest_waiting_by(skill, "tier", tier)


class DecisionEncoder:
    """Builds the decisions (``Decision``) of one scenario (one per simulation run: it keeps the
    recent service level of the run's decisions)."""

    def __init__(self, scenario: Scenario, allow_hold: bool = True) -> None:
        self.allow_hold = allow_hold
        self.types = tuple(scenario.contact_types)
        self.groups = tuple(scenario.agents)
        customers = scenario.customers
        self.tiers: tuple[str | None, ...] = (
            (*customers.tiers, None) if customers is not None else (None,))
        """Tier classes: the scenario's tiers, then None (no known tier)."""
        self._tier_index: dict[Hashable, int] = {tier: k for k, tier in enumerate(self.tiers)}
        types, groups, tiers = len(self.types), len(self.groups), len(self.tiers)
        self.actions = 1 + groups + types * tiers
        self._type_index = {name: t for t, name in enumerate(self.types)}
        self._channel = {name: spec.channel for name, spec in scenario.contact_types.items()}
        self._patience_min = {
            name: min(spec.patience.mean if spec.patience is not None else math.inf,
                      PATIENCE_CAP_S) / 60.0
            for name, spec in scenario.contact_types.items()}
        self._threshold = sl_thresholds(scenario)
        self._memory = scenario.run.interval
        """Time constant of the recent service level: one interval of the day."""
        self._answered = self._in_sl = 0.0
        self._last_answer = 0.0
        # Offsets of each block of the observation.
        self._type_at = 5
        self._tier_at = self._type_at + types
        self._group_at = self._tier_at + tiers
        self._takes_at = self._group_at + groups
        self._waiting_at = self._takes_at + types
        self._class_at = self._waiting_at + types
        self._agents_at = self._class_at + 3 * types * tiers
        self.size = self._agents_at + 4 * groups
        self.feature_names = self._names()
        self.low = np.zeros(self.size)
        self.low[2:4] = -1.0  # sine and cosine of the time of day
        self.high = np.full(self.size, OPEN_BOUND)
        self.high[0:2] = 1.0
        self.high[2:5] = 1.0
        self.high[self._type_at:self._waiting_at] = 1.0
        self.high[self._class_at:self._agents_at:3] = 1.0
        # Per group: on duty, idle and able, longest idle: each class's counts are open.
        self._agents: list[list[AgentView]] = [[] for _ in self.groups]
        self._agents_seen = 0

    def _names(self) -> tuple[str, ...]:
        classes = [f"{t}/{tier or 'none'}" for t in self.types for tier in self.tiers]
        return ("arrival", "freed_agent", "time_sin", "time_cos", "recent_service_level",
                *(f"contact_type={t}" for t in self.types),
                *(f"contact_tier={tier or 'none'}" for tier in self.tiers),
                *(f"agent_group={g}" for g in self.groups),
                *(f"agent_takes={t}" for t in self.types),
                *(f"waiting:{t}" for t in self.types),
                *(f"{feature}:{c}" for c in classes
                  for feature in ("any_waiting", "oldest_wait_min", "oldest_patience_min")),
                *(f"{feature}:{g}" for g in self.groups
                  for feature in ("on_duty", "idle", "idle_able", "longest_idle_min")))

    def action_meanings(self) -> tuple[str, ...]:
        """A label per action, for logs and tables."""
        return ("hold", *(f"agent_of:{g}" for g in self.groups),
                *(f"contact_of:{t}/{tier or 'none'}" for t in self.types for tier in self.tiers))

    # ------------------------------------------------------------------ decisions
    def arrival(self, contact: ContactView, state: RoutingState) -> Decision | None:
        """The decision for an arriving contact, or None when no idle agent can take it."""
        skill = contact.type
        first: dict[int, AgentView] = {}
        able = [0] * len(self.groups)
        for agent in state.idle_agents(skill):
            if skill not in agent.open:  # holds contacts of another channel, or blends
                continue
            group = agent.group_index
            able[group] += 1
            first.setdefault(group, agent)
        if not first:
            return None
        observation, mask = self._common(state, 0)
        observation[self._type_at + self._type_index[skill]] = 1.0
        observation[self._tier_at + self._tier_of(contact)] = 1.0
        now = state.now
        at = self._agents_at
        for group, count in enumerate(able):
            observation[at + 4 * group + 2] = count
        options: dict[int, Any] = {}
        for group, agent in first.items():
            observation[at + 4 * group + 3] = (now - agent.idle_since) / 60.0
            mask[1 + group] = 1
            options[1 + group] = agent
        return Decision(ARRIVAL, observation, mask, options, state)

    def freed_agent(self, agent: AgentView, state: RoutingState) -> Decision | None:
        """The decision for a freed agent, or None when nothing it can take waits."""
        offer = agent.open
        if not any(state.waiting_count(skill) for skill in offer):
            return None
        observation, mask = self._common(state, 1)
        observation[self._group_at + agent.group_index] = 1.0
        for skill in offer:
            observation[self._takes_at + self._type_index[skill]] = 1.0
        options: dict[int, Any] = {}
        first_action = 1 + len(self.groups)
        tiers = len(self.tiers)
        for skill in offer:
            base = first_action + self._type_index[skill] * tiers
            for k in range(tiers):
                if observation[self._class_offset(base - first_action + k)]:
                    mask[base + k] = 1
                    options[base + k] = (skill, ANY_TIER if tiers == 1 else self.tiers[k])
        return Decision(FREED_AGENT, observation, mask, options, state)

    def answered(self, contact: ContactView, now: float) -> None:
        """Count an answer made by this decision, for the recent service level."""
        keep = math.exp(-(now - self._last_answer) / self._memory)
        self._last_answer = now
        self._answered = self._answered * keep + 1.0
        self._in_sl = self._in_sl * keep + (now - contact.arrival <= self._threshold[contact.type])

    # ------------------------------------------------------------------ blocks
    def _common(self, state: RoutingState, kind: int) -> tuple[np.ndarray, np.ndarray]:
        """Observation and mask with what every decision shows (queues, agents, time)."""
        observation = np.zeros(self.size)
        mask = np.zeros(self.actions, dtype=np.int8)
        mask[HOLD] = self.allow_hold
        now = state.now
        observation[kind] = 1.0
        angle = 2.0 * math.pi * (now % DAY) / DAY
        observation[2] = math.sin(angle)
        observation[3] = math.cos(angle)
        observation[4] = self._in_sl / self._answered if self._answered else 1.0
        self._queues(state, observation, now)
        self._agent_counts(state, observation)
        return observation, mask

    def _class_offset(self, cls: int) -> int:
        return self._class_at + 3 * cls

    def _queues(self, state: RoutingState, observation: np.ndarray, now: float) -> None:
        tiers = len(self.tiers)
        predictor = state.predictor
        for t, skill in enumerate(self.types):
            waiting = state.waiting_count(skill)
            if not waiting:
                continue
            observation[self._waiting_at + t] = waiting
            # Only the head of each tier's queue: the index keeps them, so a decision
            # costs the number of classes, not the length of the queues.
            heads = ([(None, state.oldest_waiting(skill))] if tiers == 1
                     else state.oldest_waiting_each(skill, "tier"))
            for tier, oldest in heads:
                if oldest is None:
                    continue
                at = self._class_offset(t * tiers + self._tier_index[tier])
                observation[at] = 1.0
                observation[at + 1] = (now - oldest.arrival) / 60.0
                observation[at + 2] = self._patience(oldest, predictor, now)

    def _patience(self, contact: ContactView, predictor: Any, now: float) -> float:
        """Expected patience in minutes: the predictor's estimate for a known customer
        (learned from their past waits), else the type's mean."""
        customer = contact.customer
        if predictor is None or customer is None:
            return self._patience_min[contact.type]
        estimate = predictor.patience(customer.id, self._channel[contact.type], now)
        return min(estimate, PATIENCE_CAP_S) / 60.0  # type: ignore[no-any-return]

    def _agent_counts(self, state: RoutingState, observation: np.ndarray) -> None:
        if self._agents_seen != state.agent_count():
            self._agents = [[] for _ in self.groups]
            for agent in state.agents():
                self._agents[agent.group_index].append(agent)
            self._agents_seen = state.agent_count()
        at = self._agents_at
        for group, agents in enumerate(self._agents):
            # Sums over C-level maps: a tenth of a Python loop's time per agent. An agent
            # off duty is never idle, so idle agents are on duty.
            observation[at + 4 * group] = sum(map(_on_duty, agents))
            observation[at + 4 * group + 1] = sum(map(_idle, agents))

    def _tier_of(self, contact: ContactView) -> int:
        customer = contact.customer
        return self._tier_index[customer.tier if customer is not None else None]

_on_duty = attrgetter("on_duty")
_idle = attrgetter("idle")


def fcfs_action(observation: np.ndarray, encoder: DecisionEncoder) -> int:
    """The action ``fcfs`` takes, read from the observation alone: the group whose able
    agent has been idle longest, or, among the classes the freed agent takes, the one
    whose oldest contact has waited longest (ties to the lowest action). It reproduces
    ``fcfs`` exactly unless two such times are equal to the last bit."""
    best, longest = HOLD, -1.0
    if observation[0]:  # an arriving contact
        for group in range(len(encoder.groups)):
            at = encoder._agents_at + 4 * group
            if observation[at + 2] and observation[at + 3] > longest:
                best, longest = 1 + group, observation[at + 3]
        return best
    tiers = len(encoder.tiers)
    first = 1 + len(encoder.groups)
    for t in range(len(encoder.types)):
        if not observation[encoder._takes_at + t]:
            continue
        for k in range(tiers):
            at = encoder._class_offset(t * tiers + k)
            if observation[at] and observation[at + 1] > longest:
                best, longest = first + t * tiers + k, observation[at + 1]
    return best
