"""Every value a user reads carries its unit: sim.report.formats."""

from __future__ import annotations

import typing

import pytest

from sim.report.formats import CHECK_MARGIN_KINDS, delta_text, margin_text, value_text
from sim.scenario import scenario_model


def _check_kinds() -> set[str]:
    union = typing.get_args(scenario_model.Check)[0]
    return {typing.get_args(cls.model_fields["expect"].annotation)[0] for cls in typing.get_args(union)}


def test_every_check_kind_has_a_margin_unit():
    """A new check kind must say what its margin is measured in, or its margins print bare."""
    assert _check_kinds() <= set(CHECK_MARGIN_KINDS)


@pytest.mark.parametrize(("value", "kind", "text"), [
    (2205.05859, "time", "00:36:45"),
    (4854570.0, "duration", "56 d 04:29:30"),
    (13320.0, "duration", "03:42:00"),
    ("inf", "duration", "unbounded"),
    ("inf", "time", "never"),
    (101295.0, "pressure", "101.30 kPa"),
    (398.0, "pp", "0.398 kPa"),
    (21300.0, "pp", "21.30 kPa"),
    (0.056636, "mass", "0.0566 kg"),
    (None, "time", "-"),
])
def test_value_text(value, kind, text):
    assert value_text(value, kind) == text


def test_deltas_have_a_sign_and_a_unit_and_zero_has_no_sign():
    assert delta_text(2135.0, 2375.0, "time") == "+00:04:00"
    assert delta_text(7560.0, 13320.0, "duration") == "+01:36:00"
    assert delta_text(101185.0, 101040.0, "pressure") == "-0.14 kPa"
    assert delta_text(0.0566, 0.126, "mass") == "+0.0694 kg"
    assert delta_text(1, 2, "count") == "+1"
    assert delta_text(1.0, 1.0, "time") == "00:00:00"
    assert delta_text(None, 1.0, "time") == ""


def test_check_margins_are_written_with_their_unit():
    """Issue 10 case 9: margins read '934.941' and '+2428180 s'."""
    assert margin_text({"expect": "all_crew_in_shelter", "margin": 934.941}) == "+00:15:35"
    assert margin_text({"expect": "treserve_above", "margin": 2428180.0}) == "+28 d 02:29:40"
    assert margin_text({"expect": "min_pressure", "margin": -23302.7}) == "-23.30 kPa"
    assert margin_text({"expect": "leak_repaired", "margin": "-inf"}) == "never met"
    assert margin_text({"expect": "outcome", "margin": None}) == "-"
    assert margin_text({"expect": "some_new_check", "margin": 3.0}) == "+3 (SI)"
