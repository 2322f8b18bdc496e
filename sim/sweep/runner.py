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
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem, UsageError
from sim.paths import check_output, recover_directory
from sim.sweep.design import Design, Spec, design_from_settings, make_design, overrides_for
from sim.sweep.store import PART_ROWS, PART_SECONDS, RowBlock, SweepStore
from sim.sweep.worker import DIE_ONCE_ENV, Bundle, ChunkJob, owned_temp
from sim.units import format_duration

__all__ = ["SweepReport", "params_of", "rerun", "resume_sweep", "run_sweep"]

FORMAT = 1
ENGINES = ("auto", "batch", "single")
"""``--engine``: ``auto`` chooses batch mode where it reproduces the ordinary runs (sim.sweep.batch),
``batch`` insists on it (an error when it cannot), ``single`` runs every run alone."""
BATCH_CHUNK = 8192
"""Runs per chunk in batch mode (one array per chunk; each chunk also runs its first run alone)."""
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
    in_batch : of the runs executed now, how many batch mode computed (the others ran alone).
    seconds : wall time of the execution [s].
    """

    directory: Path
    n_runs: int
    ran: int = 0
    failed: int = 0
    skipped: int = 0
    in_batch: int = 0
    seconds: float = 0.0
    executor: str = ""
    workers: int = 0
    retried: int = 0
    peak_in_flight: int = 0
    engine: str = "single"
    notes: list[str] = field(default_factory=list)

    @property
    def runs_per_second(self) -> float:
        return self.ran / self.seconds if self.seconds > 0 else math.nan


# -- planning -----------------------------------------------------------------------------------
def _bundle(loaded: list, display: str) -> Bundle:
    """Every file read by any of the *loaded* scenarios (the base first): a design that varies a
    procedure or station file among copies needs each copy in the bundle."""
    paths = list(dict.fromkeys(p for one in loaded for p in one.files.values()))
    root = Path(os.path.commonpath([p.parent for p in paths]))
    files = tuple((p.relative_to(root).as_posix(), p.read_bytes()) for p in paths)
    return Bundle(files, loaded[0].files["scenario"].relative_to(root).as_posix(), display)


def _meta(design: Design, bundle: Bundle, scenario: str) -> dict[str, Any]:
    from sim.version import __version__

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


def params_of(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The varied fields of a stored sweep, in ``--vary`` order (``sweep.json`` sorts its keys)."""
    order = [s["path"] for s in meta["settings"]["specs"]]
    return {path: meta["params"][path] for path in order}


def _params(design_columns: dict[str, list[Any]], specs: list[Spec], run_id: int) -> list[Any]:
    return [design_columns[s.path][run_id] for s in specs]


MAX_CHECKED_POINTS = 256
"""Designs with at most this many distinct points are loaded point by point before the sweep starts."""


def _check_units(specs: list[Spec]) -> None:
    """A number without a unit for a quantity field is refused, as in files it must carry its unit."""
    from sim.scenario.paths import quantity_kinds
    from sim.units import KINDS

    for s in specs:
        if s.unit or not s.numeric:
            continue
        kinds = sorted(k for k in quantity_kinds(s.path) if KINDS[k].si_unit)
        if kinds:
            si = KINDS[kinds[0]].si_unit.replace("**", "^")
            raise UsageError(f"--vary {s.path}: a {' or '.join(kinds)} needs its unit after the spec, e.g. "
                             f"'{_spec_text(s)} {si}' for SI; a bare number is never taken as a unit")


def _spec_text(s: Spec) -> str:
    if s.kind == "list":
        return "[" + ", ".join(map(str, s.args)) + "]"
    return f"{s.kind}({', '.join(f'{a:g}' for a in s.args)})"


