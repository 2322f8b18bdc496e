"""Re-running a drill's run directory (a live session included) and proving the same events come out.

:func:`read_session` reads what a drill directory keeps about its session (``session.yaml`` and
``inputs/manifest.json``, with the validated readers: the directory may have been edited by hand);
:func:`replay_drill` runs the drill again from ``inputs/`` with the recorded seed, mode and live
commands (each applied at its recorded time) and compares the event log line by line.
``safehaven drill --replay``, ``safehaven replay`` and ``drill --resume`` use them.
"""

from __future__ import annotations

from pathlib import Path

from sim.drill.injects import DrillRun
from sim.drill.record import session_files
from sim.drill.session import ReplaySource, control_process
from sim.errors import UsageError
from sim.paths import inside
from sim.results import artefacts
from sim.scenario.drill_load import load_drill

__all__ = ["read_session", "replay_drill"]


def read_session(directory: Path, what: str = "session") -> tuple[dict, dict, Path]:
    """The session.yaml, inputs/manifest.json and drill file of a drill's session or run directory,
    read with the validated readers (the directory may have been edited by hand).

    Raises
    ------
    UsageError, InputError
        When the directory is not one, or a file in it is not what Safehaven writes (located).
    """
    directory = Path(directory)
    manifest_path, session_path = directory / "inputs" / "manifest.json", directory / "session.yaml"
    for path in (manifest_path, session_path):
        if not path.is_file():
            raise UsageError(f"{directory}: not a drill's {what} directory (no {path.relative_to(directory)})")
    manifest = artefacts.manifest(manifest_path)
    session = artefacts.yaml_mapping(session_path)
    drill_path = inside(directory / "inputs", manifest.get("files", {}).get("drill"),
                        display=str(manifest_path), what="drill file")

    def bad(message: str):
        return UsageError(f"{session_path}: {message}")

    if session.get("mode", "batch") not in ("batch", "live"):
        raise bad("mode must be batch or live")
    if session.get("play", "procedures") not in ("procedures", "trainees", None):
        raise bad("play must be procedures or trainees")
    seed = session.get("seed", manifest.get("seed"))
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise bad("seed must be a whole number from 0 to 2**63-1")
    if session.get("speed") is not None and not (isinstance(session["speed"], int | float)
                                                 and 0 < session["speed"] <= 1e6):
        raise bad("speed must be a number from 0 to 1e6")
    reached = session.get("reached_s", 0.0)
    if not isinstance(reached, int | float) or isinstance(reached, bool) or not 0 <= reached < 1e12:
        raise bad("reached_s must be a time >= 0 [s]")
    commands = session.get("commands") or []
    if not isinstance(commands, list) or not all(
            isinstance(c, dict) and isinstance(c.get("command"), str) and isinstance(c.get("t"), int | float)
            and not isinstance(c.get("t"), bool) and 0 <= c["t"] < 1e12 for c in commands):
        raise bad("'commands' must be a list of {t: a time >= 0 [s], command: text}")
    if [c["t"] for c in commands] != sorted(c["t"] for c in commands):
        raise bad("'commands' must be in time order")
    return session, manifest, drill_path


def replay_drill(directory: Path):
    """Re-run a drill's run directory; returns ``(identical, result, first differing line or None)``."""
    directory = Path(directory)
    if not (directory / "events.jsonl").is_file():
        raise UsageError(f"{directory}: not a drill's run directory (no events.jsonl)")
    session, manifest, drill_path = read_session(directory, "run")
    drill = load_drill(drill_path)
    mode = session.get("mode", "batch")
    run = DrillRun(drill, session.get("seed", manifest.get("seed")), mode=mode,
                   play=session.get("play") or "procedures")
    control = control_process(ReplaySource(session.get("commands") or [])) if mode == "live" else None
    result = run.run(control)
    result.extra["files"] = {**result.extra.get("files", {}), **session_files(result, run, session.get("speed"))}
    # split on "\n" only: str.splitlines() would also split inside a text holding U+2028 or U+0085
    expected = (directory / "events.jsonl").read_bytes().decode("utf-8").removesuffix("\n").split("\n")
    got = list(result.events.lines())
    if expected == got:
        return True, result, None
    index = next((i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), min(len(expected), len(got)))
    return False, result, index
