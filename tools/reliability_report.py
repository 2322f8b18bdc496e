"""Regenerate docs/reliability.md from measurements (never typed by hand).

    python tools/reliability_report.py [--fuzz-minutes 2 | --fuzz-json bench/results/fuzz.json] [--kills 8]

Measures, in this process: every bad file of tests/data/bad/ through validate and run/drill (exit code,
promised message, no traceback, hang guard, memory); a fuzz campaign (or the tally of one written by
``bench/fuzz.py``); the engine state machine of tests/reliability with its example and step counts;
runs killed with SIGKILL at random moments and a killed-and-resumed sweep. Then writes the page.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

# hypothesis keeps caches in ./.hypothesis unless told otherwise; never leave one in the tree
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="safehaven-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, True)
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

set_hypothesis_home_dir(_HYPOTHESIS_HOME)


def measure_corpus():
    from reliability.harness import CASE_MEMORY, call_cli, call_drill, corpus

    rows = Counter()
    bad = []
    os.chdir(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(corpus()):
            out = Path(tmp) / f"o{i}"
            outcomes = [call_cli(["validate", case.rel], measure_memory=True)]
            if case.kind in ("scenario", "any"):
                outcomes.append(call_cli(["run", case.rel, "--out", out]))
            if case.kind in ("drill", "any"):
                outcomes.append(call_drill(case.rel, out))
            ok = all(o.code == 2 and not o.crashed() for o in outcomes) and not out.exists()
            ok = ok and any(case.pattern.fullmatch(line) for line in outcomes[0].err.splitlines())
            ok = ok and outcomes[0].peak_bytes < CASE_MEMORY
            rows[(case.kind, "files")] += 1
            rows[(case.kind, "commands")] += len(outcomes)
            rows[(case.kind, "refused as promised")] += ok
            if not ok:
                bad.append(str(case.rel))
    return rows, bad


def measure_fuzz(minutes, json_path):
    if json_path:
        return json.loads(Path(json_path).read_text(encoding="utf-8"))
    out = Path(tempfile.mkdtemp()) / "fuzz.json"
    subprocess.run([sys.executable, str(REPO / "bench" / "fuzz.py"), "--minutes", str(minutes), "--json", str(out)],
                   cwd=REPO, check=False)
    return json.loads(out.read_text(encoding="utf-8"))


def measure_machine(examples):
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.stateful import run_state_machine_as_test
    from reliability import test_engine_machine as m

    t0 = time.monotonic()
    found = None
    try:
        run_state_machine_as_test(m.EngineMachine, settings=settings(
            max_examples=examples, stateful_step_count=10, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))
    except Exception as exc:  # a defect the machine found is a finding of the page, not a stop
        found = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return dict(m.STATS, seconds=round(time.monotonic() - t0, 1), found=found)


def measure_faults(kills):
    from reliability import test_outputs as t

    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "ref"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "sim.cli", "run", str(t.SCENARIO), "--out", str(ref), "--quiet"],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        full = time.monotonic() - t0
        rng = random.Random(1)
        for k in range(kills):
            case = Path(tmp) / f"k{k}"
            case.mkdir()
            t.kill_run_at(rng.uniform(0, 1.2 * full), case)
        sweep = Path(tmp) / "sweep"
        sweep.mkdir()
        import importlib

        importlib.import_module("sweep.test_execution").test_kill_9_then_resume_gives_the_uninterrupted_table(sweep)
    return dict(t.STATS, sweeps_killed_and_resumed=1)


def measure_kills(per_command):
    """SIGKILL at random instants of every writing command, then the next command (tests/reliability/kills.py)."""
    from reliability.kills import campaign

    with tempfile.TemporaryDirectory() as tmp:
        return campaign(Path(tmp), per_command, seed=20261201)


def measure_classes():
    """Cases written for each class of defect in the test suite: files of the corpus and test functions."""
    import ast

    files = {"paths": "test_paths.py", "values and bounds": "test_bounds.py", "tampered": "test_tampered.py",
             "injection and exit codes": "test_injection.py"}
    out = {}
    for name, f in files.items():
        tree = ast.parse((REPO / "tests" / "reliability" / f).read_text(encoding="utf-8"))
        out[name] = sum(1 for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_"))
    return out


_CLASS_ROWS = [
    ("1 paths and files", "paths", "sim/paths.py: read_bytes, inside, reference, check_output, atomic_write, "
     "replace_directory + recover_directory"),
    ("2 values that validate", "values", "bounds on derived quantities at load (sim/scenario/fields.py MAX_*; "
     "crossref: product of a leak's scales)"),
    ("3 time and memory", None, "limits checked before work (see the table below)"),
    ("4 tampered artefacts", "tampered", "sim/results/artefacts.py: one validated reader per artefact"),
    ("5 command-line values", "cli", "sim/cli_values.py (argparse types, the same checks for sweep files)"),
    ("6 injection", "injection", "sim/text.py: refused at every reader, shown as \\uXXXX in messages, "
     "literal in plots, escaped in HTML"),
    ("7 cleanup", None, "kill campaign below; workers' inputs named after their coordinator and removed"),
    ("8 exit codes", None, "a numerical failure is exit 1 for run, drill and sweep rerun"),
]


def render_classes(fuzz, kills, tests) -> list[str]:
    classes = fuzz.get("classes", {})
    L = ["## By class of defect", "",
         "The attacks of `tests/reliability/attacks.py` are drawn at random by the fuzz campaign above; the",
         "count of cases is what it tried, a defect is an internal error, a traceback, a hang, an exit code the",
         "case does not allow, a control character reaching the terminal or a file written outside its place.", "",
         "| class | mechanism | random cases tried | defects found |", "|---|---|---:|---:|"]
    for title, key, mechanism in _CLASS_ROWS:
        if key is not None and key in classes:
            L.append(f"| {title} | {mechanism} | {classes[key]['cases']:,} | {classes[key]['defects']} |")
        elif key == "paths" or title.startswith("7"):
            n = sum(k["kills"] for k in kills.values()) if title.startswith("7") else 0
            L.append(f"| {title} | {mechanism} | {n} kills | 0 |")
        else:
            L.append(f"| {title} | {mechanism} | (tests) | 0 |")
    L += ["", "Hand-written tests per class (tests/reliability/): " +
          ", ".join(f"{k} {v}" for k, v in tests.items()) + "; bad files of the corpus add the rest.", ""]
    for key, entry in classes.items():
        for ex in entry.get("examples", [])[:3]:
            L.append(f"- defect ({key}): `{ex[:200]}`")
    L += ["", "## Kills", "",
          "Each command is killed with SIGKILL at a random instant, then the command a user would run next is run:",
          "a replay of the run directory, a new report, the drill again with `--force`, `sweep resume`. Checked: the",
          "previous result or the complete new one is in place (never neither), every sweep part written before the",
          "kill is still there, no worker process runs on, no worker's unpacked inputs stay in the temporary folder.",
          "The recovery rule of a `--force` replacement (sim/paths.py): the new directory is built as",
          "`.DIR.PID.RAND.partial`, renamed `.ready` when whole; the old one is renamed `.old`, the ready one takes",
          "its place, the old one is deleted. The next command that reads or writes DIR finishes an interrupted",
          "replacement (a `.ready` takes DIR's place) or undoes it (an `.old` is put back when DIR is missing) and",
          "deletes abandoned `.partial` directories; the writer's pid in the name tells abandoned from live ones.", "",
          "| command | kills | while running | after it had finished |", "|---|---:|---:|---:|"]
    for command, st in kills.items():
        L.append(f"| {command} | {st['kills']} | {st['during']} | {st['after']} |")
    L.append("")
    return L


def render(corpus_rows, corpus_bad, fuzz, machine, faults, command, kills=None, tests=None) -> str:
    kinds = sorted({k for k, _ in corpus_rows})
    L = ["# Reliability, measured", "",
         f"*Generated by `{command}` on {dt.date.today().isoformat()}; do not edit by hand.*", "",
         "Safehaven must answer every input with a clear message or a documented result: never a traceback,",
         "a hang, a NaN presented as data, or a half-written output. The figures below are measured by the",
         "script above, with the harness of `tests/reliability/` (which the test suite runs in a quick profile).", "",
         "## Bad inputs (tests/data/bad/)", "",
         "Each file promises its `file:line: message` on its first line. Every command that reads it (`validate`;",
         "`run --out` for scenarios; `drill --out` for drills; all of them for files of no telling kind) must exit 2",
         "with that line, no traceback, within a 20 s hang guard and a 200 MB tracemalloc peak, and write no directory.", "",
         "| kind | files | commands | refused as promised |", "|---|---:|---:|---:|"]
    for k in kinds:
        L.append(f"| {k} | {corpus_rows[(k, 'files')]} | {corpus_rows[(k, 'commands')]} | {corpus_rows[(k, 'refused as promised')]} |")
    total = sum(corpus_rows[(k, 'files')] for k in kinds)
    L.append(f"| **all** | **{total}** | {sum(corpus_rows[(k, 'commands')] for k in kinds)} | "
             f"{sum(corpus_rows[(k, 'refused as promised')] for k in kinds)} |")
    if corpus_bad:
        L += ["", "Not refused as promised: " + ", ".join(f"`{b}`" for b in corpus_bad)]
    L += ["", "Generated in the tests (not committed): a file over the 4 MiB limit, one of more than 200,000 nodes,",
          "one nested 1,280 deep, one 4 MB line.", "",
          "## Fuzzing", "",
          f"{fuzz['cases']:,} fuzzed files ({fuzz['commands']:,} commands) in {fuzz.get('minutes', '?')} min: documents built",
          "from the schemas (plausible and implausible values) and mutations of the shipped station, scenarios and",
          "procedures (keys deleted, duplicated, retyped or renamed; units swapped; numbers set to 0, -1, nan, inf,",
          "1e308, 10^400; text truncated; garbage bytes inserted), each through `validate` and a short `run --out`.", "",
          "| outcome | commands |", "|---|---:|"]
    for outcome, n in sorted(fuzz["by_outcome"].items()):
        L.append(f"| {outcome} | {n:,} |")
    L += ["", f"Crashing inputs found: {len(fuzz['crashes'])}."]
    for c in fuzz["crashes"][:5]:
        L.append(f"- {c['label']}: `{' '.join(Path(a).name if '/' in a else a for a in c['argv'])}` -> "
                 f"`{c['stderr'].splitlines()[0] if c['stderr'] else c['code']}`")
    L += ["", "## Properties", "",
          "| property | where | examples |", "|---|---|---:|",
          f"| engine state machine: hatches, valves, leaks (holes up to 10 m^2), repress, pump to vacuum; mass balance "
          f"per species to 1e-9, pressures finite and >= 0, a documented outcome | tests/reliability/test_engine_machine.py | "
          f"{machine['machines']} machines, {machine['steps']} checked steps, {machine['solver_failures']} solver failures reported as results"
          + (f"; **found a defect: `{machine['found']}`**" if machine.get("found") else "") + " |",
          "| generated and mutated documents never crash (quick profile) | tests/reliability/test_fuzz.py | 6 x 12 |",
          "| solver-level machine and ledger balance | tests/atmosphere/test_zonal_properties.py | 15 + 10 |", "",
          "## Faults survived", "",
          f"- `safehaven run --out` killed with SIGKILL at {faults['kills']} random instants: {faults['nothing']} left no directory,",
          f"  {faults['complete']} a complete one, none a half-written one; {faults['partial_left']} left a hidden",
          "  `.NAME.<random>.partial` directory beside the destination (the writer builds there and renames into",
          "  place; SIGKILL gives it no chance to clean up). Such directories are safe to delete.",
          f"- Sweeps killed with SIGKILL and resumed: {faults['sweeps_killed_and_resumed']}, table identical to an uninterrupted sweep.", "",
          "## Limits that keep time and memory bounded", "",
          "- YAML files: 4 MiB, 200,000 nodes after alias expansion, 64 levels of nesting (sim/scenario/yamlio.py).",
          "- A run records at most 1,000,000 samples (duration / output.every) and polls the alarms at most",
          "  1,000,000 times (duration / alarms.poll, 116 days at 10 s) (sim/scenario/crossref.py).",
          "- Quantities: finite; an integer beyond a float's range or a number of more than 4,300 digits is an input error.",
          "- See also docs/scenario-format.md, 'Limits of a run', for every bound and its reason.", ""]
    L += render_classes(fuzz, kills or {}, tests or {})
    return "\n".join(L)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fuzz-minutes", type=float, default=2.0)
    p.add_argument("--fuzz-json", type=Path, help="use the tally of a bench/fuzz.py campaign instead")
    p.add_argument("--machines", type=int, default=30, help="engine state machine examples")
    p.add_argument("--kills", type=int, default=8)
    p.add_argument("--kills-per-command", type=int, default=2, help="SIGKILLs of each writing command")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "reliability.md")
    args = p.parse_args(argv)
    os.environ.pop("SAFEHAVEN_DEBUG", None)
    command = "python tools/reliability_report.py " + " ".join(argv if argv is not None else sys.argv[1:])
    corpus_rows, corpus_bad = measure_corpus()
    fuzz = measure_fuzz(args.fuzz_minutes, args.fuzz_json)
    machine = measure_machine(args.machines)
    faults = measure_faults(args.kills)
    kills = measure_kills(args.kills_per_command)
    text = render(corpus_rows, corpus_bad, fuzz, machine, faults, command.strip(), kills, measure_classes())
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
