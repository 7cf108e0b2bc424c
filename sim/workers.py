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
import threading
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


_HELD = {signal.SIGINT, signal.SIGTERM}
"""Signals held while the pool forks its workers (``_start_workers``)."""


def _worker_signals() -> None:
    # Forked workers inherit the parent's handlers: Ctrl-C reaches the whole process
    # group, and only the parent should react to it; SIGTERM (sent by ``_terminate``)
    # must end a worker at once, not raise in it. They also inherit the mask that held
    # both while they were forked: a SIGTERM that came meanwhile ends the worker now.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)


@contextmanager
def worker_pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``jobs`` workers; if the block raises (a failed task, Ctrl-C,
    SIGTERM), pending tasks are cancelled and the workers terminated before re-raising."""
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_signals)
    try:
        _start_workers(pool)
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


def _start_workers(pool: ProcessPoolExecutor) -> None:
    """Start the workers now, with Ctrl-C and SIGTERM held until they are forked.

    A signal whose Python handler runs while the parent is in its after-fork hooks
    (logging releases its locks there) raises inside a hook whose exceptions Python
    ignores: the interrupt was lost and the run went on to the end. So while the pool
    forks (the ``fork`` start method forks every worker at the first task), the main
    thread blocks both signals and a handler that only notes them covers those that
    another thread (a progress bar's monitor) receives; afterwards the first one noted is
    raised again, in ordinary code. Only the main thread may change handlers, and only
    where signal masks exist; elsewhere the workers start as they are.
    """
    if threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "pthread_sigmask"):
        pool.submit(int).result()
        return
    noted: list[int] = []
    handlers = {number: signal.signal(number, lambda number, _: noted.append(number))
                for number in _HELD}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        pool.submit(int).result()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # held ones are noted now
        for number, handler in handlers.items():
            signal.signal(number, handler)
        if noted:
            signal.raise_signal(noted[0])


def _terminate(pool: ProcessPoolExecutor) -> None:
    # ``shutdown`` alone would wait for (or, with wait=False, abandon) running tasks;
    # Python 3.14 has ``terminate_workers``, earlier versions only the private table.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()
