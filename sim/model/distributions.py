"""Random-duration distributions used for handle time, patience and wrap-up.

Each distribution is a frozen scenario object that knows its analytic mean and
draws blocks of samples from a ``numpy.random.Generator``; the engine hands
out values one at a time from those blocks (see ``sim.streams``), so numpy's
per-call overhead is paid once per block, not once per contact.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from sim.errors import FieldError
from sim.files import read_data_file
from sim.limits import DEFAULT_LIMITS
from sim.model.fields import Duration, Int, Number, OptionalNumber, StrictModel
from sim.model.units import SECONDS_PER_UNIT, format_duration

_UNITS = ("ms", "s", "sec", "min", "h", "d")


def _between(low: float, high: float) -> AfterValidator:
    """Reject a parameter outside ``[low, high]``: beyond, the draws overflow or underflow
    (``cv: 1e300`` squares to infinity) or are all alike."""

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"{value:g} is out of range for drawing values; allowed: "
                             f"{low:g} to {high:g}")
        return value

    return AfterValidator(check)


Cv = Annotated[Number, Field(gt=0), _between(0.001, 100.0)]
"""A coefficient of variation of a gamma or lognormal distribution."""


class _Dist(StrictModel):
    weight: OptionalNumber = Field(
        default=None, gt=0, description="Share of this component; only inside a mixture."
    )

    @property
    def mean(self) -> float:
        """Analytic mean in seconds."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` independent values in seconds."""
        raise NotImplementedError


class Exponential(_Dist):
    """Exponential with the given mean (memoryless; the Erlang C/A assumption)."""

    dist: Literal["exponential"]
    mean_s: Duration = Field(alias="mean", gt=0)

    @property
    def mean(self) -> float:
        return self.mean_s

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_s, size)


class Constant(_Dist):
    """Always the same value; with ``0s`` inside a mixture it is a point mass at zero."""

    dist: Literal["constant"]
    value: Duration = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: Duration = Field(ge=0)
    high: Duration = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise FieldError(("high",), (
                f"high {format_duration(self.high)} is below low {format_duration(self.low)}; "
                "allowed: high >= low"))
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class Erlang(_Dist):
    """Sum of ``k`` exponential phases with total mean ``mean`` (cv = 1/sqrt(k))."""

    dist: Literal["erlang"]
    mean_s: Duration = Field(alias="mean", gt=0)
    k: Annotated[Int, _between(1, 1_000_000)] = Field(ge=1)

    @property
    def mean(self) -> float:
        return self.mean_s

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.gamma(self.k, self.mean_s / self.k, size)


class Gamma(_Dist):
    """Gamma by mean and coefficient of variation."""

    dist: Literal["gamma"]
    mean_s: Duration = Field(alias="mean", gt=0)
    cv: Cv

    @property
    def mean(self) -> float:
        return self.mean_s

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_s / shape, size)


class Lognormal(_Dist):
    """Lognormal by mean and coefficient of variation (real handle times look like this)."""

    dist: Literal["lognormal"]
    mean_s: Duration = Field(alias="mean", gt=0)
    cv: Cv

    @property
    def mean(self) -> float:
        return self.mean_s

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        sigma2 = math.log1p(self.cv**2)
        return rng.lognormal(math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2), size)


class Weibull(_Dist):
    """Weibull by mean and shape (shape < 1: many short values and a long tail)."""

    dist: Literal["weibull"]
    mean_s: Duration = Field(alias="mean", gt=0)
    shape: Annotated[Number, _between(0.01, 1000.0)] = Field(gt=0)

    @property
    def mean(self) -> float:
        return self.mean_s

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        scale = self.mean_s / math.gamma(1 + 1 / self.shape)
        return scale * rng.weibull(self.shape, size)


