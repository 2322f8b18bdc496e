"""What a worker does: run a chunk of runs and return their rows (it never writes results).

A chunk carries the sweep's input files as a :class:`Bundle` (their bytes), so a worker needs no
shared file system: the first chunk a worker sees unpacks the bundle into a private temporary
directory and parses the scenario once; every run then applies its overrides to that parsed
document in memory (:func:`sim.scenario.load.scenario_from_document`).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.paths import inside

__all__ = ["DIE_ONCE_ENV", "OWNER_ENV", "Bundle", "ChunkJob", "owned_temp", "run_chunk", "run_one", "watch_coordinator",
           "workers_ready"]

DIE_ONCE_ENV = "SAFEHAVEN_SWEEP_TEST_DIE_ONCE"
"""Test hook: ``RUN_ID:FLAGFILE`` makes the worker process that is about to run RUN_ID exit at once
(``os._exit``), the first time only (FLAGFILE records that it happened). Never set it otherwise."""


@dataclass(frozen=True)
class Bundle:
    """The input files of a sweep, by path relative to their common folder.

    Attributes
    ----------
    files : ((relative path, bytes), ...), the scenario first.
    scenario : relative path of the scenario file.
    display : the scenario's name in messages (as the user gave it).
    """

    files: tuple[tuple[str, bytes], ...]
    scenario: str
    display: str

    @property
    def key(self) -> str:
        h = hashlib.sha256()
        for rel, data in self.files:
            h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()


@dataclass(frozen=True)
class ChunkJob:
    """A chunk of runs: ``runs`` is ((run_id, overrides), ...).

    ``die_once`` carries the coordinator's :data:`DIE_ONCE_ENV` (workers forked earlier, or on
    another machine, do not see its environment). ``crn_replicates``, when set, is the sweep's
    replicates under common random numbers: run *r* then draws from spawn key ``r % crn_replicates``
    (its replicate) instead of *r*. ``batch``, when set (``{"specs": [...]}``, the varied fields), runs
    the chunk in batch mode (:func:`sim.sweep.batch.run_batch_chunk`)."""

    bundle: Bundle
    root_seed: int
    runs: tuple[tuple[int, tuple[str, ...]], ...]
    die_once: str | None = None
    crn_replicates: int | None = None
    batch: dict | None = None

    def spawn_key(self, run_id: int) -> int:
        """The spawn key of run *run_id*'s generator (the design's ``spawn_key`` column)."""
        return run_id % self.crn_replicates if self.crn_replicates else run_id


_lock = threading.Lock()
_docs: dict[str, Any] = {}
_dirs: list[str] = []
_watching = False


def _cleanup() -> None:
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)


def _document(bundle: Bundle):
    """The parsed scenario document of *bundle*, unpacked and parsed once per process."""
    key = bundle.key
    with _lock:
        doc = _docs.get(key)
        if doc is None:
            from sim.scenario.yamlio import load_yaml

            if not _dirs:
                atexit.register(_cleanup)
            owner = os.environ.get(OWNER_ENV, f"{socket.gethostname()}:{os.getpid()}")
            root = tempfile.mkdtemp(prefix=f"safehaven-sweep-{owner.rpartition(':')[2]}-")
            _dirs.append(root)
            _watch_owner(owner)
            for rel, data in bundle.files:
                # a bundle may come from a tampered sweep directory: never write outside root
                target = inside(root, rel, display=bundle.display, what="input file")
                target.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
            doc = _docs[key] = load_yaml(Path(root, bundle.scenario), display=bundle.display)
        return doc


OWNER_ENV = "SAFEHAVEN_SWEEP_OWNER"
"""``HOST:PID`` of the coordinating process, set by :func:`owned_temp` for the workers it starts."""


def _watch_owner(owner: str) -> None:
    """In a worker process, exit when the coordinator is gone (a SIGKILL gives it no chance to stop us)."""
    import multiprocessing

    global _watching
    host, _, pid = owner.rpartition(":")
    if _watching or multiprocessing.parent_process() is None or host != socket.gethostname() or not pid.isdigit():
        return  # watched already, the coordinator itself, or a worker on another machine (Dask stops those)
    _watching = True

    def watch():
        while True:
            time.sleep(1.0)
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                os._exit(1)  # the results of this chunk have no one to go to
            except PermissionError:
                pass

    threading.Thread(target=watch, name="safehaven-owner-watch", daemon=True).start()


def watch_coordinator() -> None:
    """A pool worker's initializer: exit when the coordinator named by :data:`OWNER_ENV` is gone."""
    owner = os.environ.get(OWNER_ENV)
    if owner:
        _watch_owner(owner)


