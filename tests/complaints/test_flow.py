"""Complaints through the real Chalice handlers on moto: HTTP, SQS, SNS, timers."""

from __future__ import annotations

import pytest

from chalicelib.orders.menu import order_total_cents
from tests.complaints.conftest import deliver_order
from tests.shop import PIZZA

TOTAL = order_total_cents([PIZZA])


def _open(shop, order_id, **body):
    response = shop.call(
        "POST", f"/orders/{order_id}/complaint", body={"reason": "cold pizza", **body}
    )
    assert response.status_code == 201, response.body
    return response.json_body


def test_approved_complaint_is_refunded_through_payments(shop, delivered):
    opened = _open(shop, delivered, details="the mango was frozen")
    assert opened["state"] == {
        "handling": {"review": {"active": {"withStaff": "new"}}, "conversation": "idle"}
    }
    assert opened["orderTotal"] == TOTAL
    assert opened["status"] == "Staff will look at your complaint soon."

    decided = shop.call(
        "POST", f"/complaints/{delivered}/decision", "staff", {"decision": "approve"}
    )
    assert decided.status_code == 200, decided.body
    assert decided.json_body["decision"]["amount"] == TOTAL
    assert decided.json_body["decision"]["by"] == "sam"
    [refund] = [m for m in shop.waiting("PaymentsQueue")]
    assert refund["type"] == "REFUND" and refund["subject"] == delivered
    assert refund["data"] == {
        "orderId": delivered, "complaintId": delivered, "refundId": f"{delivered}.1",
        "amount": TOTAL, "attempt": 1,
    }  # fmt: skip

    shop.deliver("PaymentsQueue")
    held = shop.call("GET", "/payments/refunds", "staff").json_body["refunds"]
    assert [r["refundId"] for r in held] == [f"{delivered}.1"]
    settled = shop.call("POST", f"/payments/refunds/{delivered}.1/settled", "staff")
    assert settled.status_code == 200, settled.body
    shop.deliver("ComplaintEventsQueue")

    done = shop.call("GET", f"/orders/{delivered}/complaint").json_body
    assert done["state"] == "refunded" and done["done"] is True
    assert done["refund"]["refundId"] == f"{delivered}.1"
    assert done["status"] == f"Refunded {TOTAL // 100}.{TOTAL % 100:02d}."
    assert shop.call("GET", "/payments/refunds", "staff").json_body["refunds"] == []
    order = shop.view(delivered)
    assert order["complaint"] == {
        "state": "refunded", "status": done["status"], "version": done["version"],
    }  # fmt: skip


def test_order_without_complaint_shows_none(shop, delivered):
    assert shop.view(delivered)["complaint"] is None


def test_partial_refund_is_bounded_by_the_order_total(shop, delivered):
    _open(shop, delivered)
    too_much = shop.call(
        "POST", f"/complaints/{delivered}/decision", "staff",
        {"decision": "approve", "amount": TOTAL + 1},
    )  # fmt: skip
    assert too_much.status_code == 400
    assert str(TOTAL) in too_much.json_body["message"]
    part = shop.call(
        "POST", f"/complaints/{delivered}/decision", "staff",
        {"decision": "approve", "amount": 250},
    )  # fmt: skip
    assert part.status_code == 200
    assert shop.waiting("PaymentsQueue")[0]["data"]["amount"] == 250


def test_failed_refunds_are_retried_then_end_refund_failed(shop, delivered, monkeypatch):
    monkeypatch.setenv("PAYMENTS_FAIL_ATTEMPTS", "5")
    _open(shop, delivered)
    shop.call("POST", f"/complaints/{delivered}/decision", "staff", {"decision": "approve"})
    for attempt in (1, 2, 3):
        shop.settle()
        view = shop.call("GET", f"/orders/{delivered}/complaint").json_body
        assert view["refundAttempts"] == attempt
        assert f"attempt {attempt}" in view["refundError"]
        if attempt < 3:
            assert view["state"] == {"refunding": "failed"}
            shop.fire_timers()
    assert view["state"] == "refundFailed" and view["done"] is True


def test_a_refund_that_fails_once_is_retried_and_paid(shop, delivered, monkeypatch):
    monkeypatch.setenv("PAYMENTS_FAIL_ATTEMPTS", "1")
    _open(shop, delivered)
    shop.call("POST", f"/complaints/{delivered}/decision", "staff", {"decision": "approve"})
    shop.settle()
    shop.fire_timers()
    shop.deliver("PaymentsQueue")
    assert shop.call("POST", "/payments/refunds/next/settled", "staff").status_code == 200
    shop.settle()
    view = shop.call("GET", f"/orders/{delivered}/complaint").json_body
    assert view["state"] == "refunded"
    assert view["refund"]["refundId"] == f"{delivered}.2"
    events = [
        h["eventType"]
        for h in shop.call("GET", f"/orders/{delivered}/complaint/history").json_body["transitions"]
    ]
    assert events.count("REFUND_FAILED") == 1 and events[-1] == "REFUND_SUCCEEDED"


