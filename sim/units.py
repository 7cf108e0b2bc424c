"""Durations and rates with units, as written in scenario files.

Internally ccsim measures time in seconds and rates per second. Scenario
files must say their unit (``300s``, ``5min``, ``1.5h``, ``1176/h``) because a
bare number is ambiguous and silently guessing a unit is the worst kind of bug.
"""

from __future__ import annotations

import re

SECONDS_PER_UNIT: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*(ms|sec|s|min|h|d)\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*/\s*(ms|sec|s|min|h|d)\s*$")
_UNITS_HELP = "s, min, h, d (or ms)"

DURATION_HELP = f"a duration with a unit, e.g. 300s, 5min, 1.5h (units: {_UNITS_HELP})"
RATE_HELP = f"a rate with a unit, e.g. 1176/h or 19.6/min (units: {_UNITS_HELP})"


def parse_duration(text: object) -> float:
    """Parse ``'300s'``, ``'5min'``, ``'1.5h'`` into seconds.

    Raises ``ValueError`` naming what is allowed when the text is not a
    non-negative number followed by a known unit.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"expected {DURATION_HELP}; got {text!r}")
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"expected {DURATION_HELP}; got {text!r}")
    return float(match.group(1)) * SECONDS_PER_UNIT[match.group(2)]


def parse_rate(text: object) -> float:
    """Parse ``'1176/h'`` or ``'19.6/min'`` into events per second."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"expected {RATE_HELP}; got {text!r}")
    match = _RATE_RE.match(text)
    if not match:
        raise ValueError(f"expected {RATE_HELP}; got {text!r}")
    return float(match.group(1)) / SECONDS_PER_UNIT[match.group(2)]


def format_duration(seconds: float) -> str:
    """Render seconds compactly for tables and messages (``'90s'``, ``'2.5min'``, ``'3h'``)."""
    if seconds >= 3600 and seconds % 360 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 6 == 0:
        return f"{seconds / 60:g}min"
    return f"{seconds:g}s"