def _check_design(scenario: Path, design: Design) -> list:
    """Load the scenario with the design's values before any run, so a value out of a field's range
    stops the sweep before it starts; returns the loaded variants (for the files they read).

    Every value of every discrete spec and the smallest and largest value drawn for each
    continuous spec are each loaded together with the first point's other values (a field's
    range is a bound on its own value); a design of at most :data:`MAX_CHECKED_POINTS` distinct
    points is also loaded point by point.
    """
    from sim.scenario.load import scenario_from_document
    from sim.scenario.yamlio import load_yaml

    doc = load_yaml(scenario)
    specs, cols = design.specs, design.columns
    first = _params(cols, specs, 0)
    points = list(dict.fromkeys(tuple(_params(cols, specs, r)) for r in range(0, design.n_runs, design.replicates)))
    trials: list[tuple[Any, ...]] = [tuple(first)]
    for j, s in enumerate(specs):
        column = cols[s.path]
        if s.discrete or s.column_type != "float":
            values = list(dict.fromkeys(column))
        else:
            values = [min(column), max(column)]
        trials += [(*first[:j], v, *first[j + 1:]) for v in values]
    if len(points) <= MAX_CHECKED_POINTS:
        trials += points
    loaded, problems = [], []
    for values in dict.fromkeys(trials):
        overrides = overrides_for(specs, list(values))
        try:
            loaded.append(scenario_from_document(doc, overrides))
        except InputError as exc:
            problems += [*exc.problems, Problem(str(scenario), 0, "",
                         f"the sweep's design holds values that do not load ({'; '.join(overrides)}); "
                         f"nothing was run or written")]
            break
    if problems:
        raise InputError(problems)
    return loaded


def choose_engine(engine: str, loaded, specs: list[Spec]) -> dict[str, str]:
    """The engine of a sweep's runs, and why (the ``engine`` entry of sweep.json).

    Raises
    ------
    UsageError
        For an unknown *engine*, or ``batch`` when batch mode cannot reproduce these runs.
    """
    from sim.sweep.batch import ineligible, manifest

    if engine not in ENGINES:
        raise UsageError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if engine == "single":
        return manifest("single runs asked for (--engine single, or engine: single in a sweep file)")
    why = ineligible(loaded, [s.path for s in specs])
    if why is not None and engine == "batch":
        raise UsageError(f"--engine batch: this sweep cannot run in batch mode: {why}")
    return manifest(why)


def engine_note(info: dict[str, str], n: int) -> str:
    """The line a sweep prints about its engine."""
    # batch mode's module is imported when a sweep runs, not at start-up
    from sim.sweep.batch import BLOCK

    if info["mode"] == "batch":
        return (f"engine: batch mode, the {n} runs to do integrated together in arrays of up to {BLOCK} "
                f"({info['reason']}); --engine single runs them one by one")
    return f"engine: single runs, one by one ({info['reason']})"


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
              n: int | None = None, replicates: int = 1, seed: int | None = None, crn: bool = False,
              executor: str = "process", workers: int | None = None, dask: str | None = None,
              chunk_size: int | None = None, progress: bool = False, force: bool = False,
              on_start: Callable[[Design], None] | None = None, engine: str = "auto") -> SweepReport:
    """Plan a sweep, write its design, and run it (or continue or grow it, if *out* holds it).

    Everything is checked before anything is written: the specs (a quantity needs its unit), every
    value of the design (loaded as a run would load it), the options and the executor (its workers
    must start). Running again into the same *out* with a larger *n* (random, sobol, lhs designs)
    grows the sweep: the runs done are kept and only the new points run.

    Parameters
    ----------
    scenario : path
        The base scenario.
    specs : list of Spec
        The varied fields (:func:`sim.sweep.design.parse_vary`).
    out : path
        The sweep directory.
    design, n, replicates, seed, crn :
        See :func:`sim.sweep.design.make_design`; *seed* defaults to the scenario's seed.
    executor, workers, dask :
        See :func:`sim.sweep.executors.make_executor`.
    chunk_size : int, optional
        Runs per chunk; default: sized so a chunk lasts about :data:`TARGET_CHUNK_SECONDS`.
    force : bool
        Replace a different sweep already in *out* (never a directory that is not a sweep).
    engine : {"auto", "batch", "single"}
        ``auto`` integrates the runs together as one array where that reproduces the ordinary
        runs (atmosphere-only scenarios varying leak sizes: :mod:`sim.sweep.batch`), else runs them
        one by one; the choice and its reason go to ``sweep.json`` (``engine``) and the report.

    Raises
    ------
    InputError
        If the scenario, or any value of the design, does not load.
    UsageError
        For bad settings, or when *out* holds a different sweep (without *force*), or is not a sweep.
    """
    from sim.scenario.load import load_scenario
    from sim.sweep.executors import make_executor

    scenario = Path(scenario)
    if replicates < 1:
        raise UsageError(f"--replicates must be >= 1, got {replicates}")
    if chunk_size is not None and chunk_size < 1:
        raise UsageError(f"--chunk-size must be >= 1, got {chunk_size}")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    check_output(out, inputs=[scenario])
    recover_directory(Path(out))  # a creation killed before its rename
    loaded = load_scenario(scenario)
    root_seed = loaded.scenario.seed if seed is None else int(seed)
    _check_units(specs)
    store = SweepStore(out)
    stored = _stored_meta(store)
    d = make_design(specs, design, n, replicates, root_seed, crn=crn,
                    blocks=_grown_blocks(stored, design, n, replicates, root_seed, specs))
    variants = _check_design(scenario, d)
    bundle = _bundle([loaded, *variants], str(scenario))
    check_output(out, inputs=[p for v in (loaded, *variants) for p in v.files.values()])
    meta = _meta(d, bundle, str(scenario))
    meta["engine"] = choose_engine(engine, variants[0], d.specs)
    report_notes, action = [], "create"
    if stored is not None:
        diffs = _differences(stored, meta)
        grown = not diffs or _is_growth(stored, meta)
        if not diffs:
            action = "continue"
            report_notes.append("the same sweep was already here: continuing it")
        elif grown:
            action = "grow"
            report_notes.append(f"the sweep grows from {stored['settings']['n_points']} to {d.n_points} points: "
                                f"the {stored['n_runs']} runs already planned are kept")
        elif not force:
            raise UsageError(f"{out} holds a different sweep ({'; '.join(diffs)}); choose another --out, "
                             f"or pass --force to replace it")
        else:
            action = "replace"
    elif store.root.exists() and any(store.root.iterdir()):
        what = "a run directory" if (store.root / "summary.json").exists() else "not a sweep directory"
        raise UsageError(f"{out} exists and is {what}; --force replaces only a sweep; choose another --out")
    with owned_temp(), make_executor(executor, workers, dask) as ex:  # its workers start before anything is written
        if action == "replace":
            _remove_sweep(store)
        if action in ("create", "replace"):
            store.create(meta, d.columns, bundle.files)
        elif action == "grow":
            store.grow(meta, d.columns)
        if on_start is not None:
            on_start(d)
        report = _execute(store, d.specs, d.columns, bundle, root_seed, ex, chunk_size, progress, d.crn,
                          d.replicates, meta["engine"])
    report.notes = report_notes + report.notes
    return report


