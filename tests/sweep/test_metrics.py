"""Metrics of a summary: tolerant of keys that later summaries add, and of failed runs."""

from __future__ import annotations

import math

from sim.sweep.metrics import HEADLINE, failed_row, metrics_row


def test_a_minimal_summary_gives_every_headline_column():
    row = metrics_row({"status": "ok", "outcome": "completed"})
    assert set(HEADLINE) <= set(row)
    assert math.isnan(row["p_min_Pa"]) and math.isnan(row["treserve_s"])


def test_keys_added_later_are_read_when_present():
    summary = {
        "status": "ok", "outcome": "sheltered", "checks_passed": False, "treserve_first_s": "inf",
        "station": {"p_min_Pa": 90000.0, "p_min_at": "prk"},
        "crew": {"cdr": {"sheltered_at": 300.0, "ended_at": "dragon", "exposure": {"ppO2_low_s": 3}},
                 "fe1": {"sheltered_at": 420.0}},
        "leaks": {"crack": {"repaired_s": None, "detected_s": 60.0}},
        "gas": {"leaked_kg": 1.5, "supplies": {"tanks": {"used_kg": 2.0}}},
        "checks": [{"check": "min_pressure", "passed": False, "margin": -5.0}],
        "alarms": [{"t": 0.0}],
    }
    row = metrics_row(summary)
    assert row["treserve_s"] == math.inf
    assert row["time_to_shelter_s"] == 420.0
    assert row["crew.cdr.exposure.ppO2_low_s"] == 3.0
    assert row["crew.cdr.ended_at"] == "dragon"
    assert row["gas_used_kg"] == 2.0 and row["checks_failed"] == 1.0 and row["n_alarms"] == 1.0
    assert row["checks.min_pressure.margin"] == -5.0
    assert row["leaks.crack.repaired_s"] is None


def test_failed_row_holds_nan_numbers_and_null_text():
    row = failed_row()
    assert row["outcome"] is None and row["checks_passed"] is None
    assert math.isnan(row["p_min_Pa"])
