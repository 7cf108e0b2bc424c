"""The plain kernel's hot path fused into closures (superinstructions).

A contact of a scenario without features goes through a dozen kernel steps
(``admit`` -> ``route`` -> ``start_service`` -> ``assign`` -> ``answered`` ->
``service_time``, or ``hold`` -> ``enqueue`` -> ``wait``; at the end ``_on_finish`` ->
``release`` -> ``completed`` -> ``agent_done`` -> ``end_busy`` -> ``on_free`` ->
``pick_contact`` -> ``rest``), each a Python call of a few statements. When no stage (and
no test hook) has replaced any of them, ``fuse`` installs the same statements, in the
same order, as closures over the kernel's state: an arrival, holding a contact in the
queue, the start of a service and its end. Same events, same order, same floats: the
golden result files and ``tests/test_kernel_fused.py`` (fused against stepwise on every
plain shipped scenario) check it. Rare branches (an agent going off duty, warm-up, busy
periods across interval boundaries) call the kernel's own steps.

Stepwise (``sim.kernel.kernel``) stays the definition: a stage changes a step there, and
a scenario with any stage runs stepwise.
"""

from __future__ import annotations

import math
from heapq import heappush
from typing import TYPE_CHECKING

from sim.state import IN_SERVICE, WAITING, Agent, Contact, new_contact

if TYPE_CHECKING:
    from sim.kernel.arrivals import TypeArrivals
    from sim.kernel.kernel import Simulation

INFINITY = math.inf

STEPS = {"_on_arrival": "_arrival", "admit": "_admit", "route": "_route",
         "start_service": "_start_service", "assign": "_assign", "answered": "_answered",
         "service_time": "_service_time", "_on_finish": "_finish", "release": "_release",
         "completed": "_completed", "agent_done": "agent_done", "end_busy": "end_busy",
         "on_free": "_on_free", "pick_contact": "_pick_contact", "rest": "_rest"}
"""Kernel attribute -> the ``Simulation`` function it must still be for ``fuse`` to
apply (a stage or a test that replaced one keeps the stepwise path)."""


def plain(kernel: Simulation) -> bool:
    """Whether every step of ``STEPS`` is still the kernel's own."""
    return all(_own(kernel, name, own) for name, own in STEPS.items())


def _own(kernel: Simulation, name: str, own: str) -> bool:
    """Whether the kernel's step ``name`` is still its method ``own``."""
    return getattr(getattr(kernel, name), "__func__", None) is getattr(type(kernel), own)