def _stored_meta(store: SweepStore) -> dict | None:
    return store.meta() if store.exists() else None


def _grown_blocks(stored: dict | None, design: str, n: int | None, replicates: int, root_seed: int,
                  specs: list[Spec]) -> list[int] | None:
    """The Latin hypercube blocks of a sweep that grows an lhs sweep stored in the same place."""
    if design != "lhs" or stored is None or n is None:
        return None
    st = stored["settings"]
    same = (st["design"] == "lhs" and st["replicates"] == replicates and st["root_seed"] == root_seed
            and st["specs"] == [s.to_dict() for s in specs])
    old = st.get("blocks") or [st["n_points"]]
    if not same or n < sum(old):
        return None
    return old if n == sum(old) else [*old, n - sum(old)]


def _is_growth(old: dict, new: dict) -> bool:
    """True when *new* is *old* with more points of the same sampled design (the old runs unchanged)."""
    a, b = dict(old["settings"]), dict(new["settings"])
    if a["design"] not in ("random", "sobol", "lhs") or b["n_points"] <= a["n_points"]:
        return False
    if old.get("inputs", {}).get("sha256") != new.get("inputs", {}).get("sha256"):
        return False
    for k in ("n_points", "blocks"):
        a.pop(k, None)
        b.pop(k, None)
    return a == b


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
    try:
        specs = [Spec.from_dict(s) for s in meta["settings"]["specs"]]
    except (KeyError, TypeError, ValueError, AttributeError, UsageError) as exc:
        raise InputError(Problem(str(store.design_path), 0, "", f"sweep settings: a varied field cannot be "
                                                                 f"read ({type(exc).__name__}: {str(exc)[:100]})")) from None
    bundle = Bundle(files, meta["inputs"]["scenario"], meta["scenario"])
    columns = store.design().to_pydict()
    return meta, specs, bundle, columns


