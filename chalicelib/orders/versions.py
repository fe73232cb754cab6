"""Version 2 of the order chart, declared beside version 1 (which new orders still get),
and the migration from 1 to 2.

Version 2 is what a shop might ship next:

- a ``qualityCheck`` state between baking and delivery: staff approve the pizza
  (QUALITY_APPROVED from the bus, with who approved it), or, after ``qualityTimeout``
  (10 minutes), the order is compensated;
- ``deliverPizza.sendingOrderToDelivery`` is renamed ``deliverPizza.dispatching``;
- a new context field, ``qualityCheckedBy``.

The migration renames the state in the stored value and adds the field. Orders waiting
in the kitchen when they move on meet the quality check once their pizza is ready.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from chalicelib.runtime import Version, Workflow
from chalicelib.statechart import Machine, assign

from .models import StationReport
from .workflow import (
    BUS_EVENTS,
    CLIENT_EVENTS,
    COMMANDS,
    LOCK,
    ORDER_ACTIONS,
    ORDER_CHART,
    ORDER_GUARDS,
    Timing,
    _compensate,
    _log,
    _state,
    order_machine,
    order_view,
)

RENAMED = {"sendingOrderToDelivery": "dispatching"}
QUALITY_TIMEOUT_SECONDS = 10 * 60


def _rename(node: Any) -> Any:
    """The chart (or part of it) with the renamed state's name and targets replaced."""
    if isinstance(node, dict):
        return {RENAMED.get(k, k): _rename(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v) for v in node]
    return RENAMED.get(node, node) if isinstance(node, str) else node


def _chart_v2() -> dict[str, Any]:
    chart = copy.deepcopy(ORDER_CHART)
    chart["context"]["qualityCheckedBy"] = None
    chart["states"]["bakePizza"]["on"]["PIZZA_READY"]["target"] = "qualityCheck"
    chart["states"]["deliverPizza"] = _rename(chart["states"]["deliverPizza"])
    states = list(chart["states"].items())
    at = [name for name, _ in states].index("deliverPizza")
    quality = _state(
        "Checking your pizza before it leaves the kitchen...",
        on={
            "QUALITY_APPROVED": {
                "target": "deliverPizza",
                "actions": ["setQualityCheck", _log("approved")],
            }
        },
        after={"qualityTimeout": _compensate("the quality check took too long")},
    )
    chart["states"] = dict([*states[:at], ("qualityCheck", quality), *states[at:]])
    return chart


ORDER_CHART_V2 = _chart_v2()
ACTIONS_V2 = {
    **ORDER_ACTIONS,
    "setQualityCheck": assign(
        lambda ctx, ev: {"qualityCheckedBy": (ev.get("data") or {}).get("by") or "staff"}
    ),
}


def order_machine_v2(timing: Timing | None = None) -> Machine:
    """Version 2's machine."""
    delays = {**(timing or Timing()).delays(), "qualityTimeout": 1000 * QUALITY_TIMEOUT_SECONDS}
    return Machine(ORDER_CHART_V2, actions=ACTIONS_V2, guards=ORDER_GUARDS, delays=delays)


def migrate_v1_to_v2(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A version 1 snapshot as version 2 runs it: the renamed state, the new field."""
    migrated = dict(snapshot)
    migrated["value"] = _rename(snapshot["value"])
    migrated["context"] = {"qualityCheckedBy": None, **snapshot["context"]}
    return migrated


def order_workflow_v2(timing: Timing | None = None, migrate: bool = True) -> Workflow:
    """The order workflow with version 2 latest and version 1 still declared; with
    ``migrate`` version 1 orders move to 2 on their next event, else they stay pinned."""
    return Workflow(
        "order", order_machine_v2(timing), CLIENT_EVENTS,
        {**BUS_EVENTS, "QUALITY_APPROVED": StationReport}, COMMANDS, order_view,
        version=2, migration=migrate_v1_to_v2 if migrate else None,
        previous=[Version(1, order_machine(timing))], lock=LOCK,
    )  # fmt: skip
