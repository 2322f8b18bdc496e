"""Golden events: seeded runs of the shipped scenarios give these events.jsonl, byte for byte.

Regenerate on purpose only (``python tests/data/golden/regenerate_events.py``) and say why in the
commit: speed work must leave them untouched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
sys.path.insert(0, str(GOLDEN))

from regenerate_events import OUT, cases, events_text, golden_name  # noqa: E402

CASES = cases()


def test_every_shipped_scenario_has_golden_events():
    assert len(CASES) >= 10
    assert sorted(p.name for p in OUT.glob("*.jsonl")) == sorted(golden_name(p, s) for p, s in CASES)


@pytest.mark.parametrize(("path", "seed"), CASES, ids=[golden_name(p, s) for p, s in CASES])
def test_events_are_byte_identical_to_the_golden_run(path, seed):
    expected = (OUT / golden_name(path, seed)).read_text(encoding="utf-8")
    assert expected.count("\n") >= 3
    assert events_text(path, seed) == expected
