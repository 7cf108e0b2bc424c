"""Proficiency, contact outcomes and the match criterion: what makes matching matter.

* ``proficiency``: agents hold skills (contact types) and, optionally, intents
  with a level (e.g. 1-10); the level sets a speed factor on handle time.
* ``outcomes``: a handled contact is resolved with a probability that grows
  with the agent's level (and a bonus when the agent is a match); an
  unresolved contact calls again later (a repeat contact).
* ``matching``: the scenario's best-match criterion, the same for every
  policy, so that the match hit rate compares policies fairly.

The engine evaluates these; routing policies only read levels, languages and
profiles to decide.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from sim.model.distributions import Distribution
from sim.errors import FieldError
from sim.model.fields import Number, Probability, StrictModel
from sim.kernel.streams import RandomStreams, Stream

if TYPE_CHECKING:
    from sim.model.scenario import AgentGroup, ContactType, Scenario
    from sim.state import Agent, Contact


MAX_SPEED_AT_LOWEST = 100.0
"""Largest ``speed_at_lowest``: the factor between is ``s + (1 - s) x fraction``, which
loses all precision for a huge ``s`` (1e20 gives 0 at the highest level, a division by
zero); 100 (a novice a hundred times as fast as an expert) is far beyond any real scale."""


class Proficiency(StrictModel):
    """The level scale and how a level changes speed."""

    lowest: Number = Field(default=1.0, description="Lowest level of the scale.")
    highest: Number = Field(default=10.0, description="Highest level; skills listed without a "
                            "level have this one.")
    speed_at_lowest: Number = Field(
        default=1.0, gt=0, le=MAX_SPEED_AT_LOWEST,
        description="Speed factor at the lowest level (1 at the highest, linear between): "
        "handle time is work / (agent speed x factor).")

    @model_validator(mode="after")
    def _ordered(self) -> Proficiency:
        if self.highest <= self.lowest:
            raise FieldError(("highest",), (
                f"highest {self.highest:g} is not above lowest {self.lowest:g}; "
                "allowed: highest > lowest, e.g. lowest: 1, highest: 10"))
        return self

    def fraction(self, level: float) -> float:
        """Where ``level`` lies on the scale, 0 at the lowest and 1 at the highest."""
        share = (level - self.lowest) / (self.highest - self.lowest)
        share = 0.0 if 0.0 > share else share  # max() and min() written out: per contact
        return 1.0 if 1.0 < share else share

    def speed_factor(self, level: float) -> float:
        """Multiplier on an agent's speed at ``level``."""
        return self.speed_at_lowest + (1.0 - self.speed_at_lowest) * self.fraction(level)


class Outcomes(StrictModel):
    """First-contact resolution and repeat contacts."""

    resolution_at_lowest: Probability = Field(
        description="Chance that a contact is resolved by an agent of the lowest level.")
    resolution_at_highest: Probability = Field(
        description="Chance at the highest level (linear between).")
    match_bonus: Probability = Field(
        default=0.0, description="Added to the chance when the agent meets the match criterion.")
    repeat_after: Distribution | None = Field(
        default=None, description="Delay before an unresolved contact calls again (same "
        "customer, same type); absent: unresolved contacts do not come back.")

    def resolution(self, fraction: float, matched: bool) -> float:
        """Chance of resolution at a level ``fraction`` of the scale."""
        base = self.resolution_at_lowest + (
            self.resolution_at_highest - self.resolution_at_lowest) * fraction
        chance = base + (self.match_bonus if matched else 0.0)
        return 1.0 if 1.0 < chance else chance


class Matching(StrictModel):
    """The best-match criterion: a handled contact is a hit when every enabled part holds."""

    language: bool = Field(
        default=False, description="The agent speaks the customer's language, and dialect when "
        "the customer has one (groups without languages listed speak every language).")
    min_level: Number | None = Field(
        default=None, description="The agent's level for the contact (its intent if the agent "
        "has a level for it, else its type) is at least this.")
    owner: bool = Field(
        default=False, description="When the customer has an owner (a mobile adviser or case "
        "owner), the owner serves.")
    preferred: bool = Field(
        default=False, description="When the customer was served before in the run, the same "
        "agent serves.")

    @model_validator(mode="after")
    def _something(self) -> Matching:
        if not (self.language or self.min_level is not None or self.owner or self.preferred):
            raise FieldError((), (
                "no part of the criterion is enabled; allowed: at least one of language: true, "
                "min_level: N, owner: true, preferred: true"))
        return self

    def criterion(self) -> MatchCriterion:
        """The criterion as plain values, for ``match_hit`` (read for every served contact)."""
        return MatchCriterion(self.min_level, self.language, self.owner, self.preferred)


class MatchCriterion(NamedTuple):
    """``Matching`` as plain values (a pydantic field read costs several plain ones)."""

    min_level: float | None
    language: bool
    owner: bool
    preferred: bool


def match_hit(criterion: MatchCriterion, agent: Agent, contact: Contact, level: float) -> bool:
    """Whether ``agent`` serving ``contact`` at ``level`` meets ``criterion``."""
    min_level, language, owner, preferred = criterion
    if min_level is not None and level < min_level:
        return False
    customer = contact.customer
    if customer is None:
        return True  # an unknown caller: only the level part can apply
    if language and agent.languages and not (
            customer.language in agent.languages
            and (customer.dialect is None or customer.dialect in agent.dialects)):
        return False
    if owner and customer.owner is not None and customer.owner != agent.seat:
        return False
    return not (preferred and customer.last_agent is not None
                and customer.last_agent != agent.id)


