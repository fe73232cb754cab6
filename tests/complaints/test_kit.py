"""The complaint workflow on the workflow kit: the real runtime on moto with a simulated
clock, so its 2-hour escalation, 7-day close and refund backoff run in milliseconds. The
order and complaint use cases are called as the routes call them; the kit plays the bus
(Kitchen, Delivery, Payments) and the clock."""

from __future__ import annotations

import pytest

from chalicelib.complaints import service
from chalicelib.complaints.service import COMPLAINTS, ComplaintRefused
from chalicelib.orders import service as orders
from chalicelib.orders.service import ORDERS
from chalicelib.runtime import Forbidden, Principal
from tests.shop import PIZZA

ALICE = Principal("alice", [])
SAM = Principal("sam", ["staff"])
MAYA = Principal("maya", ["manager"])


@pytest.fixture
def kit(workflow_kit):
    return workflow_kit(ORDERS, COMPLAINTS)


def _delivered(kit) -> str:
    """An order of Alice's, baked and delivered by the kit playing the stations."""
    order_id = orders.place_order(ALICE, {"pizza": PIZZA}, None)["orderId"]
    orders.send_event(ALICE, order_id, "CONFIRM_PIZZA", {}, None)
    kit.reply(kit.command("MAKE_PIZZA", order_id), "PIZZA_READY", {"station": "kitchen"})
    kit.reply(kit.command("DELIVER_PIZZA", order_id), "PIZZA_DELIVERED", {"station": "delivery"})
    assert kit.state(order_id, "order") == "done"
    return order_id


def _opened(kit) -> str:
    order_id = _delivered(kit)
    service.open_complaint(ALICE, order_id, {"reason": "cold pizza"}, None)
    return order_id


def _review(kit, order_id):
    return kit.state(order_id, "complaint")["handling"]["review"]


def test_no_decision_for_two_hours_escalates_and_only_a_manager_decides(kit):
    order_id = _opened(kit)
    kit.advance(hours=1, minutes=59)
    assert _review(kit, order_id) == {"active": {"withStaff": "new"}}
    kit.advance(minutes=1)
    assert _review(kit, order_id) == {"active": "escalated"}
    with pytest.raises(Forbidden):
        service.decide(SAM, order_id, {"decision": "approve"}, None)
    decided = service.decide(MAYA, order_id, {"decision": "approve", "amount": 500}, None)
    assert decided["state"] == {"refunding": "sending"}
    assert decided["decision"]["role"] == "manager"


def test_a_complaint_waiting_on_its_customer_closes_after_seven_days(kit):
    order_id = _opened(kit)
    service.staff_event(SAM, order_id, "ASK_CUSTOMER", {"question": "Which pizza?"}, None)
    kit.advance(days=6, hours=23, minutes=59)
    assert kit.state(order_id, "complaint")["handling"]["conversation"] == "awaitingCustomer"
    kit.advance(minutes=1)  # the timer chained through 15-minute hops all week
    view = service.get_complaint(ALICE, order_id)
    assert view["state"] == "closed" and view["done"] is True
    assert service.open_complaints(SAM)["complaints"] == []


def test_hold_resumes_where_it_was_and_the_deadline_counts_from_the_answer(kit):
    order_id = _opened(kit)
    service.staff_event(SAM, order_id, "CLAIM", {}, None)
    kit.advance(hours=1)
    service.staff_event(SAM, order_id, "ASK_CUSTOMER", {"question": "A photo?"}, None)
    kit.advance(days=3)  # on hold: no escalation however long the customer takes
    assert _review(kit, order_id) == "onHold"
    service.customer_event(ALICE, order_id, "ANSWER", {"message": "here"}, None)
    assert _review(kit, order_id) == {"active": {"withStaff": "investigating"}}
    kit.advance(hours=1, minutes=59)
    assert _review(kit, order_id) == {"active": {"withStaff": "investigating"}}
    kit.advance(minutes=1)
    assert _review(kit, order_id) == {"active": "escalated"}


def test_a_failed_refund_is_retried_with_backoff_and_then_paid(kit):
    order_id = _opened(kit)
    service.decide(SAM, order_id, {"decision": "approve"}, None)
    first = kit.command("REFUND", order_id)
    assert first["data"]["refundId"] == f"{order_id}.1"
    declined = {"station": "payments", "refundId": f"{order_id}.1", "reason": "card expired"}
    kit.duplicate(first, "REFUND_FAILED", declined)  # a redelivery changes nothing more
    assert kit.state(order_id, "complaint") == {"refunding": "failed"}
    assert service.get_complaint(ALICE, order_id)["refundError"] == "card expired"
    kit.advance(seconds=59)
    assert len(kit.commands("REFUND", order_id)) == 1
    kit.advance(seconds=1)  # the first retry waits the base delay (60 s)
    second = kit.command("REFUND", order_id)
    assert second["data"]["refundId"] == f"{order_id}.2" and second["data"]["attempt"] == 2
    kit.reply(second, "REFUND_FAILED", {**declined, "refundId": f"{order_id}.2"})
    kit.advance(seconds=119)
    assert len(kit.commands("REFUND", order_id)) == 2
    kit.advance(seconds=1)  # the second waits twice as long
    third = kit.command("REFUND", order_id)
    kit.reply(third, "REFUND_SUCCEEDED", {"station": "payments", "refundId": f"{order_id}.3"})
    view = service.get_complaint(ALICE, order_id)
    assert view["state"] == "refunded" and view["refund"]["refundId"] == f"{order_id}.3"
    assert service.order_with_complaint(ALICE, order_id)["complaint"]["state"] == "refunded"


def test_a_complaint_is_taken_for_24_hours_after_delivery(kit):
    order_id = _delivered(kit)
    kit.advance(hours=24, seconds=1)
    with pytest.raises(ComplaintRefused, match="24 hours"):
        service.open_complaint(ALICE, order_id, {"reason": "late"}, None)
    assert service.order_with_complaint(ALICE, order_id)["complaint"] is None


def test_a_websocket_follows_the_complaint_to_its_refund(kit):
    order_id = _opened(kit)
    connection = kit.follow(order_id, workflow="complaint")
    service.decide(SAM, order_id, {"decision": "approve"}, None)
    refund = kit.command("REFUND", order_id)
    kit.reply(refund, "REFUND_SUCCEEDED", {"station": "payments", "refundId": f"{order_id}.1"})
    states = [view["state"] for view in kit.pushes(connection)]
    assert states[0] == {"refunding": "sending"} and states[-1] == "refunded"
