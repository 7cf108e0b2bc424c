"""Contextual routing as matchmaking (domain brief S1, S6, S7): score every compatible
(contact, idle agent) pair on language, proficiency and the customer's profile; hold a
contact for a qualified agent for a while, then relax."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field

from sim.model.fields import Duration, Int, Number, OptionalNumber
from sim.model.outcomes import Proficiency

from .base import PolicyConfigError, PolicyParams, register_policy

if TYPE_CHECKING:
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState

DEFAULT_PATIENCE = 420.0
"""Time scale of urgency for contact types without patience: the mean patience of the
bank in the domain brief (about 7 min)."""

NEUTRAL_SENTIMENT = 0.5
"""Sentiment assumed for callers without a profile (the middle of the 0-1 scale)."""

_Signature = tuple[str, "str | None", "str | None", "str | None"]
"""(type, intent, language, dialect) of a contact: all that its pair terms read."""

_TOLERANCE = 1e-6
"""Seconds: a recheck that lands a rounding error before the timeout counts as after it."""


class ContextualWeights(PolicyParams):
    """Weights of the score terms; each term lies in [0, 1]."""

    language: Number = Field(default=1.0, ge=0, description=(
        "Language match: 1 language and dialect, 0.5 language only, 0 neither."))
    level: Number = Field(default=1.0, ge=0, description=(
        "The agent's level for the contact's intent (else type) on the proficiency scale."))
    patience: Number = Field(default=0.5, ge=0, description=(
        "Urgency of a waiting contact: wait / (wait + predicted patience)."))
    sentiment: Number = Field(default=0.25, ge=0, description=(
        "1 - customer sentiment: unhappy customers are served first."))
    idle: Number = Field(default=0.1, ge=0, description=(
        "Agent idle time relative to the longest-idle candidate (fairness among agents)."))


class ContextualParams(PolicyParams):
    """Parameters of the ``contextual`` policy."""

    weights: ContextualWeights = Field(default_factory=ContextualWeights)
    min_level: OptionalNumber = Field(default=None, description=(
        "Level (intent if the agent lists it, else type) an agent needs to take a contact "
        "that has waited less than wait_for_match, e.g. 9.5; absent: no threshold."))
    require_language: bool = Field(default=True, description=(
        "Within wait_for_match, only agents speaking the customer's language and dialect "
        "(as matching.language) may take the contact."))
    wait_for_match: Duration = Field(default=30.0, ge=0, description=(
        "How long a contact waits for a qualified agent before any skilled agent may take it."))
    candidates: Int = Field(default=32, ge=1, description=(
        "Idle agents (longest idle first), or waiting contacts (the oldest of each of the "
        "agent's skills, shared evenly), scored per decision: bounds its cost in large "
        "centers."))

    def check_against(self, scenario: Scenario) -> None:
        """``min_level`` must lie on the scenario's proficiency scale."""
        scale = scenario.proficiency or Proficiency()
        if self.min_level is not None and not scale.lowest <= self.min_level <= scale.highest:
            raise PolicyConfigError(("min_level",), (
                f"{self.min_level:g} is off the proficiency scale; allowed: {scale.lowest:g} "
                f"to {scale.highest:g} (proficiency.lowest to proficiency.highest)"))


