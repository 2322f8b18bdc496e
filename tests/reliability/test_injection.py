"""Class 6, terminal and report injection, and class 8, exit codes.

Names are refused when they hold what a terminal would obey (hypothesis draws them); what is
printable but special elsewhere (mathtext ``$``, HTML ``<``) is drawn and written literally. A run
that fails numerically is a result (exit 1) for drills and sweep reruns as for ``run``.
"""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import InputError, Problem
from sim.scenario.yamlio import parse_yaml
from sim.text import for_terminal, plain, unsafe_character

from .harness import REPO, call_cli, clean_env

TWO = REPO / "scenarios" / "two-volumes-valve.yaml"
_DANGER = st.sampled_from(["\x1b[2J", "\x1b]0;title\x07", "\x1b]8;;http://x\x1b\\", "\u2028", "\u2029", "\x85",
                           "\u202e", "\x07", "\x00", "\r", "\x9b", "\x0b"])


@pytest.fixture(autouse=True)
def _env():
    clean_env()


@settings(max_examples=200, deadline=None)
@given(before=st.text(max_size=8), danger=_DANGER, after=st.text(max_size=8))
def test_no_name_with_a_terminal_control_gets_through_the_reader(before, danger, after):
    name = before + danger + after
    text = "name: " + json.dumps(name) + "\n"  # a double-quoted YAML string holds any character
    try:
        doc = parse_yaml(text)
    except InputError as exc:
        assert "\x1b" not in str(exc) and "\u2028" not in str(exc) and "\x07" not in str(exc)
        return
    raise AssertionError(f"accepted {doc.data!r}")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_plain_text_has_nothing_a_terminal_obeys(text):
    shown = plain(text)
    assert unsafe_character(shown, multiline=False) is None
    assert "\x1b" not in for_terminal(text)
    assert str(Problem(text, 3, text, text)).count("\n") == 0


def test_a_file_name_with_escapes_is_shown_not_obeyed(tmp_path):
    odd = tmp_path / "x\x1b[2Jy.yaml"
    odd.write_text("name: [unclosed\n")
    o = call_cli(["validate", odd])
    assert o.code == 2 and "\x1b" not in o.err and "\\u001b" in o.err, o.err


def test_mathtext_and_markup_in_names_are_drawn_and_written_literally(tmp_path):
    scen = tmp_path / "s.yaml"
    text = TWO.read_text(encoding="utf-8")
    text = text.replace("name: Two volumes equalizing through a valve", 'name: "Cost $\\\\sqrt{$ [red]x[/red] <b>bold</b>"')
    text = text.replace("name: Module and tunnel", 'name: "$x^{$ <script>alert(1)</script>"')
    scen.write_text(text.replace("duration: 30 min", "duration: 2 min"), encoding="utf-8")
    o = call_cli(["graph", scen, "--png", tmp_path / "g.png"])
    assert o.code == 0, o.err
    assert (tmp_path / "g.png").stat().st_size > 1000
    o = call_cli(["run", scen, "--out", tmp_path / "run", "--quiet"])
    assert o.code in (0, 1), o.err
    o = call_cli(["report", tmp_path / "run", "--html", tmp_path / "r.html"])
    assert o.code == 0, o.err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<b>bold" not in page and "&lt;b&gt;bold" in page


# -- exit codes of numerical failures -----------------------------------------------------------
@pytest.fixture
def failing_solver(monkeypatch):
    """Make the atmosphere solver fail after the first minute, as a stiff case can."""
    from sim.atmosphere import base


    name = "advance"
    original = getattr(base.AtmosphereSolver, name)

    def failing(self, *a, **k):
        if self.t > 60.0:
            raise base.SolverError(f"t={self.t:.9g} s: Newton did not converge (test)")
        return original(self, *a, **k)

    monkeypatch.setattr(base.AtmosphereSolver, name, failing)


def test_a_run_that_fails_numerically_exits_1(failing_solver, tmp_path):
    o = call_cli(["run", TWO, "--out", tmp_path / "r", "--quiet"])
    assert o.code == 1 and "did not complete" in o.err, o.err
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "failed"


def test_a_drill_that_fails_numerically_exits_1_and_is_not_scored(failing_solver, tmp_path):
    drill = sorted((REPO / "scenarios" / "drills").glob("*.yaml"))[0]
    o = call_cli(["drill", drill, "--out", tmp_path / "d"])
    assert o.code == 1 and not o.crashed(), o.err
    assert "did not complete" in o.err and "NOT SCORED" in o.out, o.out
    assert "score 100" not in o.out


def test_sweep_rerun_of_a_failed_run_exits_1(tmp_path, monkeypatch):
    from sim.sweep import parse_vary, run_sweep

    from .test_paths import LEAK

    run_sweep(LEAK, [parse_vary("leaks.crack.rate=[1, 2] lb/day")], tmp_path / "s", executor="serial")
    from sim.atmosphere import base

    original = base.AtmosphereSolver.advance

    def failing(self, *a, **k):
        if self.t > 60.0:
            raise base.SolverError("test failure")
        return original(self, *a, **k)

    monkeypatch.setattr(base.AtmosphereSolver, "advance", failing)
    o = call_cli(["sweep", "rerun", tmp_path / "s", "1", "--out", tmp_path / "r", "--quiet"])
    assert o.code == 1 and "did not complete" in o.err and not o.crashed(), o.err
    shutil.rmtree(tmp_path / "r", ignore_errors=True)
