"""Skills-based routing with proficiency levels: any skilled agent or the best available one,
an optional minimum level per contact type, and what a freed agent picks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import Field

from sim.model.fields import Number
from sim.model.outcomes import Proficiency

from .base import PolicyConfigError, PolicyParams, register_policy

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState


Order = Callable[[str, "AgentView", float], Any]
"""How a policy orders idle agents for a contact type, given each agent's level."""


class Levels:
    """Agents' levels for contacts as the engine reads them (``sim.outcomes``): the level for
    the contact's intent when the agent lists one, else for its type; the top of the scale
    when the agent lists neither. ``order`` ranks idle agents for ``best_idle``."""

    def __init__(self, scenario: Scenario, order: Order) -> None:
        self.highest = (scenario.proficiency or Proficiency()).highest
        self.intents = frozenset(i for g in scenario.agents.values() for i in g.intent_levels)
        """Intents some group lists a level for: only these change an agent's level."""
        self._order = order
        self._rankings: dict[tuple[str, str | None], Callable[[AgentView], Any]] = {}

    def context(self, contact: ContactView) -> str | None:
        """The intent that decides agents' levels for ``contact``, or None (its type does)."""
        caller = contact.identity
        return caller.intent if caller is not None and caller.intent in self.intents else None

    def of(self, agent: AgentView, contact_type: str, context: str | None) -> float:
        """``agent``'s level for a contact of ``contact_type`` in ``context``."""
        levels = agent.levels
        level = levels[context] if context in levels else levels.get(contact_type)
        return self.highest if level is None else level

    def ranking(self, contact_type: str, context: str | None) -> Callable[[AgentView], Any]:
        """``agent -> order(contact_type, agent, level)`` with the agent's level for this type
        and context: one function object per (type, context), as ``RoutingState.best_idle``
        needs."""
        ranking = self._rankings.get((contact_type, context))
        if ranking is None:
            order = self._order

            def ranking(agent: AgentView) -> Any:
                return order(contact_type, agent, self.of(agent, contact_type, context))
            self._rankings[contact_type, context] = ranking
        return ranking

    def waiting(self, agent: AgentView,
                state: RoutingState) -> list[tuple[str, float, ContactView]]:
        """``(type, level, contact)``: the oldest waiting contact of each of ``agent``'s
        skills (of each intent, when intents change levels) with the agent's level for it."""
        if not self.intents:
            levels, highest = agent.levels, self.highest
            return [(contact_type, levels.get(contact_type, highest), contact)
                    for contact_type in agent.open
                    if (contact := state.oldest_waiting(contact_type)) is not None]
        return [(contact_type, self.of(agent, contact_type, intent), contact)  # type: ignore[arg-type]
                for contact_type in agent.open
                for intent, contact in state.oldest_waiting_each(contact_type, "intent")]


class SkillsParams(PolicyParams):
    """Parameters of the ``skills`` policy."""

    mode: Literal["longest_idle", "best_proficiency"] = Field(
        default="best_proficiency",
        description="Which idle agent takes an arriving contact: the longest-idle eligible one, "
        "or the one with the highest level for it (longest idle among equals).")
    pick: Literal["oldest", "best_skill"] = Field(
        default="oldest",
        description="Which waiting contact a freed agent takes: the oldest it may serve, or the "
        "oldest of those it has its highest level for.")
    min_level: dict[str, Number] = Field(
        default_factory=dict,
        description="Per contact type, the level an agent needs to take it (for the contact's "
        "intent if the agent lists one, else its type); types not listed: no minimum.")

    def check_against(self, scenario: Scenario) -> None:
        """Every type must exist and some group must reach its minimum."""
        highest = (scenario.proficiency or Proficiency()).highest
        for name, level in self.min_level.items():
            if name not in scenario.contact_types:
                known = ", ".join(scenario.contact_types)
                raise PolicyConfigError(
                    ("min_level", name), f"unknown contact type {name!r}; known: {known}")
            best = max((max([group.level(name, highest), *group.intent_levels.values()])
                        for group in scenario.agents.values() if name in group.skills),
                       default=-math.inf)
            if best < level:
                raise PolicyConfigError(("min_level", name), (
                    f"no agent group reaches level {level:g} for {name!r}, so its contacts "
                    f"would never be served; allowed: at most {best:g}"))


@register_policy("skills", SkillsParams)
class SkillsPolicy:
    """Skills with proficiency levels: a minimum per type; the longest-idle or best-level agent.

    An agent may take a contact when it has the contact's type as a skill and
    its level for the contact reaches the type's ``min_level``. An agent's level
    for a contact is its level for the contact's intent when its group lists one
    (``intent_levels``), else for the type (a skills list without levels means
    the top of the ``proficiency`` scale). An arriving contact takes, per
    ``mode``, the longest-idle eligible agent or the eligible agent with the
    highest level (longest idle among equals). A freed agent takes, per
    ``pick``, the oldest contact it may serve or the oldest among those it has
    its highest level for. Idle agents are kept per skill in this order (a
    heap) and waiting contacts per intent, so a decision costs O(1) or O(skills
    x intents), never O(agents).
    """

    work_conserving = False  # with min_level, a contact waits for a qualified agent

    def __init__(self, params: SkillsParams, scenario: Scenario) -> None:
        self._levels = Levels(scenario, self._order)
        self._min_level = {name: params.min_level.get(name, -math.inf)
                           for name in scenario.contact_types}
        self._best_agent = params.mode == "best_proficiency"
        self._best_skill = params.pick == "best_skill"

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        contact_type, context = contact.type, self._levels.context(contact)
        return state.best_idle(contact_type, self._levels.ranking(contact_type, context),
                               below=_INELIGIBLE)

    def _order(self, contact_type: str, agent: AgentView, level: float) -> tuple[bool, float]:
        """Eligible agents first; in best_proficiency mode, the highest level first."""
        return level < self._min_level[contact_type], -level if self._best_agent else 0.0

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        return _best([((-level if self._best_skill else 0.0, contact.arrival), contact)
                      for contact_type, level, contact in self._levels.waiting(agent, state)
                      if level >= self._min_level[contact_type]])


_INELIGIBLE = (True,)
"""A bound for ``best_idle``: eligible agents' ranks, ``(False, ...)``, lie below it and
ineligible ones', ``(True, ...)``, do not."""

T = TypeVar("T")


def _best(ranked: list[tuple[tuple[float, float], T]]) -> T | None:
    """The item of the lowest rank (the first among equals), or None."""
    return min(ranked, key=_rank)[1] if ranked else None


def _rank(item: tuple[tuple[float, float], object]) -> tuple[float, float]:
    return item[0]
