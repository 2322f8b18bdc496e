"""``safehaven estimate``: calibration over seeds, the published PrK records, the real telemetry, errors."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sim.atmosphere import GAMMA
from sim.atmosphere.flow import choked_flow_factor
from sim.leakhunt.estimate import LB_PER_DAY, MMHG, estimate
from sim.leakhunt.likelihood import log_bin_probability
from sim.scenario.record_load import load_record

from .calibration import synthetic_case

REPO = Path(__file__).resolve().parents[2]
RECORDS = REPO / "scenarios" / "records"


def test_bin_probability_is_accurate_in_both_tails():
    from scipy.stats import norm

    a = np.array([-1.0, 8.0, -9.0, 30.0, 0.1])
    b = a + 0.5
    with np.errstate(divide="ignore"):
        exact = np.log(norm.cdf(b) - norm.cdf(a))
    exact[1] = np.log(norm.sf(8.0) - norm.sf(8.5))
    exact[3] = norm.logsf(30.0) + np.log1p(-np.exp(norm.logsf(30.5) - norm.logsf(30.0)))
    exact[2] = norm.logcdf(-8.5) + np.log1p(-np.exp(norm.logcdf(-9.0) - norm.logcdf(-8.5)))
    assert np.allclose(log_bin_probability(a, b), exact, rtol=1e-9)


def _closed_form_cda(V, p0, p1, t, T=295.0, R=None):
    R = R if R is not None else 288.2  # the station's nominal mixture
    c_star = math.sqrt(GAMMA * R * T) * choked_flow_factor(GAMMA)
    return V * math.log(p0 / p1) / (t * c_star)


@pytest.mark.parametrize(("name", "p0", "p1", "hours"), [("prk-dec-2020", 730, 620, 18.0), ("prk-mar-2021", 730, 678, 11.5)])
def test_published_prk_records_match_the_closed_form(name, p0, p1, hours):
    rec = load_record(RECORDS / f"{name}.yaml")
    e = estimate(rec).report
    from sim.leakhunt.forward import ForwardModel

    R = ForwardModel(rec, [], []).gas_constant("prk")
    exact = _closed_form_cda(5.0, p0, p1, hours * 3600, R=R)
    assert e["cda"]["median_m2"] == pytest.approx(exact, rel=2e-3)
    # the interval is what whole-mmHg rounding of both readings allows, no more, no less
    lo = _closed_form_cda(5.0, p0 - 0.5, p1 + 0.5, hours * 3600, R=R)
    hi = _closed_form_cda(5.0, p0 + 0.5, p1 - 0.5, hours * 3600, R=R)
    got_lo, got_hi = e["cda"]["interval_m2"]
    assert lo * 0.999 <= got_lo < exact < got_hi <= hi * 1.001
    assert got_hi - got_lo > 0.6 * (hi - lo)
    # rate at the end: the choked flow of that Cd·A at the last pressure
    flux = p1 * MMHG * math.sqrt(GAMMA / (R * 295.0)) * choked_flow_factor(GAMMA)
    assert e["rate_at_end"]["lb_per_day"][0] == pytest.approx(exact * flux / LB_PER_DAY, rel=3e-3)
    assert e["most_probable"] == "prk" and e["cda"]["zero_excluded"]


@pytest.mark.slow
def test_calibration_over_100_seeds(tmp_path):
    """The 95 % interval holds the true Cd·A in 90-99 % of synthetic records; the right place wins.

    Measured: 90 of 100 (docs/leak-hunt.md says why it sits at the lower edge)."""
    hits, right = 0, 0
    n = 100
    for seed in range(n):
        rec, site, cda = synthetic_case(tmp_path, seed, hours=4.0)
        e = estimate(rec).report
        lo, hi = e["cda"]["interval_m2"]
        hits += lo <= cda <= hi
        right += e["most_probable"] == site
    assert 0.90 <= hits / n <= 0.99, hits
    assert right == n


def test_a_few_synthetic_records_are_estimated_right(tmp_path):
    for seed in (1, 2, 3):
        rec, site, cda = synthetic_case(tmp_path, seed, hours=4.0)
        e = estimate(rec).report
        assert e["most_probable"] == site and e["site_probability"][site] > 0.99
        lo, hi = e["cda"]["interval_m2"]
        # a sanity check on three seeds (the 95 % coverage is the slow calibration test's)
        half = 0.5 * (hi - lo)
        assert abs(cda - 0.5 * (lo + hi)) < 2 * half and half < 0.05 * cda


def test_the_iss_telemetry_record_says_what_it_cannot_tell():
    e = estimate(load_record(RECORDS / "iss-destiny-2019.yaml")).report
    assert not e["cda"]["zero_excluded"]
    assert any("cannot be told from zero" in s for s in e["statements"])
    assert any("cannot tell apart" in s for s in e["statements"])
    assert any("not used: ppN2 is logged there" in s for s in e["notes"])
    (g,) = e["gauges"]
    assert g["reads"] == "N2" and g["noise"].startswith("estimated") and 0 <= g["temperature_coupling"] <= 1.5


def _safehaven(*args, cwd):
    exe = shutil.which("safehaven")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_writes_json_and_plots(tmp_path):
    out = tmp_path / "est"
    r = _safehaven("estimate", str(RECORDS / "prk-mar-2021.yaml"), "--out", str(out), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    printed = json.loads(r.stdout)
    assert printed == json.loads((out / "estimate.json").read_text())
    assert (out / "fit.png").stat().st_size > 10_000 and (out / "posterior.png").stat().st_size > 10_000
    r = _safehaven("estimate", str(RECORDS / "prk-mar-2021.yaml"), "--out", str(out), cwd=tmp_path)
    assert r.returncode == 2 and "exists" in r.stderr


@pytest.mark.parametrize(("edit", "log", "message"), [
    ("at: prk, reads", None, r"rec.yaml:\d+: gauges.prk-p.at: unknown compartment 'prq'"),
    (None, "t_h,p_mmHg\n0,730\n1,abc\n", r"prk.csv:3: p_mmHg 'abc' is not a finite number"),
    (None, "t_h,p_bar\n0,730\n", None),
    (None, "t_h,p_furlongs\n0,730\n1,700\n", r"prk.csv:1: value column 'p_furlongs': expected a pressure unit"),
    (None, "when,p_mmHg\n0,730\n1,700\n", r"prk.csv:1: time column 'when'"),
    (None, "t_h,p_mmHg\n2,730\n1,700\n", r"prk.csv:3: time goes backwards"),
    (None, "t_h,p_mmHg\n0,730\n", r"fewer than two readings"),
])
def test_bad_records_are_located(tmp_path, edit, log, message):
    text = (RECORDS / "prk-dec-2020.yaml").read_text().replace("../stations/", str(REPO / "scenarios" / "stations") + "/")
    text = text.replace("prk/dec-2020.csv", "prk.csv")
    if edit:
        text = text.replace(edit, edit.replace("prk", "prq"))
    (tmp_path / "rec.yaml").write_text(text)
    (tmp_path / "prk.csv").write_text(log or "t_h,p_mmHg\n0,730\n18,620\n")
    r = _safehaven("estimate", "rec.yaml", "--out", "o", cwd=tmp_path)
    if message is None:  # 1 bar is a pressure unit: a valid (if odd) log
        assert r.returncode in (0, 2)
        return
    assert r.returncode == 2, r.stdout + r.stderr
    import re

    assert re.search(message, r.stderr), r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()
