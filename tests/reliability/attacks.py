"""Random attacks by class of defect (issue classes 1-8), for ``bench/fuzz.py`` and the test suite.

Each attack draws one hostile case with a ``random.Random``, carries it out through the command line
in this process, and returns the outcomes with the codes each command may answer. A *defect* is an
outcome outside them: an internal error, a traceback, the hang guard firing, a code not allowed
(e.g. exit 0 for a tampered file), or a file written where it must not be.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .harness import REPO, Outcome, call_cli

TWO = REPO / "scenarios" / "two-volumes-valve.yaml"
LEAK = REPO / "tests" / "data" / "sweep" / "leak.yaml"

DANGER = ["\x1b[2J", "\x1b]0;t\x07", "\x1b]8;;http://x\x1b\\l\x1b]8;;\x1b\\", "\u2028", "\u2029", "\x85", "\u202e",
          "\x07", "\r", "\x9b", "$\\sqrt{$", "$x^{$", "<script>", "[red]", "%s", "{0}", "\\", "'", '"']
HOSTILE_PATHS = ["../../x.yaml", "/etc/passwd", "/dev/zero", "/dev/stdin", "a/../../b.yaml", "./x.yaml", "a//b",
                 "", "link/escape.yaml", "x\x00y", "\u2028.yaml", "inputs/../../x", "~/x", "a" * 300]
EXTREMES = [0, -1, 1e-300, 1e-6, 1e6, 1e300, 1e308, "1e309", "nan", "inf", "-inf", 2**63, "075", "1:30", "0b11",
            True, None, [], {}, "x" * 1000]


@dataclass
class Case:
    """One attack carried out: the outcomes and, per outcome, the exit codes it may have."""

    label: str
    outcomes: list[tuple[Outcome, tuple[int, ...]]] = field(default_factory=list)
    escaped: list[str] = field(default_factory=list)  # files written where they must not be

    def defects(self) -> list[str]:
        out = [f"{' '.join(o.argv)[:200]} -> exit {o.code}: {o.err[-300:]}" for o, ok in self.outcomes
               if o.crashed() or o.code not in ok]
        return out + [f"wrote {p}" for p in self.escaped]


class Attacks:
    """The attack generators; *root* is a scratch folder, runs of reference are made once."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.n = 0
        self._run = None
        self._sweep = None

    def _fresh(self) -> Path:
        self.n += 1
        d = self.root / f"c{self.n}"
        d.mkdir(parents=True)
        return d

    def reference_run(self) -> Path:
        if self._run is None:
            self._run = self.root / "ref-run"
            o = call_cli(["run", TWO, "--out", self._run, "--quiet", "--set", "duration=2 min"])
            assert o.code == 0, o.err
        return self._run

    def reference_sweep(self) -> Path:
        if self._sweep is None:
            self._sweep = self.root / "ref-sweep"
            o = call_cli(["sweep", LEAK, "--vary", "leaks.crack.rate=[1, 2] lb/day", "--out", self._sweep,
                          "--executor", "serial", "--quiet"])
            assert o.code == 0, o.err
        return self._sweep

    # -- class 1: paths -------------------------------------------------------------------------
    def paths(self, rng: random.Random) -> Case:
        case, d = Case("paths"), self._fresh()
        victim = d / "victim"
        victim.mkdir()
        hostile = rng.choice(HOSTILE_PATHS)
        how = rng.choice(["manifest", "sweep-inputs", "station", "out"])
        if how == "manifest":
            run = d / "run"
            shutil.copytree(self.reference_run(), run)
            (run / "inputs" / "link").symlink_to(victim)
            m = json.loads((run / "inputs" / "manifest.json").read_text())
            key = rng.choice(["scenario", "files"])
            m[key] = hostile if key == "scenario" else {"scenario": hostile}
            (run / "inputs" / "manifest.json").write_text(json.dumps(m))
            # a hostile scenario is refused; the 'files' list is not read to replay or report
            command = rng.choice(["replay", "report"])
            allowed = (2,) if key == "scenario" and command == "replay" else (0, 1, 2)
            case.outcomes.append((call_cli([command, run]), allowed))
        elif how == "sweep-inputs":
            import hashlib

            import pyarrow.parquet as pq

            from sim.sweep.store import META_KEY

            sweep = d / "s"
            shutil.copytree(self.reference_sweep(), sweep, symlinks=True)
            (sweep / "inputs" / "link").symlink_to(victim)
            table = pq.read_table(sweep / "design.parquet")
            meta = json.loads(table.schema.metadata[META_KEY])
            meta["inputs"]["files"].append(hostile)
            meta["inputs"]["sha256"][hostile] = hashlib.sha256(b"").hexdigest()
            pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), sweep / "design.parquet")
            case.outcomes.append((call_cli(["sweep", "resume", sweep, "--executor", "serial", "--quiet"]), (2,)))
        elif how == "station":
            scen = d / "s.yaml"
            scen.write_text(f"name: x\nduration: 1 min\nstation: {json.dumps(hostile)}\n", encoding="utf-8")
            case.outcomes.append((call_cli(["validate", scen]), (2,)))
        else:
            out = rng.choice([hostile, ".", "/proc/x", str(REPO / "scenarios"), str(TWO), "a" * 250])
            if out not in (".", "/proc/x") and not out.startswith(("/", "~")):
                out = str(d / out)  # a relative name is written where the attack works, not in the cwd
            case.outcomes.append((call_cli(["run", TWO, "--out", out, "--force", "--quiet",
                                            "--set", "duration=1 min"]), (0, 2)))
            if not TWO.is_file():
                case.escaped.append(str(TWO))
        case.escaped += [str(p) for p in victim.iterdir()]
        return case

    # -- class 2: values that validate ------------------------------------------------------------
    def values(self, rng: random.Random) -> Case:
        case, d = Case("values"), self._fresh()
        x = rng.choice(EXTREMES)
        field = rng.choice(["leaks.0.area", "leaks.0.rate", "events.0.scale", "station.compartments.b.volume",
                            "station.supplies.tank.max_rate", "duration", "output.every",
                            "station.compartments.a.atmosphere.O2", "station.temperature"])
        unit = {"leaks.0.area": "m^2", "leaks.0.rate": "kg/s", "station.compartments.b.volume": "m^3",
                "station.supplies.tank.max_rate": "kg/s", "duration": "s", "output.every": "s",
                "station.compartments.a.atmosphere.O2": "kPa", "station.temperature": "K"}.get(field, "")
        value = f"{x} {unit}".strip() if unit and isinstance(x, int | float | str) and rng.random() < 0.8 else x
        text = ("name: x\nduration: 5 min\noutput: {every: 10 s}\nstation:\n  name: s\n  temperature: 295 K\n"
                "  atmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}\n"
                "  compartments:\n    a: {volume: 20 m^3}\n    b: {volume: 5 m^3}\n"
                "  hatches:\n    ab: {between: [a, b], area: 0.5 m^2}\n"
                "  supplies:\n    tank: {N2: 100 kg, O2: 30 kg, into: [a], max_rate: 0.01 kg/s}\n"
                "leaks:\n  - {id: l, at: b, area: 1 cm^2}\nevents:\n  - {at: 1 min, leak: l, scale: 2}\n")
        path = d / "s.yaml"
        path.write_text(text, encoding="utf-8")
        o = call_cli(["run", path, "--json", "--set", f"{field}={json.dumps(value)}"])
        case.outcomes.append((o, (0, 1, 2)))
        if o.code == 0 and ('"nan"' in o.out or "NaN" in o.out):
            case.escaped.append("NaN in a summary with status ok")
        return case

    # -- class 4: tampered artefacts --------------------------------------------------------------
    def tampered(self, rng: random.Random) -> Case:
        case, d = Case("tampered"), self._fresh()
        run = d / "run"
        shutil.copytree(self.reference_run(), run)
        name = rng.choice(["summary.json", "events.jsonl", "series.csv", "inputs/manifest.json"])
        data = bytearray((run / name).read_bytes())
        for _ in range(rng.randint(1, 4)):
            op = rng.choice(["cut", "flip", "insert", "dup"])
            if not data:
                break
            i = rng.randrange(len(data))
            if op == "cut":
                data = data[:i]
            elif op == "flip":
                data[i] = rng.randrange(256)
            elif op == "insert":
                data[i:i] = rng.choice([b"nan", b"1e999", b'"x"', b"\x1b[2J", b",", b"\n", b"{", b"-1"])
            else:
                data[i:i] = data[max(0, i - 40):i]
        (run / name).write_bytes(bytes(data))
        cmd = rng.choice([["replay", run], ["report", run, "--html", d / "r.html"], ["compare", run, run]])
        case.outcomes.append((call_cli(cmd), (0, 1, 2)))
        return case

    # -- class 5: command-line values ------------------------------------------------------------
    def cli(self, rng: random.Random) -> Case:
        case, d = Case("cli"), self._fresh()
        bad = rng.choice(["-1", "nan", "inf", "1e999", "2.5", "lots", "", "0", "99999999999999999999999", "\x1b[2J"])
        form = rng.choice(["run --seed", "replay --at", "sweep --workers", "sweep --n", "sweep --chunk-size",
                           "sweep --replicates", "drill --speed", "drill --seed", "sweep file"])
        if form.startswith("run"):
            argv = ["run", TWO, "--seed", bad, "--quiet", "--set", "duration=1 min"]
        elif form.startswith("replay"):
            argv = ["replay", self.reference_run(), "--at", bad]
        elif form.startswith("drill"):
            argv = ["drill", sorted((REPO / "scenarios" / "drills").glob("*.yaml"))[0], form.split()[1], bad,
                    "--out", d / "o"]
        elif form == "sweep file":
            key = rng.choice(["n", "workers", "replicates", "seed", "chunk_size", "design", "executor", "out"])
            f = d / "sweep.yaml"
            f.write_text(f"scenario: {LEAK}\nvary: {{leaks.crack.rate: '[1, 2] lb/day'}}\nexecutor: serial\n"
                         f"{key}: {json.dumps(bad)}\n" + ("out: o\n" if key != "out" else ""), encoding="utf-8")
            argv = ["sweep", "--file", f, "--quiet"]
        else:
            argv = ["sweep", LEAK, "--vary", "leaks.crack.rate=[1] lb/day", form.split()[1], bad, "--out", d / "o",
                    "--executor", "serial", "--quiet"]
        case.outcomes.append((call_cli(argv), (0, 1, 2)))
        return case

    # -- class 6: injection ------------------------------------------------------------------------
    def injection(self, rng: random.Random) -> Case:
        case, d = Case("injection"), self._fresh()
        name = "".join(rng.choice([*DANGER, "a", "b", " "]) for _ in range(rng.randint(1, 6)))
        where = rng.choice(["name", "station.name", "leaks.0.id", "station.compartments.module.atmosphere"])
        path = d / "s.yaml"
        path.write_text(TWO.read_text(encoding="utf-8").replace("duration: 30 min", "duration: 1 min"), encoding="utf-8")
        cmd = rng.choice([["run", path, "--out", d / "o", "--quiet"], ["graph", path, "--png", d / "g.png"],
                          ["validate", path]])
        o = call_cli([*cmd, "--set", f"{where}={json.dumps(name)}"] if cmd[0] == "run" else cmd)
        case.outcomes.append((o, (0, 1, 2)))
        if "\x1b" in o.out + o.err or "\u2028" in o.out + o.err:
            case.escaped.append("a control character reached the terminal")
        return case


CLASSES = ("paths", "values", "tampered", "cli", "injection")
"""The attack generators run by ``bench/fuzz.py`` (classes 3, 7 and 8 are measured by the report's
bound, kill and exit-code checks rather than drawn at random)."""
