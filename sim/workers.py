"""Worker processes for parallel replications and sweeps: capped, and never left behind.

An interrupted run (Ctrl-C, or SIGTERM, which ``ccsim`` turns into an exception) must
not leave workers computing for nobody: ``worker_pool`` terminates them when its block
ends with an exception, and the workers ignore Ctrl-C themselves so that only the
parent reports it, once.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager


def usable_cores() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def cap_jobs(jobs: int, flag: str | None = None) -> int:
    """``jobs`` capped at the usable cores: more processes than cores only cost memory.

    With ``flag`` (a command-line option) a capped value is reported on stderr.
    """
    cores = usable_cores()
    if jobs <= cores:
        return jobs
    if flag is not None:
        print(f"ccsim: warning: {flag} {jobs} is more than the {cores} cores this process may "
              f"use; using {cores}", file=sys.stderr)
    return cores


def _worker_signals() -> None:
    # Forked workers inherit the parent's handlers: Ctrl-C reaches the whole process
    # group, and only the parent should react to it; SIGTERM (sent by ``_terminate``)
    # must end a worker at once, not raise in it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def worker_pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``jobs`` workers; if the block raises (a failed task, Ctrl-C,
    SIGTERM), pending tasks are cancelled and the workers terminated before re-raising."""
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_signals)
    try:
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    # ``shutdown`` alone would wait for (or, with wait=False, abandon) running tasks;
    # Python 3.14 has ``terminate_workers``, earlier versions only the private table.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()
