"""Helpers for the crew-movement verification cases (files under ``tests/data/movement/``).

A plain module (imported by the tests of this directory), not a conftest: helpers are functions.
"""

from __future__ import annotations

from pathlib import Path

MOVEMENT = Path(__file__).resolve().parent.parent / "data" / "movement"
"""One directory per case, M1 to M9, each with its station, scenario and procedure files."""


def load_case(relative: str, overrides: tuple[str, ...] = ()):
    """A movement case's scenario, loaded (``overrides`` as ``safehaven run --set``)."""
    import sim

    return sim.load(MOVEMENT / relative, list(overrides))


def run_case(relative: str, overrides: tuple[str, ...] = (), seed: int | None = None):
    """The :class:`~sim.engine.RunResult` of a movement case."""
    from sim.engine import simulate

    return simulate(load_case(relative, overrides), seed)

def events_of(result, *kinds: str, **match) -> list[dict]:
    """The events of *kinds* whose fields equal *match*, in order."""
    return [e for e in result.events.events
            if e["kind"] in kinds and all(e.get(k) == v for k, v in match.items())]


def arrival(result, crew: str) -> float:
    """When *crew* finished their (last) move task [s]: the end of the traverse of the target."""
    ends = [e["t"] for e in result.events.events
            if e["kind"] == "task_end" and e["crew"] == crew and e["task"].startswith(("move to", "go to"))]
    assert ends, f"{crew} never finished a move"
    return ends[-1]


def hatch_state_timeline(result, loaded) -> dict[str, list[tuple[float, bool]]]:
    """Each hatch's state changes ``[(t, is_open), ...]``, starting from its state at t = 0."""
    initial = {h: x.open for h, x in loaded.station.hatches.items()}
    for h, state in loaded.scenario.initial.hatches.items():
        initial[h] = state == "open"
    timeline = {h: [(0.0, is_open)] for h, is_open in initial.items()}
    for e in events_of(result, "hatch"):
        timeline[e["hatch"]].append((e["t"], e["state"] == "open"))
    return timeline


def open_at(timeline: list[tuple[float, bool]], t: float) -> bool:
    """Whether a hatch was open at *t*: the last change at or before *t* (changes at *t* count)."""
    state = timeline[0][1]
    for t_change, is_open in timeline:
        if t_change <= t:
            state = is_open
    return state


def assert_never_passed_closed(result, loaded) -> None:
    """Every move went through a hatch that was open throughout the pass."""
    timeline = hatch_state_timeline(result, loaded)
    hatches = loaded.station.hatches
    for e in events_of(result, "move"):
        if e.get("via") is None:
            continue
        speed = next(c.speed for c in loaded.scenario.crew if c.id == e["crew"])
        start = e["t"] - hatches[e["via"]].pass_time / speed
        changes = [(t, s) for t, s in timeline[e["via"]] if start < t < e["t"]]
        assert open_at(timeline[e["via"]], start) and all(s for _, s in changes), (
            f"{e['crew']} passed hatch {e['via']} while it was closed (pass {start:g}-{e['t']:g} s)")
