"""The browser station in a real browser: Debian's chromium, driven headless by playwright.

Start ``--serve``, open the instructor page and a trainee page, start the clock, fire an inject from
the menu, give a trainee command, freeze and resume, check what each page shows; then the recorded
session replays to identical events. The screenshots of both views are kept in docs/.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.drill.station_helpers import SERVED_DRILL, Served, replay

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" if os.environ.get("SAFEHAVEN_UPDATE_SCREENSHOTS") == "1" else None
"""Where the screenshots go: docs/ when SAFEHAVEN_UPDATE_SCREENSHOTS=1 (how docs/station-*.png are
made), else the test's temporary directory (a test run leaves the repository as it was)."""
CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (.ci/run installs it); playwright cannot download its own browsers here."""


def _seconds(clock: str) -> int:
    h, m, s = (int(x) for x in clock.split(":"))
    return 3600 * h + 60 * m + s


def _wait_clock(page, at_least: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while _seconds(page.inner_text("#clock")) < at_least:
        assert time.monotonic() < deadline, page.inner_text("#clock")
        page.wait_for_timeout(100)


@pytest.mark.slow
def test_instructor_and_trainee_pages_in_chromium(drill_dir, tmp_path):
    shots = SCREENSHOTS or tmp_path
    (drill_dir / "served.yaml").write_text(SERVED_DRILL)
    served = Served(drill_dir / "served.yaml", Path("session"), "--speed", "60")  # shown relative on the pages
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            ins = browser.new_page(viewport={"width": 1400, "height": 1100})
            ins.goto(f"{served.base}/instructor")
            crew = browser.new_page(viewport={"width": 1100, "height": 900})
            crew.goto(f"{served.base}/trainee?crew=b")
            for page in (ins, crew):
                page.wait_for_function("document.getElementById('status').textContent === 'FROZEN'")
            assert ins.inner_text("#clock") == "00:00:00"

            ins.click("#resume")
            ins.wait_for_function("document.getElementById('status').textContent.startsWith('running')")
            _wait_clock(crew, 70)  # past the lab gauge's fault (1 min)

            ins.click("button[data-inject='capsule-sticks']")  # from the inject menu, with its note shown
            ins.wait_for_selector("#injects >> text=fired 00:0")
            assert "the capsule hatch sticks" in ins.inner_text("#injects")

            crew.fill("#command", "close hatch lab-node")
            crew.press("#command", "Enter")
            crew.wait_for_selector("#messages >> text=accepted: close hatch lab-node by b")

            ins.click("#pause")
            for page in (ins, crew):
                page.wait_for_function("document.getElementById('status').textContent === 'FROZEN'")
            frozen = ins.inner_text("#clock")
            crew.wait_for_timeout(700)
            assert ins.inner_text("#clock") == frozen and crew.inner_text("#clock") == frozen
            ins.click("#resume")
            ins.wait_for_function("document.getElementById('status').textContent.startsWith('running')")
            _wait_clock(ins, 260)  # the hidden hole in the node opened at 4 min
            crew.wait_for_selector("#messages >> text=done: close hatch lab-node by b")

            # the instructor sees the truth: the hidden leak, the jammed hatch, true pressures
            ins.wait_for_function("document.getElementById('leak-node').textContent === '✱'")
            assert "secret-hole" in ins.inner_text("#leaks")
            assert "jammed" in ins.inner_text("#hatches")
            assert ins.get_attribute("#h-node-capsule", "stroke") == "#e03131"
            assert ins.get_attribute("#h-lab-node", "stroke-dasharray") == "6,4"  # closed by b
            # the trainee sees the gauges, biased where the gauge is wrong, and none of the hidden truth
            crew_text = crew.inner_text("body")
            for hidden in ("secret-hole", "hidden-hole", "capsule-sticks", "lab-gauge-high", "✱", "inject"):
                assert hidden not in crew_text
            readings = dict(re.findall(r"^(lab|node|capsule)\s+([\d.]+)$", crew.inner_text("#gauges"), re.M))
            ins.click("#pause")
            crew.wait_for_function("document.getElementById('status').textContent === 'FROZEN'")
            crew.wait_for_timeout(500)
            truth = ins.evaluate("Object.fromEntries(window.station.state.compartments.map(c => [c.id, c.p_mmHg]))")
            shown = crew.evaluate("Object.fromEntries(window.station.state.gauges.map(g => [g.id, g.reading_mmHg]))")
            assert abs(shown["lab"] - (truth["lab"] + 20)) <= 0.06 and abs(shown["node"] - truth["node"]) <= 0.06
            assert set(readings) == {"lab", "node", "capsule"}

            ins.screenshot(path=str(shots / "station-instructor.png"), full_page=True)
            crew.screenshot(path=str(shots / "station-trainee.png"), full_page=True)
            assert ins.evaluate("window.station.gaps") == [] and crew.evaluate("window.station.gaps") == []

            ins.fill("#speed", "2000")
            ins.click("#set-speed")
            ins.click("#resume")
            ins.wait_for_selector("#ended >> text=Debrief", timeout=120_000)
            crew.wait_for_selector("#ended >> text=Debrief", timeout=30_000)
            ins.click("#ended >> text=Debrief")
            ins.wait_for_selector("text=Expectations")
            ins.wait_for_function("document.querySelector('img').complete && document.querySelector('img').naturalWidth > 0",
                                  timeout=60_000)
            assert "close hatch lab-node by b" in ins.inner_text("body")
            ins.screenshot(path=str(shots / "station-debrief.png"), full_page=False)
            browser.close()
    finally:
        code, _out, err = served.stop()
    assert code in (0, 1), err
    r = replay(served.out)
    assert r.returncode == 0 and "identical" in r.stdout, r.stdout + r.stderr
