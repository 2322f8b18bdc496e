"""The leak hunt: estimate a leak from a pressure record, and plan the hatch-closure search.

Modules (data flows one way): :mod:`record` (a record in memory) -> :mod:`forward` (the solver over the
record's hatch history) and :mod:`likelihood` (the gauges' interval likelihood) -> :mod:`estimate`;
:mod:`plan` (strategies, windows from the solver) -> :mod:`procedure_writer` -> :mod:`verify` (the
engine runs the written plan); :mod:`synthetic` makes records from simulated runs. See docs/leak-hunt.md.
"""
