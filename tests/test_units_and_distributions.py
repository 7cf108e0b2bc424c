"""Units in scenario files, and the distributions' samples against their analytic moments.

Statistical checks use a fixed seed and 200k draws. Tolerances come from the
sample itself: a mean must lie within 4 standard errors (sample standard
deviation / sqrt(n)); a coefficient of variation within 4 standard errors
from the delta method on the sample's central moments; a share within 4
binomial standard errors.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.model.distributions import Busyness, Distribution, Empirical, Mixture
from sim.model.units import format_duration, parse_duration, parse_rate

N = 200_000
Z = 4.0
DIST = TypeAdapter(Distribution)


def make(spec: dict[str, Any], base_dir: Path | str = ".") -> Any:
    """A distribution from its YAML mapping, as a scenario file would give it."""
    return DIST.validate_python(spec, context={"base_dir": str(base_dir)})


# --- durations ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("300s", 300.0),
    ("300sec", 300.0),
    ("5min", 300.0),
    ("1.5h", 5400.0),
    ("2d", 172800.0),
    ("250ms", 0.25),
    ("0s", 0.0),
    (".5min", 30.0),
    ("0.25h", 900.0),
    ("1e3s", 1000.0),
    ("2.5E-1h", 900.0),
    ("1e+2min", 6000.0),
    (" 5 min ", 300.0),
    ("5\tmin", 300.0),
    ("  90s", 90.0),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize(("value", "problem"), [
    ("-5s", "is negative"),
    ("-0.5min", "is negative"),
    (300, "has no unit"),
    (300.0, "has no unit"),
    ("300", "has no unit"),
    (True, "yes/no value"),
    (False, "yes/no value"),
    ("5 parsecs", "unknown unit 'parsecs'"),
    ("5m", "unknown unit 'm'"),
    ("5 hours", "unknown unit 'hours'"),
    ("5/h", "is a rate, not a duration"),
    ("abc", "is not a duration"),
    ("", "is not a duration"),
    ("5min 3s", "unknown unit"),
    (None, "is not a duration"),
    ([5, "s"], "is not a duration"),
    ("inf s", "is not a duration"),
    ("nan s", "is not a duration"),
    ("1e400s", "too large"),
])
def test_parse_duration_rejects(value: object, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    message = str(info.value)
    assert problem in message
    assert "allowed: a duration with a unit, e.g. 300s, 5min, 1.5h" in message


# --- rates ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "per_second"), [
    ("1176/h", 1176 / 3600),
    ("19.6/min", 19.6 / 60),
    ("2/s", 2.0),
    ("2/sec", 2.0),
    ("0.5 / d", 0.5 / 86400),
    ("3/ms", 3000.0),
    ("0/h", 0.0),
    ("1.2e3/h", 1200 / 3600),
    ("  60/min ", 1.0),
])
def test_parse_rate(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second, rel=1e-12)


@pytest.mark.parametrize(("value", "problem"), [
    ("-1/h", "is negative"),
    (1176, "has no unit"),
    ("1176", "has no unit"),
    (True, "yes/no value"),
    ("1176/hour", "unknown unit 'hour'"),
    ("20min", "is not a rate"),
    ("1176 h", "is not a rate"),
    ("/h", "is not a rate"),
    ("many/h", "is not a rate"),
    ("1e400/h", "too large"),
])
def test_parse_rate_rejects(value: object, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_rate(value)
    message = str(info.value)
    assert problem in message
    assert "allowed: a rate with a unit, e.g. 1176/h" in message


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "0s"), (45.0, "45s"), (90.0, "1.5min"), (150.0, "2.5min"), (1800.0, "30min"),
    (10800.0, "3h"), (0.25, "0.25s"),
])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


# --- sample moments -------------------------------------------------------------------


def _mean_ok(sample: np.ndarray, expected: float) -> None:
    se = sample.std(ddof=1) / math.sqrt(len(sample))
    assert abs(sample.mean() - expected) <= Z * se, (
        f"sample mean {sample.mean():.4f} vs analytic {expected:.4f} (SE {se:.4f})")


def _cv_and_se(sample: np.ndarray) -> tuple[float, float]:
    """Sample cv and its standard error by the delta method on (mean, variance)."""
    n = len(sample)
    m = sample.mean()
    d = sample - m
    var, mu3, mu4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    sd = math.sqrt(var)
    cv = sd / m
    # g(m, v) = sqrt(v) / m; Var(mean) = v/n, Var(var) = (mu4 - v^2)/n, Cov = mu3/n.
    dm, dv = -cv / m, 1 / (2 * m * sd)
    variance = (dm**2 * var + dv**2 * (mu4 - var**2) + 2 * dm * dv * mu3) / n
    return cv, math.sqrt(variance)


DISTRIBUTIONS = {
    "exponential": {"dist": "exponential", "mean": "300s"},
    "constant": {"dist": "constant", "value": "30s"},
    "uniform": {"dist": "uniform", "low": "10s", "high": "2min"},
    "erlang": {"dist": "erlang", "mean": "5min", "k": 3},
    "gamma": {"dist": "gamma", "mean": "300s", "cv": 1.5},
    "gamma low cv": {"dist": "gamma", "mean": "300s", "cv": 0.3},
    "lognormal": {"dist": "lognormal", "mean": "300s", "cv": 1.2},
    "lognormal low cv": {"dist": "lognormal", "mean": "4min", "cv": 0.5},
    "weibull": {"dist": "weibull", "mean": "300s", "shape": 0.7},
    "weibull shape 2": {"dist": "weibull", "mean": "1min", "shape": 2.0},
    "empirical": {"dist": "empirical", "samples": ["10s", "20s", "1min", "1.5min"]},
    "mixture": {"dist": "mixture", "components": [
        {"weight": 0.1, "dist": "constant", "value": "0s"},
        {"weight": 0.9, "dist": "exponential", "mean": "3min"},
    ]},
    "nested mixture": {"dist": "mixture", "components": [
        {"weight": 0.25, "dist": "uniform", "low": "0s", "high": "1min"},
        {"weight": 0.75, "dist": "mixture", "components": [
            {"weight": 0.5, "dist": "lognormal", "mean": "2min", "cv": 0.8},
            {"weight": 0.5, "dist": "erlang", "mean": "10min", "k": 2},
        ]},
    ]},
}

ANALYTIC_MEANS = {
    "exponential": 300.0, "constant": 30.0, "uniform": 65.0, "erlang": 300.0, "gamma": 300.0,
    "gamma low cv": 300.0, "lognormal": 300.0, "lognormal low cv": 240.0, "weibull": 300.0,
    "weibull shape 2": 60.0, "empirical": (10 + 20 + 60 + 90) / 4, "mixture": 0.9 * 180.0,
    "nested mixture": 0.25 * 30 + 0.75 * (0.5 * 120 + 0.5 * 600),
}


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_sample_mean_matches_analytic_mean(name: str) -> None:
    dist = make(DISTRIBUTIONS[name])
    assert dist.mean == pytest.approx(ANALYTIC_MEANS[name], rel=1e-12)
    sample = dist.sample(np.random.default_rng(20260101), N)
    assert sample.shape == (N,)
    assert np.all(sample >= 0) and np.all(np.isfinite(sample))
    if name == "constant":
        assert np.all(sample == 30.0)
    else:
        _mean_ok(sample, dist.mean)


@pytest.mark.parametrize(("name", "cv"), [
    ("gamma", 1.5), ("gamma low cv", 0.3), ("lognormal", 1.2), ("lognormal low cv", 0.5),
    ("erlang", 1 / math.sqrt(3)), ("exponential", 1.0),
    ("weibull", math.sqrt(math.gamma(1 + 2 / 0.7) / math.gamma(1 + 1 / 0.7) ** 2 - 1)),
])
def test_sample_cv_matches(name: str, cv: float) -> None:
    sample = make(DISTRIBUTIONS[name]).sample(np.random.default_rng(7), N)
    sample_cv, se = _cv_and_se(sample)
    assert se < 0.05 * cv, "the tolerance must be tight enough to mean something"
    assert abs(sample_cv - cv) <= Z * se, f"cv {sample_cv:.4f} vs {cv:.4f} (SE {se:.4f})"


def test_uniform_stays_in_range() -> None:
    sample = make(DISTRIBUTIONS["uniform"]).sample(np.random.default_rng(3), N)
    assert sample.min() >= 10.0 and sample.max() <= 120.0


def test_mixture_point_mass_at_zero() -> None:
    dist = make(DISTRIBUTIONS["mixture"])
    assert isinstance(dist, Mixture)
    sample = dist.sample(np.random.default_rng(11), N)
    share = float(np.mean(sample == 0.0))
    p = 0.1
    assert abs(share - p) <= Z * math.sqrt(p * (1 - p) / N), share
    # The other 90% are exponential with mean 3min.
    _mean_ok(sample[sample > 0], 180.0)


def test_empirical_from_list_resamples_the_values() -> None:
    dist = make(DISTRIBUTIONS["empirical"])
    assert isinstance(dist, Empirical)
    assert dist.samples == (10.0, 20.0, 60.0, 90.0)
    sample = dist.sample(np.random.default_rng(5), N)
    values, counts = np.unique(sample, return_counts=True)
    assert list(values) == [10.0, 20.0, 60.0, 90.0]
    for count in counts:
        assert abs(count / N - 0.25) <= Z * math.sqrt(0.25 * 0.75 / N)


def test_empirical_from_file(tmp_path: Path) -> None:
    """One number per line in the stated unit; blank lines and # comments skipped."""
    (tmp_path / "handle.txt").write_text(
        "# handle times in minutes\n1\n2.5\n\n  4   # a long one\n0.5\n")
    dist = make({"dist": "empirical", "file": "handle.txt", "unit": "min"}, base_dir=tmp_path)
    assert dist.samples == (60.0, 150.0, 240.0, 30.0)
    assert dist.mean == pytest.approx(120.0)
    sample = dist.sample(np.random.default_rng(9), N)
    assert set(np.unique(sample)) == {30.0, 60.0, 150.0, 240.0}
    _mean_ok(sample, dist.mean)
    # An absolute path works from anywhere; "ms" scales.
    absolute = make({"dist": "empirical", "file": str(tmp_path / "handle.txt"), "unit": "ms"})
    assert absolute.samples == pytest.approx((0.001, 0.0025, 0.004, 0.0005))


