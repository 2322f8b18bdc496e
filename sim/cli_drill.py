"""The ``drill`` command of ``safehaven``: a drill in batch or live, its scorecard, and replay.

``safehaven drill DRILL [--live] [--speed X] [--out DIR] [--seed N] [--play trainees] [--json]``
runs a drill; ``safehaven drill --replay DIR [--out DIR2] [--at T]`` re-runs a drill's run directory
(a live session included, its commands applied at their recorded times), proves the same events
come out, and with ``--at`` shows the state at time T as recorded (:mod:`sim.results.state`);
``safehaven drill --resume DIR`` re-executes a live session that was cut short and plays on.
A live session always has a directory (``--out``, or one under ``runs/`` named on screen) that
holds the session from its first moment (:mod:`sim.drill.record`).

:func:`add_drill_parser` adds the command to the main parser's subparsers (its ``handler`` is
:func:`run_drill_command`); :func:`main` runs it alone (``python -m sim.cli_drill DRILL …``) with
the same exit codes as ``safehaven``: 0 done and every expectation met (a replay: identical),
1 an expectation failed (a replay: different events), 2 bad input or usage, 3 an internal error.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from sim.cli_common import EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, command_alone, console
from sim.cli_values import seed, speed
from sim.errors import UsageError

# The handlers import the drill machinery when they run, not this module: `safehaven` imports it
# to build its parser, and every other command (validate, run, ...) would pay for it at start-up.

__all__ = ["add_drill_parser", "main", "run_drill_command"]

DEFAULT_SPEED = 60.0
"""Simulated seconds per wall second of a live session without --speed."""


def add_drill_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``drill`` to *subparsers* (from ``add_subparsers``)."""
    d = subparsers.add_parser("drill", help="a drill, scripted or played live, and its scorecard")
    _arguments(d)
    d.set_defaults(handler=run_drill_command)
    return d


def _arguments(d: argparse.ArgumentParser) -> None:
    d.add_argument("drill", type=Path, nargs="?", help="a drill file (scenarios/drills/*.yaml)")
    d.add_argument("--live", action="store_true", help="play it live: a dashboard and a command line")
    d.add_argument("--speed", type=speed, default=None, metavar="X",
                   help="live: simulated seconds per wall second (default 60)")
    d.add_argument("--out", type=Path, help="run directory to write (scorecard.json, session.yaml, …)")
    d.add_argument("--seed", type=seed, help="replace the drill's seed (0 to 2**63-1)")
    d.add_argument("--force", action="store_true", help="replace an existing run directory")
    d.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    d.add_argument("--replay", type=Path, metavar="DIR", help="re-run a drill's run directory and compare events")
    d.add_argument("--at", metavar="T", help="with --replay: also show the state at time T (00:35:00, '35 min', 2100)")
    d.add_argument("--resume", type=Path, metavar="DIR",
                   help="live: re-execute a session that was cut short (Ctrl-C, killed) and play on")
    d.add_argument("--serve", action="store_true",
                   help="play it live in the browser: instructor and trainee pages on 127.0.0.1, until stopped")
    d.add_argument("--port", type=int, default=None, metavar="N",
                   help="--serve: the port to listen on (default 8765; 0 picks a free one)")
    d.add_argument("--play", choices=("procedures", "trainees"), default=None,
                   help="who plays the crew: the scenario's procedures (default) or the trainees alone")


def run_drill_command(args) -> int:
    """Run ``safehaven drill`` from parsed arguments; returns the exit code.

    Raises
    ------
    InputError, UsageError
        For the caller to print (exit code 2).
    """
    if args.replay is not None:
        return _replay(args)
    if args.at is not None:
        raise UsageError("--at shows a recorded drill at time T: use it with --replay DIR")
    if args.resume is not None:
        return _resume(args)
    if args.drill is None:
        raise UsageError("drill: give a drill file, or --replay DIR, or --resume DIR")
    if args.out is not None and args.out.exists() and not args.force:
        raise UsageError(f"{args.out} exists; choose another --out or pass --force to replace it")
    from sim.drill.injects import DrillRun
    from sim.scenario.drill_load import load_drill

    if args.port is not None and not (args.serve and 0 <= args.port <= 65535):
        raise UsageError(f"--port {args.port}: expected --serve and a port from 0 to 65535")
    if args.serve and args.live:
        raise UsageError("--live and --serve: choose the terminal (--live) or the browser (--serve)")
    drill = load_drill(args.drill)
    play = args.play or "procedures"
    if args.serve:
        from sim.drill.record import default_session_dir
        from sim.drill.web import DEFAULT_PORT, serve

        out = args.out if args.out is not None else default_session_dir(args.drill)
        run = DrillRun(drill, args.seed, mode="live", play=play)
        speed = args.speed if args.speed is not None else DEFAULT_SPEED
        session = serve(run, out, speed, DEFAULT_PORT if args.port is None else args.port)
        if session.result is None:
            print(f"safehaven: the session failed: {session.error}", file=sys.stderr)
            return EXIT_INTERNAL
        return _report(args, session.result, session.out)
    if args.live:
        from sim.drill.record import default_session_dir

        out = args.out if args.out is not None else default_session_dir(args.drill)
        run = DrillRun(drill, args.seed, mode="live", play=play)
        return _play_live(args, run, out, source_of=lambda live: live)
    run = DrillRun(drill, args.seed, play=play)
    result = run.run()
    return _finish(args, run, result, args.out, None)


