"""Each expectation kind passes or fails with its margin; weights make the score."""

from __future__ import annotations

import pytest

from .conftest import run_drill

# In the base drill: the leak starts at 120 s, the alarm sounds at 160 s, crew a and b are in the
# capsule at 200 s, Treserve is measured at 270 s, lab-node (the segment hatch) closes at 330 s.


def card(make_drill, expect: str, injects: str = "", scoring: str = ""):
    path = make_drill(f"injects:\n{injects or '  []'}\nexpect:\n{expect}\n{scoring}")
    _, result = run_drill(path)
    return result.extra["scorecard"]


def one(make_drill, line: str, **kw):
    return card(make_drill, f"  - {line}", **kw)["expectations"][0]


@pytest.mark.parametrize("line, passed, margin", [
    ("{expect: hatches_closed, hatches: [lab-node], within: 5 min, of: alarm}", True, 160 + 300 - 330),
    ("{expect: hatches_closed, hatches: segments, within: 2 min, of: alarm rapid_depress}", False, 160 + 120 - 330),
    ("{expect: hatches_closed, hatches: [node-capsule], within: 5 min, of: alarm}", False, None),
    ("{expect: crew_at_vehicles, who: all, within: 1 min, of: alarm}", True, 160 + 60 - 200),
    ("{expect: crew_at_vehicles, who: a, within: 10 s, of: leak_start crack}", False, 120 + 10 - 200),
    ("{expect: treserve_measured, before: hatch_closed}", True, 330 - 270),
    ("{expect: treserve_measured, before: hatch_closed lab-node}", True, 60),
    ("{expect: treserve_measured, within: 1 min, of: alarm}", False, 160 + 60 - 270),
    ("{expect: leak_isolated, leak: crack, within: 10 min, of: leak_start}", True, 120 + 600 - 330),
    ("{expect: check, check: {expect: hatch_closed, hatch: lab-node, within: 10 min}}", True, 600 - 330),
])
def test_expectations_with_margins(make_drill, line, passed, margin):
    x = one(make_drill, line)
    assert x["passed"] is passed, x
    if margin is None:
        assert x["margin_s"] is None and x["detail"].startswith("never")
    else:
        assert x["margin_s"] == pytest.approx(margin, abs=1e-6), x


def test_nobody_incapacitated_and_impaired(make_drill):
    injects = "  - {name: faint, fault: crew_incapacitated, crew: b, at: 10 min}"
    c = card(make_drill, "  - {expect: nobody_incapacitated}\n  - {expect: nobody_impaired}\n"
             "  - {expect: check, check: {expect: min_pressure, of: node, above: 90 kPa}}", injects)
    inc, imp, low = c["expectations"]
    assert inc["passed"] is False and "b incapacitated" in inc["detail"]
    assert imp["passed"] is False
    assert low["passed"] is True and low["margin_Pa"] > 0
    c = card(make_drill, "  - {expect: nobody_incapacitated}\n  - {expect: nobody_impaired}")
    assert all(x["passed"] for x in c["expectations"])


def test_deadline_relative_to_an_inject(make_drill):
    injects = "  - {name: jam, fault: hatch_jams, hatch: node-capsule, at: 4 min}"
    x = one(make_drill, "{expect: hatches_closed, hatches: [lab-node], within: 2 min, of: inject jam}", injects=injects)
    assert x["passed"] is True and x["ref_t_s"] == 240.0 and x["margin_s"] == pytest.approx(240 + 120 - 330)


def test_not_applicable_when_the_event_never_happens(make_drill):
    c = card(make_drill, "  - {expect: hatches_closed, hatches: [lab-node], within: 1 min, of: alarm ppCO2_high}\n"
             "  - {expect: nobody_incapacitated, weight: 2}")
    na, _ = c["expectations"]
    assert na["passed"] is None and na["detail"].startswith("not applicable")
    assert c["score"] == 100.0 and c["all_met"] is True


def test_weights_make_the_score(make_drill):
    c = card(make_drill, "  - {expect: nobody_incapacitated, weight: 3}\n"
             "  - {expect: crew_at_vehicles, within: 10 s, of: start, weight: 1}",
             scoring="scoring: {pass_mark: 70}")
    assert c["score"] == 75.0 and c["passed"] is True and c["all_met"] is False
