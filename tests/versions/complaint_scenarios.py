"""Complaints taken along every path of the complaint chart through the real app on moto:
the golden complaint histories are recorded from these."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from chalicelib.runtime import auth
from tests.complaints.conftest import deliver_order
from tests.shop import SECRET, Shop


@contextmanager
def declining(attempts: int) -> Iterator[None]:
    """Payments declines refund attempts 1..``attempts`` inside the block."""
    before = os.environ.get("PAYMENTS_FAIL_ATTEMPTS")
    os.environ["PAYMENTS_FAIL_ATTEMPTS"] = str(attempts)
    try:
        yield
    finally:
        if before is None:
            del os.environ["PAYMENTS_FAIL_ATTEMPTS"]
        else:
            os.environ["PAYMENTS_FAIL_ATTEMPTS"] = before


def opened(shop: Shop) -> str:
    """A delivered order with a complaint, claimed by staff."""
    shop.manager = auth.issue(SECRET, "maya", roles=["manager"])
    order_id = deliver_order(shop)
    body = {"reason": "cold pizza", "details": "the mango was frozen"}
    assert shop.call("POST", f"/orders/{order_id}/complaint", body=body).status_code == 201
    assert shop.call("POST", f"/complaints/{order_id}/claim", "staff").status_code == 200
    return order_id


def _approve(shop: Shop, order_id: str, **decision) -> None:
    body = {"decision": "approve", **decision}
    approved = shop.call("POST", f"/complaints/{order_id}/decision", "staff", body)
    assert approved.status_code == 200, approved.body


def _settle_next(shop: Shop) -> None:
    shop.deliver("PaymentsQueue")
    assert shop.call("POST", "/payments/refunds/next/settled", "staff").status_code == 200
    shop.settle()


def refunded_in_full(shop: Shop) -> str:
    order_id = opened(shop)
    _approve(shop, order_id)
    _settle_next(shop)
    return order_id


def refunded_in_part(shop: Shop) -> str:
    order_id = opened(shop)
    _approve(shop, order_id, amount=250, reason="one slice was cold")
    _settle_next(shop)
    return order_id


def refund_retried(shop: Shop) -> str:
    """The first attempt is declined, the retry is paid."""
    order_id = opened(shop)
    with declining(1):
        _approve(shop, order_id)
        shop.settle()
    assert shop.fire_timers() >= 1
    _settle_next(shop)
    return order_id


def refund_failed(shop: Shop) -> str:
    """Every attempt declined: given up, Payments confirms nothing was paid."""
    order_id = opened(shop)
    with declining(5):
        _approve(shop, order_id)
        shop.settle()
        for _ in range(2):
            assert shop.fire_timers() >= 1
            shop.settle()
    return order_id


def escalated(shop: Shop) -> str:
    """A question answered, no decision in time, then a manager decides."""
    order_id = opened(shop)
    body = {"question": "Which pizza?"}
    assert shop.call("POST", f"/complaints/{order_id}/question", "staff", body).status_code == 200
    answer = {"message": "the mango one"}
    assert shop.call("POST", f"/orders/{order_id}/complaint/answer", body=answer).status_code == 200
    assert shop.fire_timers() >= 1  # the review's deadline (and the order's stale timers)
    body = {"decision": "reject", "reason": "the photo shows a fine pizza"}
    decided = shop.call("POST", f"/complaints/{order_id}/decision", "manager", body)
    assert decided.status_code == 200, decided.body
    return order_id


def closed_by_silence(shop: Shop) -> str:
    order_id = opened(shop)
    body = {"question": "When did it arrive?"}
    assert shop.call("POST", f"/complaints/{order_id}/question", "staff", body).status_code == 200
    assert shop.fire_timers() >= 1
    return order_id


def withdrawn(shop: Shop) -> str:
    order_id = opened(shop)
    assert shop.call("POST", f"/orders/{order_id}/complaint/withdraw").status_code == 200
    return order_id


COMPLAINT_SCENARIOS: dict[str, Callable[[Shop], str]] = {
    "refunded-in-full": refunded_in_full,
    "refunded-in-part": refunded_in_part,
    "refund-retried": refund_retried,
    "refund-failed": refund_failed,
    "escalated": escalated,
    "closed-by-silence": closed_by_silence,
    "withdrawn": withdrawn,
}
