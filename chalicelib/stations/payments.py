"""Payments: the station that pays refunds, and its ledger of complaints it settled.

A complaint's refund attempts are separate pieces of work (``refundId`` is
``<complaintId>.<attempt>``), but its ledger item (``station#payments!settled#<complaint>``,
kept without a TTL) is settled once: by the first attempt staff settle (that one is paid,
every other attempt of the complaint is refused), or by the complaint's CANCEL_REFUNDS,
which the complaint sends when it gives up (then no attempt is ever paid). Whichever is
written first wins, in one conditional write, so a complaint is never both paid and
cancelled. The ledger item also lists every attempt Payments held (``attempts``), so the
winner closes the others, and an attempt arriving after the complaint was settled is
closed as it arrives. CANCEL_REFUNDS is answered from the ledger: REFUNDS_CANCELLED when nothing was
paid (and now never will be), else the REFUND_SUCCEEDED of the attempt that was paid, again
under its own CloudEvent id (so the complaint ends ``refunded``, agreeing with the money).
"""

from __future__ import annotations

import os
from typing import Any

from chalicelib.runtime import BadRequest, bus, client, is_instance_id, now, store

from .oven import OVEN
from .station import DELIVERY, KITCHEN, ORDER, Station

CANCELLED = "!cancelled"  # the ledger's mark of a cancelled complaint (no refund id has '!')


class Payments(Station):
    """The payments station: a Station whose ``cancel`` command closes a whole complaint
    (see the module docstring) and is answered with ``cancelled_report``."""

    def __init__(self, *args: Any, cancelled_report: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cancelled_report = cancelled_report

    def accept(self, body: str) -> bool:
        """Take REFUND (see Station.accept) or CANCEL_REFUNDS off the queue. BadRequest
        for a cancel without a valid complaint id or with refund ids not a list of ids."""
        event = bus.parse(body)
        if event["type"] != self.cancel:
            return super().accept(body)
        data = event.get("data") or {}
        subject = data.get(self.subject_field) if isinstance(data, dict) else None
        keys = data.get("refundIds", []) if isinstance(data, dict) else None
        if not isinstance(subject, str) or not is_instance_id(subject):
            raise BadRequest(f"{self.cancel} without a valid {self.subject_field}")
        if not isinstance(keys, list) or not all(
            isinstance(k, str) and is_instance_id(k) for k in keys
        ):
            raise BadRequest(f"{self.cancel} refundIds must be a list of refund ids")
        self.close_subject(subject, keys)
        return False

    def _hold(self, order_id: str, work: dict[str, Any]) -> bool:
        """List the attempt in its complaint's ledger item, then hold it (Station._hold).
        Listed first: a crash in between is redelivered and lists it again, and a winner
        settling in between closes it before it is held. Held first, a crash left it held
        but never listed (its redelivery is a duplicate), so no winner closed it."""
        return self._listed(order_id, self._subject(work)) and super()._hold(order_id, work)

    def _listed(self, key: str, subject: str) -> bool:
        """List ``key`` in its complaint's ledger item; False (and the work closed) when
        the complaint was settled already (paid by another attempt, or cancelled)."""
        ledger = store.call(
            client("dynamodb").update_item,
            Key=store.key(self._ledger_pk(subject), ORDER),
            UpdateExpression="ADD attempts :k",
            ExpressionAttributeValues={":k": {"SS": [key]}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        if "why" not in ledger:
            return True
        self._close(key, "settled before it arrived")
        return False

    def _siblings(self, subject: str) -> list[str]:
        """Every attempt of ``subject`` Payments held (from its ledger item)."""
        item = store.call(
            client("dynamodb").get_item,
            Key=store.key(self._ledger_pk(subject), ORDER),
            ConsistentRead=True,
        ).get("Item", {})
        return sorted(item.get("attempts", {}).get("SS", []))

    def _finishing(self, work: dict[str, Any]) -> None:
        """The complaint's other attempts are closed (only one is paid) before the paid one
        is: a crash in between leaves the paid attempt held, so finishing it again closes
        them. Closed after it, a crash left them held for ever, every settle refused."""
        key = work[self.key_field]
        for other in self._siblings(self._subject(work)):
            if other != key:
                self._close(other, "duplicate")

    def close_subject(self, subject: str, keys: list[str]) -> str | None:
        """Cancel the complaint ``subject`` in the ledger unless an attempt settled it
        first, close its attempts ``keys`` (held or not: a REFUND arriving later is not
        held again), and report the outcome. Returns the key of the attempt that was paid,
        or None when the complaint is (now) cancelled. Repeating it reports the same."""
        paid = self._settle_once({self.key_field: CANCELLED, self.subject_field: subject})
        for key in sorted({*keys, *self._siblings(subject)}):
            if key != paid:  # a paid attempt held after a crash is finished by staff
                self._close(key, "cancelled")
        at = now()
        if paid is None:
            data = {"station": self.name, "refundIds": keys, "at": at}
            event_id = f"{self.name}.{subject}.{self.cancelled_report}"
            bus.publish(bus.cloud_event(event_id, self.cancelled_report, subject, data, at))
            return None
        data = {"station": self.name, "by": None, "at": at, self.key_field: paid}
        event_id = f"{self.name}.{paid}.{self.report}"  # the id finishing it published under
        bus.publish(bus.cloud_event(event_id, self.report, subject, data, at))
        return paid


def _payments_check(data: dict[str, Any]) -> str | None:
    """Why the bank declines this refund, or None: attempts 1..PAYMENTS_FAIL_ATTEMPTS
    are declined (failure injection for local runs and tests)."""
    failing = int(os.environ.get("PAYMENTS_FAIL_ATTEMPTS") or 0)
    attempt = data.get("attempt")
    if isinstance(attempt, int) and not isinstance(attempt, bool) and attempt <= failing:
        return f"the bank declined refund attempt {attempt} (PAYMENTS_FAIL_ATTEMPTS={failing})"
    return None


PAYMENTS = Payments(
    "payments", "REFUND", "REFUND_SUCCEEDED", "CANCEL_REFUNDS", reject="REFUND_FAILED",
    check=_payments_check, key_field="refundId", subject_field="complaintId",
    keep=("orderId", "complaintId", "amount", "attempt"), report_fields=("refundId",),
    noun="refund", once_per_subject=True, cancelled_report="REFUNDS_CANCELLED",
)  # fmt: skip
STATIONS: dict[str, Station] = {s.name: s for s in (KITCHEN, DELIVERY, PAYMENTS, OVEN)}
