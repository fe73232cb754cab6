"""Issue 19, High 1: a REFUND that SNS applied but answered with an error counts as failed,
yet Payments holds it. The complaint must end in the state that agrees with what Payments
paid, whatever the order of events."""

from __future__ import annotations

import pytest

from chalicelib.registry import WORKFLOWS
from chalicelib.runtime import Unavailable, bus, sweeper
from tests.complaints.test_flow import TOTAL, _open


@pytest.fixture
def refunds_applied_but_failed(monkeypatch):
    """Every REFUND publish reaches SNS, then answers with an error (timeout after send)."""
    real = bus.publish

    def applied_then_error(event):
        message_id = real(event)
        if event["type"] == "REFUND":
            raise Unavailable("publishing REFUND failed: read timeout")
        return message_id

    monkeypatch.setattr(bus, "publish", applied_then_error)


def _give_up_every_attempt(shop, order_id: str) -> None:
    """Approve, then let each attempt's publish be retried until given up, three times."""
    shop.call("POST", f"/complaints/{order_id}/decision", "staff", {"decision": "approve"})
    for _ in range(3):
        for _ in range(3):  # the sweeper re-sends the REFUND until it is given up
            sweeper.sweep(WORKFLOWS, grace_seconds=0)
        shop.fire_timers()
    shop.deliver("PaymentsQueue")


def _complaint(shop, order_id):
    return shop.call("GET", f"/orders/{order_id}/complaint").json_body


def test_given_up_attempts_are_cancelled_before_the_complaint_ends_refund_failed(
    shop, delivered, refunds_applied_but_failed
):
    _open(shop, delivered)
    _give_up_every_attempt(shop, delivered)
    held = shop.call("GET", "/payments/refunds", "staff").json_body["refunds"]
    assert held == []  # the cancel closed every attempt Payments held
    shop.settle()
    view = _complaint(shop, delivered)
    assert view["state"] == "refundFailed" and view["done"] is True
    assert view["refundAttempts"] == 3
    for attempt in (1, 2, 3):  # no attempt can be paid any more
        settled = shop.call("POST", f"/payments/refunds/{delivered}.{attempt}/settled", "staff")
        assert settled.status_code == 404
    assert _complaint(shop, delivered)["state"] == "refundFailed"


def test_an_attempt_paid_before_the_cancel_ends_the_complaint_refunded(
    shop, delivered, refunds_applied_but_failed, monkeypatch
):
    _open(shop, delivered)
    held_back = []
    real = bus.publish

    def hold_the_cancel(event):  # the cancel is late: staff settle attempt 2 first
        if event["type"] == "CANCEL_REFUNDS" and not released:
            held_back.append(event["id"])
            raise Unavailable("publishing CANCEL_REFUNDS failed: throttled")
        return real(event)

    released = False
    monkeypatch.setattr(bus, "publish", hold_the_cancel)
    _give_up_every_attempt(shop, delivered)
    assert _complaint(shop, delivered)["state"] == "givingUp"
    for _ in range(5):  # a persistent command is never given up
        sweeper.sweep(WORKFLOWS, grace_seconds=0)
    assert _complaint(shop, delivered)["state"] == "givingUp"
    settled = shop.call("POST", f"/payments/refunds/{delivered}.2/settled", "staff")
    assert settled.status_code == 200, settled.body
    shop.settle()
    released = True
    sweeper.sweep(WORKFLOWS, grace_seconds=0)  # the cancel goes out at last
    shop.settle()
    view = _complaint(shop, delivered)
    assert len(held_back) > 5 and view["state"] == "refunded" and view["done"] is True
    assert view["refund"] == {**view["refund"], "refundId": f"{delivered}.2", "amount": TOTAL}
    assert shop.call("GET", "/payments/refunds", "staff").json_body["refunds"] == []
    for attempt in (1, 3):  # paying attempt 2 closed the others
        again = shop.call("POST", f"/payments/refunds/{delivered}.{attempt}/settled", "staff")
        assert again.status_code == 404


def test_payments_answers_a_cancel_after_payment_with_the_payment(
    shop, delivered, refunds_applied_but_failed
):
    """The cancel arrives after an attempt was paid and the success was lost: Payments
    reports the payment again, so the complaint ends refunded, not refundFailed."""
    _open(shop, delivered)
    shop.call("POST", f"/complaints/{delivered}/decision", "staff", {"decision": "approve"})
    for _ in range(3):
        sweeper.sweep(WORKFLOWS, grace_seconds=0)
    shop.deliver("PaymentsQueue")
    assert shop.call("POST", f"/payments/refunds/{delivered}.1/settled", "staff").status_code == 200
    shop.sqs.purge_queue(QueueUrl=shop.made.queue_urls["ComplaintEventsQueue"])  # lost
    for _ in range(2):
        shop.fire_timers()
        for _ in range(3):
            sweeper.sweep(WORKFLOWS, grace_seconds=0)
    shop.settle()
    view = _complaint(shop, delivered)
    assert view["state"] == "refunded" and view["refund"]["refundId"] == f"{delivered}.1"
