"""Learning-environment benchmark: routing decisions per CPU second through
``ccsim/Routing-v0`` on the standard work, beside ``ccsim run`` on the same work.

The standard work is bench_throughput.py's M/M/c+M model (c = 100, FCFS, 98 Erlangs,
arrivals by count). The agent is trivial (the first allowed routing option, read from
the mask in ``info``), so the figure is the environment's own cost: the engine between
decisions, the pause and resume of the simulation at each decision, and the
observation. Episodes and plain ``Simulation(..., "fcfs").run()`` runs of the same
arrivals alternate (CPU time, ``time.process_time``); the figure is the median of the
episodes' decisions per second, with the median ratio of the environment's CPU per
customer over the plain run's beside it (what learning through the environment costs
over running the policy in the engine). Target: >= 20,000 decisions per second.

The target is a speed on the 2-core development machine, whose speed drifts by up to 40%
within an hour (other tenants): the bare heapq loop of bench_throughput.py ran 300k-560k
customers per CPU second on the same day. So each episode sits between two bare-loop runs
(as in bench_kernel.py), and the figure compared with the target is the episode's rate
scaled to the machine at ``REFERENCE_BARE`` bare-loop customers per second: rate x
REFERENCE_BARE / the bare loop's rate beside it. The raw rate is printed too.

Run:  python tests/benchmarks/bench_learn.py [--arrivals N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_throughput import bare_seconds, ccsim_scenario  # noqa: E402

from sim import Simulation  # noqa: E402
from sim.learn.routing_env import RoutingEnv  # noqa: E402

TARGET = 20_000
"""Decisions per CPU second through the environment, on the machine at ``REFERENCE_BARE``."""
REFERENCE_BARE = 400_000
"""Bare-loop customers per CPU second of the development machine: the low end of its quiet
speed (390k-560k in bench_kernel's runs of 2026-12-05), so the scaled figure is not flattered."""
BARE_ARRIVALS = 100_000


def episode(env: RoutingEnv) -> tuple[float, int]:
    """CPU seconds and decisions of one episode with the trivial agent."""
    gc.collect()
    start = time.process_time()
    _, info = env.reset()
    decisions = 0
    while True:
        mask = info["action_mask"]
        _, _, terminated, _, info = env.step(int(mask[1:].argmax()) + 1)
        decisions += 1
        if terminated:
            return time.process_time() - start, decisions


def plain_run(scenario: object, replication: int) -> float:
    """CPU seconds of the same replication run by the engine alone under fcfs."""
    gc.collect()
    start = time.process_time()
    Simulation(scenario, "fcfs", replication).run()  # type: ignore[arg-type]
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arrivals", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even below target")
    args = parser.parse_args(argv)
    scenario = ccsim_scenario(args.arrivals)
    env = RoutingEnv(scenario)
    episode(RoutingEnv(ccsim_scenario(2_000)))  # warm-up: imports and first-call caches
    rates, bare_rates, ratios = [], [], []
    before = bare_seconds(BARE_ARRIVALS)
    for replication in range(args.rounds):
        seconds, decisions = episode(env)  # episode r is replication r
        after = bare_seconds(BARE_ARRIVALS)
        plain = plain_run(scenario, replication)
        rates.append(decisions / seconds)
        bare_rates.append(2 / (before + after))
        ratios.append(seconds / plain)
        before = after
    figure = statistics.median(rate * REFERENCE_BARE / bare
                               for rate, bare in zip(rates, bare_rates))
    verdict = "PASS" if figure >= TARGET else "FAIL"
    print(f"learning environment, standard work ({args.arrivals:,} arrivals, {args.rounds} "
          f"episodes): {figure:,.0f} decisions per CPU second on the machine at "
          f"{REFERENCE_BARE:,} bare-loop customers/s, target >= {TARGET:,}  {verdict}")
    print(f"  as measured: {statistics.median(rates):,.0f} decisions per CPU second (best "
          f"{max(rates):,.0f}), bare loop {statistics.median(bare_rates):,.0f} customers/s")
    print(f"  CPU of an episode over ccsim run of the same replication (fcfs): "
          f"{statistics.median(ratios):.2f}x (median)")
    return 0 if figure >= TARGET or args.no_fail else 1


if __name__ == "__main__":
    sys.exit(main())
