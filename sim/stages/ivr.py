"""The IVR menu (``ivr:`` block): callers of the entry types walk the menu before they queue.

Wraps ``admit``: a contact of an entry type draws its whole path when it arrives (a row
of uniforms for the hang-up, self-service and choice at each level, and every node's
prompt time, from the menu's own streams), so its path and time in the menu are the same
under every policy (common random numbers). When the path's prompts have played it hangs
up or is self-served (it ends in the IVR, counted in its entry type's cell), or it
reaches a leaf and is admitted as the leaf's type (with the leaf's intent, which the
identity stage reads), its wait measured from then. A contact routed to another type
takes that type's patience, work and wrap-up, also drawn at arrival from the menu's
streams. Scenarios without a menu have no such stage.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from sim.kernel.streams import Stream, ZippedStreams
from sim.model.identity import _uniform_rows
from sim.model.ivr import IvrMenu, MenuNode, Where, leaf_label
from sim.model.outcomes import follow_up_streams
from sim.stages import Stage

if TYPE_CHECKING:
    from sim.kernel.kernel import Simulation
    from sim.stages.identity import IdentityStage
    from sim.state import Contact

HANG_UP, SELF_SERVED = -1, -2
"""How a path ends when it does not reach a queue (else: the index of its leaf)."""
_TRACE_OUTCOMES = {HANG_UP: "ivr_hang_up", SELF_SERVED: "ivr_self_service"}


class IvrCell:
    """IVR menu counters of the contacts of one metric cell (``ContactCell.ivr``)."""

    __slots__ = ("hang_ups", "self_served", "routed", "in_menu_at_end", "seconds", "leaves",
                 "labels")

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.hang_ups = 0
        self.self_served = 0
        self.routed = 0
        """Contacts that left the menu at a leaf for a queue (counted in this cell)."""
        self.in_menu_at_end = 0
        self.seconds = 0.0
        """Caller seconds in the menu, within the run."""
        self.labels = labels
        self.leaves = [0] * len(labels)
        """Contacts routed from each leaf."""

    def empty(self) -> IvrCell:
        """A cell with no counts, for the same menu."""
        return IvrCell(self.labels)

    @property
    def unqueued(self) -> int:
        """Contacts that arrived and never queued: they ended in the menu or were in it at
        the end (left out of offered)."""
        return self.hang_ups + self.self_served + self.in_menu_at_end

    def add(self, other: IvrCell) -> None:
        """Add ``other``'s counts into this cell."""
        self.hang_ups += other.hang_ups
        self.self_served += other.self_served
        self.routed += other.routed
        self.in_menu_at_end += other.in_menu_at_end
        self.seconds += other.seconds
        self.leaves = [a + b for a, b in zip(self.leaves, other.leaves)]

    def figures(self) -> dict[str, float]:
        """Menu metrics; see docs/ivr.md for the definitions."""
        entries = self.unqueued + self.routed
        per_entry = 1.0 / entries if entries else float("nan")
        return {
            "ivr_entries": float(entries),
            "ivr_hang_ups": float(self.hang_ups),
            "ivr_hang_up_rate": self.hang_ups * per_entry,
            "ivr_self_served": float(self.self_served),
            "ivr_self_service_rate": self.self_served * per_entry,
            "ivr_routed": float(self.routed),
            "ivr_in_menu_at_end": float(self.in_menu_at_end),
            "ivr_minutes": self.seconds / 60.0,
            "ivr_s_per_entry": self.seconds * per_entry,
        } | {f"ivr_leaf/{label}": float(count) for label, count in zip(self.labels, self.leaves)}


class _Node:
    """A menu node compiled for the walk."""

    __slots__ = ("hang_up", "self_service", "cumulative", "children", "leaf")

    def __init__(self, node: MenuNode) -> None:
        self.hang_up = node.hang_up
        self.self_service = node.self_service
        self.cumulative: list[float] = []
        self.children: list[int] = []
        self.leaf = -1
        """Index of the leaf this node is (callers go on to a queue), else -1."""


class _Leaf:
    """Where a leaf sends its callers."""

    __slots__ = ("label", "type", "type_index", "intent")

    def __init__(self, label: str, type_name: str | None, type_index: int,
                 intent: str | None) -> None:
        self.label = label
        self.type = type_name
        """The contact type to queue as; None: the entry type."""
        self.type_index = type_index
        self.intent = intent


