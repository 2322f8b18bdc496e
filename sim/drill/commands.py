"""Commands of live play: a small grammar, checked against the station, run as one-step procedures.

Trainee commands (the crew act)::

    move WHO to PLACE                  PLACE: a compartment, 'post' or 'vehicle'
    close hatch HATCH [by WHO]         open hatch …, open valve …, close valve …
    measure PLACE [WHAT] [over TIME] [by WHO]     WHAT: dpdt (default), treserve, pressure, ppO2, ppCO2
    repair LEAK [by WHO] [for TIME]    seals the leak (default 30 min)
    shelter [WHO] [in VEHICLE]
    repress SUPPLY into PLACE (until PRESSURE | for TIME) [by WHO]
    undock VEHICLE [by WHO]
    evacuate [WHO]
    start PROCEDURE                    a procedure of the drill's library

Trainer commands: ``inject NAME``, ``pause``, ``resume``, ``speed X``, ``quit``, ``help``, and the
overrides ``stop PROCEDURE`` (or ``stop all``: the trainees take the crew over from there),
``cancel WHO`` (ends a crew member's current task), ``procedures`` (lists what runs) and
``bookmark NAME`` (marks the instant, to branch from it in the browser station).

WHO is a crew id, a role or ``all`` (default ``all``: the best placed able member). TIME and
PRESSURE take units (``over 2 min``, ``until 700 mmHg``). Words are split as a shell does (shlex).
Each trainee command becomes a procedure of one step built from the models of
:mod:`sim.scenario.procedure_model` and run by :class:`~sim.procedures.runner.ProcedureRun`, so it
shares the step handlers (and their faults: a jammed hatch, a stuck valve) with scripted procedures.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.scenario.validation import did_you_mean

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun

__all__ = ["CONTROL", "HELP", "TRAINER", "Command", "CommandError", "execute", "parse_command", "running_procedures"]

CONTROL = ("pause", "resume", "speed", "quit", "help", "procedures", "bookmark")
"""Commands that steer the session, not the simulation (replay skips them, but ``quit``)."""
TRAINER = ("inject", "pause", "resume", "speed", "quit", "stop", "cancel", "procedures", "bookmark")
"""Commands only the trainer gives (a trainee's page refuses them)."""
STOPPED_BY_TRAINER = "stopped by the instructor"
CANCELLED_BY_TRAINER = "cancelled by the instructor"

HELP = (
    "crew: move WHO to PLACE | close/open hatch H [by WHO] | open/close valve H [by WHO] | "
    "measure PLACE [dpdt|treserve|pressure|ppO2|ppCO2] [over TIME] [by WHO] | repair LEAK [by WHO] [for TIME] | "
    "shelter [WHO] [in VEHICLE] | repress SUPPLY into PLACE until P|for TIME [by WHO] | undock VEHICLE [by WHO] | "
    "evacuate [WHO] | start PROCEDURE    trainer: inject NAME | pause | resume | speed X | quit | "
    "procedures | stop PROCEDURE|all | cancel WHO | bookmark NAME"
)
_KEYWORDS = ("by", "to", "over", "for", "in", "into", "until")
_MEASURES = ("dpdt", "treserve", "pressure", "ppO2", "ppCO2")
DEFAULT_REPAIR_S = 1800.0
"""Duration of a ``repair`` command without ``for`` [s]."""
DEFAULT_WINDOW_S = 60.0
"""Window of a ``measure`` command without ``over`` [s]."""


class CommandError(ValueError):
    """A command that cannot be carried out; the message says why and what would do."""


@dataclass(frozen=True)
class Command:
    """A parsed, checked command.

    Attributes
    ----------
    verb : the first word (``close_hatch`` for ``close hatch``).
    step : the procedure step model it runs, for crew commands.
    arg : the argument of a trainer command (inject name, speed factor) or the procedure name.
    """

    text: str
    verb: str
    step: Any = None
    arg: Any = None


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise CommandError(f"cannot read the command: {exc}") from None


def _options(words: list[str], allowed: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Positional words, then ``keyword value…`` pairs (a value runs to the next keyword)."""
    pos, opts, key = [], {}, None
    for w in words:
        if w in _KEYWORDS:
            if w not in allowed:
                raise CommandError(f"'{w}' does not go with this command (expected: {', '.join(allowed) or 'nothing'})")
            if w in opts:
                raise CommandError(f"'{w}' given twice")
            key = w
            opts[key] = ""
        elif key is None:
            pos.append(w)
        else:
            opts[key] = f"{opts[key]} {w}".strip()
    for k, v in opts.items():
        if not v:
            raise CommandError(f"'{k}' needs a value")
    return pos, opts


def _quantity(text: str, kind: str, word: str) -> float:
    from sim.units import UnitError, to_si

    try:
        value = float(text)
    except ValueError:
        try:
            value = to_si(text, kind)
        except UnitError as exc:
            raise CommandError(f"'{word} {text}': {exc}") from None
    if value < 0:
        raise CommandError(f"'{word} {text}': must not be negative")
    return value


def parse_command(text: str, run: DrillRun) -> Command:
    """Parse and check one command line against the drill's station, crew and injects.

    Raises
    ------
    CommandError
        With a message naming what is wrong and the known alternatives.
    """
    from sim.scenario import procedure_model as pm

    words = _split(text)
    if not words:
        raise CommandError("empty command")
    sim = run.sim
    st, sc = sim.station, sim.scenario
    places = set(st.compartments) | set(st.vehicles)
    crew_ids = set(sim.crew)
    roles = {r for m in sim.crew.values() for r in m.roles}

    def who(value: str) -> str:
        known = crew_ids | roles | {"all"}
        if value not in known:
            raise CommandError(f"unknown crew member or role '{value}'{did_you_mean(value, known)}")
        return value

    def place(value: str, extra=()) -> str:
        if value not in places and value not in extra:
            raise CommandError(f"unknown compartment '{value}'{did_you_mean(value, places | set(extra))}")
        return value

    def hatch(value: str, valve: bool = False) -> str:
        if value not in st.hatches:
            raise CommandError(f"unknown hatch '{value}'{did_you_mean(value, st.hatches)}")
        if valve and st.hatches[value].valve is None:
            raise CommandError(f"hatch '{value}' has no equalization valve")
        return value

    def vehicle(value: str) -> str:
        if value not in st.vehicles:
            raise CommandError(f"unknown vehicle '{value}'{did_you_mean(value, st.vehicles)}")
        return value

    def one(pos: list[str], what: str) -> str:
        if len(pos) != 1:
            raise CommandError(f"expected {what}, got {' '.join(pos) or 'nothing'}; type 'help'")
        return pos[0]

    verb, rest = words[0], words[1:]
    if verb in ("open", "close"):
        if not rest or rest[0] not in ("hatch", "valve"):
            raise CommandError(f"'{verb} hatch HATCH' or '{verb} valve HATCH'")
        noun, rest = rest[0], rest[1:]
        pos, opts = _options(rest, ("by",))
        h = hatch(one(pos, "a hatch"), valve=noun == "valve")
        kind = f"{verb}_{noun}"
        model = {"close_hatch": pm.CloseHatch, "open_hatch": pm.OpenHatch,
                 "open_valve": pm.OpenValve, "close_valve": pm.CloseValve}[kind]
        return Command(text, kind, model(do=kind, hatch=h, by=who(opts.get("by", "all"))))
    if verb == "move":
        pos, opts = _options(rest, ("to",))
        if "to" not in opts:
            raise CommandError("'move WHO to PLACE'")
        target = place(opts["to"], ("post", "vehicle"))
        return Command(text, verb, pm.Move(do="move", who=who(one(pos, "who moves")), to=target))
    if verb == "measure":
        pos, opts = _options(rest, ("over", "by"))
        if not pos or len(pos) > 2:
            raise CommandError("'measure PLACE [dpdt|treserve|pressure|ppO2|ppCO2] [over TIME] [by WHO]'")
        of = place(pos[0], ("station",))
        what = pos[1] if len(pos) == 2 else "dpdt"
        if what not in _MEASURES:
            raise CommandError(f"unknown measurement '{what}'{did_you_mean(what, _MEASURES)}")
        window = _quantity(opts["over"], "time", "over") if "over" in opts else DEFAULT_WINDOW_S
        by = who(opts["by"]) if "by" in opts else None
        return Command(text, verb, pm.Measure(do="measure", of=of, what=what, window=window, as_="reading", by=by))
    if verb == "repair":
        pos, opts = _options(rest, ("by", "for"))
        leaks = {lk.id for lk in sc.leaks}
        leak = one(pos, "a leak")
        if leak not in leaks:
            raise CommandError(f"unknown leak '{leak}'{did_you_mean(leak, leaks)}")
        duration = _quantity(opts["for"], "time", "for") if "for" in opts else DEFAULT_REPAIR_S
        return Command(text, verb, pm.Repair(do="repair", leak=leak, by=who(opts.get("by", "all")),
                                             duration=duration))
    if verb == "shelter":
        pos, opts = _options(rest, ("in",))
        w = who(pos[0]) if pos else "all"
        if len(pos) > 1:
            raise CommandError("'shelter [WHO] [in VEHICLE]'")
        v = vehicle(opts["in"]) if "in" in opts else None
        if v is not None and not st.vehicles[v].shelter:
            raise CommandError(f"vehicle '{v}' is not a shelter")
        return Command(text, verb, pm.Shelter(do="shelter", who=w, in_=v))
    if verb == "repress":
        pos, opts = _options(rest, ("into", "until", "for", "by"))
        supply = one(pos, "a gas supply")
        if supply not in st.gas_supply:
            raise CommandError(f"unknown gas supply '{supply}'{did_you_mean(supply, st.gas_supply)}")
        into = opts.get("into") or (st.gas_supply[supply].into[0] if len(st.gas_supply[supply].into) == 1 else None)
        if into is None or into not in st.gas_supply[supply].into:
            raise CommandError(f"'into' one of {', '.join(st.gas_supply[supply].into)}")
        if "until" not in opts and "for" not in opts:
            raise CommandError("repress needs 'until PRESSURE' or 'for TIME'")
        until = _quantity(opts["until"], "pressure", "until") if "until" in opts else None
        for_ = _quantity(opts["for"], "time", "for") if "for" in opts else None
        return Command(text, verb, pm.Repress(do="repress", supply=supply, into=into, by=who(opts.get("by", "all")),
                                              until=until, for_=for_))
    if verb == "undock":
        pos, opts = _options(rest, ("by",))
        by = who(opts["by"]) if "by" in opts else None
        return Command(text, verb, pm.Undock(do="undock", vehicle=vehicle(one(pos, "a vehicle")), by=by))
    if verb == "evacuate":
        pos, _ = _options(rest, ())
        return Command(text, verb, pm.Evacuate(do="evacuate", who=who(pos[0]) if pos else "all"))
    if verb == "start":
        name = one(_options(rest, ())[0], "a procedure")
        if name not in run.drill.library:
            raise CommandError(f"unknown procedure '{name}'{did_you_mean(name, run.drill.library)}")
        return Command(text, verb, arg=name)
    if verb == "inject":
        name = one(_options(rest, ())[0], "an inject's name")
        names = [i.name for i in run.drill.drill.injects]
        if name not in names:
            raise CommandError(f"unknown inject '{name}'{did_you_mean(name, names)}")
        if name in run.fired:
            raise CommandError(f"inject '{name}' already fired at {run.fired[name]:.0f} s")
        return Command(text, verb, arg=name)
    if verb == "speed":
        x = one(rest, "a speed factor")
        try:
            factor = float(x)
        except ValueError:
            raise CommandError(f"speed: expected a number such as 60, got {x!r}") from None
        if not 0 < factor <= 1e6:
            raise CommandError("speed: expected a factor between 0 and 1e6 (60 = a minute a second)")
        return Command(text, verb, arg=factor)
    if verb == "stop":
        name = one(_options(rest, ())[0], "a running procedure (see 'procedures') or 'all'")
        running = running_procedures(run)
        if name == "all":
            if not running:
                raise CommandError("no procedure is running")
            return Command(text, verb, arg=name)
        labels = [r.label for r in running]
        matches = [lb for lb in labels if name in (lb, lb.split(":", 1)[-1])]
        if len(matches) > 1:
            raise CommandError(f"'{name}' is several procedures: {', '.join(matches)}; give the label")
        if not matches:
            hint = did_you_mean(name, labels) if labels else ""
            raise CommandError(f"no running procedure '{name}'{hint} (running: {', '.join(labels) or 'none'})")
        return Command(text, verb, arg=matches[0])
    if verb == "cancel":
        member = one(_options(rest, ())[0], "a crew member")
        if member not in crew_ids:
            raise CommandError(f"unknown crew member '{member}'{did_you_mean(member, crew_ids)}")
        task = sim.crew[member].task
        if task is None or not task.is_alive:
            raise CommandError(f"{member} has no task to cancel ({sim.crew[member].activity})")
        return Command(text, verb, arg=member)
    if verb == "bookmark":
        name = one(_options(rest, ())[0], "a bookmark's name")
        taken = [r["command"].split()[1] for r in run.session if r["command"].split()[:1] == ["bookmark"]
                 and "error" not in r and len(r["command"].split()) == 2]
        if name in taken:
            raise CommandError(f"bookmark '{name}' exists already")
        return Command(text, verb, arg=name)
    if verb in ("pause", "resume", "quit", "help", "procedures"):
        if rest:
            raise CommandError(f"'{verb}' takes nothing after it")
        return Command(text, verb)
    verbs = ("move", "close", "open", "measure", "repair", "shelter", "repress", "undock", "evacuate", "start",
             "inject", "stop", "cancel", *CONTROL)
    raise CommandError(f"unknown command '{verb}'{did_you_mean(verb, verbs)}; type 'help'")


def execute(command: Command, run: DrillRun) -> str | None:
    """Carry out a crew command, ``start`` or ``inject`` now (in the simulation's thread).

    Crew commands become a one-step procedure run by
    :class:`~sim.procedures.runner.ProcedureRun`; ``start`` runs a library procedure (listed in the
    summary with the scenario's own). Returns the label of the procedure started, if any.
    """
    from sim.procedures.runner import ProcedureRun
    from sim.scenario.procedure_load import LoadedProcedure
    from sim.scenario.procedure_model import Procedure
    from sim.scenario.scenario_model import RunEntry

    sim = run.sim
    if command.verb == "inject":
        run.fire(command.arg, "trainer")
        return None
    if command.verb == "stop":
        targets = running_procedures(run) if command.arg == "all" else \
            [r for r in running_procedures(run) if r.label == command.arg]
        for r in targets:
            r.stop(STOPPED_BY_TRAINER)
        return None
    if command.verb == "cancel":
        member = sim.crew[command.arg]
        sim.log.emit(sim.env.now, "task_cancelled", crew=member.id, task=member.activity)
        member.task.interrupt(CANCELLED_BY_TRAINER)
        return None
    n = len(run.live_runs) + 1
    if command.verb == "start":
        loaded = run.drill.library[command.arg]
        label = f"live{n}:{command.arg}"
    else:
        procedure = Procedure(name=f"command: {command.text}", phases={"command": [command.step]})
        loaded = LoadedProcedure(procedure, None)
        label = f"live{n}:{command.verb}"
    entry = RunEntry(procedure=label, at=sim.env.now)
    proc_run = ProcedureRun(sim, loaded, entry, label=label)
    run.live_runs.append(proc_run)
    if command.verb == "start":
        sim.procedure_runs.append(proc_run)
    sim.log.emit(sim.env.now, "command", command=command.text, procedure=label)
    sim.env.process(proc_run.process())
    return label


def running_procedures(run: DrillRun) -> list:
    """The procedures running now (the scenario's, those started, live commands), in start order."""
    seen, out = set(), []
    for r in [*run.sim.procedure_runs, *run.live_runs]:
        if id(r) not in seen and r.status == "running":
            seen.add(id(r))
            out.append(r)
    return out
