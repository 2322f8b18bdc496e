"""Quantities with units at the edge, SI inside.

Every physical value in a file is a bare number in SI or a string such as ``"760 mmHg"``,
``"2 lb/day"`` or ``"90 min"``. :func:`to_si` parses it with pint and converts it to the SI unit of
the expected *kind*; a value of the wrong dimension raises :class:`UnitError`, whose message names
what was expected, e.g. ``expected a volume, got 5 kg``.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import json
import math
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BASE_DIMENSIONS", "KINDS", "Kind", "UnitError", "format_duration", "format_quantity", "time_text",
           "to_si", "unit_factor", "unit_registry"]


class UnitError(ValueError):
    """A quantity that cannot be read, or whose dimension is wrong for its field."""


@dataclass(frozen=True)
class Kind:
    """A physical kind of field: its name in messages, SI unit and pint dimensionality."""

    name: str
    si_unit: str
    dimensionality: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("pressure", "Pa", "[mass] / [length] / [time] ** 2"),
        Kind("volume", "m**3", "[length] ** 3"),
        Kind("area", "m**2", "[length] ** 2"),
        Kind("length", "m", "[length]"),
        Kind("time", "s", "[time]"),
        Kind("temperature", "K", "[temperature]"),
        Kind("mass", "kg", "[mass]"),
        Kind("mass flow", "kg/s", "[mass] / [time]"),
        Kind("pressure rate", "Pa/s", "[mass] / [length] / [time] ** 3"),
        Kind("volume flow", "m**3/s", "[length] ** 3 / [time]"),
        Kind("dimensionless", "", ""),
    )
}

_ARTICLE = {"area": "an area", "time": "a time", "temperature": "a temperature", "mass": "a mass"}


CACHE_ENV = "SAFEHAVEN_CACHE_DIR"
"""Where Safehaven keeps caches (default ``$XDG_CACHE_HOME/safehaven``, else ``~/.cache/safehaven``)."""


def cache_dir() -> Path:
    """The folder of Safehaven's caches (it may not exist yet)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "safehaven"


def _import_pint():
    """Import pint without letting it import dask.

    pint.compat imports dask, when it is installed, to interoperate with dask arrays; that costs
    more than pint itself (~0.2 s of a 0.5 s validate). Safehaven never hands pint a dask array,
    so while pint is first imported a ``None`` entry in ``sys.modules`` makes dask look absent
    to it (the import system's documented way to block an import); dask itself stays
    importable afterwards. If dask is already imported, pint sees it as usual.
    """
    hide = "dask" not in sys.modules
    if hide:
        sys.modules["dask"] = None
    try:
        import pint
    finally:
        if hide and sys.modules.get("dask", 0) is None:
            del sys.modules["dask"]
    return pint


_registry_lock = threading.Lock()


def unit_registry():
    """The one pint registry, created on first use (importing Safehaven does no work).

    Building pint's registry parses its whole definitions file (~0.3 s); pint caches the parsed
    result in a folder, here ``cache_dir()/pint``, so later processes load it in ~20 ms. When
    that folder cannot be written or the cache cannot be read, the registry is built without it.
    """
    with _registry_lock:  # the drill server parses conditions from more than one thread
        return _build_registry()


@functools.cache
def _build_registry():
    pint = _import_pint()
    folder = cache_dir() / "pint"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=folder)
    except Exception:  # an unwritable home, a cache another process is writing, a stale format
        ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.formatter.default_format = "~"
    return ureg


# -- what pint computed in earlier processes ---------------------------------------------------
# Importing pint and loading its registry cost ~0.15 s, a third of `safehaven validate`, and files
# name the same few quantities again and again. So every quantity pint read (and every unit name
# the condition language asked about) is remembered in cache_dir()/units-<key>.json, and a later
# process that meets only remembered texts never imports pint. The key digests pint's installed
# code and definitions files (a new pint is a new key) and this module's code. The file carries
# the SHA-256 of its entries: a file whose entries do not match it (an edit, a torn copy), that
# cannot be read, or that holds anything but the expected types is ignored, and pint answers
# again. A quantity pint refuses is not remembered: it goes to pint again, so its message is
# pint's own. The file keeps the MEMO_MAX_ENTRIES most recently used entries (a sweep's one-off
# values push out the oldest, never a file's quantities that every run reads again), and memo
# files of other keys (another pint, another Safehaven) unused for MEMO_STALE_DAYS are removed.
MEMO_MAX_ENTRIES = 20_000
"""Most remembered quantities and unit names (~1 MB); the least recently used go first."""
MEMO_STALE_DAYS = 30
"""A memo file of another key not written for this many days is removed [days]."""
_MEMO_MAX_BYTES = 4_000_000
_memo_lock = threading.Lock()
_memo_new: dict[str, object] = {}
_memo_used: set[str] = set()


