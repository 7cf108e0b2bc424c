"""CI guard on the routing-policy hot path, robust to machine speed.

Times every registered policy's decisions (``select_agent`` for an arriving contact,
``select_contact`` for a freed agent) on synthetic centers of 100, 1,000 and 10,000
agents with 10 and 50 skills (``synthetic_center`` in tests/test_policy_contract.py:
random skill subsets and levels, 30% of agents idle, half a waiting contact per agent,
callers with customer profiles). Each round times a fixed reference workload of plain
Python and then the same batch of ``BATCH`` decisions of every case, interleaved. The
figure reported per case is the median over rounds of the mean time per decision.
It then checks:

* growth: for ``indexed`` policies the 10,000-agent time over the 100-agent time is
  below 2 (a decision must not scan agents or queues);
* target at 1,000 agents, per declared ``decision_cost``: median indexed <= 5 us,
  scoring <= 50 us, observation <= 500 us, as on the machine that wrote the baseline: a machine whose
  reference workload takes k times longer gets k times the target (never less);
* peers: at 1,000 agents a policy configured to decide as another does (``PEERS``:
  workflow as bullseye's rings) takes at most 2x that policy's time;
* baseline: at 100 and 1,000 agents, each case's time over the reference workload's
  time (a ratio that does not depend on the machine's speed) must stay within 2x the
  ratio in policy_baseline.json; a policy or figure missing from the baseline fails too.

Growth and baseline ratios compare best rounds (see ``Timings``).

A failure is confirmed by timing its policy again (one burst of load on a shared
machine spoils one set of rounds; a real regression repeats). Exit status 1 on any
confirmed failure, after the table. ``--update-baseline`` rewrites the
baseline from this run (commit it) and still checks growth and targets.

Run:  python tests/benchmarks/policy_guard.py [--rounds N] [--policy NAME]... [--update-baseline]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import cycle, islice
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from test_policy_contract import (
    ALL_POLICIES,
    SyntheticCenter,
    build_policy,
    decision_cost,
    synthetic_center,
)

BASELINE = Path(__file__).with_name("policy_baseline.json")
AGENTS = (100, 1_000, 10_000)
SKILLS = (10, 50)
KINDS = ("select_agent", "select_contact")
TARGET_AGENTS = 1_000
TARGETS = {"indexed": 5e-6, "scoring": 50e-6, "observation": 500e-6}
"""Seconds per decision at TARGET_AGENTS, per declared decision cost. ``observation``: a
policy that encodes the whole center (every agent group and queue class) for a learned
agent before each decision (``agent``); its cost grows with the center by design."""
MAX_GROWTH = 2.0
"""Largest allowed 10,000-agent over 100-agent time for indexed policies."""
MAX_SLOWDOWN = 2.0
"""Largest allowed normalised time over the baseline's."""
BASELINE_AGENTS = (100, 1_000)
"""Centers held to the baseline. At 10,000 agents a decision that scans reads more than
the CPU caches hold, and other processes on a shared machine slow that by 2-3x from one
run to the next while the reference workload barely moves; the growth check covers it."""
BATCH = 100
"""Decisions timed together: a batch of sub-microsecond calls is above timer noise."""
PEERS = {"workflow": "bullseye"}
"""A policy configured (tests/conftest.py) to decide as its peer does, and the peer: at
TARGET_AGENTS its decisions may take at most MAX_SLOWDOWN times the peer's (best rounds),
when both are timed."""


def reference_workload() -> int:
    """Fixed plain-Python work (about a millisecond) that every figure is divided by.

    It mixes what a policy decision does (deque heads, dict lookups, comparisons,
    small loops). Never change it: the baseline ratios are relative to it
    (after a change, rewrite the baseline with ``--update-baseline``).
    """
    queues = {key: deque(range(key, key + 50)) for key in range(20)}
    best = -1
    for step in range(2_000):
        queue = queues[step % 20]
        head = queue[0]
        queue.rotate(-1)
        if best < 0 or head < best:
            best = head
    return best


@dataclass(frozen=True)
class Case:
    """One policy's one kind of decision on one center: what is timed."""

    policy: str
    kind: str
    agents: int
    skills: int

    @property
    def label(self) -> str:
        """``agents x skills``, e.g. ``1000x10``."""
        return f"{self.agents}x{self.skills}"

    @property
    def key(self) -> str:
        """The case's key in the baseline."""
        return f"{self.kind} {self.label}"


Decide = Callable[[Any, Any], Any]


def decisions(policy: Any, kind: str, center: SyntheticCenter) -> tuple[Decide, list[Any]]:
    """The policy method for ``kind`` and a batch of ``BATCH`` inputs for it: arriving
    contacts for ``select_agent``, freed (busy) agents for ``select_contact`` (repeated
    when the center has fewer)."""
    if kind == "select_agent":
        return policy.select_agent, list(islice(cycle(center.arriving), BATCH))
    return policy.select_contact, list(islice(cycle(center.freed), BATCH))


