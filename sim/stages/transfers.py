"""Transfers and escalation (``contact_types.T.transfer``): after a share of its talk time a
leg's agent hands the caller on to another contact type, cold (the caller queues again as
that type, with its priority and patience; the first agent wraps up at once) or warm (the
first agent stays on the line until an agent of the target type answers, both stay for the
conference, then the first wraps up).

Each leg is a contact of its own type, counted where it arrives (a leg by transfer counts
as an arrival of its type, and every leg ends answered, abandoned, blocked or in progress
at the end, as any contact does). The caller's whole journey is a ``Chain``, whose figures
(transfer rate, legs, agent time over all legs, resolution at the last leg, time on hold
between legs) are counted when its last leg ends.

Common random numbers: a contact's whole fate (whether each leg transfers, where to, after
which share, and the next legs' patience, work, wrap-up and outcome) is drawn when it
arrives, from streams of its own (``transfer/...``), so it does not depend on the policy.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.outcomes import follow_up_streams
from sim.stages import Stage, listen_abandoned
from sim.state import BLOCKED, Contact

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.kernel.streams import Stream
    from sim.model.transfers import Transfer
    from sim.stages.identity import IdentityStage
    from sim.state import Agent

FIRST_LEG_ID = 2 * 10**9
"""Ids of legs by transfer start here, apart from first contacts' and follow-ups' ids."""

class Leg:
    """One transfer of a chain, drawn when the caller arrives: where it goes, how, after
    which share of the talk time, and the draws of the leg it starts."""

    __slots__ = ("spec", "u", "target", "warm", "share", "conference", "patience", "work",
                 "wrap_up", "outcome_u")

    def __init__(self, spec: Transfer, u: float, target: str, warm: bool, share: float,
                 conference: float, draws: list[float]) -> None:
        self.spec = spec
        """The transfer block that decides this leg, and its uniform: the leg happens when
        ``u`` is below the chance for the caller's intent (``Transfers._settle``)."""
        self.u = u
        self.target = target
        self.warm = warm
        self.share = share
        self.conference = conference
        self.patience, self.work, self.wrap_up, self.outcome_u = draws


class Chain:
    """One caller's contact through all its legs (alive while some leg is)."""

    __slots__ = ("first_type", "counted", "legs", "open", "answered", "transfers",
                 "agent_time", "hold", "lost", "resolved", "settled")

    def __init__(self, first_type: str, counted: bool, legs: list[Leg]) -> None:
        self.first_type = first_type
        self.counted = counted
        self.legs = legs
        """The transfers still to come, first the next one."""
        self.open = 1
        """Legs not yet ended (answered and finished by their agent, or lost)."""
        self.answered = 0
        self.transfers = 0
        self.agent_time = 0.0
        self.hold = 0.0
        self.lost = False
        self.resolved = False
        self.settled = False
        """Whether the legs were cut to the caller's intent (``Transfers._settle``)."""


def _uniform_triples(rng: np.random.Generator, size: int) -> np.ndarray:
    """Whether a leg transfers, where to, and after which share."""
    return rng.random((size, 3))


