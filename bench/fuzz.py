"""Long fuzzing campaigns through the command line (the test suite runs a quick profile).

    python bench/fuzz.py --minutes 10 [--json bench/results/fuzz.json] [--seed N]

Alternates the six strategies of ``tests/reliability/test_fuzz.py`` (stations, scenarios and
procedures built from the schemas; mutations of the shipped station, scenarios and procedures) in
batches of fresh random examples until the time is up; every fuzzed file goes through ``validate``
and, where it can run, a short ``run --out``. Prints the count of cases tried by outcome (exit 0, 1,
2, 3, hang, traceback) and writes them as JSON, with every crashing input for a bug report.
Between batches it runs the attacks by class of defect of ``tests/reliability/attacks.py`` (hostile
stored paths, extreme values, tampered run directories, bad command-line values, names with
terminal or plot controls) and counts, per class, the cases tried and the defects found.
Exit status: 0 when nothing crashed and no attack found a defect, 1 otherwise.
"""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

# hypothesis keeps caches in ./.hypothesis unless told otherwise; never leave one in the tree
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="safehaven-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, True)
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

set_hypothesis_home_dir(_HYPOTHESIS_HOME)

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from reliability.attacks import CLASSES, Attacks  # noqa: E402
from reliability.fuzzing import Tally, Workspace, run_case  # noqa: E402
from reliability.harness import clean_env, dump  # noqa: E402
from reliability.strategies import (  # noqa: E402
    mutated_documents,
    procedure_documents,
    scenario_documents,
    station_documents,
)

BATCH = settings(max_examples=25, deadline=None, database=None, phases=["generate"],
                 suppress_health_check=list(HealthCheck))


def _case(kind, how, stop, generated, ws, tally):
    def case(data):  # the clock is checked between batches: hypothesis wants the same draws each replay
        if how == "generated":
            text, base = dump(data.draw(generated[kind])).encode("utf-8"), None
        else:
            base, doc = data.draw(st.sampled_from(ws.bases[kind]))
            text = data.draw(mutated_documents(doc))
        run_case(ws, kind, text, tally, f"{how} {kind}", base=base)

    return case


def attack_round(attacks: Attacks, rng, per_class: dict) -> None:
    """One case of every attack class; *per_class* collects {class: {"cases", "defects", "examples"}}."""
    for name in CLASSES:
        case = getattr(attacks, name)(rng)
        entry = per_class.setdefault(name, {"cases": 0, "defects": 0, "examples": []})
        entry["cases"] += 1
        found = case.defects()
        entry["defects"] += bool(found)
        entry["examples"] += found[: max(0, 5 - len(entry["examples"]))]


def campaign(minutes: float, root_seed: int, tally: Tally, ws: Workspace, attacks: Attacks | None = None,
             per_class: dict | None = None) -> None:
    """Run batches of every strategy, and rounds of attacks by class, until *minutes* have passed."""
    import random

    rng = random.Random(root_seed)
    generated = {"station": station_documents(), "scenario": scenario_documents(),
                 "procedure": procedure_documents()}
    stop = time.monotonic() + 60.0 * minutes
    batch = 0

    while time.monotonic() < stop:
        for kind in ("station", "scenario", "procedure"):
            for how in ("generated", "mutated"):
                if time.monotonic() >= stop:
                    return
                batch += 1

                case = _case(kind, how, stop, generated, ws, tally)
                seed(root_seed * 1_000_003 + batch)(BATCH(given(st.data())(case)))()
                if attacks is not None:
                    for _ in range(5):
                        attack_round(attacks, rng, per_class)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="length of the campaign [min]")
    p.add_argument("--seed", type=int, default=int(time.time()), help="root of the batch seeds")
    p.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "fuzz.json",
                   help="where to write the tally")
    args = p.parse_args(argv)
    clean_env()
    tally = Tally()
    t0 = time.monotonic()
    per_class: dict = {}
    with tempfile.TemporaryDirectory(prefix="safehaven-fuzz-") as tmp:
        ws = Workspace(Path(tmp) / "ws")
        campaign(args.minutes, args.seed, tally, ws, Attacks(Path(tmp) / "attacks"), per_class)
    result = {"minutes": round((time.monotonic() - t0) / 60, 2), "seed": args.seed, **tally.as_json(),
              "classes": per_class}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"fuzz: {tally.cases} cases, {tally.commands} commands in {result['minutes']} min (seed {args.seed})")
    for outcome, n in sorted(tally.by_outcome().items()):
        print(f"  {outcome:10s} {n:7d}")
    print(f"  crashes    {len(tally.crashes):7d}   (details in {args.json})")
    for name, entry in per_class.items():
        print(f"  attacks {name:10s} {entry['cases']:6d} cases, {entry['defects']} defects")
    defects = sum(e["defects"] for e in per_class.values())
    return 0 if not tally.crashes and not defects else 1


if __name__ == "__main__":
    sys.exit(main())
