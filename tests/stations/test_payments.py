"""The Payments station on moto: its work is keyed by refund id (so a retried refund is
new work), its reports go to the complaint, and PAYMENTS_FAIL_ATTEMPTS declines."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.runtime import BadRequest, NotFound, bus
from chalicelib.stations import KITCHEN, PAYMENTS
from chalicelib.stations.station import AlreadySettled
from tests.shop import REGION


def _refund(attempt: int, complaint: str = "o1", command_id: str | None = None) -> str:
    data = {
        "orderId": complaint, "complaintId": complaint, "refundId": f"{complaint}.{attempt}",
        "amount": 1200, "attempt": attempt,
    }  # fmt: skip
    event_id = command_id or f"complaint.{complaint}.v{attempt}.1"
    return json.dumps(bus.cloud_event(event_id, "REFUND", complaint, data, "2026-01-01T00:00:00Z"))


def _published(aws) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    url = aws.queue_urls["ComplaintEventsQueue"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_each_refund_attempt_is_its_own_work(aws):
    assert PAYMENTS.accept(_refund(1)) is True
    assert PAYMENTS.accept(_refund(1, command_id="another-id")) is False  # same refund again
    assert PAYMENTS.accept(_refund(2)) is True  # a retry is new work
    assert [w["refundId"] for w in PAYMENTS.orders()] == ["o1.1", "o1.2"]
    assert PAYMENTS.orders()[0]["amount"] == 1200


def test_finishing_a_refund_reports_success_to_the_complaint(aws):
    PAYMENTS.accept(_refund(1))
    finished = PAYMENTS.finish("o1.1", by="pat")
    assert finished["reported"] == "REFUND_SUCCEEDED"
    [report] = _published(aws)
    assert report["type"] == "REFUND_SUCCEEDED" and report["subject"] == "o1"
    assert report["id"] == "payments.o1.1.REFUND_SUCCEEDED"
    assert report["data"]["refundId"] == "o1.1" and report["data"]["by"] == "pat"
    with pytest.raises(NotFound):
        PAYMENTS.finish("o1.1")
    assert PAYMENTS.accept(_refund(1)) is False  # a late repeat never brings it back


def test_failure_injection_declines_the_first_attempts(aws, monkeypatch):
    monkeypatch.setenv("PAYMENTS_FAIL_ATTEMPTS", "1")
    assert PAYMENTS.accept(_refund(1)) is False
    assert PAYMENTS.accept(_refund(2)) is True
    [report] = _published(aws)
    assert report["type"] == "REFUND_FAILED" and report["subject"] == "o1"
    assert report["data"]["refundId"] == "o1.1"
    assert "attempt 1" in report["data"]["reason"]
    assert [w["refundId"] for w in PAYMENTS.orders()] == ["o1.2"]


def test_payments_takes_only_refunds(aws):
    make = bus.cloud_event("x", "MAKE_PIZZA", "o1", {"orderId": "o1"}, "2026-01-01T00:00:00Z")
    with pytest.raises(BadRequest):
        PAYMENTS.accept(json.dumps(make))
    no_id = bus.cloud_event("y", "REFUND", "", {"refundId": 5}, "2026-01-01T00:00:00Z")
    with pytest.raises(BadRequest, match="refundId"):
        PAYMENTS.accept(json.dumps(no_id))


def test_kitchen_still_keys_its_work_by_order(aws):
    data = {"orderId": "o9", "customerId": "alice", "items": []}
    event = bus.cloud_event("order.o9.v2.1", "MAKE_PIZZA", "o9", data, "2026-01-01T00:00:00Z")
    assert KITCHEN.accept(json.dumps(event)) is True
    again = bus.cloud_event("order.o9.v9.1", "MAKE_PIZZA", "o9", data, "2026-01-01T00:00:00Z")
    assert KITCHEN.accept(json.dumps(again)) is False
    [work] = KITCHEN.orders()
    assert set(work) == {"orderId", "customerId", "items", "receivedAt", "commandId"}


def test_a_complaint_is_refunded_once_whatever_attempts_payments_holds(aws):
    """A REFUND whose publish failed ambiguously (it reached Payments, the complaint saw
    an error) is retried under a new refund id, so Payments can hold two attempts of
    one complaint. Settling both would pay twice: settling the first closes the second
    (404 when staff try it), and only one REFUND_SUCCEEDED is published."""
    PAYMENTS.accept(_refund(1))
    PAYMENTS.accept(_refund(2))
    assert PAYMENTS.finish("o1.1", by="pat")["reported"] == "REFUND_SUCCEEDED"
    with pytest.raises(NotFound):
        PAYMENTS.finish("o1.2", by="pat")
    assert PAYMENTS.orders() == []  # the winner closed the other attempt: never paid later
    assert [r["type"] for r in _published(aws)] == ["REFUND_SUCCEEDED"]
    PAYMENTS.accept(_refund(1, complaint="o2"))  # other complaints are not affected
    assert PAYMENTS.finish("o2.1")["reported"] == "REFUND_SUCCEEDED"


def test_a_refused_settle_changes_nothing(aws, monkeypatch):
    """Issue 19, Low 9: a settle refused with 409 closed the refund it named. Here the
    winner's closing of its siblings is lost (a crash after it paid): the refused
    settle leaves the sibling as it was."""
    from chalicelib.stations.payments import Payments

    PAYMENTS.accept(_refund(1))
    PAYMENTS.accept(_refund(2))
    monkeypatch.setattr(Payments, "_siblings", lambda self, subject: [])
    PAYMENTS.finish("o1.1", by="pat")
    before = PAYMENTS._item("o1.2")
    with pytest.raises(AlreadySettled, match=r"o1\.1"):
        PAYMENTS.finish("o1.2", by="pat")
    assert PAYMENTS._item("o1.2") == before and before["status"]["S"] == "held"


def test_a_crash_after_the_payment_leaves_no_attempt_held_for_ever(aws, monkeypatch):
    """make test's chaos run, seed 261385409: the settle crashed after the paid attempt was
    closed and before its siblings were; the retry answered 404 (nothing held) and the
    other attempt stayed listed at Payments for ever, each settle of it refused (409).
    Siblings are closed first now: the retry finds the paid attempt held, sends the same
    report and closes what is left."""
    from chalicelib.stations.station import Station

    PAYMENTS.accept(_refund(1))
    PAYMENTS.accept(_refund(2))
    real_close = Station._close

    def crash_after_first_close(self, key, why):
        real_close(self, key, why)
        raise ConnectionError("the invocation died")

    monkeypatch.setattr(Station, "_close", crash_after_first_close)
    with pytest.raises(ConnectionError):
        PAYMENTS.finish("o1.1", by="pat")
    monkeypatch.setattr(Station, "_close", real_close)
    again = PAYMENTS.finish("o1.1", by="pat")  # the staff's retry
    assert again["reported"] == "REFUND_SUCCEEDED"
    assert PAYMENTS.orders() == []  # nothing left held, nothing to refuse for ever
    published = _published(aws)
    assert [r["type"] for r in published] == ["REFUND_SUCCEEDED"] * 2  # one id, twice
    assert len({r["id"] for r in published}) == 1


def test_an_attempt_whose_arrival_crashed_half_way_is_still_closed_by_the_winner(aws, monkeypatch):
    """make test's chaos run, seed 53247151: the REFUND's invocation died after the
    attempt was held and before it was listed in the complaint's ledger; its redelivery
    was a duplicate (held already), so it was never listed, the winner did not close it,
    and it stayed at Payments for ever. Listed first now, a redelivery lists it again."""
    from chalicelib.stations import payments as module

    PAYMENTS.accept(_refund(1))
    real_call, writes = module.store.call, []

    def dies_after_the_first_write(operation, **kwargs):
        result = real_call(operation, **kwargs)
        if operation.__name__ == "update_item":
            writes.append(kwargs["Key"])
            raise ConnectionError("the invocation died")
        return result

    monkeypatch.setattr(module.store, "call", dies_after_the_first_write)
    with pytest.raises(ConnectionError):
        PAYMENTS.accept(_refund(2))
    monkeypatch.setattr(module.store, "call", real_call)
    assert len(writes) == 1
    PAYMENTS.accept(_refund(2))  # SQS delivers it again
    assert PAYMENTS.finish("o1.1")["reported"] == "REFUND_SUCCEEDED"
    assert PAYMENTS.orders() == []  # the other attempt is closed: never listed for ever


def test_a_paid_attempt_whose_report_failed_cannot_then_be_rejected(aws, monkeypatch):
    """An outside review: the settle wrote the ledger (paid by o1.1), its report failed
    (503), staff then rejected o1.1 (REFUND_FAILED went out), and when the complaint gave
    up, Payments answered from the ledger that o1.1 was paid: "refunded", nobody paid.
    Now the paid attempt can only be finished again, which sends its report."""
    from chalicelib.runtime import Unavailable

    PAYMENTS.accept(_refund(1))

    def down(event):
        raise Unavailable("the bus is down")

    with monkeypatch.context() as patched:
        patched.setattr(bus, "publish", down)
        with pytest.raises(Unavailable):
            PAYMENTS.finish("o1.1", by="pat")
    with pytest.raises(AlreadySettled, match="finish it again"):
        PAYMENTS.reject("o1.1", "the card was refused", by="pat")
    assert PAYMENTS._item("o1.1")["status"]["S"] == "held"  # the refusal changed nothing
    assert PAYMENTS.finish("o1.1", by="pat")["reported"] == "REFUND_SUCCEEDED"
    assert [r["type"] for r in _published(aws)] == ["REFUND_SUCCEEDED"]


def test_a_settle_racing_a_rejection_of_the_same_attempt_does_not_pay_it(aws, monkeypatch):
    """The same review, raced: staff reject o1.1 (it is marked ``rejecting``) after a
    settle read it as held and before the settle wrote the ledger. The settle is refused
    (404) and the ledger stays unpaid, so only REFUND_FAILED is ever reported."""
    from chalicelib.stations.station import Station

    PAYMENTS.accept(_refund(1))
    work = PAYMENTS.held("o1.1")
    real_held = Station.held

    def read_then_rejected(self, key):
        found = real_held(self, key)
        PAYMENTS._update(PAYMENTS._pk(key), "SET #st = :r", "#st = :h",
                         {":r": {"S": "rejecting"}, ":h": {"S": "held"}})  # fmt: skip
        return found

    monkeypatch.setattr(Station, "held", read_then_rejected)
    with pytest.raises(NotFound, match="any more"):
        PAYMENTS.finish("o1.1", by="pat")
    assert work is not None and PAYMENTS._settled_by(PAYMENTS._ledger_pk("o1")) is None
    assert _published(aws) == []


def test_an_attempt_arriving_after_the_complaint_was_settled_is_closed_at_once(aws):
    PAYMENTS.accept(_refund(1))
    PAYMENTS.finish("o1.1")
    assert PAYMENTS.accept(_refund(2)) is False  # paid already: never held for payment
    assert PAYMENTS.orders() == []
    PAYMENTS.accept(_refund(1, complaint="o2"))
    PAYMENTS.close_subject("o2", [])  # cancelled: attempts it never named are closed too
    assert PAYMENTS.orders() == []
    assert PAYMENTS.accept(_refund(2, complaint="o2")) is False
    assert [r["type"] for r in _published(aws)][-1] == "REFUNDS_CANCELLED"
