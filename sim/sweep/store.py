"""A sweep directory: the design, the inputs, and the results as Parquet parts.

Layout of ``DIR``::

    inputs/            the scenario and every file it read, as they were when the sweep began
    design.parquet     one row per run (run_id, point, replicate, seed, spawn_key, the varied values);
                       the sweep's settings as JSON in the file's metadata (key ``safehaven.sweep``)
    sweep.json         the same settings, for people
    parts/part-*.parquet   results: run_id, status, error_kind, error, metrics; a part gathers the runs
                       finished within PART_SECONDS (at most PART_ROWS), in row groups of at
                       most ROW_GROUP_ROWS rows

Only the coordinating process writes. Every file is written under a temporary name, flushed to disk
and renamed into place, so a sweep killed at any instant leaves whole parts or none; a run is done
exactly when its row is in a part (a kill loses at most the last PART_SECONDS of finished runs,
which a resume runs again). :func:`load` joins the design with the parts.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError, Problem, UsageError
from sim.paths import inside, read_bytes, replace_directory, temporary_directory
from sim.results import artefacts
from sim.scenario.yamlio import MAX_BYTES

__all__ = ["META_KEY", "RowBlock", "SweepStore", "load"]

META_KEY = b"safehaven.sweep"
PART_ROWS = 10_000
"""The coordinator writes a part when this many finished runs are waiting (or PART_SECONDS passed)."""
PART_SECONDS = 30.0
"""... or when the oldest waiting run finished this long ago [s]: a killed sweep loses at most that."""
ROW_GROUP_ROWS = 10_000
"""Rows per Parquet row group in a part (bounded, so reading a few columns reads little)."""
_FIRST = ("status", "error_kind", "error")


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _column(name: str, values: list[Any], ints: bool):
    """An Arrow array whose type depends only on the kind of values, never on the chunking.

    Results hold no integer columns but ``run_id``: a count is a float, so a part where it is
    missing (NaN) has the same type as one where it is not.
    """
    import math

    import pyarrow as pa

    if name in ("run_id", "point", "replicate", "seed", "spawn_key"):
        return pa.array(values, pa.int64())
    if isinstance(values, np.ndarray):  # a RowBlock's column: floats or flags, none missing
        return pa.array(values, pa.bool_() if values.dtype.kind == "b" else pa.float64())
    # the common cases first, without the scans below (a million-run sweep writes ~10^8 values):
    # a column of floats alone, of flags alone or of texts alone is typed as the scans would type it
    kinds = {type(v) for v in values}
    if kinds == {float}:
        return pa.array(values, pa.float64())
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds == {str}:
        return pa.array(values, pa.string())
    present = [v for v in values if v is not None]
    if not present:
        return pa.nulls(len(values))
    if all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        if ints and len(present) == len(values) and all(isinstance(v, int) for v in present):
            return pa.array(values, pa.int64())
        return pa.array([math.nan if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str))
                     for v in values], pa.string())


class RowBlock:
    """Rows of many runs held as columns (batch mode returns its rows so: no dict per run).

    ``columns`` maps each column to a list of values or a NumPy array (float64 or bool, no missing
    value), all of one length; ``extra`` holds rows as dicts (runs computed one by one). It is a
    sequence of dict rows like any chunk's result, and the store writes its columns as they are,
    typed exactly as the same rows given one by one would be.
    """

    def __init__(self, columns: dict[str, Any], extra: list[dict[str, Any]] | None = None):
        self.columns = columns
        self.extra = list(extra or [])
        self.n = len(next(iter(columns.values()))) if columns else 0

    def __len__(self) -> int:
        return self.n + len(self.extra)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if i < len(self.extra):
            return self.extra[i]
        j = i - len(self.extra)
        return {k: (v[j].item() if isinstance(v, np.ndarray) else v[j]) for k, v in self.columns.items()}

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def failed(self) -> int:
        """Runs whose status is not ``ok``."""
        status = self.columns.get("status", [])
        return sum(1 for v in status if v != "ok") + sum(1 for r in self.extra if r["status"] != "ok")


def _merged(blocks: list) -> dict[str, Any]:
    """The columns of several blocks of rows (lists of dict rows or RowBlocks), in first-seen order.

    A column whose every block holds a NumPy array of one kind stays an array; any other is a list of
    the values, so the store types it exactly as it types rows given one by one.
    """
    parts: list[tuple[int, dict[str, Any]]] = []
    for block in blocks:
        if isinstance(block, RowBlock):
            if block.n:
                parts.append((block.n, block.columns))
            block = block.extra
        if block:
            names: dict[str, None] = {}
            for row in block:
                names.update(dict.fromkeys(row))
            parts.append((len(block), {k: [row.get(k) for row in block] for k in names}))
    order: dict[str, None] = {}
    for _, cols in parts:
        order.update(dict.fromkeys(cols))
    out = {}
    for name in order:
        pieces = [cols.get(name, [None] * n) for n, cols in parts]
        if all(isinstance(p, np.ndarray) for p in pieces) and len({p.dtype.kind for p in pieces}) == 1:
            out[name] = np.concatenate(pieces)
        else:
            out[name] = [v for p in pieces for v in (p.tolist() if isinstance(p, np.ndarray) else p)]
    return out


def _table(columns: dict[str, list[Any]], meta: dict | None = None, ints: bool = False):
    import pyarrow as pa

    table = pa.table({k: _column(k, v, ints) for k, v in columns.items()})
    if meta is not None:
        table = table.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})
    return table


def check_meta(meta, where: str) -> dict[str, Any]:
    """The sweep settings stored in design.parquet, refused unless shaped as Safehaven writes them."""
    def bad(message: str) -> InputError:
        return InputError(Problem(where, 0, "", f"sweep settings: {message}"))

    if not isinstance(meta, dict):
        raise bad("expected a JSON object")
    inputs = meta.get("inputs")
    if not isinstance(inputs, dict) or not isinstance(inputs.get("files"), list) or not inputs["files"]:
        raise bad("inputs.files must be a non-empty list of relative paths")
    if not all(isinstance(f, str) for f in inputs["files"]) or len(set(inputs["files"])) != len(inputs["files"]):
        raise bad("inputs.files must be distinct relative paths")
    if inputs.get("scenario") not in inputs["files"]:
        raise bad("inputs.scenario must be one of inputs.files")
    sums = inputs.get("sha256")
    if not isinstance(sums, dict) or set(sums) != set(inputs["files"]):
        raise bad("inputs.sha256 must give a digest for every input file")
    settings = meta.get("settings")
    if not isinstance(settings, dict) or not isinstance(settings.get("specs"), list):
        raise bad("settings.specs must be a list")
    seed = settings.get("root_seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise bad("settings.root_seed must be a whole number from 0 to 2**63-1")
    n = meta.get("n_runs")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise bad("n_runs must be a whole number >= 0")
    if not isinstance(meta.get("scenario"), str) or not isinstance(meta.get("params", {}), dict):
        raise bad("scenario must be text and params a mapping")
    engines = meta.get("engines", [])
    if not isinstance(engines, list) or len(engines) > 100_000 or not all(
            isinstance(e, dict) and isinstance(e.get("mode"), str) for e in engines):
        raise bad("engines must be a list of {mode, reason, runs, ...} records")
    return meta


class SweepStore:
    """Reading and writing one sweep directory (see the module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.design_path = self.root / "design.parquet"

    def exists(self) -> bool:
        return self.design_path.is_file()

    # -- creating ---------------------------------------------------------------------------
    def create(self, meta: dict[str, Any], design_columns: dict[str, list[Any]],
               files: tuple[tuple[str, bytes], ...]) -> None:
        """Write inputs/, design.parquet (before any run) and sweep.json."""
        import pyarrow.parquet as pq

        # a new sweep directory is built beside its place and renamed there whole, so a sweep killed
        # in its first instants leaves nothing that a new run or a resume would have to refuse
        fresh = not self.root.exists() or not any(self.root.iterdir())
        self.root.parent.mkdir(parents=True, exist_ok=True)
        root = temporary_directory(self.root) if fresh else self.root
        try:
            (root / "parts").mkdir(exist_ok=True)
            for rel, data in files:
                target = inside(root / "inputs", rel, display=str(self.root / "inputs"), what="input file")
                target.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write(target, lambda p, data=data: p.write_bytes(data))
            table = _table(design_columns, meta, ints=True)
            _atomic_write(root / "design.parquet", lambda p: pq.write_table(table, p))
            text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
            _atomic_write(root / "sweep.json", lambda p: p.write_text(text, encoding="utf-8"))
            if fresh:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(root, 0o777 & ~umask)
                if self.root.exists():
                    self.root.rmdir()  # empty: checked above
                replace_directory(root, self.root)
        except BaseException:
            if fresh:
                shutil.rmtree(root, ignore_errors=True)
            raise

    def grow(self, meta: dict[str, Any], design_columns: dict[str, list[Any]]) -> None:
        """Replace design.parquet and sweep.json by a larger design whose first rows are the stored
        ones (a sampled sweep given a larger *n*); the parts stay valid."""
        import pyarrow.parquet as pq

        meta = {**meta, "engines": self.meta().get("engines", [])}  # the rows already there keep their record
        old = self.design().to_pydict()
        n = len(old["run_id"])
        if any(design_columns[k][:n] != v for k, v in old.items()):
            raise UsageError(f"{self.root}: the larger design does not begin with the stored one; refusing to grow it")
        table = _table(design_columns, meta, ints=True)
        _atomic_write(self.design_path, lambda p: pq.write_table(table, p))
        text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
        _atomic_write(self.root / "sweep.json", lambda p: p.write_text(text, encoding="utf-8"))

    def start_engine(self, engine: dict[str, str]) -> None:
        """Record the engine of an invocation that is about to run rows.

        ``engine`` in sweep.json (and the design's settings) is the latest such engine; ``engines``
        lists every invocation that ran rows, in order, each with its counts once it has ended
        (:meth:`finish_engine`; an interrupted invocation has ``runs: null``). An invocation with
        nothing to run records nothing, so the record always names the engines that produced rows.
        """
        meta = self.meta()
        meta["engine"] = dict(engine)
        meta["engines"] = [*meta.get("engines", []), {**engine, "runs": None}]
        self._write_meta(meta)

    def finish_engine(self, runs: int, in_batch: int) -> None:
        """Counts of the invocation :meth:`start_engine` recorded: rows it wrote, and of them how
        many batch mode computed (the others ran alone: a chunk's checked first run, a run that
        left the closed form, a chunk whose check disagreed, or every run of a single-run sweep)."""
        meta = self.meta()
        if not meta.get("engines"):
            return
        meta["engines"][-1].update(runs=int(runs), in_batch=int(in_batch), alone=int(runs) - int(in_batch))
        self._write_meta(meta)

    def _write_meta(self, meta: dict[str, Any]) -> None:
        import pyarrow.parquet as pq

        table = self.design().replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})
        _atomic_write(self.design_path, lambda p: pq.write_table(table, p))
        text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
        _atomic_write(self.root / "sweep.json", lambda p: p.write_text(text, encoding="utf-8"))

    def drop_failed(self) -> int:
        """Remove the failed rows from the parts (each part rewritten atomically, or removed when
        nothing is left), so that the next execution runs them again; returns how many."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        dropped = 0
        for path in self.part_files():
            table = self._read_part(path)
            ok = pc.equal(table.column("status"), "ok")
            keep = table.filter(pc.fill_null(ok, False))
            if keep.num_rows == table.num_rows:
                continue
            dropped += table.num_rows - keep.num_rows
            if keep.num_rows:
                _atomic_write(path, lambda p, keep=keep: pq.write_table(keep, p))
            else:
                path.unlink()
        return dropped

    def _read_part(self, path: Path, columns: list[str] | None = None):
        """One part, or an error naming it and what to do (a part damaged or replaced)."""
        advice = Problem(str(path), 0, "", f"move it out of parts/ and run `safehaven sweep resume {self.root}` "
                                           f"to run its runs again")
        try:
            table = artefacts.parquet_columns(path, columns)  # only those columns' bytes are read
        except InputError as exc:
            raise InputError([*exc.problems, advice]) from None
        need = {"run_id": "int64"}
        if columns is None or "status" in columns:
            need["status"] = "string"
        for name, kind in need.items():
            if name not in table.column_names or str(table.schema.field(name).type) != kind:
                raise InputError([Problem(str(path), 0, name, f"a result part needs a column '{name}' of {kind}"),
                                  advice])
        return table

    # -- reading ----------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """The sweep's settings, from design.parquet, checked (:func:`check_meta`)."""
        if not self.exists():
            raise UsageError(f"{self.root} is not a sweep directory (no design.parquet)")
        raw = artefacts.parquet_metadata(self.design_path).get(META_KEY)
        if raw is None:
            raise UsageError(f"{self.design_path} holds no sweep settings; was it written by safehaven?")
        try:
            meta = json.loads(raw)
        except (ValueError, RecursionError):
            raise InputError(Problem(str(self.design_path), 0, "", "its sweep settings are not valid JSON")) from None
        return check_meta(meta, str(self.design_path))

    def design(self, columns: list[str] | None = None):
        """The design as a pyarrow Table (only *columns*, and ``run_id``, when given)."""
        if columns is None:
            table = artefacts.parquet_table(self.design_path)
        else:
            table = artefacts.parquet_columns(self.design_path, ["run_id", *columns])
        if "run_id" not in table.column_names or table.column("run_id").to_pylist() != list(range(table.num_rows)):
            raise InputError(Problem(str(self.design_path), 0, "", "run_id must number the rows 0, 1, 2, ..."))
        return table

    def input_files(self) -> tuple[tuple[str, bytes], ...]:
        """The stored inputs, in the order recorded in the settings (the scenario first).

        Every stored name is hostile: it must stay inside ``inputs/`` (:func:`sim.paths.inside`).
        """
        order = self.meta()["inputs"]["files"]
        where = str(self.design_path)
        return tuple((rel, read_bytes(inside(self.root / "inputs", rel, display=where, what="input file"),
                                      limit=MAX_BYTES))
                     for rel in order)

    def part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []

    def done_ids(self) -> set[int]:
        """Run ids that have a row in a part."""
        done: set[int] = set()
        for p in self.part_files():
            done.update(self._read_part(p, ["run_id"]).column(0).to_pylist())
        return done

    def clean_temporary(self) -> None:
        """Remove temporary files left by a killed sweep."""
        for d in (self.root, self.parts):
            for p in d.glob(".*.tmp-*"):
                p.unlink(missing_ok=True)

    # -- results ------------------------------------------------------------------------------
    def write_part(self, rows: list) -> Path:
        """Write finished rows as a part (atomically): dict rows, or blocks of them (lists of dict
        rows or :class:`RowBlock`)."""
        import pyarrow.parquet as pq

        blocks = [rows] if rows and isinstance(rows[0], dict) else rows
        columns = _merged(blocks)
        first = int(min(columns["run_id"]))
        path = self.parts / f"part-{first:010d}.parquet"
        n = 0
        while path.exists():  # never overwrite a part (cannot happen when runs are only scheduled once)
            n += 1
            path = path.with_name(f"part-{first:010d}-{n}.parquet")
        table = _table(columns)
        _atomic_write(path, lambda p: pq.write_table(table, p, row_group_size=ROW_GROUP_ROWS))
        return path

    def results(self, columns: list[str] | None = None):
        """Every part, concatenated, as a pyarrow Table sorted by run_id (None if no part).

        With *columns*, only those (and ``run_id``) are read from the parts.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        wanted = None if columns is None else ["run_id", *columns]
        tables = [self._read_part(p, wanted) for p in self.part_files()]
        if not tables:
            return None
        table = pa.concat_tables(tables, promote_options="permissive")
        return table.take(pc.sort_indices(table, [("run_id", "ascending")]))


def load(directory: str | Path, columns: list[str] | None = None):
    """The results of a sweep as a pandas DataFrame, one row per finished run, sorted by run_id.

    Columns: the design (``run_id``, ``point``, ``replicate``, ``seed``, ``spawn_key``, one column per
    varied field named by its path, values in the unit of its spec), then ``status`` (``ok`` or
    ``failed``), ``error_kind`` (``input``, ``solver``, ``simulation``, ``internal``, ``worker``),
    ``error``, then the metrics of :mod:`sim.sweep.metrics` (headline first, the rest sorted).
    Runs not finished yet (an interrupted sweep) are absent.

    Parameters
    ----------
    directory : str or Path
        A sweep directory.
    columns : list of str, optional
        Keep only these columns (``run_id`` is always kept).

    Examples
    --------
    >>> df = load("sweeps/leak")                                         # doctest: +SKIP
    >>> df.groupby(pd.cut(df["leaks.prk-crack.rate"], 5))["checks_passed"].mean()  # doctest: +SKIP
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the test extra
        raise UsageError("sim.sweep.load needs pandas: pip install pandas") from None
    from sim.sweep.metrics import HEADLINE

    store = SweepStore(directory)
    wanted = None if columns is None else [c for c in columns if c != "run_id"]
    design = store.design(wanted).to_pandas()
    results = store.results(wanted)
    if results is None:
        df = design.iloc[:0].copy()
        for k in _FIRST:
            df[k] = pd.Series(dtype=object)
    else:
        res = results.to_pandas()
        res = res.drop_duplicates("run_id", keep="first")
        df = design.merge(res, on="run_id", how="inner", validate="one_to_one")
    first = list(design.columns) + [c for c in (*_FIRST, *HEADLINE) if c in df.columns]
    rest = sorted(c for c in df.columns if c not in first)
    df = df[first + rest].sort_values("run_id", kind="stable").reset_index(drop=True)
    if columns is not None:
        keep = ["run_id", *[c for c in columns if c != "run_id"]]
        if missing := [c for c in keep if c not in df.columns]:
            raise UsageError(f"no column {missing[0]!r} in the sweep; known: {', '.join(df.columns[:20])} ...")
        df = df[keep]
    return df
