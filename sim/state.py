"""Contacts, agents and the read-only state a routing policy sees.

Policies receive ``ContactView``/``AgentView`` protocols whose members are
read-only properties: type checkers reject a policy that assigns to them.
The concrete records are plain ``__slots__`` classes because they sit on the
per-contact hot path.

Indexes keep decisions cheap: per skill, idle agents in the order they became
idle (agents free up in time order, so a deque appended at the right stays
sorted and the longest-idle agent is at the left); per contact type, waiting
contacts in arrival order. Entries that stop being valid (a multi-skilled
agent taken through another skill, a contact that abandoned) are dropped
lazily when they reach the front, so every update is O(1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from .customers import Customer
    from .identity import Caller

WAITING, IN_SERVICE, ABANDONED, BLOCKED, NEW, RINGING = range(6)


class ContactView(Protocol):
    """What a policy may read about a contact."""

    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def arrival(self) -> float: ...
    @property
    def work(self) -> float: ...
    @property
    def customer(self) -> Customer | None:
        """The resolved (claimed) customer's profile; None for unknown callers or
        scenarios without customers."""
    @property
    def resolved(self) -> bool:
        """Whether the contact was resolved: known only once it is finished (``observe``)."""
    @property
    def matched(self) -> bool:
        """Whether the serving agent met the scenario's match criterion (once served)."""
    @property
    def unanswered(self) -> tuple[int, ...]:
        """Ids of mobile agents whose phone rang for this contact without an answer."""
    @property
    def repeat(self) -> bool:
        """Whether this is a repeat of an unresolved earlier contact."""
    @property
    def identity(self) -> Caller | None:
        """Passive identification, confidence, flags, intent and risk; None when the
        scenario has no identity block."""


class AgentView(Protocol):
    """What a policy may read about an agent."""

    @property
    def id(self) -> int: ...
    @property
    def group(self) -> str: ...
    @property
    def skills(self) -> tuple[str, ...]: ...
    @property
    def speed(self) -> float: ...
    @property
    def idle_since(self) -> float: ...
    @property
    def levels(self) -> dict[str, float]:
        """Proficiency per skill (contact type) and per intent the group lists."""
    @property
    def languages(self) -> frozenset[str]:
        """Languages spoken; empty: every language."""
    @property
    def dialects(self) -> frozenset[str]:
        """Dialects spoken."""
    @property
    def seat(self) -> tuple[str, int]:
        """(group, index in the group): what a customer's ``owner`` refers to."""
    @property
    def mobile(self) -> bool:
        """Whether the agent is reached on a mobile phone (rings, may not answer)."""
    @property
    def idle(self) -> bool:
        """Free for a contact now (on duty, not serving, not ringing)."""
    @property
    def on_duty(self) -> bool:
        """Logged in (present) now."""


class Contact:
    """One contact moving through the center (engine-owned, mutable)."""

    __slots__ = (
        "id", "type", "arrival", "patience", "work", "wrap_up", "status",
        "cell", "counted", "answered_at", "agent", "customer", "identity", "agent_extra",
        "outcome_u", "resolved", "matched", "queued_once", "unanswered", "repeat",
    )

    def __init__(
        self, id: int, type: str, arrival: float, patience: float,
        work: float, wrap_up: float, cell: object, counted: bool,
    ) -> None:
        self.id = id
        self.type = type
        self.arrival = arrival
        self.patience = patience
        self.work = work
        self.wrap_up = wrap_up
        self.status = NEW
        self.cell = cell
        self.counted = counted
        self.answered_at = -1.0
        self.agent: Agent | None = None
        self.customer: Customer | None = None
        self.identity: Caller | None = None
        self.agent_extra = 0.0
        """Agent seconds on top of work and wrap-up (identity verification with the agent)."""
        self.outcome_u = 1.0
        """Uniform draw deciding resolution (resolved when below the chance)."""
        self.resolved = True
        self.matched = False
        self.queued_once = False
        self.unanswered: tuple[int, ...] = ()
        """Ids of mobile agents who did not answer this contact."""
        self.repeat = False
        """A repeat contact of an unresolved earlier one."""

    def __repr__(self) -> str:
        return f"Contact({self.id}, {self.type!r}, arrival={self.arrival:.1f})"


