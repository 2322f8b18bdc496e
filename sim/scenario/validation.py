"""Pydantic validation of a parsed document, with every error located by file and line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sim.errors import InputError, Problem
from sim.scenario.yamlio import Document

__all__ = ["did_you_mean", "validate_document"]

M = TypeVar("M", bound=BaseModel)


MAX_SUGGESTION_CANDIDATES = 300
"""Most known names a "did you mean" suggestion is sought among (beyond, none is offered)."""
MAX_SUGGESTIONS = 50
"""Most "did you mean" suggestions sought per validated document."""
_budget = [MAX_SUGGESTIONS]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """A suffix suggesting the closest known names, or listing them when few."""
    # difflib costs ~ len(known) x len(name)^2 per call, and a file can hold tens of thousands of
    # unknown names: a bounded number of suggestions per validated file, among a bounded number of
    # known names, for a bounded name (messages beyond the first 100 are not shown anyway); when
    # the budget is spent a large collection is not even copied
    if _budget[0] <= 0 and hasattr(known, "__len__") and len(known) > 12:
        return ""
    known = sorted(set(known))
    if _budget[0] > 0 and len(known) <= MAX_SUGGESTION_CANDIDATES and len(str(name)) <= 100:
        _budget[0] -= 1
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    else:
        close = []
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
    _budget[0] = MAX_SUGGESTIONS
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InputError(_problems(model, doc, root, exc)) from None


def _problems(model: type[BaseModel], doc: Document, root: tuple, exc: ValidationError) -> list[Problem]:
    problems = []
    data = doc.data
    for part in root:
        data = data[part] if isinstance(data, dict | list) else None
    for err in _without_union_noise(exc.errors(include_url=False)):
        kind = err["type"]
        loc = (*root, *_clean_loc(err["loc"], data, keep_last=kind == "missing"))
        if kind == "extra_forbidden":
            key = loc[-1]
            allowed = _allowed_keys(model, loc[len(root) : -1], data)
            msg = f"unknown key '{key}'{did_you_mean(str(key), allowed)}"
        elif kind == "missing":
            msg = f"missing required key '{loc[-1]}'"
        elif kind == "model_type" or kind == "dict_type":
            msg = f"expected a mapping, got {_describe(err.get('input'))}"
        elif kind == "step_kind":
            # lazy for start-up cost: only this message needs the procedure models built
            from sim.scenario.procedure_model import STEP_KINDS

            given = err.get("input", {}).get("do") if isinstance(err.get("input"), dict) else None
            if isinstance(given, str):
                msg = f"unknown step kind '{given}'{did_you_mean(given, STEP_KINDS)}"
            elif isinstance(err.get("input"), dict):
                msg = "a step needs 'do: <kind>' or one of 'if', 'goto', 'parallel'"
            else:
                msg = f"expected a step (a mapping), got {_describe(err.get('input'))}"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            ctx = err.get("ctx", {})
            tag, field = ctx.get("tag"), ctx.get("discriminator", "").strip("'")
            expected = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
            if tag is None:
                msg = f"missing '{field}' (one of: {', '.join(expected)})"
            else:
                msg = f"unknown {field} '{tag}'{did_you_mean(str(tag), expected)}"
        elif kind == "literal_error":
            given = err.get("input")
            listed = str(err.get("ctx", {}).get("expected", ""))
            msg = f"expected {listed}, got {_describe(given)}"
            choices = re.findall(r"'([^']*)'", listed)
            if isinstance(given, str) and difflib.get_close_matches(given, choices, n=1, cutoff=0.6):
                msg += did_you_mean(given, choices)
        elif kind == "list_type":
            msg = f"expected a list, got {_describe(err.get('input'))}"
        else:
            msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            msg = msg[0].lower() + msg[1:] if msg[:1].isupper() and not msg[1:2].isupper() else msg
            if msg.startswith("input should be") and "got" not in msg and "input" in err:
                msg += f", got {_describe(err['input'])}"  # say what was there, not only what was expected
        problems.append(doc.problem(loc, msg))
    return problems


_SCALAR_ERRORS = {"string_type", "int_type", "float_type", "bool_type", "int_parsing", "float_parsing"}


def _without_union_noise(errors: list[dict]) -> list[dict]:
    """Drop "not a string" (or number) from one member of a union when the value is a mapping or a list
    and another member reports what is wrong inside it (``station:`` is a path or a mapping)."""

    def noise(err: dict) -> bool:
        loc = err["loc"]
        if err["type"] not in _SCALAR_ERRORS or not isinstance(err.get("input"), dict | list) or len(loc) < 2:
            return False
        # another member of the same union: same parent location, another branch, and deeper
        # (it says what is wrong inside the mapping or list); a sibling field is not one
        return any(o is not err and len(o["loc"]) > len(loc) and o["loc"][: len(loc) - 1] == loc[:-1]
                   and o["loc"][len(loc) - 1 : len(loc)] != loc[-1:] for o in errors)

    kept = [err for err in errors if not noise(err)]
    return kept or errors


def _clean_loc(loc: tuple, data: Any, keep_last: bool = False) -> tuple:
    """The part of a pydantic location that exists in the document.

    Pydantic inserts union tags and validator names into locations; walking the data alongside
    drops whatever is not a real key or index (the missing key of a "missing" error is kept).
    """
    out = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif keep_last and i == len(loc) - 1:
            out.append(part)
    return tuple(out)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _allowed_keys(model: type[BaseModel], loc: tuple, data: Any) -> list[str]:
    """Field names of the model that stands at *loc* inside *model* (best effort).

    Where the schema has a union, the member whose fields best match the data is taken.
    """
    current: Any = model
    node = data
    for part in loc:
        current = _pick(current, node)
        current = _descend(current, part)
        node = node[part] if (isinstance(node, dict) and part in node) or (isinstance(node, list) and isinstance(part, int) and part < len(node)) else None
        if current is None:
            return []
    current = _pick(current, node)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _members(tp: Any) -> list:
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for arg in typing.get_args(tp):
            out.extend(_members(arg))
        return out
    return [tp]


def _pick(tp: Any, node: Any) -> Any:
    """The union member of *tp* that best fits the data *node*."""
    import typing

    chosen = _tagged(tp, node)
    if chosen is not None:
        return _pick(chosen, node)
    members = _members(tp)
    if len(members) == 1:
        return members[0]
    if isinstance(node, dict):
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if models:
            def score(m):
                names = {f.alias or n for n, f in m.model_fields.items()}
                tag = next((f.annotation for f in m.model_fields.values() if typing.get_origin(f.annotation) is typing.Literal), None)
                bonus = 100 if tag is not None and any(v in typing.get_args(tag) for v in node.values() if isinstance(v, str)) else 0
                return len(names & set(node)) + bonus
            return max(models, key=score)
    if isinstance(node, list):
        lists = [m for m in members if typing.get_origin(m) is list]
        if lists:
            return lists[0]
    return members[0]


def _tagged(tp: Any, node: Any) -> Any:
    """The member a callable ``Discriminator`` of *tp* chooses for *node*, or None.

    Matching keys alone can pick the wrong member (``{goto: a, then: b}`` shares ``then`` with
    ``if``), so a union that tags its members is resolved the way pydantic resolves it.
    """
    import typing

    from pydantic import Discriminator, Tag

    while typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        for m in meta:
            if isinstance(m, Discriminator) and callable(m.discriminator):
                try:
                    tag = m.discriminator(node)
                except Exception:  # a discriminator that cannot read this data: fall back to keys
                    return None
                for arg in typing.get_args(base):
                    if typing.get_origin(arg) is typing.Annotated:
                        inner, *marks = typing.get_args(arg)
                        if any(isinstance(k, Tag) and k.tag == tag for k in marks):
                            return inner
                return None
        tp = base
    return None


def _descend(tp: Any, part: Any) -> Any:
    import typing

    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (list, tuple) and args:
        return args[0]
    return None
