"""Which idle agent takes a contact among those allowed: the orderings of real ACDs, shared
by the ``acd`` policy (Asterisk/FreeSWITCH strategy names) and the ``workflow`` policy
(``order_by``, which accepts both vocabularies).

Agents come as a list, longest idle first, each with a rank (a penalty, or the workflow
step that admits it): lower ranks take contacts first. ``AgentTally`` remembers what the
orderings need across decisions (contacts taken, talk time, the last agent given one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sim.state import AgentView, RoutingState

Ordering = Literal["longest_idle", "best_skill", "least_occupied", "fewest_contacts",
                   "least_talk_time", "round_robin", "random", "weighted_random", "linear",
                   "ringall", "leastrecent", "fewestcalls", "rrmemory", "wrandom"]
"""``order_by`` values: ccsim's names and, as aliases, the Asterisk ``app_queue`` strategy
names (leastrecent, fewestcalls, rrmemory, wrandom, ringall, linear, random)."""

ALIASES: dict[str, str] = {"leastrecent": "longest_idle", "fewestcalls": "fewest_contacts",
                           "rrmemory": "round_robin", "wrandom": "weighted_random"}
"""Asterisk names to ccsim's (ringall rings every allowed agent: with no ring time for
seated agents a random one answers, so it picks as ``random`` does)."""

ORDERING_HELP = (
    "longest_idle (leastrecent), best_skill (highest level for the contact), least_occupied "
    "(least share of time busy since its first contact), fewest_contacts (fewestcalls), "
    "least_talk_time, round_robin (rrmemory: the next in order after the last one given a "
    "contact), random, ringall, weighted_random (wrandom: weight 1 / (1 + rank) over every "
    "allowed agent), linear (always the first in order)")

ALL_IDLE = 1 << 30
"""No limit on the idle agents a scanning ordering reads (``first_idle_agents``)."""

TALLIED = frozenset({"least_occupied", "least_talk_time"})
"""Orderings that need each finished contact's handle time (the policy's ``observe``)."""


def canonical(ordering: str) -> str:
    """ccsim's name of an ordering given by either name."""
    return ALIASES.get(ordering, ordering)


class AgentTally:
    """Per-agent counts the orderings read, for one run of one policy.

    ``order`` lists agent groups in the order linear and round robin go through them
    (agents by seat within a group); groups not listed follow in ``groups`` order.
    """

    def __init__(self, groups: list[str], order: tuple[str, ...] = ()) -> None:
        ranked = list(order) + [g for g in groups if g not in order]
        self._group_rank = {name: rank for rank, name in enumerate(ranked)}
        self._taken: dict[int, int] = {}
        """Contacts each agent has taken in the run (fewest_contacts)."""
        self._talk: dict[int, float] = {}
        """Handle time each agent has finished in the run (least_talk_time)."""
        self._first: dict[int, float] = {}
        """When each agent's first finished contact started (least_occupied)."""
        self._last: tuple[int, int] = (-1, -1)
        """Order key of the agent given the last contact (round_robin)."""

    def gave(self, agent: AgentView) -> None:
        """``agent`` takes a contact now."""
        self._taken[agent.id] = self._taken.get(agent.id, 0) + 1
        self._last = self.order_key(agent)

    def add_talk(self, agent: AgentView, handle_time: float, now: float) -> None:
        """``agent`` finished a contact of ``handle_time`` seconds at ``now``."""
        self._talk[agent.id] = self._talk.get(agent.id, 0.0) + handle_time
        self._first.setdefault(agent.id, now - handle_time)

    def order_key(self, agent: AgentView) -> tuple[int, int]:
        """Position in the ACD's member list: group order, then seat."""
        return self._group_rank.get(agent.group, len(self._group_rank)), agent.seat[1]

    def _occupied(self, agent: AgentView, now: float) -> float:
        first = self._first.get(agent.id)
        return 0.0 if first is None or now <= first else self._talk[agent.id] / (now - first)

    def pick(self, ordering: str, able: list[AgentView], state: RoutingState,
             rank: Callable[[AgentView], float],
             level: Callable[[AgentView], float] | None = None) -> AgentView:
        """The agent ``ordering`` (a canonical name) picks among ``able`` (longest idle
        first, not empty): among those of the lowest ``rank``, except weighted random,
        which weighs every agent by its rank. ``level`` gives an agent's level for the
        contact (best_skill)."""
        if ordering == "weighted_random":
            weights = [1.0 / (1.0 + rank(agent)) for agent in able]
            total = sum(weights)
            return able[int(state.random.choice(len(able), p=[w / total for w in weights]))]
        lowest = min(rank(agent) for agent in able)
        tier = [agent for agent in able if rank(agent) == lowest]
        if ordering == "longest_idle":
            return tier[0]
        if ordering == "best_skill":
            assert level is not None
            return min(tier, key=lambda agent: -level(agent))
        if ordering in ("random", "ringall"):
            return tier[int(state.random.integers(len(tier)))]
        if ordering == "fewest_contacts":
            return min(tier, key=lambda agent: self._taken.get(agent.id, 0))
        if ordering == "least_talk_time":
            return min(tier, key=lambda agent: self._talk.get(agent.id, 0.0))
        if ordering == "least_occupied":
            now = state.now
            return min(tier, key=lambda agent: self._occupied(agent, now))
        if ordering == "linear":
            return min(tier, key=self.order_key)
        last = self._last  # round robin: the first in order after the last one, cyclically
        return min(tier, key=lambda agent: (self.order_key(agent) <= last,
                                            self.order_key(agent)))