class Transfers(Stage):
    """Wraps ``admit`` (draw the chain), ``service_time`` (talk up to the transfer point;
    the conference of a warm leg), ``answered``, ``completed`` and the kernel's end of
    service ``_on_finish`` (the transfer point), and listens to abandonments."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> Transfers | None:
        types = kernel.scenario.contact_types.values()
        return cls(kernel) if any(t.transfer is not None for t in types) else None

    def __init__(self, kernel: Simulation) -> None:
        super().__init__(kernel)
        types, streams = kernel.scenario.contact_types, kernel.streams
        self._specs: dict[str, tuple[Transfer, Stream, Stream | None]] = {
            name: (t.transfer, streams.stream(f"transfer/{name}", _uniform_triples),
                   streams.stream(f"transfer/{name}/conference", t.transfer.conference.sample)
                   if t.transfer.conference is not None else None)
            for name, t in types.items() if t.transfer is not None}
        # A leg is drawn when its uniform is below the highest chance of any intent; which
        # of those happen is settled once the caller's intent is known.
        self._reach = {name: max((spec.probability, *spec.intents.values()))
                       for name, (spec, _, _) in self._specs.items()}
        self._by_intent = any(spec.intents for spec, _, _ in self._specs.values())
        targets = {target for spec, _, _ in self._specs.values() for target in spec.to}
        self._leg_draws = {target: follow_up_streams(streams, f"transfer/{target}",
                                                     types[target]) for target in targets}
        self._serial = FIRST_LEG_ID
        self._chains = {name: Counter[str]() for name in types}
        self._transfers_in = Counter[str]()
        """Legs by transfer that arrived in the measured window, per type."""
        self._finish = finish = kernel._on_finish
        admit, service_time = kernel.admit, kernel.service_time
        answered, completed = kernel.answered, kernel.completed

        def admit_with_fate(contact: Contact, now: float) -> None:
            contact.chain = Chain(contact.type, contact.counted, self._fate(contact.type))
            contact.transfer = contact.chain.legs.pop(0) if contact.chain.legs else None
            admit(contact, now)

        by_intent = self._by_intent

        def talk_to_transfer(agent: Agent, contact: Contact) -> float:
            duration = service_time(agent, contact) + getattr(contact, "conference", 0.0)
            if by_intent:  # only scenarios with chances per intent look at the chain here
                chain: Chain | None = getattr(contact, "chain", None)
                if chain is not None and not chain.settled:
                    self._settle(contact)
            leg = getattr(contact, "transfer", None)
            if leg is None:
                return duration
            # The transfer point: the share of the talk; wrap-up comes after the hand-over.
            return leg.share * (duration - contact.wrap_up)

        def answered_leg(contact: Contact, now: float) -> None:
            answered(contact, now)
            chain: Chain | None = getattr(contact, "chain", None)
            if chain is None:
                return  # a retry or repeat: a first contact outside any chain
            chain.answered += 1
            if chain.answered > 1:
                chain.hold += now - contact.arrival
            waiting = contact.__dict__.pop("first_agent", None)
            if waiting is not None:  # warm: the first agent leaves after the conference
                kernel.clock.schedule(contact.conference + waiting.wrap_up, finish, waiting)

        def completed_leg(contact: Contact, agent: Agent, now: float, handled: float) -> None:
            completed(contact, agent, now, handled)
            chain: Chain | None = getattr(contact, "chain", None)
            if chain is None:
                return
            chain.agent_time += handled
            if contact.__dict__.get("passed_on"):
                # The caller's need is resolved (or not) at the last leg, not here: a leg
                # passed on never makes the customer call again.
                contact.resolved = True
            else:
                chain.resolved = contact.resolved
            self._leg_ended(chain)

        def finish_or_transfer(contact: Contact) -> None:
            leg = getattr(contact, "transfer", None)
            # An unreached call back, or a caller the agent refused (verification): the
            # leg ends here.
            if leg is None or not contact.reached or (
                    contact.identity is not None and contact.identity.verified is False):
                finish(contact)
            else:
                self._transfer(contact, leg)

        kernel.admit, kernel.service_time = admit_with_fate, talk_to_transfer
        kernel.answered, kernel.completed = answered_leg, completed_leg
        # The kernel schedules the end of every service as ``self._on_finish`` (an instance
        # lookup), so a leg's end can be the transfer point instead.
        kernel._on_finish = finish_or_transfer
        listen_abandoned(kernel, self._abandoned)

    def _fate(self, type_name: str) -> list[Leg]:
        """The transfers of a contact that arrives as ``type_name``, drawn now."""
        legs: list[Leg] = []
        current = type_name
        while current in self._specs:
            spec, decisions, conferences = self._specs[current]
            transfer_u, target_u, share_u = decisions.next_value()
            if transfer_u >= self._reach[current] or (
                    spec.max_legs is not None and len(legs) + 1 >= spec.max_legs):
                break
            current = _pick(spec.to, target_u)
            low, high = spec.after
            legs.append(Leg(spec, transfer_u, current, spec.mode == "warm",
                            low + (high - low) * share_u,
                            conferences.next_value() if conferences is not None else 0.0,
                            [stream.next_value() for stream in self._leg_draws[current]]))
        return legs

    @staticmethod
    def _settle(contact: Contact) -> None:
        """Cut the first leg's chain at the first transfer whose uniform is not below the
        chance for the caller's intent (known from the IVR by the first answer)."""
        chain: Chain = contact.chain
        chain.settled = True
        caller = contact.identity
        intent = caller.intent if caller is not None else ""
        legs = [contact.transfer, *chain.legs] if contact.transfer is not None else []
        for kept, leg in enumerate(legs):
            if leg.u >= leg.spec.intents.get(intent, leg.spec.probability):
                del legs[kept:]
                break
        contact.transfer = legs[0] if legs else None
        chain.legs = legs[1:]

    def _transfer(self, contact: Contact, leg: Leg) -> None:
        """The transfer point of ``contact``'s leg: the next leg joins its queue now."""
        kernel = self.kernel
        now = kernel.clock.now
        chain: Chain = contact.chain
        contact.transfer = None
        contact.passed_on = True
        counted = now >= kernel.warmup
        customer = contact.customer
        cell = (kernel.cells.tier[leg.target, customer.tier] if customer is not None
                else kernel.cells.contact[kernel.type_names.index(leg.target)])[kernel.slot]
        self._serial += 1
        following = Contact(self._serial, leg.target, now, leg.patience, leg.work, leg.wrap_up,
                            cell, counted)
        following.outcome_u = leg.outcome_u
        # The customer goes on (tier, owner); the identity record stays with the first
        # leg, where the caller was identified and verified, so that it counts once.
        if customer is not None:
            following.customer = customer
        following.chain = chain
        following.transfer = chain.legs.pop(0) if chain.legs else None
        chain.open += 1
        chain.transfers += 1
        if counted:
            cell.arrivals += 1
            self._transfers_in[leg.target] += 1
        if leg.warm:
            following.first_agent = contact
            following.conference = leg.conference
        else:
            kernel.clock.schedule(contact.wrap_up, self._finish, contact)
        kernel.route(following, now)
        if following.status == BLOCKED:  # a full waiting room: the caller is lost
            self._lost(following, chain, now)

    def _abandoned(self, contact: Contact, now: float, waited: float) -> None:
        chain: Chain | None = getattr(contact, "chain", None)
        if chain is not None:
            self._lost(contact, chain, now)

    def _lost(self, contact: Contact, chain: Chain, now: float) -> None:
        """A leg ended without an answer: the caller hung up (or was blocked)."""
        if chain.answered:  # between legs: the chain ends unresolved
            chain.lost = True
            chain.hold += now - contact.arrival
        waiting = contact.__dict__.pop("first_agent", None)
        if waiting is not None:  # warm: the first agent stops holding and wraps up
            self.kernel.clock.schedule(waiting.wrap_up, self._finish, waiting)
        self._leg_ended(chain)

    def _leg_ended(self, chain: Chain) -> None:
        chain.open -= 1
        if chain.open or not chain.counted or not chain.answered:
            return
        counters = self._chains[chain.first_type]
        counters["ended"] += 1
        counters["transferred"] += chain.transfers > 0
        counters["transfers"] += chain.transfers
        counters["legs"] += chain.answered
        counters["agent_time"] += chain.agent_time
        counters["resolved"] += chain.resolved and not chain.lost
        counters["lost"] += chain.lost
        counters["hold"] += chain.hold

    def report(self, result: ReplicationResult) -> None:
        for name, counters in self._chains.items():
            result.by_type[name].update(chain_figures(counters, self._transfers_in[name]))
        result.overall.update(chain_figures(sum(self._chains.values(), Counter()),
                                            sum(self._transfers_in.values())))


def _pick(shares: dict[str, float], u: float) -> str:
    """The name whose slice of [0, 1) holds the uniform ``u`` (shares sum to 1; rounding
    past the last slice gives the last name)."""
    for name, share in shares.items():
        if u < share:
            return name
        u -= share
    return name


def chain_figures(counters: Counter[str], transfers_in: int) -> dict[str, Any]:
    """The transfer figures of ended chains (docs/transfers.md, "Figures")."""
    ended = counters["ended"]

    def per(numerator: float, denominator: float) -> float:
        return numerator / denominator if denominator > 0 else float("nan")

    return {
        "transfers": float(transfers_in),
        "transfer_rate": per(counters["transferred"], ended),
        "legs_per_contact": per(counters["legs"], ended),
        "agent_time_per_contact_s": per(counters["agent_time"], ended),
        "chain_fcr": per(counters["resolved"], ended),
        "lost_between_legs": float(counters["lost"]),
        "hold_between_legs_s": per(counters["hold"], counters["transfers"]),
    }
