"""The import graph of the ``sim`` package, read from the code with :mod:`ast`, and its picture.

Every ``import`` of a ``sim`` module counts: at module level, under ``if TYPE_CHECKING:`` (a
type-only dependency is still a dependency) and inside functions (a lazy import). An import of a
package's submodule (``from sim.engine.monitor import Monitor``) is an edge to that submodule,
not to the package; ``from sim.results import artefacts`` is an edge to ``sim.results.artefacts``.

``tests/test_architecture.py`` uses :func:`import_graph` to refuse import cycles; run this file
to redraw the picture of the core in docs/architecture.md::

    python tools/import_graph.py docs/images/core-modules.png

The PNG carries the modules and imports it shows (a ``Safehaven-graph`` text chunk, JSON), so a
test can tell when the code has moved on from the picture.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sim"
PNG_KEY = "Safehaven-graph"

__all__ = ["CORE_GROUPS", "Import", "core_graph", "cycles", "draw", "import_graph", "imports", "modules"]


@dataclass(frozen=True)
class Import:
    """One import of a sim module by another: where, and whether at module level, type-only or local."""

    importer: str
    imported: str
    line: int
    kind: str  # "module", "type" (under TYPE_CHECKING) or "local" (inside a function)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(nodes, kind: str):
    """(import node, kind) for every import among *nodes* and inside them."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, kind
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(ast.iter_child_nodes(node), "local")
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(node.body, "type" if kind == "module" else kind)
            yield from _walk(node.orelse, kind)
        else:
            yield from _walk(ast.iter_child_nodes(node), kind)


def imports(package: Path = PACKAGE) -> list[Import]:
    """Every import of a sim module by a sim module."""
    mods = modules(package)
    out = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        base_pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, kind in _walk(tree.body, "module"):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = base_pkg.split(".")
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
                targets = subs if subs else [base]
            for target in targets:
                if target in mods and target != name:
                    out.append(Import(name, target, node.lineno, kind))
    return out


def import_graph(package: Path = PACKAGE) -> nx.DiGraph:
    """Modules as nodes, an edge importer -> imported for every import (attribute ``imports``)."""
    G = nx.DiGraph()
    G.add_nodes_from(modules(package))
    for imp in imports(package):
        if G.has_edge(imp.importer, imp.imported):
            G.edges[imp.importer, imp.imported]["imports"].append(imp)
        else:
            G.add_edge(imp.importer, imp.imported, imports=[imp])
    return G


def cycles(G: nx.DiGraph) -> list[list[str]]:
    """The import cycles: every strongly connected group of more than one module, sorted."""
    return sorted(sorted(c) for c in nx.strongly_connected_components(G) if len(c) > 1)


CORE_GROUPS = {
    "sim.atmosphere": "sim.atmosphere",
    "sim.scenario": "sim.scenario",
}
"""Packages the picture of the core shows as one box each (the solver; the input files)."""

_CORE = ("sim.engine", "sim.crew", "sim.exposure", "sim.faults", "sim.instruments", "sim.procedures",
         "sim.results.result", "sim.results.summary", "sim.results.checks", "sim.results.writers",
         "sim.results.events", "sim.results.series", "sim.reserve", "sim.station", "sim.temperature")
"""The modules of the core: the engine and what it is built of, down to the solver and the inputs."""


def _core_name(module: str) -> str | None:
    for package, box in CORE_GROUPS.items():
        if module == package or module.startswith(package + "."):
            return box
    if any(module == c or module.startswith(c + ".") for c in _CORE):
        return module
    return None


def core_graph(package: Path = PACKAGE) -> nx.DiGraph:
    """The core's modules (the solver and the input files as one box each) and their imports.

    A package's ``__init__`` that imports nothing is left out (it holds only a docstring).
    """
    full = import_graph(package)
    paths = modules(package)
    C = nx.DiGraph()
    for u in full:
        cu = _core_name(u)
        if cu is None or cu in CORE_GROUPS.values():
            continue
        if paths[u].name == "__init__.py" and not full.out_degree(u):
            continue
        C.add_node(cu)
    for u, v in full.edges:
        cu, cv = _core_name(u), _core_name(v)
        if cu in C and cv is not None and cu != cv:
            C.add_edge(cu, cv)
    return C


