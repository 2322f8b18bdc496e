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
    "sim.atmosphere": "atmosphere/",
    "sim.scenario": "scenario/",
    "sim.errors": "errors, paths, text, units, version",
    "sim.paths": "errors, paths, text, units, version",
    "sim.text": "errors, paths, text, units, version",
    "sim.units": "errors, paths, text, units, version",
    "sim.version": "errors, paths, text, units, version",
}
"""Modules (and packages) the picture of the core shows together in one box each: the solver, the
input files, and the small modules nearly everything uses."""


def _box(module: str) -> str:
    """The box of the picture that shows *module*: its group's, else its own name without ``sim.``."""
    for prefix, box in CORE_GROUPS.items():
        if module == prefix or module.startswith(prefix + "."):
            return box
    return module.removeprefix("sim.")


def core_graph(package: Path = PACKAGE) -> nx.DiGraph:
    """The core: ``sim.engine`` and every module it imports, directly or not, and their imports.

    Nodes are the picture's boxes (:func:`_box`); an edge A -> B means a module of A imports one of B.
    """
    full = import_graph(package)
    core = {"sim.engine"} | nx.descendants(full, "sim.engine")
    C = nx.DiGraph()
    C.add_nodes_from(_box(m) for m in core)
    for u, v in full.subgraph(core).edges:
        if _box(u) != _box(v):
            C.add_edge(_box(u), _box(v))
    return C


def _layout(C: nx.DiGraph, shown: nx.DiGraph, width: dict[str, float]) -> tuple[dict, dict]:
    """Positions of the modules, and the way of every drawn import through the layers between.

    Layered drawing (Sugiyama's method), top down: a module stands one layer below the lowest
    module importing it; an import spanning several layers passes through a waypoint in each
    layer between, which takes a (narrower) slot like a module, so no arrow runs through a box;
    within a layer, modules and waypoints are ordered by the mean place of their neighbours, in
    sweeps down and back up (the barycentre heuristic).

    *width* gives each module's box width [in]; positions are in inches too.
    Returns ``(pos, ways)``: node -> (x, y), and each drawn import (u, v) -> the nodes it passes.
    """
    column = {}
    for node in nx.topological_sort(C):
        column[node] = max((column[u] + 1 for u in C.predecessors(node)), default=0)
    L = nx.DiGraph()
    L.add_nodes_from(C)
    ways = {}
    for u, v in sorted(shown.edges):
        way = [u]
        for k in range(column[u] + 1, column[v]):
            point = ("via", u, v, k)
            column[point] = k
            way.append(point)
        way.append(v)
        nx.add_path(L, way)
        ways[u, v] = way
    columns = [sorted((n for n in L if column[n] == k), key=str) for k in range(max(column.values()) + 1)]
    row = {n: float(j) for col in columns for j, n in enumerate(col)}
    for sweep in range(24):
        rightward = sweep % 2 == 0
        for col in columns[1:] if rightward else columns[-2::-1]:
            def centre(n, rightward=rightward):
                near = [row[m] for m in (L.predecessors(n) if rightward else L.successors(n))]
                return sum(near) / len(near) if near else row[n]
            col.sort(key=lambda n: (centre(n), str(n)))
            for j, n in enumerate(col):
                row[n] = float(j)
    slot = {n: 0.55 if isinstance(n, tuple) else width[n] + 0.45 for n in L}
    x = {}
    for col in columns:
        left = -sum(slot[n] for n in col) / 2
        for n in col:
            x[n] = left + slot[n] / 2
            left += slot[n]
    # then pull every box and waypoint towards the mean place of its neighbours, keeping the order
    # and the spacing of each layer (so the ways of long imports straighten out)
    for sweep in range(40):
        for col in columns if sweep % 2 == 0 else columns[::-1]:
            want = [sum(x[m] for m in nx.all_neighbors(L, n)) / L.degree(n) if L.degree(n) else x[n] for n in col]
            rightward, leftward = list(want), list(want)
            for j in range(1, len(col)):
                rightward[j] = max(want[j], rightward[j - 1] + (slot[col[j - 1]] + slot[col[j]]) / 2)
            for j in range(len(col) - 2, -1, -1):
                leftward[j] = min(want[j], leftward[j + 1] - (slot[col[j + 1]] + slot[col[j]]) / 2)
            for j, n in enumerate(col):
                x[n] = (rightward[j] + leftward[j]) / 2
            for j in range(1, len(col)):  # the average of two spaced rows can be too tight: space it
                x[col[j]] = max(x[col[j]], x[col[j - 1]] + (slot[col[j - 1]] + slot[col[j]]) / 2)
    pos = {n: (x[n], -0.95 * k) for k, col in enumerate(columns) for n in col}
    return pos, ways


