"""Experience feeds behaviour (``churn`` block): bad experiences make customers leave.

A known customer's bad experience (a long wait, an abandonment, an unresolved contact, a
genuine customer refused by verification) makes them leave with the configured chance,
decided by the customer's own tolerance from the stream ``churn/tolerance``: the
arrival, patience and customer draws are untouched, and the same customer with the same
experiences leaves under every policy (common random numbers). A customer who left makes no
more contacts: the identity stage picks callers as before and drops the contact of one
who left (``IdentityStage.experience``), and the follow-ups stage drops their retrials
and repeats, so nothing else shifts. A customer who stays carries the experience to later
contacts: lower sentiment, a higher churn risk and, when configured, less patience.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.model.customers import GENUINE, Customer
from sim.model.sharing import floats
from sim.stages import Stage, listen_abandoned
from sim.stages.cell_totals import CellTotals
from sim.stages.identity import claimed

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact

CHURNED, VALUE_LOST = range(2)
"""Columns of the stage's cell totals."""


class Churn(Stage):
    """Listens to answers, abandonments, completions and refusals in the IVR."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> Churn | None:
        if kernel.scenario.churn is None:
            return None
        assert identity is not None  # the scenario check asks for customers
        return cls(kernel, identity)

    def __init__(self, kernel: Simulation, identity: IdentityStage) -> None:
        super().__init__(kernel)
        spec = kernel.scenario.churn
        assert spec is not None
        self._spec = spec
        # Each customer's tolerance: a unit exponential from the stream ``churn/tolerance``,
        # drawn for the whole base at once. A customer leaves when their bad experiences'
        # cumulative hazard, the sum of -log(1 - chance), reaches it: each experience then
        # drives a customer who stayed so far away with its own chance, and the same
        # customer with the same experiences leaves under every policy (common random
        # numbers where a draw per experience would pair different customers).
        population = kernel.scenario.customers.population  # type: ignore[union-attr]
        self._tolerance = floats(kernel.streams.generator("churn/tolerance")
                                 .standard_exponential(population))
        self.left: set[int] = set()
        """Customers who left in this run."""
        self._bad: dict[int, tuple[int, float]] = {}
        """Per customer who stayed after a bad experience: (bad experiences, their
        cumulative hazard), read on their later contacts."""
        self.totals = CellTotals(kernel.cells, 2)
        """Churned customers and their value lost, per cell of the contact that drove them
        away (counted contacts only)."""
        identity.experience = self.experience
        identity.refused = self._refused
        answered, completed = kernel.answered, kernel.completed
        long_wait, hazard = spec.long_wait, spec.hazard

        def answered_after_long_wait(contact: Contact, now: float) -> None:
            answered(contact, now)
            if now - contact.arrival > long_wait and not contact.callback:
                self._bad_experience(contact, hazard.long_wait)

        def completed_well_or_not(contact: Contact, agent: Agent, now: float,
                                  handled: float) -> None:
            completed(contact, agent, now, handled)
            caller = contact.identity
            if caller is not None and caller.verified is False:
                self._bad_experience(contact, hazard.refused)
            elif not contact.resolved:
                self._bad_experience(contact, hazard.unresolved)

        kernel.answered, kernel.completed = answered_after_long_wait, completed_well_or_not
        listen_abandoned(kernel, lambda contact, now, waited:
                         self._bad_experience(contact, hazard.abandoned))

    def experience(self, contact: Contact, customer: Customer, genuine: bool) -> bool:
        """Whether the contact of ``customer`` happens (False: they left); if it does, it
        and the customer's record carry their bad experiences so far."""
        if not genuine:
            return True  # a fraudster calls whether or not the victim left
        if customer.id in self.left:
            kernel = self.kernel
            if kernel.trace is not None:  # the id is taken: say why no call came of it
                kernel.trace.contact(kernel, contact, "customer_left", kernel.clock.now)
            if kernel.arrivals == kernel.max_arrivals:
                kernel.drain_check()
            return False
        seen = self._bad.get(customer.id)
        if seen is not None:
            count, hazard = seen
            customer.sentiment = max(customer.sentiment - count * self._spec.sentiment_drop, 0.0)
            customer.churn_risk = 1.0 - (1.0 - customer.churn_risk) * math.exp(-hazard)
            contact.patience *= self._spec.patience_factor ** count
        return True

    def _refused(self, contact: Contact) -> None:
        self._bad_experience(contact, self._spec.hazard.refused)

    def _bad_experience(self, contact: Contact, chance: float) -> None:
        """A bad experience of the contact's customer, if a genuine known one who has not
        left: they leave with ``chance``."""
        customer = claimed(contact)  # known to the center or not, the customer lives it
        caller = contact.identity
        if customer is None or (caller is not None and caller.kind != GENUINE) \
                or customer.id in self.left:
            return
        count, total = self._bad.get(customer.id, (0, 0.0))
        total += -math.log1p(-chance) if chance < 1.0 else math.inf
        if total < self._tolerance[customer.id]:
            self._bad[customer.id] = (count + 1, total)
            return
        self.left.add(customer.id)
        self._bad.pop(customer.id, None)
        if contact.counted:
            totals = self.totals.of[contact.cell]
            totals[CHURNED] += 1
            totals[VALUE_LOST] += customer.value * self._spec.value_share

    def report(self, result: ReplicationResult) -> None:
        for figures, (churned, value_lost) in self.totals.scopes(result):
            figures["churned"] = churned
            figures["value_lost"] = value_lost