def resume_sweep(directory: str | Path, *, executor: str = "process", workers: int | None = None,
                 dask: str | None = None, chunk_size: int | None = None, progress: bool = False,
                 retry_failed: bool = False, engine: str = "auto") -> SweepReport:
    """Run the runs of a sweep that have no row yet (and, with *retry_failed*, the failed ones again).

    *engine* is chosen again as :func:`run_sweep` chooses it, from the stored inputs.

    Raises
    ------
    UsageError
        If *directory* is not a sweep, or its design is not the one its settings give now (the
        design recomputed from the stored settings differs from design.parquet), or its inputs were
        edited.
    """
    from sim.sweep.executors import make_executor

    if chunk_size is not None and chunk_size < 1:
        raise UsageError(f"--chunk-size must be >= 1, got {chunk_size}")
    recover_directory(Path(directory))
    store = SweepStore(directory)
    meta, specs, bundle, columns = _stored(store)
    st = meta["settings"]
    try:
        again = design_from_settings(st)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(Problem(str(store.design_path), 0, "", f"sweep settings cannot be read "
                                                                 f"({type(exc).__name__}: {str(exc)[:100]})")) from None
    if again.columns.keys() != columns.keys() or any(again.columns[k] != columns[k] for k in columns):
        bad = next((k for k in columns if again.columns.get(k) != columns[k]), "columns")
        raise UsageError(f"{directory}: the design computed from the sweep's settings differs from "
                         f"design.parquet (column {bad!r}; a different numpy/scipy?); refusing to resume")
    store.done_ids()  # a part that cannot be read is named before anything runs
    info = choose_engine(engine, _first_point(store, meta, specs, columns), specs)
    with owned_temp(), make_executor(executor, workers, dask) as ex:
        store.clean_temporary()
        if retry_failed:
            store.drop_failed()
        return _execute(store, specs, columns, bundle, st["root_seed"], ex, chunk_size, progress,
                        bool(st.get("crn")), st["replicates"], info)


def _first_point(store: SweepStore, meta: dict, specs: list[Spec], columns: dict[str, list[Any]]):
    """The stored scenario loaded with the design's first values."""
    from sim.scenario.load import load_scenario

    return load_scenario(store.root / "inputs" / meta["inputs"]["scenario"],
                         overrides_for(specs, _params(columns, specs, 0)))


# -- executing ----------------------------------------------------------------------------------
class _Chunker:
    """Pending run ids cut into chunks, sized from the throughput seen so far."""

    def __init__(self, pending: list[int], fixed: int | None, executor):
        if fixed is not None and fixed < 1:
            raise UsageError(f"--chunk-size must be >= 1, got {fixed}")
        self.pending, self.fixed, self.executor = pending, fixed, executor
        self.done = 0
        self.t0 = time.perf_counter()

    @property
    def workers(self) -> int:
        """The executor's parallelism now (a Dask cluster grows and shrinks during a sweep)."""
        return self.executor.workers

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
             root_seed: int, ex, chunk_size: int | None, progress: bool, crn: bool = False,
             replicates: int = 1, engine: dict[str, str] | None = None) -> SweepReport:
    n_runs = len(columns["run_id"])
    done = store.done_ids()
    pending = [r for r in columns["run_id"] if r not in done]
    report = SweepReport(store.root, n_runs, skipped=n_runs - len(pending))
    engine = engine or {"mode": "single", "reason": "not chosen"}
    if not pending:  # the record keeps naming the engines that produced the rows
        report.engine = store.meta().get("engine", {}).get("mode", "single")
        report.notes.append(f"nothing to run: all {n_runs} runs are done")
        return report
    report.engine = engine["mode"]
    report.notes.append(engine_note(engine, len(pending)))
    store.start_engine(engine)
    if progress:
        print(f"sweep: {report.notes[-1]}", file=sys.stderr, flush=True)
    report.executor, report.workers = ex.name, ex.workers
    batch = {"specs": [s.to_dict() for s in specs]} if engine["mode"] == "batch" else None
    if batch is not None and chunk_size is None:
        chunk_size = max(1, min(BATCH_CHUNK, math.ceil(len(pending) / (2 * ex.workers))))
    chunker = _Chunker(pending, chunk_size, ex)
    die_once = os.environ.get(DIE_ONCE_ENV) or None
    jobs = (ChunkJob(bundle, root_seed, tuple((r, tuple(overrides_for(specs, _params(columns, specs, r))))
                                              for r in ids), die_once, replicates if crn else None, batch)
            for ids in chunker)
    t0 = time.perf_counter()
    with _progress(progress, len(pending), n_runs - len(pending)) as bar, _Parts(store) as parts:
        for _job, rows in ex.map_unordered(jobs):
            parts.add(rows)
            failed = rows.failed if isinstance(rows, RowBlock) else sum(1 for r in rows if r["status"] != "ok")
            chunker.done += len(rows)
            report.ran += len(rows)
            report.in_batch += rows.n if isinstance(rows, RowBlock) else 0
            report.failed += failed
            bar(len(rows), failed)
    report.seconds = time.perf_counter() - t0
    store.finish_engine(report.ran, report.in_batch)
    if engine["mode"] == "batch":
        report.notes.append(f"batch mode computed {report.in_batch} of the {report.ran} runs; "
                            f"{report.ran - report.in_batch} ran alone (each chunk's checked first run, "
                            f"and any run that left the closed form)")
    report.retried = getattr(ex, "retried", 0)
    report.workers = max(report.workers, getattr(ex, "peak_workers", ex.workers))
    report.peak_in_flight = getattr(ex, "peak_in_flight", 0)
    return report


