"""safehaven compare: golden output on two ISS runs (regenerate: tests/data/golden/regenerate.py)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from sim.cli_report import main
from sim.compare import compare_runs, first_divergence
from sim.results.reader import read_run

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


def _close(got, want, path="") -> list[str]:
    """Differences between two JSON values; numbers within rtol 1e-6 (scipy-style scaled error)."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or got.keys() != want.keys():
            return [f"{path}: keys {sorted(got) if isinstance(got, dict) else got} != {sorted(want)}"]
        return [d for k in want for d in _close(got[k], want[k], f"{path}.{k}")]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: {got} != {want}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in _close(g, w, f"{path}[{i}]")]
    if isinstance(want, float | int) and not isinstance(want, bool) and isinstance(got, float | int):
        err = abs(got - want) / (1e-9 + 1e-6 * abs(want))
        return [] if err < 1 or (math.isinf(want) and got == want) else [f"{path}: {got} != {want}"]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def test_compare_matches_golden(iss_run, iss_variant):
    cmp = compare_runs(read_run(iss_run), read_run(iss_variant), labels=("base", "what-if"))
    want = json.loads((GOLDEN / "compare-iss.json").read_text())
    assert _close(json.loads(json.dumps(cmp)), want) == []
    sys.path.insert(0, str(GOLDEN))
    try:
        from regenerate import render_text
    finally:
        sys.path.remove(str(GOLDEN))
    assert render_text(cmp) == (GOLDEN / "compare-iss.txt").read_text()


def test_compare_story(iss_run, iss_variant):
    """The what-if is a bigger hole and the hatch closed 5 min later: the story parts at the hatch,
    not at the hole's CdA at 00:05:00 (the amount the what-if itself changed)."""
    a, b = read_run(iss_run), read_run(iss_variant)
    cmp = compare_runs(a, b)
    (d,) = cmp["divergence"]
    assert not d["same_story"]
    assert d["a"]["kind"] == "hatch" and d["a"]["t"] == 900.0 and d["b"]["t"] == 1200.0
    assert d["fields"] == ["t"]
    assert "leak_start.cda_m2" in d["amounts_differ"]
    raw = first_divergence(a.events, b.events)  # the byte-level view still sees the CdA first
    assert raw["t_s"] == 300.0 and raw["a"]["kind"] == "leak_start" and raw["fields"] == ["cda_m2"]
    assert cmp["runs"][1]["overrides"] == ["leaks.prk-hole.area=0.4 cm^2", "events.0.at=20 min"]
    pa, pb = cmp["compartments"]["prk"]["p_min_Pa"]["values"]
    assert pb < pa and cmp["compartments"]["prk"]["differs"]
    leaked = next(m for m in cmp["milestones"] if m["key"] == "gas.leaked_kg")
    assert leaked["values"][1] > leaked["values"][0] and leaked["deltas"][1].endswith(" kg")


def test_compare_same_run_has_no_divergence(two_run, capsys):
    a = read_run(two_run)
    assert first_divergence(a.events, a.events) is None
    assert main(["compare", str(two_run), str(two_run)]) == 0
    assert "Timelines of A and B: the same events in the same order at the same times." in capsys.readouterr().out
    assert main(["compare", str(two_run), str(two_run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["divergence"] == [
        {"label": "B", "same_story": True, "amounts_differ": []}]
