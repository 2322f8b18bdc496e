"""Loading procedures alone and against a scenario: what is checked where."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import InputError
from sim.scenario.load import parse_text
from sim.scenario.procedure_load import procedure_from_document

REPO = Path(__file__).resolve().parent.parent.parent


def load(text: str):
    return procedure_from_document(parse_text(text, "p.yaml"))


def messages(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        load(text)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("path", sorted((REPO / "procedures").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_procedures_validate_alone(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", ["iss-prk-2026.yaml", "iss-emergency-depress.yaml"])
def test_shipped_scenarios_validate_with_their_procedures(name, capsys):
    assert main(["validate", str(REPO / "scenarios" / name)]) == 0, capsys.readouterr().err


def test_crew_ids_are_accepted_alone():
    # without a scenario, a name that is not a declared role may be a crew id
    loaded = load("name: p\nphases:\n  a:\n    - {do: move, who: cdr, to: dragon}\n"
                  "    - {do: wait, until: \"location(cdr) == dragon and status(cdr) == able\"}\n")
    assert len(loaded.conditions) == 1


def test_goto_with_a_key_of_if_names_the_keys_of_goto():
    assert messages("name: p\nphases:\n  a:\n    - {do: wait, for: 1 s}\n    - {goto: a, else: a}\n") == [
        "p.yaml:5: phases.a[1].else: unknown key 'else' (known: deadline, goto, label, on_expiry)"
    ]


def test_literal_error_names_the_value():
    assert messages("name: p\nphases:\n  a:\n    - {do: move, who: all, to: post, if_trapped: wiat}\n") == [
        "p.yaml:4: phases.a[0].if_trapped: expected 'wait' or 'give_up', got 'wiat' (did you mean 'wait'?)"
    ]


def test_a_wait_or_measurement_breaks_a_loop():
    load("name: p\nphases:\n  a:\n    - {do: wait, for: 1 min}\n    - {goto: a}\n")
    load("name: p\nphases:\n  a:\n    - {do: measure, of: prk, as: r}\n  b:\n    - {goto: a}\n")


def test_a_zero_wait_does_not_break_a_loop():
    assert messages("name: p\nphases:\n  a:\n    - {do: wait, for: 0 s}\n    - {goto: a}\n") == [
        "p.yaml:3: phases.a: phases a -> a loop without any step that lets time pass "
        "(add a wait or a measurement of at least 1 s)"
    ]


def test_conditions_are_compiled_once_per_step():
    loaded = load("name: p\nphases:\n  a:\n    - {do: measure, of: prk, as: r}\n"
                  "    - {if: \"r < 0\", then: b}\n  b:\n    - {do: wait, until: \"p(prk) > 90 kPa\"}\n")
    assert sorted(c.text for c in loaded.conditions.values()) == ["p(prk) > 90 kPa", "r < 0"]
    assert loaded.variables == {"r": "rate"}
