"""Customer profiles and the interaction predictor (with a ``predictor`` or ``outbound``
block): every finished interaction of a known customer is written to their profile, and
policies read the predictor's estimates through ``state.predictor``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.model.profile import (
    ABANDONED, INBOUND, SERVED, Interaction, InteractionPredictor, PredictorConfig, Priors,
    ProfileStore,
)
from sim.stages import Stage, listen_abandoned

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.model.scenario import Scenario
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class Profiles(Stage):
    """Writes served, abandoned and self-served contacts to the customers' profiles."""

    def __init__(self, kernel: Simulation, identity: IdentityStage) -> None:
        super().__init__(kernel)
        scenario = kernel.scenario
        population = identity.population
        config = scenario.predictor or PredictorConfig()
        self.store = ProfileStore(population.size, config.history_kept)
        self.store.seed_history(population, kernel.streams.generator("profile/history"),
                                config.history_days)
        patience: dict[str, list[float]] = {}
        for ctype in scenario.contact_types.values():
            patience.setdefault(ctype.channel, []).append(
                ctype.patience.mean if ctype.patience is not None else math.inf)
        priors = Priors.from_population(population, identity.hour_weights,
                                        {c: float(np.mean(v)) for c, v in patience.items()})
        self.predictor = InteractionPredictor(self.store, priors, config)
        kernel.state.predictor = self.predictor
        identity.profiles = self
        self._channels = kernel.cells.channel_of
        self._segment_patience = _segment_patience(scenario) if (
            scenario.customers is not None and scenario.customers.traits is not None) else None
        completed = kernel.completed

        def record_served(contact: Contact, agent: Agent, now: float, handled: float) -> None:
            self.record_inbound(contact, now, SERVED, contact.answered_at - contact.arrival)
            completed(contact, agent, now, handled)

        kernel.completed = record_served
        listen_abandoned(kernel, lambda contact, now, waited: self.record_inbound(
            contact, now, ABANDONED, waited))

    def record_inbound(self, contact: Contact, now: float, outcome: str, waited: float) -> None:
        """Write a finished inbound contact of a known customer to their profile."""
        customer = contact.customer
        if customer is None:
            return
        segment = self._segment_patience
        self.store.record(customer.id, Interaction(
            contact.arrival, now, self._channels[contact.type], INBOUND, outcome, waited,
            math.inf if segment is None else segment[contact.type, customer.tier]))


def _segment_patience(scenario: Scenario) -> dict[tuple[str, str], float]:
    """Mean patience by (contact type, tier): the scale of the customers' patience
    multipliers (``inf`` where patience is unlimited or zero: nothing to learn from)."""
    customers = scenario.customers
    assert customers is not None
    segments = {}
    for name, ctype in scenario.contact_types.items():
        mean = ctype.patience.mean if ctype.patience is not None else math.inf
        for tier in customers.tiers:
            scale = mean * customers.patience_factor.get(tier, 1.0)
            segments[name, tier] = scale if 0.0 < scale < math.inf else math.inf
    return segments
