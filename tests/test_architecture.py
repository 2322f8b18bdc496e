"""The shape of the code: no import cycles, the core apart from the engine, narrow interfaces, a true picture.

The import graph (``tools/import_graph.py``) counts every import of a ``sim`` module: at module
level, type-only (under ``TYPE_CHECKING``) and inside functions, so an import moved into a
function to dodge a cycle is still seen.
"""

from __future__ import annotations

import ast
import inspect
import json
import sys
import typing
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import import_graph  # noqa: E402

from sim.crew import HazardWorld, MoverWorld  # noqa: E402
from sim.exposure import ExposureWorld  # noqa: E402
from sim.procedures.world import ConditionWorld, ProcedureWorld  # noqa: E402
from sim.results.checks import CheckedRun  # noqa: E402
from sim.results.summary import FinishedRun  # noqa: E402

PICTURE = ROOT / "docs" / "images" / "core-modules.png"

CORE = ["sim.crew", "sim.exposure", "sim.faults", "sim.instruments", "sim.reserve", "sim.station",
        "sim.temperature", "sim.results.events", "sim.results.series", "sim.results.checks",
        "sim.results.summary", "sim.results.writers", "sim.results.result"]
"""Modules the engine is built of: none of them may import the engine (nor anything that does)."""


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph.import_graph()


def _describe(G: nx.DiGraph, group: list[str]) -> str:
    """One cycle of *group* with the import that makes each step (file:line, kind)."""
    cycle = nx.find_cycle(G.subgraph(group))
    steps = []
    for u, v in cycle:
        imp = G.edges[u, v]["imports"][0]
        steps.append(f"{u} -> {v} (line {imp.line}, {imp.kind})")
    return "; ".join(steps)


def test_no_import_cycles(graph):
    found = import_graph.cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(f"  {' '.join(c)}\n    {_describe(graph, c)}" for c in found)


BELOW_THE_ENGINE = sorted({*CORE, "sim.crew", "sim.exposure",
                           *(m for m in import_graph.modules() if m.startswith(("sim.procedures", "sim.results")))})


@pytest.mark.parametrize("module", BELOW_THE_ENGINE)
def test_core_modules_do_not_import_the_coordinator(graph, module):
    reached = nx.descendants(graph, module)
    engine = sorted(m for m in reached if m == "sim.engine" or m.startswith("sim.engine."))
    assert not engine, f"{module} reaches the engine: {engine}"


def test_the_engine_imports_nothing_above_it(graph):
    """The engine's parts import only the core and below, never the command line, drills or reports."""
    above = ("sim.cli", "sim.api", "sim.drill", "sim.report", "sim.sweep", "sim.replay", "sim.compare",
             "sim.leakhunt", "sim.assess", "sim.boundary", "sim.probe")
    engine = [m for m in graph if m == "sim.engine" or m.startswith("sim.engine.")]
    bad = sorted((m, v) for m in engine for v in nx.descendants(graph, m) if v == "sim" or v.startswith(above))
    assert not bad, bad


def test_no_function_local_import_in_the_engine(graph):
    """Lazy imports elsewhere say why (start-up cost); the engine's parts need none."""
    local = [imp for u, v, data in graph.edges(data=True) for imp in data["imports"]
             if imp.kind == "local" and (u.startswith("sim.engine") or u in CORE
                                         or (u.startswith("sim.procedures.") and u != "sim.procedures.conditions"))]
    assert not local, local


# -- narrow interfaces -----------------------------------------------------------------------------
def _protocol_members(protocol: type) -> tuple[set[str], set[str]]:
    """(every member, the members the protocol itself declares) of a typing.Protocol."""
    every, own = set(), set()
    for k, cls in enumerate(protocol.__mro__):
        if cls in (object, typing.Protocol, typing.Generic):
            continue
        names = set(inspect.get_annotations(cls))
        names |= {n for n, v in cls.__dict__.items() if callable(v) and not n.startswith("_")}
        every |= names
        if k == 0:
            own = names
    return every, own


def _world_uses(path: Path, cls: str | None = None) -> set[str]:
    """Attributes read through the world object in *path* (in class *cls* only, if given).

    The world is ``sim`` (a parameter or a local bound to it), ``self.sim`` or ``run.sim``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scope = tree
    if cls is not None:
        scope = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    def is_world(node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id == "sim") or \
            (isinstance(node, ast.Attribute) and node.attr == "sim" and isinstance(node.value, ast.Name)
             and node.value.id in ("self", "run"))

    used = set()
    for node in ast.walk(scope):
        if isinstance(node, ast.Attribute) and is_world(node.value):
            used.add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and is_world(node.args[0]) and isinstance(node.args[1], ast.Constant):
            used.add(node.args[1].value)
    return used


SIM = ROOT / "sim"
INTERFACES = [
    (MoverWorld, [(SIM / "crew.py", "Mover")]),
    (HazardWorld, [(SIM / "crew.py", "HazardMonitor")]),
    (ExposureWorld, [(SIM / "exposure.py", None)]),
    (ProcedureWorld, [(SIM / "procedures" / "runner.py", None), (SIM / "procedures" / "steps.py", None)]),
    (ConditionWorld, [(SIM / "procedures" / "lookup.py", None)]),
    (CheckedRun, [(SIM / "results" / "checks.py", None)]),
    (FinishedRun, [(SIM / "results" / "summary.py", None)]),
]


@pytest.mark.parametrize(("protocol", "sources"), INTERFACES, ids=[p.__name__ for p, _ in INTERFACES])
def test_interfaces_name_exactly_what_the_code_uses(protocol, sources):
    every, own = _protocol_members(protocol)
    used = set().union(*(_world_uses(path, cls) for path, cls in sources))
    assert used <= every, f"{protocol.__name__} lacks what the code uses: {sorted(used - every)}"
    assert own <= used, f"{protocol.__name__} names what the code does not use: {sorted(own - used)}"


def test_the_coordinator_provides_every_interface():
    """A real run's Simulation has every member of every interface (the Protocols are not wishful)."""
    from sim.engine import Simulation
    from sim.scenario.load import load_scenario

    sim = Simulation(load_scenario(ROOT / "scenarios" / "iss-prk-2026.yaml"))
    for protocol, _ in INTERFACES:
        every, _own = _protocol_members(protocol)
        missing = sorted(n for n in every if not hasattr(sim, n))
        assert not missing, f"Simulation lacks {protocol.__name__}: {missing}"


# -- the picture in docs/architecture.md ---------------------------------------------------------
def test_the_picture_shows_the_modules_and_imports_that_exist():
    from PIL import Image

    with Image.open(PICTURE) as image:
        shown = json.loads(image.text[import_graph.PNG_KEY])
    C = import_graph.core_graph()
    redraw = "redraw it: python tools/import_graph.py docs/images/core-modules.png"
    assert sorted(C) == shown["nodes"], f"the picture's modules are not the code's ({redraw})"
    assert sorted([u, v] for u, v in C.edges) == shown["edges"], f"the picture's imports are not the code's ({redraw})"


def test_the_architecture_doc_names_every_engine_module():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "images/core-modules.png" in text
    engine = [m for m in import_graph.modules() if m.startswith("sim.engine.")]
    assert len(engine) >= 5
    missing = [m for m in engine if f"{m.rsplit('.', 1)[1]}.py" not in text]
    assert not missing, missing