class IvrMenuStage(Stage):
    """Walks each entry contact through the menu, then admits it as its leaf's type."""

    @classmethod
    def build(cls, kernel: Simulation, identity: IdentityStage | None) -> IvrMenuStage | None:
        return cls(kernel, kernel.scenario.ivr) if kernel.scenario.ivr is not None else None

    def __init__(self, kernel: Simulation, spec: IvrMenu) -> None:
        super().__init__(kernel)
        self._nodes, self._leaves, node_paths = _compile(spec, kernel.type_names)
        self.labels = tuple(leaf.label for leaf in self._leaves)
        depth = max(len(where) // 2 for where in node_paths) + 1
        types, streams = kernel.scenario.contact_types, kernel.streams
        # Per entry type: one zipped draw per contact holds the path's uniforms, every
        # node's prompt time and the draws of each other type a leaf may route to.
        self._draws: dict[str, tuple[ZippedStreams, dict[str, int]]] = {}
        for entry in spec.entry:
            targets = sorted({leaf.type for leaf in self._leaves
                              if leaf.type is not None and leaf.type != entry})
            per_contact: list[Stream] = [streams.stream(f"ivr/{entry}/path",
                                                        _uniform_rows(3 * depth))]
            per_contact += [streams.stream(f"ivr/{entry}/prompt/{leaf_label(where)}",
                                           node.prompt.sample)
                            for where, node in node_paths.items()]
            offsets = {}  # where each target's draws start, after the uniforms' row
            for target in targets:
                offsets[target] = len(per_contact) - 1
                # Patience, work and wrap-up (not the resolution uniform: a contact's is
                # drawn at arrival, by its entry type).
                per_contact += follow_up_streams(streams, f"ivr/{entry}/to/{target}",
                                                 types[target])[:3]
            self._draws[entry] = (ZippedStreams(tuple(per_contact)), offsets)
        self._in_menu: dict[Contact, tuple[int, int, tuple[float, float, float] | None]] = {}
        """Contacts in the menu (in arrival order): how their path ends, the interval
        they arrived in, and their routed type's draws."""
        for cells in (*kernel.cells.contact, *kernel.cells.tier.values()):
            for cell in cells:
                cell.ivr = IvrCell(self.labels)
        self._admit = kernel.admit
        kernel.admit = self.admit

    def pending(self) -> bool:
        return bool(self._in_menu)

    def admit(self, contact: Contact, now: float) -> None:
        """An entry type's contact starts the menu; others go on as before."""
        draws = self._draws.get(contact.type)
        if draws is None:
            self._admit(contact, now)
            return
        zipped, offsets = draws
        uniforms, *values = zipped.next()
        nodes = self._nodes
        index = level = 0
        seconds = 0.0
        while True:
            node = nodes[index]
            seconds += values[index]
            base = 3 * level
            if uniforms[base] < node.hang_up:
                end = HANG_UP
                break
            if uniforms[base + 1] < node.self_service:
                end = SELF_SERVED
                break
            if node.leaf >= 0:
                end = node.leaf
                break
            index = node.children[min(bisect_right(node.cumulative, uniforms[base + 2]),
                                      len(node.children) - 1)]
            level += 1
        routed = None
        if end >= 0:
            target = self._leaves[end].type
            if target is not None and target != contact.type:
                at = offsets[target]
                routed = (values[at], values[at + 1], values[at + 2])
        contact.ivr_menu_s = seconds
        self._in_menu[contact] = (end, self.kernel.slot, routed)
        self.kernel.clock.schedule(seconds, self._on_menu_end, contact)

    def _on_menu_end(self, contact: Contact) -> None:
        end, slot, routed = self._in_menu.pop(contact)
        kernel = self.kernel
        now = kernel.clock.now
        if end < 0:
            if contact.counted:
                cell = contact.cell
                cell.arrivals += 1
                ivr = cell.ivr
                ivr.seconds += contact.ivr_menu_s
                if end == HANG_UP:
                    ivr.hang_ups += 1
                else:
                    ivr.self_served += 1
            if kernel.trace is not None:
                kernel.trace.contact(kernel, contact, _TRACE_OUTCOMES[end], now)
            if kernel.arrivals == kernel.max_arrivals:
                kernel.drain_check()
            return
        leaf = self._leaves[end]
        if routed is not None:
            contact.patience, contact.work, contact.wrap_up = routed
            contact.cell = kernel.cells.contact[leaf.type_index][slot]
            contact.type = leaf.type  # type: ignore[assignment]
        contact.ivr_intent = leaf.intent
        contact.arrival = now  # waits (and patience) run from queue entry
        self._admit(contact, now)
        if contact.counted:
            ivr = contact.cell.ivr  # the admitting stage may have moved it (a tier's cell)
            ivr.routed += 1
            ivr.leaves[end] += 1
            ivr.seconds += contact.ivr_menu_s

    def finish_run(self, end: float) -> None:
        kernel = self.kernel
        for contact in self._in_menu:
            if contact.counted:
                cell = contact.cell
                cell.arrivals += 1
                cell.ivr.in_menu_at_end += 1
                cell.ivr.seconds += end - contact.arrival
            if kernel.trace is not None:
                kernel.trace.contact(kernel, contact, "in_ivr_menu_at_end", end)


def _compile(spec: IvrMenu, type_names: tuple[str, ...]
             ) -> tuple[list[_Node], list[_Leaf], dict[Where, MenuNode]]:
    """The menu as flat nodes (the root first) and leaves, and every node by its path."""
    paths = dict(spec.menu.walk())
    index_of = {where: index for index, where in enumerate(paths)}
    nodes = [_Node(node) for node in paths.values()]
    leaf_nodes = dict(spec.leaves())
    leaves: list[_Leaf] = []
    for where, node in paths.items():
        compiled = nodes[index_of[where]]
        total = 0.0
        for name, child in (node.choices or {}).items():
            total += child.share  # type: ignore[operator]
            compiled.cumulative.append(total)
            compiled.children.append(index_of[(*where, "choices", name)])
        if where in leaf_nodes:
            compiled.leaf = len(leaves)
            leaves.append(_Leaf(leaf_label(where), node.type,
                                type_names.index(node.type) if node.type is not None else -1,
                                node.intent))
    return nodes, leaves, paths