class QualityModel:
    """Per-replication evaluation of proficiency, matching, outcomes, repeats and rings.

    Draws come from streams of their own: ``outcome/<type>`` (one uniform per
    first contact, taken at arrival), ``repeat/<type>/...`` (repeat contacts)
    and ``ring/<group>/...`` (mobile agents), so that how many repeats or rings
    a policy causes never shifts the draws of first contacts. ``speed/<group>`` holds the
    speeds of a group whose ``speed`` is a distribution, one per agent in the order the
    agents are created.
    """

    def __init__(self, scenario: Scenario, streams: RandomStreams) -> None:
        self.proficiency = scenario.proficiency
        self.outcomes = scenario.outcomes
        self.matching = scenario.matching
        self.active = any(x is not None for x in (self.proficiency, self.outcomes, self.matching))
        self.repeats = self.outcomes is not None and self.outcomes.repeat_after is not None
        self._scale = self.proficiency or Proficiency()
        self._highest = self._scale.highest
        self._criterion = self.matching.criterion() if self.matching is not None else None
        # What a level gives, worked out by the models' own methods at its first use: the
        # agents' levels take a few values, and the methods read pydantic fields.
        self._speed_factors: dict[float, float] = {}
        self._chances: dict[tuple[float, bool], float] = {}
        self._streams = streams
        self._speeds: dict[str, Stream] = {}
        self._outcome: dict[str, Stream] = {}
        self._repeat: dict[str, tuple[Stream, ...]] = {}
        if self.outcomes is not None:
            for name, ctype in scenario.contact_types.items():
                self._outcome[name] = streams.stream(f"outcome/{name}", _uniforms)
                if self.outcomes.repeat_after is not None:
                    self._repeat[name] = (
                        streams.stream(f"repeat/{name}/delay", self.outcomes.repeat_after.sample),
                        *follow_up_streams(streams, f"repeat/{name}", ctype),
                    )
        self._ring = {
            name: (streams.stream(f"ring/{name}/delay", group.mobile.ring.sample),
                   streams.stream(f"ring/{name}/answer", _uniforms), group.mobile.answer)
            for name, group in scenario.agents.items() if group.mobile is not None
        }

    def equip(self, agent: Agent, group: AgentGroup) -> None:
        """Give a new agent its speed (drawn when ``group.speed`` is a distribution),
        levels, speeds per type, languages and mobility."""
        highest = self._scale.highest
        if not isinstance(group.speed, float):  # drawn per agent, from the group's stream
            stream = self._speeds.get(agent.group)
            if stream is None:
                stream = self._speeds[agent.group] = self._streams.stream(
                    f"speed/{agent.group}", group.speed.sample)
            agent.speed *= stream.next_value()
            agent.speed_for = dict.fromkeys(agent.skills, agent.speed)
        agent.levels = {skill: group.level(skill, highest)
                        for skill in (*group.skills, *group.intent_levels)}
        if self.proficiency is not None:
            agent.speed_for = {skill: agent.speed * self.proficiency.speed_factor(
                agent.levels[skill]) for skill in group.skills}
        agent.languages = frozenset(group.languages)
        agent.dialects = frozenset(group.dialects)
        agent.mobile = group.mobile is not None

    def level(self, agent: Agent, contact: Contact) -> float:
        """The agent's level for a contact: for its intent if the agent has one, else its type."""
        caller = contact.identity
        if caller is not None and caller.intent in agent.levels:
            return agent.levels[caller.intent]
        return agent.levels.get(contact.type, self._highest)

    def decide(self, agent: Agent, contact: Contact) -> float:
        """At service start: set the contact's match and resolution; return the speed."""
        level = self.level(agent, contact)
        contact.matched = matched = self._criterion is not None and match_hit(
            self._criterion, agent, contact, level)
        if self.outcomes is not None:
            chance = self._chances.get((level, matched))
            if chance is None:
                chance = self._chances[level, matched] = self.outcomes.resolution(
                    self._scale.fraction(level), matched)
            contact.resolved = contact.outcome_u < chance
        if self.proficiency is None:
            return agent.speed_for[contact.type]
        factor = self._speed_factors.get(level)
        if factor is None:
            factor = self._speed_factors[level] = self.proficiency.speed_factor(level)
        return agent.speed * factor

    def outcome_draw(self, contact_type: str) -> float:
        """The resolution uniform of a first contact of ``contact_type``."""
        return self._outcome[contact_type].next_value()

    def repeat_draw(self, contact_type: str) -> tuple[float, float, float, float, float]:
        """(delay, patience, work, wrap-up, resolution uniform) of a repeat contact."""
        return tuple(s.next_value() for s in self._repeat[contact_type])  # type: ignore[return-value]

    def ring_draw(self, group: str) -> tuple[float, bool]:
        """(ring time, whether the agent answers) for one ring of a mobile agent of ``group``."""
        delay, answer, chance = self._ring[group]
        return delay.next_value(), answer.next_value() < chance


def follow_up_streams(streams: RandomStreams, prefix: str,
                      ctype: ContactType) -> tuple[Stream, Stream, Stream, Stream]:
    """Streams of a later contact of the same customer (a repeat or a retry) of type
    ``ctype``: patience, work, wrap-up and the resolution uniform, under ``prefix``."""
    return (
        streams.stream(f"{prefix}/patience", ctype.patience.sample)
        if ctype.patience is not None else constant_stream(math.inf),
        streams.stream(f"{prefix}/service", ctype.handle_time.sample),
        streams.stream(f"{prefix}/wrapup", ctype.wrap_up.sample)
        if ctype.wrap_up is not None else constant_stream(0.0),
        streams.stream(f"{prefix}/outcome", _uniforms),
    )


def _uniforms(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.random(size)


def constant_stream(value: float) -> Stream:
    """A stream that always yields ``value`` (for an absent optional distribution)."""
    return Stream(None, lambda rng, size: np.full(size, value))  # type: ignore[arg-type]
