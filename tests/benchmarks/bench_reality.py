"""The reality check on the bank's two whole months against issue 17's goals.

For January and October (``../shared/anonymous_bank``; skipped when absent) it
runs ``ccsim reality`` in sample (drawn and recorded talk times) and out of
sample from day 16 (forecast arrivals and planned staffing, and the days' own
arrivals and staffing), then prints every goal with its target, the measured
figure and, for the hourly goals, the noise floor: how many busy hours a
model exactly right would be expected to bring within the tolerance, given
the spread of one month's realisation (``sim.analysis.reality.noise_floor``),
and how often a model exactly right would meet the goal (the hours taken as
independent: ``chance_of_at_least``; from 10 replications also counted by
taking each replication in turn as the log: ``RealityCheck.leave_one_out_counts``).
A goal above its noise floor cannot be met on this data by any model except
by luck. Exits 1 when a goal is missed, unless ``--no-fail``.

Run:  python tests/benchmarks/bench_reality.py [--replications N] [--no-fail]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sim.analysis.calllog import read_log  # noqa: E402
from sim.analysis.reality import RealityCheck, chance_of_at_least, reality_check  # noqa: E402

SHARED = ROOT.parent / "shared" / "anonymous_bank"
MONTHS = ("january", "october")
HOLDOUT = 16
FIGURES = {"abandon_rate": "abandonment", "service_level": "SL(20s)"}
LEAVE_ONE_OUT_FROM = 10
"""From this many replications, each hourly goal also shows how often one replication,
taken as the log of a model exactly right, meets it against the mean of the others."""


def goals(check: RealityCheck, out_of_sample: bool) -> list[tuple[str, str, str, bool]]:
    """(goal, target, measured, met) of one check, per issue 17."""
    summary, card = check.summary(), check.scorecard()
    busy = card["busy_hours"]
    rows = []
    overall = 0.10 if out_of_sample else 0.05
    for metric, label in FIGURES.items():
        error = summary[metric]["relative_error"]
        rows.append((f"overall {label}", f"within {overall:.0%}", f"{error:+.1%}",
                     abs(error) <= overall))
    tolerance, least = ("15", 12) if out_of_sample else ("10", 14)
    for metric, label in FIGURES.items():
        c = card[metric]
        hours = c[f"simulated_within_{tolerance}"]
        measured = str(hours)
        if "model_right_hours" in c:
            chance = chance_of_at_least(
                [h[f"within_{tolerance}"] for h in c["model_right_hours"]], least)
            measured += (f" (noise floor {c[f'model_right_within_{tolerance}']:.1f}; "
                         f"a right model meets it {chance:.0%}")
            if check.replications >= LEAVE_ONE_OUT_FROM:
                counts = check.leave_one_out_counts(metric, int(tolerance) / 100)
                met = sum(n >= least for n in counts) / len(counts)
                measured += f", {met:.0%} of {len(counts)} replications as the log"
            measured += ")"
        rows.append((f"hourly {label} within {tolerance}%", f">= {least} of {busy}",
                     measured, hours >= least))
    if out_of_sample:
        for metric, label in FIGURES.items():
            closer = card[metric]["simulated_closer"]
            rows.append((f"hours {label} closer than Erlang A", f"> {busy // 2} of {busy}",
                         str(closer), closer > busy // 2))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=5)
    parser.add_argument("--no-fail", action="store_true",
                        help="print the goals but exit 0 when one is missed")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print(f"bench_reality: skipped, {SHARED} is not present")
        return 0
    runs: list[tuple[str, dict[str, Any], bool]] = [
        ("in sample", {}, False),
        ("in sample, recorded talk times", {"recorded_service": True}, False),
        (f"out of sample from day {HOLDOUT}, forecast + plan", {"holdout_from": HOLDOUT}, True),
        (f"out of sample from day {HOLDOUT}, the days' own arrivals + staffing",
         {"holdout_from": HOLDOUT, "arrivals": "replay", "staffing": "actual"}, True)]
    missed = 0
    for month in MONTHS:
        log = read_log(SHARED / f"{month}.txt")
        for title, options, out_of_sample in runs:
            start = time.process_time()
            check = reality_check(log, replications=args.replications, **options)
            cpu = time.process_time() - start
            print(f"\n{month}, {title} ({args.replications} replications per day, "
                  f"{cpu:.0f} s CPU):")
            for goal, target, measured, met in goals(check, out_of_sample):
                missed += not met
                print(f"  {goal:<40} {target:>12}  {measured:>72}  "
                      f"{'met' if met else 'MISSED'}")
    print(f"\nbench_reality: {missed} goal(s) missed")
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
