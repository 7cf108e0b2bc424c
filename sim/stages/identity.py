"""Customers, identity resolution, the IVR and verification (with a ``customers`` block).

Replaces the kernel's ``admit``: a new contact is resolved to a caller (a known customer,
a prospect or a fraudster, passive signals, a journey from a digital session), counted in
its customer's tier cell, and spends its IVR and IVR-verification time here before it is
routed; self-service and callers refused in the IVR end here. At the end of service the
verification outcome is counted (``completed``), and every answer records the customer's
last agent (``assign``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.kernel.metrics import IdentityCell
from sim.model.customers import FRAUD, GENUINE, PROSPECT, Customer, snapshot
from sim.model.identity import Caller, GroupChecks, IdentityModel
from sim.model.profile import SELF_SERVED, Interaction
from sim.model.traits import CustomerTraits
from sim.stages import Stage
from sim.kernel.streams import uniform_pairs

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.kernel.streams import Stream
    from sim.stages.profiles import Profiles
    from sim.state import Agent, Contact


class _Journey(NamedTuple):
    """A contact type's ``journey`` as plain values (read for every contact of the type)
    and its stream of (escalated, logged in) uniform pairs."""

    share: float
    recognised: float
    start: str
    uniforms: Stream


class IdentityStage(Stage):
    """Who calls, how they are recognised and verified, and the IVR."""

    def __init__(self, kernel: Simulation, verification: str | None) -> None:
        super().__init__(kernel)
        scenario = kernel.scenario
        spec = scenario.identity
        kernel.verification = verification or (
            spec.verification.strategies[0] if spec is not None else None)
        self.model = self._model(kernel)
        self.population = self.model.population
        self._last_agent = self.population.columns.last_agent
        self._cost_per_second = spec.agent_cost_per_hour / 3600.0 if spec is not None else 0.0
        self._channels = kernel.cells.channel_of
        self._tier_cells = kernel.cells.tier
        customers = scenario.customers
        assert customers is not None
        self.patience_factor = {tier: customers.patience_factor.get(tier, 1.0)
                                for tier in customers.tiers}
        """Each tier's patience factor (1 where the scenario sets none)."""
        self.traits = None if customers.traits is None else CustomerTraits(
            customers.traits, kernel.streams, self.population.size)
        """The customers' hidden patience and handle-time multipliers, with traits."""
        self._journeys = {name: _Journey(t.journey.share, t.journey.recognised, t.journey.start,
                                         kernel.streams.stream(f"journey/{name}", uniform_pairs))
                          for name, t in scenario.contact_types.items() if t.journey is not None}
        self.seen = bytearray(self.population.size) if kernel.cells.omnichannel else None
        """Customers who made contact in the measured window (omnichannel figures)."""
        self.profiles: Profiles | None = None
        """Set by the profiles stage, when the scenario keeps profiles."""
        self._in_ivr: dict[Contact, None] = {}  # in arrival order, for the end-of-run trace
        self._ends_unobserved_before = -math.inf
        """A contact that ends in the IVR before this time is counted at arrival (``start``)."""
        self._ivr_end_event = self._on_ivr_end  # bound once (see the kernel's events)
        self.experience: Callable[[Contact, Customer, bool], bool] | None = None
        """Set by the churn stage: given a contact, the record of the customer its caller
        claims to be and whether the caller is that customer (not a fraudster), False when
        the customer has left (the contact does not happen); else it shapes the contact and
        the record by their experience so far."""
        self.refused: Callable[[Contact], None] | None = None
        """Set by the churn stage: told of every caller refused in the IVR."""
        kernel.admit = self.admit
        if spec is not None:
            self._completed_inner = kernel.completed
            kernel.completed = self.completed
        self.group_checks = GroupChecks.build(scenario, kernel.streams, kernel.type_names)
        group_checks = self.group_checks
        before_assign = kernel.assign

        def assign(agent: Agent, contact: Contact, now: float) -> None:
            customer = contact.customer
            caller = contact.identity
            if customer is None and caller is not None and caller.customer is not None:
                customer = contact.customer = caller.customer  # the agent learns who calls
            if customer is not None:
                self._last_agent[customer.id] = agent.id
            if group_checks is not None and contact.identity is not None:
                # Before service_time reads them: the check's time and outcome.
                contact.agent_extra += group_checks.run(contact.identity, agent.group_index)
            before_assign(agent, contact, now)

        kernel.assign = assign

    def _model(self, kernel: Simulation) -> IdentityModel:
        scenario = kernel.scenario
        strategy = None
        if kernel.verification is not None:
            from policies.verification import make_strategy

            strategy = make_strategy(kernel.verification, scenario)
        # Customers' preferred hours follow the traffic: weight of each hour of the day.
        intervals, interval = kernel.cells.intervals, kernel.cells.interval
        per_interval = np.zeros(intervals)
        for ctype in scenario.contact_types.values():
            arrivals = ctype.arrivals
            per_interval += np.asarray(arrivals.rates if arrivals.rates is not None
                                       else [arrivals.rate] * intervals, dtype=float)
        starts = np.arange(intervals) * interval
        self.hour_weights = np.bincount((starts // 3600).astype(int) % 24, weights=per_interval,
                                        minlength=24)
        owners = tuple((name, group.seats(interval, intervals), group.owns.tiers,
                        group.owns.share)
                       for name, group in scenario.agents.items() if group.owns is not None)
        return IdentityModel(scenario.customers, scenario.identity, strategy, kernel.streams,
                             kernel.type_names, self.hour_weights, owners)

    def start(self) -> None:
        kernel = self.kernel
        if (kernel.trace is None and self.profiles is None and self.refused is None
                and kernel.max_arrivals is None):
            # Nothing watches a contact end in the IVR but its counts, in its arrival's
            # cell: one whose IVR time ends before the horizon is counted when it arrives,
            # with no event (the events left keep their order).
            self._ends_unobserved_before = kernel.horizon

    def pending(self) -> bool:
        return bool(self._in_ivr)

    def admit(self, contact: Contact, now: float) -> None:
        """Passive resolution, IVR and verification; then queue, or end in the IVR."""
        kernel = self.kernel
        journey = self._journeys.get(contact.type) if self._journeys else None
        escalated = logged_in = False
        if journey is not None:
            share, recognised, _, uniforms = journey
            escalated_u, login_u = uniforms.next_value()
            escalated = escalated_u < share
            logged_in = escalated and login_u < recognised
        caller = self.model.resolve(contact.type, self._channels[contact.type], now, logged_in,
                                    contact.ivr_intent)
        if self.group_checks is not None:
            self.group_checks.draw(caller, contact.type)
        customer = caller.customer
        # Routing sees the record only if the center found it before the queue.
        contact.customer = customer if caller.matched or self.model.identity is None else None
        if customer is not None:
            tier = customer.tier
            contact.cell = self._tier_cells[contact.type, tier][kernel.slot]
            # Same draw, scaled: a tier's patience factor keeps common random numbers.
            contact.patience *= self.patience_factor[tier]
            if self.experience is not None and not self.experience(contact, customer,
                                                                   caller.kind == GENUINE):
                return  # the customer left (churn): this contact does not happen
            if self.traits is not None and caller.kind == GENUINE:
                self.traits.apply(contact, customer.id)
        if contact.counted:
            cell = contact.cell
            cell.arrivals += 1
            if escalated:
                # Recognised: the session's login carried over, or passive resolution knew
                # the genuine customer (a stranger, prospect or fraudster is not a hit).
                cell.journeys += 1
                cell.journeys_recognised += caller.kind == GENUINE and caller.identified
            if self.seen is not None and customer is not None and caller.kind == GENUINE:
                self.seen[customer.id] = 1
        if escalated and self.profiles is not None and customer is not None \
                and caller.kind == GENUINE:
            self.profiles.store.record(customer.id, Interaction(now, now, journey.start,
                                                                "digital", "escalated"))
        identity = contact.cell.identity
        if identity is None:  # customers without an identity block: no IVR, no checks
            kernel.route(contact, now)
            return
        contact.identity = caller
        contact.agent_extra = caller.agent_verify_s
        if contact.counted:
            kind = caller.kind
            if kind == GENUINE:
                identity.genuine += 1
            elif kind == PROSPECT:
                identity.prospects += 1
            else:
                identity.fraud_attempts += 1
            identity.passive_identified += caller.identified
            if caller.flags:
                identity.flagged += 1
                identity.flagged_fraud += kind == FRAUD
            identity.ivr_verify_sum += caller.ivr_verify_s
            identity.cost_sum += caller.ivr_fee
        delay = caller.ivr_s + caller.ivr_verify_s
        if caller.self_service or caller.refused_in_ivr:
            if now + delay < self._ends_unobserved_before:
                if contact.counted:
                    ended_in_ivr(identity, caller)
                return
        elif delay <= 0.0:
            kernel.route(contact, now)
            return
        kernel.clock.schedule(delay, self._ivr_end_event, contact)
        self._in_ivr[contact] = None

    def happens(self, contact: Contact, customer: Customer, genuine: bool) -> bool:
        """Whether the contact of ``customer`` happens (see ``experience``)."""
        return self.experience is None or self.experience(contact, customer, genuine)

    def skip(self, contact_type: str) -> None:
        """A contact of ``contact_type`` does not happen (its need was served before the
        call): take its draws, so that the contacts after it keep theirs."""
        journey = self._journeys.get(contact_type)
        if journey is not None:
            journey.uniforms.next_value()
        self.model.skip(contact_type)

    def _on_ivr_end(self, contact: Contact) -> None:
        del self._in_ivr[contact]
        kernel = self.kernel
        now = kernel.clock.now
        caller = contact.identity
        assert caller is not None
        if not (caller.self_service or caller.refused_in_ivr):
            contact.arrival = now  # waits are measured from queue entry
            kernel.route(contact, now)
            return
        if caller.self_service and self.profiles is not None:
            self.profiles.record_inbound(contact, now, SELF_SERVED, 0.0)
        if caller.refused_in_ivr and self.refused is not None:
            self.refused(contact)
        if contact.counted:
            ended_in_ivr(contact.cell.identity, caller)
        if kernel.trace is not None:
            outcome = "self_service" if caller.self_service else "refused_in_ivr"
            kernel.trace.contact(kernel, contact, outcome, now)
        if kernel.arrivals == kernel.max_arrivals:
            kernel.drain_check()

    def completed(self, contact: Contact, agent: Agent, now: float, handled: float) -> None:
        """Count how the verification with the agent ended (first contacts only)."""
        self._completed_inner(contact, agent, now, handled)
        caller = contact.identity
        if contact.counted and caller is not None and not contact.repeat:
            identity = contact.cell.identity
            if identity is not None:
                identity.agent_verify_sum += caller.agent_verify_s
                identity.cost_sum += (caller.agent_verify_s * self._cost_per_second
                                      + caller.agent_fee)
                conclude(identity, caller)

    def same_customer(self, first: Contact, counted: bool) -> Customer | None:
        """A fresh record of the customer an earlier contact's caller claimed to be, for
        their next contact (None: no claim)."""
        customer = claimed(first)
        if customer is None:
            return None
        if self.seen is not None and counted:
            self.seen[customer.id] = 1
        return snapshot(self.population, customer.id)

    def finish_run(self, end: float) -> None:
        kernel = self.kernel
        for contact in self._in_ivr:
            if contact.counted:
                contact.cell.identity.in_ivr_at_end += 1
            if kernel.trace is not None:
                kernel.trace.contact(kernel, contact, "in_ivr_at_end", end)

    def report(self, result: ReplicationResult) -> None:
        if self.seen is not None:
            result.overall["unique_customers"] = float(sum(self.seen))


def claimed(contact: Contact) -> Customer | None:
    """The customer a contact's caller claims to be (ground truth of the claim, for the
    engine's books), known to the center or not."""
    caller = contact.identity
    return caller.customer if caller is not None else contact.customer


def ended_in_ivr(identity: IdentityCell, caller: Caller) -> None:
    """Count a contact that ended in the IVR: self-served, or refused by its checks."""
    if caller.self_service:
        identity.self_served += 1
    else:
        identity.refused_in_ivr += 1
        conclude(identity, caller)


def conclude(identity: IdentityCell, caller: Caller) -> None:
    """Count how a contact's verification ended (it reached an agent, or was refused in the IVR)."""
    if caller.verified is None:
        return  # prospect or self-service: nothing was verified
    identity.concluded += 1
    identity.asked += caller.asked
    if caller.kind == GENUINE:
        identity.genuine_concluded += 1
        identity.genuine_refused += not caller.verified
    elif caller.verified:
        identity.fraud_let_through += 1
        identity.fraud_loss += caller.loss
    else:
        identity.fraud_caught += 1
