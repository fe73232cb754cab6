"""The complaint workflow's use cases, one function per route.

A complaint's instance id is its order's id (so an order has at most one complaint: the
create is conditional) and its owner is the order's customer. Customers act on their
own complaints only; staff and managers on any. Who acts (``by``, ``role``) comes from
the caller's token, never from the body. Errors are WorkflowError subclasses carrying
their HTTP status.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.orders.menu import order_total_cents
from chalicelib.orders.service import ORDERS
from chalicelib.runtime import (
    BadRequest,
    EventNotAllowed,
    Forbidden,
    NotFound,
    WorkflowError,
    answered,
    auth,
    client_event,
    client_incoming,
    clock,
    history,
    read,
    send,
    start,
    state_key,
    validate_model,
    worklist,
)

from .models import Decision
from .versions import complaint_workflow
from .workflow import Timing

COMPLAINTS = complaint_workflow(Timing.from_environment())
OPEN_WINDOW = timedelta(hours=24)


class ComplaintRefused(WorkflowError):
    """The order cannot take a complaint (not delivered, too late, or it has one)."""

    status = 409
    code = "ComplaintRefused"


def _reader(principal: auth.Principal) -> str | None:
    """Staff may read every complaint; customers only their own."""
    return None if principal.is_staff else principal.user


def _staff(principal: auth.Principal) -> dict[str, str]:
    """Who acts, for a staff event; Forbidden for customers."""
    if not principal.is_staff:
        raise Forbidden("deciding complaints needs the 'staff' or 'manager' role")
    return {"by": principal.user, "role": "manager" if principal.is_manager else "staff"}


def open_complaint(
    principal: auth.Principal, order_id: str, body: dict[str, Any], key: str | None
) -> dict:
    """Open the complaint about the caller's delivered order (OPEN) and return its view.

    NotFound for an order that is not the caller's; ComplaintRefused (409) when the order
    is not delivered, was delivered more than 24 hours ago, or has a complaint already.
    """
    event = client_event(COMPLAINTS, "OPEN", body)
    incoming = client_incoming(principal, event, key, principal.user)
    first = answered(COMPLAINTS, order_id, incoming, creating=True)
    if first is not None:  # a retry is answered whatever the time is now
        return first.view()
    order = read(ORDERS, order_id, principal.user)
    if order.snapshot.value != "done":
        raise ComplaintRefused(
            "a complaint can be opened only about a delivered order; this one is "
            f"{state_key(order.snapshot.value)}"
        )
    delivered = clock.parse(order.meta["updatedAt"])
    if clock.parse(clock.now()) - delivered > OPEN_WINDOW:
        raise ComplaintRefused(
            f"complaints are taken for 24 hours after delivery; this order was delivered "
            f"at {order.meta['updatedAt']}"
        )
    context = {
        "orderId": order_id,
        "customerId": principal.user,
        "orderTotal": order_total_cents(order.snapshot.context["items"]),
    }
    try:
        return start(COMPLAINTS, order_id, principal.user, context, incoming).view()
    except EventNotAllowed:  # the instance exists: OPEN is accepted only once
        raise ComplaintRefused(f"a complaint exists for order {order_id!r}") from None


def get_complaint(principal: auth.Principal, order_id: str) -> dict:
    """The complaint's view; NotFound when there is none the caller may read."""
    return read(COMPLAINTS, order_id, _reader(principal)).view()


def complaint_history(principal: auth.Principal, order_id: str) -> dict:
    records = history(COMPLAINTS, order_id, _reader(principal))
    return {"orderId": order_id, "transitions": records}


def complaint_diagram(principal: auth.Principal, order_id: str) -> dict:
    outcome = read(COMPLAINTS, order_id, _reader(principal))
    return {
        "orderId": order_id,
        "state": outcome.snapshot.value,
        **outcome.diagram(),
    }


def customer_event(
    principal: auth.Principal, order_id: str, event_type: str, body: dict[str, Any], key: str | None
) -> dict:
    """ANSWER or WITHDRAW from the complaint's customer; the new view."""
    event = client_event(COMPLAINTS, event_type, body)
    incoming = client_incoming(principal, event, key, principal.user)
    return send(COMPLAINTS, order_id, incoming).view()


def staff_event(
    principal: auth.Principal, order_id: str, event_type: str, body: dict[str, Any], key: str | None
) -> dict:
    """CLAIM or ASK_CUSTOMER from staff; the new view."""
    event = client_event(COMPLAINTS, event_type, body, **_staff(principal))
    return _send_as_staff(principal, order_id, event, key)


def decide(principal: auth.Principal, order_id: str, body: dict[str, Any], key: str | None) -> dict:
    """Approve (all of the order, or ``amount`` cents of it) or reject with a reason.

    BadRequest for an amount over the order's total; Forbidden when the complaint was
    escalated and the caller is not a manager; EventNotAllowed when it is not under review.
    """
    who = _staff(principal)
    decision = validate_model(Decision, body, "decision")
    if decision.decision == "approve":
        if decision.amount is not None:
            total = read(COMPLAINTS, order_id, None).snapshot.context["orderTotal"]
            if decision.amount > total:
                raise BadRequest(
                    f"a refund of {decision.amount} cents is more than the order's total "
                    f"of {total} cents"
                )
        payload = {"amount": decision.amount, "reason": decision.reason}
        event_type = "APPROVE"
    else:
        payload, event_type = {"reason": decision.reason}, "REJECT"
    payload = {k: v for k, v in payload.items() if v is not None}
    event = client_event(COMPLAINTS, event_type, payload, **who)
    return _send_as_staff(principal, order_id, event, key)


def _send_as_staff(
    principal: auth.Principal, order_id: str, event: dict[str, Any], key: str | None
) -> dict:
    try:
        incoming = client_incoming(principal, event, key, None)
        return send(COMPLAINTS, order_id, incoming).view()
    except EventNotAllowed:
        current = read(COMPLAINTS, order_id, None).snapshot
        deciding = event["type"] in ("APPROVE", "REJECT")
        escalated = current.matches("handling.review.active.escalated")
        if deciding and escalated and not principal.is_manager:
            raise Forbidden(
                "this complaint was escalated: only a manager may decide it now"
            ) from None
        raise


def open_complaints(principal: auth.Principal) -> dict:
    """Complaints under review or waiting on their customer, oldest first (staff)."""
    _staff(principal)
    return {"complaints": [o.view() for o in worklist(COMPLAINTS)]}


def order_with_complaint(principal: auth.Principal, order_id: str) -> dict:
    """The order's view plus ``complaint``: its state, status and version, or None.
    Only a delivered order can have one: no other order costs a read more."""
    order = read(ORDERS, order_id, _reader(principal)).view()
    if order["state"] != "done":
        return {**order, "complaint": None}
    try:
        complaint = read(COMPLAINTS, order_id, None)
    except NotFound:
        return {**order, "complaint": None}
    view = complaint.view()
    summary = {k: view[k] for k in ("state", "status", "version")}
    return {**order, "complaint": summary}
