"""Sweep executors: speed-up of 2 local processes, and Dask's overhead per run.

1. 40 runs (a 10-point grid x 2 policies x 2 replications, each run about
   ``--seconds`` long) are swept serially (``jobs=1``) and with 2 processes,
   alternately, ``--rounds`` times in this one process; the ratio of the
   fastest times is printed (target: <= 0.6).
2. Runs of about one second are swept on a Dask ``LocalCluster`` of 2
   single-threaded worker processes. Efficiency is the serial work divided by
   (workers x wall time), measured both through an already running scheduler
   (``--scheduler``: overhead per run only) and with ``--executor dask``
   (cluster start-up included). Target: >= 0.8 for one-second runs.

The machine is shared, so figures vary from one run to the next: repeat when
another job was busy. Every sweep writes to a fresh temporary directory.

Run:  python tests/benchmarks/bench_sweep.py [--rounds K] [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sim.model.scenario import scenario_from_dict  # noqa: E402
from sim.analysis.sweep import load_sweep, run_sweep  # noqa: E402

# About 270,000 contacts a second go through the engine on this model (README),
# so duration scales a run's length: 100 h x 1,000/h is about 0.4 s.
RATE_PER_H = 1000.0


def _sweep_file(folder: Path, hours: float, points: int, name: str) -> Path:
    text = f"""\
name: {name}
run: {{duration: {hours:g}h, warmup: 1h, replications: 2, seed: 3}}
contact_types:
  calls:
    arrivals: {{rate: {RATE_PER_H:g}/h}}
    handle_time: {{dist: exponential, mean: 3min}}
    patience: {{dist: exponential, mean: 3min}}
agents:
  team: {{count: 52, skills: [calls]}}
routing: {{policy: fcfs}}
sweep:
  grid:
    agents.team.count: {{from: 48, to: {48 + points - 1}, step: 1}}
  policies: [fcfs, priority]
"""
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def _hours_for(seconds: float) -> float:
    """Run length (hours) whose replication takes about ``seconds`` here."""
    probe = 20.0
    from sim.kernel.kernel import Simulation

    scenario = scenario_from_dict({
        "name": "probe", "run": {"duration": f"{probe}h", "warmup": "1h", "seed": 3},
        "contact_types": {"calls": {"arrivals": {"rate": f"{RATE_PER_H}/h"},
                                    "handle_time": {"dist": "exponential", "mean": "3min"},
                                    "patience": {"dist": "exponential", "mean": "3min"}}},
        "agents": {"team": {"count": 52, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"}})
    start = time.perf_counter()
    Simulation(scenario, "fcfs", 0).run()
    return probe * seconds / (time.perf_counter() - start)


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _worker_cpu() -> float:
    """CPU seconds of the calling Dask worker process (run on each worker)."""
    times = os.times()
    return times.user + times.system


CPU: dict[str, list[float]] = {}
"""CPU seconds of each timed sweep, by label: the work done, whatever else ran."""


def _timed(sweep_path: Path, folder: Path, label: str = "", **options: object) -> float:
    sweep = load_sweep(sweep_path)
    with tempfile.TemporaryDirectory(dir=folder) as results:
        cpu = _cpu_seconds()
        start = time.perf_counter()
        outcome = run_sweep(sweep, results, progress=False, **options)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        CPU.setdefault(label, []).append(_cpu_seconds() - cpu)
    assert outcome.executed == len(sweep.units())
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternations serial / 2 jobs")
    parser.add_argument("--seconds", type=float, default=0.4, help="length of one run (part 1)")
    parser.add_argument("--dask-runs", type=int, default=16, help="one-second runs (part 2)")
    args = parser.parse_args()
    print("load average before: {:.2f} {:.2f} {:.2f} (2 idle cores: below 1)".format(
        *os.getloadavg()))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        hours = _hours_for(args.seconds)
        forty = _sweep_file(folder, hours, 10, "forty")
        serial, parallel = [], []
        for _ in range(args.rounds):
            serial.append(_timed(forty, folder, "serial", jobs=1))
            parallel.append(_timed(forty, folder, "2 jobs", jobs=2))
        ratio = min(parallel) / min(serial)
        print(f"40 runs of ~{args.seconds:g} s: serial {min(serial):.2f} s, 2 processes "
              f"{min(parallel):.2f} s (all: serial {', '.join(f'{t:.2f}' for t in serial)}; "
              f"2 jobs {', '.join(f'{t:.2f}' for t in parallel)})")
        print(f"ratio 2 processes / serial: {ratio:.3f} (target <= 0.6)")
        print("CPU seconds per sweep (work done, unaffected by other load): serial "
              f"{min(CPU['serial']):.2f}, 2 processes {min(CPU['2 jobs']):.2f}; if the "
              "machine were idle the ratio would be about "
              f"{min(CPU['2 jobs']) / 2 / min(CPU['serial']):.3f}")

        from distributed import Client, LocalCluster

        one_second = _sweep_file(folder, _hours_for(1.0), args.dask_runs // 4, "one-second")
        units = len(load_sweep(one_second).units())
        work = _timed(one_second, folder, "dask serial", jobs=1)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            before = sum(client.run(_worker_cpu).values())
            through_scheduler = _timed(one_second, folder, "dask",
                                       scheduler=cluster.scheduler_address)
            worker_cpu = sum(client.run(_worker_cpu).values()) - before
        with_startup = _timed(one_second, folder, executor="dask", jobs=2)
        print(f"{units} runs of ~{work / units:.2f} s: serial {work:.2f} s; Dask 2 workers via "
              f"running scheduler {through_scheduler:.2f} s, with LocalCluster start-up "
              f"{with_startup:.2f} s")
        print(f"Dask efficiency (serial / (2 x wall)): {work / (2 * through_scheduler):.3f} "
              f"per-run overhead only, {work / (2 * with_startup):.3f} with start-up "
              "(target >= 0.8)")
        # CPU of the workers plus this process (scheduler, client, result files).
        dask_cpu = worker_cpu + min(CPU["dask"])
        print(f"CPU seconds: serial {min(CPU['dask serial']):.2f}, Dask {dask_cpu:.2f} "
              f"(workers {worker_cpu:.2f}); efficiency if the machine were idle about "
              f"{min(CPU['dask serial']) / dask_cpu:.3f}")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
