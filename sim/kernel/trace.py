"""Optional per-contact trace: one CSV row per contact outcome.

Only kept when asked for (``--trace PATH`` writes a file, ``run(..., contacts=True)`` keeps
the rows in memory); it is the one output whose size grows with the number of contacts.
The engine's stages call ``contact``/``attempt`` only when a sink is set, so a run without
one pays nothing for it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sim.stages.dialer import Attempt
    from sim.state import Agent, Contact

TRACE_COLUMNS = (
    "policy", "replication", "contact_id", "type", "arrival_s", "outcome", "event_s", "wait_s",
    "agent_id", "agent_group", "handle_s", "wrap_up_s", "in_warmup",
    "customer_id", "caller", "intent", "identified", "flags", "verified", "verify_ivr_s",
    "verify_agent_s", "verification",
)
_CALLER_KINDS = ("genuine", "prospect", "fraud")


class TracedRun(Protocol):
    """What a row needs from the run that produced the contact (the engine's ``Simulation``).

    A protocol so that the trace depends on nothing in the engine, which imports it.
    """

    @property
    def policy_name(self) -> str: ...

    @property
    def replication(self) -> int: ...

    @property
    def verification(self) -> str | None: ...


class TraceRows:
    """Builds one row per contact outcome or outbound attempt (``TRACE_COLUMNS``) and hands
    it to ``emit``: a file (``TraceWriter``) or memory (``TraceRecorder``).

    Values are typed: times in seconds as floats, counts and flags as ints, ``None`` where
    a column does not apply (the CSV file writes it as an empty cell).
    """

    def emit(self, row: tuple[Any, ...]) -> None:
        """Keep one row; subclasses say where."""
        raise NotImplementedError

    def contact(self, sim: TracedRun, contact: Contact, outcome: str, time: float) -> None:
        """Record ``contact``'s ``outcome`` at ``time``: answered, abandoned, blocked,
        waiting_at_end, callback_unreached (the agent's call back did not reach the
        customer), or with identity self_service, refused_in_ivr, in_ivr_at_end, and with
        churn customer_left (the caller had left: the contact did not happen).

        ``arrival_s`` is when the contact entered the queue (after the IVR, with
        identity); for contacts that never left the IVR it is their arrival, and
        ``wait_s`` is then their time in the IVR. ``handle_s`` is the agent's time on the
        contact before wrap-up (``service_s``, set when the trace is on, less wrap-up).
        """
        answered = outcome == "answered"
        agent = contact.agent if answered or outcome == "callback_unreached" else None
        # An unreached call back took the agent's dialling time and no wrap-up.
        wrap_up = contact.wrap_up if answered else 0.0
        self.emit((
            sim.policy_name, sim.replication, contact.id, contact.type, float(contact.arrival),
            outcome, float(time), float(time - contact.arrival),
            agent.id if agent else None, agent.group if agent else None,
            float(contact.service_s - wrap_up) if agent is not None else None,
            float(wrap_up) if agent else None, int(not contact.counted),
            *_identity_columns(contact, answered, sim.verification),
        ))

    def attempt(self, sim: TracedRun, agent: Agent, attempt: Attempt, time: float) -> None:
        """Record an outbound attempt that ended at ``time``: ``outbound_reached`` or
        ``outbound_unreached``. ``type`` is the campaign, ``arrival_s`` when the attempt was
        due, ``wait_s`` how long it waited for a dialling agent, ``handle_s`` the agent's
        time on it; it has no contact id (it is not an inbound contact)."""
        task = attempt.task
        self.emit((
            sim.policy_name, sim.replication, None, task.campaign, float(attempt.time),
            "outbound_reached" if attempt.reached else "outbound_unreached",
            float(attempt.started), float(attempt.started - attempt.time),
            agent.id, agent.group, float(time - attempt.started), 0.0,
            int(not attempt.counted), task.customer, *(None,) * 8,
        ))


class TraceWriter(TraceRows):
    """Writes contact rows to a CSV file (times with millisecond digits); usable as a
    context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] = self.path.open("w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(TRACE_COLUMNS)

    def emit(self, row: tuple[Any, ...]) -> None:
        """Write ``row``: floats with three decimals, ``None`` as an empty cell."""
        self._writer.writerow(["" if value is None else f"{value:.3f}"
                               if isinstance(value, float) else value for value in row])

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TraceRecorder(TraceRows):
    """Keeps the rows in memory, as tuples in ``TRACE_COLUMNS`` order (``run(...,
    contacts=True)`` turns them into ``RunResults.contacts``)."""

    def __init__(self, rows: list[tuple[Any, ...]] | None = None) -> None:
        self.rows: list[tuple[Any, ...]] = [] if rows is None else rows
        self.emit = self.rows.append  # type: ignore[method-assign]


class TraceTee(TraceRows):
    """Hands every row to several sinks (a file and memory)."""

    def __init__(self, *sinks: TraceRows) -> None:
        self._sinks = sinks

    def emit(self, row: tuple[Any, ...]) -> None:
        for sink in self._sinks:
            sink.emit(row)


def _identity_columns(contact: Contact, answered: bool,
                      verification: str | None) -> tuple[object, ...]:
    """Caller, intent and verification outcome; blank without customers.

    Verification times are those of this contact: IVR checks on the first contact only (a
    retrial or repeat skips the IVR), agent checks when this contact was answered (a
    retrial carries the checks still to do; a repeat of a verified contact has none).
    """
    caller = contact.identity
    if caller is None:
        return (None,) * 9
    verified = None if caller.verified is None or contact.repeat else int(caller.verified)
    ivr = 0.0 if contact.repeat or contact.retrial else caller.ivr_verify_s
    return (
        caller.customer.id if caller.customer is not None else None, _CALLER_KINDS[caller.kind],
        caller.intent, int(caller.identified), "|".join(caller.flags), verified,
        float(ivr), float(contact.agent_extra) if answered else 0.0, verification or None,
    )
