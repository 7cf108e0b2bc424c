"""Contacts, agents and the read-only state a routing policy sees.

Policies receive ``ContactView``/``AgentView`` protocols whose members are
read-only properties: type checkers reject a policy that assigns to them.
The concrete records are plain ``__slots__`` classes because they sit on the
per-contact hot path.

Indexes keep decisions cheap: per skill, idle agents in the order they became
idle (agents free up in time order, so a deque appended at the right stays
sorted and the longest-idle agent is at the left); per contact type, waiting
contacts in arrival order. Entries that stop being valid (a multi-skilled
agent taken through another skill, a contact that abandoned or that a policy
took from the middle) are dropped lazily when they reach the front, and in
bulk when stale entries outnumber live ones, so every update is O(1)
amortised and a scan (``idle_agents``, ``waiting``) costs O(live entries),
however long the run.

Keyed indexes refine these for policies that need them: idle agents ranked by
a policy's own order (``best_idle``), waiting contacts per tier, intent or last
agent (``oldest_waiting_by``). Each is built on the first query that needs it
and from then on fed by the engine's own appends to the primary queues, which
it replaces with a ``_FanOutQueue``: policies that never ask pay nothing.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Container, Hashable, Iterable, Iterator
from itertools import count
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

import numpy as np

if TYPE_CHECKING:
    from sim.model.customers import Customer
    from sim.model.identity import Caller
    from sim.model.profile import InteractionPredictor

WAITING, IN_SERVICE, ABANDONED, BLOCKED, NEW, RINGING, SCHEDULED = range(7)

WaitingKey = Literal["tier", "intent", "last_agent"] | Callable[[Any], Hashable]
"""How ``RoutingState.oldest_waiting_by`` files waiting contacts (see there)."""

TIME_SLACK = 1e-6
"""Seconds: a recheck armed for a deadline fires at a float-rounded time, which may lie
this far before the deadline; ``RoutingState.has_waited`` counts it as reached."""

_COMPACT_AT = 8
"""Index size from which stale entries are also removed in bulk. Small: scoring policies
scan the live entries near the head (``first_idle_agents``), and stale ones between them
cost as much to skip as a live one to read; a bulk removal happens at most once per as
many additions as live entries, so its cost per addition stays bounded."""


class CustomerView(Protocol):
    """What a policy may read about a customer: the center's record (CRM), never the
    customer's true traits."""

    @property
    def id(self) -> int: ...
    @property
    def tier(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def dialect(self) -> str | None: ...
    @property
    def value(self) -> float: ...
    @property
    def churn_risk(self) -> float:
        """The center's churn-risk score."""
    @property
    def sentiment(self) -> float:
        """Sentiment on record (0 = very negative, 1 = very positive)."""
    @property
    def preferred_channel(self) -> str: ...
    @property
    def preferred_hours(self) -> tuple[float, float]:
        """(start, end) time of day of the customer's usual contacts; may wrap midnight."""
    @property
    def devices(self) -> int: ...
    @property
    def phones(self) -> tuple[str, ...]:
        """Carrier of each phone number on file."""
    @property
    def contacts(self) -> int:
        """Earlier contacts on record."""
    @property
    def last_contact(self) -> float: ...
    @property
    def voice_enrolled(self) -> bool: ...
    @property
    def owner(self) -> tuple[str, int] | None:
        """Seat of the customer's own adviser, if any."""
    @property
    def last_agent(self) -> int | None: ...


class CallerView(Protocol):
    """What the center knows about a caller after the IVR: never who the caller really is
    (genuine, fraudster, prospect)."""

    @property
    def claims(self) -> bool:
        """Whether the caller claims to be a customer (a fraudster does; a prospect not)."""
    @property
    def matched(self) -> bool:
        """Whether the claimed record was found before the queue (the contact's
        ``customer``)."""
    @property
    def identified(self) -> bool:
        """Passive identification succeeded (number, device, carrier scored)."""
    @property
    def confidence(self) -> float: ...
    @property
    def flags(self) -> tuple[str, ...]: ...
    @property
    def intent(self) -> str: ...
    @property
    def risk(self) -> str: ...
    @property
    def verified(self) -> bool | None:
        """How verification ended, once it has (None before, and for nothing to verify)."""


class ContactView(Protocol):
    """What a policy may read about a contact: what the center knows now. Never its true
    patience, handle time or outcome, nor who the caller really is."""

    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def arrival(self) -> float: ...
    @property
    def customer(self) -> CustomerView | None:
        """The customer record the center matched (by number, login or an IVR check; a
        spoofing fraudster matches the victim's); None for a caller not matched (yet: an
        agent finds the record on answering), an unknown caller, or scenarios without
        customers."""
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
    def retrial(self) -> bool:
        """Whether this is a retry of an abandoned earlier contact."""
    @property
    def callback(self) -> bool:
        """Whether the customer waits for a call back (off the line: never abandons)."""
    @property
    def identity(self) -> CallerView | None:
        """Passive identification, confidence, flags, intent and risk; None when the
        scenario has no identity block."""


GROUND_TRUTH = frozenset({
    "patience", "work", "wrap_up", "outcome_u", "reached", "stretch", "kind", "loss",
    "refused_in_ivr", "self_service"})
"""Engine-only figures of contacts and callers: true patience, handle time and outcome
draws, who the caller really is. No view protocol above may name them
(``tests/test_policy_view.py`` checks that every registered policy reads only the views)."""


class AgentView(Protocol):
    """What a policy may read about an agent."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str:
        """A named agent's roster id; else ``GROUP-NNN``, the group's n-th agent."""
    @property
    def group(self) -> str: ...
    @property
    def group_index(self) -> int:
        """Position of the agent's group in the scenario's ``agents``."""
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
        """Free for a contact now (on duty, not ringing, with room for one more contact)."""
    @property
    def open(self) -> tuple[str, ...]:
        """Contact types the agent can take now, when ``idle``: its skills, or those that
        still fit beside the contacts it holds (channel capacity), less deferrable work
        while real-time contacts wait for it. Policies pick among these."""
    @property
    def on_duty(self) -> bool:
        """Logged in (present) now."""


_new_object = object.__new__


def new_contact(cls: type[Contact], id: int, type: str, arrival: float, patience: float,
                work: float, wrap_up: float, cell: object, counted: bool) -> Contact:
    """A new contact of class ``cls``: what ``Contact(...)`` makes. The kernel's arrivals
    call it directly: a Python function call, which 3.11 specialises, where a class call
    goes through ``type.__call__`` and ``__new__`` (about 50 ns less per contact, a
    sixtieth of the plain kernel's time per contact)."""
    contact = _new_object(cls)
    contact.id = id
    contact.type = type
    contact.arrival = arrival
    contact.patience = patience
    contact.work = work
    contact.wrap_up = wrap_up
    contact.status = NEW
    contact.cell = cell
    contact.counted = counted
    contact.answered_at = -1.0
    contact.agent = None
    return contact


class Contact:
    """One contact moving through the center (engine-owned, mutable).

    The kernel sets the slots on every contact; the attributes below them are what
    stages add (customer, identity, outcomes, call backs, ...). Their defaults are class
    attributes and a stage's write goes to the instance ``__dict__``, created on first
    write: a plain scenario never pays for features it does not use (a contact is
    created per arrival, on the hot path).
    """

    __slots__ = ("id", "type", "arrival", "patience", "work", "wrap_up", "status", "cell",
                 "counted", "answered_at", "agent", "__dict__")

    customer: Customer | None = None
    identity: Caller | None = None
    agent_extra = 0.0
    """Agent seconds on top of work and wrap-up (identity verification with the agent)."""
    outcome_u = 1.0
    """Uniform draw deciding resolution (resolved when below the chance)."""
    resolved = True
    matched = False
    queued_once = False
    unanswered: tuple[int, ...] = ()
    """Ids of mobile agents who did not answer this contact."""
    personal = False
    """Whether the customer's traits (``sim.model.traits``) scaled its patience and work."""
    repeat = False
    """A repeat contact of an unresolved earlier one."""
    retrial = False
    """A retry of an abandoned earlier contact."""
    callback = False
    """The customer accepted a call back: off the line, the agent calls them."""
    reached = True
    """For a call back: whether the agent's call reaches the right party."""
    stretch = 1.0
    """Handle-time factor of holding other contacts of its channel at the same time."""
    ivr_menu_s = 0.0
    """Caller seconds in the IVR menu (the prompts along the contact's path, ``sim.stages.ivr``),
    what a cost per IVR minute prices; 0 for a contact that went through no menu."""
    ivr_intent: str | None = None
    """The intent the menu path set (with an identity block), read when the caller is resolved."""
    instant_follow_ups = 0
    """Follow-ups of the same customer's contact chain that came at this same instant."""
    service_s = 0.0
    """Agent time on the contact, wrap-up included (recorded for the trace only)."""

    agent: Agent | None

    __new__ = staticmethod(new_contact)

    def __getnewargs__(self) -> tuple[Any, ...]:
        # What copy and pickle pass to ``__new__`` (the slots and ``__dict__`` follow).
        return (self.id, self.type, self.arrival, self.patience, self.work, self.wrap_up,
                self.cell, self.counted)

    def __repr__(self) -> str:
        return f"Contact({self.id}, {self.type!r}, arrival={self.arrival:.1f})"


class Agent:
    """One agent (engine-owned, mutable)."""

    __slots__ = (
        "id", "name", "group", "group_index", "skills", "skill_set", "speed", "idle", "idle_since", "idle_serial",
        "on_duty", "leaving", "busy_since", "busy_epoch", "logged_in_at", "contact", "timer",
        "levels", "speed_for", "languages", "dialects", "seat", "mobile", "ringing",
        "open", "held", "load", "capacity", "blends", "away",
    )

    def __init__(self, id: int, group: str, group_index: int, skills: tuple[str, ...], speed: float,
                 levels: dict[str, float] | None = None, seat: int = 0, name: str | None = None):
        self.id = id
        self.name = name if name is not None else f"{group}-{seat + 1:03d}"
        """The agent's id in a roster, else the group's name and the agent's number in it."""
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
        self.open: tuple[str, ...] = skills
        self.held = 0
        """Contacts (or outbound attempts) the agent works on now."""
        self.load: tuple[int, ...] = ()
        """Contacts held per channel, for agents that may hold several (``capacity``)."""
        self.capacity: Any = None
        """The group's capacity table when its agents may hold several contacts at once."""
        self.blends = False
        """Whether the agent has deferrable skills (kept back while real-time work waits)."""
        self.away = False
        """Due or on a break, meeting or aux time (``sim.stages.shrinkage``): off the phones,
        or going once its work is done, and back by itself."""

    def __repr__(self) -> str:
        return f"Agent({self.id}, {self.group!r})"


class RoutingState:
    """Read-only window on the center for policies, backed by the engine's indexes."""

    __slots__ = ("_env", "_idle", "_waiting", "_waiting_count", "_seats", "_by_id", "_ranked",
                 "_waiting_by", "_idle_limit", "_waiting_limit", "contact_types", "skills",
                 "random", "predictor")

    def __init__(self, env: object, contact_types: tuple[str, ...], skills: tuple[str, ...],
                 random: np.random.Generator | None = None) -> None:
        self._env = env
        self._idle: dict[str, deque[tuple[Agent, int]]] = {s: deque() for s in skills}
        self._waiting: dict[str, deque[Contact]] = {t: deque() for t in contact_types}
        self._waiting_count: dict[str, int] = {t: 0 for t in contact_types}
        self._idle_limit: dict[str, int] = dict.fromkeys(skills, _COMPACT_AT)
        self._waiting_limit: dict[str, int] = dict.fromkeys(contact_types, _COMPACT_AT)
        self._seats: dict[tuple[str, int], Agent] = {}
        self._by_id: dict[int, Agent] = {}
        self._ranked: dict[tuple[str, Callable[[AgentView], Any]], _Ranked] = {}
        self._waiting_by: dict[Any, dict[str, _Buckets]] = {
            by: {} for by in get_args(get_args(WaitingKey)[0])}
        self.contact_types = contact_types
        """Names of all contact types."""
        self.skills = skills
        """Names of all skills held by some agent."""
        self.random = random if random is not None else np.random.default_rng(0)
        """The policy's own random stream (tie-breaks, exploration): drawing from it never
        shifts a customer's arrival, work or patience."""
        self.predictor: InteractionPredictor | None = None
        """The interaction predictor (``sim.profile``): a customer's predicted patience,
        preferred channel and hours, from their finished interactions only; None when the
        scenario keeps no profiles (no predictor or outbound block)."""

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

    def first_idle_agents(self, skill: str, limit: int,
                          leave_out: Container[int] = ()) -> list[AgentView]:
        """Up to ``limit`` idle agents with ``skill``, longest idle first, leaving out those
        whose id is in ``leave_out``: ``idle_agents`` cut short, as a list (cheaper per agent
        than a generator, for policies that score a few candidates per decision)."""
        agents: list[AgentView] = []
        if self.longest_idle_agent(skill) is None:  # which drops stale entries at the head
            return agents
        # No copy of the index: nothing changes it while a policy decides.
        for agent, serial in self._idle[skill]:
            if agent.idle and agent.idle_serial == serial and agent.id not in leave_out:
                agents.append(agent)
                if len(agents) == limit:
                    break
        return agents

    def agents(self) -> Iterable[AgentView]:
        """Every agent who has been on duty in this run (on duty now or not), in the order
        they first came on duty."""
        return self._seats.values()

    def agent_count(self) -> int:
        """How many agents have been on duty in this run (``agents()``'s length)."""
        return len(self._seats)

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

    def first_waiting(self, contact_type: str, limit: int,
                      rung: int | None = None) -> list[ContactView]:
        """Up to ``limit`` waiting contacts of ``contact_type`` in arrival order, leaving out
        those that agent ``rung`` (an id) let ring unanswered: ``waiting`` cut short, as a
        list."""
        contacts: list[ContactView] = []
        for contact in self._waiting[contact_type]:
            if contact.status == WAITING and rung not in contact.unanswered:
                contacts.append(contact)
                if len(contacts) == limit:
                    break
        return contacts

    def waiting_count(self, contact_type: str) -> int:
        """How many contacts of ``contact_type`` wait now."""
        return self._waiting_count[contact_type]

    def has_waited(self, contact: ContactView, seconds: float) -> bool:
        """Whether ``contact`` has waited ``seconds`` since it entered the queue (to within
        ``TIME_SLACK``, so that a recheck armed for that moment sees it reached)."""
        return contact.arrival <= self.queued_by(seconds)

    def queued_by(self, seconds: float) -> float:
        """The latest queue entry of contacts that have waited ``seconds`` (as in
        ``has_waited``): for comparing many contacts' arrivals with one wait."""
        return self._env.now - seconds + TIME_SLACK  # type: ignore[attr-defined, no-any-return]

    def agent(self, agent_id: int) -> AgentView | None:
        """The agent with this id (e.g. a customer's ``last_agent``); None if never on duty."""
        if len(self._by_id) != len(self._seats):  # agents joined since the last look-up
            self._by_id = {agent.id: agent for agent in self._seats.values()}
        return self._by_id.get(agent_id)

    def last_agent(self, contact: ContactView) -> AgentView | None:
        """The agent who last served the contact's customer, if now on duty, holding the
        contact's type as a skill and not one who let this contact ring unanswered (a mobile
        agent: the contact falls back to the center); else None."""
        customer = contact.customer
        if customer is None or customer.last_agent is None:
            return None
        agent = self.agent(customer.last_agent)
        if (agent is None or not agent.on_duty or contact.type not in agent.skills
                or agent.id in contact.unanswered):
            return None
        return agent

    def best_idle(self, skill: str, rank: Callable[[AgentView], Any],
                  below: Any = None) -> AgentView | None:
        """The idle agent with ``skill`` of the lowest ``rank(agent)``, the longest idle
        among equals; None if there is none or, given ``below``, its rank is not below it.

        ``rank`` is called once per agent as it becomes idle, so it may use only what
        stays fixed meanwhile (group, levels, languages, ...). The index is built on the
        first call with a given function and kept per skill and function: pass the same
        function object every time. A query costs O(1) plus the stale entries it drops;
        the index costs O(log n) per agent that becomes idle.
        """
        ranked = self._ranked.get((skill, rank))
        if ranked is None:
            ranked = self._ranked[skill, rank] = _Ranked(rank)
            self._fan_out(self._idle, skill, ranked)
        return ranked.top(below)

    def oldest_waiting_by(self, contact_type: str, by: WaitingKey,
                          key: Hashable) -> ContactView | None:
        """The oldest waiting contact of ``contact_type`` whose ``by`` is ``key``.

        ``by`` is ``"tier"`` (the customer's tier; None for unknown callers),
        ``"intent"`` (the caller's intent; None without identity), ``"last_agent"``:
        the id of ``last_agent(contact)`` when the contact entered the queue (None if none),
        or a policy's own function of a contact that stays fixed while it waits (pass the
        same function object every time: the index is kept per function).
        """
        buckets = self._waiting_by.setdefault(by, {}).get(contact_type) or self._new_buckets(
            contact_type, by)
        return buckets.head(key)

    def oldest_waiting_each(self, contact_type: str,
                            by: WaitingKey) -> list[tuple[Hashable, ContactView]]:
        """``(key, contact)``: the oldest waiting contact of ``contact_type`` for each value of
        ``by`` (as in ``oldest_waiting_by``). O(number of values): meant for tiers and intents."""
        buckets = self._waiting_by.setdefault(by, {}).get(contact_type) or self._new_buckets(
            contact_type, by)
        return buckets.heads()

    def _new_buckets(self, contact_type: str, by: WaitingKey) -> _Buckets:
        key = (by if callable(by) else self._last_agent_key if by == "last_agent"
               else _CONTACT_KEYS[by])
        buckets = self._waiting_by[by][contact_type] = _Buckets(key)
        self._fan_out(self._waiting, contact_type, buckets)
        return buckets

    def _last_agent_key(self, contact: Contact) -> int | None:
        agent = self.last_agent(contact)
        return None if agent is None else agent.id

    # The kernel's writes (a policy never calls these).
    def add_idle(self, agent: Agent, skills: tuple[str, ...]) -> None:
        """The agent became idle for the contact types ``skills`` (its ``idle_serial`` was
        just raised, which makes its older entries stale)."""
        entry = (agent, agent.idle_serial)
        idle, limits = self._idle, self._idle_limit
        for skill in skills:
            queue = idle[skill]
            queue.append(entry)
            if len(queue) > limits[skill]:
                limits[skill] = _compact(queue, _idle_valid)

    def add_waiting(self, contact: Contact) -> None:
        """The contact joins the end of its type's queue."""
        queue = self._waiting[contact.type]
        queue.append(contact)
        if len(queue) > self._waiting_limit[contact.type]:
            self._waiting_limit[contact.type] = _compact(queue, _still_waiting)

    def return_waiting(self, contact: Contact) -> None:
        """Put a contact back into its queue in arrival order (rare: after an unanswered
        ring), unless its old entry is still there."""
        queue = self._waiting[contact.type]
        if contact in queue:
            return
        position = next((i for i, other in enumerate(queue) if other.arrival > contact.arrival),
                        len(queue))
        queue.insert(position, contact)

    @staticmethod
    def _fan_out(queues: dict[str, Any], name: str, index: _Buckets | _Ranked) -> None:
        """Feed ``index`` from the primary queue ``queues[name]``, now and on every append."""
        queue = queues[name]
        if not isinstance(queue, _FanOutQueue):
            queue = queues[name] = _FanOutQueue(queue)
        index.extend(queue)
        queue.indexes.append(index)


class _Buckets:
    """Waiting contacts of one type filed by a key, each bucket in arrival order.

    A contact ringing a mobile agent stays in place (it may come back unanswered); others
    that stopped waiting are dropped lazily at a bucket's front, and in bulk whenever a
    bucket doubles, so that memory follows the live contacts even when a bucket's front
    waits for long.
    """

    __slots__ = ("_key", "_queues", "_limits")

    def __init__(self, key: Callable[[Contact], Hashable]) -> None:
        self._key = key
        self._queues: dict[Hashable, deque[Contact]] = {}
        self._limits: dict[Hashable, int] = {}

    def extend(self, contacts: Iterable[Contact]) -> None:
        for contact in contacts:
            if contact.status == WAITING or contact.status == RINGING:
                self.add(contact)

    def add(self, contact: Contact) -> None:
        key = self._key(contact)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._limits[key] = _COMPACT_AT
        queue.append(contact)
        if len(queue) > self._limits[key]:
            kept = [c for c in queue if c.status == WAITING or c.status == RINGING]
            queue.clear()
            queue.extend(kept)
            self._limits[key] = max(_COMPACT_AT, 2 * len(kept))

    def add_in_order(self, contact: Contact) -> None:
        """File a contact back in arrival order (rare: after an unanswered ring), unless its
        entry is still there."""
        queue = self._queues.get(self._key(contact))
        if queue and contact in queue:
            return
        if not queue or queue[-1].arrival <= contact.arrival:
            self.add(contact)
        else:
            position = next(i for i, other in enumerate(queue) if other.arrival > contact.arrival)
            queue.insert(position, contact)

    def head(self, key: Hashable) -> Contact | None:
        """The oldest waiting contact under ``key``, or None."""
        queue = self._queues.get(key)
        while queue:
            contact = queue[0]
            if contact.status == WAITING:
                return contact
            if contact.status == RINGING:  # may come back: look behind it, keep it
                return next((c for c in queue if c.status == WAITING), None)
            queue.popleft()
        return None

    def heads(self) -> list[tuple[Hashable, Contact]]:
        """``(key, oldest waiting contact)`` of every bucket that has one."""
        found = []
        for key, queue in self._queues.items():
            if queue and queue[0].status == WAITING:  # the usual case, inlined
                found.append((key, queue[0]))
            elif queue and (contact := self.head(key)) is not None:
                found.append((key, contact))
        return found


class _Ranked:
    """Idle agents of one skill in a heap by ``(rank(agent), idle_since)``; stale entries
    dropped lazily at the top, and in bulk whenever the heap doubles."""

    __slots__ = ("_rank", "_heap", "_limit", "_serial")

    def __init__(self, rank: Callable[[Agent], Any]) -> None:
        self._rank = rank
        self._heap: list[tuple[Any, float, int, tuple[Agent, int]]] = []
        self._limit = _COMPACT_AT
        self._serial = count()  # never compare entries themselves

    def extend(self, entries: Iterable[tuple[Agent, int]]) -> None:
        for entry in entries:
            if _idle_valid(entry):
                self.add(entry)

    def add(self, entry: tuple[Agent, int]) -> None:
        agent = entry[0]
        heap = self._heap
        heapq.heappush(heap, (self._rank(agent), agent.idle_since, next(self._serial), entry))
        if len(heap) > self._limit:
            heap[:] = [item for item in heap if _idle_valid(item[3])]
            heapq.heapify(heap)
            self._limit = max(_COMPACT_AT, 2 * len(heap))

    add_in_order = add
    """A heap keeps its own order (for the fan-out; idle queues only get appends)."""

    def top(self, below: Any) -> Agent | None:
        """The first valid agent if its rank is below ``below`` (None: any rank)."""
        heap = self._heap
        while heap:
            rank, _, _, entry = heap[0]
            if _idle_valid(entry):
                return entry[0] if below is None or rank < below else None
            heapq.heappop(heap)
        return None


class _FanOutQueue(deque):  # type: ignore[type-arg]
    """A primary index queue that also feeds the keyed indexes built on it with each entry
    the engine appends (or inserts: a contact back from an unanswered ring)."""

    __slots__ = ("indexes",)

    def __init__(self, entries: Iterable[Any]) -> None:
        super().__init__(entries)
        self.indexes: list[_Buckets | _Ranked] = []

    def append(self, entry: Any) -> None:
        deque.append(self, entry)
        for index in self.indexes:
            index.add(entry)

    def insert(self, position: int, entry: Any) -> None:
        deque.insert(self, position, entry)
        for index in self.indexes:
            index.add_in_order(entry)


def _idle_valid(entry: tuple[Agent, int]) -> bool:
    agent, serial = entry
    return agent.idle and agent.idle_serial == serial


def _still_waiting(contact: Contact) -> bool:
    # A ringing contact keeps its place: it comes back if the ring goes unanswered.
    return contact.status == WAITING or contact.status == RINGING


def _compact(queue: deque[Any], valid: Callable[[Any], bool]) -> int:
    """Drop the stale entries of a primary queue in place, order kept (the keyed indexes fed
    by a ``_FanOutQueue`` keep their own entries); return the size to compact at next."""
    kept = [entry for entry in queue if valid(entry)]
    deque.clear(queue)
    deque.extend(queue, kept)
    return max(_COMPACT_AT, 2 * len(kept))


_CONTACT_KEYS: dict[str, Callable[[Contact], Hashable]] = {
    "tier": lambda contact: contact.customer.tier if contact.customer is not None else None,
    "intent": lambda contact: contact.identity.intent if contact.identity is not None else None,
}
