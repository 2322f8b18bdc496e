"""One handler per step kind: a simpy process body taking (run, step) and returning a flow.

Handlers act on the world only through :class:`~sim.procedures.world.ProcedureWorld` (``run.sim``,
which the engine provides): moving crew,
operating hatches and valves, changing leaks and supplies, so every change is synchronised with
the atmosphere and logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.crew import CrewMember
from sim.procedures.flow import END, NEXT
from sim.reserve import treserve
from sim.scenario.distributions import sample_duration
from sim.scenario.procedure_model import step_kind

if TYPE_CHECKING:
    from sim.procedures.world import StepRun

__all__ = ["HANDLERS", "step_name"]


def step_name(step) -> str:
    """The kind of a step model (``move``, ``if``, ``parallel`` …)."""
    return step_kind(step)


def _no_one(run: StepRun, step, who: str):
    run.sim.log.emit(run.env.now, "step_failed", procedure=run.label, step=step_name(step),
                     reason=f"no able crew member for '{who}'")
    return NEXT


# -- moving ------------------------------------------------------------------------------------
def _target(member: CrewMember, to: str) -> str | None:
    if to == "post":
        return member.home
    if to == "vehicle":
        return member.vehicle
    return to


def move(run: StepRun, step):
    members = [m for m in run.members(step.who) if m.can_act]
    if not members:
        return _no_one(run, step, step.who)
    procs = []
    for m in members:
        target = _target(m, step.to)
        if target is None:
            run.sim.log.emit(run.env.now, "step_failed", procedure=run.label, step="move",
                             reason=f"crew member '{m.id}' has no assigned vehicle")
            continue
        body = run.sim.mover.move(m, target, wait_if_trapped=step.if_trapped == "wait")
        procs.append(run.engage(m, f"move to {target}", body))
    yield from run.all_of(procs)
    return NEXT


# -- hatches and valves ------------------------------------------------------------------------
def _side(run: StepRun, member: CrewMember, hatch: str, side: str | None) -> str:
    if side is not None:
        return side
    a, b = run.sim.station.hatches[hatch].between
    mover = run.sim.mover
    return min((a, b), key=lambda s: (mover.travel_time(member.location, s), (a, b).index(s)))


def _hatch_step(action: str) -> Callable:
    def handler(run: StepRun, step):
        sim = run.sim
        member = run.pick(step.by, tuple(sim.station.hatches[step.hatch].between))
        if member is None:
            return _no_one(run, step, step.by)
        yield from run.all_of([run.engage(member, f"{action.replace('_', ' ')} {step.hatch}",
                                          _operate(run, member, step, action))])
        return NEXT

    handler.__name__ = action
    return handler


def _operate(run: StepRun, member: CrewMember, step, action: str):
    sim, env = run.sim, run.env
    hatch = sim.station.hatches[step.hatch]
    side = _side(run, member, step.hatch, step.side)
    yield from sim.mover.move(member, side)
    if step.hatch in sim.departed_hatches:
        sim.log.emit(env.now, "step_failed", procedure=run.label, step=action, reason=f"hatch {step.hatch} is gone")
        return False
    if action in ("open_valve", "close_valve"):
        yield env.timeout(hatch.valve_time / member.effective_speed(sim.scenario.physiology.impaired_speed))
        if step.hatch in sim.faults.stuck_valves:
            sim.log.emit(env.now, "valve_stuck", hatch=step.hatch, by=member.id,
                         state="open" if sim.valve_open[step.hatch] else "closed")
            return False
        sim.set_valve(step.hatch, action == "open_valve", by=member.id)
        return True
    want_open = action == "open_hatch"
    if sim.hatch_open[step.hatch] == want_open:
        return True
    if want_open:
        a, b = (sim.index[x] for x in hatch.between)
        p = sim.pressures()
        if abs(p[a] - p[b]) > hatch.max_open_dp:
            sim.log.emit(env.now, "hatch_blocked", hatch=step.hatch, by=member.id, dp_Pa=abs(p[a] - p[b]),
                         limit_Pa=hatch.max_open_dp, valve="open" if sim.valve_open[step.hatch] else "closed")
            if not sim.valve_open[step.hatch]:
                return False  # it cannot equalize: the procedure must open the valve first
            limit = hatch.max_open_dp
            member.waiting_at = step.hatch
            try:
                yield sim.watch(lambda t, p, pp, a=a, b=b: abs(p[a] - p[b]) <= limit)
            finally:
                member.waiting_at = None
            p = sim.pressures()
            sim.log.emit(env.now, "hatch_equalized", hatch=step.hatch, by=member.id, dp_Pa=abs(p[a] - p[b]))
    with sim.mover.hatches[step.hatch].request() as req:
        yield req  # wait for anyone passing through to be clear
        duration = hatch.open_time if want_open else hatch.close_time
        yield env.timeout(duration / member.effective_speed(sim.scenario.physiology.impaired_speed))
        if step.hatch in sim.faults.jammed_hatches:
            sim.log.emit(env.now, "hatch_jammed", hatch=step.hatch, by=member.id,
                         state="open" if sim.hatch_open[step.hatch] else "closed")
            return False
        sim.set_hatch(step.hatch, want_open, by=member.id)
    return True


# -- shelter, undock, evacuate -------------------------------------------------------------------
def _vehicle_hatch(run: StepRun, vehicle: str) -> str:
    v = run.sim.station.vehicles[vehicle]
    for hid, h in run.sim.station.hatches.items():
        if set(h.between) == {vehicle, v.docked_to}:
            return hid
    raise KeyError(vehicle)  # the loader guarantees a hatch exists


def _gather(run: StepRun, who: str, vehicle_of: Callable[[CrewMember], str | None]):
    """Send members to their vehicles; returns {vehicle: [members who got there]}."""
    members = [m for m in run.members(who) if m.can_act]
    procs, wanted = [], []
    for m in members:
        vehicle = vehicle_of(m)
        if vehicle is None:
            continue
        if vehicle in run.sim.faults.unavailable_vehicles or vehicle in run.sim.departed:
            run.sim.log.emit(run.env.now, "vehicle_unavailable", vehicle=vehicle, crew=m.id)
            continue
        wanted.append((m, vehicle))
        procs.append(run.engage(m, f"go to {vehicle}", run.sim.mover.move(m, vehicle)))
    yield from run.all_of(procs)
    arrived: dict[str, list[CrewMember]] = {}
    for m, vehicle in wanted:
        if m.location == vehicle:
            arrived.setdefault(vehicle, []).append(m)
    return arrived


def _close_behind(run: StepRun, vehicle: str, inside: list[CrewMember]):
    hid = _vehicle_hatch(run, vehicle)
    if not run.sim.hatch_open[hid]:
        return True
    closer = next((m for m in reversed(inside) if m.can_act), None)
    if closer is None:
        return False

    def body():
        hatch = run.sim.station.hatches[hid]
        with run.sim.mover.hatches[hid].request() as req:
            yield req
            yield run.env.timeout(hatch.close_time / closer.effective_speed(run.sim.scenario.physiology.impaired_speed))
            if hid in run.sim.faults.jammed_hatches:
                run.sim.log.emit(run.env.now, "hatch_jammed", hatch=hid, by=closer.id, state="open")
                return False
            run.sim.set_hatch(hid, False, by=closer.id)
        return True

    done = yield from run.all_of([run.engage(closer, f"close {hid}", body())])
    return all(done)


def shelter(run: StepRun, step):
    arrived = yield from _gather(run, step.who, lambda m: step.in_ or m.vehicle)
    for vehicle, inside in arrived.items():
        run.sim.exposure.shelter_steps.add(vehicle)
        if step.close:
            yield from _close_behind(run, vehicle, inside)
        run.sim.log.emit(run.env.now, "sheltered", vehicle=vehicle, crew=[m.id for m in inside],
                         hatch="closed" if not run.sim.hatch_open[_vehicle_hatch(run, vehicle)] else "open")
    return NEXT


def undock(run: StepRun, step):
    sim = run.sim
    if step.vehicle in sim.departed:
        return NEXT
    if step.vehicle in sim.faults.unavailable_vehicles:
        sim.log.emit(run.env.now, "vehicle_unavailable", vehicle=step.vehicle)
        return NEXT
    hid = _vehicle_hatch(run, step.vehicle)
    inside = [m for m in sim.crew.values() if m.location == step.vehicle and m.aboard is None]
    if sim.hatch_open[hid]:
        closers = inside or ([run.pick(step.by)] if step.by else [])
        closed = yield from _close_behind(run, step.vehicle, [m for m in closers if m is not None])
        if not closed:
            sim.log.emit(run.env.now, "step_failed", procedure=run.label, step="undock",
                         reason=f"nobody can close hatch {hid}")
            return NEXT
    sim.undock(step.vehicle)
    return NEXT


def evacuate(run: StepRun, step):
    arrived = yield from _gather(run, step.who, lambda m: m.vehicle)
    for vehicle, inside in arrived.items():
        closed = yield from _close_behind(run, vehicle, inside)
        if closed:
            run.sim.undock(vehicle)
    return NEXT


# -- repair, measure, repress, wait --------------------------------------------------------------
def repair(run: StepRun, step):
    sim, env = run.sim, run.env
    leak = next(lk for lk in sim.scenario.leaks if lk.id == step.leak)
    place = step.at or leak.at
    members = [m for m in run.members(step.by) if m.can_act]
    if not members:
        return _no_one(run, step, step.by)
    done = env.event()
    arrived = {m.id: env.event() for m in members}

    def work(m: CrewMember):
        yield from sim.mover.move(m, place)
        arrived[m.id].succeed()
        yield done
        return True

    procs = [run.engage(m, f"repair {step.leak}", work(m)) for m in members]
    # the work starts when the team is in place, or as many of it as could get there
    yield env.all_of([arrived[m.id] | p for m, p in zip(members, procs, strict=True)])
    team = [m for m in members if m.location == place and m.can_act]
    if not team:
        done.succeed()
        sim.log.emit(env.now, "step_failed", procedure=run.label, step="repair", reason=f"nobody reached {place}")
        return NEXT
    duration = sample_duration(step.duration, sim.rng)
    sim.log.emit(env.now, "repair_start", leak=step.leak, crew=[m.id for m in team], at=place, duration_s=duration)
    yield env.timeout(duration)
    done.succeed()
    yield from run.all_of(procs)
    success = bool(sim.rng.random() < step.success) if step.success < 1 else True
    if success:
        factor = 0.0 if step.effect.seal else step.effect.area
        sim.set_leak_scale(step.leak, factor, cause="repair")
    sim.log.emit(env.now, "repair_done", leak=step.leak, success=success,
                 effect="seal" if step.effect.seal else f"x{step.effect.area:g}")
    return NEXT


def _read(run: StepRun, values: np.ndarray, resolution: float, noise: float) -> np.ndarray:
    """Gauge readings of *values* [Pa]: noise added, then rounded to the resolution."""
    if noise > 0:
        values = values + run.sim.rng.normal(0.0, noise, size=values.shape)
    if resolution > 0:
        values = np.round(values / resolution) * resolution
    return np.maximum(values, 0.0)


def measure(run: StepRun, step):
    sim, env = run.sim, run.env
    gauge = sim.scenario.gauge
    resolution = gauge.resolution if step.resolution is None else step.resolution
    noise = gauge.noise if step.noise is None else step.noise
    who = None
    if step.by is not None:
        who = run.pick(step.by)
        if who is None:
            return _no_one(run, step, step.by)
    readings: dict[str, float] = {}
    breathers: list[str] = []  # crew inside the measured volume at the start or end of the window

    def faulty(values: np.ndarray) -> np.ndarray:
        """Apply gauge faults to readings of every compartment."""
        out = values.copy()
        for name, i in sim.index.items():
            fault = sim.faults.gauge(name)
            if fault is not None and not fault.failed:
                out[i] = max(0.0, out[i] * fault.scale + fault.bias)
        return out

    def body():
        fault = sim.faults.gauge(step.of)
        if fault is not None and fault.failed:
            yield env.timeout(step.window)
            sim.log.emit(env.now, "gauge_failed", of=step.of, by=who.id if who else None)
            return False
        sim.sync()
        breathers.extend(sim.crew_in_volume(step.of))
        p0 = faulty(sim.solver.pressure())
        r0 = _read(run, p0, resolution, noise)
        if step.window > 0:
            yield env.timeout(step.window)
        sim.sync()
        breathers.extend(c for c in sim.crew_in_volume(step.of) if c not in breathers)
        p1, pp1 = faulty(sim.solver.pressure()), sim.solver.partial_pressures()
        r1 = _read(run, p1, resolution, noise)
        sim.faults.consume_reading(step.of)
        dpdt = (r1 - r0) / step.window if step.window > 0 else sim.dpdt_now()
        tres = treserve(r1, dpdt, sim.station.limits.reserve_floor)
        columns = {"pressure": r1, "ppO2": _read(run, pp1[:, 1], resolution, noise),
                   "ppCO2": _read(run, pp1[:, 2], resolution, noise), "dpdt": dpdt, "treserve": tres}
        if step.of == "station":
            pick = {"pressure": np.min, "ppO2": np.min, "ppCO2": np.max, "dpdt": np.min, "treserve": np.min}
            values = {k: float(pick[k](v)) for k, v in columns.items()}
        else:
            i = sim.index[step.of]
            values = {k: float(v[i]) for k, v in columns.items()}
        readings.update(values)
        return True

    if who is not None:
        ok = yield from run.all_of([run.engage(who, f"measure {step.of}", body())])
        if not all(ok):
            return NEXT
    else:
        ok = yield from body()
        if ok is False:
            return NEXT
    value = readings[step.what]
    run.variables[step.as_] = value
    sim.record_measurement(run, step, readings, who.id if who else None, resolution=resolution,
                           breathers=breathers)
    return NEXT


def repress(run: StepRun, step):
    sim, env = run.sim, run.env
    member = run.pick(step.by)
    if member is None:
        return _no_one(run, step, step.by)
    supply = sim.station.gas_supply[step.supply]
    rate = step.rate if step.rate is not None else supply.max_rate
    i = sim.index[step.into]

    def body():
        start = float(np.sum(sim.solver.supply_remaining(step.supply)))
        if not sim.set_supply(step.supply, step.into, rate, by=member.id):
            return False
        stops = []
        if step.until is not None:
            target = step.until
            stops.append(sim.watch(lambda t, p, pp: p[i] >= target or sim.supply_empty(step.supply)))
        if step.for_ is not None:
            stops.append(env.timeout(step.for_))
        yield env.any_of(stops)
        sim.set_supply(step.supply, step.into, 0.0, by=member.id)
        used = start - float(np.sum(sim.solver.supply_remaining(step.supply)))
        sim.log.emit(env.now, "repress_end", supply=step.supply, into=step.into, used_kg=used)
        return True

    yield from run.all_of([run.engage(member, f"repress {step.into}", body())])
    return NEXT


def wait(run: StepRun, step):
    sim, env = run.sim, run.env
    if step.for_ is not None:
        yield env.timeout(step.for_)
        return NEXT
    condition = run.loaded.conditions[id(step)]
    event = sim.watch_condition(condition, run)
    if step.timeout is not None:
        timer = env.timeout(step.timeout)
        result = yield event | timer
        if event not in result:
            sim.log.emit(env.now, "wait_timeout", procedure=run.label, condition=condition.text)
            return ("goto", step.on_expiry) if step.on_expiry else NEXT
    else:
        yield event
    return NEXT


def parallel(run: StepRun, step):
    procs = [run.spawn(run.run_steps(steps)) for steps in step.parallel.values()]
    flows = yield from run.all_of(procs)
    for flow in flows:
        if isinstance(flow, tuple) and flow != NEXT:
            return flow
    return NEXT


def end(run: StepRun, step):
    return END
    yield  # pragma: no cover  (a generator, like every handler)


HANDLERS: dict[str, Callable] = {
    "move": move,
    "close_hatch": _hatch_step("close_hatch"),
    "open_hatch": _hatch_step("open_hatch"),
    "open_valve": _hatch_step("open_valve"),
    "close_valve": _hatch_step("close_valve"),
    "shelter": shelter,
    "repair": repair,
    "measure": measure,
    "wait": wait,
    "repress": repress,
    "undock": undock,
    "evacuate": evacuate,
    "parallel": parallel,
    "end": end,
}

