"""Throughput of ccsim against a bare heapq event loop of the same model.

Model (the issue's reference work): c = 100 agents, AHT 300 s (exponential),
offered load 98 Erlangs, exponential patience with mean 180 s, 200,000
arrivals, FCFS to the longest-idle agent, ccsim collecting its full metrics.

The bare loop below is the reference: plain Python, one heap of
(time, kind, id) events, lazy cancellation of patience events; about as fast
as pure Python gets for this model. Machines here are shared and noisy, so
the two are timed in CPU seconds (``time.process_time``), run alternately several
times in one process, and the median of the paired ratios (each ccsim run over the bare
run just before it) is the figure, with the best pair beside it.

Run:  python tests/benchmarks/bench_throughput.py [--arrivals N] [--rounds K] [--min-ratio R]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import statistics
import sys
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sim import Simulation, scenario_from_dict  # noqa: E402

AGENTS = 100
AHT = 300.0
LOAD = 98.0
PATIENCE = 180.0


def bare_loop(arrivals: int, seed: int = 1) -> tuple[int, int]:
    """FCFS M/M/c+M with a heapq event list; returns (served, abandoned)."""
    rng = random.Random(seed)
    exp = rng.expovariate
    arrival_rate, service_rate, abandon_rate = LOAD / AHT, 1 / AHT, 1 / PATIENCE
    heap: list[tuple[float, int, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    free = AGENTS
    queue: deque[int] = deque()
    waiting: set[int] = set()
    served = abandoned = arrived = 0
    push(heap, (exp(arrival_rate), 0, 0))
    while heap:
        now, kind, customer = pop(heap)
        if kind == 0:  # arrival
            arrived += 1
            if arrived < arrivals:
                push(heap, (now + exp(arrival_rate), 0, arrived))
            if free:
                free -= 1
                served += 1
                push(heap, (now + exp(service_rate), 1, customer))
            else:
                queue.append(customer)
                waiting.add(customer)
                push(heap, (now + exp(abandon_rate), 2, customer))
        elif kind == 1:  # service end
            while queue:
                head = queue.popleft()
                if head in waiting:
                    waiting.discard(head)
                    served += 1
                    push(heap, (now + exp(service_rate), 1, head))
                    break
            else:
                free += 1
        elif customer in waiting:  # patience end while still waiting
            waiting.discard(customer)
            abandoned += 1
    return served, abandoned


def bare_seconds(arrivals: int) -> float:
    """CPU seconds per customer of ``bare_loop`` now: the machine's speed, for benchmarks
    that compare a figure with it (garbage from earlier runs collected first)."""
    gc.collect()
    start = time.process_time()
    bare_loop(arrivals)
    return (time.process_time() - start) / arrivals


def ccsim_scenario(arrivals: int):
    """The same model as a ccsim scenario."""
    return scenario_from_dict({
        "name": "throughput-benchmark",
        "run": {"arrivals": arrivals, "seed": 1},
        "contact_types": {"general": {
            "arrivals": {"rate": f"{LOAD / AHT * 3600}/h"},
            "handle_time": {"dist": "exponential", "mean": f"{AHT}s"},
            "patience": {"dist": "exponential", "mean": f"{PATIENCE}s"},
        }},
        "agents": {"pool": {"count": AGENTS, "skills": ["general"]}},
        "routing": {"policy": "fcfs"},
    })


def measure(arrivals: int, rounds: int) -> dict[str, float]:
    """Alternate both loops ``rounds`` times: the median customers per CPU second of each, and
    the median and best of the paired ratios."""
    scenario = ccsim_scenario(arrivals)
    bare_rates, ccsim_rates = [], []
    for _ in range(rounds):
        bare_rates.append(1.0 / bare_seconds(arrivals))
        gc.collect()
        start = time.process_time()
        result = Simulation(scenario, "fcfs").run()
        ccsim_rates.append(arrivals / (time.process_time() - start))
        assert result.overall["arrivals"] == arrivals
    ratios = [c / b for c, b in zip(ccsim_rates, bare_rates)]
    return {
        "bare_per_s": statistics.median(bare_rates),
        "ccsim_per_s": statistics.median(ccsim_rates),
        "ratio_median_paired": statistics.median(ratios),
        "ratio_best_pair": max(ratios),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-ratio", type=float, default=0.0,
                        help="exit 1 when the median of the paired ratios is below this")
    args = parser.parse_args(argv)
    figures = measure(args.arrivals, args.rounds)
    print(f"bare heapq loop : {figures['bare_per_s']:>10,.0f} customers per CPU second (median)")
    print(f"ccsim (fcfs)    : {figures['ccsim_per_s']:>10,.0f} customers per CPU second (median)")
    print(f"ratio ccsim/bare: {figures['ratio_median_paired']:.3f} (median of paired runs), "
          f"{figures['ratio_best_pair']:.3f} (best pair); target >= 0.5")
    return 0 if figures["ratio_median_paired"] >= args.min_ratio else 1


if __name__ == "__main__":
    raise SystemExit(main())
