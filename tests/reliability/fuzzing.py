"""One fuzz case end to end: write a document into a scratch copy of the shipped inputs, then
``validate`` it and, for what can run, a short ``run`` with an output directory; tally the outcomes.

A case *fails* when any command crashes: exit 3, a traceback, or the hang guard firing. Exit 0, 1
and 2 are all acceptable answers to a fuzzed file.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from pathlib import Path

from .harness import REPO, SHIPPED, Outcome, call_cli, dump, load_plain, outcome_class

RUN_MARGIN = 180.0
"""A shipped scenario is cut to its last scripted instant plus this [s], so runs stay short."""


def _seconds(value) -> float:
    from sim.units import to_si

    return to_si(value, "time")


def short_scenario(doc: dict) -> dict:
    """A shipped scenario with its duration cut to just past its last scripted instant."""
    times = [0.0]
    for item in [*doc.get("leaks", []), *doc.get("events", []), *doc.get("run", [])]:
        for key in ("start", "at"):
            if key in item and not (key == "at" and "id" in item):  # a leak's 'at' is a place
                times.append(_seconds(item[key]))
    doc = dict(doc)
    doc["duration"] = f"{max(times) + RUN_MARGIN:g} s"
    doc.pop("checks", None)  # a check that cannot pass in a short run is exit 1 anyway; keep runs lean
    return doc


class Workspace:
    """A scratch copy of ``scenarios/`` and ``procedures/`` where fuzzed files are written beside the
    files they reference (and are referenced by), so relative paths resolve as in the repository."""

    def __init__(self, root: Path):
        self.root = Path(root)
        shutil.copytree(REPO / "scenarios", self.root / "scenarios")
        shutil.copytree(REPO / "procedures", self.root / "procedures")
        self.counter = itertools.count()
        self.bases: dict[str, list[tuple[str, dict]]] = {"station": [], "scenario": [], "procedure": []}
        self.users: dict[str, str] = {}  # procedure file name -> short scenario that runs it
        for path in SHIPPED["scenario"]:
            short = short_scenario(load_plain(path))
            name = f"short-{path.name}"
            (self.root / "scenarios" / name).write_text(dump(short), encoding="utf-8")
            self.bases["scenario"].append((name, short))
            for entry in short.get("run", []):
                self.users.setdefault(Path(entry["procedure"]).name, name)
        for kind in ("station", "procedure"):
            self.bases[kind] = [(p.name, load_plain(p)) for p in SHIPPED[kind]]
        self.station_user = "short-iss-prk-closed.yaml"

    def commands(self, kind: str, data: bytes, base: str | None = None) -> list[list[str]]:
        """Write *data* as a *kind* file; the command lines to try on it."""
        n = next(self.counter)
        sc = self.root / "scenarios"
        out = self.root / "out" / f"o{n}"
        if kind == "scenario":
            path = sc / f"fuzz-{n}.yaml"
            path.write_bytes(data)
            return [["validate", path], ["run", path, "--out", out, "--quiet"]]
        if kind == "station":
            path = sc / "stations" / f"fuzz-{n}.yaml"
            path.write_bytes(data)
            return [["validate", path],
                    ["run", sc / self.station_user, "--set", f"station=stations/{path.name}", "--out", out, "--quiet"]]
        path = self.root / "procedures" / f"fuzz-{n}.yaml"
        path.write_bytes(data)
        cmds = [["validate", path]]
        user = self.users.get(base or "")
        if user:
            cmds.append(["run", sc / user, "--set", f"run.0.procedure=../procedures/{path.name}", "--out", out,
                         "--quiet"])
        return cmds


class Tally:
    """Outcomes of fuzz cases: a count by kind and by outcome, and the crashing command lines."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.crashes: list[dict] = []
        self.cases = 0
        self.commands = 0

    def add(self, label: str, outcomes: list[Outcome], data: bytes) -> bool:
        """Record a case; returns True when it did not crash."""
        self.cases += 1
        ok = True
        for o in outcomes:
            self.commands += 1
            self.counts[(label, o.argv[0], outcome_class(o))] += 1
            if o.crashed():
                ok = False
                self.crashes.append({"label": label, "argv": o.argv, "code": o.code, "stderr": o.err[-2000:],
                                     "input": data[:4000].decode("utf-8", "replace")})
        return ok

    def by_outcome(self) -> Counter:
        out: Counter = Counter()
        for (_, _, outcome), k in self.counts.items():
            out[outcome] += k
        return out

    def as_json(self) -> dict:
        return {"cases": self.cases, "commands": self.commands,
                "by_outcome": dict(sorted(self.by_outcome().items())),
                "by_kind": [{"kind": k, "command": c, "outcome": o, "count": n}
                            for (k, c, o), n in sorted(self.counts.items())],
                "crashes": self.crashes}


def run_case(ws: Workspace, kind: str, data: bytes, tally: Tally, label: str, base: str | None = None,
             timeout: float = 20.0) -> bool:
    """Run every command for one fuzzed file; True when none crashed."""
    outcomes = []
    for argv in ws.commands(kind, data, base):
        o = call_cli(argv, timeout=timeout)
        outcomes.append(o)  # a refused file is still run: the run must refuse it the same way
    return tally.add(label, outcomes, data)
