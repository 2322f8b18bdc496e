"""``safehaven compare`` for planners (issue 10 case 9), through the console script, on the flagship.

Seen: a Dragon hatch taking 5 min to close showed ``time to shelter +0 s``; a longer shelter was
not mentioned; margins had no units; the leak's CdA at t=0 filled "where the timelines part".
Every milestone asserted here is cross-checked against the run's own events.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from sim.compare import compare_runs
from sim.results.milestones import milestones
from sim.results.reader import read_run
from tests.conftest import RUNS_ROOT, make_run

FLAGSHIP = RUNS_ROOT / "scenarios" / "iss-prk-2026.yaml"
SAFEHAVEN = Path(sys.executable).with_name("safehaven")
SLOW_HATCH = ("station.hatches.pma2-dragon.close_time=5 min",)
BIG_LEAK = ("leaks.prk-crack.rate=4 lb/day",)


@pytest.fixture(scope="module")
def slow_hatch(runs_dir) -> Path:
    return make_run(runs_dir, "prk-slow-hatch", FLAGSHIP, SLOW_HATCH)


@pytest.fixture(scope="module")
def big_leak(runs_dir) -> Path:
    return make_run(runs_dir, "prk-big-leak", FLAGSHIP, BIG_LEAK)


def _row(cmp, key):
    return next(m for m in cmp["milestones"] if m["key"] == key)


def _sealed(events) -> float:
    return next(e["t"] for e in events if e["kind"] == "sheltered")


def _opened(events, hatch: str, after: float) -> float:
    return next(e["t"] for e in events if e["kind"] == "hatch" and e["hatch"] == hatch and e["state"] == "open"
                and e["t"] >= after)


def safehaven(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(SAFEHAVEN), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={"COLUMNS": "200", "PATH": str(SAFEHAVEN.parent)})


def test_a_slow_shelter_hatch_shows_as_a_later_seal(prk_run, slow_hatch):
    a, b = read_run(prk_run), read_run(slow_hatch)
    cmp = compare_runs(a, b, labels=("base", "slow"))
    sealed = _row(cmp, "shelter.sealed_s")
    assert sealed["values"] == pytest.approx([_sealed(a.events), _sealed(b.events)])
    assert sealed["differs"] and sealed["core"]
    late = _sealed(b.events) - _sealed(a.events)
    assert late > 120  # the hatch takes 5 min instead of about one
    minutes, seconds = divmod(round(late), 60)
    assert sealed["deltas"][1] == f"+00:{minutes:02d}:{seconds:02d}"
    # time to shelter (the crew getting in) did not change, and is shown as such, side by side
    tts = _row(cmp, "time_to_shelter_s")
    assert tts["core"] and not tts["differs"]
    # the shelter's duration is sealed -> opened of the shelter hatch, from the events
    hatch = next(e["hatch"] for e in a.events if e["kind"] == "hatch" and e["state"] == "closed"
                 and e["t"] == _sealed(a.events))
    duration = _row(cmp, "shelter.duration_s")
    want = [_opened(r.events, hatch, _sealed(r.events)) - _sealed(r.events) for r in (a, b)]
    assert duration["values"] == pytest.approx(want, abs=1e-3)


def test_story_ignores_amounts_but_not_actions(prk_run, slow_hatch, big_leak):
    a, slow, big = (read_run(p) for p in (prk_run, slow_hatch, big_leak))
    cmp = compare_runs(a, slow, big, labels=("base", "slow", "big"))
    d_slow, d_big = cmp["divergence"]
    assert not d_slow["same_story"] and d_slow["a"]["kind"] == "hatch" and d_slow["a"]["hatch"] == "pma2-dragon"
    assert d_big["same_story"] and "leak_start.cda_m2" in d_big["amounts_differ"]
    leaked = _row(cmp, "leaks.prk-crack.leaked_kg")
    assert leaked["differs"] and leaked["values"][2] > leaked["values"][0]


def test_compare_through_the_console_script_writes_units_and_html(prk_run, slow_hatch, big_leak, tmp_path):
    page = tmp_path / "cmp.html"
    proc = safehaven("compare", prk_run, slow_hatch, big_leak, "--html", page)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"\* shelter sealed \(hatch closed\)\s+│\s+00:35:35\s+│\s+\d\d:\d\d:\d\d\s+│\s+\+00:0\d:\d\d", out)
    assert "shelter duration (sealed to opened)" in out and "repair attempts" in out
    # check margins carry units: a time to spare or a pressure, never a bare number
    checks = out[out.index("Checks (margin"):]
    for margin in re.findall(r"│ (?:pass|FAIL) +│ +([^│]+?) +│", checks):
        assert margin == "-" or re.fullmatch(r"[+-]\d\d:\d\d:\d\d|[+-]\d+\.\d\d kPa", margin), margin
    assert "934.941" not in out
    assert "part at 00:00:00" not in out and "leak_start leak=" not in out  # the CdA at t=0 is an amount
    assert f"comparison: {page}" in out

    class _Page(HTMLParser):
        imgs, text = [], []

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.imgs.append(dict(attrs))

        def handle_data(self, data):
            self.text.append(data)

    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    assert len(parser.imgs) == 1 and parser.imgs[0]["src"].startswith("data:image/png;base64,")
    text = "".join(parser.text)
    for expected in ("Milestones", "shelter sealed", "Checks", "Where the timelines part", "prk-big-leak"):
        assert expected in text
    assert not re.search(r"<(script|link)\b", page.read_text())


def test_compare_json_and_usage(prk_run, big_leak):
    proc = safehaven("compare", prk_run, big_leak, "--json")
    assert proc.returncode == 0, proc.stderr
    cmp = json.loads(proc.stdout)
    assert [r["label"] for r in cmp["runs"]] == ["prk-2026", "prk-big-leak"]
    proc = safehaven("compare", prk_run)
    assert proc.returncode == 2 and "at least two run directories" in proc.stderr


def test_compare_html_never_writes_into_a_run(prk_run, big_leak):
    """A comparison written over a run's own file would destroy the run (exit 2, nothing written)."""
    before = (prk_run / "summary.json").read_bytes()
    for target in (prk_run / "summary.json", prk_run / "compare.html", prk_run):
        proc = safehaven("compare", prk_run, big_leak, "--html", target)
        assert proc.returncode == 2, (target, proc.stdout)
        assert "--html" in proc.stderr and "Traceback" not in proc.stderr
    assert (prk_run / "summary.json").read_bytes() == before
    assert not (prk_run / "compare.html").exists()


