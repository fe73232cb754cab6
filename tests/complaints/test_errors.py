"""The complaint routes' error table: every refusal has its status and message and
changes nothing."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.runtime import clock


def _open(shop, order_id, token="customer", **kwargs):
    return shop.call(
        "POST", f"/orders/{order_id}/complaint", token, body={"reason": "cold"}, **kwargs
    )


def _version(shop, order_id):
    return shop.call("GET", f"/orders/{order_id}/complaint", "staff").json_body["version"]


def test_no_token_is_401(shop, delivered):
    assert _open(shop, delivered, token=None).status_code == 401
    assert shop.call("GET", "/complaints", None).status_code == 401


def test_only_the_orders_customer_opens_its_complaint(shop, delivered):
    assert _open(shop, delivered, token="other").status_code == 404
    assert _open(shop, delivered, token="staff").status_code == 404
    assert shop.call("GET", f"/orders/{delivered}/complaint").status_code == 404


def test_an_order_not_delivered_takes_no_complaint(shop):
    order_id = shop.new_order()["orderId"]
    refused = _open(shop, order_id)
    assert refused.status_code == 409
    assert refused.json_body["error"] == "ComplaintRefused"
    assert "delivered" in refused.json_body["message"]
    assert shop.call("GET", f"/orders/{order_id}/complaint").status_code == 404


def test_a_complaint_later_than_24_hours_after_delivery_is_refused(shop, delivered, monkeypatch):
    later = clock.parse(clock.now()) + timedelta(hours=24, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: clock.stamp(later))
    refused = _open(shop, delivered)
    assert refused.status_code == 409
    assert "24 hours" in refused.json_body["message"]
    monkeypatch.undo()
    assert shop.call("GET", f"/orders/{delivered}/complaint").status_code == 404
    assert _open(shop, delivered).status_code == 201  # within the window it is taken


def test_a_second_complaint_is_refused(shop, delivered):
    assert _open(shop, delivered).status_code == 201
    again = _open(shop, delivered)
    assert again.status_code == 409
    assert "a complaint exists" in again.json_body["message"]
    assert _version(shop, delivered) == 1


def test_bad_bodies_are_400_and_change_nothing(shop, delivered):
    assert _open(shop, delivered).status_code == 201
    bad = [
        ("POST", f"/orders/{delivered}/complaint/answer", "customer", {}),
        ("POST", f"/orders/{delivered}/complaint/answer", "customer", {"message": "x" * 2001}),
        ("POST", f"/complaints/{delivered}/decision", "staff", {"decision": "maybe"}),
        ("POST", f"/complaints/{delivered}/decision", "staff", {"decision": "reject"}),
        ("POST", f"/complaints/{delivered}/decision", "staff",
         {"decision": "approve", "amount": -5}),
        ("POST", f"/complaints/{delivered}/decision", "staff",
         {"decision": "approve", "role": "manager"}),
        ("POST", f"/complaints/{delivered}/question", "staff", {"question": ""}),
    ]  # fmt: skip
    for method, path, token, body in bad:
        response = shop.call(method, path, token, body)
        assert response.status_code == 400, (path, body, response.body)
        assert response.json_body["error"] == "BadRequest"
    assert shop.call("POST", f"/orders/{delivered}/complaint", body={}).status_code == 400
    assert _version(shop, delivered) == 1


def test_customers_may_not_use_staff_routes(shop, delivered):
    assert _open(shop, delivered).status_code == 201
    for method, path, body in [
        ("POST", f"/complaints/{delivered}/decision", {"decision": "approve"}),
        ("POST", f"/complaints/{delivered}/question", {"question": "?"}),
        ("POST", f"/complaints/{delivered}/claim", None),
        ("GET", "/complaints", None),
        ("GET", "/payments/refunds", None),
        ("POST", "/payments/refunds/next/settled", None),
    ]:
        assert shop.call(method, path, "customer", body).status_code == 403, path
    assert _version(shop, delivered) == 1


def test_event_not_allowed_is_409_with_next_events(shop, delivered):
    assert _open(shop, delivered).status_code == 201
    refused = shop.call("POST", f"/orders/{delivered}/complaint/answer", body={"message": "hi"})
    assert refused.status_code == 409
    assert "ASK_CUSTOMER" in refused.json_body["nextEvents"]
    assert "ANSWER" not in refused.json_body["nextEvents"]


def test_other_customers_cannot_act_on_a_complaint(shop, delivered):
    assert _open(shop, delivered).status_code == 201
    withdraw = shop.call("POST", f"/orders/{delivered}/complaint/withdraw", "other")
    assert withdraw.status_code == 404
    assert _version(shop, delivered) == 1


def test_an_unknown_refund_is_404(shop):
    response = shop.call("POST", "/payments/refunds/nope.1/settled", "staff")
    assert response.status_code == 404
    assert "refund" in response.json_body["message"]


def test_a_huge_body_is_413(shop, delivered):
    response = shop.call(
        "POST", f"/orders/{delivered}/complaint", raw=b'{"reason": "' + b"x" * 20000 + b'"}'
    )
    assert response.status_code == 413


def test_idempotency_key_gets_the_first_answer_and_refuses_another_request(shop, delivered):
    key = {"Idempotency-Key": "open-1"}
    first = _open(shop, delivered, headers=key)
    again = _open(shop, delivered, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json_body == again.json_body
    other = shop.call(
        "POST", f"/orders/{delivered}/complaint/withdraw", headers={"Idempotency-Key": "open-1"}
    )
    assert other.status_code == 422
    decide = {"Idempotency-Key": "decide-1"}
    body = {"decision": "approve", "amount": 100}
    one = shop.call("POST", f"/complaints/{delivered}/decision", "staff", body, headers=decide)
    two = shop.call("POST", f"/complaints/{delivered}/decision", "staff", body, headers=decide)
    assert one.status_code == two.status_code == 200 and one.json_body == two.json_body
    assert len(shop.waiting("PaymentsQueue")) == 1


def test_a_refund_amount_must_be_a_json_integer(shop, delivered):
    """Money is never coerced: a string, a float or a boolean amount is a 400, not a
    refund of what pydantic's lax mode makes of it (``true`` would refund 1 cent)."""
    assert _open(shop, delivered).status_code == 201
    for amount in ["100", 100.0, True, "1e2"]:
        body = {"decision": "approve", "amount": amount}
        response = shop.call("POST", f"/complaints/{delivered}/decision", "staff", body)
        assert response.status_code == 400, (amount, response.json_body)
        assert response.json_body["error"] == "BadRequest"
    assert _version(shop, delivered) == 1