@functools.cache
def _memo_path() -> Path | None:
    spec = importlib.util.find_spec("pint")
    if spec is None or spec.origin is None:
        return None
    try:  # this module's own code: a change in how Safehaven reads a quantity is a new key too
        digest = hashlib.sha256(Path(__file__).read_bytes())
    except OSError:
        return None
    for name in ("__init__.py", "default_en.txt", "constants_en.txt"):
        try:
            st = (Path(spec.origin).parent / name).stat()
        except OSError:
            return None
        digest.update(f"{spec.origin}:{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return cache_dir() / f"units-{digest.hexdigest()[:16]}.json"


def _valid_entry(key: object, value: object) -> bool:
    if not isinstance(key, str):
        return False
    if key.startswith("q:"):  # a quantity: its value in SI
        return type(value) is float and math.isfinite(value)
    if key.startswith("u:"):  # a unit name: [SI factor, exponents of BASE_DIMENSIONS] or why not usable
        return isinstance(value, str) or (
            isinstance(value, list) and len(value) == 2 and type(value[0]) is float and math.isfinite(value[0])
            and isinstance(value[1], list) and len(value[1]) == len(BASE_DIMENSIONS)
            and all(type(e) is int for e in value[1]))
    return False


def _entries_digest(entries: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(entries, separators=(",", ":")).encode("utf-8")).hexdigest()


def _read_memo(path: Path | None) -> dict[str, object]:
    try:
        if path is None or path.stat().st_size > _MEMO_MAX_BYTES:
            return {}
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # absent, unreadable, not JSON (UnicodeDecodeError is a ValueError)
        return {}
    if not isinstance(stored, dict) or set(stored) != {"entries", "sha256"}:
        return {}
    entries = stored["entries"]
    if not isinstance(entries, dict) or not all(_valid_entry(k, v) for k, v in entries.items()):
        return {}
    if stored["sha256"] != _entries_digest(entries):
        return {}
    return entries


@functools.cache
def _memo() -> dict[str, object]:
    return _read_memo(_memo_path())


def _recall(key: str) -> object | None:
    with _memo_lock:
        value = _memo().get(key)
        if value is not None:
            _memo_used.add(key)
        return value


def _remember(key: str, value: object) -> None:
    with _memo_lock:
        if not _valid_entry(key, value):
            return
        _memo()[key] = value
        if not _memo_new:
            atexit.register(_save_memo)
        _memo_new[key] = value
        if len(_memo_new) > MEMO_MAX_ENTRIES:  # a long in-process sweep: keep its latest values only
            del _memo_new[next(iter(_memo_new))]


def _save_memo() -> None:
    """Add this process's new entries to the file (merged with what other processes added since).

    Order in the file is least recently used first: entries this process added move to the end,
    after them the entries it read again (a file's quantities, read by every process that loads
    it, outrank a sweep's one-off values), and the oldest go when there are more than
    :data:`MEMO_MAX_ENTRIES`.
    """
    path = _memo_path()
    with _memo_lock:
        new = dict(_memo_new)
        _memo_new.clear()
        used = set(_memo_used)
    if path is None or not new:
        return
    try:
        stored = _read_memo(path)
        recent = new | {k: stored[k] for k in stored if k in used and k not in new}
        merged = {k: v for k, v in stored.items() if k not in recent} | recent
        entries = dict(list(merged.items())[-MEMO_MAX_ENTRIES:])
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".units-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"entries": entries, "sha256": _entries_digest(entries)}, f, separators=(",", ":"))
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except BaseException:
            os.unlink(tmp)
            raise
        _remove_stale_memos(path)
    except OSError:  # an unwritable cache folder: the next process asks pint again
        pass


def _remove_stale_memos(current: Path) -> None:
    cutoff = time.time() - MEMO_STALE_DAYS * 86400.0
    for other in current.parent.glob("units-*.json"):
        try:
            if other != current and other.is_file() and other.stat().st_mtime < cutoff:
                other.unlink()
        except OSError:  # another process removed it, or it is not ours to remove
            pass


BASE_DIMENSIONS = ("[mass]", "[length]", "[time]", "[temperature]", "[substance]", "[current]", "[luminosity]")
"""pint's base dimensions, in the order of :func:`unit_factor`'s exponents."""
_BASE_UNITS = ("kilogram", "meter", "second", "kelvin", "mole", "ampere", "candela")


def unit_factor(name: str) -> tuple[float, tuple[int, ...]] | str:
    """What one unit name is in SI: its factor and its exponents of :data:`BASE_DIMENSIONS`.

    Returns
    -------
    tuple of (float, tuple of int) or str
        ``(factor, exponents)``, e.g. ``(133.322..., (1, -1, -2, 0, 0, 0, 0))`` for ``mmHg``
        (1 mmHg = factor × kg m^-1 s^-2); or why the name cannot be used as a factor:
        ``"unknown"`` (not a unit), ``"offset"`` (``degC``: not a multiple of an SI unit) or
        ``"unsupported"`` (a fractional power, another base dimension, a zero or infinite factor).

    Examples
    --------
    >>> unit_factor("min"), unit_factor("prk")
    ((60.0, (0, 0, 1, 0, 0, 0, 0)), 'unknown')
    """
    key = f"u:{name}"
    known = _recall(key)
    if isinstance(known, str):
        return known
    if known is not None:
        return known[0], tuple(known[1])
    result = _unit_factor(name)
    _remember(key, result if isinstance(result, str) else [result[0], list(result[1])])
    return result


def _unit_factor(name: str) -> tuple[float, tuple[int, ...]] | str:
    ureg = unit_registry()
    try:
        if not ureg.parse_unit_name(name):
            return "unknown"
        quantity = ureg.Quantity(1.0, ureg.parse_units(name))
        if not quantity._is_multiplicative:
            return "offset"
        dims = quantity.dimensionality
        exps = []
        for base in BASE_DIMENSIONS:
            e = dims.get(base, 0)
            if e != int(e):
                return "unsupported"
            exps.append(int(e))
        if set(dims) - set(BASE_DIMENSIONS):
            return "unsupported"
        target = ureg.parse_units("*".join(f"{u}**{e}" for u, e in zip(_BASE_UNITS, exps, strict=True) if e) or "")
        factor = float(quantity.to(target).magnitude)
    except Exception:  # pint raises many types for odd names; any of them means "not a unit here"
        return "unknown"
    if not math.isfinite(factor) or factor == 0:
        return "unsupported"
    return factor, tuple(exps)


def _describe(kind: str) -> str:
    return _ARTICLE.get(kind, f"a {kind}")


def to_si(value: object, kind: str) -> float:
    """Convert a number or a string with a unit to a float in the SI unit of *kind*.

    Parameters
    ----------
    value : float, int or str
        A bare number (taken as already SI) or a string ``"<number> <unit>"``.
    kind : str
        One of :data:`KINDS`, e.g. ``"pressure"`` (-> [Pa]) or ``"time"`` (-> [s]).

    Returns
    -------
    float
        The value in SI units.

    Raises
    ------
    UnitError
        If the text is not a quantity, the unit is unknown, or the dimension is not *kind*'s.

    Examples
    --------
    >>> round(to_si("760 mmHg", "pressure"), 1)
    101325.0
    >>> to_si("90 min", "time")
    5400.0
    """
    spec = KINDS[kind]
    if isinstance(value, bool):
        raise UnitError(f"expected {_describe(kind)}, got {value!r}")
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:  # an int beyond ~1.8e308: YAML reads long digit strings as exact ints
            raise UnitError(f"expected a finite {spec.name}, got an integer of {value.bit_length()} bits") from None
    elif isinstance(value, str):
        result = _parse_cached(value, spec.name)
    else:
        raise UnitError(f"expected {_describe(kind)} (a number or a string with a unit), got {type(value).__name__}")
    if not math.isfinite(result):
        raise UnitError(f"expected a finite {spec.name}, got {value!r}")
    return result


# Characters a quantity may contain; anything else (quotes, brackets, commas) is refused before pint
# sees it, so pint's expression parser only ever receives arithmetic on numbers and unit names.
_QUANTITY_TEXT = re.compile(r"[0-9A-Za-z_ .+\-*/^()%°µ]+")
# The shape pint is then given: one number, then unit names joined by '*', '/', spaces or brackets,
# each with at most a two-digit integer power. Pint computes integer powers exactly, so without this
# a text such as "9^9^9 Pa" would hang the program; a unit with no number ("m^3") is refused too.
_QUANTITY_SHAPE = re.compile(
    r"[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|(?i:inf|nan)(?![A-Za-z]))"
    r"(?:(?:[A-Za-z_%°µ][A-Za-z0-9_%°µ]*+(?:\s*(?:\^|\*\*)\s*[-+]?[0-9]{1,2}(?![0-9]))?|[\s*/()])*+)"
)


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str, kind: str) -> float:
    # Files repeat the same few quantities ("0.5 m^2", "10 s"); pint takes ~1 ms per parse.
    key = f"q:{kind}:{text}"
    value = _recall(key)
    if value is None:
        value = _parse(text, KINDS[kind])
        _remember(key, value)
    return value


