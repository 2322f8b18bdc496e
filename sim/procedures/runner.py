"""The procedure interpreter: phases in order, branches, deadlines, and crew engaged by role.

A :class:`ProcedureRun` is one simpy process per ``run`` entry of a scenario. Phases run in file
order unless a step branches (``if``, ``goto``, ``on_expiry``); ``end`` stops the procedure.
Each step kind has one handler in :mod:`sim.procedures.steps`. A step that needs a crew member
engages one through :meth:`ProcedureRun.engage`, which holds that member (one task at a time),
applies their response delay the first time they are called on, and gives up cleanly when the
member is incapacitated or the step's deadline passes.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import simpy

from sim.crew import CrewMember, Trapped
from sim.procedures.conditions import ConditionRuntimeError
from sim.procedures.flow import END, NEXT, Flow
from sim.procedures.steps import HANDLERS, step_name
from sim.scenario.distributions import sample_duration
from sim.scenario.procedure_model import End, Goto, If, PhaseSpec, phase_steps

if TYPE_CHECKING:
    from sim.procedures.world import ProcedureWorld
    from sim.scenario.procedure_load import LoadedProcedure
    from sim.scenario.scenario_model import RunEntry

__all__ = ["MAX_INSTANT_TRANSITIONS", "MAX_PHASE_STARTS", "Flow", "ProcedureRun"]

MAX_PHASE_STARTS = 100_000
"""Phase starts allowed in one procedure run (polling every second for a day is 86,400), so that a
loop around a short wait cannot grow the event log without bound."""
MAX_INSTANT_TRANSITIONS = 1000
"""Phase transitions allowed at one instant before a procedure is stopped as a runaway loop
(load-time checks catch the obvious ones; this guards against data-dependent ones)."""


class ProcedureRun:
    """One execution of a procedure within a run."""

    def __init__(self, sim: ProcedureWorld, loaded: LoadedProcedure, entry: RunEntry, label: str):
        self.sim, self.env = sim, sim.env
        self.loaded = loaded
        self.procedure = loaded.procedure
        self.entry = entry
        self.label = label
        self.bind = entry.bind or {}
        self.variables: dict[str, float] = {}
        self.phase_started: dict[str, float] = {}
        self.phase: str | None = None
        self.tasks: dict[simpy.Process, simpy.Process | None] = {}  # task -> parent, insertion-ordered
        self.status = "pending"

    # -- crew -------------------------------------------------------------------------------
    def members(self, who: str) -> list[CrewMember]:
        """Crew members a role, crew id or ``all`` refers to, in scenario order."""
        crew = self.sim.crew
        if who == "all":
            return list(crew.values())
        if who in self.bind:
            return [crew[c] for c in self.bind[who]]
        if who in crew:
            return [crew[who]]
        return [m for m in crew.values() if who in m.roles]

    def pick(self, who: str, near: tuple[str, ...] = ()) -> CrewMember | None:
        """The member of *who* best placed to act: able, free first, then nearest to *near*."""
        candidates = [m for m in self.members(who) if m.can_act]
        if not candidates:
            return None
        mover = self.sim.mover

        def cost(m: CrewMember):
            distance = min((mover.travel_time(m.location, place) for place in near), default=0.0)
            busy = m.resource.count + len(m.resource.queue)
            return (busy > 0, distance, list(self.sim.crew).index(m.id))

        return min(candidates, key=cost)

    def engage(self, member: CrewMember, activity: str, body: Generator) -> simpy.Process:
        """Run *body* as a task of *member*; the process's value is True when it completed."""
        return self.spawn(self._task(member, activity, body))

    def _task(self, member: CrewMember, activity: str, body: Generator):
        env, sim = self.env, self.sim
        try:
            with member.resource.request() as req:
                yield req
                if not member.responded:
                    member.responded = True
                    delay = sample_duration(member.response, sim.rng)
                    if delay > 0:
                        member.activity = "responding"
                        member.task = env.active_process
                        # logged as it starts, so a view of the run at any instant knows it
                        sim.log.emit(env.now, "responding", crew=member.id, delay_s=delay)
                        yield env.timeout(delay)
                    sim.log.emit(env.now, "respond", crew=member.id, delay_s=delay)
                extra = sim.faults.crew_delays.pop(member.id, 0.0)
                if extra > 0:
                    member.activity = "delayed"
                    member.task = env.active_process
                    sim.log.emit(env.now, "delayed", crew=member.id, delay_s=extra)
                    yield env.timeout(extra)
                if not member.can_act:
                    return False
                member.activity = activity
                member.task = env.active_process
                sim.log.emit(env.now, "task_start", crew=member.id, task=activity, procedure=self.label)
                result = yield from body
                sim.log.emit(env.now, "task_end", crew=member.id, task=activity)
                return result is not False
        except simpy.Interrupt as interrupt:
            sim.log.emit(env.now, "task_interrupted", crew=member.id, task=activity, cause=str(interrupt.cause))
            return False
        except Trapped as exc:
            sim.log.emit(env.now, "task_failed", crew=member.id, task=activity, reason=str(exc))
            return False
        finally:
            if member.task is env.active_process:
                member.task = None
                member.activity = "idle"

    def all_of(self, procs: list[simpy.Process]):
        """Wait for every process; returns their values in order."""
        if not procs:
            return []
        yield self.env.all_of(procs)
        return [p.value for p in procs]

    # -- control ----------------------------------------------------------------------------
    def process(self):
        """The simpy process body of the whole procedure."""
        env, sim = self.env, self.sim
        self.status = "running"
        sim.log.emit(env.now, "procedure_start", procedure=self.label, name=self.procedure.name)
        body = self.spawn(self._phases())
        flow = yield from self._with_deadline(body, self.procedure.deadline, self.procedure.on_expiry, "procedure")
        if flow[0] == "goto" and self.status != "stopped":
            yield self.spawn(self._phases(start=flow[1]))
        if self.status != "stopped":
            self.status = "done"
        sim.log.emit(env.now, "procedure_end", procedure=self.label)

    def stop(self, cause: str) -> bool:
        """Stop this procedure now: its steps and its crew's tasks are interrupted with *cause*.

        Returns False when it was not running. The crew are free again at once; what they had
        done stays done.
        """
        roots = [t for t, parent in self.tasks.items() if t.is_alive and parent not in self.tasks]
        if self.status != "running" or not roots:
            return False
        self.status = "stopped"
        self.sim.log.emit(self.env.now, "procedure_stopped", procedure=self.label, reason=cause)
        for root in roots:
            root.interrupt(cause)
        return True

    def _with_deadline(self, proc: simpy.Process, deadline: float | None, on_expiry: str | None, what: str):
        """Wait for *proc*; if *deadline* passes first, stop it and return where to go."""
        if deadline is None:
            result = yield proc
            return result if isinstance(result, tuple) else NEXT
        timer = self.env.timeout(deadline)
        outcome = yield proc | timer
        if proc in outcome:
            return proc.value if isinstance(proc.value, tuple) else NEXT
        proc.interrupt("deadline")
        self._stop_tasks(proc)
        self.sim.log.emit(self.env.now, "deadline", procedure=self.label, what=what, phase=self.phase,
                          then=on_expiry)
        return ("goto", on_expiry) if on_expiry else NEXT

    def spawn(self, body: Generator) -> simpy.Process:
        """Start a sub-process of this procedure, stopped with it on a deadline."""
        proc = self.env.process(self._guard(body))
        self.tasks[proc] = self.env.active_process
        return proc

    @staticmethod
    def _guard(body: Generator):
        try:
            return (yield from body)
        except simpy.Interrupt:
            return END

    def _descends(self, task: simpy.Process, root: simpy.Process) -> bool:
        parent = self.tasks.get(task)
        while parent is not None:
            if parent is root:
                return True
            parent = self.tasks.get(parent)
        return False

    def _stop_tasks(self, root: simpy.Process, cause: str = "deadline") -> None:
        """Interrupt what *root* started, directly or through its sub-processes, that still runs.

        Only *root*'s descendants: the phase or step that set the deadline goes on, and so do
        parallel branches that did not start the expired step.
        """
        me = self.env.active_process
        for task in list(self.tasks):
            if task.is_alive and task is not me and self._descends(task, root):
                task.interrupt(cause)
        self.tasks = {t: parent for t, parent in self.tasks.items() if t.is_alive}

    def _phases(self, start: str | None = None):
        names = list(self.procedure.phases)
        k = names.index(start) if start else 0
        instant, last_t, starts = 0, self.env.now, 0
        try:
            while k < len(names):
                name = names[k]
                starts += 1
                if starts > MAX_PHASE_STARTS:
                    self.sim.log.emit(self.env.now, "procedure_stopped", procedure=self.label,
                                      reason=f"more than {MAX_PHASE_STARTS:,} phase starts (a loop runs too often)")
                    return END
                if self.env.now == last_t:
                    instant += 1
                    if instant > MAX_INSTANT_TRANSITIONS:
                        self.sim.log.emit(self.env.now, "procedure_stopped", procedure=self.label,
                                          reason=f"more than {MAX_INSTANT_TRANSITIONS} phase changes at one instant")
                        return END
                else:
                    instant, last_t = 0, self.env.now
                phase = self.procedure.phases[name]
                self.phase = name
                self.phase_started[name] = self.env.now
                self.sim.log.emit(self.env.now, "phase_start", procedure=self.label, phase=name)
                proc = self.spawn(self.run_steps(phase_steps(phase)))
                if isinstance(phase, PhaseSpec) and phase.deadline is not None:
                    flow = yield from self._with_deadline(proc, phase.deadline, phase.on_expiry, "phase")
                else:
                    flow = yield proc
                if flow[0] == "end":
                    return END
                if flow[0] == "goto":
                    k = names.index(flow[1])
                else:
                    k += 1
            return END
        except simpy.Interrupt as interrupt:
            self._stop_tasks(self.env.active_process, str(interrupt.cause))
            return END

    def run_steps(self, steps: list):
        """Process body: run *steps* in order; returns the flow that left them."""
        try:
            for step in steps:
                kind = step_name(step)
                if isinstance(step, End):
                    return END
                if isinstance(step, Goto):
                    return ("goto", step.goto)
                if isinstance(step, If):
                    flow = self._branch(step)
                    if flow != NEXT:
                        return flow
                    continue
                self.sim.log.emit(self.env.now, "step_start", procedure=self.label, phase=self.phase, step=kind,
                                  **({"label": step.label} if step.label else {}))
                proc = self.spawn(HANDLERS[kind](self, step))
                if step.deadline is not None:
                    flow = yield from self._with_deadline(proc, step.deadline, step.on_expiry, "step")
                else:
                    flow = yield proc
                    flow = flow if isinstance(flow, tuple) else NEXT
                self.sim.log.emit(self.env.now, "step_end", procedure=self.label, phase=self.phase, step=kind)
                if flow != NEXT:
                    return flow
            return NEXT
        except simpy.Interrupt as interrupt:
            self._stop_tasks(self.env.active_process, str(interrupt.cause))
            return END

    def _branch(self, step: If) -> Flow:
        condition = self.loaded.conditions[id(step)]
        try:
            value = condition.evaluate(self.sim.live_lookup(self))
        except ConditionRuntimeError as exc:
            self.sim.log.emit(self.env.now, "condition_error", procedure=self.label, condition=condition.text,
                              reason=exc.message)
            value = False
        self.sim.log.emit(self.env.now, "branch", procedure=self.label, phase=self.phase, condition=condition.text,
                          value=bool(value), to=step.then if value else step.else_)
        if value:
            return ("goto", step.then)
        return ("goto", step.else_) if step.else_ else NEXT


