"""Reading what Safehaven wrote as hostile input: one validated reader per kind of artefact.

A run, sweep or drill-session directory may have been truncated by a full disk, edited by hand or
crafted. Every reader here reads through :func:`sim.paths.read_bytes` (regular files only, size
bounded) and checks types and values before any of it is used, raising a located
:class:`~sim.errors.InputError` (``FILE:LINE: what is wrong``, exit 2) that names the file.

Readers: :func:`json_object` (summary.json, manifest.json, sweep.json, scorecard.json),
:func:`events` (events.jsonl), :func:`series_columns` (series.csv / series.parquet),
:func:`manifest` (inputs/manifest.json), :func:`parquet_table` (design.parquet, parts),
:func:`yaml_mapping` (session.yaml).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError, Problem
from sim.paths import read_bytes
from sim.scenario.yamlio import load_yaml
from sim.text import describe, unsafe_character

__all__ = [
    "MAX_EVENTS_BYTES",
    "MAX_JSON_BYTES",
    "MAX_SERIES_BYTES",
    "events",
    "json_object",
    "manifest",
    "parquet_table",
    "series_columns",
    "yaml_mapping",
]

MAX_JSON_BYTES = 64 * 1024 * 1024
"""Largest summary.json, manifest.json, sweep.json or session.yaml read [bytes]."""
MAX_EVENTS_BYTES = 1024 * 1024 * 1024
"""Largest events.jsonl read [bytes]."""
MAX_SERIES_BYTES = 2 * 1024 * 1024 * 1024
"""Largest series.csv or Parquet file read [bytes] (the series limit of a run is 2e8 values)."""

_SEED_MAX = 2**63


def _bad(path, message: str, line: int = 0) -> InputError:
    return InputError(Problem(str(path), line, "", message))


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _plain_strings(value, path, line: int, depth: int = 0) -> None:
    """Refuse a text Safehaven would never have written: one holding a control character."""
    if isinstance(value, str):
        bad = unsafe_character(value)
        if bad is not None:
            raise _bad(path, f"a text holds the character {describe(bad)}, which Safehaven never writes", line)
    elif isinstance(value, dict):
        for k, v in value.items():
            _plain_strings(k, path, line, depth + 1)
            _plain_strings(v, path, line, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _plain_strings(v, path, line, depth + 1)


def _json(text: str, path, line: int = 0) -> Any:
    try:
        data = json.loads(text, parse_constant=_no_constants)
        _plain_strings(data, path, line)
        return data
    except json.JSONDecodeError as exc:
        raise _bad(path, f"not valid JSON ({exc.msg} at column {exc.colno}); was the file truncated or edited?",
                   line or exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise _bad(path, f"not valid JSON ({exc})", line) from None


def _text(path, limit: int) -> str:
    raw = read_bytes(path, limit=limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _bad(path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", line) from None


def json_object(path: str | Path, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """A JSON file that must hold an object (no NaN or Infinity: Safehaven never writes them)."""
    data = _json(_text(path, limit), path)
    if not isinstance(data, dict):
        raise _bad(path, f"expected a JSON object, got {type(data).__name__}", 1)
    return data


def _finite(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def events(path: str | Path, limit: int = MAX_EVENTS_BYTES) -> list[dict]:
    """events.jsonl: one JSON object a line, each with a text ``kind`` and a finite ``t`` [s] that
    never decreases."""
    out: list[dict] = []
    last = -math.inf
    for n, line in enumerate(_text(path, limit).splitlines(), 1):
        if not line.strip():
            continue
        e = _json(line, path, n)
        if not isinstance(e, dict):
            raise _bad(path, "an event must be a JSON object", n)
        if not isinstance(e.get("kind"), str):
            raise _bad(path, "an event needs a text 'kind'", n)
        t = e.get("t")
        if not _finite(t) or t < 0:
            shown = "missing" if "t" not in e else repr(t)[:40]
            raise _bad(path, f"an event needs a time 't' in seconds (a finite number >= 0), got {shown}", n)
        if t < last:
            raise _bad(path, f"events out of order: t = {t:g} s after t = {last:g} s", n)
        last = t
        out.append(e)
    return out


_COLUMN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}")


def _check_columns(path, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    names = list(cols)
    if not names or names[0] != "t_s":
        raise _bad(path, f"the first column must be t_s, got {names[0][:40] if names else 'none'!r}", 1)
    for name in names:
        if not _COLUMN.fullmatch(name):
            raise _bad(path, f"column name {name[:40]!r} is not one Safehaven writes", 1)
    for name in names[1:]:
        if "." not in name:
            raise _bad(path, f"column {name[:40]!r} should be COMPARTMENT.QUANTITY, e.g. lab.p_Pa", 1)
        if not name.endswith("_Pa") and not name.endswith("_s"):
            continue
        base = name.rsplit(".", 1)[0]
        if f"{base}.p_Pa" not in cols and base != "station":
            raise _bad(path, f"column {name!r} has no {base}.p_Pa beside it", 1)
    for name, values in cols.items():
        # NaN never; +inf only for a time (a reserve time is infinite while nothing leaks)
        bad = np.isnan(values) | (values == -np.inf) | ((values == np.inf) & (not name.endswith("_s") or name == "t_s"))
        if bad.any():
            row = int(np.argmax(bad))
            raise _bad(path, f"column {name!r} holds {values[row]!r} at row {row + 1}; expected finite numbers",
                       row + 2)
    t = cols["t_s"]
    if len(t) > 1 and (np.diff(t) < 0).any():
        row = int(np.argmax(np.diff(t) < 0)) + 1
        raise _bad(path, f"t_s goes backwards at row {row + 1}", row + 2)
    return cols


def series_columns(directory: str | Path) -> dict[str, np.ndarray]:
    """The columns of series.csv (or series.parquet) of a run directory, checked: t_s first and
    non-decreasing, a rectangular table of finite numbers, names as Safehaven writes them."""
    directory = Path(directory)
    csv, parquet = directory / "series.csv", directory / "series.parquet"
    if csv.exists() or csv.is_symlink():
        text = _text(csv, MAX_SERIES_BYTES)
        lines = text.splitlines()
        if not lines:
            raise _bad(csv, "empty file; expected a header line t_s,...", 1)
        header = lines[0].split(",")
        if len(set(header)) != len(header):
            raise _bad(csv, "a column name appears twice in the header", 1)
        commas = len(header) - 1
        for i, line in enumerate(lines[1:]):
            if line.count(",") != commas:
                raise _bad(csv, f"{line.count(',') + 1} values in a row of {len(header)} columns", i + 2)
        try:
            rows = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2, comments=None)
        except ValueError as exc:
            raise _bad(csv, f"a value is not a number ({str(exc).splitlines()[0][:120]})") from None
        if rows.size == 0:
            rows = np.zeros((0, len(header)))
        return _check_columns(csv, {name: rows[:, j] for j, name in enumerate(header)})
    if parquet.exists() or parquet.is_symlink():
        table = parquet_table(parquet, MAX_SERIES_BYTES)
        cols = {}
        for name in table.column_names:
            try:
                cols[name] = np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)
            except (TypeError, ValueError):
                raise _bad(parquet, f"column {name[:40]!r} does not hold numbers") from None
        return _check_columns(parquet, cols)
    raise _bad(directory, "no series.csv or series.parquet; not a complete run directory")


def parquet_table(path: str | Path, limit: int = MAX_SERIES_BYTES, columns: list[str] | None = None):
    """A Parquet file as a pyarrow Table; a truncated, empty or foreign file is an input error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = read_bytes(path, limit=limit)
    try:
        return pq.read_table(io.BytesIO(raw), columns=columns)
    except (pa.ArrowException, OSError, ValueError, KeyError, IndexError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise _bad(path, f"not a readable Parquet file ({reason}); was it truncated or replaced?") from None


def parquet_columns(path: str | Path, columns: list[str] | None = None, limit: int = MAX_SERIES_BYTES):
    """Only *columns* of a Parquet file (those it has; None: all), reading only their bytes.

    Unlike :func:`parquet_table`, the file is not read whole: Parquet stores each column of a row
    group apart, so a sweep's ``run_id`` or a few metrics come out of a large part without its
    other columns being read. The file must be a regular file of at most *limit* bytes.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        st = os.stat(path)
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not stat.S_ISREG(st.st_mode):
        raise _bad(path, "is not a regular file, expected a Parquet file")
    if st.st_size > limit:
        raise _bad(path, f"file is {st.st_size:,} bytes, larger than the {limit:,} accepted")
    try:
        with open(path, "rb") as fh:
            # no pre-buffering: it would coalesce the byte ranges of neighbouring columns
            pf = pq.ParquetFile(fh, pre_buffer=False)
            names = pf.schema_arrow.names
            return pf.read(columns=names if columns is None else [c for c in columns if c in names])
    except (pa.ArrowException, OSError, ValueError, KeyError, IndexError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise _bad(path, f"not a readable Parquet file ({reason}); was it truncated or replaced?") from None


def parquet_metadata(path: str | Path, limit: int = MAX_SERIES_BYTES) -> dict[bytes, bytes]:
    """The key-value metadata of a Parquet file's schema (empty when none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = read_bytes(path, limit=limit)
    try:
        return dict(pq.read_schema(io.BytesIO(raw)).metadata or {})
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise _bad(path, f"not a readable Parquet file ({reason}); was it truncated or replaced?") from None


def _int_in(value, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value < hi


def manifest(path: str | Path) -> dict[str, Any]:
    """inputs/manifest.json: ``seed`` a whole number from 0 to 2**63-1 (or null), ``spawn_key`` a
    list of such numbers, ``scenario`` a relative path (or null), ``files`` {role: relative path},
    ``overrides`` a list of text."""
    m = json_object(path)
    if m.get("seed") is not None and not _int_in(m["seed"], 0, _SEED_MAX):
        raise _bad(path, f"seed must be a whole number from 0 to 2**63-1, got {str(m['seed'])[:40]}")
    sk = m.get("spawn_key", [])
    if not isinstance(sk, list) or len(sk) > 32 or not all(_int_in(k, 0, _SEED_MAX) for k in sk):
        raise _bad(path, "spawn_key must be a list of at most 32 whole numbers >= 0")
    if m.get("scenario") is not None and not isinstance(m["scenario"], str):
        raise _bad(path, "scenario must be a relative path (text)")
    files = m.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise _bad(path, "files must map roles to relative paths (text)")
    ov = m.get("overrides", [])
    if not isinstance(ov, list) or not all(isinstance(o, str) for o in ov):
        raise _bad(path, "overrides must be a list of PATH=VALUE texts")
    return m


def yaml_mapping(path: str | Path, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """A YAML file Safehaven wrote (session.yaml) read with the input-file reader, as a mapping."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise _bad(path, "expected a mapping", 1)
    return doc.data
