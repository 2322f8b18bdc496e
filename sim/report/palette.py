"""One colour per meaning, the same in every plot and report Safehaven draws.

* **States and events** have fixed colours (:data:`MEANING`): a closed hatch is dark red, an open
  equalization valve blue (never two shades of one hue), a leak orange, a repair green, the
  shelter purple, an alarm gold, a measurement teal, limits black.
* **Crew members and compartments** get colours from their id (a CRC-32 of the id picks a slot;
  a slot already taken in the same drawing moves to the next free one), so ``fe5`` has the same
  colour in every report of the same crew, and ``prk`` in every report that draws the same
  compartments.
* **Runs** in an overlaid comparison differ by line style (:data:`RUN_STYLES`), never by colour,
  so a compartment keeps its colour across runs.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

__all__ = ["ACTIVITY", "COMPARTMENT_COLOURS", "CREW_COLOURS", "MEANING", "MUTED_COLOURS", "RUN_STYLES",
           "activity_colour",
           "colours_for"]

MEANING = {
    "hatch_closed": "#b2182b",   # dark red
    "hatch_open": "#bdbdbd",     # light grey: the normal state, drawn quietly
    "valve_open": "#2166ac",     # blue
    "leak": "#e66101",           # orange
    "repair": "#1b7837",         # green
    "shelter": "#762a83",        # purple
    "alarm": "#d4a017",          # gold
    "measure": "#01665e",        # teal
    "procedure": "#525252",      # dark grey
    "limit": "#000000",          # black, dashed
    "crew_label": "#08306b",     # navy text on lavender, on the station drawing
    "other": "#999999",
}
"""Colours of states and events [hex RGB]."""

CREW_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
"""Slots for crew members (matplotlib's tab10 without its olive and grey, which read poorly as
text, then darker tones)."""

COMPARTMENT_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#666666", "#1f78b4", "#17becf",
                       "#843c39", "#393b79")
"""Slots for compartments: strong colours only (ColorBrewer Dark2 without its yellow and brown, then
blue, cyan, brick, navy), so that no two lines are pale or near shades of one hue. A figure gives colours to what it draws (the lines of
the compartments that moved most, the places crew went), so they differ within the figure."""

MUTED_COLOURS = ("#8c8c8c", "#7f8fa3", "#a3907f", "#8fa37f", "#a37f9b", "#6f7f7f", "#9b9b6f", "#7f6f8f")
"""Slots for places shown only on the crew lanes (no pressure line of their own): muted, so they do
not read as one of the lines; the lane carries the place's name."""

RUN_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
"""Line styles of the first, second, … run of a comparison."""

ACTIVITY = {
    "responding": "#fdd0a2",
    "delayed": "#d9d9d9",
    "go": "#9ecae1",
    "move": "#9ecae1",
    "shelter": MEANING["shelter"],
    "close": MEANING["hatch_closed"],
    "open": "#fc9272",
    "repair": MEANING["repair"],
    "measure": MEANING["measure"],
    "repress": "#6baed6",
    "wait": "#f0f0f0",
    "undock": "#54278f",
    "evacuate": "#54278f",
}
"""Colours of crew activities by their first word (``go to dragon`` is ``go``)."""


def colours_for(ids: Iterable[str], slots: tuple[str, ...]) -> dict[str, str]:
    """Colours for *ids*, each from its CRC-32 slot (the next free one on a clash), in sorted order."""
    taken: dict[int, str] = {}
    out: dict[str, str] = {}
    for ident in sorted(dict.fromkeys(ids)):
        k = zlib.crc32(ident.encode("utf-8")) % len(slots)
        for step in range(len(slots)):
            slot = (k + step) % len(slots)
            if slot not in taken:
                break
        else:  # more ids than slots: share, deterministically
            slot = k
        taken[slot] = ident
        out[ident] = slots[slot]
    return out


def activity_colour(activity: str) -> str:
    """The colour of a crew activity (by its first word; unknown ones share a neutral tone)."""
    word = activity.split(" ", 1)[0] if activity else ""
    return ACTIVITY.get(word, MEANING["other"])