class Agent:
    """One agent (engine-owned, mutable)."""

    __slots__ = (
        "id", "group", "group_index", "skills", "skill_set", "speed", "idle", "idle_since", "idle_serial",
        "on_duty", "leaving", "busy_since", "busy_epoch", "logged_in_at", "contact", "timer",
        "levels", "speed_for", "languages", "dialects", "seat", "mobile", "ringing",
    )

    def __init__(self, id: int, group: str, group_index: int, skills: tuple[str, ...], speed: float,
                 levels: dict[str, float] | None = None, seat: int = 0):
        self.id = id
        self.group = group
        self.group_index = group_index
        self.skills = skills
        self.skill_set = frozenset(skills)
        self.speed = speed
        self.idle = False
        self.idle_since = 0.0
        self.idle_serial = 0
        self.on_duty = False
        self.leaving = False
        self.busy_since = 0.0
        self.busy_epoch = 0
        self.logged_in_at = 0.0
        self.contact: Contact | None = None
        self.timer: object = None
        self.levels: dict[str, float] = levels or {}
        self.speed_for: dict[str, float] = {skill: speed for skill in skills}
        """Effective speed per contact type (group speed x proficiency speed factor)."""
        self.languages: frozenset[str] = frozenset()
        self.dialects: frozenset[str] = frozenset()
        self.seat = (group, seat)
        self.mobile = False
        self.ringing = False
        """A mobile agent whose phone rings for a contact (neither idle nor serving)."""

    def __repr__(self) -> str:
        return f"Agent({self.id}, {self.group!r})"


class RoutingState:
    """Read-only window on the center for policies, backed by the engine's indexes."""

    __slots__ = ("_env", "_idle", "_waiting", "_waiting_count", "_seats", "contact_types", "skills",
                 "random")

    def __init__(self, env: object, contact_types: tuple[str, ...], skills: tuple[str, ...],
                 random: np.random.Generator | None = None) -> None:
        self._env = env
        self._idle: dict[str, deque[tuple[Agent, int]]] = {s: deque() for s in skills}
        self._waiting: dict[str, deque[Contact]] = {t: deque() for t in contact_types}
        self._waiting_count: dict[str, int] = {t: 0 for t in contact_types}
        self._seats: dict[tuple[str, int], Agent] = {}
        self.contact_types = contact_types
        """Names of all contact types."""
        self.skills = skills
        """Names of all skills held by some agent."""
        self.random = random if random is not None else np.random.default_rng(0)
        """The policy's own random stream (tie-breaks, exploration): drawing from it never
        shifts a customer's arrival, work or patience."""

    @property
    def now(self) -> float:
        """Simulated time in seconds."""
        return self._env.now  # type: ignore[attr-defined, no-any-return]

    def longest_idle_agent(self, skill: str) -> AgentView | None:
        """The idle agent with ``skill`` that has been idle longest, if any."""
        queue = self._idle[skill]
        while queue:
            agent, serial = queue[0]
            if agent.idle and agent.idle_serial == serial:
                return agent
            queue.popleft()
        return None

    def idle_agents(self, skill: str) -> Iterator[AgentView]:
        """Idle agents with ``skill``, longest idle first."""
        for agent, serial in list(self._idle[skill]):
            if agent.idle and agent.idle_serial == serial:
                yield agent

    def agent_at(self, seat: tuple[str, int]) -> AgentView | None:
        """The agent in ``seat`` (group, index), e.g. a customer's owner; None if never on duty."""
        return self._seats.get(seat)

    def oldest_waiting(self, contact_type: str) -> ContactView | None:
        """The waiting contact of ``contact_type`` that arrived first, if any."""
        queue = self._waiting[contact_type]
        while queue:
            contact = queue[0]
            if contact.status == WAITING:
                return contact
            queue.popleft()
        return None

    def waiting(self, contact_type: str) -> Iterator[ContactView]:
        """Waiting contacts of ``contact_type`` in arrival order."""
        for contact in list(self._waiting[contact_type]):
            if contact.status == WAITING:
                yield contact

    def waiting_count(self, contact_type: str) -> int:
        """How many contacts of ``contact_type`` wait now."""
        return self._waiting_count[contact_type]
