"""Needs, not just arrivals (``needs`` block; docs/needs.md).

An inbound contact of a genuine customer whose intent is under ``needs.intents`` is the
moment the customer would call about a need that arose a lead time earlier. Whichever
contact comes first serves the need: the call, or an outbound attempt that reaches the
customer while the need is open (a campaign whose ``intents`` include the need's); a
need served by outreach takes its call away.

To know a need before its call, the stage reads the calls to come as far ahead as a
need can arise (the longest lead, at most ``max_lead``) from second copies of each type's
arrival and caller streams (same purposes, so the same values as the kernel will draw):
call k of a type here is the kernel's k-th arrival of that type, with the same time,
customer and intent. So with nothing reaching customers first, every contact happens
exactly as without the block; a call taken away still takes its draws
(``IdentityStage.skip``) and the calls after it keep theirs.

Wraps ``admit`` just after the identity stage (a dropped call never reaches it, while
stages that draw at arrival and wrap later, like outcomes, still take their draws), and
at the start of the run the dialer's ``begin`` (a reached customer's need is served) and
``wanted`` (a needs campaign does not dial a need that is no longer open).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections import deque

from sim.kernel.arrivals import TypeArrivals, day_factor_function
from sim.kernel.streams import uniforms
from sim.stages import Stage

if TYPE_CHECKING:
    from policies.outbound import OutboundTask
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.kernel.streams import Stream
    from sim.stages.dialer import Attempt, Dialer
    from sim.stages.identity import IdentityStage
    from sim.state import Contact

PENDING, OPEN, INBOUND, OUTREACH = range(4)
"""A need's state: not yet arisen, open, served by its call, served by outreach."""


class Need:
    """One customer's need: its intent, and the call that serves it unless outreach does."""

    __slots__ = ("customer", "intent", "call", "call_time", "state", "counted", "known")

    def __init__(self, customer: int, intent: str, call: int, call_time: float,
                 known: bool) -> None:
        self.customer = customer
        self.intent = intent
        self.call = call
        """The call's number among its contact type's arrivals (1 for the first)."""
        self.call_time = call_time
        self.state = PENDING
        self.counted = False
        """Whether the need arose in the measured window (after warm-up)."""
        self.known = known


class NeedsCell:
    """Counts of the needs that arose in the measured window, and what became of them."""

    __slots__ = ("arisen", "inbound", "outreach", "open_at_end", "calls_avoided", "withdrawn")

    def __init__(self) -> None:
        self.arisen = 0
        self.inbound = 0
        self.outreach = 0
        self.open_at_end = 0
        self.calls_avoided = 0
        """Calls in the measured window that did not happen: their need was served first."""
        self.withdrawn = 0
        """Attempts of needs campaigns not made: the need was served before an agent dialled."""

    def figures(self) -> dict[str, float]:
        """The needs metrics (docs/needs.md)."""
        return {
            "needs_arisen": float(self.arisen),
            "needs_served_inbound": float(self.inbound),
            "needs_served_outreach": float(self.outreach),
            "needs_open_at_end": float(self.open_at_end),
            "needs_outreach_share": (self.outreach / self.arisen if self.arisen
                                     else float("nan")),
            "needs_calls_avoided": float(self.calls_avoided),
            "needs_attempts_withdrawn": float(self.withdrawn),
        }


class _Calls:
    """The calls of one contact type to come, read ahead of the kernel."""

    __slots__ = ("channel", "arrivals", "rows", "time", "seen", "made", "needs")

    def __init__(self, channel: str, arrivals: TypeArrivals, rows: Stream) -> None:
        self.channel = channel
        self.arrivals = arrivals
        self.rows = rows
        self.time = arrivals.first_arrival()
        """Time of the next call not yet read."""
        self.seen = 0
        """Calls read so far."""
        self.made = 0
        """Calls the kernel has made so far."""
        self.needs: deque[Need] = deque()
        """Needs of calls read and not yet made, in call order."""

    def advance(self) -> None:
        """Move past the next call: the time of the one after it."""
        arrivals = self.arrivals
        arrivals.pending = draws = next(arrivals.draws, None) or arrivals.refill()
        rate, now = arrivals.rate, self.time
        # The kernel's expression in ``_on_arrival``, so that the times are the same floats.
        self.time = now + (draws[0] / rate if rate is not None
                           else arrivals.clock.next_after(now, draws[0]) - now)


