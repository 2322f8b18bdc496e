"""The condition language of procedure files: a small, typed, unit-aware expression language.

Procedures carry conditions as strings, such as ``"prk_rate > -0.05 mmHg/h"`` or
``"p(prk) < 700 mmHg and treserve(station) < 10 min"``. This module turns such a string into an
immutable, type-checked :class:`Condition` once, at load time, and evaluates it many times during a
run against a :class:`ConditionLookup` that the engine implements. Python's ``eval`` is never used:
the text goes through a hand-written tokenizer and a recursive-descent parser that know only the
constructs listed below; everything else is a :class:`ConditionError` with a column.

Grammar (EBNF; precedence from loosest to tightest)::

    condition  = or_expr EOF ;
    or_expr    = and_expr { "or" and_expr } ;
    and_expr   = not_expr { "and" not_expr } ;
    not_expr   = "not" not_expr | comparison ;
    comparison = additive [ compare_op additive ] ;          (* a < b < c is an error *)
    compare_op = "<" | "<=" | ">" | ">=" | "==" | "!=" ;
    additive   = term { ( "+" | "-" ) term } ;
    term       = unary { ( "*" | "/" ) unary } ;
    unary      = ( "-" | "+" ) unary | primary ;
    primary    = quantity | call | NAME | "(" or_expr ")" ;
    quantity   = NUMBER [ unit ] ;
    unit       = unit_factor { ( "*" | "/" ) unit_factor } ;
    unit_factor= UNIT_NAME [ "^" [ "-" ] INTEGER ] | "%" ;
    call       = FUNCTION "(" [ argument { "," argument } ] ")" ;

Every quantity is converted to SI when the condition is compiled and carries a dimension; the
dimensions of every comparison, sum and function argument are checked at compile time.

All quantities are SI inside: pressures [Pa], rates [Pa/s], times [s].
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import keyword
import math
import operator
import re
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sim.errors import SimError
from sim.units import unit_factor

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "STATION",
    "STATUS_VALUES",
    "VARIABLE_KINDS",
    "Condition",
    "ConditionContext",
    "ConditionError",
    "ConditionLookup",
    "ConditionRuntimeError",
    "NamesUsed",
    "check_variable_name",
    "compile_condition",
]

#: Longest condition text accepted [characters].
MAX_LENGTH = 1000
#: Deepest nesting accepted (parentheses, ``not``, unary signs, calls and chained operators).
MAX_DEPTH = 50
#: The word that stands for the whole station in ``treserve(station)``.
STATION = "station"
#: The values ``status(CREW)`` can take, from best to worst.
STATUS_VALUES = ("able", "impaired", "incapacitated")

# --------------------------------------------------------------------------------------------------
# Errors


class ConditionError(SimError, ValueError):
    """A condition text that is not valid: a syntax, name, dimension or limit error.

    Parameters
    ----------
    message : str
        What is wrong, with the known alternatives where that helps.
    column : int
        0-based position in *text* of the offending token.
    text : str, optional
        The condition text, for the caret display of :meth:`pointer`.

    Notes
    -----
    ``str(error)`` is the message followed by ``(at column N)`` where ``N = column + 1`` counts
    from 1, as editors do; the ``column`` attribute itself is 0-based.
    """

    def __init__(self, message: str, column: int = 0, text: str = ""):
        self.message = message
        self.column = column
        self.text = text
        super().__init__(f"{message} (at column {column + 1})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.column, self.text))

    def pointer(self) -> str:
        """The condition text with a caret under the offending column (two lines)."""
        line = self.text.replace("\n", " ").replace("\t", " ")
        return f"{line}\n{' ' * self.column}^"


class ConditionRuntimeError(SimError, RuntimeError):
    """A condition that cannot be given a truth value now.

    Raised by :meth:`Condition.evaluate` when a variable has not been measured yet, a phase has not
    started, a lookup reports an unknown name, or a comparison would involve NaN. The engine
    decides what that means (wait, fail the step, ...).

    Parameters
    ----------
    message : str
        What could not be evaluated, quoting the part of the condition concerned.
    text : str
        The condition text.
    column : int
        0-based position in *text* of the part concerned.
    """

    def __init__(self, message: str, text: str = "", column: int = 0):
        self.message = message
        self.text = text
        self.column = column
        super().__init__(f"{message} (in condition {text!r})" if text else message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.text, self.column))


# --------------------------------------------------------------------------------------------------
# Dimensions

# Exponents of (mass, length, time, temperature, substance, current, luminosity): sim.units.BASE_DIMENSIONS.
Dim = tuple[int, int, int, int, int, int, int]
_BASE_SYMBOLS = ("kg", "m", "s", "K", "mol", "A", "cd")

NUMBER: Dim = (0, 0, 0, 0, 0, 0, 0)
PRESSURE: Dim = (1, -1, -2, 0, 0, 0, 0)
RATE: Dim = (1, -1, -3, 0, 0, 0, 0)
TIME: Dim = (0, 0, 1, 0, 0, 0, 0)

#: Dimension kinds a measured variable may have, and their SI dimension.
VARIABLE_KINDS: Mapping[str, Dim] = types.MappingProxyType(
    {"pressure": PRESSURE, "rate": RATE, "time": TIME, "number": NUMBER}
)

_DIM_NAMES: dict[Dim, str] = {
    NUMBER: "a number",
    PRESSURE: "a pressure [Pa]",
    RATE: "a pressure rate [Pa/s]",
    TIME: "a time [s]",
    (0, 1, 0, 0, 0, 0, 0): "a length [m]",
    (0, 2, 0, 0, 0, 0, 0): "an area [m^2]",
    (0, 3, 0, 0, 0, 0, 0): "a volume [m^3]",
    (1, 0, 0, 0, 0, 0, 0): "a mass [kg]",
    (1, 0, -1, 0, 0, 0, 0): "a mass flow [kg/s]",
    (0, 3, -1, 0, 0, 0, 0): "a volume flow [m^3/s]",
    (0, 0, -1, 0, 0, 0, 0): "a frequency [1/s]",
    (0, 0, 0, 1, 0, 0, 0): "a temperature [K]",
}


def _dim_mul(a: Dim, b: Dim, sign: int = 1) -> Dim:
    return tuple(x + sign * y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _dim_name(d: Dim) -> str:
    if d in _DIM_NAMES:
        return _DIM_NAMES[d]
    parts = [f"{s}^{e}" if e != 1 else s for s, e in zip(_BASE_SYMBOLS, d, strict=True) if e]
    return f"a quantity in [{' '.join(parts)}]"


# --------------------------------------------------------------------------------------------------
# Types of sub-expressions


@dataclass(frozen=True)
class _Type:
    """Static type of a sub-expression.

    kind is "bool", "quantity", "status" or "compartment"; *dim* is the SI dimension of a quantity,
    or None for a bare literal zero, which is 0 in every unit and so fits any dimension.
    """

    kind: str
    dim: Dim | None = NUMBER

    def describe(self) -> str:
        if self.kind == "bool":
            return "a condition (true or false)"
        if self.kind == "status":
            return "a crew status"
        if self.kind == "compartment":
            return "a compartment id"
        return "a number" if self.dim is None else _dim_name(self.dim)


_BOOL = _Type("bool", None)
_STATUS = _Type("status", None)
_COMPARTMENT = _Type("compartment", None)


def _q(dim: Dim | None) -> _Type:
    return _Type("quantity", dim)


# --------------------------------------------------------------------------------------------------
# The AST: immutable, typed, with the source span of every node


@dataclass(frozen=True)
class Node:
    """Base of the typed syntax tree; ``start`` and ``end`` delimit the node's text [characters]."""

    start: int
    end: int
    type: _Type