def _dead_owner_dirs() -> list[Path]:
    """Unpacked inputs of workers whose coordinator no longer runs."""
    out = []
    for d in Path(tempfile.gettempdir()).glob("safehaven-sweep-*-*"):
        pid = d.name.split("-")[2]
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                out.append(d)
            except PermissionError:
                pass
    return out


@contextlib.contextmanager
def owned_temp():
    """Around a coordinator's executor: its workers' unpacked inputs are named after it and removed
    when it is done; those of coordinators killed earlier are removed first."""
    previous = os.environ.get(OWNER_ENV)
    os.environ[OWNER_ENV] = f"{socket.gethostname()}:{os.getpid()}"
    for d in _dead_owner_dirs():
        shutil.rmtree(d, ignore_errors=True)
    try:
        yield
    finally:
        for d in Path(tempfile.gettempdir()).glob(f"safehaven-sweep-{os.getpid()}-*"):
            shutil.rmtree(d, ignore_errors=True)
        with _lock:  # documents parsed here (serial executor) pointed into those folders
            _docs.clear()
            _dirs.clear()
        if previous is None:
            os.environ.pop(OWNER_ENV, None)
        else:
            os.environ[OWNER_ENV] = previous


def _maybe_die(run_id: int, hook: str | None) -> None:
    if not hook:
        return
    import multiprocessing

    target, _, flag = hook.partition(":")
    if int(target) != run_id or multiprocessing.parent_process() is None:
        return
    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os._exit(70)


def run_one(doc, root_seed: int, run_id: int, overrides: tuple[str, ...] | list[str],
            die_once: str | None = None, spawn_key: int | None = None) -> dict[str, Any]:
    """Run one run of a sweep and return its row (status, error and metrics; never raises SimError)."""
    import numpy as np

    from sim.engine import simulate
    from sim.errors import InputError, SimError
    from sim.scenario.load import scenario_from_document
    from sim.sweep.metrics import failed_row, metrics_row

    _maybe_die(run_id, die_once)
    row: dict[str, Any] = {"run_id": run_id}
    try:
        loaded = scenario_from_document(doc, list(overrides))
        key = run_id if spawn_key is None else spawn_key
        result = simulate(loaded, np.random.SeedSequence(root_seed, spawn_key=(key,)))
    except InputError as exc:
        return row | {"status": "failed", "error_kind": "input", "error": str(exc)} | failed_row()
    except SimError as exc:
        return row | {"status": "failed", "error_kind": "simulation", "error": str(exc)} | failed_row()
    except Exception as exc:  # a defect hit by one parameter set must not stop a million-run sweep
        return row | {"status": "failed", "error_kind": "internal",
                      "error": f"{type(exc).__name__}: {exc}"} | failed_row()
    ok = result.status == "ok"
    row |= {"status": "ok" if ok else "failed", "error_kind": None if ok else "solver",
            "error": None if ok else (result.message or "the run failed")}
    return row | metrics_row(result.summary)


def run_chunk(job: ChunkJob) -> list[dict[str, Any]]:
    """Run every run of *job*, in order; one row each."""
    doc = _document(job.bundle)
    if job.batch is not None and len(job.runs) > 1:
        from sim.sweep.batch import run_batch_chunk

        return run_batch_chunk(job, doc, run_one, _maybe_die)
    return [run_one(doc, job.root_seed, run_id, overrides, job.die_once, job.spawn_key(run_id))
            for run_id, overrides in job.runs]


def workers_ready() -> bool:
    """A task that does nothing: the coordinator's proof that worker processes start."""
    return True
