"""A stage's own sums per metric cell, reported per type, tier and interval like the
kernel's figures (``sim.kernel.cells``), without adding counters to every cell."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.kernel.cells import MetricCells, ReplicationResult
    from sim.kernel.metrics import ContactCell


class CellTotals:
    """``width`` sums per contact cell: ``of[contact.cell][column] += amount``."""

    def __init__(self, cells: MetricCells, width: int) -> None:
        self.width = width
        self._cells = cells
        self.of: dict[ContactCell, list[float]] = {}
        """The sums of each cell of the run, by the cell (a contact's ``cell``)."""
        self._where: list[tuple[list[float], str, str | None, int]] = []
        """(sums, type, tier or None, slot) of every cell."""
        for name, type_cells in zip(cells.type_names, cells.contact):
            for slot, cell in enumerate(type_cells):
                self._add(cell, name, None, slot)
        for (name, tier), tier_cells in cells.tier.items():
            for slot, cell in enumerate(tier_cells):
                self._add(cell, name, tier, slot)

    def _add(self, cell: ContactCell, type_name: str, tier: str | None, slot: int) -> None:
        self.of[cell] = sums = [0.0] * self.width
        self._where.append((sums, type_name, tier, slot))

    def cells_of(self, result: ReplicationResult) -> Iterator[
            tuple[dict[str, float], list[ContactCell]]]:
        """Each figure dictionary of ``result`` that contact cells add up to (overall, per
        type, per tier, per interval present in the result) with those cells."""
        cells = self._cells
        scopes: dict[int, tuple[dict[str, float], list[ContactCell]]] = {}

        def scope(figures: dict[str, float] | None, cell: ContactCell) -> None:
            if figures is not None:
                scopes.setdefault(id(figures), (figures, []))[1].append(cell)

        for cell, (_, type_name, tier, slot) in zip(self.of, self._where):
            scope(result.overall, cell)
            scope(result.by_type.get(type_name), cell)
            if cells.tier_names:
                scope(result.by_tier.get(tier or "unknown"), cell)
            scope(result.by_interval.get(cells.interval_label(slot % cells.intervals)), cell)
        yield from scopes.values()

    def scopes(self, result: ReplicationResult) -> Iterator[
            tuple[dict[str, float], list[float]]]:
        """Each figure dictionary of ``result`` that contact cells add up to, with the sums
        of its cells."""
        for figures, cells in self.cells_of(result):
            sums = [0.0] * self.width
            for cell in cells:
                for column, amount in enumerate(self.of[cell]):
                    sums[column] += amount
            yield figures, sums