def test_compare_page_escapes_run_names(two_run, tmp_path):
    import shutil

    evil = tmp_path / "<i>evil"
    shutil.copytree(two_run, evil)
    page = tmp_path / "c.html"
    proc = safehaven("compare", two_run, evil, "--html", page)
    assert proc.returncode == 0, proc.stderr
    text = page.read_text(encoding="utf-8")
    assert "<i>evil" not in text and "&lt;i&gt;evil" in text


def test_measured_treserve_stands_beside_the_model_and_says_when_confounded():
    run = SimpleNamespace(events=[], summary={
                   "duration_s": 3600.0, "treserve_first_s": 2000.0, "treserve_first_at_s": 900.0,
                   "treserve": {"min_s": 3500.0, "min_at_s": 600.0},
                   "measurements": [{"by": "fe5", "treserve_s": 2000.0, "truth": {"treserve_s": 4100.0},
                                     "confounded": {"breathing_dpdt_Pa_s": -0.004, "share": 0.51}}]})
    got = {m.key: m for m in milestones(run)}
    assert got["treserve_first_s"].value == 2000.0 and got["treserve_first_truth_s"].value == 4100.0
    assert got["treserve_first_s"].note == "confounded: fe5 breathed inside the measured volume (51% of the measured dP/dt)"
    assert got["treserve.min_s"].value == 3500.0 and got["treserve.min_s"].core


_WRITTEN = {
    "time": r"\d\d:\d\d:\d\d|never",
    "duration": r"(\d+ d )?\d\d:\d\d:\d\d|unbounded",
    "pressure": r"\d+\.\d\d kPa",
    "pp": r"\d+\.\d{2,3} kPa",
    "mass": r"[\d.e+-]+ kg",
    "count": r"\d+",
}


def test_every_milestone_number_carries_its_unit(prk_run, slow_hatch, big_leak):
    cmp = compare_runs(*(read_run(p) for p in (prk_run, slow_hatch, big_leak)))
    nones = {"-", "never", "never sealed", "not opened before the end", "not measured", "no loss",
             "nobody sent to a shelter", "not in this run's summary"}
    for m in cmp["milestones"]:
        if m["kind"] not in _WRITTEN:
            continue
        for text in m["text"]:
            assert text in nones or re.fullmatch(_WRITTEN[m["kind"]], text), (m["key"], text)
        for delta in m["deltas"][1:]:
            if delta:
                body = delta.lstrip("+-")
                assert re.fullmatch(_WRITTEN[m["kind"]].replace("|never", "").replace("|unbounded", ""), body) or (
                    m["kind"] == "count"), (m["key"], delta)