class Empirical(_Dist):
    """Resampling of observed values, given inline or read from a file.

    A file holds one number per line (blank lines and ``#`` comments skipped);
    ``unit`` says what the numbers measure. A relative path is resolved
    against the scenario file's folder.
    """

    dist: Literal["empirical"]
    samples: tuple[Duration, ...] | None = Field(default=None, min_length=1)
    file: str | None = None
    unit: Literal["ms", "s", "sec", "min", "h", "d"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_file(cls, data: object, info: ValidationInfo) -> object:
        if not isinstance(data, dict) or data.get("file") is None:
            return data
        units = ", ".join(u for u in _UNITS if u != "sec")
        if data.get("samples") is not None:
            raise FieldError(("file",), "samples and file are given together; allowed: one of them")
        unit = data.get("unit")
        if unit is None:
            raise FieldError(("unit",), (
                f"missing required key 'unit' (what the file's numbers measure); "
                f"allowed: {units}"))
        if unit not in _UNITS:
            raise FieldError(("unit",), f"unknown unit {unit!r}; allowed: {units}")
        if not isinstance(data["file"], str):
            raise FieldError(("file",), (
                f"{data['file']!r} is not a file name; allowed: a path, relative to the "
                "scenario's folder, e.g. data/handle_times.txt"))
        context = info.context or {}
        path = Path(data["file"])
        path = path if path.is_absolute() else Path(context.get("base_dir", ".")) / path
        allowed = f"one number ({unit}) per line, blank lines and # comments"
        try:
            text = read_data_file(path, "samples file", f"a text file with {allowed}",
                                  context.get("limits", DEFAULT_LIMITS).data_file_bytes)
        except ValueError as exc:
            raise FieldError(("file",), str(exc)) from None
        values = []
        for number, line in enumerate(text.splitlines(), start=1):
            entry = line.split("#", 1)[0].strip()
            if not entry:
                continue
            try:
                value = float(entry)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                # The entry is quoted only when it is a number or follows numbers: the path
                # may name any file, and its first line must not end up in a message.
                quoted = f"{entry!r} is " if values or not math.isnan(value) else ""
                raise FieldError(("file",), (
                    f"{path}:{number}: {quoted}not a number >= 0; allowed: {allowed}"))
            values.append(value)
        if not values:
            raise FieldError(("file",), (
                f"samples file {str(path)!r} holds no numbers; allowed: {allowed}"))
        scale = SECONDS_PER_UNIT[unit]
        return {**data, "samples": [f"{v * scale!r}s" for v in values]}

    @model_validator(mode="after")
    def _has_samples(self) -> Empirical:
        if self.samples is None:
            raise FieldError((), (
                "neither samples nor file is given; allowed: samples (a list of durations, "
                "e.g. [30s, 2min]) or file (one number per line) with unit"))
        return self

    @property
    def mean(self) -> float:
        assert self.samples is not None
        return sum(self.samples) / len(self.samples)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(np.asarray(self.samples), size)


class Mixture(_Dist):
    """Random choice among components by weight, e.g. 10% patience 0 and 90% exponential."""

    dist: Literal["mixture"]
    components: tuple[Distribution, ...] = Field(min_length=1)

    @field_validator("components")
    @classmethod
    def _weights_sum_to_one(cls, components: tuple[_Dist, ...]) -> tuple[_Dist, ...]:
        for index, component in enumerate(components):
            if component.weight is None:
                raise FieldError((index,), (
                    "component has no weight; allowed: every component has a weight > 0, "
                    "e.g. weight: 0.9, and the weights sum to 1"))
        total = sum(c.weight or 0.0 for c in components)
        if abs(total - 1.0) > 1e-9:
            weights = " + ".join(f"{c.weight:g}" for c in components)
            raise FieldError((), (
                f"weights sum to {total:g} ({weights}); allowed: weights that sum to 1"))
        return components

    @property
    def mean(self) -> float:
        return sum((c.weight or 0.0) * c.mean for c in self.components)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        weights = np.array([c.weight for c in self.components], dtype=float)
        choice = rng.choice(len(self.components), size=size, p=weights / weights.sum())
        out = np.empty(size)
        for index, component in enumerate(self.components):
            chosen = choice == index
            out[chosen] = component.sample(rng, int(chosen.sum()))
        return out


Distribution = Annotated[
    Union[Exponential, Constant, Uniform, Erlang, Gamma, Lognormal, Weibull, Empirical, Mixture],
    Field(discriminator="dist"),
]
"""Any duration distribution, chosen in YAML by its ``dist`` key."""

DISTRIBUTION_NAMES = (
    "exponential", "constant", "uniform", "erlang", "gamma", "lognormal", "weibull",
    "empirical", "mixture",
)

Mixture.model_rebuild()


class Busyness(StrictModel):
    """Day-level random multiplier on every arrival rate, with mean 1.

    Real days are busier or quieter than the forecast as a whole; this is the
    "random arrival rate" that makes staffing to the mean rate risky.
    """

    dist: Literal["gamma", "lognormal"]
    cv: Cv = Field(description="Coefficient of variation of the day multiplier.")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` day multipliers with mean 1."""
        if self.dist == "gamma":
            shape = 1.0 / self.cv**2
            return rng.gamma(shape, 1.0 / shape, size)
        sigma2 = math.log1p(self.cv**2)
        return rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), size)
