"""Pydantic building blocks shared by the scenario model: unit-bearing fields and a strict base."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from sim.errors import FieldError, show_value
from sim.model.units import DURATION_HELP, RATE_HELP, parse_duration, parse_rate, parse_share

_DURATION_SCHEMA = {
    "type": "string",
    "pattern": r"^\s*[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\s*(ms|sec|s|min|h|d)\s*$",
    "description": DURATION_HELP,
    "examples": ["300s", "5min", "1.5h"],
}
RATE_SCHEMA = {
    "type": "string",
    "pattern": r"^\s*[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\s*/\s*(ms|sec|s|min|h|d)\s*$",
    "description": RATE_HELP,
    "examples": ["1176/h", "19.6/min"],
}

Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
"""A duration written with a unit in YAML, held in seconds."""

Rate = Annotated[float, BeforeValidator(parse_rate), WithJsonSchema(RATE_SCHEMA)]
"""A rate written with a unit in YAML, held per second."""


def _plain_number(kind: str, example: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        # YAML reads yes/no/true/false/on/off as booleans, and pydantic would
        # quietly turn them into 1 and 0: reject them, and .inf / .nan, instead.
        if isinstance(value, bool):
            raise ValueError(f"{str(value).lower()} is a yes/no value, not {kind}; "
                             f"allowed: {kind}, e.g. {example}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number; allowed: {kind}, e.g. {example}")
        return value

    return check


_PLAIN_INT = BeforeValidator(_plain_number("a whole number", "3"))
_PLAIN_NUMBER = BeforeValidator(_plain_number("a number", "1.5"))

Int = Annotated[int, _PLAIN_INT]
"""A whole number; YAML booleans (yes, no, true, ...) are rejected, not read as 1 or 0."""

Number = Annotated[float, _PLAIN_NUMBER]
"""A finite number without unit; YAML booleans are rejected, not read as 1 or 0."""

# ``Int | None`` would work too, but then pydantic writes the field's bounds into
# the JSON Schema as ``ge``/``gt`` instead of ``minimum``/``exclusiveMinimum``.
OptionalInt = Annotated[int | None, _PLAIN_INT]
"""``Int`` or absent."""

OptionalNumber = Annotated[float | None, _PLAIN_NUMBER]
"""``Number`` or absent."""

def _percentage(value: object) -> object:
    # ``80%`` reads as 0.8, as on the command line (``--target 80%``); anything else goes
    # on to the plain-number check, which says what is wrong with it.
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_share(value)
    return value


_SHARE_SCHEMA = {
    "anyOf": [{"type": "number", "minimum": 0, "maximum": 1},
              {"type": "string", "pattern": r"^\s*[0-9]*\.?[0-9]+\s*%\s*$"}],
    "description": "a share: a number from 0 to 1, or a percentage such as 80%",
}

# Before-validators run last-listed first: the percentage is read before the number check.
Probability = Annotated[float, _PLAIN_NUMBER, BeforeValidator(_percentage), Field(ge=0, le=1),
                        WithJsonSchema(_SHARE_SCHEMA)]
"""A probability or share: a number from 0 to 1, or a percentage (``80%``)."""


def check_names(items: list[object] | tuple[object, ...], allowed: str) -> None:
    """Each of ``items`` is text, else a ``FieldError`` at its index saying ``allowed``
    (for ``BeforeValidator``s of type unions, which check a list of names themselves)."""
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise FieldError((index,), f"{show_value(item)} is not text; allowed: {allowed}")


def _sum_to_one(shares: dict[object, float]) -> dict[object, float]:
    if not shares:
        raise FieldError((), "no shares given; allowed: a mapping of names to shares that sum to 1")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        listed = " + ".join(f"{v:g}" for v in shares.values())
        raise FieldError((), f"shares sum to {total:g} ({listed}); allowed: shares that sum to 1")
    return shares


Shares = Annotated[dict[str, Probability], AfterValidator(_sum_to_one)]
"""Named shares, e.g. ``{standard: 0.9, vip: 0.1}``: each from 0 to 1, summing to 1."""

CountShares = Annotated[dict[Int, Probability], AfterValidator(_sum_to_one)]
"""Shares by a count of 1 or more, e.g. ``{1: 0.7, 2: 0.3}`` phones per customer."""


class StrictModel(BaseModel):
    """Frozen, typed scenario object that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
