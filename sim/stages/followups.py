"""Later contacts of the same customer: retrials of abandoned contacts (``retrial``, maybe
on another type) and repeats of unresolved ones (``outcomes.repeat_after``). Their draws
come from streams of their own, so how many a policy causes never shifts first contacts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.errors import ScenarioError
from sim.kernel.streams import uniform_pairs
from sim.model.customers import GENUINE
from sim.model.outcomes import follow_up_streams
from sim.stages import Stage, listen_abandoned
from sim.stages.identity import claimed
from sim.state import Contact

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent


INSTANT_FOLLOW_UPS = 1000
"""Follow-ups of one contact chain at one instant after which the run is stopped: each
cycle took no time (patience, handle time and delay all 0 s), so time cannot advance."""


class FollowUps(Stage):
    """Listens to abandonments (retrials) and wraps ``completed`` (repeats)."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> FollowUps | None:
        types = kernel.scenario.contact_types.values()
        if not (kernel.quality.repeats or any(t.retrial is not None for t in types)):
            return None
        return cls(kernel, identity)

    def __init__(self, kernel: Simulation, identity: IdentityStage | None) -> None:
        super().__init__(kernel)
        self._identity = identity
        self._pending = 0
        self._serial = 10**9  # follow-up contacts' ids, apart from first contacts'
        types, streams = kernel.scenario.contact_types, kernel.streams
        self._retrial = {name: (t.retrial, streams.stream(f"retrial/{name}", uniform_pairs),
                                streams.stream(f"retrial/{name}/delay", t.retrial.delay.sample))
                         for name, t in types.items() if t.retrial is not None}
        targets = {target for name, t in types.items() if t.retrial is not None
                   for target in (name, *t.retrial.switch)}
        self._retrial_draws = {target: follow_up_streams(streams, f"retrial/{target}",
                                                         types[target])
                               for target in targets}
        if self._retrial:
            listen_abandoned(kernel, self._maybe_retry)
        if kernel.quality.repeats:
            completed = kernel.completed

            def completed_or_repeated(contact: Contact, agent: Agent, now: float,
                                      handled: float) -> None:
                completed(contact, agent, now, handled)
                if not contact.resolved:
                    self._schedule_repeat(contact)

            kernel.completed = completed_or_repeated

    def pending(self) -> bool:
        return self._pending > 0

    def _schedule_repeat(self, contact: Contact) -> None:
        """An unresolved contact: the same customer calls again about it later."""
        delay, *draws = self.kernel.quality.repeat_draw(contact.type)
        self._pending += 1
        self.kernel.clock.schedule(delay, self._on_follow_up, (contact, contact.type, draws,
                                                               False))

    def _maybe_retry(self, contact: Contact, now: float, waited: float) -> None:
        """An abandoned contact: the customer may try again later, maybe on another type."""
        if contact.type not in self._retrial:
            return
        spec, uniforms, delays = self._retrial[contact.type]
        retry_u, switch_u = uniforms.next_value()
        delay = delays.next_value()
        if retry_u >= spec.probability:
            return
        target = contact.type
        for name, share in spec.switch.items():
            if switch_u < share:
                target = name
                break
            switch_u -= share
        draws = [stream.next_value() for stream in self._retrial_draws[target]]
        if contact.counted:
            contact.cell.retried += 1
        self._pending += 1
        self.kernel.clock.schedule(delay, self._on_follow_up, (contact, target, draws, True))

    def _on_follow_up(self, subject: tuple[Contact, str, list[float], bool]) -> None:
        """The same customer contacts again: a repeat of an unresolved contact, or a retry
        of an abandoned one. A known caller: no new IVR or verification."""
        first, type_name, (patience, work, wrap_up, outcome_u), retrial = subject
        kernel = self.kernel
        self._pending -= 1
        now = kernel.clock.now
        counted = now >= kernel.warmup
        customer = claimed(first)
        if customer is not None:
            assert self._identity is not None
            cell = kernel.cells.tier[type_name, customer.tier][kernel.slot]
            patience *= self._identity.patience_factor.get(customer.tier, 1.0)
        else:
            cell = kernel.cells.contact[kernel.type_names.index(type_name)][kernel.slot]
        self._serial += 1
        contact = Contact(self._serial, type_name, now, patience, work, wrap_up, cell, counted)
        if now == first.arrival:  # the whole cycle took no time
            contact.instant_follow_ups = first.instant_follow_ups + 1
            if contact.instant_follow_ups > INSTANT_FOLLOW_UPS:
                self._endless(first, retrial, now)
        contact.repeat = not retrial
        contact.retrial = retrial
        contact.outcome_u = outcome_u
        contact.identity = first.identity
        if retrial:  # the first try never reached an agent: verification is still to do
            contact.agent_extra = first.agent_extra
        if self._identity is not None:
            record = self._identity.same_customer(first, counted)
            if record is not None and not self._identity.happens(
                    contact, record, first.identity is None or first.identity.kind == GENUINE):
                return  # the customer left (churn)
            # Known to routing if the first contact's record was (answered, or matched).
            contact.customer = record if first.customer is not None else None
            if first.personal:  # the same customer behaves alike again
                self._identity.traits.apply(contact, customer.id)  # type: ignore[union-attr]
        if counted:
            cell.arrivals += 1
            if retrial:
                cell.retrials += 1
            else:
                cell.repeats += 1
        kernel.route(contact, now)

    def _endless(self, first: Contact, retrial: bool, now: float) -> None:
        if retrial:
            field, what = f"contact_types.{first.type}.retrial", "retrials"
            cause = "patience 0 s, a retrial delay of 0 s and probability 1"
            allowed = "a patience or retrial delay that is not always 0 s, or a probability below 1"
        else:
            field, what = "outcomes.repeat_after", "repeats"
            cause = "handle time, wrap-up and repeat delay all 0 s"
            allowed = "a handle time or repeat delay that is not always 0 s"
        raise ScenarioError("", [  # no line: the file and field are what went wrong
            f" {field}: more than {INSTANT_FOLLOW_UPS} {what} of one contact at {now:.0f} s: "
            f"with {cause} simulated time cannot advance; allowed: {allowed}"])
