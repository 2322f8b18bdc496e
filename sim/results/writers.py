"""Writing a run directory: summary.json, events.jsonl, series.csv (and Parquet), inputs/.

A run directory is built under a temporary name beside its destination and renamed into place
only when complete, so an interrupted run leaves no directory (or the previous one) behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from sim import __version__
from sim.engine import RunResult
from sim.errors import UsageError

__all__ = ["write_run", "write_series_csv"]


def write_series_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Write columns as CSV, floats with up to 10 significant digits (stable across platforms)."""
    names = list(columns)
    data = np.column_stack([columns[n] for n in names]) if names else np.zeros((0, 0))
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join(names) + "\n")
        for row in data:
            fh.write(",".join(f"{x:.10g}" for x in row) + "\n")


def _write_parquet(path: Path, columns: dict[str, np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)


def write_run(result: RunResult, out: str | Path, *, force: bool = False, fmt: str | None = None) -> Path:
    """Write *result* as a run directory at *out*.

    Parameters
    ----------
    force : bool
        Replace an existing directory; otherwise an existing *out* is a :class:`UsageError`.
    fmt : {"csv", "parquet", "both"}, optional
        Series format; default the scenario's ``output.format``.
    """
    out = Path(out)
    if out.exists() and not force:
        raise UsageError(f"{out} exists; choose another --out or pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = fmt or result.loaded.scenario.output.format
    _remove_abandoned(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    (tmp / _PID_FILE).write_text(str(os.getpid()))
    try:
        with open(tmp / "summary.json", "w", encoding="utf-8") as fh:
            json.dump(result.summary, fh, indent=2, ensure_ascii=False, allow_nan=False)
            fh.write("\n")
        with open(tmp / "events.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for line in result.events.lines():
                fh.write(line + "\n")
        columns = result.series.columns()
        if fmt in ("csv", "both"):
            write_series_csv(tmp / "series.csv", columns)
        if fmt in ("parquet", "both"):
            _write_parquet(tmp / "series.parquet", columns)
        for name, data in result.extra.get("files", {}).items():
            (tmp / name).write_text(data, encoding="utf-8")
        _write_inputs(result, tmp / "inputs")
        (tmp / _PID_FILE).unlink()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the run directory is not
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            (trash / _PID_FILE).write_text(str(os.getpid()))
            os.replace(out, trash / "old")
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


_PID_FILE = ".writer-pid"


def _remove_abandoned(out: Path) -> None:
    """Delete temporary directories that a killed writer of *out* left beside it.

    A temporary directory holds the pid of the process writing it; it is abandoned when that
    process no longer exists (a directory without a pid file is left alone).
    """
    for tmp in out.parent.glob(f".{out.name}.*"):
        if not tmp.is_dir() or not tmp.name.endswith((".partial", ".old")):
            continue
        pid_file = tmp / _PID_FILE
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_inputs(result: RunResult, inputs: Path) -> None:
    """Copy every file the run read, and a manifest with the seed and program version."""
    inputs.mkdir()
    loaded = result.loaded
    # Files keep their positions relative to one another, so the relative references inside them
    # (station: stations/iss.yaml, procedure: ../procedures/x.yaml) resolve the same way in inputs/.
    root = Path(os.path.commonpath([p.parent for p in loaded.files.values()])) if loaded.files else inputs
    placed = {}
    for role, src in loaded.files.items():
        rel = src.relative_to(root)
        dest = inputs / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        placed[role] = rel.as_posix()
    manifest = {
        "program": "safehaven",
        "version": __version__,
        "seed": result.seed,
        "spawn_key": list(result.summary.get("spawn_key", [])),
        "scenario": placed.get("scenario"),
        "files": placed,
        "overrides": list(result.extra.get("overrides", [])),
    }
    with open(inputs / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
