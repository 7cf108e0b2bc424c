"""Exact steady-state queueing formulas used to check and size the simulator.

Erlang B, Erlang C (M/M/c), Erlang A (M/M/c+M, Palm's model with exponential
patience) and Cobham's non-preemptive priority waits. These are the reference
values that simulation runs are compared against, so they are computed
exactly (up to floating point), not with the usual approximations.

Time is in seconds and rates are per second throughout.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import expm_multiply
from scipy.special import gammaln

# Erlang A queue terms below exp(-41.5) ~ 1e-18 of the largest queue term are
# dropped: they cannot change any double-precision result.
_LOG_NEGLIGIBLE = math.log(1e18)
# Below this norm of (generator * T) absorption within T is under 1e-300.
_NEGLIGIBLE_NORM = 1e-300
# Hard cap on queue states kept for Erlang A. Only reached when the queue is
# overloaded and patience is enormous (theta -> 0 with load >= servers), where
# the queue length is astronomically large and the model is meaningless anyway.
_MAX_QUEUE_STATES = 1_000_000
# Tail states are generated in chunks, so short tails (the usual case) stay
# cheap while long ones do not need a Python loop per state.
_TAIL_CHUNK = 4096


@dataclass(frozen=True)
class QueueFigures:
    """Steady-state figures of one queue. Times in seconds."""

    servers: int
    load_erlangs: float
    """Offered load ``rate * aht``."""
    p_wait: float
    """P(an arrival finds all servers busy); by PASTA also the time fraction."""
    p_abandon: float
    """Fraction of arrivals that abandon (0 for Erlang C)."""
    asa_s: float
    """Mean wait of answered contacts, counting those answered at once as 0."""
    mean_wait_s: float
    """Mean time in queue over all arrivals, abandoned ones included."""
    service_level: float
    """Answered within T / (answered + abandoned after T), i.e.
    ``P(answered <= T) / (1 - P(abandoned <= T))``."""
    threshold_s: float
    """The service-level threshold T."""
    occupancy: float
    """Mean busy servers / servers = ``rate * (1 - p_abandon) * aht / servers``."""
    mean_queue_length: float
    """Time-average number of contacts waiting."""


def _check_count(name: str, value: int) -> int:
    message = f"{name} must be a positive integer, got {value!r}"
    if isinstance(value, bool):  # bool is an int subclass but never a server count
        raise ValueError(message)
    try:
        count = operator.index(value)
    except TypeError:
        raise ValueError(message) from None
    if count < 1:
        raise ValueError(message)
    return count


def _check_nonnegative(name: str, value: float) -> float:
    number = float(value)
    if not (math.isfinite(number) and number >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def _check_positive(name: str, value: float) -> float:
    number = float(value)
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def erlang_b(servers: int, load: float) -> float:
    """Erlang B blocking probability for ``servers`` servers offered ``load`` erlangs.

    Uses the recursion ``B(n) = a B(n-1) / (n + a B(n-1))``, which only
    combines positive numbers and so neither overflows (unlike ``a**c / c!``)
    nor loses precision.
    """
    servers = _check_count("servers", servers)
    load = _check_nonnegative("load", load)
    blocking = 1.0
    for n in range(1, servers + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def erlang_c(servers: int, load: float) -> float:
    """Erlang C probability that an arrival waits in an M/M/c queue.

    Requires ``load < servers``; otherwise the queue grows without bound and
    there is no steady state, so ``ValueError`` is raised.
    """
    servers = _check_count("servers", servers)
    load = _check_nonnegative("load", load)
    if load >= servers:
        raise ValueError(
            f"Erlang C needs load < servers for a steady state; got load={load:g} erlangs "
            f"with servers={servers} (use Erlang A, i.e. give a patience, for overload)"
        )
    blocking = erlang_b(servers, load)
    # Standard B -> C conversion; the denominator is > 0 because load < servers.
    return servers * blocking / (servers - load * (1.0 - blocking))


def erlang_c_figures(rate: float, aht: float, servers: int, threshold: float) -> QueueFigures:
    """Steady-state figures of M/M/c FCFS without abandonment (Erlang C).

    ``rate`` is arrivals per second, ``aht`` the mean handle time and
    ``threshold`` the service-level threshold T, both in seconds. The wait of a
    delayed contact is exponential with rate ``c*mu - lambda``, which gives
    ``ASA = C / (c*mu - lambda)`` and ``SL(T) = 1 - C exp(-(c*mu - lambda) T)``.
    """
    rate = _check_nonnegative("rate", rate)
    aht = _check_positive("aht", aht)
    servers = _check_count("servers", servers)
    threshold = _check_nonnegative("threshold", threshold)
    load = rate * aht
    p_wait = erlang_c(servers, load)
    drain_rate = servers / aht - rate
    mean_wait = p_wait / drain_rate
    return QueueFigures(
        servers=servers,
        load_erlangs=load,
        p_wait=p_wait,
        p_abandon=0.0,
        asa_s=mean_wait,  # nobody abandons, so answered contacts are all contacts
        mean_wait_s=mean_wait,
        service_level=1.0 - p_wait * math.exp(-drain_rate * threshold),
        threshold_s=threshold,
        occupancy=load / servers,
        mean_queue_length=rate * mean_wait,  # Little's law
    )


def _erlang_a_stationary(
    rate: float, mu: float, theta: float, servers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stationary distribution of the M/M/c+M birth-death chain.

    Returns ``(below, queue)``: probabilities of n = 0..c-1 contacts in the
    system, and of n = c + j for j = 0..J (j contacts waiting). Terms are
    built as logarithms so huge loads and server counts neither overflow nor
    underflow; the tail is cut once it is negligible and decreasing.
    """
    log_rate = math.log(rate)
    # n <= c: unnormalised pi_n = a^n / n! with a = rate / mu.
    n = np.arange(servers + 1, dtype=float)
    log_head = n * math.log(rate / mu) - gammaln(n + 1.0)
    # n = c + k, k >= 1: each step multiplies by rate / (c*mu + k*theta). The
    # ratio falls below 1 for good once c*mu + k*theta > rate, after which the
    # terms only decrease.
    log_tail_parts = [log_head[-1:]]
    tail_max = last_log = float(log_head[-1])
    start = 1
    while True:
        k = np.arange(start, start + _TAIL_CHUNK, dtype=float)
        death = servers * mu + k * theta
        chunk = last_log + np.cumsum(log_rate - np.log(death))
        log_tail_parts.append(chunk)
        tail_max = max(tail_max, float(chunk.max()))
        last_log = float(chunk[-1])
        start += _TAIL_CHUNK
        # The cut is relative to the largest queue term, not the global one:
        # when waiting is rare the queue figures are tiny themselves and must
        # not lose relative accuracy.
        if death[-1] > rate and last_log < tail_max - _LOG_NEGLIGIBLE:
            break
        if start > _MAX_QUEUE_STATES:
            raise ValueError(
                "Erlang A queue does not settle within "
                f"{_MAX_QUEUE_STATES} waiting states (load {rate / mu:g} erlangs, "
                f"servers={servers}, patience_mean={1.0 / theta:g}s); patience is too "
                "long for this overload"
            )
    log_tail = np.concatenate(log_tail_parts)
    # Keep the queue up to its last non-negligible state.
    keep = np.nonzero(log_tail >= tail_max - _LOG_NEGLIGIBLE)[0]
    log_tail = log_tail[: int(keep[-1]) + 1]
    log_max = max(float(log_head.max()), tail_max)
    head = np.exp(log_head[:-1] - log_max)
    queue = np.exp(log_tail - log_max)
    total = head.sum() + queue.sum()
    return head / total, queue / total


