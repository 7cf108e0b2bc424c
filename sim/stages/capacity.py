"""Agents who hold several contacts at once (``agents.G.capacity`` mixes, e.g. three chats
or one call): what still fits beside what an agent holds, and the handle-time stretch of
working several contacts of one channel."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from sim.stages import Stage

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Agent, Contact


class CapacityTable:
    """Which contact types an agent of one group can still take, per load it may hold.

    A load is the count of contacts held per channel; it fits when some allowed mix
    bounds it on every channel. Answers are cached per load: a group has few loads.
    """

    def __init__(self, skills: Any, mixes: tuple[dict[str, int], ...],
                 channels: tuple[str, ...], channel_of_type: dict[str, int]) -> None:
        self._skills = tuple(skills)
        self._channel_of_type = channel_of_type
        self._mixes = [tuple(mix.get(c, 0) for c in channels) for mix in mixes]
        self.empty = (0,) * len(channels)
        """The load of an agent that holds nothing."""
        self._open: dict[tuple[int, ...], tuple[str, ...]] = {}

    @property
    def skills(self) -> tuple[str, ...]:
        return self._skills

    def for_skills(self, skills: tuple[str, ...]) -> CapacityTable:
        """The same mixes for an agent with its own ``skills`` (a named agent's subset)."""
        table = copy.copy(self)
        table._skills = skills
        table._open = {}
        return table

    def open(self, load: tuple[int, ...]) -> tuple[str, ...]:
        """Skills whose contacts still fit beside ``load``, in the group's order."""
        found = self._open.get(load)
        if found is None:
            found = self._open[load] = tuple(
                skill for skill in self._skills
                if self._fits(plus(load, self._channel_of_type[skill], 1)))
        return found

    def _fits(self, load: tuple[int, ...]) -> bool:
        return any(all(held <= limit for held, limit in zip(load, mix)) for mix in self._mixes)


def plus(load: tuple[int, ...], channel: int, change: int) -> tuple[int, ...]:
    """``load`` with ``change`` more contacts on ``channel``."""
    return load[:channel] + (load[channel] + change,) + load[channel + 1:]


class Capacity(Stage):
    """Agents of groups with a multi-contact mix take waiting contacts while they fit."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> Capacity | None:
        scenario = kernel.scenario
        channel_names = scenario.channel_names()
        channel_of_type = {name: channel_names.index(t.channel)
                           for name, t in scenario.contact_types.items()}
        tables = {name: CapacityTable(group.skills, group.capacity, channel_names,
                                      channel_of_type)
                  for name, group in scenario.agents.items()
                  if group.capacity is not None and any(sum(m.values()) > 1
                                                        for m in group.capacity)}
        return cls(kernel, tables, channel_of_type) if tables else None

    def __init__(self, kernel: Simulation, tables: dict[str, CapacityTable],
                 channel_of_type: dict[str, int]) -> None:
        super().__init__(kernel)
        specs = kernel.scenario.channels or {}
        self._stretch = {name: (specs[t.channel].concurrency_factor if t.channel in specs
                                else 0.0)
                         for name, t in kernel.scenario.contact_types.items()}
        self._channel_of_type = channel_of_type
        self._in_service: dict[Contact, None] = {}  # held by multi-contact agents
        new_agent, assign, release = kernel.new_agent, kernel.assign, kernel.release
        on_free = kernel.on_free
        own: dict[tuple[str, tuple[str, ...]], CapacityTable] = {}

        def equip(agent: Agent) -> None:
            new_agent(agent)
            table = tables.get(agent.group)
            if table is not None and agent.skills != table.skills:
                # A named agent with some of the group's skills: its own open types.
                key = (agent.group, agent.skills)
                table = own.get(key) or own.setdefault(key, table.for_skills(agent.skills))
            agent.capacity = table
            if table is not None:
                agent.load = table.empty

        def assign_several(agent: Agent, contact: Contact, now: float) -> None:
            if agent.capacity is None:
                assign(agent, contact, now)
                return
            channel = channel_of_type[contact.type]
            contact.stretch = 1.0 + self._stretch[contact.type] * agent.load[channel]
            agent.load = plus(agent.load, channel, 1)
            self._in_service[contact] = None
            self.open_agent(agent, now)

        def release_one(agent: Agent, contact: Contact) -> None:
            if agent.capacity is None:
                release(agent, contact)
                return
            del self._in_service[contact]
            agent.load = plus(agent.load, channel_of_type[contact.type], -1)

        def free(agent: Agent, now: float) -> None:
            if agent.capacity is None:
                on_free(agent, now)
            else:
                self.fill(agent, now)

        def rejoin(agent: Agent, now: float) -> None:
            if agent.capacity is not None:
                self.fill(agent, now)  # room again beside what it still holds

        def leaving(agent: Agent, now: float) -> None:
            if agent.capacity is not None:
                self.open_agent(agent, now)  # takes nothing more while it finishes

        kernel.new_agent, kernel.assign, kernel.release = equip, assign_several, release_one
        kernel.on_free, kernel.rejoin, kernel.leaving = free, rejoin, leaving

    def fill(self, agent: Agent, now: float) -> None:
        """An agent that may hold several contacts has room: it takes waiting contacts while
        they fit, then waits (in the idle indexes of the types that still fit)."""
        kernel = self.kernel
        self.open_agent(agent, now)
        while agent.idle:
            contact = kernel.pick_among(agent, agent.open)
            if contact is None:
                break
            kernel.take_from_queue(contact, now)
            kernel.start_service(agent, contact, now)
        if not agent.held:
            kernel.dial(agent, now)
        if not agent.held and kernel.arrivals == kernel.max_arrivals:
            kernel.drain_check()

    def open_agent(self, agent: Agent, now: float) -> None:
        """Put the agent into the idle indexes of the types that still fit beside what it
        holds (none when it is full or leaving)."""
        fits = () if agent.leaving or not agent.on_duty else agent.capacity.open(agent.load)
        agent.open = fits
        agent.idle_serial += 1
        if not fits:
            agent.idle = False
            return
        agent.idle = True
        agent.idle_since = now
        self.kernel.state.add_idle(agent, fits)

    def finish_run(self, end: float) -> None:
        for contact in self._in_service:
            if contact.counted:
                contact.cell.in_service_at_end += 1
