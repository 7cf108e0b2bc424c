"""Exact checks of sim.analytics against independent reference computations.

References are computed here in a different way from the module (exact
rational sums, direct finite sums, numerical integration, scipy's Poisson
distribution) so that agreement means something.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from sim.analysis.analytics import (
    QueueFigures,
    erlang_a_figures,
    erlang_b,
    erlang_c,
    erlang_c_figures,
    full_time_equivalents,
    priority_waits,
    queue_figures,
    required_agents,
)

Law = Callable[[float], float]

# The sizing example used throughout: 1176 calls/h, 5 min handle time (98 erlangs).
RATE = 1176 / 3600
AHT = 300.0


def exact_erlang_b(servers: int, load: Fraction) -> Fraction:
    """B = (a^c/c!) / sum_{k<=c} a^k/k!, in exact rational arithmetic."""
    terms = [load**k / math.factorial(k) for k in range(servers + 1)]
    return terms[-1] / sum(terms)


def exact_erlang_c(servers: int, load: Fraction) -> Fraction:
    """C = (a^c/c! * c/(c-a)) / (sum_{k<c} a^k/k! + a^c/c! * c/(c-a)), exactly."""
    tail = load**servers / math.factorial(servers) * servers / (servers - load)
    head = sum(load**k / math.factorial(k) for k in range(servers))
    return tail / (head + tail)


def stationary_mmcm(rate: float, aht: float, servers: int, theta: float, size: int) -> np.ndarray:
    """M/M/c+M stationary probabilities of n = 0..size-1 by the plain product formula."""
    weights = [1.0]
    for n in range(1, size):
        death = min(n, servers) / aht + max(n - servers, 0) * theta
        weights.append(weights[-1] * rate / death)
    pi = np.array(weights)
    return pi / pi.sum()


# --- Erlang B and C -----------------------------------------------------------


@pytest.mark.parametrize(
    ("servers", "load"),
    [
        (1, Fraction(1)),
        (2, Fraction(1)),
        (5, Fraction(2)),
        (10, Fraction(5)),
        (30, Fraction(49, 2)),
    ],
)
def test_erlang_b_matches_exact_rational_sum(servers: int, load: Fraction) -> None:
    assert erlang_b(servers, float(load)) == pytest.approx(
        float(exact_erlang_b(servers, load)), rel=1e-13
    )


def test_erlang_b_published_table_values() -> None:
    assert erlang_b(1, 1.0) == pytest.approx(0.5, rel=1e-15)
    assert erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-15)
    # Erlang B tables: 10 trunks offered 5 erlangs block 1.84 %.
    assert round(erlang_b(10, 5.0), 4) == 0.0184


def test_erlang_b_is_stable_for_large_systems() -> None:
    # a^c / c! overflows long before c = 10000; B = Poisson pmf(c) / cdf(c) does not.
    servers, load = 10000, 9800.0
    reference = stats.poisson.pmf(servers, load) / stats.poisson.cdf(servers, load)
    assert erlang_b(servers, load) == pytest.approx(reference, rel=1e-9)


@pytest.mark.parametrize(
    ("servers", "load"),
    [(1, Fraction(1, 2)), (2, Fraction(3, 2)), (10, Fraction(8)), (100, Fraction(98))],
)
def test_erlang_c_matches_exact_rational_sum(servers: int, load: Fraction) -> None:
    assert erlang_c(servers, float(load)) == pytest.approx(
        float(exact_erlang_c(servers, load)), rel=1e-12
    )


def test_erlang_c_published_value() -> None:
    # Standard textbook example: 10 agents, 8 erlangs -> P(wait) = 0.4092.
    assert round(erlang_c(10, 8.0), 4) == 0.4092
    # M/M/1: P(wait) = rho.
    assert erlang_c(1, 0.3) == pytest.approx(0.3, rel=1e-15)


@pytest.mark.parametrize("load", [10.0, 12.5])
def test_erlang_c_rejects_unstable_load(load: float) -> None:
    with pytest.raises(ValueError, match="load < servers"):
        erlang_c(10, load)


# --- Erlang C figures -----------------------------------------------------------


@pytest.mark.parametrize(("rate", "aht", "servers"), [(8 / 300, 300.0, 10), (RATE, AHT, 100)])
def test_erlang_c_figures_closed_forms(rate: float, aht: float, servers: int) -> None:
    figures = erlang_c_figures(rate, aht, servers, threshold=20.0)
    load = rate * aht
    p_wait = float(exact_erlang_c(servers, Fraction(load).limit_denominator(10**9)))
    drain = servers / aht - rate
    assert figures.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert figures.asa_s == pytest.approx(p_wait / drain, rel=1e-9)
    assert figures.mean_wait_s == figures.asa_s
    assert figures.service_level == pytest.approx(1 - p_wait * math.exp(-drain * 20.0), rel=1e-9)
    assert figures.mean_queue_length == pytest.approx(rate * figures.mean_wait_s, rel=1e-12)
    assert figures.occupancy == pytest.approx(load / servers, rel=1e-15)
    assert figures.p_abandon == 0.0
    assert figures.load_erlangs == pytest.approx(load, rel=1e-15)


@pytest.mark.parametrize(
    ("rate", "aht", "servers"), [(8 / 300, 300.0, 10), (RATE, AHT, 100), (0.5, 3.0, 2)]
)
def test_erlang_a_tends_to_erlang_c_as_patience_grows(
    rate: float, aht: float, servers: int
) -> None:
    exact = erlang_c_figures(rate, aht, servers, threshold=20.0)
    fields = ("p_wait", "asa_s", "mean_wait_s", "service_level", "occupancy", "mean_queue_length")
    # Patience of 1e11 s is theta = 1e-11/s; abandonment then perturbs the
    # figures by O(theta * waits) ~ 1e-7 relative.
    limit = erlang_a_figures(rate, aht, servers, patience_mean=1e11, threshold=20.0)
    for name in fields:
        assert getattr(limit, name) == pytest.approx(getattr(exact, name), rel=1e-6), name
    assert limit.p_abandon < 1e-8
    # The remaining gap is the model's, not round-off: it shrinks tenfold per
    # tenfold patience (first order in theta), already from patience 1e9 s.
    gaps = [
        erlang_a_figures(rate, aht, servers, patience, threshold=20.0).asa_s / exact.asa_s - 1
        for patience in (1e9, 1e10)
    ]
    assert gaps[0] / gaps[1] == pytest.approx(10.0, rel=1e-3)


# --- Erlang A -----------------------------------------------------------------

ERLANG_A_CASES = [
    # (rate, aht, servers, patience_mean)
    (RATE, AHT, 100, 180.0),
    (60 / AHT, AHT, 50, 180.0),  # 60 erlangs on 50 servers: overloaded, still stable
    (0.01, 100.0, 2, 50.0),
    (2.0, 1.0, 1, 0.5),  # patience shorter than service, twice overloaded
    (8 / 300, 300.0, 10, 3600.0),
]


@pytest.mark.parametrize(("rate", "aht", "servers", "patience"), ERLANG_A_CASES)
def test_erlang_a_identities(rate: float, aht: float, servers: int, patience: float) -> None:
    figures = erlang_a_figures(rate, aht, servers, patience, threshold=20.0)
    theta = 1 / patience
    # Per-arrival abandonment (PASTA) vs the stationary abandonment flow theta*E[Q]/lambda.
    assert figures.p_abandon == pytest.approx(theta * figures.mean_queue_length / rate, rel=1e-10)
    assert figures.p_abandon == pytest.approx(theta * figures.mean_wait_s, rel=1e-10)
    # Little's law: per-arrival wait vs time-average queue.
    assert figures.mean_queue_length == pytest.approx(rate * figures.mean_wait_s, rel=1e-10)
    # Mean busy servers from the distribution vs carried load.
    assert figures.occupancy == pytest.approx(
        rate * (1 - figures.p_abandon) * aht / servers, rel=1e-10
    )
    assert 0 <= figures.p_abandon <= figures.p_wait <= 1
    assert 0 <= figures.service_level <= 1
    assert 0 <= figures.occupancy <= 1
    # Abandoners leave before being served, so answered contacts wait no longer on average.
    assert figures.asa_s * (1 - figures.p_abandon) <= figures.mean_wait_s


@pytest.mark.parametrize(("rate", "aht", "servers", "patience"), ERLANG_A_CASES)
def test_erlang_a_matches_direct_stationary_sum(
    rate: float, aht: float, servers: int, patience: float
) -> None:
    theta = 1 / patience
    pi = stationary_mmcm(rate, aht, servers, theta, size=servers + 3000)
    queue = np.maximum(np.arange(pi.size) - servers, 0)
    figures = erlang_a_figures(rate, aht, servers, patience, threshold=20.0)
    assert figures.p_wait == pytest.approx(pi[servers:].sum(), rel=1e-12)
    assert figures.mean_queue_length == pytest.approx(pi @ queue, rel=1e-12)
    assert figures.p_abandon == pytest.approx(theta * (pi @ queue) / rate, rel=1e-12)


def test_erlang_a_matches_integrated_hypoexponential() -> None:
    """Service level, ASA and abandonment by quadrature of the offered-wait law.

    An arrival that finds j waiting has offered wait V ~ sum_{i<=j} Exp(a_i),
    a_i = c*mu + i*theta, and patience Y ~ Exp(theta). With f, S the density and
    survival of V (distinct rates, so the partial-fraction form applies):
    P(answered <= T) = int_0^T f(t) e^{-theta t} dt,
    P(abandoned <= T) = int_0^T theta e^{-theta t} S(t) dt.
    """
    rate, aht, servers, patience = 0.01, 100.0, 2, 50.0
    theta = 1 / patience
    max_ahead = 12  # pi beyond this is < 1e-15; partial fractions stay well-conditioned
    pi = stationary_mmcm(rate, aht, servers, theta, size=servers + max_ahead + 1)

    def offered_wait_law(ahead: int) -> tuple[Law, Law]:
        drains = [servers / aht + i * theta for i in range(ahead + 1)]
        coef = [
            math.prod(d_k / (d_k - d_i) for k, d_k in enumerate(drains) if k != i)
            for i, d_i in enumerate(drains)
        ]

        def density(t: float) -> float:
            return sum(c * d * math.exp(-d * t) for c, d in zip(coef, drains))

        def survival(t: float) -> float:
            return sum(c * math.exp(-d * t) for c, d in zip(coef, drains))

        return density, survival

    def integral(func: Law, upper: float) -> float:
        return integrate.quad(func, 0, upper, epsabs=1e-12, epsrel=1e-12, limit=200)[0]

    laws = [offered_wait_law(j) for j in range(max_ahead + 1)]
    weights = pi[servers:]
    for threshold in (0.0, 5.0, 20.0, 60.0, 300.0):
        answered = sum(
            w * integral(lambda t, f=f: f(t) * math.exp(-theta * t), threshold)
            for w, (f, _) in zip(weights, laws)
        )
        abandoned = sum(
            w * integral(lambda t, s=s: theta * math.exp(-theta * t) * s(t), threshold)
            for w, (_, s) in zip(weights, laws)
        )
        expected = (pi[:servers].sum() + answered) / (1 - abandoned)
        figures = erlang_a_figures(rate, aht, servers, patience, threshold)
        assert figures.service_level == pytest.approx(expected, abs=1e-10), threshold

    # Whole-horizon moments: E[V; served] and E[min(V, Y)].
    served_wait = sum(
        w * integral(lambda t, f=f: t * f(t) * math.exp(-theta * t), math.inf)
        for w, (f, _) in zip(weights, laws)
    )
    mean_wait = sum(
        w * integral(lambda t, s=s: s(t) * math.exp(-theta * t), math.inf)
        for w, (_, s) in zip(weights, laws)
    )
    abandon = sum(
        w * integral(lambda t, s=s: theta * math.exp(-theta * t) * s(t), math.inf)
        for w, (_, s) in zip(weights, laws)
    )
    assert figures.mean_wait_s == pytest.approx(mean_wait, rel=1e-9)
    assert figures.p_abandon == pytest.approx(abandon, rel=1e-9)
    assert figures.asa_s == pytest.approx(served_wait / (1 - abandon), rel=1e-9)


def test_erlang_a_service_level_at_zero_threshold_is_immediate_answers() -> None:
    figures = erlang_a_figures(RATE, AHT, 100, 180.0, threshold=0.0)
    assert figures.service_level == pytest.approx(1 - figures.p_wait, rel=1e-15)


def test_erlang_a_monotone_in_load_through_overload() -> None:
    loads = [20.0, 40.0, 45.0, 49.0, 50.0, 55.0, 60.0, 80.0]
    results = [erlang_a_figures(a / AHT, AHT, 50, 180.0, threshold=20.0) for a in loads]
    for lighter, heavier in zip(results, results[1:]):
        assert lighter.p_wait < heavier.p_wait
        assert lighter.p_abandon < heavier.p_abandon
        assert lighter.service_level > heavier.service_level


def test_erlang_a_sizing_example_regression() -> None:
    figures = erlang_a_figures(RATE, AHT, 100, 180.0, threshold=20.0)
    assert figures.p_wait == pytest.approx(0.381707175, rel=1e-8)
    assert figures.p_abandon == pytest.approx(0.0356978824, rel=1e-8)
    assert figures.asa_s == pytest.approx(6.14965143, rel=1e-8)
    assert figures.mean_wait_s == pytest.approx(6.42561883, rel=1e-8)
    assert figures.service_level == pytest.approx(0.868434145, rel=1e-8)


def test_zero_rate_gives_an_idle_system() -> None:
    for figures in (
        erlang_a_figures(0.0, AHT, 3, 180.0, threshold=20.0),
        erlang_c_figures(0.0, AHT, 3, threshold=20.0),
    ):
        assert (figures.p_wait, figures.p_abandon, figures.asa_s, figures.occupancy) == (0, 0, 0, 0)
        assert figures.service_level == 1.0


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    servers=st.integers(1, 60),
    utilisation=st.floats(0.05, 2.0),
    patience=st.floats(5.0, 2000.0),
    threshold=st.floats(0.0, 120.0),
)
def test_erlang_a_identities_hold_broadly(
    servers: int, utilisation: float, patience: float, threshold: float
) -> None:
    rate = utilisation * servers / AHT
    figures = erlang_a_figures(rate, AHT, servers, patience, threshold)
    assert figures.p_abandon == pytest.approx(
        figures.mean_queue_length / (rate * patience), rel=1e-9, abs=1e-300
    )
    assert figures.occupancy == pytest.approx(
        rate * (1 - figures.p_abandon) * AHT / servers, rel=1e-9
    )
    assert 0 <= figures.service_level <= 1 + 1e-12
    assert figures.service_level >= 1 - figures.p_wait - 1e-12


# --- dispatch and sizing ------------------------------------------------------------


def test_queue_figures_dispatch() -> None:
    erlang_c_result = erlang_c_figures(RATE, AHT, 100, 20.0)
    assert queue_figures(RATE, AHT, 100, 20.0) == erlang_c_result
    assert queue_figures(RATE, AHT, 100, 20.0, patience_mean=math.inf) == erlang_c_result
    assert queue_figures(RATE, AHT, 100, 20.0, patience_mean=180.0) == erlang_a_figures(
        RATE, AHT, 100, 180.0, 20.0
    )
    assert isinstance(erlang_c_result, QueueFigures)


@pytest.mark.parametrize(("patience", "expected"), [(None, 106), (180.0, 97)])
def test_required_agents_is_the_smallest_meeting_target(
    patience: float | None, expected: int
) -> None:
    target, threshold = 0.8, 20.0
    found = required_agents(RATE, AHT, target, threshold, patience_mean=patience)

    def level(servers: int) -> float:
        return queue_figures(RATE, AHT, servers, threshold, patience).service_level

    # Independent linear scan from the smallest admissible size.
    first = 99 if patience is None else 1
    while level(first) < target:
        first += 1
    assert found == first == expected
    assert level(found) >= target
    assert level(found - 1) < target


@pytest.mark.parametrize("patience", [None, 180.0])
@pytest.mark.parametrize("cap", [0.9, 0.85, 0.7])
def test_required_agents_under_a_maximum_occupancy(patience: float | None, cap: float) -> None:
    found = required_agents(RATE, AHT, 0.8, 20.0, patience_mean=patience, max_occupancy=cap)

    def ok(servers: int) -> bool:
        figures = queue_figures(RATE, AHT, servers, 20.0, patience)
        return figures.service_level >= 0.8 and figures.occupancy <= cap

    assert ok(found) and not ok(found - 1)
    if patience is None:  # Erlang C's occupancy is load / servers
        assert found == max(106, math.ceil(RATE * AHT / cap))


def test_full_time_equivalents_pay_for_shrinkage() -> None:
    assert full_time_equivalents(70, 0.3) == pytest.approx(100.0)
    assert full_time_equivalents(106, 0.0) == 106
    with pytest.raises(ValueError, match="shrinkage"):
        full_time_equivalents(10, 1.0)
    with pytest.raises(ValueError, match="max_occupancy"):
        required_agents(RATE, AHT, 0.8, 20.0, max_occupancy=0.0)


def test_required_agents_erlang_c_needs_stability() -> None:
    # A lax target is met by Erlang C's formula only once load < servers.
    assert required_agents(RATE, AHT, 0.01, 20.0) == 99
    assert required_agents(0.0, AHT, 0.8, 20.0) == 1


def test_required_agents_reports_unreachable_target() -> None:
    with pytest.raises(ValueError, match="max_servers=100"):
        required_agents(RATE, AHT, 0.8, 20.0, max_servers=100)
    with pytest.raises(ValueError, match="max_servers=50"):
        required_agents(RATE, AHT, 0.8, 20.0, max_servers=50)


# --- Cobham priorities ----------------------------------------------------------------


def test_priority_single_class_is_erlang_c() -> None:
    [wait] = priority_waits([RATE], AHT, 100)
    assert wait == pytest.approx(erlang_c_figures(RATE, AHT, 100, 20.0).mean_wait_s, rel=1e-13)


@pytest.mark.parametrize("rates", [[0.1, RATE - 0.1], [0.05, 0.2, RATE - 0.25], [0.0, RATE]])
def test_priority_conserves_fcfs_wait(rates: list[float]) -> None:
    waits = priority_waits(rates, AHT, 100)
    fcfs = erlang_c_figures(sum(rates), AHT, 100, 20.0).mean_wait_s
    # Work conservation with equal service rates: the rate-weighted mean wait is the FCFS one.
    assert sum(r * w for r, w in zip(rates, waits)) / sum(rates) == pytest.approx(fcfs, rel=1e-12)
    assert waits == sorted(waits)


def test_priority_two_classes_closed_form() -> None:
    aht, servers, rates = 300.0, 10, [0.01, 0.015]
    capacity = servers / aht
    residual = erlang_c(servers, sum(rates) * aht) / capacity
    sigma1 = rates[0] / capacity
    sigma2 = sum(rates) / capacity
    assert priority_waits(rates, aht, servers) == pytest.approx(
        [residual / (1 - sigma1), residual / ((1 - sigma1) * (1 - sigma2))], rel=1e-14
    )


# --- input validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: erlang_c_figures(-1.0, AHT, 10, 20.0), "rate"),
        (lambda: erlang_a_figures(-0.1, AHT, 10, 180.0, 20.0), "rate"),
        (lambda: erlang_a_figures(math.nan, AHT, 10, 180.0, 20.0), "rate"),
        (lambda: erlang_c_figures(0.01, AHT, 0, 20.0), "servers"),
        (lambda: erlang_a_figures(0.01, AHT, 0, 180.0, 20.0), "servers"),
        (lambda: erlang_b(0, 1.0), "servers"),
        (lambda: erlang_c(2.5, 1.0), "servers"),  # type: ignore[arg-type]
        (lambda: erlang_c(True, 0.5), "servers"),  # type: ignore[arg-type]
        (lambda: erlang_b(3, -1.0), "load"),
        (lambda: erlang_c_figures(0.01, 0.0, 10, 20.0), "aht"),
        (lambda: erlang_a_figures(0.01, AHT, 10, 0.0, 20.0), "patience_mean"),
        (lambda: erlang_a_figures(0.01, AHT, 10, 180.0, -1.0), "threshold"),
        (lambda: required_agents(RATE, AHT, 1.0, 20.0), "sl_target"),
        (lambda: required_agents(RATE, AHT, 0.8, 20.0, max_servers=0), "max_servers"),
        (lambda: priority_waits([], AHT, 10), "rates"),
        (lambda: priority_waits([0.01, -0.01], AHT, 10), r"rates\[1\]"),
        (lambda: priority_waits([0.01], AHT, 0), "servers"),
        (lambda: priority_waits([0.02, 0.02], AHT, 10), "servers"),
    ],
)
def test_invalid_inputs_name_the_parameter(call: Callable[[], object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()