def test_question_holds_review_and_answer_resumes_it_where_it_was(shop, delivered):
    _open(shop, delivered)
    assert shop.call("POST", f"/complaints/{delivered}/claim", "staff").status_code == 200
    asked = shop.call(
        "POST", f"/complaints/{delivered}/question", "staff", {"question": "Which pizza?"}
    )
    assert asked.status_code == 200, asked.body
    assert asked.json_body["state"] == {
        "handling": {"review": "onHold", "conversation": "awaitingCustomer"}
    }
    answered = shop.call(
        "POST", f"/orders/{delivered}/complaint/answer", body={"message": "the large one"}
    )
    assert answered.status_code == 200, answered.body
    assert answered.json_body["state"] == {
        "handling": {"review": {"active": {"withStaff": "investigating"}}, "conversation": "idle"}
    }
    assert answered.json_body["answer"]["text"] == "the large one"


def test_no_decision_for_two_hours_escalates_to_a_manager(shop, delivered):
    _open(shop, delivered)
    shop.fire_timers()  # the 2-hour review deadline (and the order's stale ones)
    view = shop.call("GET", f"/orders/{delivered}/complaint", "staff").json_body
    assert view["state"]["handling"]["review"] == {"active": "escalated"}
    refused = shop.call(
        "POST", f"/complaints/{delivered}/decision", "staff", {"decision": "approve"}
    )
    assert refused.status_code == 403
    assert "manager" in refused.json_body["message"]
    rejected = shop.call(
        "POST", f"/complaints/{delivered}/decision", "manager",
        {"decision": "reject", "reason": "the photo shows a fine pizza"},
    )  # fmt: skip
    assert rejected.status_code == 200, rejected.body
    assert rejected.json_body["state"] == "rejected"
    assert rejected.json_body["decision"]["role"] == "manager"
    assert rejected.json_body["status"].endswith("the photo shows a fine pizza")


def test_silence_for_seven_days_closes_the_complaint(shop, delivered):
    _open(shop, delivered)
    shop.call("POST", f"/complaints/{delivered}/question", "staff", {"question": "When?"})
    shop.fire_timers()  # the 7-day silence timer; the review deadline's was cancelled
    view = shop.call("GET", f"/orders/{delivered}/complaint").json_body
    assert view["state"] == "closed"
    assert view["closedBecause"] == "no answer from the customer"


def test_customer_withdraws_while_it_is_handled(shop, delivered):
    _open(shop, delivered)
    withdrawn = shop.call("POST", f"/orders/{delivered}/complaint/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.json_body["state"] == "withdrawn"
    again = shop.call("POST", f"/orders/{delivered}/complaint/withdraw")
    assert again.status_code == 409


def test_websocket_follows_a_complaint(shop, delivered):
    _open(shop, delivered)
    query = {"workflow": "complaint", "id": delivered, "token": shop.customer}
    assert shop.ws("connect", "c1", query)["statusCode"] == 200
    shop.call("POST", f"/complaints/{delivered}/claim", "staff")
    assert shop.sender.sent["c1"][-1]["state"]["handling"]["review"] == {
        "active": {"withStaff": "investigating"}
    }
    other = {"workflow": "complaint", "id": delivered, "token": shop.other}
    assert shop.ws("connect", "c2", other)["statusCode"] == 404


@pytest.mark.parametrize("route", ["complaint", "complaint/history", "complaint/diagram"])
def test_reads_are_the_customers_and_staffs_only(shop, delivered, route):
    _open(shop, delivered)
    assert shop.call("GET", f"/orders/{delivered}/{route}").status_code == 200
    assert shop.call("GET", f"/orders/{delivered}/{route}", "staff").status_code == 200
    assert shop.call("GET", f"/orders/{delivered}/{route}", "other").status_code == 404


def test_staff_list_open_complaints_oldest_first_until_decided(shop, delivered):
    second = deliver_order(shop)
    _open(shop, delivered)
    _open(shop, second)
    listed = shop.call("GET", "/complaints", "staff").json_body["complaints"]
    assert [c["orderId"] for c in listed] == [delivered, second]
    shop.call("POST", f"/complaints/{second}/question", "staff", {"question": "?"})
    listed = shop.call("GET", "/complaints", "manager").json_body["complaints"]
    assert [c["orderId"] for c in listed] == [delivered, second]  # on hold: still open
    shop.call("POST", f"/complaints/{delivered}/decision", "staff", {"decision": "approve"})
    listed = shop.call("GET", "/complaints", "staff").json_body["complaints"]
    assert [c["orderId"] for c in listed] == [second]


def test_an_order_not_delivered_is_shown_without_reading_complaints(shop, monkeypatch):
    from chalicelib.complaints import service

    order_id = shop.new_order()["orderId"]
    reads = []
    real = service.read
    monkeypatch.setattr(service, "read", lambda wf, *a: reads.append(wf.name) or real(wf, *a))
    assert shop.view(order_id)["complaint"] is None
    assert reads == ["order"]
