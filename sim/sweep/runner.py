"""The coordinating process: plan a sweep, hand chunks to an executor, write parts; resume; rerun.

Data flow: scenario + specs -> :func:`~sim.sweep.design.make_design` -> ``design.parquet`` (before any
run) -> chunks of pending runs -> executor -> rows -> one Parquet part per chunk. Only this module's
caller process writes; workers return rows.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem, UsageError
from sim.sweep.design import Design, Spec, make_design, overrides_for
from sim.sweep.store import SweepStore
from sim.sweep.worker import DIE_ONCE_ENV, Bundle, ChunkJob

__all__ = ["SweepReport", "rerun", "resume_sweep", "run_sweep"]

FORMAT = 1
TARGET_CHUNK_SECONDS = 5.0
"""Automatic chunks aim at this much work each [s]: long enough to hide the cost of a task,
short enough that a retry or an interruption loses little."""
MAX_CHUNK = 5000


@dataclass
class SweepReport:
    """What one invocation did.

    Attributes
    ----------
    directory : the sweep directory.
    n_runs : runs in the design.
    ran : runs executed now; failed : of those, how many failed.
    skipped : runs already done before (resume).
    seconds : wall time of the execution [s].
    """

    directory: Path
    n_runs: int
    ran: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    executor: str = ""
    workers: int = 0
    retried: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def runs_per_second(self) -> float:
        return self.ran / self.seconds if self.seconds > 0 else math.nan


# -- planning -----------------------------------------------------------------------------------
def _bundle(loaded, display: str) -> Bundle:
    paths = list(dict.fromkeys(loaded.files.values()))
    root = Path(os.path.commonpath([p.parent for p in paths]))
    files = tuple((p.relative_to(root).as_posix(), p.read_bytes()) for p in paths)
    return Bundle(files, loaded.files["scenario"].relative_to(root).as_posix(), display)


def _meta(design: Design, bundle: Bundle, scenario: str) -> dict[str, Any]:
    from sim import __version__

    return {
        "format": FORMAT,
        "program_version": __version__,
        "scenario": scenario,
        "inputs": {"scenario": bundle.scenario, "files": [rel for rel, _ in bundle.files],
                   "sha256": {rel: hashlib.sha256(data).hexdigest() for rel, data in bundle.files}},
        "settings": design.settings(),
        "n_runs": design.n_runs,
        "params": {s.path: {"unit": s.unit, "log": s.log_scale, "type": s.column_type} for s in design.specs},
    }


def _params(design_columns: dict[str, list[Any]], specs: list[Spec], run_id: int) -> list[Any]:
    return [design_columns[s.path][run_id] for s in specs]


def _check_first_run(bundle: Bundle, design: Design, scenario: Path) -> None:
    """Load the first run with its overrides, so a mistyped path stops the sweep before it starts."""
    from sim.scenario.load import scenario_from_document
    from sim.scenario.yamlio import load_yaml

    overrides = overrides_for(design.specs, _params(design.columns, design.specs, 0))
    try:
        scenario_from_document(load_yaml(scenario, display=bundle.display), overrides)
    except InputError as exc:
        raise InputError([*exc.problems, Problem(bundle.display, 0, "",
                          "the first run of the sweep does not load with its --vary values "
                          f"({'; '.join(overrides)})")]) from None


def _differences(old: dict, new: dict) -> list[str]:
    out = []
    if old.get("settings") != new.get("settings"):
        a, b = old.get("settings", {}), new.get("settings", {})
        out += [f"{k}: {a.get(k)!r} before, {b.get(k)!r} now" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if old.get("inputs", {}).get("sha256") != new.get("inputs", {}).get("sha256"):
        a, b = old["inputs"]["sha256"], new["inputs"]["sha256"]
        changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        out.append(f"input files changed since the sweep began: {', '.join(changed)}")
    return out


def run_sweep(scenario: str | Path, specs: list[Spec], out: str | Path, *, design: str = "grid",
              n: int | None = None, replicates: int = 1, seed: int | None = None,
              executor: str = "process", workers: int | None = None, dask: str | None = None,
              chunk_size: int | None = None, progress: bool = False, force: bool = False,
              on_start: Callable[[Design], None] | None = None) -> SweepReport:
    """Plan a sweep, write its design, and run it (or continue it, if *out* holds the same sweep).

    Parameters
    ----------
    scenario : path
        The base scenario.
    specs : list of Spec
        The varied fields (:func:`sim.sweep.design.parse_vary`).
    out : path
        The sweep directory.
    design, n, replicates, seed :
        See :func:`sim.sweep.design.make_design`; *seed* defaults to the scenario's seed.
    executor, workers, dask :
        See :func:`sim.sweep.executors.make_executor`.
    chunk_size : int, optional
        Runs per chunk; default: sized so a chunk lasts about :data:`TARGET_CHUNK_SECONDS`.
    force : bool
        Replace a different sweep already in *out*.

    Raises
    ------
    InputError
        If the scenario, or its first run with the varied values, does not load.
    UsageError
        For bad settings, or when *out* holds a different sweep (without *force*).
    """
    from sim.scenario.load import load_scenario

    scenario = Path(scenario)
    loaded = load_scenario(scenario)
    root_seed = loaded.scenario.seed if seed is None else int(seed)
    d = make_design(specs, design, n, replicates, root_seed)
    bundle = _bundle(loaded, str(scenario))
    meta = _meta(d, bundle, str(scenario))
    _check_first_run(bundle, d, scenario)
    store = SweepStore(out)
    report_notes = []
    if store.exists():
        diffs = _differences(store.meta(), meta)
        if diffs and not force:
            raise UsageError(f"{out} holds a different sweep ({'; '.join(diffs)}); choose another --out, "
                             f"or pass --force to replace it")
        if diffs:
            _remove_sweep(store)
        else:
            report_notes.append("the same sweep was already here: continuing it")
    elif store.root.exists() and any(store.root.iterdir()):
        if not force:
            raise UsageError(f"{out} exists and is not a sweep directory; choose another --out or pass --force")
        _remove_sweep(store)
    if not store.exists():
        store.create(meta, d.columns, bundle.files)
    if on_start is not None:
        on_start(d)
    report = _execute(store, d.specs, d.columns, bundle, root_seed, executor, workers, dask, chunk_size, progress)
    report.notes = report_notes + report.notes
    return report


def _remove_sweep(store: SweepStore) -> None:
    for name in ("design.parquet", "sweep.json"):
        (store.root / name).unlink(missing_ok=True)
    for name in ("parts", "inputs", "plots"):
        shutil.rmtree(store.root / name, ignore_errors=True)


def _stored(store: SweepStore) -> tuple[dict, list[Spec], Bundle, dict[str, list[Any]]]:
    meta = store.meta()
    if meta.get("format") != FORMAT:
        raise UsageError(f"{store.root}: sweep format {meta.get('format')} is not readable by this version")
    files = store.input_files()
    sums = {rel: hashlib.sha256(data).hexdigest() for rel, data in files}
    if sums != meta["inputs"]["sha256"]:
        changed = sorted(k for k in sums if sums[k] != meta["inputs"]["sha256"].get(k))
        raise UsageError(f"{store.root}: the stored inputs were changed since the sweep began "
                         f"({', '.join(changed)}); refusing to continue")
    specs = [Spec.from_dict(s) for s in meta["settings"]["specs"]]
    bundle = Bundle(files, meta["inputs"]["scenario"], meta["scenario"])
    columns = store.design().to_pydict()
    return meta, specs, bundle, columns


def resume_sweep(directory: str | Path, *, executor: str = "process", workers: int | None = None,
                 dask: str | None = None, chunk_size: int | None = None, progress: bool = False) -> SweepReport:
    """Run the runs of a sweep that have no row yet.

    Raises
    ------
    UsageError
        If *directory* is not a sweep, or its design is not the one its settings give now (the
        design recomputed from the stored settings differs from design.parquet), or its inputs were
        edited.
    """
    store = SweepStore(directory)
    meta, specs, bundle, columns = _stored(store)
    st = meta["settings"]
    again = make_design(specs, st["design"], None if st["design"] == "grid" else st["n_points"],
                        st["replicates"], st["root_seed"])
    if again.columns.keys() != columns.keys() or any(again.columns[k] != columns[k] for k in columns):
        bad = next((k for k in columns if again.columns.get(k) != columns[k]), "columns")
        raise UsageError(f"{directory}: the design computed from the sweep's settings differs from "
                         f"design.parquet (column {bad!r}; a different numpy/scipy?); refusing to resume")
    store.clean_temporary()
    return _execute(store, specs, columns, bundle, st["root_seed"], executor, workers, dask, chunk_size, progress)


# -- executing ----------------------------------------------------------------------------------
class _Chunker:
    """Pending run ids cut into chunks, sized from the throughput seen so far."""

    def __init__(self, pending: list[int], fixed: int | None, workers: int):
        if fixed is not None and fixed < 1:
            raise UsageError(f"--chunk-size must be >= 1, got {fixed}")
        self.pending, self.fixed, self.workers = pending, fixed, workers
        self.done = 0
        self.t0 = time.perf_counter()

    def size(self, remaining: int) -> int:
        if self.fixed is not None:
            return self.fixed
        if self.done == 0:
            return 2
        per_run = self.workers * (time.perf_counter() - self.t0) / self.done
        size = int(TARGET_CHUNK_SECONDS / max(per_run, 1e-6))
        balance = math.ceil(remaining / (2 * self.workers))
        return max(1, min(size, balance, MAX_CHUNK))

    def __iter__(self) -> Iterator[list[int]]:
        i = 0
        while i < len(self.pending):
            k = self.size(len(self.pending) - i)
            yield self.pending[i:i + k]
            i += k


def _execute(store: SweepStore, specs: list[Spec], columns: dict[str, list[Any]], bundle: Bundle,
             root_seed: int, executor: str, workers: int | None, dask: str | None,
             chunk_size: int | None, progress: bool) -> SweepReport:
    from sim.sweep.executors import make_executor

    n_runs = len(columns["run_id"])
    done = store.done_ids()
    pending = [r for r in columns["run_id"] if r not in done]
    report = SweepReport(store.root, n_runs, skipped=n_runs - len(pending))
    if not pending:
        return report
    with make_executor(executor, workers, dask) as ex:
        report.executor, report.workers = ex.name, ex.workers
        chunker = _Chunker(pending, chunk_size, ex.workers)
        die_once = os.environ.get(DIE_ONCE_ENV) or None
        jobs = (ChunkJob(bundle, root_seed, tuple((r, tuple(overrides_for(specs, _params(columns, specs, r))))
                                                  for r in ids), die_once) for ids in chunker)
        t0 = time.perf_counter()
        with _progress(progress, len(pending), n_runs - len(pending)) as bar:
            for _job, rows in ex.map_unordered(jobs):
                store.write_part(rows)
                failed = sum(1 for r in rows if r["status"] != "ok")
                chunker.done += len(rows)
                report.ran += len(rows)
                report.failed += failed
                bar(len(rows), failed)
        report.seconds = time.perf_counter() - t0
        report.retried = getattr(ex, "retried", 0)
    return report


class _progress:
    """A rich progress bar on stderr (runs done, runs/s, ETA, failures); a no-op when disabled."""

    def __init__(self, enabled: bool, total: int, already: int):
        self.enabled, self.total, self.already = enabled, total, already
        self.failed = 0

    def __enter__(self):
        if not self.enabled:
            return lambda n, failed: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Speed(ProgressColumn):
            def render(self, task):
                speed = task.finished_speed or task.speed
                return Text("  -- runs/s" if speed is None else f"{speed:6.1f} runs/s")

        self.bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), Speed(),
                            TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
                            TextColumn("[red]{task.fields[failed]} failed"),
                            console=Console(stderr=True), transient=False, speed_estimate_period=60)
        self.bar.__enter__()
        self.task = self.bar.add_task("runs", total=self.total, failed=0)
        if self.already:
            self.bar.console.print(f"{self.already} runs already done")

        def advance(n: int, failed: int) -> None:
            self.failed += failed
            self.bar.update(self.task, advance=n, failed=self.failed)

        return advance

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.__exit__(*exc)


# -- rerun --------------------------------------------------------------------------------------
def rerun(directory: str | Path, run_id: int, out: str | Path | None = None, *, force: bool = False):
    """Run one run of a sweep again, alone, from the sweep's stored inputs; write its run directory.

    Returns
    -------
    sim.engine.RunResult
        With ``extra["overrides"]`` the run's ``--set`` values.
    """
    import numpy as np

    from sim.engine import simulate
    from sim.scenario.load import load_scenario

    store = SweepStore(directory)
    meta, specs, _, columns = _stored(store)
    if not 0 <= run_id < len(columns["run_id"]):
        raise UsageError(f"no run {run_id} in {directory}: run ids go from 0 to {len(columns['run_id']) - 1}")
    if out is not None and Path(out).exists() and not force:
        raise UsageError(f"{out} exists; choose another --out or pass --force to replace it")
    overrides = overrides_for(specs, _params(columns, specs, run_id))
    loaded = load_scenario(store.root / "inputs" / meta["inputs"]["scenario"], overrides)
    root_seed = meta["settings"]["root_seed"]
    result = simulate(loaded, np.random.SeedSequence(root_seed, spawn_key=(run_id,)))
    result.extra["overrides"] = overrides
    if out is not None:
        from sim.results.writers import write_run

        write_run(result, out, force=force)
    return result
