"""The ``drill`` command of ``safehaven``: a drill in batch or live, its scorecard, and replay.

``safehaven drill DRILL [--live] [--speed X] [--out DIR] [--seed N] [--json]`` runs a drill;
``safehaven drill --replay DIR [--out DIR2] [--at T]`` re-runs a drill's run directory (a live
session included, its commands applied at their recorded times), proves the same events come out,
and with ``--at`` shows the state at time T as recorded (:mod:`sim.results.state`).

:func:`add_drill_parser` adds the command to the main parser's subparsers (its ``handler`` is
:func:`run_drill_command`); :func:`main` runs it alone (``python -m sim.cli_drill DRILL …``) with
the same exit codes as ``safehaven``: 0 done and every expectation met (a replay: identical),
1 an expectation failed (a replay: different events), 2 bad input or usage, 3 an internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.cli_values import seed, speed
from sim.errors import UsageError

__all__ = ["add_drill_parser", "main", "run_drill_command"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def add_drill_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``drill`` to *subparsers* (from ``add_subparsers``)."""
    d = subparsers.add_parser("drill", help="a drill, scripted or played live, and its scorecard")
    _arguments(d)
    d.set_defaults(handler=run_drill_command)
    return d


def _arguments(d: argparse.ArgumentParser) -> None:
    d.add_argument("drill", type=Path, nargs="?", help="a drill file (scenarios/drills/*.yaml)")
    d.add_argument("--live", action="store_true", help="play it live: a dashboard and a command line")
    d.add_argument("--speed", type=speed, default=60.0, metavar="X",
                   help="live: simulated seconds per wall second (default 60)")
    d.add_argument("--out", type=Path, help="run directory to write (scorecard.json, session.yaml, …)")
    d.add_argument("--seed", type=seed, help="replace the drill's seed (0 to 2**63-1)")
    d.add_argument("--force", action="store_true", help="replace an existing run directory")
    d.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    d.add_argument("--replay", type=Path, metavar="DIR", help="re-run a drill's run directory and compare events")
    d.add_argument("--at", metavar="T", help="with --replay: also show the state at time T (00:35:00, '35 min', 2100)")


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _files(result, run, speed) -> dict[str, str]:
    import yaml

    from sim.drill.session import session_document

    card = json.dumps(result.extra["scorecard"], indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    session = yaml.safe_dump(session_document(run, speed), sort_keys=False, allow_unicode=True)
    return {"scorecard.json": card, "session.yaml": session}


def render_scorecard(console, card: dict) -> None:
    """The scorecard as a table."""
    from rich.table import Table

    table = Table(title=f"{card['drill']} — score {card['score']:g} / 100 (pass mark {card['pass_mark']:g})")
    for col in ("expectation", "weight", "result", "margin", "detail"):
        table.add_column(col)
    for x in card["expectations"]:
        result = "n/a" if x["passed"] is None else "PASS" if x["passed"] else "FAIL"
        style = None if x["passed"] is None else "green" if x["passed"] else "red"
        if x.get("margin_s") is not None:
            margin = f"{x['margin_s']:+.0f} s"
        elif x.get("margin_Pa") is not None:
            margin = f"{x['margin_Pa']:+.0f} Pa"
        else:
            margin = ""
        table.add_row(x["name"], f"{x['weight']:g}", result, margin, x["detail"], style=style)
    console.print(table)
    fired = ", ".join(f"{i['name']} at {i['fired_s']:.0f} s" for i in card["injects"] if i["fired_s"] is not None)
    console.print(f"injects fired: {fired or 'none'}")
    if card.get("status", "ok") != "ok":  # a score of a run that stopped early would mislead
        console.print("[bold]NOT SCORED[/bold]: the run did not complete (status "
                      f"{card['status']}); the expectations above were judged on a partial run")
        return
    verdict = "PASSED" if card["passed"] else "NOT PASSED"
    console.print(f"[bold]{verdict}[/bold]: score {card['score']:g}, "
                  f"{'every expectation met' if card['all_met'] else 'some expectations not met'}")


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
    if args.drill is None:
        raise UsageError("drill: give a drill file, or --replay DIR")
    if not args.speed > 0:
        raise UsageError(f"--speed {args.speed:g}: expected a positive factor (60 = a minute a second)")
    if args.out is not None and args.out.exists() and not args.force:
        raise UsageError(f"{args.out} exists; choose another --out or pass --force to replace it")
    from sim.drill.injects import DrillRun
    from sim.results.writers import write_run
    from sim.scenario.drill_load import load_drill

    drill = load_drill(args.drill)
    if args.live:
        from sim.drill.live import LiveConsole, realtime_env

        run = DrillRun(drill, args.seed, realtime_env(args.speed), mode="live")
        with LiveConsole(sys.stdin, args.speed) as console:
            result = run.run(console.control_process())
    else:
        run = DrillRun(drill, args.seed)
        result = run.run()
    result.extra["files"] = {**result.extra.get("files", {}), **_files(result, run, args.speed if args.live else None)}
    if args.out is not None:
        write_run(result, args.out, force=args.force)
    card = result.extra["scorecard"]
    if args.json:
        print(json.dumps(card, indent=2))
    else:
        render_scorecard(_console(), card)
        if args.out is not None:
            print(f"run directory: {args.out}")
    if result.status != "ok":  # a numerical failure is a result (exit 1), not an internal error
        print(f"safehaven: the drill did not complete: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if card["all_met"] else EXIT_FAILED


def replay_drill(directory: Path):
    """Re-run a drill's run directory; returns ``(identical, result, first differing line or None)``."""
    import yaml

    from sim.drill.injects import DrillRun
    from sim.drill.session import ReplaySource, control_process
    from sim.scenario.drill_load import load_drill

    directory = Path(directory)
    manifest_path, session_path = directory / "inputs" / "manifest.json", directory / "session.yaml"
    for path in (manifest_path, session_path, directory / "events.jsonl"):
        if not path.is_file():
            raise UsageError(f"{directory}: not a drill's run directory (no {path.relative_to(directory)})")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    session = yaml.safe_load(session_path.read_text(encoding="utf-8")) or {}
    drill_rel = manifest.get("files", {}).get("drill")
    if drill_rel is None:
        raise UsageError(f"{directory}: inputs/manifest.json names no drill file")
    drill = load_drill(directory / "inputs" / drill_rel)
    mode = session.get("mode", "batch")
    run = DrillRun(drill, int(session.get("seed", manifest["seed"])), mode=mode)
    control = control_process(ReplaySource(session.get("commands") or [])) if mode == "live" else None
    result = run.run(control)
    result.extra["files"] = {**result.extra.get("files", {}), **_files(result, run, session.get("speed"))}
    # split on "\n" only: str.splitlines() would also split inside a text holding U+2028 or U+0085
    expected = (directory / "events.jsonl").read_bytes().decode("utf-8").removesuffix("\n").split("\n")
    got = list(result.events.lines())
    if expected == got:
        return True, result, None
    index = next((i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), min(len(expected), len(got)))
    return False, result, index


def _replay(args) -> int:
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
        console = _console()
        render_scorecard(console, card)
        if identical:
            console.print(f"identical: {len(result.events)} events, events.jsonl reproduced byte for byte")
        else:
            console.print(f"[red]DIFFERENT[/red]: first differing event is line {index + 1} of events.jsonl")
        if state is not None:
            render_state(console, state, series_state)
    return EXIT_OK if identical else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.cli_drill DRILL …``: the ``drill`` command alone, same exit codes as ``safehaven``."""
    from sim.cli import main as safehaven

    return safehaven(["drill", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