def fuse(kernel: Simulation) -> bool:
    """Install the fused arrival, start and finish (and queueing, unless a stage holds
    contacts its own way) on ``kernel`` if it is ``plain``; return whether it did. Call
    once, just before the run's first event."""
    if not plain(kernel):
        return False
    lane = kernel._lane
    clock, heap, order, state, cells = (kernel.clock, kernel._heap, kernel._order,
                                        kernel.state, kernel.cells)
    select_agent, select_contact = kernel.select_agent, kernel.select_contact
    waiting_count, add_idle, group_cells = state._waiting_count, state.add_idle, cells.group
    max_arrivals, warmup = kernel.max_arrivals, kernel.warmup
    add_waiting, give_up = state.add_waiting, kernel._on_patience_end
    # A contact answered after a wait is counted by the kernel's own step (the wait
    # histogram); one answered on arrival by the arrival itself (a wait of 0).
    answered = kernel.answered

    def enqueue(contact: Contact, now: float) -> None:  # _enqueue, wait
        contact.status = WAITING
        add_waiting(contact)
        if contact.counted:
            contact.cell.queued += 1
        waiting_count[contact.type] += 1
        kernel._queue_area += kernel.queue_length * (now - kernel._queue_changed)
        kernel._queue_changed = now
        kernel.queue_length += 1.0
        patience = contact.arrival + contact.patience - now
        if patience < INFINITY:
            heappush(heap, (now + (patience if patience > 0.0 else 0.0), next(order), give_up,
                            contact))

    # A stage may still change how a contact is held (a waiting room blocks some).
    hold = enqueue if _own(kernel, "hold", "_enqueue") and _own(kernel, "wait", "wait") \
        else kernel.hold

    def arrive(arrivals: TypeArrivals) -> None:  # _on_arrival, _admit, _route
        number = kernel.arrivals
        if number == max_arrivals:
            return  # another type's arrival reached the count first
        now = clock.now
        kernel.arrivals = number = number + 1
        _, patience, work, wrap_up = arrivals.pending
        if number != max_arrivals:
            arrivals.pending = draws = next(arrivals.draws, None) or arrivals.refill()
            rate = arrivals.rate
            heappush(lane, (now + (draws[0] / rate if rate is not None
                                   else arrivals.clock.next_after(now, draws[0]) - now),
                            next(order), arrive, arrivals))
        counted = now >= warmup
        cell = arrivals.cells[kernel.slot]
        contact = new_contact(Contact, number, arrivals.name, now, patience, work, wrap_up, cell,
                              counted)
        if counted:
            cell.arrivals += 1
        agent = select_agent(contact, state)
        if agent is None:
            hold(contact, now)
            return
        if not (agent.idle and contact.type in (
                agent.skill_set if agent.capacity is None else agent.open)):
            kernel._refuse_agent(agent, contact)
        if counted:  # _answered, for a wait of 0 (answered on arrival)
            cell.answered += 1
            if 0.0 <= cell.sl_threshold:
                cell.answered_in_sl += 1
            (cell.histogram or cell.new_histogram())[0] += 1
        begin(agent, contact, now)

    def start(agent: Agent, contact: Contact, now: float) -> None:  # _start_service
        answered(contact, now)
        begin(agent, contact, now)

    def begin(agent: Agent, contact: Contact, now: float) -> None:
        # _start_service, _assign, _service_time; the caller has counted the answer
        contact.status = IN_SERVICE
        contact.answered_at = now
        contact.agent = agent
        agent.contact = contact
        agent.held = held = agent.held + 1
        if held == 1:
            agent.busy_since = now
            agent.busy_epoch = kernel._epoch
        agent.idle = False
        heappush(heap, (now + (contact.work / agent.speed_for[contact.type] + contact.wrap_up),
                        next(order), finish, contact))

    def finish(contact: Contact) -> None:
        # _on_finish, _release, _completed, agent_done, end_busy, _on_free, _pick_contact, _rest
        agent: Agent = contact.agent  # type: ignore[assignment]
        now = clock.now
        agent.held = held = agent.held - 1
        agent.contact = None
        handled = now - contact.answered_at
        if contact.counted:
            cell = contact.cell
            cell.handled += 1
            cell.handle_sum += handled
        if not held and agent.busy_epoch == kernel._epoch > 0:
            group_cell = group_cells[agent.group_index][kernel.slot]
            group_cell.busy += now - agent.busy_since
        else:
            group_cell = kernel.end_busy(agent, now)
        group_cell.handled += 1
        group_cell.handle_sum += handled
        if agent.leaving:
            kernel.after_work(agent, now)
            return
        waiting = select_contact(agent, state)
        if waiting is None:
            agent.idle = True
            agent.idle_since = now
            agent.idle_serial += 1
            add_idle(agent, agent.skills)
            if kernel.arrivals == max_arrivals:
                kernel.drain_check()
            return
        if not (waiting.status == WAITING and waiting.type in agent.skill_set):
            kernel._refuse_contact(agent, waiting)
        waiting_count[waiting.type] -= 1
        kernel._queue_area += kernel.queue_length * (now - kernel._queue_changed)
        kernel._queue_changed = now
        kernel.queue_length -= 1.0
        answered(waiting, now)
        begin(agent, waiting, now)

    kernel._on_arrival = arrive
    kernel.start_service = start  # type: ignore[method-assign]
    kernel._on_finish = finish
    return True
