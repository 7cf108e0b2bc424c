"""Weekdays: their names in scenario files, and which weekday each simulated day is.

A run's day 0 is ``run.start_weekday``; day ``d`` is the weekday ``d`` days later. Rates and
staffing that differ by weekday repeat every 7 days, so the engine holds one value per day
of that 7-day cycle (``run_days``), or a single value when every weekday's is the same: a
scenario whose weekdays do not differ runs exactly as one without weekday keys.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, WithJsonSchema

from sim.errors import FieldError, show_value

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as scenario files write them, Monday first."""

WEEKDAYS_HELP = "a weekday: " + ", ".join(WEEKDAYS)
T = TypeVar("T")


def _unknown(value: object) -> str:
    guess = difflib.get_close_matches(str(value).lower()[:3], WEEKDAYS, n=1) \
        if isinstance(value, str) else []
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    return f"unknown weekday {show_value(value)}{hint}; allowed: {', '.join(WEEKDAYS)}"


def _weekday(value: object) -> object:
    if value not in WEEKDAYS:
        raise ValueError(_unknown(value))
    return value


Weekday = Annotated[str, BeforeValidator(_weekday), WithJsonSchema({
    "type": "string", "enum": list(WEEKDAYS), "description": WEEKDAYS_HELP})]
"""One weekday name (``mon`` ... ``sun``)."""


def _weekday_keys(value: object) -> object:
    # Checked here so that an unknown key is named as the field at fault, with the names
    # allowed, rather than as a key pydantic could not read.
    if isinstance(value, dict):
        for key in value:
            if key not in WEEKDAYS:
                raise FieldError((str(key),), _unknown(key))
    return value


def weekday_keys(values: dict[str, Any]) -> tuple[BeforeValidator, WithJsonSchema]:
    """For a ``dict`` keyed by weekday: every key must be one of ``WEEKDAYS``; its JSON
    Schema is a mapping of at least one weekday to ``values``."""
    return BeforeValidator(_weekday_keys), WithJsonSchema({
        "type": "object", "propertyNames": {"enum": list(WEEKDAYS)}, "minProperties": 1,
        "additionalProperties": values})


def weekday_of(day: int, start: str) -> str:
    """The weekday of simulated day ``day`` (0 = the run's first) when day 0 is ``start``."""
    return WEEKDAYS[(WEEKDAYS.index(start) + day) % len(WEEKDAYS)]


def run_days(of_weekday: Callable[[str], T], start: str) -> tuple[T, ...]:
    """``of_weekday`` for each day of the run's 7-day cycle (index 0 = day 0, a ``start``),
    or for one day when every weekday gives the same value: index day ``d`` with
    ``d % len(...)``."""
    days = tuple(of_weekday(weekday_of(day, start)) for day in range(len(WEEKDAYS)))
    return days[:1] if all(day == days[0] for day in days[1:]) else days
