"""Reading YAML safely, keeping the line of every node.

PyYAML's safe composer builds a node tree; this module turns it into plain Python values
(dict, list, str, int, float, bool, None) while recording, for every path in the document, the
line where it stands. On the way it refuses what a hand-written input file should never contain:
duplicated keys, non-UTF-8 or binary bytes, tags other than the plain scalar ones, merge keys, and
documents that alias expansion or nesting would make unreasonably large (a "billion laughs" file
is refused after visiting :data:`MAX_NODES` nodes, in milliseconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import InputError, Problem
from sim.paths import read_bytes
from sim.text import describe, unsafe_character

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "MAX_TEXT", "Document", "format_path", "load_yaml", "parse_yaml"]

MAX_BYTES = 4 * 1024 * 1024
"""Largest input file read [bytes]; real station and scenario files are a few kB."""
MAX_NODES = 200_000
"""Most YAML nodes visited while expanding a document (aliases count every time they are used)."""
MAX_TEXT = 2 * MAX_BYTES
"""Most characters of text a document may expand to, aliases counted every time they are used
(150,000 aliases of one long string would otherwise make every message quoting it gigabytes)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted."""

# YAML 1.1 leaves "1e-3" or "2E5" as strings; people mean numbers, as YAML 1.2 reads them.
_YAML12_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


# YAML 1.1 forms PyYAML still reads as numbers: octal 075 (= 61), sexagesimal 1:30 (= 90), binary 0b11
_YAML11_ONLY = re.compile(r"^[-+]?(?:(?P<octal>0[0-7_]+|0o[0-7_]+)|(?P<sexagesimal>[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)"
                          r"|(?P<binary>0b[01_]+))$")


class _Loader(yaml.SafeLoader):
    """The safe loader, resolving YAML 1.2 floats; only a plain scalar is resolved, so ``!!str 1e-3`` stays text."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same on libyaml's parser when PyYAML has it: ten times faster, the same nodes and marks.

    Its error messages differ from PyYAML's, so a document it refuses is parsed again with
    :class:`_Loader` for the message (errors are rare; speed matters for sweeps of valid files).
    """


for _cls in (_Loader, _FastLoader):
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _YAML12_FLOAT, list("-+0123456789."))
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}

Loc = tuple[str | int, ...]


def format_path(loc: Loc) -> str:
    """``("hatches", "zvezda-prk", "between", 1)`` -> ``hatches.zvezda-prk.between[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Document:
    """A parsed YAML document with the line of every path in it.

    Attributes
    ----------
    file : str
        The name used in messages (the path as given, or ``<string>``).
    data : Any
        The plain Python value of the document.
    lines : dict
        Path tuple -> 1-based line of that node (for a mapping entry, the line of its key).
    path : Path or None
        The file on disk, for resolving relative references.
    """

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    path: Path | None = None
    origins: dict[Loc, str] = field(default_factory=dict)
    """Paths whose value came from elsewhere (``--set PATH=VALUE``) -> where, for messages."""

    def line_of(self, loc: Loc) -> int:
        """Line of *loc*, or of its nearest ancestor that has one (1 for the root)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def problem(self, loc: Loc, message: str) -> Problem:
        """A :class:`Problem` located at *loc* in this document (or at the ``--set`` that set it)."""
        loc = tuple(loc)
        for i in range(len(loc), 0, -1):
            if loc[:i] in self.origins:
                return Problem(self.origins[loc[:i]], 0, format_path(loc), message)
        return Problem(self.file, self.line_of(loc), format_path(loc), message)


def load_yaml(path: str | Path, display: str | None = None) -> Document:
    """Read and parse a YAML file.

    Parameters
    ----------
    path : str or Path
        The file to read.
    display : str, optional
        The name to use in messages (defaults to *path* as given).

    Raises
    ------
    InputError
        If the file cannot be read, is not UTF-8 text, is not valid YAML or breaks a limit.
    """
    name = display or str(path)
    p = Path(path)
    raw = read_bytes(p, limit=MAX_BYTES, display=name, what="YAML file")
    doc = parse_yaml(raw, name)
    doc.path = p.resolve()
    return doc


def parse_yaml(raw: bytes | str, name: str = "<string>") -> Document:
    """Parse YAML text (bytes must be UTF-8) into a :class:`Document`; see :func:`load_yaml`."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise InputError(Problem(name, 0, "", f"input is {len(raw):,} bytes, larger than the {MAX_BYTES:,} accepted"))
        if b"\x00" in raw:
            raise InputError(Problem(name, 0, "", "binary data (a NUL byte), expected YAML text"))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InputError(
                Problem(name, line, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")
            ) from None
    else:
        text = raw
    text = text.removeprefix("\ufeff")
    try:
        try:
            nodes = list(yaml.compose_all(text, Loader=_FastLoader))
        except yaml.YAMLError:
            nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; not a "marked" error
        line = text[: exc.position].count("\n") + 1
        raise InputError(Problem(name, line, "", f"control character #x{exc.character:04x} is not allowed in YAML text")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        reason = exc.problem or exc.context or "invalid YAML"
        raise InputError(Problem(name, line, "", f"YAML syntax error: {reason}")) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(name, 0, "", f"YAML error: {exc}")) from None
    except RecursionError:
        raise InputError(Problem(name, 1, "", f"nesting deeper than {MAX_DEPTH} levels")) from None
    if not nodes:
        raise InputError(Problem(name, 1, "", "the file is empty, expected a YAML mapping"))
    if len(nodes) > 1:
        raise InputError(Problem(name, nodes[1].start_mark.line + 1, "", "more than one YAML document ('---'); expected one"))
    builder = _Builder(name)
    data = builder.build(nodes[0], (), 0)
    if builder.problems:
        raise InputError(builder.problems)
    return Document(name, data, builder.lines)


class _Builder:
    """Turns a composed node tree into plain values, recording lines and collecting problems."""

    def __init__(self, name: str):
        self.name = name
        self.lines: dict[Loc, int] = {}
        self.problems: list[Problem] = []
        self.visited = 0
        self.chars = 0
        self._scalars = yaml.SafeLoader("")  # only its scalar constructors are used

    def _fail(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.name, node.start_mark.line + 1, format_path(loc), message))

    def build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise InputError(
                Problem(self.name, node.start_mark.line + 1, format_path(loc),
                        f"document expands to more than {MAX_NODES:,} nodes (alias bomb?)")
            )
        if depth > MAX_DEPTH:
            raise InputError(
                Problem(self.name, node.start_mark.line + 1, format_path(loc), f"nesting deeper than {MAX_DEPTH} levels")
            )
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            self.chars += len(node.value)
            if self.chars > MAX_TEXT:
                raise InputError(Problem(self.name, node.start_mark.line + 1, format_path(loc),
                                         f"document expands to more than {MAX_TEXT:,} characters of text "
                                         f"(aliases of a long text?)"))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self._fail(node, loc, f"unsupported YAML tag {node.tag!r}")
                return None
            return [self.build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, loc)

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict:
        if node.tag != "tag:yaml.org,2002:map":
            self._fail(node, loc, f"unsupported YAML tag {node.tag!r}")
            return {}
        out: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail(key_node, loc, "a mapping key must be a plain name, not a list or mapping")
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._fail(key_node, loc, "YAML merge keys ('<<') are not supported; write the keys out")
                continue
            key = self._scalar(key_node, loc)
            if isinstance(key, bool | float) or key is None:
                key = key_node.value  # "yes:", "1.5:" or "null:" as a key is meant as a name
            line = key_node.start_mark.line + 1
            if key in out:
                self._fail(key_node, (*loc, key), f"duplicated key '{key}' (first at line {first_line[key]})")
                continue
            first_line[key] = line
            self.lines[(*loc, key)] = line
            out[key] = self.build(value_node, (*loc, key), depth + 1)
            self.lines[(*loc, key)] = line
        return out

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            self._fail(node, loc, f"unsupported YAML tag {tag!r}")
            return None
        if tag == "tag:yaml.org,2002:timestamp":
            return node.value
        if not node.style and tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            form = _YAML11_ONLY.match(node.value)
            if form:  # read silently, they would give 61 for 075 and 90 for 1:30
                self._fail(node, loc, f"{node.value!r} is a YAML 1.1 {form.lastgroup} number, which YAML 1.2 "
                                      f"and most readers take differently; write it in decimal, or quote it "
                                      f"as text")
                return None
        if tag == "tag:yaml.org,2002:str":
            bad = unsafe_character(node.value)
            if bad is not None:
                self._fail(node, loc, f"the text holds the character {describe(bad)}; names, labels and "
                                      f"descriptions must be plain text (no control characters, line "
                                      f"separators or direction overrides)")
                return None
        try:
            return self._scalars.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # e.g. an int of more than 4300 digits
            shown = node.value if len(node.value) <= 40 else f"{node.value[:20]}...{node.value[-10:]}"
            reason = "too many digits; write it with an exponent, e.g. 1e9" if "digits" in str(exc) else str(exc)
            self._fail(node, loc, f"cannot read the number {shown!r} ({len(node.value):,} characters): {reason}")
            return None
