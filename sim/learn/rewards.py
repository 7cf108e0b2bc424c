"""Rewards of the learning environments: what contacts cost while the agent decides.

A reward is a weighted sum of three components (counting the warm-up too: a learner
learns from every contact):

* ``wait``: minus the minutes contacts spent waiting since the last step, a holding
  cost: every contact in the queue costs for each minute it waits there, so over an
  episode the rewards add up to minus every contact's wait (to the end of the run for
  those still waiting). Charged as the waiting happens, not when the contact leaves the
  queue: serving a costly contact first pays at once, as the queue's cost rate drops;
* ``abandon``: minus one per contact that hung up while waiting;
* ``in_sl``: plus one per contact answered within its service-level threshold.

Each contact counts with its type's weight (``type_weights``, default 1): waiting costs
that differ by type are what makes priority worth learning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sim.kernel.cells import sl_thresholds
from sim.model.scenario import Scenario

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.state import Contact, RoutingState

COMPONENTS = ("wait", "abandon", "in_sl")
PRESETS: dict[str, dict[str, float]] = {
    "wait": {"wait": 1.0},
    "abandonment": {"abandon": 1.0},
    "service_level": {"in_sl": 1.0},
}
"""Named rewards: ``reward="wait"`` is ``reward={"wait": 1.0}``."""


def reward_weights(reward: str | Mapping[str, float]) -> dict[str, float]:
    """The coefficient of each component for a named or explicit reward; a clear
    ``ValueError`` for anything else."""
    if isinstance(reward, str):
        if reward == "net_value":
            raise ValueError("reward 'net_value' needs a cost model, which ccsim scenarios do not "
                             f"have yet; allowed: {', '.join(PRESETS)}, or a mapping of "
                             f"{', '.join(COMPONENTS)} to coefficients")
        if reward not in PRESETS:
            raise ValueError(f"reward {reward!r} is unknown; allowed: {', '.join(PRESETS)}, or a "
                             f"mapping of {', '.join(COMPONENTS)} to coefficients")
        return dict(PRESETS[reward])
    weights = {}
    for name, value in reward.items():
        if name not in COMPONENTS:
            raise ValueError(f"reward component {name!r} is unknown; allowed: "
                             f"{', '.join(COMPONENTS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValueError(f"reward component {name!r}: {value!r} is not a number")
        weights[name] = float(value)
    if not weights:
        raise ValueError(f"reward is empty; allowed: a mapping of {', '.join(COMPONENTS)} to "
                         "coefficients, e.g. {'wait': 1.0}")
    return weights


def type_weight_map(scenario: Scenario, weights: Mapping[str, float] | None) -> dict[str, float]:
    """Each contact type's weight: given ones (checked against the scenario), else 1."""
    given = dict(weights or {})
    for name, value in given.items():
        if name not in scenario.contact_types:
            raise ValueError(f"type_weights: {name!r} is not a contact type of scenario "
                             f"{scenario.name!r}; allowed: {', '.join(scenario.contact_types)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"type_weights: {name!r}: {value!r}; allowed: a number >= 0")
    return {name: float(given.get(name, 1.0)) for name in scenario.contact_types}


class RewardMeter:
    """Adds up one run's reward as contacts leave the queue; ``take`` empties it."""

    def __init__(self, scenario: Scenario, reward: str | Mapping[str, float],
                 type_weights: Mapping[str, float] | None = None) -> None:
        weights = reward_weights(reward)
        types = type_weight_map(scenario, type_weights)
        wait, abandon, in_sl = (weights.get(name, 0.0) for name in COMPONENTS)
        # Per type: reward of a minute of waiting, of an abandonment, of an answer in SL.
        self._per_minute = {t: -wait * w / 60.0 for t, w in types.items()}
        self._per_abandon = {t: -abandon * w for t, w in types.items()}
        self._per_in_sl = {t: in_sl * w for t, w in types.items()}
        self._threshold = sl_thresholds(scenario)
        self._holding = wait != 0.0
        self._left = 0.0
        """Weighted wait of the contacts that left the queue since the last ``take``."""
        self._waiting_before = 0.0
        """Weighted wait so far of the contacts waiting at the last ``take``."""
        self.pending = 0.0
        """Abandonment and service-level reward earned since the last ``take``."""

    def attach(self, kernel: Simulation) -> None:
        """Listen to answers and abandonments of ``kernel`` (after its stages are assembled)."""
        answered, abandoned = kernel.answered, kernel.abandoned
        per_minute, per_in_sl, per_abandon = self._per_minute, self._per_in_sl, self._per_abandon
        threshold = self._threshold

        def on_answer(contact: Contact, now: float) -> None:
            answered(contact, now)
            wait = now - contact.arrival
            kind = contact.type
            self._left += per_minute[kind] * wait
            if wait <= threshold[kind]:
                self.pending += per_in_sl[kind]

        def on_abandon(contact: Contact, now: float, waited: float) -> None:
            abandoned(contact, now, waited)
            self._left += per_minute[contact.type] * waited
            self.pending += per_abandon[contact.type]

        kernel.answered = on_answer
        kernel.abandoned = on_abandon

    def take(self, state: RoutingState) -> float:
        """The reward earned since the last call, up to now."""
        earned, self.pending = self.pending, 0.0
        if self._holding:
            # The waiting contacts' cost so far, less what was charged for them before:
            # O(queue) per step, only for rewards with a wait component.
            now, waiting = state.now, 0.0
            for kind, rate in self._per_minute.items():
                if rate and state.waiting_count(kind):
                    waiting += rate * sum(now - contact.arrival
                                          for contact in state.waiting(kind))
            earned += self._left + waiting - self._waiting_before
            self._left, self._waiting_before = 0.0, waiting
        return earned
