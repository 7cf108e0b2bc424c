"""CPU cost of the needs block (docs/needs.md): the same scenario with and without it.

The scenario is tests/test_needs.py's (3 days, identity, 100-150 calls an hour, a 4 h
lead) without outbound, so both runs make exactly the same contacts and the difference is
the needs stage itself: reading the calls ahead (second copies of the arrival and caller
streams) and the needs' own events. One replication per run, its customer base built
before any timing (both scenarios share it), so that no run pays for a build. Runs
alternate in one process (without, with, without, ...), CPU time per run
(``time.process_time``); each run with needs is compared with the mean of the runs
without just before and after it, and the median of these paired ratios is the figure
(the machine is shared: its speed drifts within seconds; a ratio of best runs taken at
different moments swung from 1.15 to 1.56 on unchanged code, and the median of 7 pairs of
5-replication runs, whose builds fell inside the timing, from 1.20 to 1.50). It fails
above ``--max-ratio``.

Run:  python tests/benchmarks/bench_needs.py [--replications N] [--rounds K] [--max-ratio R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sim import Simulation  # noqa: E402
from sim.model.customers import Population  # noqa: E402
from test_needs import _data, _scenario, _without  # noqa: E402


def cpu_seconds(scenario: object, replications: int) -> float:
    """CPU time of ``replications`` runs of ``scenario`` under fcfs."""
    start = time.process_time()
    for replication in range(replications):
        Simulation(scenario, "fcfs", replication).run()  # type: ignore[arg-type]
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    args = parser.parse_args(argv)
    with_needs = _scenario(_without(_data(), "outbound"))
    plain = _scenario(_without(_data(), "outbound", "needs"))
    # Builds the shared customer bases once, outside the timing: more replications than
    # the cache keeps would rebuild inside it.
    kept = Population.shared_builds.size
    if args.replications > kept:
        parser.error(f"--replications: at most {kept} (the customer-base cache holds {kept})")
    cpu_seconds(plain, args.replications)
    before = cpu_seconds(plain, args.replications)
    ratios, needs_runs, plain_runs = [], [], [before]
    for _ in range(args.rounds):
        needs_runs.append(cpu_seconds(with_needs, args.replications))
        plain_runs.append(cpu_seconds(plain, args.replications))
        ratios.append(needs_runs[-1] / ((before + plain_runs[-1]) / 2))
        before = plain_runs[-1]
    ratio = statistics.median(ratios)
    print(f"needs block: {statistics.median(needs_runs):.3f} s CPU vs "
          f"{statistics.median(plain_runs):.3f} s without ({args.replications} replications, "
          f"median of {args.rounds} paired ratios): x{ratio:.2f} "
          f"(paired ratios {min(ratios):.2f} to {max(ratios):.2f})")
    if ratio > args.max_ratio:
        print(f"bench_needs: x{ratio:.2f} is above --max-ratio {args.max_ratio}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
