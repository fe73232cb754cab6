"""Every step of this engine equals XState v5's on the same config and events.

Compared per step: state value, context, status, output, error, and the ordered
list of effects (named actions with params, schedules and their cancellation,
invokes and their cancellation). Each event is applied to a snapshot restored
from its JSON form, as the runtime does.
"""

from __future__ import annotations

import json

import pytest

from .cases import CASES
from .conformance import run_python


def _first_difference(ours: dict, theirs: dict, events: list) -> str:
    if "error" in ours or "error" in theirs:
        return f"ours: {ours.get('error')!r}, xstate: {theirs.get('error')!r}"
    for i, (a, b) in enumerate(zip(ours["steps"], theirs["steps"], strict=False)):
        if a != b:
            event = events[i - 1] if i else "(initial)"
            return f"step {i} after {event}:\n ours:   {json.dumps(a)}\n xstate: {json.dumps(b)}"
    return f"{len(ours['steps'])} steps against {len(theirs['steps'])}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hand_written_case_matches_xstate(case, xstate_cases):
    theirs = xstate_cases[case["name"]]
    assert "error" not in theirs, theirs
    ours = run_python(case)
    assert ours == theirs, _first_difference(ours, theirs, case["events"])


def test_hand_written_cases_cover_every_effect_kind(xstate_cases):
    kinds = {
        effect["kind"]
        for result in xstate_cases.values()
        for step in result["steps"]
        for effect in step["effects"]
    }
    statuses = {step["status"] for r in xstate_cases.values() for step in r["steps"]}
    assert kinds == {"action", "schedule", "cancel_schedule", "invoke", "cancel_invoke"}
    assert statuses == {"active", "done", "error"}


def test_random_machines_match_xstate(random_cases):
    mismatches = []
    for case, theirs in random_cases:
        ours = run_python(case)
        if ours != theirs:
            mismatches.append(f"{case['name']}: {_first_difference(ours, theirs, case['events'])}")
    assert not mismatches, (
        f"{len(mismatches)} of {len(random_cases)} differ; first: {mismatches[0]}"
    )


def _has_parallel(value) -> bool:
    if not isinstance(value, dict):
        return False
    return len(value) > 1 or any(_has_parallel(v) for v in value.values())


def test_random_machines_exercise_the_whole_contract(random_cases):
    seen: set[str] = set()
    for _case, theirs in random_cases:
        for step in theirs.get("steps", []):
            seen.add("status:" + step["status"])
            seen.update(effect["kind"] for effect in step["effects"])
            if _has_parallel(step["value"]):
                seen.add("parallel")
    assert seen >= {
        "status:active", "status:done", "status:error", "parallel", "action",
        "schedule", "cancel_schedule", "invoke", "cancel_invoke",
    }  # fmt: skip