@dataclass(frozen=True)
class Number(Node):
    """A number, possibly with a unit, already converted to SI; ``unit`` is the unit as written."""

    value: float
    unit: str


@dataclass(frozen=True)
class Variable(Node):
    """A variable set by a ``measure`` step."""

    name: str


@dataclass(frozen=True)
class Time(Node):
    """The simulation time [s]."""


@dataclass(frozen=True)
class Word(Node):
    """A bare word used as a value: a crew status or a compartment id."""

    word: str


@dataclass(frozen=True)
class Probe(Node):
    """A built-in that asks the engine: p, ppO2, ppCO2, dpdt, treserve, elapsed, status, location."""

    func: str
    target: str


@dataclass(frozen=True)
class Function(Node):
    """A whitelisted pure function: abs, min, max."""

    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Negate(Node):
    """Unary minus (``op == "-"``) or plus."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """Arithmetic: +, -, *, /."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    """One comparison (never chained)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not(Node):
    """Logical negation."""

    operand: Node


@dataclass(frozen=True)
class BoolOp(Node):
    """``and`` / ``or`` over two or more operands, evaluated left to right with short-circuit."""

    op: str
    operands: tuple[Node, ...]


# --------------------------------------------------------------------------------------------------
# Context, names used, lookup protocol


