"""Loading a record file and its logs (CSV or Parquet, units in the column headers).

A log has a time column and a value column:

* time: ``t_<unit>`` (``t_s``, ``t_min``, ``t_h``, ``t_d``: numbers, only differences matter when the
  record has no ``start``) or ``time`` (ISO 8601 timestamps, e.g. ``2019-06-04T13:02:00Z``);
* value: ``<name>_<unit>``, a pressure (``p_mmHg``, ``ppN2_Pa``, ``value_kPa``) for a gauge or a
  temperature (``T_degC``, ``T_K``, ``T_degF``) for a temperature log.

Every problem is reported as ``file:line: message`` (the CSV line; Parquet rows are counted from 1).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from sim.errors import InputError, Problem
from sim.leakhunt.record import GaugeSeries, LeakRecord, TemperatureSeries
from sim.paths import read_bytes, reference
from sim.scenario.record_model import Record
from sim.scenario.validation import did_you_mean, validate_document
from sim.scenario.yamlio import Document, load_yaml
from sim.units import UnitError, to_si

__all__ = ["MAX_LOG_BYTES", "MAX_LOG_ROWS", "load_record", "read_log"]

MAX_LOG_BYTES = 64 * 1024 * 1024
"""Largest log file read [bytes]."""
MAX_LOG_ROWS = 2_000_000
"""Most rows of one log."""
_TIME_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_TEMPERATURE = {"K": (1.0, 0.0), "degC": (1.0, 273.15), "degF": (5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0)}


def _fail(display: str, line: int, message: str) -> InputError:
    return InputError(Problem(display, line, "", message))


def _table(raw: bytes, display: str, parquet: bool):
    import pandas as pd

    try:
        if parquet:
            import pyarrow.parquet as pq

            frame = pq.read_table(io.BytesIO(raw)).to_pandas()
            first_line = 1
        else:
            frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, skip_blank_lines=True,
                                encoding="utf-8")
            first_line = 2
    except UnicodeDecodeError:
        raise _fail(display, 0, "not UTF-8 text, expected a CSV file") from None
    except Exception as exc:  # pandas and pyarrow raise many types for malformed files
        kind = "Parquet" if parquet else "CSV"
        raise _fail(display, 0, f"cannot read it as {kind}: {str(exc).splitlines()[0][:200]}") from None
    if len(frame) > MAX_LOG_ROWS:
        raise _fail(display, 0, f"{len(frame):,} rows, expected at most {MAX_LOG_ROWS:,}")
    return frame, first_line


def read_log(path: Path, display: str, kind: str) -> tuple[np.ndarray, np.ndarray | list, np.ndarray]:
    """Read a log: (times, ``"relative"`` or ``"iso"``, values in SI).

    Parameters
    ----------
    kind : {"pressure", "temperature"}

    Returns
    -------
    t : ndarray  times [s] (relative) or seconds since the Unix epoch (ISO)
    form : str  ``"relative"`` or ``"iso"``
    values : ndarray  [Pa] or [K]
    """
    raw = read_bytes(path, limit=MAX_LOG_BYTES, display=display, what="log")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    frame, first = _table(raw, display, parquet)
    columns = [str(c) for c in frame.columns]
    if len(columns) != 2:
        raise _fail(display, 1, f"{len(columns)} columns {columns}, expected two: a time column (t_s, t_h or "
                                "time) and a value column with its unit (p_mmHg, T_degC)")
    tname, vname = columns
    if len(frame) == 0:
        raise _fail(display, 0, "no readings")
    # time
    if tname == "time":
        import pandas as pd

        stamps = pd.to_datetime(frame[tname], errors="coerce", utc=True, format="ISO8601")
        bad = np.flatnonzero(stamps.isna().to_numpy())
        if len(bad):
            raise _fail(display, first + int(bad[0]), f"time {frame[tname].iloc[bad[0]]!r} is not an ISO 8601 timestamp")
        t = (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(float)
        form = "iso"
    elif tname.startswith("t_") and tname[2:] in _TIME_UNITS:
        t = _numbers(frame[tname], display, first, tname) * _TIME_UNITS[tname[2:]]
        form = "relative"
    else:
        raise _fail(display, 1, f"time column {tname!r}: expected t_s, t_min, t_h, t_d or time (ISO 8601)")
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        raise _fail(display, first + int(back[0]) + 1, "time goes backwards; expected readings in time order")
    # value
    unit = vname.rsplit("_", 1)[-1] if "_" in vname else ""
    values = _numbers(frame[vname], display, first, vname)
    if kind == "temperature":
        if unit not in _TEMPERATURE:
            raise _fail(display, 1, f"value column {vname!r}: expected a temperature unit after '_' "
                                    f"({', '.join(_TEMPERATURE)}), e.g. T_degC")
        scale, offset = _TEMPERATURE[unit]
        values = values * scale + offset
        if np.any(values <= 0) or np.any(values > 1000):
            k = int(np.flatnonzero((values <= 0) | (values > 1000))[0])
            raise _fail(display, first + k, f"temperature {values[k]:g} K, expected 0-1000 K")
    else:
        try:
            factor = to_si(f"1 {unit}", "pressure") if unit else math.nan
        except UnitError:
            factor = math.nan
        if not math.isfinite(factor):
            raise _fail(display, 1, f"value column {vname!r}: expected a pressure unit after '_' (mmHg, Pa, kPa, "
                                    "psi), e.g. p_mmHg")
        values = values * factor
        if np.any(values < 0):
            k = int(np.flatnonzero(values < 0)[0])
            raise _fail(display, first + k, f"pressure {values[k]:g} Pa, expected >= 0")
    return t, form, values


def _numbers(column, display: str, first: int, name: str) -> np.ndarray:
    import pandas as pd

    x = pd.to_numeric(column, errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise _fail(display, first + int(bad[0]), f"{name} {str(column.iloc[bad[0]])[:40]!r} is not a finite number")
    return x


def _resolve(doc: Document, relative: str, loc: tuple) -> Path:
    base = doc.path.parent if doc.path is not None else Path.cwd()
    try:
        return reference(base, relative)
    except ValueError as exc:
        raise InputError(doc.problem(loc, str(exc))) from None


def _display(doc: Document, relative: str) -> str:
    return str(Path(doc.file).parent / relative)


def load_record(path: str | Path) -> LeakRecord:
    """Load a record file, its station and its logs.

    Raises
    ------
    InputError
        Every problem of the record file, or the first problem of a log, located.
    """
    # lazy for start-up cost: scenario.load brings the scenario and procedure models (~0.1 s)
    from sim.scenario.load import load_station

    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError(Problem(doc.file, 1, "", "expected a mapping (a record file)"))
    rec = validate_document(Record, doc)
    station_path = _resolve(doc, rec.station, ("station",))
    station = load_station(station_path)
    problems: list[Problem] = []
    places = list(station.compartments) + list(station.vehicles)
    hatches = station.hatches

    def unknown(loc, what, name, known):
        problems.append(doc.problem(loc, f"unknown {what} '{name}'{did_you_mean(name, known)}"))

    for hid in rec.hatches.initial:
        if hid not in hatches:
            unknown(("hatches", "initial", hid), "hatch", hid, hatches)
    for i, ev in enumerate(rec.hatches.events):
        if ev.hatch not in hatches:
            unknown(("hatches", "events", i, "hatch"), "hatch", ev.hatch, hatches)
        if i and ev.at < rec.hatches.events[i - 1].at:
            problems.append(doc.problem(("hatches", "events", i, "at"), "events must be in time order"))
    for gid, g in rec.gauges.items():
        if g.at not in places:
            unknown(("gauges", gid, "at"), "compartment", g.at, places)
    for i, tl in enumerate(rec.temperature):
        if tl.at != "station" and tl.at not in places:
            unknown(("temperature", i, "at"), "compartment", tl.at, places)
    candidates = rec.leak.candidates or places
    for i, c in enumerate(rec.leak.candidates or []):
        if c not in places:
            unknown(("leak", "candidates", i), "compartment", c, places)
    for c, w in (rec.leak.prior or {}).items():
        if c not in candidates:
            unknown(("leak", "prior", c), "candidate", c, candidates)
        elif not (math.isfinite(w) and w >= 0):
            problems.append(doc.problem(("leak", "prior", c), f"prior weight {w!r}, expected a number >= 0"))
    if problems:
        raise InputError(problems)
    weights = {c: float((rec.leak.prior or {}).get(c, 0.0 if rec.leak.prior else 1.0)) for c in candidates}
    if sum(weights.values()) <= 0:
        raise InputError(doc.problem(("leak", "prior"), "every prior weight is 0; expected at least one > 0"))
    total = sum(weights.values())
    weights = {c: w / total for c, w in weights.items()}

    # logs: read them all, then put their clocks on one axis
    raw_gauges = []
    for gid, g in rec.gauges.items():
        t, form, y = read_log(_resolve(doc, g.file, ("gauges", gid, "file")), _display(doc, g.file), "pressure")
        raw_gauges.append((gid, g, t, form, y))
    raw_temps = []
    for i, tl in enumerate(rec.temperature):
        t, form, T = read_log(_resolve(doc, tl.file, ("temperature", i, "file")), _display(doc, tl.file), "temperature")
        raw_temps.append((tl, t, form, T))
    forms = {form for *_, form, _ in raw_gauges} | {form for _, _, form, _ in raw_temps}
    if len(forms) > 1:
        raise InputError(doc.problem(("gauges",), "logs mix ISO timestamps and relative times; expected one kind"))
    form = forms.pop()
    if rec.start is not None:
        import pandas as pd

        try:
            t0 = (pd.Timestamp(rec.start).tz_localize("UTC") if pd.Timestamp(rec.start).tzinfo is None
                  else pd.Timestamp(rec.start)).timestamp()
        except (ValueError, TypeError):
            raise InputError(doc.problem(("start",), f"{rec.start!r} is not an ISO 8601 instant")) from None
        if form != "iso":
            raise InputError(doc.problem(("start",), "'start' applies to logs with ISO timestamps (a 'time' column)"))
    else:
        t0 = min(float(t[0]) for _, _, t, _, _ in raw_gauges)
    gauges = [GaugeSeries(gid, g.at, g.reads, t - t0, y, g.resolution, g.noise, g.every, g.file)
              for gid, g, t, _, y in raw_gauges]
    temps = [TemperatureSeries(tl.at, t - t0, T, tl.file, None if tl.coupling == "fit" else float(tl.coupling))
             for tl, t, _, T in raw_temps]
    last = max(float(g.t[-1]) for g in gauges)
    duration = rec.duration if rec.duration is not None else last
    for g in gauges:
        if g.t[0] < 0:
            raise InputError(doc.problem(("gauges", g.id, "file"), f"{g.source}: readings before the record's start"))
    initial = {h: x.open for h, x in hatches.items()} | {h: s == "open" for h, s in rec.hatches.initial.items()}
    events = [(ev.at, ev.hatch, ev.state == "open") for ev in rec.hatches.events]
    return LeakRecord(rec.name, station, initial, events, gauges, temps, float(duration), weights,
                      rec.leak.max_rate, rec.leak.cd, rec.start, str(path))