@dataclass
class Timings:
    """Seconds per decision of every case in every round, and of the reference workload.

    Medians are the figures reported and held to the targets. Comparisons between
    figures (growth, baseline) use each case's best round: on a shared machine a round
    that another process disturbs can be several times slower for memory-bound work
    (scans of large indexes), while the best round is the closest to undisturbed.
    """

    reference: list[float]
    samples: dict[Case, list[float]]

    def median(self, case: Case) -> float:
        """Median seconds per decision over rounds."""
        return statistics.median(self.samples[case])

    def normalised(self, case: Case) -> float:
        """Best round over the reference workload's best round: independent of the
        machine's speed."""
        return min(self.samples[case]) / min(self.reference)

    def growth(self, policy: str, kind: str, skills: int) -> float:
        """Largest-center time over smallest-center time (best rounds)."""
        return (min(self.samples[Case(policy, kind, AGENTS[-1], skills)])
                / min(self.samples[Case(policy, kind, AGENTS[0], skills)]))


class Timer:
    """Interleaved timing: each round times the reference workload and then the same
    batch of decisions of every case, so that a slow spell of the machine hits all of
    them alike."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self._cases: dict[Case, tuple[Decide, list[Any], Any]] = {}

    def add(self, case: Case, decide: Decide, batch: list[Any], state: Any) -> None:
        """Time ``decide`` on every input of ``batch`` in each round."""
        self._cases[case] = (decide, batch, state)

    def run(self) -> Timings:
        """Time every case ``rounds`` times."""
        timings = Timings([], {case: [] for case in self._cases})
        clock = time.perf_counter
        enabled = gc.isenabled()
        gc.disable()  # as timeit does: a collection in one batch is noise
        try:
            for _ in range(self.rounds):
                start = clock()
                reference_workload()
                timings.reference.append(clock() - start)
                for case, (decide, batch, state) in self._cases.items():
                    start = clock()
                    for item in batch:
                        decide(item, state)
                    timings.samples[case].append((clock() - start) / len(batch))
        finally:
            if enabled:
                gc.enable()
        return timings


def time_cases(cases: Sequence[Case], rounds: int,
               centers: Callable[[int, int], SyntheticCenter]) -> Timings:
    """Time ``cases`` in one interleaved run on ``centers(agents, skills)``; one policy
    instance and one copy of the center's state per policy and center."""
    policies: dict[tuple[str, int, int], tuple[Any, Any]] = {}
    timer = Timer(rounds)
    for case in cases:
        size = (case.agents, case.skills)
        center = centers(*size)
        if (case.policy, *size) not in policies:
            policies[(case.policy, *size)] = (build_policy(case.policy, center.scenario),
                                              center.fresh_state())
        policy, state = policies[(case.policy, *size)]
        timer.add(case, *decisions(policy, case.kind, center), state)
    return timer.run()


def check(timings: Timings, baseline: dict[str, Any] | None) -> list[str]:
    """Every failed check, as one line each."""
    failures = []
    reference = statistics.median(timings.reference)
    allowance = 1.0
    if baseline is not None:
        allowance = max(1.0, reference / baseline["reference_s"])
    for case in timings.samples:
        cost = decision_cost(case.policy)
        where = f"{case.policy} {case.key}"
        if cost == "indexed" and case.agents == AGENTS[-1]:
            ratio = timings.growth(case.policy, case.kind, case.skills)
            if ratio >= MAX_GROWTH:
                failures.append(f"{case.policy} {case.kind} {case.skills} skills: "
                                f"{AGENTS[-1]:,}-agent time is {ratio:.1f}x the "
                                f"{AGENTS[0]}-agent time (allowed: < {MAX_GROWTH:g}x)")
        target, median = TARGETS[cost] * allowance, timings.median(case)
        if case.agents == TARGET_AGENTS and median > target:
            failures.append(f"{where}: median {median * 1e6:.2f} us over the {cost} target "
                            f"{target * 1e6:.2f} us")
        peer = Case(PEERS.get(case.policy, ""), case.kind, case.agents, case.skills)
        if case.agents == TARGET_AGENTS and peer in timings.samples:
            ratio = min(timings.samples[case]) / min(timings.samples[peer])
            if ratio > MAX_SLOWDOWN:
                failures.append(f"{where}: {ratio:.1f}x {peer.policy}'s time for the same "
                                f"decisions (allowed: {MAX_SLOWDOWN:g}x)")
        if baseline is None or case.agents not in BASELINE_AGENTS:
            continue
        recorded = baseline["ratios"].get(case.policy, {}).get(case.key)
        if recorded is None:
            failures.append(f"{where}: not in {BASELINE.name}; run with --update-baseline "
                            "and commit it")
        elif timings.normalised(case) > MAX_SLOWDOWN * recorded:
            failures.append(f"{where}: {timings.normalised(case) / recorded:.1f}x slower than "
                            f"the baseline, relative to the reference workload (allowed: "
                            f"{MAX_SLOWDOWN:g}x)")
    return failures