class NeedsStage(Stage):
    """Needs that arise ahead of their calls; served by the call or by outreach first."""

    def __init__(self, kernel: Simulation, identity: IdentityStage) -> None:
        super().__init__(kernel)
        scenario = kernel.scenario
        spec = scenario.needs
        assert spec is not None
        streams = kernel.streams
        self._identity = identity
        self._read_ahead = spec.read_ahead
        self._leads = {name: streams.stream(f"needs/{name}/lead", intent.lead.sample)
                       for name, intent in spec.intents.items()}
        self._known = {name: (intent.known, streams.stream(f"needs/{name}/known", uniforms))
                       for name, intent in spec.intents.items()}
        day_factor = day_factor_function(scenario, streams)
        self._calls = {name: _Calls(ctype.channel,
                                    TypeArrivals(name, streams, scenario, day_factor),
                                    identity.model.caller_rows(streams, name))
                       for name, ctype in scenario.contact_types.items()}
        campaigns = scenario.outbound.campaigns if scenario.outbound is not None else {}
        self._campaign_intents = {name: c.intents for name, c in campaigns.items() if c.intents}
        self._needs_campaign = {intent: name for name, c in campaigns.items()
                                if c.trigger == "needs" for intent in c.intents}
        self._targeting = set(self._needs_campaign.values())
        self._dialer: Dialer | None = None
        self._open: dict[int, list[Need]] = {}
        """Open needs by customer, oldest first."""
        self.cell = NeedsCell()
        admit = kernel.admit

        def admit_unless_served(contact: Contact, now: float) -> None:
            calls = self._calls[contact.type]
            calls.made += 1
            needs = calls.needs
            if needs and needs[0].call == calls.made and not self._by_call(needs, now):
                identity.skip(contact.type)
                return
            admit(contact, now)

        kernel.admit = admit_unless_served

    def start(self) -> None:
        from sim.stages.outbound import Outbound

        outbound = self.kernel.stage(Outbound)
        if outbound is not None and self._campaign_intents:
            dialer = self._dialer = outbound.dialer
            begin = dialer.begin

            def begin_and_serve(attempt: Attempt, now: float) -> float:
                duration = begin(attempt, now)
                if attempt.reached:
                    self._reached(attempt.task)
                return duration

            dialer.begin = begin_and_serve  # type: ignore[method-assign]
            dialer.wanted = self._wanted
        for calls in self._calls.values():
            self._read(calls)

    # ------------------------------------------------------------ calls to come
    def _read(self, calls: _Calls) -> None:
        """Read the type's calls as far ahead as a need can arise (``Needs.read_ahead``):
        each need of a genuine customer arises at its call time less its lead (cut to that
        distance); then wake up when the next call comes into reach."""
        clock, model, leads = self.kernel.clock, self._identity.model, self._leads
        now, horizon = clock.now, clock.now + self._read_ahead
        while calls.time <= horizon:
            row = calls.rows.next_value()
            calls.seen += 1
            found = model.need_of(row, calls.channel, calls.time, leads)
            if found is not None:
                customer, intent = found
                lead = min(leads[intent].next_value(), self._read_ahead)
                share, known = self._known[intent]
                need = Need(customer, intent, calls.seen, calls.time,
                            known.next_value() < share)
                calls.needs.append(need)
                clock.schedule(max(calls.time - lead - now, 0.0), self._arise, need)
            calls.advance()
        clock.schedule(calls.time - horizon, self._read, calls)

    def _arise(self, need: Need) -> None:
        """The need arises (unless its call came first: a lead of 0 s at a tie)."""
        if need.state != PENDING:
            return
        now = self.kernel.clock.now
        self._open_need(need, now)
        campaign = self._needs_campaign.get(need.intent)
        if need.known and campaign is not None and self._dialer is not None:
            self._dialer.new_task(campaign, need.customer)

    def _open_need(self, need: Need, now: float) -> None:
        need.state = OPEN
        need.counted = now >= self.kernel.warmup
        self.cell.arisen += need.counted
        self._open.setdefault(need.customer, []).append(need)

    def _by_call(self, needs: deque[Need], now: float) -> bool:
        """The call of the first need in ``needs`` comes now: whether it happens (the need
        was not served by outreach first), closing the need if so."""
        need = needs.popleft()
        if need.state == OUTREACH:
            self.cell.calls_avoided += now >= self.kernel.warmup
            return False
        if need.state == PENDING:
            self._open_need(need, now)
        need.state = INBOUND
        self.cell.inbound += need.counted
        self._close(need)
        return True

    def _close(self, need: Need) -> None:
        waiting = self._open[need.customer]
        waiting.remove(need)
        if not waiting:
            del self._open[need.customer]

    # -------------------------------------------------------------- outreach
    def _reached(self, task: OutboundTask) -> None:
        """An attempt reached the customer: it serves their oldest open need of one of the
        campaign's intents, whose call then does not happen."""
        intents = self._campaign_intents.get(task.campaign)
        if intents is None:
            return
        for need in self._open.get(task.customer, ()):
            if need.intent in intents:
                need.state = OUTREACH
                self.cell.outreach += need.counted
                self._close(need)
                return

    def _wanted(self, task: OutboundTask) -> bool:
        """A needs campaign dials only customers with an open need of its intents."""
        if task.campaign not in self._targeting:
            return True
        intents = self._campaign_intents[task.campaign]
        if any(need.intent in intents for need in self._open.get(task.customer, ())):
            return True
        self.cell.withdrawn += self.kernel.clock.now >= self.kernel.warmup
        return False

    # ------------------------------------------------------------------ end
    def finish_run(self, end: float) -> None:
        self.cell.open_at_end = sum(need.counted for needs in self._open.values()
                                    for need in needs)

    def report(self, result: ReplicationResult) -> None:
        result.overall.update(self.cell.figures())
