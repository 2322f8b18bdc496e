"""Executors: where chunks run. One seam, three implementations.

Contract of an :class:`Executor`:

1. ``map_unordered(jobs)`` pulls :class:`~sim.sweep.worker.ChunkJob` objects lazily from the
   iterator *jobs*, keeps at most :attr:`Executor.max_in_flight` of them submitted, and yields
   ``(job, rows)`` in the coordinating process as each finishes (in any order).
2. Every run of every job comes back exactly once: a chunk whose worker died is retried
   (:data:`MAX_ATTEMPTS` times), then split into single runs, and a single run that keeps killing its
   worker comes back as a failed row (``error_kind`` ``worker``) instead of stopping the sweep.
3. :attr:`Executor.workers` is the parallelism, used to size chunks.
4. ``close()`` releases workers; executors are context managers.

Implementations, chosen by name from :data:`EXECUTORS`: ``serial`` (in this process, for
debugging), ``process`` (a local process pool, one worker per core by default; a pool broken by a
dead worker is recreated) and ``dask`` (a ``LocalCluster`` or an existing cluster).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from sim.errors import UsageError
from sim.sweep.worker import ChunkJob, run_chunk, watch_coordinator, workers_ready

__all__ = ["EXECUTORS", "MAX_ATTEMPTS", "DaskExecutor", "Executor", "ProcessExecutor", "SerialExecutor",
           "make_executor"]

MAX_ATTEMPTS = 3
"""Times a chunk is tried before it is split into single runs (and a single run before it fails)."""

# imported once in the forkserver, so a worker's first run does not import them (numpy.random: the
# run's generator, ~20 ms)
_PRELOAD = ["sim.sweep.worker", "sim.sweep.metrics", "sim.engine", "sim.scenario.load", "numpy.random"]


def _dead_rows(job: ChunkJob, why: str) -> list[dict[str, Any]]:
    from sim.sweep.metrics import failed_row

    return [{"run_id": run_id, "status": "failed", "error_kind": "worker", "error": why} | failed_row()
            for run_id, _ in job.runs]


def _split(job: ChunkJob) -> list[ChunkJob]:
    return [dataclasses.replace(job, runs=(run,)) for run in job.runs]


class Executor:
    """Base class; see the module docstring for the contract."""

    name = "base"

    def __init__(self, workers: int):
        self.workers = max(1, int(workers))

    @property
    def max_in_flight(self) -> int:
        """Chunks submitted at once: enough to keep every worker busy, few enough to bound memory."""
        return 2 * self.workers

    def map_unordered(self, jobs: Iterator[ChunkJob]) -> Iterator[tuple[ChunkJob, list[dict[str, Any]]]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SerialExecutor(Executor):
    """Every chunk in this process, in order (for debugging: breakpoints and tracebacks work)."""

    name = "serial"

    def __init__(self, workers: int = 1):
        super().__init__(1)

    def map_unordered(self, jobs):
        for job in jobs:
            yield job, run_chunk(job)


class _Retrying(Executor):
    """Bookkeeping shared by executors whose workers can die: attempts, splitting, giving up."""

    def __init__(self, workers: int):
        super().__init__(workers)
        self._attempts: dict[int, int] = {}
        self.retried = 0

    def _after_death(self, job: ChunkJob, retry: deque, why: str) -> list[dict[str, Any]] | None:
        """Queue *job* again after its worker died; rows to report if it is given up."""
        n = self._attempts.pop(id(job), 0) + 1
        self.retried += 1
        if n < MAX_ATTEMPTS:
            self._attempts[id(job)] = n
            retry.append(job)
        elif len(job.runs) > 1:
            retry.extend(_split(job))
        else:
            return _dead_rows(job, f"the worker died {n} times running this run ({why})")
        return None


class ProcessExecutor(_Retrying):
    """A local process pool (``concurrent.futures``), started through a forkserver.

    The forkserver imports the simulator once and forks workers from it, so starting (or
    re-starting) a pool is cheap, and the coordinator's threads (the progress bar) are never forked.
    """

    name = "process"

    def __init__(self, workers: int | None = None):
        super().__init__(workers or os.cpu_count() or 1)
        self._pool = self._new_pool()
        self._check_start()

    def _check_start(self) -> None:
        """Prove that worker processes start before any run is handed out (and recorded as failed).

        One probe per worker: the pool starts a process for each task that finds none idle, so
        every worker is started (and forked from the forkserver) now, not while the first chunks wait.
        """
        from concurrent.futures.process import BrokenProcessPool

        try:
            for probe in [self._pool.submit(workers_ready) for _ in range(self.workers)]:
                probe.result()
        except BrokenProcessPool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            raise UsageError(
                "the sweep's worker processes could not start. Called from a script, run_sweep must be "
                "under `if __name__ == \"__main__\":` (each worker process imports the script again, "
                "and without the guard starts the sweep again); or use executor=\"serial\"") from None

    def _new_pool(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        # each worker watches its coordinator from the start: a SIGKILLed coordinator leaves no worker
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=watch_coordinator)

    def map_unordered(self, jobs):
        from concurrent.futures import FIRST_COMPLETED, wait

        retry: deque[ChunkJob] = deque()
        in_flight: dict[Any, ChunkJob] = {}
        source = iter(jobs)
        exhausted = False
        while True:
            while len(in_flight) < self.max_in_flight:
                if retry:
                    job = retry.popleft()
                elif not exhausted:
                    job = next(source, None)
                    if job is None:
                        exhausted = True
                        continue
                else:
                    break
                in_flight[self._pool.submit(run_chunk, job)] = job
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                job = in_flight.pop(fut)
                died, rows = self._collect(fut, job, retry)
                broken |= died
                if rows is not None:
                    yield job, rows
            if broken:
                # Every other chunk of the broken pool fails too; the ones that finished first are kept.
                for fut, job in list(in_flight.items()):
                    _, rows = self._collect(fut, job, retry)
                    if rows is not None:
                        yield job, rows
                in_flight.clear()
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = self._new_pool()

    def _collect(self, fut, job, retry):
        """``(the pool broke, rows to hand on or None)`` for a finished future."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            rows = fut.result()
        except BrokenProcessPool:
            return True, self._after_death(job, retry, "process pool broken")
        self._attempts.pop(id(job), None)
        return False, rows

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_Retrying):
    """A Dask cluster: ``local`` starts a ``LocalCluster``; otherwise a scheduler address
    (``tcp://host:8786``) or a scheduler file (JSON written by ``dask scheduler --scheduler-file``).

    A worker that dies is replaced by the cluster and its task rescheduled; a task that kills
    workers repeatedly ends as ``KilledWorker`` and is split, then reported as failed rows.
    Tasks in flight follow the cluster: whenever a chunk comes back, the cluster's worker threads
    are counted again (at most once a second) and up to two chunks per thread are kept submitted,
    so workers that join mid-sweep get work and chunks are sized for them.
    """

    name = "dask"

    def __init__(self, address: str = "local", workers: int | None = None):
        try:
            import distributed
        except ImportError:
            raise UsageError("--dask needs Dask, an optional extra: pip install 'safehaven-sim[dask]'") from None
        import logging

        self._cluster = None
        if address == "local":
            self._cluster = distributed.LocalCluster(
                n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR)
            self.client = distributed.Client(self._cluster)
        elif os.path.isfile(address):
            self.client = distributed.Client(scheduler_file=address)
        elif address.endswith(".json"):
            raise UsageError(f"--dask {address}: no such scheduler file")
        else:
            try:
                self.client = distributed.Client(address, timeout="20s")
            except OSError as exc:
                raise UsageError(f"--dask {address}: cannot reach the scheduler: {exc}") from None
        nthreads = sum(self.client.nthreads().values())
        super().__init__(nthreads or workers or 1)
        self.peak_workers, self.peak_in_flight = self.workers, 0
        self._counted = time.monotonic()

    def _follow_cluster(self) -> None:
        """Take the cluster's size now (workers join and leave during a sweep), at most every second."""
        now = time.monotonic()
        if now - self._counted < 1.0:
            return
        self._counted = now
        nthreads = sum(self.client.nthreads().values())
        self.workers = max(1, nthreads)
        self.peak_workers = max(self.peak_workers, self.workers)

    def map_unordered(self, jobs):
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        retry: deque[ChunkJob] = deque()
        futures: dict[Any, ChunkJob] = {}
        source = iter(jobs)
        done_all = as_completed()

        def submit_more():
            self._follow_cluster()  # tasks in flight follow the cluster: 2 per worker thread now
            while len(futures) < self.max_in_flight:
                job = retry.popleft() if retry else next(source, None)
                if job is None:
                    return
                fut = self.client.submit(run_chunk, job, pure=False)
                futures[fut] = job
                done_all.add(fut)
                self.peak_in_flight = max(self.peak_in_flight, len(futures))

        submit_more()
        while futures:
            fut = next(done_all)
            job = futures.pop(fut)
            try:
                rows = fut.result()
            except (KilledWorker, FutureCancelledError) as exc:
                given_up = self._after_death(job, retry, type(exc).__name__)
                if given_up is not None:
                    yield job, given_up
            else:
                self._attempts.pop(id(job), None)
                yield job, rows
            fut.release()
            submit_more()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


EXECUTORS = {"serial": SerialExecutor, "process": ProcessExecutor, "dask": DaskExecutor}


def make_executor(name: str = "process", workers: int | None = None, dask: str | None = None) -> Executor:
    """The executor called *name* (``dask`` when a *dask* address is given)."""
    if dask is not None:
        return DaskExecutor(dask, workers)
    if name not in EXECUTORS or name == "dask":
        raise UsageError(f"unknown executor {name!r}; expected serial or process (or --dask local|ADDRESS)")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    return EXECUTORS[name](workers)