def table(timings: Timings, baseline: dict[str, Any] | None) -> str:
    """Medians in microseconds per policy and decision, growth ratios, and the largest
    normalised time over the baseline's."""
    sizes = [(a, s) for s in SKILLS for a in AGENTS]
    head = (f"{'policy':<16}{'decision':<15}{'cost':<8}"
            + "".join(f"{f'{a}x{s}':>10}" for a, s in sizes)
            + "".join(f"{f'grow@{s}':>9}" for s in SKILLS) + f"{'vs base':>9}")
    title = (f"median us per decision (agents x skills); reference workload "
             f"{statistics.median(timings.reference) * 1e6:.0f} us; grow@skills = "
             f"{AGENTS[-1]:,} over {AGENTS[0]} agents and vs base = worst normalised time "
             "over the baseline's, both on best rounds")
    lines = [title, head, "-" * len(head)]
    for policy in sorted({c.policy for c in timings.samples}):
        recorded = (baseline or {}).get("ratios", {}).get(policy, {})
        for kind in KINDS:
            cases = [Case(policy, kind, a, s) for a, s in sizes]
            worst = max((timings.normalised(c) / recorded[c.key] for c in cases
                         if c.key in recorded), default=None)
            lines.append(f"{policy:<16}{kind:<15}{decision_cost(policy):<8}"
                         + "".join(f"{timings.median(c) * 1e6:>10.2f}" for c in cases)
                         + "".join(f"{timings.growth(policy, kind, s):>9.2f}" for s in SKILLS)
                         + (f"{worst:>9.2f}" if worst is not None else f"{'-':>9}"))
    return "\n".join(lines)


def new_baseline(timings: Timings) -> dict[str, Any]:
    """The baseline file's content for this run."""
    ratios: dict[str, dict[str, float]] = {}
    held = [case for case in timings.samples if case.agents in BASELINE_AGENTS]
    for case in sorted(held, key=lambda c: (c.policy, c.kind, c.skills, c.agents)):
        ratios.setdefault(case.policy, {})[case.key] = float(f"{timings.normalised(case):.4g}")
    return {
        "about": ("Written by tests/benchmarks/policy_guard.py --update-baseline: per policy, "
                  "decision and center (agents x skills, up to 1,000 agents), the best "
                  "round's seconds per decision over the reference workload's best round. "
                  f"The guard fails when a ratio exceeds {MAX_SLOWDOWN:g}x the one here. "
                  "reference_s: median seconds of the reference workload on the machine "
                  "that wrote it."),
        "reference_s": float(f"{statistics.median(timings.reference):.4g}"),
        "ratios": ratios,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Time, print the table, check; 1 if any check failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timing rounds (default 15)")
    parser.add_argument("--policy", action="append", choices=ALL_POLICIES,
                        help="time only this policy (repeatable; the baseline keeps the others)")
    parser.add_argument("--update-baseline", action="store_true",
                        help=f"rewrite {BASELINE.name} from this run")
    args = parser.parse_args(argv)
    names = args.policy or ALL_POLICIES
    cases = [Case(p, k, a, s) for p in names for k in KINDS for s in SKILLS for a in AGENTS]
    started = time.perf_counter()
    timings = time_cases(cases, args.rounds, cache(synthetic_center))
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    if args.update_baseline:
        fresh = new_baseline(timings)
        if baseline is not None and args.policy:  # keep the policies not timed now
            fresh["ratios"] = dict(sorted({**baseline["ratios"], **fresh["ratios"]}.items()))
        BASELINE.write_text(json.dumps(fresh, indent=1) + "\n")
        baseline = None  # nothing to compare with: it is this run
    print(table(timings, baseline))
    failures = check(timings, baseline)
    print(f"\n{len(cases)} cases, {args.rounds} rounds of {BATCH} decisions, "
          f"{time.perf_counter() - started:.1f} s" + (
              f"; baseline written to {BASELINE}" if args.update_baseline else ""))
    if failures:
        # A failure counts only if it repeats when its policy is timed again: a burst of
        # load on a shared machine can spoil one set of rounds, a real regression repeats.
        suspects = sorted({f.split()[0] for f in failures})
        print(f"re-timing {', '.join(suspects)} to confirm {len(failures)} failure(s)")
        again = time_cases([c for c in cases if c.policy in suspects], args.rounds,
                           cache(synthetic_center))
        repeated = {f.split(":")[0] for f in check(again, baseline)}
        failures = [f for f in failures if f.split(":")[0] in repeated]
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
