"""The command grammar of live play: checked, answered clearly, run as one-step procedures."""

from __future__ import annotations

import pytest

from sim.drill.commands import CommandError, parse_command
from sim.drill.injects import DrillRun
from sim.scenario.drill_load import load_drill

from .conftest import kinds, run_drill


@pytest.fixture
def run(make_drill):
    return DrillRun(load_drill(make_drill("injects:\n  - {name: jam, fault: hatch_jams, hatch: lab-node, manual: true}\n")))


@pytest.mark.parametrize("text, verb", [
    ("move a to capsule", "move"), ("close hatch lab-node by b", "close_hatch"), ("open valve lab-node", "open_valve"),
    ("measure station treserve over '2 min' by a", "measure"), ("measure lab over 2 min", "measure"),
    ("repair crack by a for 10 min", "repair"), ("shelter all in capsule", "shelter"),
    ("repress tanks into node until 760 mmHg by b", "repress"), ("undock capsule", "undock"), ("evacuate", "evacuate"),
    ("start respond", "start"), ("inject jam", "inject"), ("speed 120", "speed"), ("pause", "pause"), ("quit", "quit"),
])
def test_good_commands(run, text, verb):
    assert parse_command(text, run).verb == verb


@pytest.mark.parametrize("text, message", [
    ("close hatch lab-nod", "unknown hatch 'lab-nod' (did you mean 'lab-node'?)"),
    ("move c to lab", "unknown crew member or role 'c'"),
    ("move a to kitchen", "unknown compartment 'kitchen'"),
    ("measure lab volume", "unknown measurement 'volume'"),
    ("repair crak", "unknown leak 'crak' (did you mean 'crack'?)"),
    ("repress tanks into lab for 1 min", "'into' one of node"),
    ("repress tanks", "repress needs 'until PRESSURE' or 'for TIME'"),
    ("measure lab over 5 kg", "'over 5 kg'"),
    ("speed fast", "speed: expected a number"),
    ("inject jamm", "unknown inject 'jamm' (did you mean 'jam'?)"),
    ("start nothing", "unknown procedure 'nothing'"),
    ("clsoe hatch lab-node", "unknown command 'clsoe' (did you mean 'close'?)"),
    ("close hatch 'lab-node", "cannot read the command"),
])
def test_bad_commands_are_answered(run, text, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_command(text, run)


def test_commands_run_as_one_step_procedures(make_drill):
    path = make_drill("")
    cmds = [{"t": 10.0, "command": "close hatch lab-node by b"}, {"t": 20.0, "command": "bogus"},
            {"t": 20.0, "command": "bogus", "error": "unknown command"}]
    run, result = run_drill(path, commands=cmds)
    closed = [e for e in kinds(result, "hatch") if e["hatch"] == "lab-node"]
    assert closed and closed[0]["by"] == "b" and closed[0]["t"] == pytest.approx(10 + 30)
    starts = kinds(result, "procedure_start")
    assert starts[0]["procedure"] == "live1:close_hatch" and starts[0]["t"] == 10.0
    # the refused command is recorded as refused, and the session goes on
    assert [r.get("error") is not None for r in run.session] == [False, True]
