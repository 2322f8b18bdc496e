"""A drill run's scorecard read back and shown: by ``safehaven drill``, ``report`` and ``compare``.

:func:`read_scorecard` reads a run directory's ``scorecard.json`` with the validated reader of
:mod:`sim.results.artefacts` and checks the fields shown here, so a tampered file gives a located
error, not a traceback. :func:`render_scorecard` prints it (score, each expectation with why it
failed and the trainees' commands about it, injects with their notes, an early end), and
:func:`scorecard_html` is the same as a section of the HTML report. :func:`compare_scorecards`
lines drill runs up expectation by expectation for ``compare``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from rich.table import Table

from sim.drill.clock import clock
from sim.errors import InputError, Problem
from sim.results import artefacts

__all__ = ["compare_scorecards", "read_scorecard", "render_comparison", "render_scorecard", "scorecard_html"]


def read_scorecard(directory: str | Path) -> dict[str, Any] | None:
    """The run directory's scorecard.json, or None when it is not a drill run.

    Raises
    ------
    InputError
        When the file is there but is not a scorecard (naming the field that is wrong).
    """
    path = Path(directory) / "scorecard.json"
    if not path.is_file():
        return None
    card = artefacts.json_object(path)

    def bad(field: str, expected: str):
        return InputError(Problem(str(path), 0, field, f"expected {expected}"))

    if not isinstance(card.get("drill"), str):
        raise bad("drill", "the drill's name (a string)")
    if card.get("score") is not None and not isinstance(card["score"], int | float):
        raise bad("score", "a number from 0 to 100, or null")
    for key in ("expectations", "injects"):
        if not isinstance(card.get(key), list) or not all(isinstance(x, dict) for x in card[key]):
            raise bad(key, "a list of mappings")
    for i, x in enumerate(card["expectations"]):
        if not isinstance(x.get("name"), str) or x.get("passed") not in (True, False, None):
            raise bad(f"expectations[{i}]", "a name and passed: true, false or null")
    if not isinstance(card.get("commands", []), list):
        raise bad("commands", "a list of mappings")
    return card


def _margin(x: dict) -> str:
    if x.get("margin_s") is not None:
        return ("+" if x["margin_s"] >= 0 else "") + clock(x["margin_s"])
    if x.get("margin") is not None:
        return f"{x['margin']['value']:+g} {x['margin']['unit']}"
    if x.get("margin_Pa") is not None:
        return f"{x['margin_Pa']:+.0f} Pa"
    return ""


def _result(x: dict) -> str:
    return "n/a" if x["passed"] is None else "PASS" if x["passed"] else "FAIL"


def render_scorecard(console, card: dict) -> None:
    """The scorecard as a table: each expectation, why it failed, the trainees' commands about it."""
    score = "no score" if card.get("score") is None else f"score {card['score']:g} / 100"
    table = Table(title=f"{card['drill']} — {score} (pass mark {card.get('pass_mark', 0):g})")
    for col in ("expectation", "weight", "result", "margin", "detail", "commands"):
        table.add_column(col)
    for x in card["expectations"]:
        result = _result(x)
        style = None if x["passed"] is None else "green" if x["passed"] else "red"
        margin = _margin(x)
        commands = "\n".join(f"{clock(c.get('t_s'))} {c.get('command')}" for c in x.get("commands", []))
        detail = "\n".join([str(x.get("detail", "")), *(f"· {w}" for w in x.get("why", []))])
        table.add_row(x["name"], f"{x.get('weight', 1):g}", result, margin, detail, commands, style=style)
    console.print(table)
    for i in card["injects"]:
        when = f"fired at {clock(i['fired_s'])}" if i.get("fired_s") is not None else "never fired"
        note = f" — {i['note']}" if i.get("note") else ""
        console.print(f"inject {i.get('name')} ({i.get('fault')}, {i.get('trigger')}): {when}{note}", markup=False)
    if card.get("ended_early"):
        e = card["ended_early"]
        console.print(f"ENDED EARLY at {clock(e.get('at_s'))} of {clock(e.get('duration_s'))}: "
                      f"{e.get('reason')} — expectations due later were not played out", style="yellow", markup=False)
    if card.get("status", "ok") != "ok":  # a score of a run that stopped early would mislead
        console.print("[bold]NOT SCORED[/bold]: the run did not complete (status "
                      f"{card['status']}); the expectations above were judged on a partial run")
        return
    if card["score"] is None:
        console.print("[bold]NOT SCORED[/bold]: no expectation was applicable (their reference events never happened)")
        return
    verdict = "PASSED" if card.get("passed") else "NOT PASSED"
    console.print(f"[bold]{verdict}[/bold]: score {card['score']:g}, "
                  f"{'every expectation met' if card.get('all_met') else 'some expectations not met'}")


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def scorecard_html(card: dict[str, Any]) -> str:
    """The scorecard as a section of an HTML page: score, expectations, injects, commands."""
    score = "not scored (nothing applicable)" if card.get("score") is None else \
        f"{card['score']:g} / 100 (pass mark {card.get('pass_mark', 0):g}): {'PASSED' if card.get('passed') else 'NOT PASSED'}"
    parts = [f"<h2>Drill: {_e(card['drill'])}</h2><p><b>score {_e(score)}</b></p>"]
    if card.get("ended_early"):
        e = card["ended_early"]
        parts.append(f"<p class='fail'>ended early at {_e(clock(e.get('at_s')))}: {_e(e.get('reason'))}</p>")
    rows = []
    for x in card["expectations"]:
        why = "".join(f"<br>· {_e(w)}" for w in x.get("why", []))
        cmds = "<br>".join(f"{_e(c.get('at'))} {_e(c.get('command'))}" for c in x.get("commands", []))
        cls = "pass" if x["passed"] else "fail" if x["passed"] is False else "muted"
        rows.append(f"<tr><td>{_e(x['name'])}</td><td>{_e(x.get('weight'))}</td><td class='{cls}'>{_result(x)}</td>"
                    f"<td>{_e(_margin(x))}</td><td>{_e(x.get('detail'))}{why}</td><td>{cmds}</td></tr>")
    parts.append("<table><tr><th>expectation</th><th>weight</th><th>result</th><th>margin</th><th>detail</th>"
                 "<th>trainee commands</th></tr>" + "".join(rows) + "</table>")
    rows = [f"<tr><td>{_e(i['name'])}</td><td>{_e(i.get('fault'))}</td><td>{_e(i.get('trigger'))}</td>"
            f"<td>{_e(clock(i.get('fired_s')) if i.get('fired_s') is not None else 'never')}</td>"
            f"<td>{_e(i.get('note') or '')}</td></tr>" for i in card["injects"]]
    parts.append("<h3>Injects</h3><table><tr><th>inject</th><th>fault</th><th>trigger</th><th>fired</th>"
                 "<th>note</th></tr>" + "".join(rows) + "</table>")
    rows = [f"<tr><td>{_e(clock(c.get('t_s')))}</td><td>{_e(c.get('command'))}</td>"
            f"<td>{_e(c.get('error', c.get('reason', '')))}</td></tr>" for c in card.get("commands", [])]
    parts.append("<h3>Commands</h3>" + ("<table><tr><th>time</th><th>command</th><th>refused / reason</th></tr>"
                                        + "".join(rows) + "</table>" if rows else "<p class='muted'>none</p>"))
    return "".join(parts)


