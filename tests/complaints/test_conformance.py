"""The complaint chart's shape (parallel regions, deep history, invoke, retries) run
through this engine and through XState v5, step by step.

The chart's guards and delays become the conformance vocabulary's (a guard is the
event's ``flag``; delays are D1/D2); its actions become plain named effects. So the
structure and XState's semantics of it are compared, not the Python implementations.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.complaints import COMPLAINT_CHART
from tests.statechart.cases import case
from tests.statechart.conformance import (
    first_difference,
    run_python,
    run_xstate,
    xstate_available,
)

DELAYS = {"escalateAfter": "D1", "customerSilence": "D2", "refundRetry": "D1"}
ESCALATE = "xstate.after.D1.complaint.handling.review.active.withStaff"
SILENCE = "xstate.after.D2.complaint.handling.conversation.awaitingCustomer"
RETRY = "xstate.after.D1.complaint.refunding.failed"
YES = {"flag": True}


def _vocabulary(node: Any) -> Any:
    """The chart with every guard replaced by ``flag`` and every delay by D1/D2."""
    if isinstance(node, list):
        return [_vocabulary(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "guard":
            out[key] = "flag"
        elif key == "after":
            out[key] = {DELAYS[name]: _vocabulary(t) for name, t in value.items()}
        elif key == "context":
            continue
        else:
            out[key] = _vocabulary(value)
    return out


def _event(name: str, flag: bool = False) -> dict[str, Any]:
    return {"type": name, **(YES if flag else {})}


CHART = _vocabulary(copy.deepcopy(COMPLAINT_CHART))
CASES = [
    case(
        "complaint_hold_resume_escalate_and_refund_retry",
        CHART,
        _event("OPEN"),
        _event("CLAIM", True),
        _event("ASK_CUSTOMER", True),
        _event("ANSWER"),
        _event(ESCALATE),
        _event("ASK_CUSTOMER", True),
        _event("ANSWER"),
        _event("APPROVE"),
        _event("APPROVE", True),
        _event("xstate.done.actor.sendRefund"),
        _event("REFUND_FAILED", True),
        _event(RETRY),
        _event("xstate.error.actor.sendRefund"),
        _event(RETRY),
        _event("REFUND_SUCCEEDED"),
    ),
    case(
        "complaint_silence_closes_it",
        CHART,
        _event("OPEN"),
        _event("ASK_CUSTOMER", True),
        _event("ASK_CUSTOMER", True),
        _event(SILENCE),
        _event("ANSWER"),
    ),
    case(
        "complaint_withdrawn_then_nothing_more",
        CHART,
        _event("OPEN"),
        _event("WITHDRAW"),
        _event("OPEN"),
    ),
    case(
        "complaint_refund_attempts_exhausted",
        CHART,
        _event("OPEN"),
        _event("REJECT"),
        _event("APPROVE", True),
        _event("REFUND_FAILED", True),
        _event(RETRY, True),
    ),
]


@pytest.fixture(scope="module")
def xstate_results():
    missing = xstate_available()
    if missing:
        pytest.fail(f"the XState conformance check needs Node and xstate@5: {missing}")
    return {c["name"]: r for c, r in zip(CASES, run_xstate(CASES), strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_complaint_chart_matches_xstate(case, xstate_results):
    theirs = xstate_results[case["name"]]
    assert "error" not in theirs, theirs
    ours = run_python(case)
    assert ours == theirs, first_difference(ours, theirs, case["events"])
    assert len(ours["steps"]) >= 3
