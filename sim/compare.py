"""Two runs side by side: outcome, margins, checks, and where the timelines part.

:func:`compare_runs` works on anything with ``.summary`` (a dict), ``.events`` (a list of dicts or
an :class:`~sim.results.events.EventLog`) and, optionally, ``.manifest``: a run directory read back
with :func:`sim.results.reader.read_run` or an in-memory :class:`~sim.engine.RunResult`. It returns
a JSON-ready dict; :func:`render_comparison` prints it as tables.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["compare_runs", "first_divergence", "render_comparison"]

_RTOL = 1e-6
"""Relative tolerance under which two event values are taken as equal (solver round-off)."""

_IGNORED_KINDS = frozenset({"run_start"})
"""Events that describe the run rather than what happened in it (seed, name): not compared."""


def _num(x: Any) -> float | None:
    """A summary value as a float: None stays None, "inf" becomes inf."""
    if x is None:
        return None
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return float(x)


def _delta(a: Any, b: Any) -> float | None:
    a, b = _num(a), _num(b)
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return float(f"{b - a:.6g}")


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


def first_divergence(events_a: list[dict], events_b: list[dict]) -> dict[str, Any] | None:
    """The first event at which two timelines part, or None when they agree throughout.

    Events are compared in order, ``run_start`` excluded; numbers agree within a relative
    tolerance of 1e-6.

    Returns
    -------
    dict or None
        ``index_a``, ``index_b`` (positions in each events.jsonl, 0-based), ``t_s`` (the earlier
        of the two events' times) [s], ``a`` and ``b`` (the events, None past the end of a log),
        and ``fields`` (the fields that differ).
    """
    ia = [(i, e) for i, e in enumerate(events_a) if e.get("kind") not in _IGNORED_KINDS]
    ib = [(i, e) for i, e in enumerate(events_b) if e.get("kind") not in _IGNORED_KINDS]
    for k in range(max(len(ia), len(ib))):
        a = ia[k] if k < len(ia) else (None, None)
        b = ib[k] if k < len(ib) else (None, None)
        if a[1] is not None and b[1] is not None and _same(a[1], b[1]):
            continue
        times = [e["t"] for e in (a[1], b[1]) if e is not None]
        fields = []
        if a[1] is not None and b[1] is not None:
            keys = dict.fromkeys([*a[1], *b[1]])
            fields = [key for key in keys if not _same(a[1].get(key), b[1].get(key))]
        return {"index_a": a[0], "index_b": b[0], "t_s": min(times), "a": a[1], "b": b[1], "fields": fields}
    return None


def compare_runs(a, b, labels: tuple[str, str] = ("A", "B")) -> dict[str, Any]:
    """Compare two runs.

    Parameters
    ----------
    a, b : RunRecord or RunResult
        The runs.
    labels : (str, str)
        Names for them in the output.

    Returns
    -------
    dict
        ``runs`` (label, scenario, seed, status, outcome, overrides), ``compartments`` (minimum
        pressure [Pa], when [s], reserve-floor crossing [s], per compartment), ``station`` (the
        lowest pressure and Treserve), ``crew`` (time to shelter [s], worst status, per member),
        ``gas`` (leaked and used per supply [kg]), ``checks`` (passed and margin per check),
        ``leaks``, ``divergence`` (see :func:`first_divergence`) and ``same_outcome``.
    """
    sa, sb = a.summary, b.summary
    out: dict[str, Any] = {"runs": []}
    for label, run, s in ((labels[0], a, sa), (labels[1], b, sb)):
        manifest = getattr(run, "manifest", None) or {}
        overrides = manifest.get("overrides")
        if overrides is None:
            overrides = list(getattr(run, "extra", {}).get("overrides", []))
        out["runs"].append({
            "label": label, "scenario": s.get("scenario"), "seed": s.get("seed"), "status": s.get("status"),
            "outcome": s.get("outcome"), "checks_passed": s.get("checks_passed"), "overrides": list(overrides),
        })
    out["same_outcome"] = sa.get("outcome") == sb.get("outcome") and sa.get("checks_passed") == sb.get("checks_passed")
    comps = {}
    for name in dict.fromkeys([*sa.get("compartments", {}), *sb.get("compartments", {})]):
        ca, cb = sa.get("compartments", {}).get(name, {}), sb.get("compartments", {}).get(name, {})
        comps[name] = {
            "p_min_Pa": [ca.get("p_min_Pa"), cb.get("p_min_Pa"), _delta(ca.get("p_min_Pa"), cb.get("p_min_Pa"))],
            "p_min_t_s": [ca.get("p_min_t_s"), cb.get("p_min_t_s")],
            "reserve_floor_t_s": [ca.get("reserve_floor_t_s"), cb.get("reserve_floor_t_s"),
                                  _delta(ca.get("reserve_floor_t_s"), cb.get("reserve_floor_t_s"))],
        }
    out["compartments"] = comps
    sta, stb = sa.get("station", {}), sb.get("station", {})
    out["station"] = {
        "p_min_Pa": [sta.get("p_min_Pa"), stb.get("p_min_Pa"), _delta(sta.get("p_min_Pa"), stb.get("p_min_Pa"))],
        "p_min_at": [sta.get("p_min_at"), stb.get("p_min_at")],
        "treserve_s": [sa.get("treserve_first_s"), sb.get("treserve_first_s"),
                       _delta(sa.get("treserve_first_s"), sb.get("treserve_first_s"))],
    }
    crew = {}
    for cid in dict.fromkeys([*(sa.get("crew") or {}), *(sb.get("crew") or {})]):
        ma, mb = (sa.get("crew") or {}).get(cid, {}), (sb.get("crew") or {}).get(cid, {})
        crew[cid] = {
            "sheltered_s": [ma.get("sheltered_s"), mb.get("sheltered_s"),
                            _delta(ma.get("sheltered_s"), mb.get("sheltered_s"))],
            "location": [ma.get("location"), mb.get("location")],
            "worst_status": [ma.get("worst_status"), mb.get("worst_status")],
            "min_ppO2_Pa": [ma.get("min_ppO2_Pa"), mb.get("min_ppO2_Pa"),
                            _delta(ma.get("min_ppO2_Pa"), mb.get("min_ppO2_Pa"))],
        }
    out["crew"] = crew
    ga, gb = sa.get("gas", {}), sb.get("gas", {})
    supplies = {}
    for sid in dict.fromkeys([*ga.get("supplies", {}), *gb.get("supplies", {})]):
        ua = ga.get("supplies", {}).get(sid, {}).get("used_kg")
        ub = gb.get("supplies", {}).get(sid, {}).get("used_kg")
        supplies[sid] = [ua, ub, _delta(ua, ub)]
    out["gas"] = {"leaked_kg": [ga.get("leaked_kg"), gb.get("leaked_kg"), _delta(ga.get("leaked_kg"), gb.get("leaked_kg"))],
                  "supplies_used_kg": supplies}
    leaks = {}
    for lid in dict.fromkeys([*sa.get("leaks", {}), *sb.get("leaks", {})]):
        la, lb = sa.get("leaks", {}).get(lid, {}), sb.get("leaks", {}).get(lid, {})
        leaks[lid] = {key: [la.get(key), lb.get(key)]
                      for key in dict.fromkeys([*la, *lb]) if key != "at"}
    out["leaks"] = leaks
    checks = {}
    ca = {c["check"]: c for c in sa.get("checks", [])}
    cb = {c["check"]: c for c in sb.get("checks", [])}
    for name in dict.fromkeys([*ca, *cb]):
        x, y = ca.get(name), cb.get(name)
        checks[name] = {
            "passed": [x["passed"] if x else None, y["passed"] if y else None],
            "margin": [x["margin"] if x else None, y["margin"] if y else None],
            "detail": [x["detail"] if x else None, y["detail"] if y else None],
        }
    out["checks"] = checks
    out["divergence"] = first_divergence(_events(a), _events(b))
    return out


def _kpa(x) -> str:
    x = _num(x)
    return "-" if x is None else f"{x / 1000:.2f}"


def _time(x) -> str:
    from sim.units import format_duration

    x = _num(x)
    return "-" if x is None else format_duration(x)


def _signed(x, scale: float = 1.0, fmt: str = "{:+.2f}") -> str:
    return "" if x is None else fmt.format(x / scale)


def _event_text(e: dict | None) -> str:
    if e is None:
        return "(no more events)"
    details = ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "kind"))
    return f"{_time(e['t'])} {e['kind']} {details}".rstrip()


def render_comparison(console, cmp: dict[str, Any]) -> None:
    """Print a comparison made by :func:`compare_runs` as rich tables."""
    from rich.table import Table

    A, B = cmp["runs"][0]["label"], cmp["runs"][1]["label"]
    t = Table(title="Runs", title_justify="left")
    for col in ("", "scenario", "seed", "status", "outcome", "checks", "overrides"):
        t.add_column(col)
    for r in cmp["runs"]:
        checks = {True: "all pass", False: "FAILED", None: "-"}[r["checks_passed"]]
        t.add_row(r["label"], str(r["scenario"]), str(r["seed"]), str(r["status"]), str(r["outcome"]), checks,
                  "; ".join(r["overrides"]) or "-")
    console.print(t)

    t = Table(title="Margins: minimum pressure per compartment (kPa) and reserve-floor crossing",
              title_justify="left")
    for col, j in (("compartment", "left"), (f"{A} min", "right"), (f"{B} min", "right"), ("B-A", "right"),
                   (f"{A} floor at", "right"), (f"{B} floor at", "right")):
        t.add_column(col.replace("B-A", f"{B}-{A}"), justify=j)
    for name, c in cmp["compartments"].items():
        pa, pb, d = c["p_min_Pa"]
        fa, fb, _ = c["reserve_floor_t_s"]
        t.add_row(name, _kpa(pa), _kpa(pb), _signed(d, 1000), _time(fa) if fa is not None else "not reached",
                  _time(fb) if fb is not None else "not reached")
    st = cmp["station"]
    t.add_row("[bold]station[/bold]", _kpa(st["p_min_Pa"][0]), _kpa(st["p_min_Pa"][1]),
              _signed(st["p_min_Pa"][2], 1000), "", "")
    console.print(t)

    t = Table(title="Margins: Treserve, crew, gas", title_justify="left")
    for col, j in (("quantity", "left"), (A, "right"), (B, "right"), (f"{B}-{A}", "right")):
        t.add_column(col, justify=j)
    tr = st["treserve_s"]
    t.add_row("Treserve at first measurement", _time(tr[0]), _time(tr[1]), _signed(tr[2], 1, "{:+.0f} s"))
    for cid, c in cmp["crew"].items():
        sa, sb, d = c["sheltered_s"]
        t.add_row(f"{cid}: time to shelter", _time(sa) if sa is not None else "never",
                  _time(sb) if sb is not None else "never", _signed(d, 1, "{:+.0f} s"))
        t.add_row(f"{cid}: worst status", str(c["worst_status"][0]), str(c["worst_status"][1]), "")
        t.add_row(f"{cid}: ended in", str(c["location"][0]), str(c["location"][1]), "")
    lk = cmp["gas"]["leaked_kg"]
    t.add_row("gas leaked (kg)", _fmt(lk[0]), _fmt(lk[1]), _signed(lk[2], 1, "{:+.3g}"))
    for sid, (ua, ub, d) in cmp["gas"]["supplies_used_kg"].items():
        t.add_row(f"{sid} used (kg)", _fmt(ua), _fmt(ub), _signed(d, 1, "{:+.3g}"))
    console.print(t)

    if cmp["checks"]:
        t = Table(title="Checks", title_justify="left")
        for col in ("check", A, f"{A} margin", B, f"{B} margin"):
            t.add_column(col)
        mark = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "-"}
        for name, c in cmp["checks"].items():
            t.add_row(name, mark[c["passed"][0]], str(c["margin"][0] if c["margin"][0] is not None else "-"),
                      mark[c["passed"][1]], str(c["margin"][1] if c["margin"][1] is not None else "-"))
        console.print(t)

    d = cmp["divergence"]
    if d is None:
        console.print("Timelines: identical (no event differs).")
    else:
        ia = "-" if d["index_a"] is None else f"#{d['index_a']}"
        ib = "-" if d["index_b"] is None else f"#{d['index_b']}"
        console.print(f"Timelines part at {_time(d['t_s'])} (event {ia} of {A}, {ib} of {B}):")
        console.print(f"  {A}: {_event_text(d['a'])}", markup=False)
        console.print(f"  {B}: {_event_text(d['b'])}", markup=False)
        if d["fields"]:
            console.print(f"  differing fields: {', '.join(d['fields'])}", markup=False)


def _fmt(x) -> str:
    x = _num(x)
    return "-" if x is None else f"{x:.4g}"
