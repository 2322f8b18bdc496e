"""``--set PATH=VALUE``: change one field of a scenario (or its station) for one run.

PATH is dotted; items of a list that have an ``id`` are addressed by it
(``leaks.prk-crack.rate``, ``crew.fe1.at``), other list items by index (``checks.0.within``);
``station.…`` reaches into the station file and ``run.I.procedure.…`` into the procedure file that
run entry I names (``run.0.procedure.phases.repair.0.success``), so every field of every file a run
reads can be set. VALUE is read as YAML (``"4 lb/day"``, ``false``,
``[a, b]``), with the same safety limits as files. The changed document is then validated exactly
like the file, and a problem in an overridden value names the ``--set`` it came from.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from sim.errors import InputError, Problem
from sim.scenario.validation import did_you_mean
from sim.scenario.yamlio import Document, parse_yaml

__all__ = ["apply_overrides", "parse_override", "split_procedure_overrides", "split_station_overrides"]


def parse_override(text: str, where: str | None = None) -> tuple[tuple[str | int, ...], Any]:
    """Split ``PATH=VALUE`` into a path tuple and a value.

    Parameters
    ----------
    text : str
        ``PATH=VALUE``.
    where : str, optional
        How to name the setting in messages (default ``--set TEXT``).

    Raises
    ------
    InputError
        If there is no ``=`` or the path or value cannot be read.
    """
    where = where or f"--set {text}"
    if "=" not in text:
        raise InputError(Problem(where, 0, "", "expected PATH=VALUE, e.g. leaks.prk-crack.rate='4 lb/day'"))
    path_text, value_text = text.split("=", 1)
    parts = tuple(p for p in path_text.strip().split("."))
    if not path_text.strip() or any(not p for p in parts):
        raise InputError(Problem(where, 0, "", f"invalid path {path_text!r}: expected names joined by dots"))
    try:
        value = parse_yaml(f"v: {value_text}\n" if value_text.strip() else "v: ''\n", where).data["v"]
    except InputError as exc:
        raise InputError(Problem(where, 0, path_text, f"cannot read the value {value_text!r}: "
                                 f"{exc.problems[0].message}")) from None
    return parts, value


def split_station_overrides(overrides: Iterable[str]) -> tuple[list[str], list[str]]:
    """(scenario overrides, station overrides with the ``station.`` prefix removed)."""
    scenario, station = [], []
    for text in overrides:
        if text.strip().startswith("station."):
            station.append(text.strip()[len("station."):])
        else:
            scenario.append(text)
    return scenario, station


def split_procedure_overrides(overrides: Iterable[str]) -> tuple[list[str], dict[int, list[str]]]:
    """(other overrides, ``{run entry index: overrides of its procedure file, prefix removed}``).

    ``run.0.procedure=other.yaml`` (the file itself) stays with the scenario's own overrides;
    ``run.0.procedure.phases.x.0.success=false`` (a field inside the file) goes to run entry 0.
    """
    own: list[str] = []
    inside: dict[int, list[str]] = {}
    for text in overrides:
        path = text.split("=", 1)[0].strip()
        parts = path.split(".")
        if len(parts) > 3 and parts[0] == "run" and parts[1].isdigit() and parts[2] == "procedure":
            inside.setdefault(int(parts[1]), []).append(text.strip()[len(".".join(parts[:3])) + 1:])
        else:
            own.append(text)
    return own, inside


def apply_overrides(doc: Document, overrides: Iterable[str], prefix: str = "") -> Document:
    """A copy of *doc* with every override applied (the original is left untouched)."""
    out = Document(doc.file, copy.deepcopy(doc.data), dict(doc.lines), doc.path, dict(doc.origins))
    problems: list[Problem] = []
    for text in overrides:
        where = f"--set {prefix}{text}"
        try:
            parts, value = parse_override(text, where)
            for loc in _set(out.data, parts, value, where):
                out.origins[loc] = where
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return out


def _set(data: Any, parts: tuple[str, ...], value: Any, where: str) -> list[tuple]:
    """Set the value; returns the paths that now come from this setting (the value's, and a section it created)."""
    node, loc, created = data, [], []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            key: str | int = part
            if last:
                node[key] = value
                return [*created, (*loc, key)]
            if (depth == 0 or created) and key not in node:
                # An optional section the file leaves out (output, limits, initial.hatches, ...): the
                # setting creates it, and validation then checks the names like any key of the file.
                node[key] = {}
                created = created or [(*loc, key)]
            if key not in node:
                raise InputError(Problem(where, 0, ".".join(parts[: depth + 1]),
                                         f"no '{key}' here{did_you_mean(key, map(str, node))}"))
            node = node[key]
        elif isinstance(node, list):
            key = _list_key(node, part, where, parts[: depth + 1])
            if last:
                node[key] = value
                return [*created, (*loc, key)]
            node = node[key]
        else:
            raise InputError(Problem(where, 0, ".".join(parts[:depth]), "is a single value; it has no fields"))
        loc.append(key)
    raise AssertionError("unreachable")


def _list_key(items: list, part: str, where: str, path: tuple) -> int:
    ids = [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id") is not None]
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("id") == part:
            return i
    if part.isdigit():
        if int(part) < len(items):
            return int(part)
        message = f"no item {part}: the list has {len(items)} item{'s' if len(items) != 1 else ''}"
    elif ids:
        message = f"no item with id '{part}'{did_you_mean(part, ids)}"
    elif not items:
        message = f"no item with id '{part}': the list is empty"
    else:
        message = f"no item with id '{part}': its items have no ids; use an index from 0 to {len(items) - 1}"
    raise InputError(Problem(where, 0, ".".join(path), message))