def _erlang_a_within(
    queue: np.ndarray, drain: np.ndarray, theta: float, threshold: float
) -> tuple[float, float]:
    """P(answered from the queue within T) and P(still waiting at T) for Erlang A.

    A tagged arrival that finds j contacts waiting moves through a pure-death
    chain on "number ahead" j, j-1, ..., 0 -> served, leaving state i at rate
    ``drain[i] = c*mu + i*theta`` and abandoning at rate ``theta`` from every
    state. Propagating the PASTA-weighted initial vector with the matrix
    exponential of this generator gives the state at T without the
    cancellation of the alternating hypoexponential closed forms.
    """
    if threshold * (drain[-1] + theta) < _NEGLIGIBLE_NORM:
        # Nothing can leave the queue by T (the chance is below 1e-300), and
        # expm_multiply would take zero steps here and divide by zero.
        return 0.0, float(queue.sum())
    size = queue.size
    served = size  # index of the absorbing "served" state
    ahead = np.arange(size)
    rows = np.concatenate([ahead, ahead])
    # State i goes to i-1 (state 0 to "served"). Abandonment only drains mass
    # (the diagonal includes theta), so it needs no state of its own.
    cols = np.concatenate([np.append(served, ahead[:-1]), ahead])
    rates = np.concatenate([drain, -(drain + theta)])
    generator = sparse.csr_matrix((rates, (rows, cols)), shape=(size + 1, size + 1))
    start = np.append(queue, 0.0)
    # Row-vector evolution p(T) = p(0) exp(G T), computed as exp(G^T T) p(0).
    end = expm_multiply(generator.T.tocsr() * threshold, start)
    return float(end[served]), float(end[:size].sum())


