"""Two or more runs side by side, for a planner: milestones, margins, checks, where the story parts.

:func:`compare_runs` works on anything with ``.summary`` (a dict), ``.events`` (a list of dicts or
an :class:`~sim.results.events.EventLog`) and, optionally, ``.series`` and ``.manifest``: a run
directory read back with :func:`sim.results.reader.read_run` or an in-memory
:class:`~sim.engine.RunResult`. The first run is the reference; every other run is compared with
it. It returns a JSON-ready dict; :func:`render_comparison` prints it as tables.

**What is listed.** A milestone, a compartment's minimum pressure or a check is listed when its
value, written as a reader sees it (HH:MM:SS, kPa to 0.01, kg to 3 digits), differs between the
runs; the ones that are the same in every run are named on one line. **Where the timelines part**
is the first event at which the story differs: another kind of event, another actor, place or
state, or the same event more than :data:`TIME_TOLERANCE_S` later or earlier. Amounts carried by
events (a leak's CdA, a measured value, a random repair duration) are not the story: that the
leak is larger is what the what-if says, and what it changes shows in the milestones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sim.report.formats import check_margin_kind, delta_text, margin_text, value_text
from sim.results.milestones import milestones
from sim.units import time_text

__all__ = ["TIME_TOLERANCE_S", "compare_runs", "compartment_groups", "first_divergence", "group_name", "render_comparison", "story_divergence"]

TIME_TOLERANCE_S = 0.5
"""Two events of the same story more than this apart in time [s] part the timelines (half the
one-second resolution of HH:MM:SS)."""

_RTOL = 1e-6
"""Relative tolerance under which two event values are taken as equal (solver round-off)."""

_IGNORED_KINDS = frozenset({"run_start"})
"""Events that describe the run rather than what happened in it (seed, name): not compared."""


def _events(run) -> list[dict]:
    ev = run.events
    return list(getattr(ev, "events", ev))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=_RTOL, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _divergence(events_a: list[dict], events_b: list[dict], same_event) -> dict[str, Any] | None:
    ia = [(i, e) for i, e in enumerate(events_a) if e.get("kind") not in _IGNORED_KINDS]
    ib = [(i, e) for i, e in enumerate(events_b) if e.get("kind") not in _IGNORED_KINDS]
    for k in range(max(len(ia), len(ib))):
        a = ia[k] if k < len(ia) else (None, None)
        b = ib[k] if k < len(ib) else (None, None)
        if a[1] is not None and b[1] is not None and same_event(a[1], b[1]):
            continue
        times = [e["t"] for e in (a[1], b[1]) if e is not None]
        fields = []
        if a[1] is not None and b[1] is not None:
            keys = dict.fromkeys([*a[1], *b[1]])
            fields = [key for key in keys if not _same(a[1].get(key), b[1].get(key))]
        return {"index_a": a[0], "index_b": b[0], "t_s": min(times), "a": a[1], "b": b[1], "fields": fields}
    return None


def first_divergence(events_a: list[dict], events_b: list[dict]) -> dict[str, Any] | None:
    """The first event that differs in any field, or None when the logs agree throughout.

    Events are compared in order, ``run_start`` excluded; numbers agree within a relative
    tolerance of 1e-6. This is the byte-level view (used to say where a replay went wrong); a
    planner wants :func:`story_divergence`.

    Returns
    -------
    dict or None
        ``index_a``, ``index_b`` (positions in each events.jsonl, 0-based), ``t_s`` (the earlier
        of the two events' times) [s], ``a`` and ``b`` (the events, None past the end of a log),
        and ``fields`` (the fields that differ).
    """
    return _divergence(events_a, events_b, _same)


def _is_amount(key: str, value: Any) -> bool:
    return key != "t" and isinstance(value, float)


def _same_story(a: dict, b: dict) -> bool:
    if abs(float(a["t"]) - float(b["t"])) > TIME_TOLERANCE_S:
        return False
    keys = dict.fromkeys([*a, *b])
    for key in keys:
        if key == "t":
            continue
        x, y = a.get(key), b.get(key)
        if _is_amount(key, x) and _is_amount(key, y):
            continue
        if not _same(x, y):
            return False
    return True


def story_divergence(events_a: list[dict], events_b: list[dict]) -> dict[str, Any] | None:
    """The first event at which the story of two runs differs, or None when it is the same.

    Two events tell the same story when they are of the same kind, with the same non-numeric
    fields (who, where, which hatch, which state, which branch) and times within
    :data:`TIME_TOLERANCE_S`; their other numbers (amounts: CdA, measured values, durations drawn
    at random) may differ. Returns the same fields as :func:`first_divergence`, plus
    ``amounts_differ``: the ``kind.field`` amounts that differ before that point.
    """
    d = _divergence(events_a, events_b, _same_story)
    stop = d["index_a"] if d is not None and d["index_a"] is not None else len(events_a)
    amounts: dict[str, None] = {}
    for ea, eb in zip(events_a[:stop], events_b[:stop], strict=False):
        if ea.get("kind") in _IGNORED_KINDS or ea.get("kind") != eb.get("kind"):
            continue
        for key, value in ea.items():
            if _is_amount(key, value) and _is_amount(key, eb.get(key)) and not _same(value, eb[key]):
                amounts[f"{ea['kind']}.{key}"] = None
    if d is None:
        return {"same_story": True, "amounts_differ": list(amounts)}
    return d | {"same_story": False, "amounts_differ": list(amounts)}


def _run_info(label: str, run) -> dict[str, Any]:
    s = run.summary
    manifest = getattr(run, "manifest", None) or {}
    overrides = manifest.get("overrides")
    if overrides is None:
        overrides = list(getattr(run, "extra", {}).get("overrides", []))
    return {"label": label, "scenario": s.get("scenario"), "seed": s.get("seed"), "status": s.get("status"),
            "outcome": s.get("outcome"), "checks_passed": s.get("checks_passed"), "overrides": list(overrides)}


def _row(values: list[Any], kind: str, none: str = "-") -> dict[str, Any]:
    texts = [value_text(v, kind, none) for v in values]
    return {"values": values, "text": texts, "deltas": [None] + [delta_text(values[0], v, kind) or None
                                                              for v in values[1:]],
            "differs": len(set(texts)) > 1}


def compare_runs(*runs, labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Compare two or more runs; the first is the reference.

    Parameters
    ----------
    *runs : RunRecord or RunResult
        The runs (at least two).
    labels : sequence of str, optional
        Names for them in the output (default ``A``, ``B``, ``C``…).

    Returns
    -------
    dict
        ``runs`` (label, scenario, seed, status, outcome, checks_passed, overrides);
        ``milestones``: one entry per milestone (``key``, ``label``, ``kind``, ``values`` in SI,
        ``text`` as written, ``deltas`` against the first run as written, ``differs``, ``notes``);
        ``compartments``: per compartment the minimum pressure [Pa], when [s] and the
        reserve-floor crossing [s], each with ``values``/``text``/``deltas``/``differs``;
        ``checks``: per check ``passed``, ``margin`` (SI), ``margin_text`` (with its unit),
        ``margin_kind``, ``detail``, ``differs``; ``divergence``: one entry per run after the
        first (:func:`story_divergence` against the first, with ``label``); ``same_outcome``.
    """
    if len(runs) < 2:
        raise ValueError("compare_runs needs at least two runs")
    labels = list(labels) if labels is not None else [chr(ord("A") + k) if k < 26 else f"run{k}"
                                                      for k in range(len(runs))]
    if len(labels) != len(runs):
        raise ValueError(f"{len(runs)} runs but {len(labels)} labels")
    summaries = [r.summary for r in runs]
    out: dict[str, Any] = {"runs": [_run_info(lab, r) for lab, r in zip(labels, runs, strict=True)]}
    out["same_outcome"] = len({(s.get("outcome"), s.get("checks_passed")) for s in summaries}) == 1

    per_run = [milestones(r) for r in runs]
    keys = list(dict.fromkeys(m.key for ms in per_run for m in ms))
    rows = []
    for key in keys:
        found = [next((m for m in ms if m.key == key), None) for ms in per_run]
        first = next(m for m in found if m is not None)
        row = _row([m.value if m is not None else None for m in found], first.kind, first.none)
        # the none-text of each run's own milestone ("never sealed" vs "not in this run's summary")
        row["text"] = [value_text(m.value, m.kind, m.none) if m is not None else "-" for m in found]
        row["differs"] = len(set(row["text"])) > 1
        rows.append({"key": key, "label": first.label, "kind": first.kind, "core": first.core, **row,
                     "notes": [m.note if m is not None else "" for m in found]})
    out["milestones"] = rows

    comps = {}
    names = list(dict.fromkeys(n for s in summaries for n in s.get("compartments", {})))
    for name in names:
        cs = [s.get("compartments", {}).get(name, {}) for s in summaries]
        comps[name] = {
            "p_min_Pa": _row([c.get("p_min_Pa") for c in cs], "pressure"),
            "p_min_t_s": _row([c.get("p_min_t_s") for c in cs], "time"),
            "reserve_floor_t_s": _row([c.get("reserve_floor_t_s") for c in cs], "time", "not reached"),
        }
        comps[name]["differs"] = any(comps[name][k]["differs"] for k in ("p_min_Pa", "reserve_floor_t_s"))
    out["compartments"] = comps

    checks = {}
    by_run = [{c["check"]: c for c in s.get("checks", [])} for s in summaries]
    for name in dict.fromkeys(n for b in by_run for n in b):
        cs = [b.get(name) for b in by_run]
        known = next(c for c in cs if c is not None)
        entry = {
            "expect": known.get("expect"),
            "margin_kind": check_margin_kind(known),
            "passed": [c["passed"] if c else None for c in cs],
            "margin": [c["margin"] if c else None for c in cs],
            "margin_text": [margin_text(c) if c else "-" for c in cs],
            "detail": [c["detail"] if c else None for c in cs],
        }
        entry["differs"] = len({(p, m) for p, m in zip(entry["passed"], entry["margin_text"], strict=True)}) > 1
        checks[name] = entry
    out["checks"] = checks
    base = _events(runs[0])
    out["divergence"] = [{"label": labels[k], **story_divergence(base, _events(runs[k]))}
                         for k in range(1, len(runs))]
    return out


def _event_text(e: dict | None) -> str:
    if e is None:
        return "(no more events)"
    details = ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "kind"))
    return f"{time_text(e['t'])} {e['kind']} {details}".rstrip()


