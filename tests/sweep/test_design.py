"""Specs and designs: parsing, sizes, determinism, and the exact text of overrides."""

from __future__ import annotations

import numpy as np
import pytest

from sim.errors import UsageError
from sim.sweep.design import format_value, make_design, overrides_for, parse_vary


def test_specs_of_every_kind():
    assert parse_vary("a.b=[1, 2, 5] lb/day").values() == [1, 2, 5]
    assert parse_vary("a.b=[dragon, soyuz]").column_type == "text"
    assert parse_vary("a.b=lin(0, 10, 3) min").values() == [0.0, 5.0, 10.0]
    np.testing.assert_allclose(parse_vary("a.b=log(0.1, 100, 4) lb/day").values(), [0.1, 1, 10, 100])
    s = parse_vary("a.b=loguniform(0.1, 100) lb/day")
    assert (s.kind, s.args, s.unit, s.discrete, s.log_scale) == ("loguniform", (0.1, 100.0), "lb/day", False, True)


@pytest.mark.parametrize(("text", "match"), [
    ("a.b", "expected PATH=SPEC"),
    ("a.b=gauss(1, 2)", "unknown gauss"),
    ("a.b=uniform(1)", "takes 2 numbers"),
    ("a.b=log(0, 10, 3)", "positive bounds"),
    ("a.b=lin(0, 10, 2.5)", "whole number"),
    ("a.b=uniform(1 lb/day, 2 lb/day)", "put the unit after"),
    ("a.b=[x, y] m", "needs every item to be a number"),
    ("a..b=[1]", "invalid path"),
    ("a.b=3", "cannot read"),
])
def test_bad_specs_say_what_was_expected(text, match):
    with pytest.raises(UsageError, match=match):
        parse_vary(text)


def test_grid_crosses_specs_and_replicates_get_their_own_ids():
    d = make_design([parse_vary("x=[1, 2]"), parse_vary("y=[a, b, c]")], "grid", replicates=2, root_seed=9)
    assert d.n_runs == 12
    assert d.columns["run_id"] == list(range(12))
    assert d.columns["spawn_key"] == d.columns["run_id"]
    assert d.columns["x"][:6] == [1] * 6
    assert d.columns["y"][:6] == ["a", "a", "b", "b", "c", "c"]
    assert d.columns["replicate"][:4] == [0, 1, 0, 1]


@pytest.mark.parametrize("kind", ["random", "lhs", "sobol"])
def test_sampled_designs_are_reproducible_and_in_range(kind):
    specs = [parse_vary("x=loguniform(0.1, 100)"), parse_vary("y=[a, b]"), parse_vary("z=triangular(1, 2, 4)")]
    a = make_design(specs, kind, n=32, root_seed=3)
    b = make_design(specs, kind, n=32, root_seed=3)
    c = make_design(specs, kind, n=32, root_seed=4)
    assert a.columns == b.columns and a.columns["x"] != c.columns["x"]
    assert 0.1 <= min(a.columns["x"]) and max(a.columns["x"]) <= 100
    assert set(a.columns["y"]) == {"a", "b"}
    assert 1 <= min(a.columns["z"]) and max(a.columns["z"]) <= 4


def test_lhs_puts_one_point_in_each_stratum():
    d = make_design([parse_vary("x=uniform(0, 10)")], "lhs", n=10, root_seed=1)
    assert sorted(int(x) for x in d.columns["x"]) == list(range(10))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"kind": "grid", "n": 5}, "a grid's size follows"),
    ({"kind": "random"}, "needs --n"),
    ({"kind": "fractal"}, "unknown design"),
])
def test_design_usage_errors(kwargs, match):
    with pytest.raises(UsageError, match=match):
        make_design([parse_vary("x=[1, 2]")], **kwargs)


def test_distribution_in_grid_is_refused():
    with pytest.raises(UsageError, match="a distribution needs a sampled design"):
        make_design([parse_vary("x=uniform(0, 1)")], "grid")


def test_override_text_is_exact_and_carries_the_unit():
    s = parse_vary("leaks.crack.rate=loguniform(0.1, 100) lb/day")
    x = make_design([s], "random", n=1, root_seed=0).columns[s.path][0]
    text = format_value(s, x)
    assert text.endswith(" lb/day") and float(text.split()[0]) == x
    assert overrides_for([parse_vary("crew.cdr.at=[harmony]")], ["harmony"]) == ["crew.cdr.at=harmony"]
