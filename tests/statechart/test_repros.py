"""The parallel-root divergences from XState (issue 13), replayed step by step.

Both come from transitions that re-enter a parallel ancestor while a region is
entered through its history: XState's active set then lacks the region's parent
until a restore completes it, and its next step exits, enters and selects
transitions by that set and by the value's shape.
"""

from __future__ import annotations

import pytest

from .conformance import run_python, run_xstate
from .repros import load

REPROS = load()


def _recorded_view(step: dict) -> dict:
    """A step of ours in the repro's recorded shape (actions by name, in order)."""
    return {
        "value": step["value"],
        "context": step["context"],
        "status": step["status"],
        "effects": [e["type"] for e in step["effects"] if e["kind"] == "action"],
    }


@pytest.mark.parametrize("repro", REPROS, ids=[r["name"] for r in REPROS])
def test_repro_matches_the_recorded_xstate_steps(repro):
    ours = run_python({**repro, "restore": False})
    assert "error" not in ours, ours
    assert [_recorded_view(s) for s in ours["steps"]] == repro["expected"]


@pytest.mark.parametrize("restore", [True, False], ids=["restored", "in_memory"])
@pytest.mark.parametrize("repro", REPROS, ids=[r["name"] for r in REPROS])
def test_repro_matches_xstate_step_by_step(repro, restore, require_xstate):
    case = {"config": repro["config"], "events": repro["events"], "restore": restore}
    theirs = run_xstate([case])[0]
    assert "error" not in theirs, theirs
    assert run_python(case) == theirs
