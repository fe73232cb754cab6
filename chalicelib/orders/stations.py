"""Kitchen and Delivery: services that take a command from the bus, hold the order
until staff (or the local stack's automatic mode) finish it, then report back.

Each station keeps its work items in the table under ``station#<name>``. A
duplicate command is stored once; finishing publishes the report event with a
deterministic CloudEvent id, so a retried finish is recognised downstream.
"""

from __future__ import annotations

from typing import Any

from chalicelib.runtime import bus, store
from chalicelib.runtime.errors import BadRequest, NotFound
from chalicelib.runtime.orchestrator import now


class Station:
    """One service station: which command it takes and which event it reports."""

    def __init__(self, name: str, command: str, report: str) -> None:
        self.name = name
        self.command = command
        self.report = report
        self.pk = f"station#{name}"

    def accept(self, body: str) -> bool:
        """Take a command message off the queue; False if it was already held."""
        event = bus.parse(body)
        if event["type"] != self.command:
            raise BadRequest(f"{self.name} takes {self.command}, not {event['type']}")
        data = event.get("data") or {}
        order_id = data.get("orderId") or event.get("subject")
        if not isinstance(order_id, str) or not order_id:
            raise BadRequest(f"{self.command} without an orderId")
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


KITCHEN = Station("kitchen", "MAKE_PIZZA", "PIZZA_READY")
DELIVERY = Station("delivery", "DELIVER_PIZZA", "PIZZA_DELIVERED")
STATIONS = {s.name: s for s in (KITCHEN, DELIVERY)}
