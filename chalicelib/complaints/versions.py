"""The complaint workflow's versions: version 1 still declared, version 2 the latest.

Version 2 does not end a complaint ``refundFailed`` while Payments may still hold one of
its refund attempts: after the last attempt fails it is ``givingUp`` until Payments'
ledger says no refund was paid (see ``workflow``). Every state of version 1 is a state of
version 2 with the same meaning, so the migration keeps the snapshot as it is; a
version 1 complaint that failed its last attempt before moving on goes ``givingUp``
from then on like any other.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from chalicelib.runtime import Version, Workflow
from chalicelib.statechart import Machine

from .workflow import (
    BUS_EVENTS,
    CLIENT_EVENTS,
    COMMANDS,
    COMPLAINT_ACTIONS,
    COMPLAINT_CHART,
    LOCK,
    VERSION,
    Timing,
    complaint_machine,
    complaint_view,
    is_open,
)


def _chart_v1() -> dict[str, Any]:
    """Version 1's chart: the last failed attempt ended the complaint ``refundFailed``."""
    chart = copy.deepcopy(COMPLAINT_CHART)
    del chart["states"]["givingUp"]
    failed = chart["states"]["refunding"]["states"]["failed"]
    failed["always"]["target"] = "#complaint.refundFailed"
    return chart


def complaint_machine_v1(timing: Timing | None = None) -> Machine:
    """Version 1's machine (instances that started on it run on it until they move on)."""
    timing = timing or Timing()
    return Machine(
        _chart_v1(), actions=COMPLAINT_ACTIONS, guards=timing.guards(), delays=timing.delays()
    )


def migrate_v1_to_v2(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A version 1 snapshot as version 2 runs it: unchanged (its states all exist)."""
    return dict(snapshot)


def complaint_workflow(timing: Timing | None = None) -> Workflow:
    """The complaint workflow as the runtime runs it (version 1 declared, 2 the latest)."""
    return Workflow(
        "complaint", complaint_machine(timing), CLIENT_EVENTS, BUS_EVENTS, COMMANDS,
        complaint_view, version=VERSION, migration=migrate_v1_to_v2,
        previous=[Version(1, complaint_machine_v1(timing))], lock=LOCK, worklist=is_open,
    )  # fmt: skip
