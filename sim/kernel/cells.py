"""The metric cells of one replication and the figures assembled from them at the end.

One ``ContactCell`` per (contact type, interval of the day), and per (type, tier) with
customers; one ``GroupCell`` per (agent group, interval). Totals are sums of cells,
computed once in ``MetricCells.result``. Figures per weekday, when asked for, take one cell
per interval of each day of a 7-day cycle instead: seven times the cells, and the same
steps in the kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.kernel.metrics import (
    AGENT_METRICS, RING_METRICS, TRACK_MATCHING, TRACK_OMNI, TRACK_OUTCOMES, ContactCell,
    GroupCell, merged_contacts, merged_groups,
)
from sim.model.scenario import DAY, Scenario
from sim.model.week import WEEKDAYS, weekday_of
from sim.state import WAITING

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation


@dataclass
class ReplicationResult:
    """Metrics of one replication of one policy, ready for tables and JSON."""

    policy: str
    replication: int
    overall: dict[str, float]
    verification: str | None = None
    """Verification strategy, when the scenario has an identity block."""
    by_type: dict[str, dict[str, float]] = field(default_factory=dict)
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)
    by_interval: dict[str, dict[str, float]] = field(default_factory=dict)
    by_tier: dict[str, dict[str, float]] = field(default_factory=dict)
    """Contact metrics per customer tier (and ``unknown`` callers), with customers."""
    wait_histogram: list[int] = field(default_factory=list)
    """Answered contacts per wait bin (``sim.kernel.metrics.bin_edges``), all types together."""
    outbound: str | None = None
    """Outbound strategy, when the scenario has an outbound block."""
    by_channel: dict[str, dict[str, float]] = field(default_factory=dict)
    """Contact metrics per channel (each channel's own SL threshold)."""
    by_campaign: dict[str, dict[str, float]] = field(default_factory=dict)
    """Outbound metrics per campaign."""
    wait_histogram_by_type: dict[str, list[int]] = field(default_factory=dict)
    """``wait_histogram`` of each contact type."""
    by_group_interval: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    """Agent metrics (``AGENT_METRICS``) per group and interval of the day (``HH:MM``)."""
    by_agent: dict[str, dict[str, float]] = field(default_factory=dict)
    """Figures per agent (``sim.stages.agent_figures``), when asked for; else empty."""
    by_weekday: dict[str, dict[str, float]] = field(default_factory=dict)
    """Contact and agent metrics per weekday (``mon``...), when asked for (``by_weekday``)."""


def is_omnichannel(scenario: Scenario) -> bool:
    """Whether the scenario uses channels, retrials, callbacks, journeys or outbound, whose
    figures (needs, retrials, callbacks, cross-channel recognition) are then reported."""
    return (scenario.channels is not None or scenario.outbound is not None
            or any(t.retrial or t.callback or t.journey for t in scenario.contact_types.values())
            or any(g.capacity is not None for g in scenario.agents.values()))


def sl_thresholds(scenario: Scenario) -> dict[str, float]:
    """T of SL(T) per contact type: its channel's, else the scenario's."""
    specs = scenario.channels or {}
    default = scenario.service_level.threshold
    thresholds = {}
    for name, ctype in scenario.contact_types.items():
        spec = specs.get(ctype.channel)
        threshold = spec.service_level if spec is not None else None
        thresholds[name] = default if threshold is None else threshold
    return thresholds


class MetricCells:
    """Every accumulator cell of one replication: one per interval of the day, or with
    ``by_weekday`` one per interval of each day of the run's 7-day cycle."""

    def __init__(self, scenario: Scenario, by_weekday: bool = False) -> None:
        run = scenario.run
        self.interval = run.interval
        self.intervals = run.intervals_per_day
        days = len(WEEKDAYS) if by_weekday else 1
        self.weekdays = tuple(weekday_of(day, run.start_weekday) for day in range(days)) \
            if by_weekday else ()
        self.period = DAY * days
        """The time the cells cover before they repeat: a day, or a week."""
        self.slots = self.intervals * days
        """Cells per contact type and per group: intervals of the day x days of the cycle."""
        self.warmup = run.warmup
        self.short_abandon = scenario.service_level.short_abandon
        self.type_names = tuple(scenario.contact_types)
        self.group_names = tuple(scenario.agents)
        self.omnichannel = is_omnichannel(scenario)
        self.channel_of = {name: t.channel for name, t in scenario.contact_types.items()}
        identity = scenario.identity is not None
        self.tracks = tracks = ((TRACK_OUTCOMES if scenario.outcomes is not None else 0)
                  | (TRACK_MATCHING if scenario.matching is not None else 0)
                  | (TRACK_OMNI if self.omnichannel else 0))
        thresholds = sl_thresholds(scenario)

        def cells_of(type_name: str) -> list[ContactCell]:
            return [ContactCell(identity, tracks, thresholds[type_name])
                    for _ in range(self.slots)]

        self.contact = [cells_of(name) for name in self.type_names]
        # With customers, contacts of a known customer count in per-tier cells instead, so
        # that every figure also exists per tier (abandonment of VIPs, ...).
        self.tier_names = tuple(scenario.customers.tiers) if scenario.customers else ()
        self.tier = {(type_name, tier): cells_of(type_name)
                     for type_name in self.type_names for tier in self.tier_names}
        self.group = [[GroupCell(group.mobile is not None) for _ in range(self.slots)]
                      for group in scenario.agents.values()]
        self.warmup_sink = GroupCell()
        """Agent figures of work finished during warm-up (never reported)."""

    def add_time(self, cells: list[GroupCell], attribute: str, start: float, end: float) -> None:
        """Add the part of [start, end) inside the measured window to per-interval cells."""
        if start < self.warmup:
            start = self.warmup
        interval, last, period = self.interval, self.slots - 1, self.period
        # Comparisons rather than min/max: this runs for every busy period that spans an
        # interval boundary.
        while start < end:
            period_start = (start // period) * period
            slot = int((start - period_start) // interval)
            if slot > last:
                slot = last
            slot_end = period_start + (slot + 1) * interval
            if slot_end > end:
                slot_end = end
            cell = cells[slot]
            setattr(cell, attribute, getattr(cell, attribute) + (slot_end - start))
            start = slot_end

    def count_at_end(self, sim: Simulation, end: float) -> None:
        """The run ends at ``end``: agents' open busy and logged-in time, contacts still in
        service or waiting (with the trace rows of those that wait)."""
        add_time = self.add_time
        for group_cells, agents in zip(self.group, sim.agents):
            for agent in agents:
                if agent.held:
                    add_time(group_cells, "busy", agent.busy_since, end)
                    if agent.capacity is None and agent.contact is not None \
                            and agent.contact.counted:
                        agent.contact.cell.in_service_at_end += 1
                if agent.on_duty:
                    add_time(group_cells, "logged_in", agent.logged_in_at, end)
        for queue in sim.state._waiting.values():
            for contact in queue:
                if contact.status != WAITING:
                    continue
                if contact.counted:
                    contact.cell.in_queue_at_end += 1
                    contact.cell.wait_at_end_sum += end - contact.arrival
                if sim.trace is not None:
                    sim.trace.contact(sim, contact, "waiting_at_end", end)

    def _interval_lengths(self, end: float) -> list[float]:
        lengths = [GroupCell() for _ in range(self.slots)]
        self.add_time(lengths, "logged_in", self.warmup, end)
        return [cell.logged_in for cell in lengths]

    def interval_label(self, index: int) -> str:
        """``HH:MM`` (``HH:MM:SS`` for intervals not in whole minutes) of interval ``index``."""
        seconds = round(index * self.interval)
        label = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
        return label if self.interval % 60 == 0 else f"{label}:{seconds % 60:02d}"

    def result(self, sim: Simulation, end: float, queue_area: float) -> ReplicationResult:
        """The replication's figures: overall, per type, group, interval and tier."""
        measured = max(end - self.warmup, 0.0)
        type_cells = [cells + [c for tier in self.tier_names for c in self.tier[name, tier]]
                      for name, cells in zip(self.type_names, self.contact)]
        type_totals = [merged_contacts(cells) for cells in type_cells]
        group_totals = [merged_groups(cells) for cells in self.group]
        all_contacts = merged_contacts(type_totals)
        self.all_groups = all_groups = merged_groups(group_totals)
        """All agent time together (set by ``result``, for stages' figures)."""
        overall = all_contacts.figures()
        agent_figures = all_groups.figures(measured)
        overall.update((m, agent_figures[m]) for m in AGENT_METRICS)
        overall.update((m, agent_figures[m]) for m in RING_METRICS if m in agent_figures)
        overall["mean_queue_length"] = queue_area / measured if measured > 0 else math.nan
        overall["measured_hours"] = measured / 3600.0
        by_type = {name: total.figures() for name, total in zip(self.type_names, type_totals)}
        by_group = {name: total.figures(measured)
                    for name, total in zip(self.group_names, group_totals)}
        slot_lengths = self._interval_lengths(end)
        by_interval = {}
        by_group_interval: dict[str, dict[str, dict[str, float]]] = {
            name: {} for name in self.group_names}
        for index in range(self.intervals):
            # The interval of the day on every day of the cycle.
            slots = range(index, self.slots, self.intervals)
            length = sum(slot_lengths[slot] for slot in slots)
            if length <= 0:
                continue
            label = self.interval_label(index)
            for name, cells in zip(self.group_names, self.group):
                agent_figures = merged_groups(cells[slot] for slot in slots).figures(length)
                by_group_interval[name][label] = {m: agent_figures[m] for m in AGENT_METRICS}
            by_interval[label] = self._figures(slots, length)
        by_weekday = {}
        for day, weekday in enumerate(self.weekdays):
            slots = range(day * self.intervals, (day + 1) * self.intervals)
            length = sum(slot_lengths[slot] for slot in slots)
            if length > 0:
                by_weekday[weekday] = self._figures(slots, length)
        by_weekday = {day: by_weekday[day] for day in WEEKDAYS if day in by_weekday}
        by_tier = {tier: merged_contacts(c for name in self.type_names
                                         for c in self.tier[name, tier]).figures()
                   for tier in self.tier_names}
        if self.tier_names:
            by_tier["unknown"] = merged_contacts(
                c for cells in self.contact for c in cells).figures()
        by_channel: dict[str, dict[str, float]] = {}
        if self.omnichannel:  # omnichannel figures: per channel too
            channels: dict[str, ContactCell] = {}
            for name, total in zip(self.type_names, type_totals):
                channels.setdefault(self.channel_of[name], ContactCell()).add(total)
            by_channel = {channel: cell.figures() for channel, cell in channels.items()}
        return ReplicationResult(
            sim.policy_name, sim.replication, overall, sim.verification, by_type, by_group,
            by_interval, by_tier, all_contacts.wait_counts(), sim.outbound, by_channel,
            wait_histogram_by_type={name: total.wait_counts()
                                    for name, total in zip(self.type_names, type_totals)},
            by_group_interval=by_group_interval, by_weekday=by_weekday)

    def _figures(self, slots: range, length: float) -> dict[str, float]:
        """Contact and agent figures of the cells ``slots``, which measured ``length``
        seconds in all."""
        figures = merged_contacts(cells[slot] for cells in (*self.contact, *self.tier.values())
                                  for slot in slots).figures()
        agent_figures = merged_groups(cells[slot] for cells in self.group
                                      for slot in slots).figures(length)
        figures.update((m, agent_figures[m]) for m in AGENT_METRICS)
        return figures
