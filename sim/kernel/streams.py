"""Independent random streams, one per purpose, all spawned from one root seed.

Common random numbers need every purpose (arrivals of one type, its handle
times, its patience, ...) to have a stream of its own whose values do not
depend on what else happens in the run. Each stream's seed is
``SeedSequence(seed, spawn_key=(replication, id))`` where ``id`` is a stable
hash of the purpose's name: adding a stream for a new purpose never shifts
the values of the existing ones, and a policy that draws tie-breaks from its
own stream never shifts a customer's patience.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any

import numpy as np

BLOCK = 4096
"""Values drawn per numpy call; the engine takes them one by one from a list."""


def stream_id(purpose: str) -> int:
    """Stable 32-bit id of a purpose name such as ``'patience/general'``."""
    return zlib.crc32(purpose.encode("utf-8"))


def generator(seed: int, replication: int, purpose: str) -> np.random.Generator:
    """The numpy generator for one purpose in one replication."""
    sequence = np.random.SeedSequence(seed, spawn_key=(replication, stream_id(purpose)))
    return np.random.Generator(np.random.PCG64(sequence))


class Stream:
    """An endless supply of values from one sampler, drawn in blocks.

    ``next_value`` is the hot-path call: it pops from a Python list, which is
    several times cheaper than a scalar numpy draw per contact; a sampler that draws rows
    gives the next row of its block, made when taken (a refill does not make the block's
    4,096 rows at once: each is an object the garbage collector counts).
    """

    __slots__ = ("_rng", "_draw", "_buffer", "_rows", "_make_rows")

    def __init__(self, rng: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray],
                 rows: Callable[[np.ndarray], Iterator[tuple[Any, ...]]] | None = None):
        """``rows``: for a sampler that draws rows, how a block becomes the stream's values
        (default: each row as a tuple of floats, ``rows_of``); a stream whose values are
        worked out from its rows can work them out a block at a time."""
        self._rng = rng
        self._draw = draw
        self._buffer: list[float] = []
        self._rows: Iterator[tuple[Any, ...]] | None = None
        """The rest of the current block of a sampler that draws rows."""
        self._make_rows = rows or rows_of

    def next_value(self) -> Any:
        """The next value of the stream (a tuple of floats from a sampler that draws rows)."""
        buffer = self._buffer
        if buffer:
            return buffer.pop()
        if self._rows is not None:
            row = next(self._rows, None)
            if row is not None:
                return row
        values = self._draw(self._rng, BLOCK)
        if values.ndim == 1:
            # Reversed so that pop() from the end yields values in drawn order.
            buffer.extend(reversed(values.tolist()))
            return buffer.pop()
        self._rows = rows = self._make_rows(values)
        return next(rows)

    def next_block(self) -> Iterable[Any]:
        """The next block of values, in drawn order (continues after ``next_value``); a
        sampler that draws rows (a 2-D block) gives each row as a tuple."""
        if self._buffer:
            block = self._buffer[::-1]
            self._buffer.clear()
            return block
        if self._rows is not None:
            rest, self._rows = self._rows, None
            # The block's rows not taken yet; none left means the next block.
            first = next(rest, None)
            if first is not None:
                return chain((first,), rest)
        values = self._draw(self._rng, BLOCK)
        return values.tolist() if values.ndim == 1 else self._make_rows(values)


def rows_of(values: np.ndarray) -> Iterator[tuple[float, ...]]:
    """The rows of a 2-D block as tuples, each made when it is taken, from one flat tuple
    of floats. Tuples, not lists: the garbage collector stops tracking a tuple of untracked
    objects (floats) at the first collection that sees it, while a list stays tracked and
    is scanned again at every collection of its generation; a flat list of a 4,096-row
    block is 53,248 items scanned at each (omnichannel: 58 young and 5 older collections
    a run). A row made when taken is freed with its contact's draws. The rows come from a
    zip of one iterator over the flat tuple, ``width`` times (each row takes the next
    ``width`` floats): C code throughout, where a generator would resume Python code from
    C for every row."""
    return zip(*[iter(tuple(values.ravel().tolist()))] * values.shape[1])


class RandomStreams:
    """Factory of named streams for one replication."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication

    def generator(self, purpose: str) -> np.random.Generator:
        """A fresh numpy generator for ``purpose`` (same purpose, same values)."""
        return generator(self.seed, self.replication, purpose)

    def stream(self, purpose: str, draw: Callable[[np.random.Generator, int], np.ndarray],
               rows: Callable[[np.ndarray], Iterator[tuple[Any, ...]]] | None = None) -> Stream:
        """A block-buffered stream of ``draw`` values for ``purpose`` (``rows``: see
        ``Stream``)."""
        return Stream(self.generator(purpose), draw, rows)


def unit_exponential(rng: np.random.Generator, size: int) -> np.ndarray:
    """Exp(1) draws; arrival times come from these by time change (see ``engine``)."""
    return rng.standard_exponential(size)


def uniforms(rng: np.random.Generator, size: int) -> np.ndarray:
    """Uniform draws on [0, 1) (a yes/no decision against a chance)."""
    return rng.random(size)


def uniform_pairs(rng: np.random.Generator, size: int) -> np.ndarray:
    """Two uniforms per draw (a decision and its detail, e.g. accept and reach)."""
    return rng.random((size, 2))


class ZippedStreams:
    """Several streams drawn together, one value of each per ``next()``: one C-level
    ``next`` on a zip of their blocks instead of one ``next_value`` call per stream. The
    values are those each stream's ``next_value`` would give, as long as the streams are
    drawn only through this object (their blocks then stay aligned)."""

    __slots__ = ("_streams", "_values")

    def __init__(self, streams: tuple[Stream, ...]) -> None:
        self._streams = streams
        self._values: Iterator[tuple[Any, ...]] = iter(())

    def next(self) -> tuple[Any, ...]:
        """One value of every stream, in the order the streams were given."""
        return next(self._values, None) or self._refill()

    def _refill(self) -> tuple[Any, ...]:
        self._values = zip(*(stream.next_block() for stream in self._streams))
        return next(self._values)