def check_variable_name(name: str) -> None:
    """Check that *name* can be used as a ``measure ... as: NAME`` variable.

    Parameters
    ----------
    name : str
        The proposed variable name.

    Raises
    ------
    ConditionError
        If the name is not an ASCII identifier, contains ``__``, or is a reserved word of the
        language (``and``, ``or``, ``not``, ``time``, a function name, a status value, a Python
        keyword).
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ConditionError(f"variable name {name!r} must be letters, digits and '_', not starting with a digit")
    if "__" in name:
        raise ConditionError(f"variable name {name!r} must not contain '__'")
    if name in _RESERVED:
        raise ConditionError(f"variable name {name!r} is a reserved word of the condition language")


@dataclass(frozen=True)
class ConditionContext:
    """The names that exist where a condition is used, so that it can be checked at load time.

    Parameters
    ----------
    compartments : frozenset of str
        Compartment ids of the station (docked vehicles included).
    crew_ids : frozenset of str
        Crew member ids of the scenario.
    roles : frozenset of str
        Roles, accepted wherever a crew member is (``status(repair)``); the engine resolves them.
    phases : frozenset of str
        Phase names of the procedure.
    variables : mapping of str to str
        Variables set by ``measure ... as: NAME`` and their dimension kind: ``"pressure"`` [Pa],
        ``"rate"`` [Pa/s], ``"time"`` [s] or ``"number"`` [1].

    Raises
    ------
    ValueError
        If a variable's kind is unknown or its name is not usable (see :func:`check_variable_name`).
    """

    compartments: frozenset[str] = frozenset()
    crew_ids: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    phases: frozenset[str] = frozenset()
    variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("compartments", "crew_ids", "roles", "phases"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        variables = dict(self.variables)
        for name, kind in variables.items():
            if kind not in VARIABLE_KINDS:
                raise ValueError(
                    f"variable {name!r}: unknown kind {kind!r}; expected one of {', '.join(VARIABLE_KINDS)}"
                )
            check_variable_name(name)
        object.__setattr__(self, "variables", types.MappingProxyType(variables))

    def __hash__(self) -> int:
        return hash((self.compartments, self.crew_ids, self.roles, self.phases, frozenset(self.variables.items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConditionContext):
            return NotImplemented
        return (
            self.compartments == other.compartments
            and self.crew_ids == other.crew_ids
            and self.roles == other.roles
            and self.phases == other.phases
            and dict(self.variables) == dict(other.variables)
        )

    def _ids(self) -> frozenset[str]:
        return self.compartments | self.crew_ids | self.roles | self.phases | frozenset(self.variables)


@dataclass(frozen=True)
class NamesUsed:
    """Names a condition refers to, for cross-reference checks and dependency tracking."""

    variables: frozenset[str] = frozenset()
    compartments: frozenset[str] = frozenset()
    crew: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    phases: frozenset[str] = frozenset()

    def all(self) -> frozenset[str]:
        """Every name, of whatever sort."""
        return self.variables | self.compartments | self.crew | self.roles | self.phases


class ConditionLookup(Protocol):
    """What the engine provides to evaluate conditions; every value in SI.

    A lookup that cannot answer (an unknown name, a phase not started, a variable not measured)
    raises :class:`LookupError` (e.g. ``KeyError``); :meth:`Condition.evaluate` turns it into a
    :class:`ConditionRuntimeError`. ``variable`` may also return ``None`` for "not measured yet".
    """

    def pressure(self, compartment: str) -> float:
        """Total pressure [Pa]."""

    def partial_pressure(self, compartment: str, species: str) -> float:
        """Partial pressure of *species* (``"O2"``, ``"CO2"``) [Pa]."""

    def dpdt(self, compartment: str) -> float:
        """Rate of change of total pressure [Pa/s]."""

    def treserve(self, compartment: str) -> float:
        """Time left until the reserve floor [s]; ``inf`` when the pressure is not falling.

        *compartment* is :data:`STATION` (``"station"``) for the whole station.
        """

    def elapsed(self, phase: str) -> float:
        """Time since *phase* started [s]."""

    def status(self, crew: str) -> str:
        """One of :data:`STATUS_VALUES`; *crew* may be a crew id or a role."""

    def location(self, crew: str) -> str:
        """Compartment id where *crew* is; *crew* may be a crew id or a role."""

    def variable(self, name: str) -> float:
        """Value of a measured variable, in the SI unit of its kind."""

    def time(self) -> float:
        """Simulation time [s]."""


# --------------------------------------------------------------------------------------------------
# Units: pint's answers, remembered across processes by sim.units (a file whose unit names are
# all remembered is checked without importing pint)


@functools.lru_cache(maxsize=512)
def _unit_factor(name: str) -> tuple[float, Dim] | str:
    """SI factor and dimension of one unit name, or a reason why it is not usable."""
    return unit_factor(name)  # type: ignore[return-value]


_COMMON_UNITS = ("Pa", "kPa", "hPa", "bar", "mbar", "psi", "mmHg", "torr", "atm", "s", "min", "h", "day",
                 "m", "cm", "mm", "kg", "g", "lb", "K", "percent")


# --------------------------------------------------------------------------------------------------
# Tokenizer

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HYPHEN_PART = re.compile(r"-[A-Za-z0-9_]+")
_WHITESPACE = frozenset(" \t\n\r\f\v")
_TWO_CHAR = frozenset({"<=", ">=", "==", "!="})
_ONE_CHAR = frozenset("<>+-*/(),^%")
_LOGIC = frozenset({"and", "or", "not"})

_PROBES: Mapping[str, tuple[str, _Type]] = types.MappingProxyType({
    # name: (argument sort, result type)
    "p": ("compartment", _q(PRESSURE)),
    "ppO2": ("compartment", _q(PRESSURE)),
    "ppCO2": ("compartment", _q(PRESSURE)),
    "dpdt": ("compartment", _q(RATE)),
    "treserve": ("compartment or station", _q(TIME)),
    "elapsed": ("phase", _q(TIME)),
    "status": ("crew", _STATUS),
    "location": ("crew", _COMPARTMENT),
})
_PURE = frozenset({"abs", "min", "max"})
_FUNCTIONS = frozenset(_PROBES) | _PURE
_RESERVED = _LOGIC | {"time"} | _FUNCTIONS | frozenset(STATUS_VALUES) | frozenset(keyword.kwlist) | {STATION}

_KEYWORD_MESSAGES = {
    "lambda": "lambdas are not allowed",
    "if": "conditional expressions ('if ... else') are not allowed; branch with the step's if/then/else",
    "else": "conditional expressions ('if ... else') are not allowed; branch with the step's if/then/else",
    "import": "'import' is not allowed",
    "for": "comprehensions and loops ('for') are not allowed",
    "in": "'in' is not allowed; compare with '==' and combine with 'or'",
    "is": "'is' is not allowed; use '==' or '!='",
    "True": "'True' is not a value here; write a comparison",
    "False": "'False' is not a value here; write a comparison",
    "None": "'None' is not a value here",
}

_CHAR_MESSAGES = {
    "'": "strings are not allowed; write names without quotes, e.g. p(prk)",
    '"': "strings are not allowed; write names without quotes, e.g. p(prk)",
    "`": "backquotes are not allowed",
    "[": "subscripts and lists ('[') are not allowed",
    "]": "subscripts and lists (']') are not allowed",
    "{": "braces are not allowed",
    "}": "braces are not allowed",
    ":": "':' is not allowed (no lambdas, slices or mappings)",
    ";": "';' is not allowed; a condition is one expression",
    "#": "comments ('#') are not allowed",
    "&": "'&' is not an operator; use 'and'",
    "|": "'|' is not an operator; use 'or'",
    "!": "'!' is not an operator; use 'not' or '!='",
    "@": "'@' is not an operator",
    "~": "'~' is not an operator; use 'not'",
    "\\": "'\\' is not allowed",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "kw" (and/or/not), "eof"
    text: str
    start: int
    end: int


def _tokenize(text: str, ids: frozenset[str]) -> list[_Token]:
    tokens: list[_Token] = []
    pos, n = 0, len(text)
    while pos < n:
        c = text[pos]
        if c in _WHITESPACE:
            pos += 1
            continue
        m = _NUMBER_RE.match(text, pos)
        if m and (c.isdigit() or c == "."):
            tokens.append(_Token("num", m.group(), pos, m.end()))
            pos = m.end()
        elif c.isascii() and (c.isalpha() or c == "_"):
            m = _NAME_RE.match(text, pos)
            assert m is not None
            end = m.end()
            # Ids such as "pma-2" are one name when, and only when, the whole hyphenated word is a
            # known id; otherwise '-' is subtraction.
            probe = end
            while (h := _HYPHEN_PART.match(text, probe)) is not None:
                probe = h.end()
                if text[pos:probe] in ids:
                    end = probe
            word = text[pos:end]
            if "__" in word:
                raise ConditionError(f"names must not contain '__': {word!r}", pos + word.index("__"), text)
            if word in _LOGIC:
                tokens.append(_Token("kw", word, pos, end))
            elif word not in ids and (word in _KEYWORD_MESSAGES or keyword.iskeyword(word)):
                msg = _KEYWORD_MESSAGES.get(word, f"Python keyword {word!r} is not part of the condition language")
                raise ConditionError(msg, pos, text)
            else:
                tokens.append(_Token("name", word, pos, end))
            pos = end
        elif text.startswith("**", pos):
            raise ConditionError("'**' is not allowed; powers are written '^' and only in units (m^3)", pos, text)
        elif text.startswith("//", pos):
            raise ConditionError("'//' is not allowed; use '/'", pos, text)
        elif text[pos:pos + 2] in _TWO_CHAR:
            tokens.append(_Token("op", text[pos:pos + 2], pos, pos + 2))
            pos += 2
        elif c == "=":
            if len(tokens) >= 2 and tokens[-1].kind == "name" and tokens[-2].text in ("(", ","):
                raise ConditionError("keyword arguments are not allowed; write p(prk)", pos, text)
            raise ConditionError("assignment '=' is not allowed (did you mean '=='?)", pos, text)
        elif c in _ONE_CHAR:
            tokens.append(_Token("op", c, pos, pos + 1))
            pos += 1
        elif c == ".":
            if tokens and (tokens[-1].kind == "name" or tokens[-1].text == ")"):
                raise ConditionError("attribute access ('.') is not allowed", pos, text)
            raise ConditionError("unexpected '.'", pos, text)
        elif c in _CHAR_MESSAGES:
            raise ConditionError(_CHAR_MESSAGES[c], pos, text)
        else:
            raise ConditionError(f"unexpected character {c!r}", pos, text)
    tokens.append(_Token("eof", "", n, n))
    return tokens


# --------------------------------------------------------------------------------------------------
# Parser and type checker (one pass)


def _did_you_mean(word: str, candidates: Iterator[str] | frozenset[str] | tuple[str, ...]) -> str:
    pool = sorted(set(candidates))
    folded = [c for c in pool if c.lower() == word.lower()]
    close = folded or difflib.get_close_matches(word, pool, n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


class _Parser:
    def __init__(self, text: str, context: ConditionContext):
        self.text = text
        self.ctx = context
        self.tokens = _tokenize(text, context._ids())
        self.i = 0
        self.depth = 0
        self.used: dict[str, set[str]] = {k: set() for k in ("variables", "compartments", "crew", "roles", "phases")}

    # -- helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> _Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        t = self.tokens[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def error(self, message: str, column: int) -> ConditionError:
        return ConditionError(message, column, self.text)

    def src(self, node: Node) -> str:
        return self.text[node.start:node.end]

    def enter(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", column)

    def leave(self) -> None:
        self.depth -= 1

    def stray(self, t: _Token) -> None:
        if t.kind == "op" and t.text == "%":
            raise self.error("'%' is only allowed as a unit after a number (percent), e.g. 50 %", t.start)
        if t.kind == "op" and t.text == "^":
            raise self.error("'^' is only allowed in units, e.g. 75 m^3", t.start)

    def expect(self, op: str, what: str) -> _Token:
        t = self.tok
        if t.kind == "op" and t.text == op:
            return self.advance()
        self.stray(t)
        raise self.error(f"expected {what}, found {self.describe(t)}", t.start)

    @staticmethod
    def describe(t: _Token) -> str:
        if t.kind == "eof":
            return "the end of the condition"
        return f"{t.text!r}"

    # -- grammar
    def parse(self) -> Node:
        node = self.or_expr()
        t = self.tok
        if t.kind != "eof":
            self.stray(t)
            if t.kind == "op" and t.text == ")":
                raise self.error("unmatched ')'", t.start)
            if t.kind == "op" and t.text == "(":
                raise self.error("only the built-in functions can be called", t.start)
            if t.kind in ("name", "num", "kw") or (t.kind == "op" and t.text == "%"):
                raise self.error(f"expected an operator before {t.text!r}", t.start)
            raise self.error(f"unexpected {self.describe(t)}", t.start)
        self.need_bool(node, "a condition")
        return node

    def boolop(self, op: str, sub: Callable[[], Node]) -> Node:
        first = sub()
        if not (self.tok.kind == "kw" and self.tok.text == op):
            return first
        operands = [first]
        while self.tok.kind == "kw" and self.tok.text == op:
            self.advance()
            operands.append(sub())
        for o in operands:
            self.need_bool(o, f"an operand of '{op}'")
        return BoolOp(first.start, operands[-1].end, _BOOL, op, tuple(operands))

    def or_expr(self) -> Node:
        return self.boolop("or", self.and_expr)

    def and_expr(self) -> Node:
        return self.boolop("and", self.not_expr)

    def not_expr(self) -> Node:
        t = self.tok
        if t.kind == "kw" and t.text == "not":
            self.advance()
            self.enter(t.start)
            operand = self.not_expr()
            self.leave()
            self.need_bool(operand, "the operand of 'not'")
            return Not(t.start, operand.end, _BOOL, operand)
        return self.comparison()

    def need_bool(self, node: Node, role: str) -> None:
        if node.type.kind != "bool":
            hint = ""
            if node.type.kind == "quantity":
                hint = "; compare it with something, e.g. '... < 700 mmHg'"
            raise self.error(f"{role} must be true or false, but {self.src(node)!r} is {node.type.describe()}{hint}",
                             node.start)

    def comparison(self) -> Node:
        left = self.additive()
        t = self.tok
        if not (t.kind == "op" and t.text in ("<", "<=", ">", ">=", "==", "!=")):
            return left
        self.advance()
        right = self.additive()
        t2 = self.tok
        if t2.kind == "op" and t2.text in ("<", "<=", ">", ">=", "==", "!="):
            raise self.error("chained comparisons are not allowed; write 'a < b and b < c'", t2.start)
        self.check_compare(t, left, right)
        return Compare(left.start, right.end, _BOOL, t.text, left, right)

    def check_compare(self, t: _Token, left: Node, right: Node) -> None:
        lt, rt = left.type, right.type
        pair = f"{self.src(left)!r} {t.text} {self.src(right)!r}"
        if lt.kind == "bool" or rt.kind == "bool":
            raise self.error(f"cannot compare conditions ({pair}); combine them with 'and', 'or', 'not'", t.start)
        if lt.kind != rt.kind:
            bad = left if lt.kind == "quantity" else right
            other = right if bad is left else left
            hint = ""
            if isinstance(other, Word) and other.type.kind == "compartment" and bad.type.kind == "quantity":
                hint = f"; for its pressure write p({other.word})"
            raise self.error(f"cannot compare {lt.describe()} with {rt.describe()} ({pair}){hint}", t.start)
        if lt.kind in ("status", "compartment"):
            if t.text not in ("==", "!="):
                raise self.error(f"{lt.describe()} can only be compared with '==' or '!=' ({pair})", t.start)
            return
        if lt.dim is not None and rt.dim is not None and lt.dim != rt.dim:
            hint = ""
            if isinstance(right, Number) and rt.dim == NUMBER and not right.unit:
                hint = f"; give {self.src(right)!r} a unit"
            elif isinstance(left, Number) and lt.dim == NUMBER and not left.unit:
                hint = f"; give {self.src(left)!r} a unit"
            raise self.error(f"cannot compare {lt.describe()} with {rt.describe()} ({pair}){hint}", t.start)

    def additive(self) -> Node:
        left = self.term()
        pushed = 0
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            t = self.advance()
            right = self.term()
            self.need_quantity(left, t)
            self.need_quantity(right, t)
            dim = self.same_dim(left, right, t, "add" if t.text == "+" else "subtract")
            pushed += 1
            self.enter(t.start)
            left = Binary(left.start, right.end, _q(dim), t.text, left, right)
        self.depth -= pushed
        return left

    def term(self) -> Node:
        left = self.unary()
        pushed = 0
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            t = self.advance()
            right = self.unary()
            self.need_quantity(left, t)
            self.need_quantity(right, t)
            if left.type.dim is None or right.type.dim is None:
                dim = None
            else:
                dim = _dim_mul(left.type.dim, right.type.dim, 1 if t.text == "*" else -1)
            pushed += 1
            self.enter(t.start)
            left = Binary(left.start, right.end, _q(dim), t.text, left, right)
        self.depth -= pushed
        return left

    def need_quantity(self, node: Node, t: _Token) -> None:
        if node.type.kind != "quantity":
            hint = ""
            if isinstance(node, Word) and node.type.kind == "compartment":
                hint = f"; for its pressure write p({node.word})"
            raise self.error(f"'{t.text}' needs numbers, but {self.src(node)!r} is {node.type.describe()}{hint}",
                             t.start)

    def same_dim(self, a: Node, b: Node, t: _Token, verb: str) -> Dim | None:
        da, db = a.type.dim, b.type.dim
        if da is None:
            return db
        if db is None or da == db:
            return da
        raise self.error(f"cannot {verb} {_dim_name(db)} and {_dim_name(da)} "
                         f"({self.src(a)!r} {t.text} {self.src(b)!r})", t.start)

    def unary(self) -> Node:
        t = self.tok
        if t.kind == "op" and t.text in ("-", "+"):
            self.advance()
            self.enter(t.start)
            operand = self.unary()
            self.leave()
            self.need_quantity(operand, t)
            return Negate(t.start, operand.end, operand.type, t.text, operand)
        return self.primary()

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "num":
            return self.quantity()
        if t.kind == "op" and t.text == "(":
            self.advance()
            self.enter(t.start)
            inner = self.or_expr()
            self.leave()
            close = self.tok
            if not (close.kind == "op" and close.text == ")"):
                self.stray(close)
                raise self.error(f"expected ')' to close the '(' at column {t.start + 1}, "
                                 f"found {self.describe(close)}", close.start)
            self.advance()
            # Re-span so that messages quote the parentheses too.
            return _respan(inner, t.start, close.end)
        if t.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call()
            self.advance()
            return self.word(t)
        if t.kind == "eof":
            raise self.error("unexpected end of the condition; expected a value", t.start)
        if t.kind == "kw":
            raise self.error(f"expected a value, found {t.text!r}", t.start)
        self.stray(t)
        raise self.error(f"expected a value, found {self.describe(t)}", t.start)

    # -- values
    def word(self, t: _Token) -> Node:
        w = self.ctx
        name = t.text
        if name in w.variables:
            self.used["variables"].add(name)
            return Variable(t.start, t.end, _q(VARIABLE_KINDS[w.variables[name]]), name)
        if name == "time":
            return Time(t.start, t.end, _q(TIME))
        if name in STATUS_VALUES:
            return Word(t.start, t.end, _STATUS, name)
        if name in w.compartments:
            self.used["compartments"].add(name)
            return Word(t.start, t.end, _COMPARTMENT, name)
        if name in _FUNCTIONS:
            raise self.error(f"{name!r} is a function; call it, e.g. {name}(...)", t.start)
        if name in w.crew_ids or name in w.roles:
            raise self.error(f"{name!r} is a crew member; use status({name}) or location({name})", t.start)
        if name in w.phases:
            raise self.error(f"{name!r} is a phase; use elapsed({name})", t.start)
        if name == STATION:
            raise self.error("'station' is only accepted as treserve(station)", t.start)
        candidates = set(w.variables) | {"time"} | set(STATUS_VALUES) | w.compartments
        return self.unknown(f"unknown name {name!r}", name, candidates, t.start)

    def unknown(self, message: str, name: str, candidates: set[str] | frozenset[str], column: int) -> Node:
        raise self.error(message + _did_you_mean(name, candidates), column)

    def call(self) -> Node:
        t = self.advance()
        name = t.text
        if name not in _FUNCTIONS:
            if name == "time":
                raise self.error("'time' is not a function; write time", t.start)
            known = ", ".join(sorted(_FUNCTIONS, key=str.lower))
            raise self.error(f"unknown function {name!r}{_did_you_mean(name, _FUNCTIONS)}; functions: {known}",
                             t.start)
        open_ = self.advance()
        self.enter(open_.start)
        if name in _PURE:
            node = self.pure_call(t)
        else:
            node = self.probe_call(t)
        self.leave()
        return node

    def pure_call(self, t: _Token) -> Node:
        args: list[Node] = []
        if not (self.tok.kind == "op" and self.tok.text == ")"):
            while True:
                arg = self.or_expr()
                args.append(arg)
                if self.tok.kind == "op" and self.tok.text == ",":
                    self.advance()
                    continue
                break
        close = self.expect(")", f"',' or ')' in {t.text}(...)")
        name = t.text
        if name == "abs" and len(args) != 1:
            raise self.error(f"abs() takes exactly one argument, got {len(args)}", t.start)
        if name in ("min", "max") and len(args) < 2:
            raise self.error(f"{name}() takes two or more arguments, got {len(args)}", t.start)
        dim: Dim | None = None
        first: Node | None = None
        for a in args:
            if a.type.kind != "quantity":
                raise self.error(f"{name}() needs numbers, but {self.src(a)!r} is {a.type.describe()}", a.start)
            if a.type.dim is None:
                continue
            if dim is None:
                dim, first = a.type.dim, a
            elif a.type.dim != dim:
                assert first is not None
                raise self.error(f"{name}() arguments must have one dimension: {self.src(first)!r} is "
                                 f"{_dim_name(dim)}, {self.src(a)!r} is {_dim_name(a.type.dim)}", a.start)
        return Function(t.start, close.end, _q(dim), name, tuple(args))

    def probe_call(self, t: _Token) -> Node:
        name = t.text
        sort, result = _PROBES[name]
        arg = self.tok
        if arg.kind != "name":
            if arg.kind == "op" and arg.text == ")":
                raise self.error(f"{name}() needs one argument: {self.arg_help(name)}", arg.start)
            raise self.error(f"the argument of {name}() must be {self.arg_help(name)}, "
                             f"found {self.describe(arg)}", arg.start)
        self.advance()
        after = self.tok
        if after.kind == "op" and after.text == ",":
            raise self.error(f"{name}() takes exactly one argument", after.start)
        if after.kind == "op" and after.text == "(":
            raise self.error(f"the argument of {name}() must be {self.arg_help(name)}, not a call", arg.start)
        close = self.expect(")", f"')' after the argument of {name}()")
        target = arg.text
        ctx = self.ctx
        if sort.startswith("compartment"):
            if target == STATION:
                if sort == "compartment":
                    raise self.error(f"'station' is only accepted by treserve(); {name}() needs a compartment",
                                     arg.start)
                if STATION in ctx.compartments:
                    raise self.error("'station' is ambiguous: a compartment has that id", arg.start)
            elif target in ctx.compartments:
                self.used["compartments"].add(target)
            else:
                self.unknown(f"unknown compartment {target!r}", target, ctx.compartments, arg.start)
        elif sort == "phase":
            if target not in ctx.phases:
                self.unknown(f"unknown phase {target!r}", target, ctx.phases, arg.start)
            self.used["phases"].add(target)
        else:
            if target in ctx.crew_ids:
                self.used["crew"].add(target)
            elif target in ctx.roles:
                self.used["roles"].add(target)
            else:
                self.unknown(f"unknown crew member or role {target!r}", target, ctx.crew_ids | ctx.roles, arg.start)
        return Probe(t.start, close.end, result, name, target)

    @staticmethod
    def arg_help(name: str) -> str:
        sort = _PROBES[name][0]
        return {"compartment": "a compartment id", "compartment or station": "a compartment id or 'station'",
                "phase": "a phase name", "crew": "a crew id or a role"}[sort]

    # -- quantities
    def quantity(self) -> Node:
        t = self.advance()
        try:
            value = float(t.text)
        except ValueError:  # pragma: no cover - the regex only admits float syntax
            raise self.error(f"bad number {t.text!r}", t.start) from None
        if math.isinf(value):
            raise self.error(f"number {t.text!r} is too large", t.start)
        factor, dim, end, unit = 1.0, NUMBER, t.end, ""
        nxt = self.tok
        if self.is_unit_start(self.i, first=True):
            factor, dim, end, unit = self.unit()
        elif nxt.kind == "name":
            raise self.error(f"expected an operator between {t.text!r} and {nxt.text!r} "
                             f"(write '*' to multiply)", nxt.start)
        si = value * factor
        if math.isinf(si):
            raise self.error(f"quantity {self.text[t.start:end]!r} is too large", t.start)
        if not unit and value == 0:
            return Number(t.start, end, _q(None), si, unit)
        return Number(t.start, end, _q(dim), si, unit)

    def is_unit_start(self, index: int, first: bool) -> bool:
        t = self.tokens[min(index, len(self.tokens) - 1)]
        if t.kind == "op" and t.text == "%":
            return True
        if t.kind != "name":
            return False
        nxt = self.tokens[index + 1]
        if nxt.kind == "op" and nxt.text == "(":
            return False
        name = t.text
        if name == "time" or name in self.ctx._ids():
            return False
        if first:
            return True  # any other word right after a number is meant as its unit
        return isinstance(_unit_factor(name), tuple)

    def unit(self) -> tuple[float, Dim, int, str]:
        factor, dim = 1.0, NUMBER
        sign = 1
        start = self.tok.start
        end = start
        while True:
            t = self.advance()
            if t.kind == "op" and t.text == "%":
                f, d = 0.01, NUMBER
                exp = 1
                end = t.end
            else:
                got = _unit_factor(t.text)
                if not isinstance(got, tuple):
                    if got == "offset":
                        msg = f"unit {t.text!r} has an offset (like degC); use K"
                    elif got == "unsupported":
                        msg = f"unit {t.text!r} is not supported in conditions"
                    else:
                        msg = f"unknown unit {t.text!r}{_did_you_mean(t.text, _COMMON_UNITS)}"
                    raise self.error(msg, t.start)
                f, d = got
                exp = 1
                end = t.end
                if self.tok.kind == "op" and self.tok.text == "^":
                    caret = self.advance()
                    neg = False
                    if self.tok.kind == "op" and self.tok.text == "-":
                        self.advance()
                        neg = True
                    e = self.tok
                    if e.kind != "num" or not e.text.isdigit() or int(e.text) == 0 or len(e.text) > 2:
                        raise self.error("expected a whole exponent after '^', e.g. m^3", e.start if e.kind != "eof"
                                         else caret.start)
                    self.advance()
                    exp = -int(e.text) if neg else int(e.text)
                    end = e.end
            e_total = sign * exp
            factor *= f ** e_total
            dim = _dim_mul(dim, d, e_total)
            op = self.tok
            if op.kind == "op" and op.text in ("*", "/") and self.is_unit_start(self.i + 1, first=False):
                self.advance()
                sign = 1 if op.text == "*" else -1
                continue
            break
        return factor, dim, end, self.text[start:end]


def _respan(node: Node, start: int, end: int) -> Node:
    return dataclasses.replace(node, start=start, end=end)


# --------------------------------------------------------------------------------------------------
# Evaluation: the typed tree is turned into nested closures once


def _divide(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        # IEEE 754: x/0 is a signed infinity, 0/0 is NaN (which no comparison will accept).
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


_ARITH: Mapping[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": _divide,
}
_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}

Evaluator = Callable[[Any], Any]


def _build(node: Node, text: str) -> Evaluator:
    def fail(message: str, at: Node) -> ConditionRuntimeError:
        return ConditionRuntimeError(message, text, at.start)

    if isinstance(node, Number):
        value = node.value
        return lambda lookup: value
    if isinstance(node, Time):
        return lambda lookup: lookup.time()
    if isinstance(node, Word):
        word = node.word
        return lambda lookup: word
    if isinstance(node, Variable):
        name = node.name

        def variable(lookup: Any) -> Any:
            try:
                value = lookup.variable(name)
            except LookupError:
                value = None
            if value is None:
                raise fail(f"variable {name!r} has not been measured yet", node)
            return value

        return variable
    if isinstance(node, Probe):
        return _build_probe(node, fail)
    if isinstance(node, Function):
        args = tuple(_build(a, text) for a in node.args)
        if node.func == "abs":
            (only,) = args
            return lambda lookup: abs(only(lookup))
        pick = min if node.func == "min" else max

        def extremum(lookup: Any) -> float:
            values = [f(lookup) for f in args]
            # Python's min/max would hide a NaN depending on argument order; propagate it instead.
            if any(v != v for v in values):
                return math.nan
            return pick(values)

        return extremum
    if isinstance(node, Negate):
        inner = _build(node.operand, text)
        if node.op == "+":
            return inner
        return lambda lookup: -inner(lookup)
    if isinstance(node, Binary):
        left, right, fn = _build(node.left, text), _build(node.right, text), _ARITH[node.op]
        return lambda lookup: fn(left(lookup), right(lookup))
    if isinstance(node, Compare):
        left, right, fn = _build(node.left, text), _build(node.right, text), _COMPARE[node.op]
        lnode, rnode = node.left, node.right

        def compare(lookup: Any) -> bool:
            a, b = left(lookup), right(lookup)
            if a != a:
                raise fail(f"{text[lnode.start:lnode.end]!r} is NaN; a comparison with NaN has no truth value",
                           lnode)
            if b != b:
                raise fail(f"{text[rnode.start:rnode.end]!r} is NaN; a comparison with NaN has no truth value",
                           rnode)
            return fn(a, b)

        return compare
    if isinstance(node, Not):
        inner = _build(node.operand, text)
        return lambda lookup: not inner(lookup)
    if isinstance(node, BoolOp):
        parts = tuple(_build(o, text) for o in node.operands)
        if node.op == "and":
            return lambda lookup: all(p(lookup) for p in parts)
        return lambda lookup: any(p(lookup) for p in parts)
    raise TypeError(f"unknown node {type(node).__name__}")  # pragma: no cover


def _build_probe(node: Probe, fail: Callable[[str, Node], ConditionRuntimeError]) -> Evaluator:
    target, func = node.target, node.func
    call: Callable[[Any], Any]
    if func == "p":
        call = lambda lookup: lookup.pressure(target)  # noqa: E731
    elif func == "ppO2":
        call = lambda lookup: lookup.partial_pressure(target, "O2")  # noqa: E731
    elif func == "ppCO2":
        call = lambda lookup: lookup.partial_pressure(target, "CO2")  # noqa: E731
    elif func == "dpdt":
        call = lambda lookup: lookup.dpdt(target)  # noqa: E731
    elif func == "treserve":
        call = lambda lookup: lookup.treserve(target)  # noqa: E731
    elif func == "elapsed":
        call = lambda lookup: lookup.elapsed(target)  # noqa: E731
    elif func == "status":
        call = lambda lookup: lookup.status(target)  # noqa: E731
    else:
        call = lambda lookup: lookup.location(target)  # noqa: E731

    def probe(lookup: Any) -> Any:
        try:
            value = call(lookup)
        except LookupError as exc:
            raise fail(f"{func}({target}) is not available: {exc}", node) from exc
        if func == "status" and value not in STATUS_VALUES:
            raise fail(f"status({target}) returned {value!r}, not one of {', '.join(STATUS_VALUES)}", node)
        return value

    return probe


# --------------------------------------------------------------------------------------------------
# Public entry points


@dataclass(frozen=True, eq=False)
class Condition:
    """A compiled, type-checked condition; immutable and safe to share between runs.

    Attributes
    ----------
    text : str
        The condition as written.
    ast : Node
        The typed syntax tree (quantities already in SI).
    names_used : NamesUsed
        Variables, compartments, crew ids, roles and phases the condition refers to.
    """

    text: str
    ast: Node = field(repr=False)
    names_used: NamesUsed = field(repr=False)
    _fn: Evaluator = field(repr=False, compare=False)

    def evaluate(self, lookup: ConditionLookup) -> bool:
        """Truth value of the condition now.

        Parameters
        ----------
        lookup : ConditionLookup
            The engine's view of the current state (SI values).

        Returns
        -------
        bool

        Raises
        ------
        ConditionRuntimeError
            If a variable has not been measured yet, a lookup cannot answer (``LookupError``), or
            a comparison meets NaN.
        """
        return bool(self._fn(lookup))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return NotImplemented
        return self.text == other.text and self.ast == other.ast

    def __hash__(self) -> int:
        return hash((self.text, self.ast))

    def __reduce__(self) -> tuple[Any, ...]:
        # Closures do not pickle; rebuild them from the (picklable) typed tree, e.g. for Dask workers.
        return (_rebuild, (self.text, self.ast, self.names_used))

    def __str__(self) -> str:
        return self.text


def _rebuild(text: str, ast: Node, names_used: NamesUsed) -> Condition:
    return Condition(text, ast, names_used, _build(ast, text))


def compile_condition(text: str, context: ConditionContext) -> Condition:
    """Parse and type-check a condition once, for evaluation many times.

    Parameters
    ----------
    text : str
        The condition, e.g. ``"p(prk) < 700 mmHg and treserve(station) < 10 min"``.
    context : ConditionContext
        The compartments, crew, roles, phases and variables that exist.

    Returns
    -------
    Condition

    Raises
    ------
    ConditionError
        On any syntax, name, dimension or limit error, with a 0-based ``column``.

    Examples
    --------
    >>> ctx = ConditionContext(compartments=frozenset({"prk"}), variables={"prk_rate": "rate"})
    >>> c = compile_condition("prk_rate > -0.05 mmHg/h", ctx)
    >>> sorted(c.names_used.variables)
    ['prk_rate']
    >>> try:
    ...     compile_condition("p(pkr) < 700 mmHg", ctx)
    ... except ConditionError as e:
    ...     print(e.column, e.message)
    2 unknown compartment 'pkr' (did you mean 'prk'?)
    """
    if not isinstance(text, str):
        raise ConditionError(f"a condition must be text, got {type(text).__name__}", 0, "")
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"condition is {len(text)} characters long; at most {MAX_LENGTH} are allowed",
                             MAX_LENGTH, text)
    if not text.strip():
        raise ConditionError("empty condition", 0, text)
    parser = _Parser(text, context)
    ast = parser.parse()
    if _height(ast) > MAX_DEPTH:
        raise ConditionError(f"nesting deeper than {MAX_DEPTH} levels", ast.start, text)
    used = NamesUsed(**{k: frozenset(v) for k, v in parser.used.items()})
    return Condition(text, ast, used, _build(ast, text))


def _height(node: Node) -> int:
    if isinstance(node, Negate | Not):
        return 1 + _height(node.operand)
    if isinstance(node, Binary | Compare):
        return 1 + max(_height(node.left), _height(node.right))
    if isinstance(node, BoolOp):
        return 1 + max(_height(o) for o in node.operands)
    if isinstance(node, Function):
        return 1 + max(_height(a) for a in node.args)
    return 1