def _finish(args, run, result, out, speed) -> int:
    """Write the run directory (if any), print the scorecard; the exit code."""
    from sim.drill.record import session_files
    from sim.results.writers import write_run

    result.extra["files"] = {**result.extra.get("files", {}), **session_files(result, run, speed)}
    if out is not None:
        write_run(result, out, force=True if run.mode == "live" else args.force)
    return _report(args, result, out)


def _report(args, result, out) -> int:
    """Print the scorecard (table or JSON) and where the run is; the exit code."""
    from sim.drill.review import render_scorecard

    card = result.extra["scorecard"]
    if args.json:
        print(json.dumps(card, indent=2))
    else:
        render_scorecard(console(), card)
        if out is not None:
            print(f"run directory: {out}")
    if result.status != "ok":  # a numerical failure is a result (exit 1), not an internal error
        print(f"safehaven: the drill did not complete: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if card["all_met"] else EXIT_FAILED


class _Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM end a live session at its next tick, as a recorded ``quit``."""

    def __init__(self, source):
        self.source = source

    def __enter__(self):
        import signal

        self.saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def stop(signum, frame):
            self.source.stop_reason = "interrupted (Ctrl-C)" if signum == signal.SIGINT else "terminated"

        for sig in self.saved:
            signal.signal(sig, stop)
        return self

    def __exit__(self, *exc):
        import signal

        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        return False


def _play_live(args, run, out: Path, source_of, speed: float | None = None, fresh: bool = True) -> int:
    """Play *run* live in the terminal, kept in *out* from the start; ``source_of(console)`` is the
    command source (the console itself, or a resumed session ending in it)."""
    from sim.drill.live import LiveConsole
    from sim.drill.record import SessionRecorder
    from sim.drill.session import control_process

    speed = speed if speed is not None else args.speed if args.speed is not None else DEFAULT_SPEED
    recorder = SessionRecorder(run, out, speed)
    recorder.start(fresh)
    print(f"session directory: {out}  (kept as you play; Ctrl-C ends and saves it; "
          f"'safehaven drill --resume {out}' plays on)", flush=True)
    with LiveConsole(sys.stdin, speed, on_tick=recorder.tick) as live:
        source = source_of(live)
        with _Interrupts(live):
            result = run.run(control_process(source))
    return _finish(args, run, result, out, live.speed)


def _resume(args) -> int:
    from sim.drill.replay import read_session

    session, manifest, drill_path = read_session(args.resume)
    if session.get("mode") != "live":
        raise UsageError(f"{args.resume}: a batch run; only a live session can be resumed")
    # the session's own inputs are read from a copy: the directory is rewritten as the session goes on
    with tempfile.TemporaryDirectory(prefix="safehaven-resume-") as tmp:
        shutil.copytree(args.resume / "inputs", Path(tmp) / "inputs")
        return _resume_from(args, session, manifest, Path(tmp) / drill_path.relative_to(args.resume))


def _resume_from(args, session: dict, manifest: dict, drill_path: Path) -> int:
    from sim.drill.injects import DrillRun
    from sim.drill.session import ResumeSource
    from sim.scenario.drill_load import load_drill

    drill = load_drill(drill_path)
    run = DrillRun(drill, session.get("seed", manifest.get("seed")), mode="live",
                   play=session.get("play") or "procedures")
    commands = session["commands"] if isinstance(session.get("commands"), list) else []
    quits = [float(c["t"]) for c in commands if str(c["command"]).split()[:1] == ["quit"]]
    until = quits[-1] if quits else float(session.get("reached_s") or 0.0)
    if until >= run.sim.end:
        raise UsageError(f"{args.resume}: the session already ran to the drill's end; nothing to resume")
    speed = args.speed if args.speed is not None else float(session.get("speed") or DEFAULT_SPEED)
    print(f"resuming {args.resume} at {until:.0f} s: re-executing {len(commands)} recorded command(s)", flush=True)
    return _play_live(args, run, args.resume, lambda live: ResumeSource(commands, until, live), speed, fresh=False)


def _replay(args) -> int:
    from sim.drill.replay import replay_drill
    from sim.drill.review import render_scorecard
    from sim.replay import parse_time
    from sim.report.state_view import render_state, run_state_at, state_json
    from sim.results.reader import read_run
    from sim.results.writers import write_run

    if args.out is not None and args.out.exists() and not args.force:
        raise UsageError(f"{args.out} exists; choose another --out or pass --force to replace it")
    at = parse_time(args.at) if args.at is not None else None
    state = series_state = None
    if at is not None:  # checked before the re-run, so a bad --at costs nothing
        state, series_state = run_state_at(read_run(args.replay), at)
    identical, result, index = replay_drill(args.replay)
    if args.out is not None:
        write_run(result, args.out, force=args.force)
    card = result.extra["scorecard"]
    if args.json:
        out = {"identical": identical, "first_difference": index, "scorecard": card}
        if state is not None:
            out["at"] = state_json(state, series_state)
        print(json.dumps(out, indent=2))
    else:
        screen = console()
        render_scorecard(screen, card)
        if identical:
            screen.print(f"identical: {len(result.events)} events, events.jsonl reproduced byte for byte")
        else:
            screen.print(f"[red]DIFFERENT[/red]: first differing event is line {index + 1} of events.jsonl")
        if state is not None:
            render_state(screen, state, series_state)
    return EXIT_OK if identical else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.cli_drill DRILL …``: the ``drill`` command alone, same exit codes as ``safehaven``."""
    return command_alone(add_drill_parser, ["drill"], argv)


if __name__ == "__main__":
    sys.exit(main())