PART_SECONDS_ENV = "SAFEHAVEN_SWEEP_PART_SECONDS"
"""Environment variable replacing :data:`~sim.sweep.store.PART_SECONDS` (how often finished runs are saved)."""


def _part_seconds() -> float:
    text = os.environ.get(PART_SECONDS_ENV)
    if text is None:
        return PART_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(f"{PART_SECONDS_ENV}={text!r}: expected a number of seconds >= 0")
    return value


class _Parts:
    """Finished rows gathered into parts of bounded size (not one small file per chunk).

    A part is written when :data:`~sim.sweep.store.PART_ROWS` rows wait or the oldest waited
    :data:`~sim.sweep.store.PART_SECONDS`, and whatever waits when the sweep ends or is interrupted.
    """

    def __init__(self, store: SweepStore):
        self.store, self.blocks, self.count, self.since = store, [], 0, 0.0
        self.seconds = _part_seconds()

    def add(self, rows) -> None:
        """Keep a chunk's rows (a list of dict rows or a RowBlock) for the next part."""
        if not self.blocks:
            self.since = time.perf_counter()
        self.blocks.append(rows)
        self.count += len(rows)
        if self.count >= PART_ROWS or time.perf_counter() - self.since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if self.count:
            self.store.write_part(self.blocks)
        self.blocks, self.count = [], 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.flush()  # also on Ctrl-C: what finished is kept


PROGRESS_LINE_SECONDS = 10.0
"""Without a terminal, a progress line is printed at most this often [s] (and at the end)."""


class _progress:
    """Progress on stderr (runs done, runs/s, ETA, failures); a no-op when disabled.

    On a terminal a rich progress bar; otherwise (a batch job's log, a pipe) plain lines such as
    ``sweep: 1200/10000 runs (12.0 %), 35.2 runs/s, ETA 00:04:10, 0 failed`` every
    :data:`PROGRESS_LINE_SECONDS`, because a bar redrawn in place leaves such a log empty.
    """

    def __init__(self, enabled: bool, total: int, already: int):
        self.enabled, self.total, self.already = enabled, total, already
        self.failed = 0
        self.lines = False

    def __enter__(self):
        if not self.enabled:
            return lambda n, failed: None
        if not sys.stderr.isatty():
            return self._plain_lines()
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

    def _plain_lines(self):
        self.lines = True
        self.done, self.t0, self.last = 0, time.perf_counter(), -math.inf
        if self.already:
            print(f"sweep: {self.already} runs already done", file=sys.stderr, flush=True)

        def advance(n: int, failed: int) -> None:
            self.done += n
            self.failed += failed
            now = time.perf_counter()
            if now - self.last >= PROGRESS_LINE_SECONDS or self.done >= self.total:
                self.last = now
                print(self.line(now - self.t0), file=sys.stderr, flush=True)

        return advance

    def line(self, elapsed: float) -> str:
        """One progress line after *elapsed* [s]."""
        rate = self.done / elapsed if elapsed > 0 else math.nan
        left = self.total - self.done
        eta = format_duration(left / rate) if rate > 0 else "--:--:--"
        return (f"sweep: {self.done}/{self.total} runs ({100 * self.done / max(self.total, 1):.1f} %), "
                f"{rate:.1f} runs/s, ETA {eta}, {self.failed} failed")

    def __exit__(self, *exc):
        if self.enabled and not self.lines:
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
    result = simulate(loaded, np.random.SeedSequence(root_seed, spawn_key=(columns["spawn_key"][run_id],)))
    result.extra["overrides"] = overrides
    if out is not None:
        from sim.results.writers import write_run

        write_run(result, out, force=force)
    return result