def compare_scorecards(labels: list[str], cards: list[dict[str, Any] | None]) -> dict[str, Any]:
    """Drill runs side by side: score, each expectation's result and time, injects fired, commands."""
    names: list[str] = []
    for card in cards:
        for x in (card or {}).get("expectations", []):
            if x["name"] not in names:
                names.append(x["name"])

    def cell(card, name):
        x = next((x for x in (card or {}).get("expectations", []) if x["name"] == name), None)
        if x is None:
            return None
        return {"result": _result(x), "t_s": x.get("t_s"), "margin": _margin(x)}

    return {
        "runs": labels,
        "score": [None if c is None else c.get("score") for c in cards],
        "expectations": [{"name": n, "results": [cell(c, n) for c in cards]} for n in names],
        "injects_fired": [None if c is None else [i["name"] for i in c["injects"] if i.get("fired_s") is not None]
                          for c in cards],
        "commands": [None if c is None else len([x for x in c.get("commands", []) if "error" not in x])
                     for c in cards],
    }


def render_comparison(console, cmp: dict[str, Any]) -> None:
    """The drill comparison as a table."""
    table = Table(title="drill: expectations side by side")
    table.add_column("")
    for label in cmp["runs"]:
        table.add_column(label)
    table.add_row("score", *("not a drill run" if s is None and cmp["commands"][k] is None else
                             "no score" if s is None else f"{s:g}" for k, s in enumerate(cmp["score"])))
    for row in cmp["expectations"]:
        table.add_row(row["name"], *("-" if c is None else f"{c['result']} {c['margin']}".strip()
                                     for c in row["results"]))
    table.add_row("injects fired", *("-" if f is None else ", ".join(f) or "none" for f in cmp["injects_fired"]))
    table.add_row("trainee commands", *("-" if n is None else str(n) for n in cmp["commands"]))
    console.print(table)