def _parse(text: str, spec: Kind) -> float:
    ureg = unit_registry()
    stripped = text.strip()
    if not stripped or len(stripped) > 100:
        raise UnitError(f"expected {_describe(spec.name)} such as '{_example(spec.name)}', got {text!r}")
    if not _QUANTITY_TEXT.fullmatch(stripped) or "__" in stripped or not _QUANTITY_SHAPE.fullmatch(stripped):
        raise UnitError(f"cannot read {text!r} as {_describe(spec.name)}: not a number with a unit")
    try:
        quantity = ureg.Quantity(stripped)
    except Exception as exc:  # pint raises many types (even AssertionError) for malformed text
        raise UnitError(f"cannot read {text!r} as {_describe(spec.name)}: {_pint_reason(exc)}") from None
    if not isinstance(quantity, ureg.Quantity):  # a bare number written as a string
        quantity = ureg.Quantity(float(quantity), "")
    if quantity.dimensionality != ureg.parse_expression(spec.si_unit or "1").dimensionality:
        raise UnitError(f"expected {_describe(spec.name)}, got {stripped}")
    magnitude = quantity.to(spec.si_unit or "1").magnitude
    try:
        return float(magnitude)
    except (TypeError, ValueError):
        raise UnitError(f"expected {_describe(spec.name)}, got {stripped}") from None