@register_policy("contextual", ContextualParams)
class ContextualPolicy:
    """Best (contact, agent) pair by language, level and profile; waits for a match, then relaxes.

    Score of a pair = w_language x language match + w_level x level on the scale
    + w_patience x urgency + w_sentiment x (1 - sentiment) + w_idle x idle share.
    An arriving contact takes the best-scoring idle agent (the contact terms are the
    same for every agent, so language, level and idle time decide); a freed agent
    takes the best-scoring waiting contact (its idle term is the same for every
    contact, so match, urgency and sentiment decide). Ties go to the longest-idle
    agent and to the oldest contact. Only the ``candidates`` longest-idle agents, or
    about as many of the oldest waiting contacts, are scored: a decision costs the
    same however large the center, at the price of missing a better agent further
    down the idle order.

    Qualified: level >= ``min_level`` and, with ``require_language``, the customer's
    language and dialect spoken. Until a contact has waited ``wait_for_match`` only
    qualified agents may take it; ``recheck_after`` asks the engine to offer it
    again at that moment, when any skilled agent may. A contact for which no agent
    group of the scenario qualifies is not held at all.

    Predicted patience is the contact type's mean patience x the tier's
    ``customers.patience_factor`` x (1 - the customer's churn risk): customers at risk
    of leaving are the ones who hang up (S1 treats such a caller's patience as short).
    Where the scenario keeps customer profiles, the customer's own record counts too:
    with ``customers.traits``, the type's mean is multiplied by the interaction
    predictor's learned patience multiplier (censored waits, shrunk towards 1:
    docs/customer_behaviour.md); without, it is replaced by the predictor's channel
    estimate if that is shorter. Urgency wait / (wait + predicted patience) grows with waiting, so it
    also ages every contact. Only language, skills and profile scores are used,
    never protected characteristics (domain brief, ethics).
    """

    work_conserving = False  # a contact waits up to wait_for_match for a qualified agent
    decision_cost = "scoring"

    def __init__(self, params: ContextualParams, scenario: Scenario) -> None:
        weights = params.weights
        # Plain floats: read for every candidate of every decision.
        self._w_language = weights.language
        self._w_level = weights.level
        self._w_patience = weights.patience
        self._w_sentiment = weights.sentiment
        self._w_idle = weights.idle
        self._min_level = params.min_level
        self._require_language = params.require_language
        self._wait = params.wait_for_match
        self._candidates = params.candidates
        scale = self._scale = scenario.proficiency or Proficiency()
        self._highest = scale.highest
        self._patience = {
            name: ctype.patience.mean if ctype.patience is not None else DEFAULT_PATIENCE
            for name, ctype in scenario.contact_types.items()}
        self._tier_patience = scenario.customers.patience_factor if scenario.customers else {}
        # With traits a customer's patience is their own: the predictor learns it as a
        # multiplier of the segment's. Without, the channel estimate capped by the type's
        # mean is kept as it was (it never falls below the mean, so it changes nothing).
        self._learned = scenario.customers is not None and scenario.customers.traits is not None
        self._channels = {name: ctype.channel for name, ctype in scenario.contact_types.items()}
        # Per group (skills, levels, languages, dialects), as the engine equips its agents.
        self._groups = [
            (frozenset(group.skills),
             {skill: group.level(skill, scale.highest)
              for skill in (*group.skills, *group.intent_levels)},
             frozenset(group.languages), frozenset(group.dialects))
            for group in scenario.agents.values()]
        self._holds_for: dict[_Signature, bool] = {}
        self._pairs: dict[tuple[int, _Signature], tuple[float, bool]] = {}

    # ------------------------------------------------------------------ scoring
    def level(self, levels: dict[str, float], contact: ContactView) -> float:
        """An agent's level (from its ``levels``) for the contact: its intent if the agent
        lists it, else its type (the engine's rule for outcomes), else the top of the scale."""
        caller = contact.identity
        if caller is not None and caller.intent in levels:
            return levels[caller.intent]
        return levels.get(contact.type, self._highest)

    def _qualified(self, level: float, language: float) -> bool:
        return (self._min_level is None or level >= self._min_level) and (
            not self._require_language or language == 1.0)

    def _pair_terms(self, agent: AgentView, contact: ContactView,
                    signature: _Signature) -> tuple[float, bool]:
        """The language and level part of the score of a pair, and whether the agent is
        qualified for the contact (of ``signature``), kept in ``_pairs``: both depend only
        on the agent (fixed skills, levels and languages) and the contact's signature, so
        the decisions look them up there first, and call this only the first time."""
        language = _language(agent.languages, agent.dialects, contact)
        level = self.level(agent.levels, contact)
        terms = self._pairs[agent.id, signature] = (
            self._w_language * language + self._w_level * self._scale.fraction(level),
            self._qualified(level, language))
        return terms

    def _contact_terms(self, contact: ContactView, waited: float, state: RoutingState) -> float:
        """Urgency and sentiment part of the score."""
        customer = contact.customer
        patience = self._patience[contact.type]
        sentiment = NEUTRAL_SENTIMENT
        if customer is not None:
            predictor = state.predictor
            if predictor is not None:  # the customer's own record (S1, S7), when kept
                if self._learned:
                    patience *= predictor.patience_multiplier(customer.id, state.now)
                else:
                    # min() and max() written out: 3.11's parse keywords on every call.
                    known = predictor.patience(customer.id, self._channels[contact.type],
                                               state.now)
                    patience = known if known < patience else patience
            patience *= self._tier_patience.get(customer.tier, 1.0) * (1.0 - customer.churn_risk)
            sentiment = customer.sentiment
        urgency = waited / (waited + (1.0 if 1.0 > patience else patience))
        return self._w_patience * urgency + self._w_sentiment * (1.0 - sentiment)

    @staticmethod
    def _signature(contact: ContactView) -> _Signature:
        """What the language and level terms and qualification read of a contact: its
        type, the caller's intent, the customer's language and dialect."""
        customer, caller = contact.customer, contact.identity
        return (contact.type, caller.intent if caller is not None else None,
                customer.language if customer is not None else None,
                customer.dialect if customer is not None else None)

    def _holds(self, contact: ContactView, signature: _Signature) -> bool:
        """Whether the contact (of ``signature``) is held for a qualified agent:
        qualification must matter for it, and some group of the scenario must qualify
        (waiting for an agent who does not exist only makes the caller wait)."""
        if self._min_level is None and not (self._require_language
                                            and contact.customer is not None):
            return False
        holds = self._holds_for.get(signature)
        if holds is None:
            holds = self._holds_for[signature] = any(
                contact.type in skills and self._qualified(
                    self.level(levels, contact), _language(languages, dialects, contact))
                for skills, levels, languages, dialects in self._groups)
        return holds

    def _relaxed(self, contact: ContactView, waited: float, signature: _Signature) -> bool:
        """Whether any skilled agent may take the contact (of ``signature``) now."""
        return waited >= self._wait - _TOLERANCE or not self._holds(contact, signature)

    # ---------------------------------------------------------------- decisions
    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        now = state.now
        signature = self._signature(contact)
        relaxed = self._relaxed(contact, now - contact.arrival, signature)
        best: AgentView | None = None
        best_score = -math.inf
        longest: float | None = None
        pairs = self._pairs
        for agent in idle_candidates(contact, state, self._candidates):
            idle = now - agent.idle_since
            if longest is None:
                longest = idle  # the longest idle comes first
            score, qualified = (pairs.get((agent.id, signature))
                                or self._pair_terms(agent, contact, signature))
            if not (relaxed or qualified):
                continue  # held for a qualified agent
            if longest > 0.0:
                score += self._w_idle * idle / longest
            if score > best_score:
                best, best_score = agent, score
        return best

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        now = state.now
        best: ContactView | None = None
        best_score = -math.inf
        for contact in waiting_candidates(agent, state, self._candidates):
            waited = now - contact.arrival
            signature = self._signature(contact)
            score, qualified = (self._pairs.get((agent.id, signature))
                                or self._pair_terms(agent, contact, signature))
            if not (qualified or self._relaxed(contact, waited, signature)):
                continue  # held for a qualified agent
            score += self._contact_terms(contact, waited, state)
            if best is None or score > best_score or (
                    score == best_score and contact.arrival < best.arrival):
                best, best_score = contact, score
        return best

    def recheck_after(self, contact: ContactView, state: RoutingState) -> float | None:
        """Offer a restricted contact again when its wait for a qualified agent ends."""
        if not self._holds(contact, self._signature(contact)):
            return None
        left = self._wait - (state.now - contact.arrival)
        return left if left > _TOLERANCE else None


def _language(languages: frozenset[str], dialects: frozenset[str], contact: ContactView) -> float:
    """1: the agent speaks the customer's language and dialect (or every language, or the
    caller has no profile); 0.5: the language only; 0: neither."""
    customer = contact.customer
    if customer is None or not languages:
        return 1.0
    if customer.language not in languages:
        return 0.0
    return 0.5 if customer.dialect is not None and customer.dialect not in dialects else 1.0


def idle_candidates(contact: ContactView, state: RoutingState, limit: int) -> list[AgentView]:
    """Up to ``limit`` idle agents with the contact's skill, longest idle first, leaving out
    mobile agents who let it ring unanswered (it falls back to the center)."""
    return state.first_idle_agents(contact.type, limit, contact.unanswered)


def waiting_candidates(agent: AgentView, state: RoutingState, limit: int) -> list[ContactView]:
    """About ``limit`` waiting contacts ``agent`` can serve, leaving out those that rang it
    unanswered: the oldest of each of its skills, the limit shared evenly among them (at
    least one each)."""
    share = max(1, -(-limit // len(agent.open)))
    contacts: list[ContactView] = []
    for skill in agent.open:
        contacts += state.first_waiting(skill, share, agent.id)
    return contacts
