"""One flat row of outcome metrics per run, from its summary (summary.json as a dict).

The row has headline columns, always present and in this order (:data:`HEADLINE`):

``outcome``            the summary's outcome (str)
``sim_status``         the summary's status (``ok`` or ``failed``)
``checks_passed``      every check passed (bool)
``checks_failed``      how many checks failed (float, a count)
``p_min_Pa``           the lowest total pressure anywhere [Pa]
``p_min_at``           where it happened (compartment id)
``leaked_kg``          gas lost through leaks [kg]
``gas_used_kg``        make-up gas drawn from every supply [kg]
``treserve_s``         Treserve at its first measurement (``treserve_first_s``) [s], NaN if never measured
``time_to_shelter_s``  when the last of the crew that a step sent to a shelter got there (the summary's
                       ``time_to_shelter_s``) [s]; inf if one of them never did, NaN if nobody was sent
                       (crew whose role does not shelter, such as a repair team, do not count)
``reserve_floor_t_s``  first time any compartment fell below the reserve floor [s], NaN if none did
``n_alarms``           alarms raised (float, a count)

then detail columns named by their dotted place in the summary, every scalar leaf of the sections
``compartments``, ``leaks``, ``crew`` and ``gas.supplies`` (``compartments.prk.p_min_Pa``,
``leaks.prk-crack.repaired_s``, ``crew.cdr.<key>``), and per check ``checks.<name>.passed`` and
``checks.<name>.margin``. Keys that later versions of the summary add appear on their own;
every key is read with ``.get`` so a summary lacking one gives NaN (or null), not an error.

Conventions: ``"inf"``/``"nan"`` strings of the summary become floats; a missing or ``None``
number is NaN; lists become JSON text.

A failed run. When the atmosphere solver stopped (summary ``status`` "failed"), the metrics are those
of the summary it returned: values up to the moment it stopped. When the run could not be set up or
raised (an override that does not validate, an internal error), there is no summary and
:func:`failed_row` holds NaN for every number and null for ``outcome``, ``checks_passed`` and
``p_min_at``; the sweep row's ``status`` is ``failed`` and ``error`` says why.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["HEADLINE", "failed_row", "metrics_row"]

HEADLINE = (
    "outcome", "sim_status", "checks_passed", "checks_failed", "p_min_Pa", "p_min_at", "leaked_kg",
    "gas_used_kg", "treserve_s", "time_to_shelter_s", "reserve_floor_t_s", "n_alarms",
)
_TEXT = {"outcome", "sim_status", "p_min_at"}
_SHELTER_KEYS = ("sheltered_s", "sheltered_at_s", "sheltered_at", "time_to_shelter_s", "in_shelter_s")


def _num(x: Any) -> float:
    """A float from a summary number (``"inf"``, ``None`` and junk become inf/NaN)."""
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return math.nan
    return math.nan


def _leaf(x: Any) -> Any:
    if x is None or isinstance(x, bool | str):
        return x
    if isinstance(x, int | float):
        return float(x)
    return json.dumps(x, sort_keys=True, default=str)


def _flatten(prefix: str, node: Any, out: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}", value, out)
        return
    value = _leaf(node)
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        value = float(value)
    out[prefix] = value


def metrics_row(summary: dict[str, Any]) -> dict[str, Any]:
    """The metrics of one run (see the module docstring for the columns)."""
    s = summary
    station = s.get("station") or {}
    gas = s.get("gas") or {}
    checks = s.get("checks") or []
    supplies = gas.get("supplies") or {}
    row: dict[str, Any] = {
        "outcome": s.get("outcome"),
        "sim_status": s.get("status"),
        "checks_passed": s.get("checks_passed"),
        "checks_failed": float(sum(1 for c in checks if not c.get("passed"))),
        "p_min_Pa": _num(station.get("p_min_Pa")),
        "p_min_at": station.get("p_min_at"),
        "leaked_kg": _num(gas.get("leaked_kg")),
        "gas_used_kg": float(sum(_num((v or {}).get("used_kg")) for v in supplies.values())),
        "treserve_s": _num(s.get("treserve_first_s", s.get("treserve_s"))),
        "time_to_shelter_s": (_num(s["time_to_shelter_s"]) if "time_to_shelter_s" in s
                              else _time_to_shelter(s.get("crew"))),
        "reserve_floor_t_s": _first_floor(s.get("compartments") or {}),
        "n_alarms": float(len(s.get("alarms") or [])),
    }
    for section in ("compartments", "leaks", "crew"):
        node = s.get(section)
        if isinstance(node, dict):
            _flatten(section, node, row)
    _flatten("gas.supplies", supplies, row)
    for i, c in enumerate(checks):
        name = str(c.get("check") or c.get("expect") or i)
        if f"checks.{name}.passed" in row:
            name = f"{name}.{i}"
        row[f"checks.{name}.passed"] = c.get("passed")
        row[f"checks.{name}.margin"] = _num(c.get("margin"))
    return row


def _time_to_shelter(crew: Any) -> float:
    """For summaries written before ``time_to_shelter_s`` existed: the last of every crew member."""
    if not isinstance(crew, dict) or not crew:
        return math.nan
    times = []
    for member in crew.values():
        if not isinstance(member, dict):
            return math.nan
        t = next((member[k] for k in _SHELTER_KEYS if k in member), None)
        if t is None:
            return math.nan
        times.append(_num(t))
    return max(times)


def _first_floor(compartments: dict) -> float:
    times = [_num(c.get("reserve_floor_t_s")) for c in compartments.values() if isinstance(c, dict)
             and c.get("reserve_floor_t_s") is not None]
    return min(times) if times else math.nan


def failed_row() -> dict[str, Any]:
    """The headline metrics of a run that produced no summary: NaN numbers, null text and flags."""
    return {k: (None if k in _TEXT or k == "checks_passed" else math.nan) for k in HEADLINE}