@pytest.mark.parametrize(("content", "problem"), [
    ("1\nabc\n", "handle.txt:2: 'abc' is not a number >= 0"),
    ("1\n-2\n", "handle.txt:2: '-2' is not a number >= 0"),
    ("1\ninf\n", "handle.txt:2: 'inf' is not a number >= 0"),
    ("# nothing\n\n", "holds no numbers"),
])
def test_empirical_file_rejects(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "handle.txt").write_text(content)
    with pytest.raises(ValidationError) as info:
        make({"dist": "empirical", "file": "handle.txt", "unit": "s"}, base_dir=tmp_path)
    assert problem in str(info.value)


@pytest.mark.parametrize(("dist", "cv"), [("gamma", 0.2), ("lognormal", 0.3)])
def test_busyness_has_mean_one_and_the_given_cv(dist: str, cv: float) -> None:
    busyness = Busyness.model_validate({"dist": dist, "cv": cv})
    sample = busyness.sample(np.random.default_rng(13), N)
    _mean_ok(sample, 1.0)
    sample_cv, se = _cv_and_se(sample)
    assert abs(sample_cv - cv) <= Z * se


def test_same_seed_same_sample() -> None:
    dist = make(DISTRIBUTIONS["nested mixture"])
    a = dist.sample(np.random.default_rng(1), 1000)
    b = dist.sample(np.random.default_rng(1), 1000)
    assert np.array_equal(a, b)
