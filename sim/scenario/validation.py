"""Pydantic validation of a parsed document, with every error located by file and line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sim.errors import InputError, Problem
from sim.scenario.yamlio import Document

__all__ = ["did_you_mean", "validate_document"]

M = TypeVar("M", bound=BaseModel)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """A suffix suggesting the closest known names, or listing them when few."""
    known = sorted(set(known))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if not known:
        return " (none are defined)"
    if len(known) <= 12:
        return f" (known: {', '.join(known)})"
    return ""


def validate_document(model: type[M], doc: Document, *, root: tuple = (), data: Any = None) -> M:
    """Validate ``doc.data`` (or *data* found at path *root*) against *model*.

    Raises
    ------
    InputError
        With one located problem per validation error.
    """
    value = doc.data if data is None else data
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InputError(_problems(model, doc, root, exc)) from None


def _problems(model: type[BaseModel], doc: Document, root: tuple, exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = (*root, *_clean_loc(err["loc"]))
        kind = err["type"]
        if kind == "extra_forbidden":
            key = loc[-1]
            allowed = _allowed_keys(model, loc[len(root) : -1])
            msg = f"unknown key '{key}'{did_you_mean(str(key), allowed)}"
        elif kind == "missing":
            msg = f"missing required key '{loc[-1]}'"
            loc = loc[:-1] + (loc[-1],)
        elif kind == "model_type" or kind == "dict_type":
            msg = f"expected a mapping, got {_describe(err.get('input'))}"
        elif kind == "list_type":
            msg = f"expected a list, got {_describe(err.get('input'))}"
        else:
            msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            msg = msg[0].lower() + msg[1:] if msg[:1].isupper() and not msg[1:2].isupper() else msg
        problems.append(doc.problem(loc, msg))
    return problems


def _clean_loc(loc: tuple) -> tuple:
    # Pydantic inserts union member and validator names (e.g. "function-after[...]") into locations.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p and p.endswith("]") or p.startswith("function-"))))


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model that stands at *loc* inside *model* (best effort)."""
    current: Any = model
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _descend(tp: Any, part: Any) -> Any:
    import typing

    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if part in (name, f.alias):
                return _unwrap(f.annotation)
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (dict,) and len(args) == 2:
        return _unwrap(args[1])
    if origin in (list, tuple) and args:
        return _unwrap(args[0])
    return None


def _unwrap(tp: Any) -> Any:
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            inner = _unwrap(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel) or typing.get_origin(inner) in (dict, list):
                return inner
    return tp
