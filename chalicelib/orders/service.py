"""The order workflow's use cases, one function per route or message handler.

Callers (app.py) pass plain values: who is calling, ids, the parsed body. Errors
are runtime WorkflowError subclasses that carry their HTTP status.
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib import runtime
from chalicelib.runtime import (
    BadRequest,
    EventNotAllowed,
    Forbidden,
    InstanceExists,
    PayloadTooLarge,
    auth,
    client_event,
    client_incoming,
)
from chalicelib.stations import STATIONS, Station

from . import menu as menu_
from .fanout import FanOut, order_workflow_v3
from .models import FRUIT_TOPPINGS, CompleteWork, OrdersPage
from .timeline import customer_timeline
from .workflow import MAX_ITEMS, Timing

ORDERS = order_workflow_v3(Timing.from_environment(), FanOut.from_environment())
_IDS = uuid.UUID("6f1c3e52-7d0a-4b8e-9a55-2f7c1d9e8b40")


def _client_event(event_type: str, body: dict[str, Any]) -> dict[str, Any]:
    return client_event(ORDERS, event_type, body)


def place_order(principal: auth.Principal, body: dict[str, Any], key: str | None) -> dict:
    """A new order holding its first pizza (the same order again for a repeated key)."""
    event = _client_event("ADD_PIZZA", body)
    order_id = uuid.uuid5(_IDS, f"{principal.user}/{key}").hex if key else uuid.uuid4().hex
    context = {"orderId": order_id, "customerId": principal.user}
    incoming = client_incoming(principal, event, key, principal.user)
    try:
        return runtime.start(ORDERS, order_id, principal.user, context, incoming).view()
    except InstanceExists:  # the key made this order, and its record expired since
        raise InstanceExists(
            f"this Idempotency-Key made order {order_id!r} more than 24 hours ago (keys are "
            "remembered for 24 hours); nothing was changed: use a new key for a new order",
            orderId=order_id,
        ) from None


def send_event(
    principal: auth.Principal, order_id: str, event_type: str, body: dict[str, Any], key: str | None
) -> dict:
    """Apply a customer's event to their order and return the new view."""
    event = _client_event(event_type, body)
    try:
        outcome = runtime.send(
            ORDERS, order_id, client_incoming(principal, event, key, principal.user)
        )
    except EventNotAllowed:
        if event_type == "ADD_PIZZA":
            items = runtime.read(ORDERS, order_id, principal.user).snapshot.context["items"]
            if len(items) >= MAX_ITEMS:
                raise PayloadTooLarge(f"an order holds at most {MAX_ITEMS} pizzas") from None
        raise
    return outcome.view()


def send_any_event(
    principal: auth.Principal, order_id: str, body: dict[str, Any], key: str | None
) -> dict:
    """POST /orders/{id}/events: ``{"type": ..., ...payload}`` for any client event."""
    event_type = body.get("type")
    if not isinstance(event_type, str):
        raise BadRequest("the body needs a string 'type'")
    payload = {k: v for k, v in body.items() if k != "type"}
    return send_event(principal, order_id, event_type, payload, key)


def _reader(principal: auth.Principal) -> str | None:
    """Staff may read every order; customers only their own."""
    return None if principal.is_staff else principal.user


def get_order(principal: auth.Principal, order_id: str) -> dict:
    return runtime.read(ORDERS, order_id, _reader(principal)).view()


def my_orders(principal: auth.Principal, query: dict[str, str]) -> dict:
    """GET /orders: the caller's own orders, newest first, a page at a time."""
    page = runtime.validate_model(OrdersPage, query, "page of orders")
    outcomes, following = runtime.owned(ORDERS, principal.user, page.limit, page.next)
    return {"orders": [outcome.view() for outcome in outcomes], "next": following}


def menu() -> dict:
    """GET /menu: what a pizza costs, by size and topping."""
    return menu_.menu(FRUIT_TOPPINGS)


def order_history(principal: auth.Principal, order_id: str) -> dict:
    """Every committed transition (``transitions``, raw, for staff and the inspector) and
    the customer's ``timeline`` of the same steps in their words."""
    records = runtime.history(ORDERS, order_id, _reader(principal))
    return {"orderId": order_id, "transitions": records, "timeline": customer_timeline(records)}


def order_diagram(principal: auth.Principal, order_id: str) -> dict:
    outcome = runtime.read(ORDERS, order_id, _reader(principal))
    return {
        "orderId": order_id,
        "state": outcome.snapshot.value,
        **outcome.diagram(),
    }


def _station(principal: auth.Principal, name: str) -> Station:
    if not principal.is_staff:
        raise Forbidden(f"the {name} routes need the 'staff' role")
    return STATIONS[name]


def station_orders(principal: auth.Principal, name: str) -> dict:
    return {"station": name, "orders": _station(principal, name).orders()}


def station_finish(
    principal: auth.Principal, name: str, order_id: str | None, body: dict[str, Any]
) -> dict:
    station = _station(principal, name)
    request = runtime.validate_model(CompleteWork, body)
    return station.finish(order_id, by=request.by or principal.user)


def on_station_command(name: str, body: str) -> None:
    """A command for a station from the bus (MAKE_PIZZA, DELIVER_PIZZA)."""
    STATIONS[name].accept(body)
