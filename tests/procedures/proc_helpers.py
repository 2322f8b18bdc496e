"""Running small procedures on ``tests/data/procedures/station.yaml`` (helpers, not tests)."""

from __future__ import annotations

import textwrap
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "procedures"
STATION = DATA / "station.yaml"

CREW = """\
crew:
  - {id: alice, roles: [ops, shelter], at: hab, vehicle: capsule}
  - {id: bob, roles: [ops, repair], at: node, vehicle: capsule}
"""
"""The default crew: alice in the habitat, bob in the node, both assigned to the capsule."""


def scenario_text(procedure: Path | str, *, body: str = "", crew: str = CREW, duration: str = "30 min",
                  seed: int = 1, trigger: str = "at: 0 s", bind: str | None = None) -> str:
    """A scenario on the test station running *procedure*; *body* adds leaks, initial, events, checks."""
    entry = f"{{procedure: {procedure}, {trigger}{', bind: ' + bind if bind else ''}}}"
    return (f"name: procedure test\nstation: {STATION}\nduration: {duration}\nseed: {seed}\n"
            f"output: {{every: 10 s}}\n{crew}run:\n  - {entry}\n{textwrap.dedent(body)}")


def load_procedure(tmp_path: Path, procedure: str, **kwargs):
    """Write *procedure* (YAML text, or a file name under tests/data/procedures) and a scenario; load."""
    import sim

    if procedure.endswith(".yaml") and "\n" not in procedure:
        proc_path = DATA / procedure
    else:
        proc_path = tmp_path / "procedure.yaml"
        proc_path.write_text(textwrap.dedent(procedure), encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(scenario_text(proc_path, **kwargs), encoding="utf-8")
    return sim.load(scenario)


def run_procedure(tmp_path: Path, procedure: str, seed: int | None = None, **kwargs):
    """The RunResult of *procedure* on the test station."""
    from sim.engine import simulate

    return simulate(load_procedure(tmp_path, procedure, **kwargs), seed)


def events_of(result, *kinds: str, **match) -> list[dict]:
    """The events of *kinds* whose fields equal *match*, in order."""
    return [e for e in result.events.events
            if e["kind"] in kinds and all(e.get(k) == v for k, v in match.items())]


def one(result, kind: str, **match) -> dict:
    """The single event of *kind* matching *match*."""
    found = events_of(result, kind, **match)
    assert len(found) == 1, f"expected one {kind} {match}, got {found}"
    return found[0]
