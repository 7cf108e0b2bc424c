"""Money in every report (``costs`` block): what a run costs and earns.

* ``agent_cost``: each group's on-duty time (the kernel's logged-in time, the same that
  utilisation divides by) times its rate per hour: exactly, per group and per interval.
  Per type and tier it is shared in proportion to handling time (agents are paid while
  idle too; the cost of that idle time follows the work).
* ``telecom_cost``: line minutes of contacts on billed channels, at their rates: the IVR
  (``ivr_parts``: the IVR menu's prompts, the identity stage's IVR and IVR-verification
  time), the queue (from queue entry until answered or abandoned; a call back waits off
  the line) and the talk (handling time less wrap-up). The IVR is charged when the
  caller enters it, for all the time it will take; queue and talk minutes when their part
  ends.
* ``dial_cost``: call backs dialled and outbound attempts, per dial.
* ``verification_fees``: the identity methods' own fees (their agent time is in
  ``agent_cost`` already).
* ``total_cost`` is the sum of those four; ``cost_per_contact`` divides it by inbound
  arrivals plus outbound attempts.
* ``revenue``: outbound right-party contacts times conversion times sale value (the
  expected sales of the contacts made: drawing each sale would only add noise).
* ``net_value`` = revenue - total cost - fraud loss - value lost to churn.

Amounts count contacts that arrived in the measured window, like every contact figure.
docs/costs.md has the definitions and the sources of the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.stages import Stage, listen_abandoned
from sim.stages.cell_totals import CellTotals
from sim.stages.churn import VALUE_LOST, Churn
from sim.stages.outbound import Outbound

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.kernel.metrics import ContactCell
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact

IVR_S, QUEUE_S, TALK_S, FEES = range(4)
"""Columns of the stage's cell totals: line seconds in the IVR, queue and talk of billed
contacts, and verification fees."""
COST_METRICS = ("agent_cost", "telecom_cost", "dial_cost", "verification_fees", "total_cost",
                "cost_per_contact", "revenue", "value_lost", "net_value")
"""The figures of a scenario with a costs block (``churned`` too, with a churn block)."""


class Costs(Stage):
    """Wraps ``admit`` (IVR minutes and fees), ``answered`` and ``completed``, and listens to
    abandonments (queue minutes)."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> Costs | None:
        return cls(kernel, identity) if kernel.scenario.costs is not None else None

    def __init__(self, kernel: Simulation, identity: IdentityStage | None) -> None:
        super().__init__(kernel)
        scenario = kernel.scenario
        spec = scenario.costs
        assert spec is not None
        self._spec = spec
        self._rates = spec.rates(kernel.group_names)
        telephony = spec.telephony
        self._per_second = (telephony.ivr / 60.0, telephony.queue / 60.0, telephony.talk / 60.0)
        billed = {name for name, t in scenario.contact_types.items()
                  if t.channel in telephony.billed()}
        self.totals = totals = CellTotals(kernel.cells, 4)
        self.ivr_parts: list[Callable[[Contact], float]] = []
        """The IVR seconds of a contact, one function per stage that keeps callers in an
        IVR; their sum is charged at the IVR rate when the contact has been admitted."""
        admit, answered, completed = kernel.admit, kernel.answered, kernel.completed
        if scenario.identity is not None:
            self.ivr_parts.append(_identity_ivr_seconds)
        if scenario.ivr is not None:
            self.ivr_parts.append(_menu_ivr_seconds)

        def admit_and_charge(contact: Contact, now: float) -> None:
            admit(contact, now)
            if not contact.counted:
                return
            sums = totals.of[contact.cell]
            if contact.type in billed:
                sums[IVR_S] += sum(part(contact) for part in self.ivr_parts)
            if contact.identity is not None:
                sums[FEES] += contact.identity.ivr_fee

        def answered_and_charge(contact: Contact, now: float) -> None:
            answered(contact, now)
            if contact.counted and contact.type in billed and not contact.callback:
                totals.of[contact.cell][QUEUE_S] += now - contact.arrival

        def completed_and_charge(contact: Contact, agent: Agent, now: float,
                                 handled: float) -> None:
            completed(contact, agent, now, handled)
            if not contact.counted:
                return
            sums = totals.of[contact.cell]
            if contact.type in billed:
                sums[TALK_S] += max(handled - contact.wrap_up, 0.0)
            # As the identity stage counts the agent's verification: first contacts only.
            if contact.identity is not None and not contact.repeat:
                sums[FEES] += contact.identity.agent_fee

        def abandoned_and_charge(contact: Contact, now: float, waited: float) -> None:
            if contact.counted and contact.type in billed:
                totals.of[contact.cell][QUEUE_S] += waited

        kernel.admit = admit_and_charge
        kernel.answered, kernel.completed = answered_and_charge, completed_and_charge
        listen_abandoned(kernel, abandoned_and_charge)

    def report(self, result: ReplicationResult) -> None:
        kernel, spec = self.kernel, self._spec
        cells = kernel.cells
        paid = [sum(cell.logged_in for cell in group) * rate
                for group, rate in zip(cells.group, self._rates)]
        for name, cost in zip(kernel.group_names, paid):
            result.by_group[name]["agent_cost"] = cost
        for index in range(cells.intervals):
            figures = result.by_interval.get(cells.interval_label(index))
            if figures is not None:
                figures["agent_cost"] = sum(
                    group[slot].logged_in * rate for group, rate in zip(cells.group, self._rates)
                    for slot in range(index, cells.slots, cells.intervals))
        agent_cost = sum(paid)
        handling = sum(cell.handle_sum for cells_ in (*cells.contact, *cells.tier.values())
                       for cell in cells_)
        outbound = kernel.stage(Outbound)
        attempts = reached = 0
        if outbound is not None:
            conversion = spec.outbound.conversion * spec.outbound.sale_value
            for name, campaign in outbound.dialer.cells.items():
                result.by_campaign.setdefault(name, {})["revenue"] = campaign.reached * conversion
                attempts += campaign.attempts
                reached += campaign.reached
        churn = kernel.stage(Churn)
        result.overall["agent_cost"] = agent_cost
        for figures, contact_cells in self.totals.cells_of(result):
            overall = figures is result.overall
            if "agent_cost" not in figures:  # shared by handling time (types and tiers)
                share = sum(c.handle_sum for c in contact_cells)
                figures["agent_cost"] = agent_cost * share / handling if handling > 0 else 0.0
            self._add_figures(figures, contact_cells, churn,
                              attempts if overall else 0, reached if overall else 0)

    def _add_figures(self, figures: dict[str, float], contact_cells: list[ContactCell],
                     churn: Churn | None, attempts: int, reached: int) -> None:
        """The money figures of one scope (its agent cost set) from its contact cells and,
        overall, the outbound ``attempts`` and right-party contacts ``reached``."""
        spec = self._spec
        sums = [0.0] * self.totals.width
        for cell in contact_cells:
            for column, amount in enumerate(self.totals.of[cell]):
                sums[column] += amount
        ivr, queue, talk = self._per_second
        telecom = sums[IVR_S] * ivr + sums[QUEUE_S] * queue + sums[TALK_S] * talk
        callbacks = sum(c.callbacks_completed + c.callbacks_unreached for c in contact_cells)
        dial = callbacks * spec.callback_dial + attempts * spec.outbound.dial
        total = figures["agent_cost"] + telecom + dial + sums[FEES]
        contacts = sum(c.arrivals for c in contact_cells) + attempts
        fraud_loss = sum(c.identity.fraud_loss for c in contact_cells if c.identity is not None)
        value_lost = (sum(churn.totals.of[c][VALUE_LOST] for c in contact_cells)
                      if churn is not None else 0.0)
        revenue = reached * spec.outbound.conversion * spec.outbound.sale_value
        figures.update({
            "telecom_cost": telecom,
            "dial_cost": dial,
            "verification_fees": sums[FEES],
            "total_cost": total,
            "cost_per_contact": total / contacts if contacts else float("nan"),
            "revenue": revenue,
            "value_lost": value_lost,
            "net_value": revenue - total - fraud_loss - value_lost,
        })


def _menu_ivr_seconds(contact: Contact) -> float:
    """The IVR menu's prompts along the caller's path (``sim.stages.ivr``)."""
    return contact.ivr_menu_s


def _identity_ivr_seconds(contact: Contact) -> float:
    """The identity stage's IVR: stating the intent, then verification in the IVR."""
    caller = contact.identity
    return 0.0 if caller is None else caller.ivr_s + caller.ivr_verify_s
