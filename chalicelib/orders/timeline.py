"""An order's history as its customer reads it: what they did, and the status each step
reached (the words the tracker shows), never XState's internal event names. The raw
records stay in ``transitions`` for staff and the inspector."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .fanout import ORDER_CHART_V3
from .workflow import ORDER_CHART

CUSTOMER_ACTIONS = {
    "ADD_PIZZA": "You added {pizza}.",
    "REMOVE_PIZZA": "You removed a pizza.",
    "CONFIRM_PIZZA": "You confirmed the order.",
    "CANCEL_ORDER": "You cancelled the order.",
    "PIZZA_READY": "The kitchen baked your order.",
    "PIZZA_DELIVERED": "Delivered to your door.",
    "PIZZA_REJECTED": "The kitchen could not make your order: {reason}.",
}


def _messages(node: Mapping[str, Any], path: str = "") -> dict[str, str]:
    """Every state's status message by its dotted path."""
    found: dict[str, str] = {}
    for name, child in (node.get("states") or {}).items():
        here = f"{path}.{name}" if path else name
        message = (child.get("meta") or {}).get("message")
        if message:
            found[here] = message
        found.update(_messages(child, here))
    return found


MESSAGES = {**_messages(ORDER_CHART_V3), **_messages(ORDER_CHART)}


def _action(record: Mapping[str, Any]) -> str | None:
    template = CUSTOMER_ACTIONS.get(record.get("eventType", ""))
    if template is None:
        return None
    event = record.get("event") or {}
    pizza = (event.get("pizza") or {}).get("name")
    reason = (event.get("data") or event).get("reason") or "no reason given"
    return template.format(pizza=f"“{pizza}”" if pizza else "a pizza", reason=reason)


def customer_timeline(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One line per step the customer would notice, oldest first: ``version``, ``time``,
    ``said`` (their action or the new status) and ``status`` (the status reached). A step
    that neither was the customer's nor changed the status is left out."""
    lines: list[dict[str, Any]] = []
    status = None
    for record in records:
        reached = MESSAGES.get(str(record.get("to")), status)
        said = _action(record)
        if said is None and reached == status:
            continue
        lines.append(
            {
                "version": record.get("version"),
                "time": record.get("time"),
                "said": said or reached,
                "status": reached,
            }
        )
        status = reached
    return lines
