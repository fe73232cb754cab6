"""Kitchen and Delivery: services that take a command from the bus, hold the order
until staff (or the local stack's automatic mode) finish it, then report back.

Each station keeps its work items in the table under ``station#<name>`` and the
ids of the commands it has handled under ``station#<name>#seen``, so a command
delivered again (even after the order was finished) changes nothing. Finishing
publishes the report event with a deterministic CloudEvent id, so a retried
finish is recognised downstream.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from chalicelib.runtime import bus, store
from chalicelib.runtime.clock import now
from chalicelib.runtime.errors import BadRequest, NotFound

from .models import FRUIT_TOPPINGS


class Station:
    """One service station: the command it takes, the event it reports, and optionally
    a cancel command (drop the order) and a rejection event with its check."""

    def __init__(
        self,
        name: str,
        command: str,
        report: str,
        cancel: str | None = None,
        reject: str | None = None,
        check: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.report = report
        self.cancel = cancel
        self.reject = reject
        self.check = check
        self.pk = f"station#{name}"

    def accept(self, body: str) -> bool:
        """Take a command message off the queue; False if nothing new was held."""
        event = bus.parse(body)
        if event["type"] not in (self.command, self.cancel):
            raise BadRequest(f"{self.name} takes {self.command}, not {event['type']}")
        data = event.get("data") or {}
        order_id = data.get("orderId") or event.get("subject")
        if not isinstance(order_id, str) or not order_id:
            raise BadRequest(f"{event['type']} without an orderId")
        if not store.put_record(f"{self.pk}#seen", event["id"], {"at": now()}, only_new=True):
            return False  # this very command was handled before: redelivered or re-driven
        if event["type"] == self.cancel:
            store.delete_record(self.pk, order_id)
            return False
        problem = self.check(data) if self.check else None
        if problem and self.reject:
            at = now()
            report = {"station": self.name, "reason": problem, "at": at}
            event_id = f"{self.name}.{order_id}.{self.reject}"
            bus.publish(bus.cloud_event(event_id, self.reject, order_id, report, at))
            return False
        work = {
            "orderId": order_id,
            "customerId": data.get("customerId"),
            "items": data.get("items", []),
            "receivedAt": now(),
            "commandId": event["id"],
        }
        return store.put_record(self.pk, order_id, work, only_new=True)

    def orders(self) -> list[dict[str, Any]]:
        """Orders held, oldest first."""
        return sorted((data for _, data in store.records(self.pk)), key=lambda w: w["receivedAt"])

    def finish(self, order_id: str | None = None, by: str | None = None) -> dict[str, Any]:
        """Report the given (or the oldest) order done; NotFound if the station has none."""
        held = self.orders()
        if order_id is not None:
            held = [w for w in held if w["orderId"] == order_id]
        if not held:
            which = f"order {order_id!r}" if order_id else "any order"
            raise NotFound(f"the {self.name} does not hold {which}")
        work = held[0]
        data = {"station": self.name, "by": by, "at": now()}
        event_id = f"{self.name}.{work['orderId']}.{self.report}"
        bus.publish(bus.cloud_event(event_id, self.report, work["orderId"], data, data["at"]))
        store.delete_record(self.pk, work["orderId"])
        return {**work, "reported": self.report, "eventId": event_id}


def _kitchen_check(data: dict[str, Any]) -> str | None:
    """Why the kitchen cannot make this order (toppings it does not have), or None."""
    out = {t.strip() for t in os.environ.get("KITCHEN_OUT_OF_STOCK", "").split(",") if t.strip()}
    have = set(FRUIT_TOPPINGS) - out
    missing = sorted(
        {t for item in data.get("items", []) for t in item.get("toppings", []) if t not in have}
    )
    return f"the kitchen has no {', '.join(missing)}" if missing else None


KITCHEN = Station(
    "kitchen", "MAKE_PIZZA", "PIZZA_READY", "CANCEL_PIZZA", "PIZZA_REJECTED", _kitchen_check
)
DELIVERY = Station("delivery", "DELIVER_PIZZA", "PIZZA_DELIVERED")
STATIONS = {s.name: s for s in (KITCHEN, DELIVERY)}
