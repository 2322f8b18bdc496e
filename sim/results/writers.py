"""Writing a run directory: summary.json, events.jsonl, series.csv (and Parquet), inputs/.

A run directory is built under a temporary name beside its destination and renamed into place
only when complete, so an interrupted run leaves no directory (or the previous one) behind.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.errors import UsageError
from sim.paths import check_output, recover_directory, replace_directory, temporary_directory
from sim.version import __version__

if TYPE_CHECKING:
    from sim.results.events import EventLog
    from sim.results.series import Series
    from sim.scenario.load import LoadedScenario

__all__ = ["WrittenRun", "is_run_directory", "write_inputs", "write_run", "write_series_csv"]


class WrittenRun(Protocol):
    """What a run directory is written from (a :class:`~sim.results.result.RunResult`)."""

    loaded: LoadedScenario
    seed: int
    events: EventLog
    series: Series
    summary: dict[str, Any]
    extra: dict[str, Any]


def write_series_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Write columns as CSV, floats with up to 10 significant digits (stable across platforms)."""
    names = list(columns)
    data = np.column_stack([columns[n] for n in names]) if names else np.zeros((0, 0))
    row_format = ",".join(["%.10g"] * len(names)) + "\n"  # one %-format per row: ~2x f-strings per value
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join(names) + "\n")
        fh.writelines(row_format % tuple(row) for row in data.tolist())


def _write_parquet(path: Path, columns: dict[str, np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)


def write_run(result: WrittenRun, out: str | Path, *, force: bool = False, fmt: str | None = None) -> Path:
    """Write *result* as a run directory at *out*.

    The directory is built beside *out* and renamed into place (:func:`sim.paths.replace_directory`);
    an interrupted earlier replacement of *out* is first finished or undone
    (:func:`sim.paths.recover_directory`).

    Parameters
    ----------
    force : bool
        Replace an existing run directory; otherwise an existing *out* is a :class:`UsageError`.
        A directory that is not a run directory (no summary.json) is never replaced.
    fmt : {"csv", "parquet", "both"}, optional
        Series format; default the scenario's ``output.format``.
    """
    out = Path(out)
    check_output(out, inputs=result.loaded.files.values(), force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(out)
    if out.exists() and not force:
        raise UsageError(f"{out} exists; choose another --out or pass --force to replace it")
    if out.exists() and any(out.iterdir()) and not is_run_directory(out):
        raise UsageError(f"{out} is not a run directory (no summary.json); --force replaces only run "
                         f"directories, so choose another --out")
    fmt = fmt or result.loaded.scenario.output.format
    tmp = temporary_directory(out)
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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the run directory is not
        replace_directory(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def is_run_directory(path: Path) -> bool:
    """A finished run directory (summary.json), or a live drill session still being played
    (session.yaml and inputs/manifest.json, written from its first moment by sim.drill.record)."""
    path = Path(path)
    return (path / "summary.json").is_file() or (
        (path / "session.yaml").is_file() and (path / "inputs" / "manifest.json").is_file())


def _write_inputs(result: WrittenRun, inputs: Path) -> None:
    """Copy every file the run read, and a manifest with the seed, program version and the
    overrides the scenario was loaded with (whichever way it was loaded: ``run --set``,
    ``sim.run(..., overrides=...)``, a drill's ``set``, a sweep's design values)."""
    write_inputs(result.loaded, result.seed, inputs, spawn_key=result.summary.get("spawn_key", []))


def write_inputs(loaded, seed: int, inputs: Path, *, spawn_key=()) -> None:
    """Copy every file *loaded* was read from into *inputs* (a new directory), with a manifest.

    Also used before a run ends: a live drill session keeps its inputs from its first moment.
    """
    inputs.mkdir()
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
        "seed": seed,
        "spawn_key": list(spawn_key),
        "scenario": placed.get("scenario"),
        "files": placed,
        "overrides": list(loaded.overrides),
    }
    with open(inputs / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