def _pint_reason(exc: Exception) -> str:
    pint = _import_pint()

    if isinstance(exc, pint.errors.UndefinedUnitError):
        return f"unknown unit {', '.join(exc.unit_names) if isinstance(exc.unit_names, tuple) else exc.unit_names!s}"
    return "not a number with a unit"


def _example(kind: str) -> str:
    return {
        "pressure": "101.3 kPa",
        "volume": "75 m^3",
        "area": "1 cm^2",
        "length": "2 mm",
        "time": "90 min",
        "temperature": "295 K",
        "mass": "20 kg",
        "mass flow": "2 lb/day",
        "pressure rate": "-1 mmHg/min",
        "volume flow": "20 m^3/h",
    }.get(kind, "1")


def format_quantity(value: float, kind: str) -> str:
    """A short human-readable rendering of an SI value, for terminal output."""
    if kind == "pressure":
        return f"{value / 1000:.2f} kPa"
    if kind == "time":
        return format_duration(value)
    return f"{value:g} {KINDS[kind].si_unit}"


def time_text(value: float | str | None) -> str:
    """A time from a summary (seconds, ``"inf"`` or None) as ``hh:mm:ss``, ``never`` or ``-``."""
    if value is None:
        return "-"
    if value == "inf":
        return "never"
    return format_duration(float(value))


def format_duration(seconds: float) -> str:
    """``hh:mm:ss`` for a time in [s] (``inf`` and negative times rendered readably)."""
    if not math.isfinite(seconds):
        return "never" if seconds > 0 else "-inf"
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds))
    return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"

