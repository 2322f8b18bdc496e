"""Regenerate the golden events of the shipped scenarios on purpose.

    python tests/data/golden/regenerate_events.py

Runs every scenario in ``scenarios/`` (not the drills, which have their own tests) with its own
seed and with seed + 1, and writes each run's ``events.jsonl`` to ``tests/data/golden/events/``
as ``<scenario>.seed<N>.jsonl``. ``tests/test_golden_events.py`` checks that the engine still
produces them byte for byte. Regenerate only when events change on purpose, and say so (and
why) in the commit that changes them.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
OUT = HERE / "events"


def cases() -> list[tuple[Path, int]]:
    """(scenario, seed) pairs of the golden set: each shipped scenario with two seeds."""
    import sim

    out = []
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        seed = sim.load(path).scenario.seed
        out += [(path, seed), (path, seed + 1)]
    return out


def golden_name(path: Path, seed: int) -> str:
    return f"{path.stem}.seed{seed}.jsonl"


def events_text(path: Path, seed: int) -> str:
    """The events.jsonl a run of *path* with *seed* writes."""
    import sim
    from sim.engine import simulate

    return "".join(line + "\n" for line in simulate(sim.load(path), seed).events.lines())


def main() -> None:
    sys.path.insert(0, str(ROOT))
    OUT.mkdir(exist_ok=True)
    for stale in OUT.glob("*.jsonl"):
        stale.unlink()
    for path, seed in cases():
        (OUT / golden_name(path, seed)).write_text(events_text(path, seed), encoding="utf-8")
        print(f"wrote {OUT / golden_name(path, seed)}")


if __name__ == "__main__":
    main()
