"""Quantities with units at the edge, SI inside.

Every physical value in a file is a bare number in SI or a string such as ``"760 mmHg"``,
``"2 lb/day"`` or ``"90 min"``. :func:`to_si` parses it with pint and converts it to the SI unit of
the expected *kind*; a value of the wrong dimension raises :class:`UnitError`, whose message names
what was expected, e.g. ``expected a volume, got 5 kg``.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KINDS", "Kind", "UnitError", "format_duration", "format_quantity", "time_text", "to_si", "unit_registry"]


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


@functools.cache
def unit_registry():
    """The one pint registry, created on first use (importing Safehaven does no work).

    Building pint's registry parses its whole definitions file (~0.3 s); pint caches the parsed
    result in a folder, here ``cache_dir()/pint``, so later processes load it in ~20 ms. When
    that folder cannot be written or the cache cannot be read, the registry is built without it.
    """
    pint = _import_pint()
    folder = cache_dir() / "pint"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=folder)
    except Exception:  # an unwritable home, a cache another process is writing, a stale format
        ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.formatter.default_format = "~"
    return ureg


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
    return _parse(text, KINDS[kind])


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

