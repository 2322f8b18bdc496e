"""What every ``safehaven`` sub-command shares: exit codes, the parser class, the console, and how
an error becomes a message and an exit code.

:mod:`sim.cli` builds the whole parser from the sub-command modules (:mod:`sim.cli_drill`,
:mod:`sim.cli_report`, :mod:`sim.cli_sweep`, …); they import this module and never :mod:`sim.cli`,
and this module imports none of them, so the command line's imports flow one way:
``cli -> cli_<command> -> cli_common``. :func:`command_alone` runs one sub-command by itself
(``python -m sim.cli_drill …``) with the same messages and exit codes as ``safehaven``.

Exit codes: 0 done (and every check passed), 1 done but a check failed, a replay differed or a run
could not continue numerically, 2 bad input or usage, 3 an internal error, 130 interrupted. Errors
never print a traceback unless ``SAFEHAVEN_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from sim.errors import InputError, SimError, UsageError
from sim.text import plain

__all__ = ["EXIT_FAILED", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "Parser", "command_alone",
           "console", "run_command", "top_parser"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

PROG = "safehaven"
DESCRIPTION = "Simulate spacecraft safe-haven procedures."


class Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is a :class:`~sim.errors.UsageError` (exit 2 with our
    ``safehaven: error:`` prefix) instead of argparse's own exit."""

    def error(self, message):
        self.print_usage(sys.stderr)
        raise UsageError(message)


def console(stderr: bool = False):
    """A rich console for a command's output (no highlighting, long lines folded by rich only)."""
    # imported here for start-up cost: building the parser must not import rich
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def run_command(build_parser: Callable[[], argparse.ArgumentParser], argv: Sequence[str]) -> int:
    """Parse *argv* with the parser *build_parser* returns, run the chosen ``handler``; the exit code.

    Every error is printed here, once: an :class:`~sim.errors.InputError` as its located problems,
    a :class:`~sim.errors.UsageError` as ``safehaven: error: …``, anything else as an internal
    error without a traceback (unless ``SAFEHAVEN_DEBUG`` is set).
    """
    try:
        args = build_parser().parse_args(list(argv))
        return args.handler(args)
    except InputError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INPUT
    except UsageError as exc:
        print(f"{PROG}: error: {plain(str(exc))}", file=sys.stderr)
        return EXIT_INPUT
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except (SimError, Exception) as exc:  # a defect: say so plainly, without a traceback
        if os.environ.get("SAFEHAVEN_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {plain(str(exc), 2000)}", file=sys.stderr)
        print("(set SAFEHAVEN_DEBUG=1 to see the traceback, and please report it)", file=sys.stderr)
        return EXIT_INTERNAL


def top_parser() -> tuple[Parser, argparse._SubParsersAction]:
    """The ``safehaven`` parser without sub-commands, and the subparsers to add them to."""
    parser = Parser(prog=PROG, description=DESCRIPTION)
    return parser, parser.add_subparsers(dest="command", required=True, parser_class=Parser)


def command_alone(add_parser: Callable[[argparse._SubParsersAction], object], command: Sequence[str],
                  argv: Sequence[str] | None = None) -> int:
    """Run one sub-command by itself, as ``safehaven COMMAND ARGS`` would; the exit code.

    Parameters
    ----------
    add_parser : callable
        The sub-command module's ``add_…_parser(subparsers)``.
    command : sequence of str
        What precedes *argv* on the ``safehaven`` command line (``["drill"]``; empty when *argv*
        starts with the sub-command's name itself, as ``python -m sim.cli_report replay DIR``).
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).
    """

    def build() -> Parser:
        parser, subparsers = top_parser()
        add_parser(subparsers)
        return parser

    return run_command(build, [*command, *(sys.argv[1:] if argv is None else argv)])
