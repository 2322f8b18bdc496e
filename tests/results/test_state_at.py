"""The state at time T, from the user's seat: ``safehaven replay DIR --at T`` and ``report DIR --at T``.

Issue 10 cases 2 and 3: at 01:00:00 of the flagship, five crew are sealed in Dragon and fe5/fe6 are
repairing in the PrK (``repair_start`` at 00:36:45); the views once showed everyone where they
started, or still "moving to" a place they had long reached.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHELTER = ["cdr", "fe1", "fe2", "fe3", "fe4"]


def safehaven(*args, cwd=REPO):
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def flagship(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("state") / "prk"
    done = safehaven("run", "scenarios/iss-prk-2026.yaml", "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    return out


def test_replay_at_shows_what_crew_do_now(flagship):
    done = safehaven("replay", flagship, "--at", "01:00:00", "--json")
    assert done.returncode == 0, done.stderr
    at = json.loads(done.stdout)["at"]
    crew = at["crew"]
    for cid in ("fe5", "fe6"):
        assert crew[cid]["location"] == "prk" and crew[cid]["activity"] == "repair prk-crack", crew[cid]
    for cid in SHELTER:
        assert crew[cid]["location"] == "dragon" and crew[cid]["activity"] == "idle", crew[cid]
        assert at["doing"][cid] == "sheltering in dragon (hatch closed)"
    assert at["shelter"]["dragon"] == {"hatch": "pma2-dragon", "crew": SHELTER, "sealed": True, "departed": False}
    assert at["procedures"]["0:prk-repair-safe-haven"] == {"name": "Safe haven in Dragon during PrK repair",
                                                          "phase": "repair", "status": "running"}
    assert at["hatches"]["pma2-dragon"]["open"] is False and at["hatches"]["zvezda-prk"]["valve_open"] is True
    assert at["leaks"]["prk-crack"]["active"] and not at["leaks"]["prk-crack"]["repaired"]


def test_replay_at_table_is_not_stale(flagship):
    done = safehaven("replay", flagship, "--at", "01:00:00")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "moving to" not in out
    rows = {m.group(1): m.group(0) for m in re.finditer(r"│ (cdr|fe\d) .*│", out)}
    assert "prk" in rows["fe5"] and "repair prk-crack" in rows["fe5"]
    assert all("sheltering in dragon (hatch closed)" in rows[c] for c in SHELTER)
    assert "Shelter dragon: cdr, fe1, fe2, fe3, fe4 inside, hatch pma2-dragon closed" in out


def test_replay_at_before_and_after(flagship):
    before = json.loads(safehaven("replay", flagship, "--at", "00:20:00", "--json").stdout)["at"]
    assert before["crew"]["cdr"]["location"] == "harmony" and before["procedures"] == {}
    after = json.loads(safehaven("replay", flagship, "--at", "03:00:00", "--json").stdout)["at"]
    assert after["crew"]["cdr"]["location"] == "harmony" and after["crew"]["fe5"]["location"] == "zvezda"
    assert after["procedures"]["0:prk-repair-safe-haven"]["status"] == "done"
    assert after["leaks"]["prk-crack"]["repaired"] and after["leaks"]["prk-crack"]["isolated"]


def _station_caption(html: str) -> str:
    m = re.search(r"<figcaption[^>]*>(The station at [^<]*)</figcaption>", html)
    assert m, "the report has no station diagram"
    return m.group(1)


def test_report_at_draws_crew_where_they_are(flagship, tmp_path):
    html = tmp_path / "r.html"
    done = safehaven("report", flagship, "--at", "01:00:00", "--html", html, "--png-dir", tmp_path / "png")
    assert done.returncode == 0, done.stderr
    caption = _station_caption(html.read_text())
    assert "01:00:00" in caption
    assert "dragon: cdr, fe1, fe2, fe3, fe4" in caption and "prk: fe5, fe6" in caption
    assert (tmp_path / "png" / "station.png").is_file()


INLINE_DRILL = """\
name: inline drill
scenario:
  name: inline PrK
  station: {station}
  duration: 40 min
  initial: {{hatches: {{zvezda-prk: closed}}}}
  crew:
    - {{id: cdr, roles: [shelter], at: harmony, vehicle: dragon}}
    - {{id: fe5, roles: [repair], at: zvezda, vehicle: soyuz}}
  leaks:
    - {{id: prk-crack, at: prk, rate: 1.8 lb/day}}
  run:
    - {{procedure: {procedure}, at: 1 min}}
injects:
  - {{name: jam, fault: hatch_jams, hatch: pma2-dragon, at: 2 min}}
expect:
  - {{expect: nobody_impaired}}
"""


def test_report_of_an_inline_scenario_drill_draws_the_station(tmp_path):
    for rel in ("stations/iss-2026.yaml", "procedures/prk-repair-safe-haven.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / ("scenarios/" + rel if rel.startswith("stations") else rel), tmp_path / rel)
    drill = tmp_path / "inline.yaml"
    drill.write_text(textwrap.dedent(INLINE_DRILL.format(
        station="stations/iss-2026.yaml", procedure="procedures/prk-repair-safe-haven.yaml")))
    out = tmp_path / "run"
    done = safehaven("drill", drill, "--out", out)
    assert done.returncode in (0, 1), done.stderr
    html = tmp_path / "r.html"
    done = safehaven("report", out, "--at", "00:20:00", "--html", html)
    assert done.returncode == 0, done.stderr
    caption = _station_caption(html.read_text())
    assert "00:20:00" in caption
    replayed = safehaven("replay", out, "--at", "00:20:00", "--json")
    assert replayed.returncode == 0, replayed.stderr
    at = json.loads(replayed.stdout)["at"]
    assert at["hatches"]["pma2-dragon"]["jammed"] is True
    assert f"{at['crew']['cdr']['location']}: cdr" in caption and "Jammed: pma2-dragon" in caption


def test_python_api_state_at(flagship):
    import sim

    record = sim.open_run(flagship)
    at = sim.state_at(record, "01:00:00")
    assert at.crew["fe5"].activity == "repair prk-crack" and at.shelter["dragon"].sealed
    assert sim.state_at(flagship, 3600.0) == at
    with pytest.raises(sim.UsageError, match="outside the run"):
        sim.state_at(record, "9 h")
