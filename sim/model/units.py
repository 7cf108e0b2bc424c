"""Durations and rates with units, as written in scenario files.

Internally ccsim measures time in seconds and rates per second. Scenario
files must say their unit (``300s``, ``5min``, ``1.5h``, ``1176/h``) because a
bare number is ambiguous and silently guessing a unit is the worst kind of bug.
"""

from __future__ import annotations

import math
import re

from sim.errors import show_value

SECONDS_PER_UNIT: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}

DAY = SECONDS_PER_UNIT["d"]
"""Seconds in a day: the period of daily profiles, and of shifts."""

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_UNIT = "|".join(sorted(SECONDS_PER_UNIT, key=len, reverse=True))
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*({_UNIT})\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*/\s*({_UNIT})\s*$")
# Loose shape used only to explain a rejected value: sign, number, rest.
_LOOSE_RE = re.compile(rf"^\s*([-+]?)\s*({_NUMBER})\s*(/?)\s*(.*?)\s*$")
_UNITS_HELP = "ms, s, min, h, d"

MAX_SECONDS = 1e10
"""Longest duration (about 317 years): beyond it, times lose the precision of seconds and
a typo in an exponent (``1e9h``) would mean a run that never ends."""

DURATION_HELP = f"a duration with a unit, e.g. 300s, 5min, 1.5h (units: {_UNITS_HELP})"
RATE_HELP = "a rate with a unit, e.g. 1176/h or 19.6/min (units: /ms, /s, /min, /h, /d)"


def _problem(text: object, kind: str) -> str:
    """Say what is wrong with ``text`` as a duration or rate (``kind``)."""
    if text is None:
        return f"an empty value is not a {kind}"
    if isinstance(text, bool):
        return f"{str(text).lower()} is a yes/no value, not a {kind}"
    if isinstance(text, (int, float)):
        return f"{show_value(text)} has no unit"
    if not isinstance(text, str):
        return f"{show_value(text)} is not a {kind}"
    loose = _LOOSE_RE.match(text)
    if loose is None:
        return f"{show_value(text)} is not a {kind}"
    sign, _, slash, unit = loose.groups()
    if sign == "-":
        return f"{show_value(text)} is negative"
    if not unit:
        return f"{show_value(text)} has no unit"
    if kind == "rate" and not slash:
        return f"{show_value(text)} is not a rate (write events per unit of time with '/')"
    if kind == "duration" and slash:
        return f"{show_value(text)} is a rate, not a duration"
    if unit not in SECONDS_PER_UNIT:
        return f"{show_value(text)} has an unknown unit {show_value(unit)}"
    return f"{show_value(text)} is not a {kind}"


def _parse(text: object, pattern: re.Pattern[str], kind: str, help_text: str) -> float:
    """The number of ``text`` in seconds (a duration) or per second (a rate)."""
    match = pattern.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{_problem(text, kind)}; allowed: {help_text}")
    number, scale = float(match.group(1)), SECONDS_PER_UNIT[match.group(2)]
    value = number / scale if kind == "rate" else number * scale
    if not math.isfinite(value):
        raise ValueError(f"{show_value(text)} is too large; allowed: {help_text}")
    return value


def parse_duration(text: object) -> float:
    """Parse ``'300s'``, ``'5min'``, ``'1.5h'`` into seconds.

    Raises ``ValueError`` saying what is wrong and what is allowed when the
    text is not a non-negative number followed by a known unit, or is longer than
    ``MAX_SECONDS``. Bare numbers and booleans are rejected: a duration always says
    its unit.
    """
    seconds = _parse(text, _DURATION_RE, "duration", DURATION_HELP)
    if seconds > MAX_SECONDS:
        raise ValueError(f"{show_value(text)} is too large; allowed: at most {MAX_SECONDS:g}s "
                         f"({MAX_SECONDS / DAY / 365:.0f} years)")
    return seconds


def parse_rate(text: object) -> float:
    """Parse ``'1176/h'`` or ``'19.6/min'`` into events per second (rejections as for durations)."""
    return _parse(text, _RATE_RE, "rate", RATE_HELP)


SHARE_HELP = "a share as a number from 0 to 1 or a percentage, e.g. 0.8 or 80%"
_SHARE_RE = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%?)\s*$")


def parse_share(text: object) -> float:
    """``0.8``, ``'0.8'`` or ``'80%'`` -> 0.8: a share written as a fraction or a percentage.

    Only the notation is checked (a finite number, an optional ``%``); each caller checks
    the range it allows. Raises ``ValueError`` saying what is allowed.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _SHARE_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a share; allowed: {SHARE_HELP}")
        value = float(match.group(1)) / (100.0 if match.group(2) else 1.0)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number; allowed: {SHARE_HELP}")
    return value


def format_duration(seconds: float) -> str:
    """Render seconds compactly for tables and messages (``'20s'``, ``'1.5min'``, ``'3h'``)."""
    if seconds >= 3600 and seconds % 360 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 6 == 0:
        return f"{seconds / 60:g}min"
    return f"{seconds:g}s"
