"""Fuzzing through the command line, quick profile: documents built from the schemas and mutations
of the shipped files go through ``validate`` and a short ``run --out``; whatever the input, the
answer is exit 0, 1 or 2 with a message, never exit 3, a traceback or a hang.

Long campaigns: ``python bench/fuzz.py --minutes 10``.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fuzzing import Tally, Workspace, run_case
from .harness import clean_env, dump
from .strategies import (
    mutated_documents,
    procedure_documents,
    scenario_documents,
    station_documents,
)

QUICK = settings(max_examples=12, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                        HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    clean_env()
    return Workspace(tmp_path_factory.mktemp("fuzz"))


def _explain(tally: Tally) -> str:
    return json.dumps(tally.crashes[:3], indent=1)[:6000]


@pytest.mark.parametrize("kind", ["station", "scenario", "procedure"])
def test_generated_documents_never_crash(ws, kind):
    strategy = {"station": station_documents, "scenario": scenario_documents,
                "procedure": procedure_documents}[kind]()
    tally = Tally()

    @QUICK
    @given(strategy)
    def case(doc):
        assert run_case(ws, kind, dump(doc).encode("utf-8"), tally, f"generated {kind}"), _explain(tally)

    case()
    assert tally.cases >= 1


@pytest.mark.parametrize("kind", ["station", "scenario", "procedure"])
def test_mutated_shipped_files_never_crash(ws, kind):
    tally = Tally()
    bases = ws.bases[kind]

    @QUICK
    @given(st.data())
    def case(data):
        name, doc = data.draw(st.sampled_from(bases))
        text = data.draw(mutated_documents(doc))
        assert run_case(ws, kind, text, tally, f"mutated {kind}", base=name), _explain(tally)

    case()
    assert tally.cases >= 1
