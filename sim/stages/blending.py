"""Blending of deferrable work (``channels.C.deferrable``, ``blending.deferrable_max_share``):
deferrable contacts (e-mail) are offered to an agent only when no real-time contact it
could take waits, and never to more than the share of agents on duty at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.stages import Stage

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class Blending(Stage):
    """Holds deferrable work back while real-time work waits or the share is reached."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> Blending | None:
        scenario = kernel.scenario
        specs = scenario.channels or {}
        deferrable = frozenset(name for name, t in scenario.contact_types.items()
                               if t.channel in specs and specs[t.channel].deferrable)
        return cls(kernel, deferrable) if deferrable else None

    def __init__(self, kernel: Simulation, deferrable: frozenset[str]) -> None:
        super().__init__(kernel)
        blending = kernel.scenario.blending
        self._deferrable = deferrable
        self._share = blending.deferrable_max_share if blending is not None else 1.0
        self._in_service = 0
        new_agent, route, assign, release = (kernel.new_agent, kernel.route, kernel.assign,
                                             kernel.release)
        pick_among, pick_contact = kernel.pick_among, kernel.pick_contact

        def equip(agent: Agent) -> None:
            new_agent(agent)
            agent.blends = bool(deferrable.intersection(agent.skills))

        def route_unless_full(contact: Contact, now: float) -> None:
            # Deferrable work over its share of agents waits, whatever the policy would pick.
            if contact.type in deferrable and self.full():
                kernel.hold(contact, now)
            else:
                route(contact, now)

        def assign_counted(agent: Agent, contact: Contact, now: float) -> None:
            if contact.type in deferrable:
                self._in_service += 1
            assign(agent, contact, now)

        def release_counted(agent: Agent, contact: Contact) -> None:
            release(agent, contact)
            if contact.type in deferrable:
                self._in_service -= 1

        def pick_blended(agent: Agent, offer: tuple[str, ...]) -> Contact | None:
            return pick_among(agent, self.blend(offer) if agent.blends else offer)

        def pick_for(agent: Agent) -> Contact | None:
            if agent.blends:
                return kernel.pick_among(agent, agent.skills)
            return pick_contact(agent)

        kernel.new_agent, kernel.route = equip, route_unless_full
        kernel.assign, kernel.release = assign_counted, release_counted
        kernel.pick_among, kernel.pick_contact = pick_blended, pick_for

    def full(self) -> bool:
        """Whether deferrable work holds its share of the agents on duty."""
        return self._in_service >= self._share * sum(self.kernel.on_duty_by_group)

    def blend(self, types: tuple[str, ...]) -> tuple[str, ...]:
        """``types`` less deferrable work while a real-time contact of them waits or the
        deferrable share is reached."""
        deferrable = self._deferrable
        if not self.full():
            waiting = self.kernel.state._waiting_count
            # A loop, not any() over a generator: this runs whenever a blending agent is free.
            for name in types:
                if name not in deferrable and waiting[name]:
                    break
            else:
                return types
        return tuple(name for name in types if name not in deferrable)
