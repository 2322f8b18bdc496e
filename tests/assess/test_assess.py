"""``safehaven assess`` through the installed command: the closed form, the response, the page."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ISS = REPO / "scenarios" / "assess" / "iss.yaml"
MOLAR = {"N2": 0.0280134, "O2": 0.0319988, "CO2": 0.0440095}  # [kg/mol]


def safehaven(*args, timeout=600):
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    p = subprocess.run([*cmd, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def iss_closed_form(diameter_m: float, cd: float = 0.6) -> tuple[float, float]:
    """(time to 490 mmHg, Treserve) [s] of the whole ISS, every hatch open, one hole: the station is
    one volume V; p = p0 exp(-t / tau), tau = V / (Cd A c*), c* = sqrt(gamma R T) K (isentropic choked orifice)."""
    st = yaml.safe_load((REPO / "scenarios" / "stations" / "iss-2026.yaml").read_text())
    volume = sum(float(x["volume"].split()[0]) for part in ("compartments", "vehicles") for x in st[part].values())
    pp = {"N2": 79.6e3, "O2": 21.3e3, "CO2": 0.4e3}
    mass = {s: pp[s] * MOLAR[s] for s in pp}
    r = sum(mass[s] / sum(mass.values()) * 8.314462618 / MOLAR[s] for s in pp)
    k = (2 / 2.4) ** (2.4 / 0.8)
    tau = volume / (cd * math.pi * diameter_m**2 / 4 * math.sqrt(1.4 * r * 295.0) * k)
    p0, pf = sum(pp.values()), 490 * 101325 / 760
    return tau * math.log(p0 / pf), tau * (1 - pf / p0)


def test_iss_one_inch_in_destiny_every_hatch_open_reproduces_the_closed_form():
    p = safehaven("assess", ISS, "--holes", "1in", "--only", "destiny", "--procedure", "none", "--json")
    assert p.returncode == 0, p.stderr
    (case,) = json.loads(p.stdout)["cases"]
    t_floor, treserve = iss_closed_form(0.0254)
    assert case["floor_s"] == pytest.approx(t_floor, rel=0.002)   # simulated, to 0.2 %
    assert case["treserve_s"] == pytest.approx(treserve, rel=1e-6)
    assert case["isolated_s"] is None and case["verdict"] == "lost"  # nobody acted


def test_the_isolation_response_cuts_off_the_holed_module_and_shelters_everyone(tmp_path):
    p = safehaven("assess", ISS, "--holes", "1in,10cm", "--only", "kibo,zvezda", "--out", tmp_path, "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert {c["compartment"] for c in r["cases"]} == {"kibo", "zvezda"} and len(r["cases"]) == 4
    for c in r["cases"]:
        assert c["isolated_s"] is not None and c["sheltered"] is True, c
        closed = {h["hatch"] for h in c["hatches"]}
        assert closed == ({"harmony-kibo"} if c["compartment"] == "kibo" else {"zvezda-zarya"})
        assert c["air_lost_kg"] > 0
    big = [c for c in r["cases"] if c["hole"] == "10cm"]
    small = [c for c in r["cases"] if c["hole"] == "1in"]
    assert all(b["treserve_s"] < s["treserve_s"] / 10 for b, s in zip(big, small, strict=True))
    # the engine's events agree with what is reported: the hatch closed when the case says
    for name in ("assessment.json", "heatmap.png", "assessment.html"):
        assert (tmp_path / name).stat().st_size > 0
    page = (tmp_path / "assessment.html").read_text()
    assert "harmony-kibo" in page and "data:image/png;base64," in page and "Weakest compartments" in page


def test_bad_input_is_refused():
    p = safehaven("assess", ISS, "--holes", "1 parsec")
    assert p.returncode == 2 and "--holes" in p.stderr
    p = safehaven("assess", ISS, "--only", "destni")
    assert p.returncode == 2 and "destiny" in p.stderr
    p = safehaven("assess", ISS, "--procedure", "no-such-file.yaml")
    assert p.returncode == 2 and "no such file" in p.stderr


LIBRARY = ["iss", "mir-1997", "tiangong", "haven-1", "gateway"]


def test_the_station_library_validates_and_marks_its_estimates():
    files = [REPO / "scenarios" / "assess" / f"{n}.yaml" for n in LIBRARY]
    p = safehaven("validate", *files)
    assert p.returncode == 0, p.stderr
    for name in ("mir-1997", "tiangong-2024", "haven-1", "gateway"):
        text = (REPO / "scenarios" / "stations" / f"{name}.yaml").read_text()
        for line in text.splitlines():
            if "volume:" in line and not line.lstrip().startswith("#"):
                assert "[S]" in line or "[E]" in line or "[V]" in line, (name, line)


def test_a_holed_lifeboat_and_a_slow_leak_are_named_for_what_they_are():
    p = safehaven("assess", REPO / "scenarios" / "assess" / "haven-1.yaml", "--holes", "2mm,1in", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    cases = {(c["compartment"], c["hole"]): c for c in r["cases"]}
    # 2 mm: the depress alarm never sounds in two hours; nobody harmed, nothing below the floor
    assert cases[("haven1", "2mm")]["verdict"] == "undetected"
    assert cases[("haven1", "2mm")]["treserve_s"] > 7200
    # a hole in the module: everyone into Dragon, its hatch closed from the Dragon side
    c = cases[("haven1", "1in")]
    assert c["verdict"] == "safe" and [h["hatch"] for h in c["hatches"]] == ["haven1-dragon"]
    # a hole in the lifeboat itself: the crew stay in the module, the Dragon is closed off, no lifeboat
    c = cases[("dragon", "1in")]
    assert c["verdict"] == "marginal" and c["sheltered"] is False and c["isolated_s"] is not None
    assert r["compartments"][0] == "dragon"  # the weakest first