def _smooth(points: list[tuple[float, float]], per_segment: int = 16) -> list[tuple[float, float]]:
    """A gentle curve through *points* (a centripetal Catmull-Rom spline), as a list of points.

    It passes through every waypoint, so between layers it stays in the slots the layout kept free
    for it, but it has no corners: a route is followed by eye instead of read as bends.
    """
    if len(points) == 2:
        return list(points)
    ext = [(2 * points[0][0] - points[1][0], 2 * points[0][1] - points[1][1]), *points,
           (2 * points[-1][0] - points[-2][0], 2 * points[-1][1] - points[-2][1])]
    out = [points[0]]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        t0 = 0.0
        t1 = t0 + math.dist(p0, p1) ** 0.5
        t2 = t1 + math.dist(p1, p2) ** 0.5
        t3 = t2 + math.dist(p2, p3) ** 0.5
        for j in range(1, per_segment + 1):
            t = t1 + (t2 - t1) * j / per_segment

            def lerp(a, b, ta, tb, t=t):
                w = (t - ta) / (tb - ta) if tb > ta else 0.0
                return (a[0] + (b[0] - a[0]) * w, a[1] + (b[1] - a[1]) * w)
            a1, a2, a3 = lerp(p0, p1, t0, t1), lerp(p1, p2, t1, t2), lerp(p2, p3, t2, t3)
            b1, b2 = lerp(a1, a2, t0, t2), lerp(a2, a3, t1, t3)
            out.append(lerp(b1, b2, t1, t2))
    return out


def draw(path: Path, package: Path = PACKAGE) -> nx.DiGraph:
    """Draw the core's import graph to *path* (PNG), layered top down; returns the graph.

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
    # (prefix, box fill, arrow colour, legend): an arrow has its importer's colour, a darker shade
    fills = [("engine", "#cfe2f3", "#3d6fa8", "engine"), ("procedures", "#d9ead3", "#4f8a3c", "procedures"),
             ("crew", "#fce5cd", "#c07a2c", "crew and exposure"),
             ("exposure", "#fce5cd", "#c07a2c", "crew and exposure"),
             ("results", "#ead1dc", "#a0486e", "results"),
             ("", "#eeeeee", "#666666", "physics, station, inputs, basics")]

    def group(node):
        return next(f for f in fills if node == f[0] or node.startswith(f[0]))

    box_style = {"boxstyle": "round,pad=0.4", "ec": "#444444", "lw": 0.8}
    # the boxes' sizes [in] first, from the text laid out on a scratch figure: the layout needs them
    scratch = plt.figure(dpi=120)
    renderer = scratch.canvas.get_renderer()
    size = {}
    for node in C:
        text = scratch.text(0, 0, node, fontsize=9, bbox={"fc": "w", **box_style})
        text.draw(renderer)
        extent = text.get_bbox_patch().get_window_extent(renderer)
        size[node] = (extent.width / scratch.dpi, extent.height / scratch.dpi)
    plt.close(scratch)
    pos, ways = _layout(C, shown, {n: w for n, (w, _) in size.items()})
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    margin = 0.5
    width_in, height_in = max(xs) - min(xs) + 2 * margin + max(w for w, _ in size.values()), \
        max(ys) - min(ys) + 2 * margin
    fig = plt.figure(figsize=(width_in, height_in + 0.9), dpi=120)
    ax = fig.add_axes((0, 0.5 / (height_in + 0.9), 1, height_in / (height_in + 0.9)))  # inches as data units
    ax.set_xlim((min(xs) + max(xs) - width_in) / 2, (min(xs) + max(xs) + width_in) / 2)
    ax.set_ylim(min(ys) - margin, max(ys) + margin)
    ax.axis("off")
    for node in C:
        ax.text(*pos[node], node, ha="center", va="center", fontsize=9, zorder=3,
                bbox={"fc": group(node)[1], **box_style})
    half = {n: (w / 2, h / 2) for n, (w, h) in size.items()}

    # every import leaves its importer's bottom edge and reaches its target's top edge at a port of
    # its own, the ports in the order of where the ways come from, so converging arrows stay apart
    ports = {}
    for node in C:
        (x, y), (w, h) = pos[node], half[node]
        arriving, leaving = [k for k in ways if k[1] == node], [k for k in ways if k[0] == node]
        for end, others, side in ((-1, arriving, h), (0, leaving, -h)):
            others.sort(key=lambda k, end=end: pos[ways[k][end - 1 if end else 1]][0])
            for i, k in enumerate(others):
                ports[k, end] = (x + 0.8 * w * (2 * (i + 0.5) / len(others) - 1), y + side)

    for (u, v), way in ways.items():
        points = [ports[(u, v), 0], *(pos[n] for n in way[1:-1]), ports[(u, v), -1]]
        curve = _smooth(points)
        style = {"color": group(u)[2], "lw": 0.9, "alpha": 0.85}
        ax.plot([x for x, _ in curve[:-1]], [y for _, y in curve[:-1]], zorder=1, solid_capstyle="round", **style)
        ax.annotate("", xy=curve[-1], xytext=curve[-2], zorder=2,
                    arrowprops={"arrowstyle": "-|>", "shrinkA": 0, "shrinkB": 0, "mutation_scale": 12, **style})
    seen = {}
    for _, c, _, label in fills:
        seen.setdefault(label, c)
    handles = [plt.Rectangle((0, 0), 1, 1, fc=c, ec="#444444", lw=0.8) for c in seen.values()]
    fig.legend(handles, list(seen), loc="lower center", ncol=len(seen), frameon=False, fontsize=9,
               title="an arrow has the colour of the group of the module that imports", title_fontsize=9)
    fig.suptitle("The core of Safehaven: an arrow A \u2192 B means A imports B (imports implied by a chain "
                 "are not drawn);\nimports point down, data and results flow back upwards", fontsize=10, y=1.0,
                 va="top")
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