def _value_columns(labels: list[str]) -> list[tuple[str, str]]:
    cols = [(labels[0], "right")]
    for lab in labels[1:]:
        cols += [(lab, "right"), (f"{lab} − {labels[0]}", "right")]
    return cols


def _cells(row: dict) -> list[str]:
    cells = [row["text"][0]]
    for text, delta in zip(row["text"][1:], row["deltas"][1:], strict=True):
        cells += [text, delta or ""]
    return cells


def compartment_groups(cmp: dict[str, Any]) -> list[tuple[list[str], dict]]:
    """Compartments whose lowest pressure reads the same in every run, grouped (one row each)."""
    groups: dict[tuple, tuple[list[str], dict]] = {}
    for name, c in cmp["compartments"].items():
        if not c["differs"]:
            continue
        key = (tuple(c["p_min_Pa"]["text"]), tuple(c["reserve_floor_t_s"]["text"]))
        groups.setdefault(key, ([], c))[0].append(name)
    return list(groups.values())


def group_name(names: list[str], limit: int = 4) -> str:
    return ", ".join(names) if len(names) <= limit else f"{', '.join(names[:limit])} and {len(names) - limit} more"


def render_comparison(console, cmp: dict[str, Any]) -> None:
    """Print a comparison made by :func:`compare_runs` as rich tables.

    The planner's milestones are always shown side by side; other quantities, compartments and
    checks only where the runs differ; the timelines part where the story does.
    """
    from rich.table import Table

    labels = [r["label"] for r in cmp["runs"]]
    ref = labels[0]
    scenarios = {r["scenario"] for r in cmp["runs"]}
    if len(scenarios) == 1:
        console.print(f"Scenario: {next(iter(scenarios))}", markup=False)
    t = Table(title="Runs", title_justify="left")
    cols = ["run", *([] if len(scenarios) == 1 else ["scenario"]), "seed", "status", "outcome", "checks", "overrides"]
    for col in cols:
        t.add_column(col, overflow="fold")
    for r in cmp["runs"]:
        checks = {True: "all pass", False: "FAILED", None: "-"}[r["checks_passed"]]
        cells = [r["label"], *([] if len(scenarios) == 1 else [str(r["scenario"])]), str(r["seed"]),
                 str(r["status"]), str(r["outcome"]), checks, "; ".join(r["overrides"]) or "-"]
        t.add_row(*cells)
    console.print(t)

    rows = [m for m in cmp["milestones"] if m["core"] or m["differs"]]
    t = Table(title=f"Milestones (differences against {ref}; * differs)", title_justify="left")
    t.add_column("milestone")
    for col, j in _value_columns(labels):
        t.add_column(col, justify=j)
    for m in rows:
        t.add_row(("* " if m["differs"] else "  ") + m["label"], *_cells(m))
    notes = sorted({n for m in rows for n in m["notes"] if n})
    if notes:
        t.caption = "; ".join(notes)
    console.print(t)
    same = [m for m in cmp["milestones"] if not (m["core"] or m["differs"])]
    if same:
        console.print(f"{len(same)} other quantities (per crew member, per gas supply, …) read the same in every "
                      f"run; --json lists them.", markup=False)

    groups = compartment_groups(cmp)
    if groups:
        t = Table(title="Lowest pressure per compartment, where it differs", title_justify="left")
        t.add_column("compartments")
        for col, j in _value_columns(labels):
            t.add_column(col, justify=j)
        floors = any(len(set(c["reserve_floor_t_s"]["text"])) > 1 or c["reserve_floor_t_s"]["values"][0] is not None
                     for _, c in groups)
        if floors:
            for lab in labels:
                t.add_column(f"{lab}: reserve floor crossed", justify="right")
        for names, c in groups:
            t.add_row(group_name(names), *_cells(c["p_min_Pa"]), *(c["reserve_floor_t_s"]["text"] if floors else []))
        if not floors:
            t.caption = "no compartment reached the reserve floor in any run"
        console.print(t)
    unchanged = sum(1 for c in cmp["compartments"].values() if not c["differs"])
    if unchanged:
        console.print(f"{unchanged} compartment(s): the same lowest pressure in every run.", markup=False)

    checks = {n: c for n, c in cmp["checks"].items()}
    if checks:
        t = Table(title="Checks (margin: time to spare, or pressure above the limit; * differs)", title_justify="left")
        t.add_column("check")
        for lab in labels:
            t.add_column(lab)
            t.add_column(f"{lab} margin", justify="right")
        mark = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "-"}
        for name, c in checks.items():
            cells = []
            for passed, margin in zip(c["passed"], c["margin_text"], strict=True):
                cells += [mark[passed], margin]
            t.add_row(("* " if c["differs"] else "  ") + name, *cells)
        console.print(t)

    for d in cmp["divergence"]:
        lab = d["label"]
        if d["same_story"]:
            amounts = (f"; only amounts differ ({', '.join(d['amounts_differ'])}): their effect is in the milestones"
                       if d["amounts_differ"] else "")
            console.print(f"Timelines of {ref} and {lab}: the same events in the same order at the same times"
                          f"{amounts}.", markup=False)
            continue
        ia = "-" if d["index_a"] is None else f"#{d['index_a']}"
        ib = "-" if d["index_b"] is None else f"#{d['index_b']}"
        console.print(f"Timelines of {ref} and {lab} part at {time_text(d['t_s'])} "
                      f"(event {ia} of {ref}, {ib} of {lab}):", markup=False)
        console.print(f"  {ref}: {_event_text(d['a'])}", markup=False)
        console.print(f"  {lab}: {_event_text(d['b'])}", markup=False)
        story = [f for f in d["fields"] if not (d["a"] and d["b"] and _is_amount(f, d["a"].get(f))
                                                and _is_amount(f, d["b"].get(f)))]
        if story:
            console.print(f"  differing: {', '.join('time' if f == 't' else f for f in story)}", markup=False)
