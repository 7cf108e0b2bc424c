"""Pydantic building blocks shared by the scenario model: unit-bearing fields and a strict base."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from .units import DURATION_HELP, RATE_HELP, parse_duration, parse_rate

_DURATION_SCHEMA = {
    "type": "string",
    "pattern": r"^\s*[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\s*(ms|sec|s|min|h|d)\s*$",
    "description": DURATION_HELP,
    "examples": ["300s", "5min", "1.5h"],
}
_RATE_SCHEMA = {
    "type": "string",
    "pattern": r"^\s*[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\s*/\s*(ms|sec|s|min|h|d)\s*$",
    "description": RATE_HELP,
    "examples": ["1176/h", "19.6/min"],
}

Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
"""A duration written with a unit in YAML, held in seconds."""

Rate = Annotated[float, BeforeValidator(parse_rate), WithJsonSchema(_RATE_SCHEMA)]
"""A rate written with a unit in YAML, held per second."""


class StrictModel(BaseModel):
    """Frozen, typed scenario object that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
