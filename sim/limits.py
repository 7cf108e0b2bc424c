"""Bounds on the work and memory one command may ask for, checked before any work starts.

Two kinds of bound guard ccsim against a typo that would run for hours or exhaust memory
(``rate: 1e12/h`` for ``1.2/h``, ``population: 1000000000000``):

* fixed bounds that protect the readers themselves, which no flag lifts: YAML size,
  nesting and alias expansion (``sim.model.yaml_input``), durations (``sim.model.units``),
  distribution parameters that would overflow (``sim.model.distributions``);
* judgement bounds (``Limits``): far beyond any real contact center, yet a run that
  means them can lift them with ``--no-limits`` (``no_limits=True`` in Python).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
LIFT = "--no-limits (no_limits=True in Python)"
"""How a judgement bound is lifted, as every message about one says."""


@dataclass(frozen=True)
class Limits:
    """Judgement bounds; ``math.inf`` lifts one."""

    events: float = 50e6
    """Expected arrivals, outbound tasks and interval boundaries of a run, replications
    included (of a sweep: summed over its grid points and labels)."""
    agents: float = 100_000
    """Agents on duty at once, in one group and in all groups together."""
    population: float = 10_000_000
    """Customers in ``customers.population`` (each is built in memory)."""
    replications: float = 10_000
    grid_points: float = 10_000
    """Grid points of one sweep (each is validated before the first run)."""
    data_file_bytes: float = 16 * 2**20
    """Size of a file a scenario reads: empirical samples, arrival traces."""
    call_log_bytes: float = 100 * 2**20
    """Size of a call log ``calibrate`` and ``reality`` read (about a million calls: each
    becomes an object in memory, some four times its bytes)."""


DEFAULT_LIMITS = Limits()
NO_LIMITS = Limits(**{name: math.inf for name in Limits.__dataclass_fields__})


def limits_for(no_limits: bool) -> Limits:
    """``NO_LIMITS`` when asked to lift the bounds, else ``DEFAULT_LIMITS``."""
    return NO_LIMITS if no_limits else DEFAULT_LIMITS


def over_limit(count: float, bound: float, what: str, fix: str, detail: str = "") -> str:
    """``"1e+09 agents on duty; allowed: at most 100000 agents on duty: FIX, or
    --no-limits ... to lift this bound"``, with ``detail`` after the count."""
    return (f"{count:.3g} {what}{detail}; allowed: at most {bound:g} {what}: {fix}, or {LIFT} "
            "to lift this bound")
