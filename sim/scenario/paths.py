"""What kind of value a ``--set`` path names, read from the file schemas (no file is loaded).

A sweep spec such as ``log(0.1, 100, 5)`` with no unit is only meaningful for a dimensionless
field; for a quantity (a leak rate, a volume) the unit must be written, as in the files, so that
``5`` is never silently read as 5 kg/s. :func:`quantity_kinds` walks the pydantic models of the
scenario (``station.…`` into the station, ``run.I.procedure.…`` into a procedure) along a dotted
path and returns the physical kinds of the fields it can reach.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from sim.scenario.fields import QuantityKind

__all__ = ["quantity_kinds"]


def quantity_kinds(path: str) -> set[str]:
    """Physical kinds (``"mass flow"``, ``"volume"``…) of the quantity fields *path* can name.

    Empty when the path names no quantity (a number, a flag, a name) or is not in the schemas
    (loading the scenario then reports it).

    >>> sorted(quantity_kinds("leaks.crack.rate")), sorted(quantity_kinds("leaks.crack.cd"))
    (['mass flow'], [])
    """
    # lazy for start-up cost: the models are built only when a path is looked up
    from sim.scenario.procedure_model import Procedure
    from sim.scenario.scenario_model import Scenario

    parts = path.split(".")
    if len(parts) > 3 and parts[0] == "run" and parts[2] == "procedure":
        return _walk(Procedure, parts[3:], [])
    return _walk(Scenario, parts, [])


def _walk(tp: Any, parts: list[str], meta: list[Any]) -> set[str]:
    origin = get_origin(tp)
    if origin is Annotated:
        base, *more = get_args(tp)
        return _walk(base, parts, [*meta, *more])
    if origin in (Union, types.UnionType):
        return set().union(*(_walk(arm, parts, meta) for arm in get_args(tp)))
    if not parts:
        return {m.kind for m in meta if isinstance(m, QuantityKind)}
    if origin is list:
        (item,) = get_args(tp) or (Any,)
        return _walk(item, parts[1:], [])
    if origin is dict:
        _, value = get_args(tp) or (Any, Any)
        return _walk(value, parts[1:], [])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if parts[0] in (name, info.alias):
                return _walk(info.annotation, parts[1:], list(info.metadata))
        return set()
    if isinstance(tp, typing.TypeAliasType if hasattr(typing, "TypeAliasType") else ()):
        return _walk(tp.__value__, parts, meta)
    return set()