def _columns(C: nx.DiGraph) -> list[list[str]]:
    """Modules in columns, left to right in the direction of the imports, ordered to cross little.

    A module stands one column right of the rightmost module importing it (its longest chain of
    importers); within a column, modules are ordered by the mean row of their neighbours, in a
    few sweeps each way (the barycentre heuristic of layered graph drawing).
    """
    column = {}
    for node in nx.topological_sort(C):
        column[node] = max((column[u] + 1 for u in C.predecessors(node)), default=0)
    columns = [sorted(n for n in C if column[n] == k) for k in range(max(column.values()) + 1)]
    row = {n: float(j) for col in columns for j, n in enumerate(col)}
    for sweep in range(8):
        order = columns[1:] if sweep % 2 == 0 else columns[-2::-1]
        for col in order:
            near = {n: [row[m] for m in (C.predecessors(n) if sweep % 2 == 0 else C.successors(n))] for n in col}
            col.sort(key=lambda n: (sum(near[n]) / len(near[n]) if near[n] else row[n], n))
            for j, n in enumerate(col):
                row[n] = float(j)
    return columns


def draw(path: Path, package: Path = PACKAGE) -> nx.DiGraph:
    """Draw the core's import graph to *path* (PNG), layered left to right; returns the graph.

    The picture shows the transitive reduction (an import implied by a chain of others is not
    drawn); the PNG's ``Safehaven-graph`` text chunk lists every module and every import.
    """
    import matplotlib  # only this tool draws: the graph functions above stay cheap to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    C = core_graph(package)
    if not nx.is_directed_acyclic_graph(C):
        raise SystemExit(f"the core has import cycles: {cycles(C)}")
    shown = nx.transitive_reduction(C)
    columns = _columns(C)
    tallest = max(len(c) for c in columns)
    pos = {}
    for k, col in enumerate(columns):
        for j, node in enumerate(col):
            pos[node] = (k * 2.6, -(j - (len(col) - 1) / 2) * 1.1)
    fig, ax = plt.subplots(figsize=(2.3 * len(columns) + 0.6, 0.62 * tallest + 1.4), dpi=120)
    fills = [("sim.engine", "#cfe2f3", "engine"), ("sim.procedures", "#d9ead3", "procedures"),
             ("sim.crew", "#fce5cd", "crew"), ("sim.exposure", "#fce5cd", "crew"),
             ("sim.results", "#ead1dc", "results"), ("", "#eeeeee", "physics, station, inputs")]
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    boxes = {}
    for node, (x, y) in pos.items():
        fill = next(c for prefix, c, _ in fills if node == prefix or node.startswith(prefix))
        boxes[node] = ax.text(x, y, node.removeprefix("sim."), ha="center", va="center", fontsize=9, zorder=3,
                              bbox={"boxstyle": "round,pad=0.4", "fc": fill, "ec": "#444444", "lw": 0.8})
    # arrows from box edge to box edge: the boxes' sizes are known once the text is laid out
    fig.canvas.draw()
    to_data = ax.transData.inverted()
    half = {}
    for node, box in boxes.items():
        (x0, y0), (x1, y1) = to_data.transform(box.get_bbox_patch().get_window_extent())
        half[node] = ((x1 - x0) / 2, (y1 - y0) / 2)

    def edge_of(node, dx, dy):
        w, h = half[node]
        t = min(w / abs(dx) if dx else math.inf, h / abs(dy) if dy else math.inf)
        return pos[node][0] + dx * t, pos[node][1] + dy * t

    for u, v in sorted(shown.edges):
        dx, dy = pos[v][0] - pos[u][0], pos[v][1] - pos[u][1]
        ax.annotate("", xy=edge_of(v, -dx, -dy), xytext=edge_of(u, dx, dy), zorder=1,
                    arrowprops={"arrowstyle": "-|>", "color": "#777777", "lw": 0.8, "shrinkA": 0, "shrinkB": 1,
                                "mutation_scale": 11})
    seen = {}
    for _, c, label in fills:
        seen.setdefault(label, c)
    handles = [plt.Rectangle((0, 0), 1, 1, fc=c, ec="#444444", lw=0.8) for c in seen.values()]
    ax.legend(handles, list(seen), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(seen), frameon=False,
              fontsize=9)
    ax.set_title("The core of Safehaven: an arrow A \u2192 B means A imports B; data and results flow back "
                 "from right to left", fontsize=10)
    listed = {"nodes": sorted(C), "edges": sorted([u, v] for u, v in C.edges)}
    fig.savefig(path, metadata={PNG_KEY: json.dumps(listed)}, bbox_inches="tight")
    plt.close(fig)
    return C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print sim's import cycles; draw the core's import graph.")
    parser.add_argument("png", nargs="?", type=Path, help="draw the core's graph into this PNG")
    args = parser.parse_args(argv)
    G = import_graph()
    found = cycles(G)
    local = sum(1 for imp in imports() if imp.kind == "local")
    print(f"{G.number_of_nodes()} modules, {G.number_of_edges()} imports ({local} inside functions), "
          f"{len(found)} cycle(s)")
    for c in found:
        print(f"  {len(c)}: {' '.join(c)}")
    if args.png:
        C = draw(args.png)
        print(f"{args.png}: {C.number_of_nodes()} modules, {C.number_of_edges()} imports")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
