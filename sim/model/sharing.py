"""Building once and sharing: a bounded cache of expensive builds, and compact columns.

Every policy, strategy and outbound strategy of one replication faces the same
customers (common random numbers), so their customer base and its seeded
history are identical: ``BuildCache`` keeps the last few builds, keyed on
everything the draws depend on, and hands the same read-only build to every run.

Shared builds keep per-customer attributes as compact columns: ``bytes`` or
``array`` objects, which index to plain Python ints and floats almost as fast as a
list (far faster than numpy scalar indexing on the per-contact path) while
taking 1 to 8 bytes a value instead of a pointer plus a Python object.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")

Column = bytes | array
"""A read-only per-customer column: ``bytes`` (values 0-255) or an ``array``."""


class BuildCache(Generic[T]):
    """The latest ``size`` builds by key (least recently used drops out first).

    Bounded so that a long sweep over many scenarios or seeds holds at most
    ``size`` builds; ``size`` 0 stores nothing (every request builds).
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"size must be at least 0, got {size}")
        self.size = size
        self.builds = 0
        """How many builds ran (cache misses), for tests and diagnostics."""
        self._entries: OrderedDict[Hashable, T] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The build stored under ``key``, or ``build()`` (then stored)."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        # Evict before building: a build of a large population must not coexist with
        # one more old build than the bound allows.
        while self._entries and len(self._entries) >= self.size:
            self._entries.popitem(last=False)
        value = build()
        self.builds += 1
        if self.size:
            self._entries[key] = value
        return value

    def clear(self) -> None:
        """Drop every stored build (e.g. to free memory in a long-lived process)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def generator_key(rng: np.random.Generator) -> Hashable:
    """A hashable snapshot of ``rng``'s state: equal keys mean equal future draws."""
    return _frozen(rng.bit_generator.state)


def _frozen(value: object) -> Hashable:
    if isinstance(value, dict):
        return tuple((key, _frozen(item)) for key, item in sorted(value.items()))
    if isinstance(value, np.ndarray):  # e.g. MT19937's key
        return (value.dtype.str, value.tobytes())
    return value  # type: ignore[return-value]


def codes(values: np.ndarray) -> Column:
    """Non-negative integers as the smallest column: ``bytes`` when all fit a byte (the
    fastest to index), else an unsigned ``array`` of 2, 4 or 8 bytes a value."""
    top = int(values.max(initial=0))
    if top < 256:
        return values.astype(np.uint8).tobytes()
    typecode = next(c for c in "HIQ" if top < 1 << (8 * array(c).itemsize))
    return _array(typecode, values)


def floats(values: np.ndarray) -> array:
    """Float values as an ``array('d')`` column (the same float64 bits)."""
    return _array("d", values)


def _array(typecode: str, values: np.ndarray) -> array:
    column = array(typecode)
    # Through a byte view: one copy, no intermediate bytes object.
    column.frombytes(memoryview(np.ascontiguousarray(values, dtype=typecode)).cast("B"))
    return column


def as_numpy(column: Column) -> np.ndarray:
    """A read-only numpy view of a column (no copy), for vectorised work."""
    return np.frombuffer(column, dtype=np.uint8 if isinstance(column, bytes) else column.typecode)
