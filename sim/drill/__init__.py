"""Drills for trainers: injects on a timeline, by condition or by hand; scorecards; live play.

:mod:`sim.drill.injects` runs a drill (a :class:`~sim.drill.injects.DrillRun`),
:mod:`sim.drill.scorecard` scores it, :mod:`sim.drill.commands` parses the commands of live play,
:mod:`sim.drill.session` applies and records them, :mod:`sim.drill.live` is the console.
"""