def erlang_a_figures(
    rate: float, aht: float, servers: int, patience_mean: float, threshold: float
) -> QueueFigures:
    """Steady-state figures of M/M/c+M FCFS (Palm's model, Erlang A).

    Exponential service with mean ``aht`` and exponential patience with mean
    ``patience_mean``. Exact, and valid for any load including
    ``load >= servers`` (abandonment keeps the queue stable).

    Per-arrival figures use PASTA: an arrival that finds j contacts waiting
    has an offered wait ``V = sum_{i=0..j} Exp(c*mu + i*theta)`` and leaves
    after ``min(V, patience)``. Queue length and occupancy come from the
    stationary distribution instead, so Little's law
    (``mean_queue_length = rate * mean_wait_s``) and the abandonment identity
    (``p_abandon = theta * mean_wait_s``) are genuine cross-checks.
    """
    rate = _check_nonnegative("rate", rate)
    aht = _check_positive("aht", aht)
    servers = _check_count("servers", servers)
    patience_mean = _check_positive("patience_mean", patience_mean)
    threshold = _check_nonnegative("threshold", threshold)
    if rate == 0.0:
        # Empty system: log-space terms would need log(0); every figure is trivial.
        return QueueFigures(
            servers=servers,
            load_erlangs=0.0,
            p_wait=0.0,
            p_abandon=0.0,
            asa_s=0.0,
            mean_wait_s=0.0,
            service_level=1.0,
            threshold_s=threshold,
            occupancy=0.0,
            mean_queue_length=0.0,
        )
    mu = 1.0 / aht
    theta = 1.0 / patience_mean
    below, queue = _erlang_a_stationary(rate, mu, theta, servers)

    waiting = np.arange(queue.size, dtype=float)
    drain = servers * mu + waiting * theta
    # Each phase ends with the tagged contact still waiting with prob r_i;
    # log1p keeps r_i accurate when theta is tiny.
    log_stay = np.log1p(-theta / (drain + theta))
    log_p_served = np.cumsum(log_stay)  # log P(served | j)
    # Phase i lasts Exp(drain_i + theta) and is reached with prob prod_{k<i} r_k.
    reach = np.exp(np.concatenate([[0.0], log_p_served[:-1]]))
    wait_given_j = np.cumsum(reach / (drain + theta))  # E[min(V, patience) | j]
    # Holding times of competing exponentials do not depend on which event ends
    # them, so E[V 1{served} | j] = P(served | j) * sum_i 1/(drain_i + theta).
    served_wait_given_j = np.exp(log_p_served) * np.cumsum(1.0 / (drain + theta))
    # 1 - P(served | j) without cancellation when P(served | j) ~ 1.
    abandon_given_j = -np.expm1(log_p_served)

    answered_at_once = float(below.sum())
    p_abandon = float(queue @ abandon_given_j)
    # Summed directly rather than as 1 - p_abandon, which cancels in overload.
    p_answered = answered_at_once + float(queue @ np.exp(log_p_served))
    served_within, waiting_at_threshold = _erlang_a_within(queue, drain, theta, threshold)
    # 1 - P(abandoned within T) is everyone who did not abandon by T: those
    # answered by then plus those still waiting at T (answered or abandoning
    # later). Summing these avoids cancellation when most contacts abandon.
    not_abandoned_within = answered_at_once + served_within + waiting_at_threshold
    busy = float(np.arange(servers) @ below) + servers * float(queue.sum())
    return QueueFigures(
        servers=servers,
        load_erlangs=rate * aht,
        p_wait=float(queue.sum()),
        p_abandon=p_abandon,
        asa_s=float(queue @ served_wait_given_j) / p_answered,
        mean_wait_s=float(queue @ wait_given_j),
        service_level=(answered_at_once + served_within) / not_abandoned_within,
        threshold_s=threshold,
        occupancy=busy / servers,
        mean_queue_length=float(queue @ waiting),
    )


