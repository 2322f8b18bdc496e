"""Names from files are text, never commands: the one sanitizer for every name Safehaven shows.

A name (a compartment id, a step label, a scenario's name) reaches a terminal, a plot or an HTML
page. Three rules keep it from acting there:

* :func:`unsafe_character` finds what no name may hold — control characters (ANSI/OSC escape
  sequences start with ESC, U+001B), line and paragraph separators (U+2028/U+2029, U+0085, which
  split lines where Python's ``str.splitlines`` does), and bidirectional overrides (which reorder
  what a reader sees). Input files and Safehaven's own artefacts are refused when a text holds one
  (:mod:`sim.scenario.yamlio`, :mod:`sim.results.artefacts`); :func:`plain` replaces them for
  display where refusing is not possible.
* :func:`for_terminal` also escapes rich's markup (``[red]``), so a name prints as written.
* :func:`literal_figure` makes matplotlib draw every text of a figure literally when it holds a
  ``$`` of its own (mathtext such as ``$\\sqrt{$`` would otherwise be parsed, and crash the
  drawing); Safehaven's own labels use mathtext only as ``$_2$`` subscripts.
  HTML pages escape every text (:mod:`sim.report.html`).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["for_terminal", "literal_figure", "plain", "unsafe_character"]

_ALLOWED_CONTROL = "\t\n"
_SEPARATORS = "\u2028\u2029\x85\x0b\x0c\x1c\x1d\x1e"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_OWN_MATH = re.compile(r"\$_\d\$")


def _bad(ch: str, multiline: bool) -> bool:
    if ch in _ALLOWED_CONTROL:
        return not multiline and ch != "\t"
    return ch in _SEPARATORS or ch in _BIDI or unicodedata.category(ch) == "Cc"


def unsafe_character(text: str, multiline: bool = True) -> str | None:
    """The first character of *text* that no name may hold, or None.

    Parameters
    ----------
    text : str
        The text.
    multiline : bool
        Whether newlines are allowed (in descriptions; not in ids or labels).
    """
    if text.isascii() and text.isprintable():
        return None
    return next((ch for ch in text if _bad(ch, multiline)), None)


def describe(ch: str) -> str:
    """``U+001B (ESC)``: a character named for a message."""
    name = unicodedata.name(ch, "") or {"\x1b": "ESC", "\x07": "BEL", "\x85": "NEXT LINE"}.get(ch, "control")
    return f"U+{ord(ch):04X} ({name})"


def plain(text, limit: int | None = None) -> str:
    """*text* with every unsafe character shown as ``\\uXXXX`` (and cut to *limit* characters)."""
    text = str(text)
    if unsafe_character(text, multiline=False) is not None:
        text = "".join(f"\\u{ord(ch):04x}" if _bad(ch, False) else ch for ch in text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 3)] + "..."
    return text


def for_terminal(text, limit: int | None = None) -> str:
    """*text* made :func:`plain` and escaped for rich's markup."""
    from rich.markup import escape

    return escape(plain(text, limit))


def literal_figure(fig) -> None:
    """Draw every text of the matplotlib figure *fig* literally when it holds a ``$`` not our own."""
    for artist in fig.findobj(lambda a: hasattr(a, "set_parse_math") and hasattr(a, "get_text")):
        text = artist.get_text()
        if "$" in _OWN_MATH.sub("", text):
            artist.set_parse_math(False)