def queue_figures(
    rate: float,
    aht: float,
    servers: int,
    threshold: float,
    patience_mean: float | None = None,
) -> QueueFigures:
    """Erlang C figures when patience is ``None`` or infinite, else Erlang A."""
    if patience_mean is None or math.isinf(patience_mean):
        return erlang_c_figures(rate, aht, servers, threshold)
    return erlang_a_figures(rate, aht, servers, patience_mean, threshold)


def required_agents(
    rate: float,
    aht: float,
    sl_target: float,
    threshold: float,
    patience_mean: float | None = None,
    max_servers: int = 100000,
    max_occupancy: float | None = None,
) -> int:
    """Smallest number of servers whose service level reaches ``sl_target`` (and whose
    occupancy is at most ``max_occupancy``, when given).

    Erlang C (no or infinite patience) additionally requires ``load < servers``.
    Service level rises with the number of servers, so the answer is bracketed
    by doubling steps up from the load and then bisected. Raises
    ``ValueError`` if even ``max_servers`` servers do not reach the target.
    """
    rate = _check_nonnegative("rate", rate)
    aht = _check_positive("aht", aht)
    threshold = _check_nonnegative("threshold", threshold)
    max_servers = _check_count("max_servers", max_servers)
    if not 0.0 < sl_target < 1.0:
        raise ValueError(f"sl_target must be strictly between 0 and 1, got {sl_target!r}")
    if max_occupancy is not None and not 0.0 < max_occupancy <= 1.0:
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    erlang_c_model = patience_mean is None or math.isinf(patience_mean)
    load = rate * aht

    def meets(servers: int) -> bool:
        # Both fall as servers are added, so the first count meeting both is bracketed.
        figures = queue_figures(rate, aht, servers, threshold, patience_mean)
        return figures.service_level >= sl_target and (
            max_occupancy is None or figures.occupancy <= max_occupancy)

    # `failing` is a server count known to miss the target (0 trivially; for
    # Erlang C any count <= load is unstable and so misses it too).
    failing = min(math.floor(load), max_servers) if erlang_c_model else 0
    return _first_meeting(meets, failing, max(failing + 1, math.ceil(load)), max_servers)


def full_time_equivalents(agents: float, shrinkage: float) -> float:
    """Paid agents (FTE) needed so that ``agents`` are on the phones when a share
    ``shrinkage`` of paid time goes to breaks, meetings, training and absence."""
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    return agents / (1.0 - shrinkage)


def _first_meeting(meets: Callable[[int], bool], failing: int, probe: int, limit: int) -> int:
    """Smallest n in (failing, limit] with ``meets(n)``, for monotone ``meets``."""
    if failing >= limit:
        raise ValueError(f"service-level target not reached with max_servers={limit}")
    probe = min(probe, limit)
    step = 1
    while not meets(probe):
        if probe == limit:
            raise ValueError(f"service-level target not reached with max_servers={limit}")
        failing = probe
        probe = min(probe + step, limit)
        step *= 2
    while probe - failing > 1:
        middle = (failing + probe) // 2
        if meets(middle):
            probe = middle
        else:
            failing = middle
    return probe


def priority_waits(rates: Sequence[float], aht: float, servers: int) -> list[float]:
    """Mean queue wait per class in M/M/c with non-preemptive priorities (Cobham).

    ``rates`` are per-class arrival rates, highest priority first; all classes
    share the exponential service with mean ``aht``. Class k waits on average
    ``W_k = (C(c, a) / (c*mu)) / ((1 - sigma_{k-1}) (1 - sigma_k))`` with
    ``sigma_k = sum_{i<=k} lambda_i / (c*mu)``, averaged over all its contacts.
    """
    if len(rates) == 0:
        raise ValueError("rates must contain at least one class")
    class_rates = [_check_nonnegative(f"rates[{k}]", r) for k, r in enumerate(rates)]
    aht = _check_positive("aht", aht)
    servers = _check_count("servers", servers)
    capacity = servers / aht  # c * mu
    if sum(class_rates) >= capacity:
        raise ValueError(
            f"total load {sum(class_rates) * aht:g} erlangs must be below servers={servers} "
            "for priority queues without abandonment to reach a steady state"
        )
    # Residual work seen by an arrival: P(wait) times the mean time until the
    # next server frees up, 1/(c*mu); it is the same for every class.
    residual = erlang_c(servers, sum(class_rates) * aht) / capacity
    waits = []
    sigma_before = 0.0
    for class_rate in class_rates:
        sigma = sigma_before + class_rate / capacity
        waits.append(residual / ((1.0 - sigma_before) * (1.0 - sigma)))
        sigma_before = sigma
    return waits
