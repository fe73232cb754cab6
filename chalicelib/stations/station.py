"""One station: the command it takes, the event it reports, its cancel command and
(optionally) a rejection with its check.

Each order a station sees has its own partition ``station#<name>#<orderId>``, so no
partition key is written by every order:

- ``sk = "work"``: the order while the station holds it, in the sparse ``pending``
  index under ``<name>#NN`` (by hash of the key) with its arrival time, so staff list
  the held orders oldest first by walking the shards;
- ``sk = "seen#<commandId>"``: each command handled, with a TTL, so a redelivery
  changes nothing;
- ``sk = "closed"``: the order is finished, cancelled or rejected (a tombstone, with a
  TTL): a late or repeated command never brings it back, and no order is made twice.

Taking a command writes the seen record and the work item in one transaction, so a
crash in between loses nothing. Reports are published before the station records
them, with deterministic CloudEvent ids, so a repeated report is recognised downstream.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Callable
from typing import Any

from chalicelib.runtime import bus, store
from chalicelib.runtime.clients import client
from chalicelib.runtime.clock import now
from chalicelib.runtime.errors import BadRequest, NotFound, Unavailable
from chalicelib.runtime.settings import settings
from chalicelib.runtime.workflow import is_instance_id

WORK, CLOSED = "work", "closed"


class Station:
    """A service station on the bus (see the module docstring for what it stores)."""

    def __init__(
        self,
        name: str,
        command: str,
        report: str,
        cancel: str,
        reject: str | None = None,
        check: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.report = report
        self.cancel = cancel
        self.reject = reject
        self.check = check

    def _pk(self, order_id: str) -> str:
        return f"station#{self.name}#{order_id}"

    def accept(self, body: str) -> bool:
        """Take a command message off the queue; True if the station now holds new work.

        A command seen before, or for an order already finished, cancelled or rejected,
        changes nothing. Raises BadRequest for what is not this station's command.
        """
        event = bus.parse(body)
        if event["type"] not in (self.command, self.cancel):
            raise BadRequest(f"{self.name} takes {self.command}, not {event['type']}")
        data = event.get("data") or {}
        order_id = data.get("orderId") or event.get("subject")
        if not isinstance(order_id, str) or not is_instance_id(order_id):
            raise BadRequest(f"{event['type']} without a valid orderId")
        if event["type"] == self.cancel:
            self._close(order_id, event["id"], "cancelled", delete_work=True)
            return False
        problem = self.check(data) if self.check else None
        if problem and self.reject:
            at = now()
            report = {"station": self.name, "reason": problem, "at": at}
            event_id = f"{self.name}.{order_id}.{self.reject}"
            bus.publish(bus.cloud_event(event_id, self.reject, order_id, report, at))
            self._close(order_id, event["id"], "rejected", delete_work=False)
            return False
        received = now()
        work = {
            "orderId": order_id,
            "customerId": data.get("customerId"),
            "items": data.get("items", []),
            "receivedAt": received,
            "commandId": event["id"],
        }
        return self._hold(order_id, event["id"], work)

    def _hold(self, order_id: str, command_id: str, work: dict[str, Any]) -> bool:
        pk = self._pk(order_id)
        work_item = {
            **store.key(pk, WORK),
            "data": {"S": json.dumps(work, separators=(",", ":"))},
            "pendingShard": {"S": store.shard(pk, self.name, settings().station_shards)},
            "pendingSince": {"S": work["receivedAt"]},
        }
        absent = {"ConditionExpression": "attribute_not_exists(sk)"}
        return self._transact(
            [
                {"ConditionCheck": {"Key": store.key(pk, CLOSED), **absent}},
                {"Put": {"Item": self._seen(pk, command_id), **absent}},
                {"Put": {"Item": work_item, **absent}},
            ]
        )

    def _close(self, order_id: str, command_id: str, why: str, delete_work: bool) -> None:
        pk = self._pk(order_id)
        closed = {
            **store.key(pk, CLOSED),
            "data": {"S": json.dumps({"why": why, "at": now()})},
            "expiresAt": store.expires_in(settings().event_id_ttl_seconds),
        }
        items: list[dict[str, Any]] = [
            {"Put": {"Item": closed}},
            {"Put": {"Item": self._seen(pk, command_id)}},
        ]
        if delete_work:
            items.append({"Delete": {"Key": store.key(pk, WORK)}})
        self._transact(items)

    @staticmethod
    def _seen(pk: str, command_id: str) -> dict[str, Any]:
        return {
            **store.key(pk, f"seen#{command_id}"),
            "expiresAt": store.expires_in(settings().event_id_ttl_seconds),
        }

    @staticmethod
    def _transact(items: list[dict[str, Any]]) -> bool:
        """One transaction; False when a condition refused it (nothing was written)."""
        from botocore.exceptions import ClientError

        table = settings().table_name
        for item in items:
            next(iter(item.values()))["TableName"] = table
        try:
            store.call(
                client("dynamodb").transact_write_items, with_table=False, TransactItems=items
            )
        except ClientError as error:
            reasons = {r.get("Code") for r in error.response.get("CancellationReasons", [])}
            if "ConditionalCheckFailed" in reasons:
                return False
            raise Unavailable(f"storage error: {sorted(r for r in reasons if r)}") from error
        return True

    def orders(self) -> list[dict[str, Any]]:
        """Orders held, oldest first (every shard of the station's part of the index)."""
        shards = [
            [
                json.loads(item["data"]["S"])
                for item in store.query(
                    IndexName=store.PENDING_INDEX,
                    KeyConditionExpression="pendingShard = :s",
                    ExpressionAttributeValues={":s": {"S": f"{self.name}#{n:02d}"}},
                )
            ]
            for n in range(settings().station_shards)
        ]
        return list(heapq.merge(*shards, key=lambda w: w["receivedAt"]))

    def held(self, order_id: str) -> dict[str, Any] | None:
        """The work item of ``order_id`` if the station holds it (strongly consistent)."""
        if not is_instance_id(order_id):
            return None  # not an order id: no key to look up
        item = store.call(
            client("dynamodb").get_item,
            Key=store.key(self._pk(order_id), WORK),
            ConsistentRead=True,
        ).get("Item")
        return json.loads(item["data"]["S"]) if item else None

    def finish(self, order_id: str | None = None, by: str | None = None) -> dict[str, Any]:
        """Report the given (or the oldest) order done; NotFound if the station has none.

        The report is published before the work item is dropped: a crash in between
        leaves the order held, and finishing it again sends the same report (same id).
        """
        work = self.held(order_id) if order_id else next(iter(self.orders()), None)
        if work is None:
            which = f"order {order_id!r}" if order_id else "any order"
            raise NotFound(f"the {self.name} does not hold {which}")
        data = {"station": self.name, "by": by, "at": now()}
        event_id = f"{self.name}.{work['orderId']}.{self.report}"
        bus.publish(bus.cloud_event(event_id, self.report, work["orderId"], data, data["at"]))
        pk = self._pk(work["orderId"])
        closed = {
            **store.key(pk, CLOSED),
            "data": {"S": json.dumps({"why": "finished", "at": data["at"]})},
            "expiresAt": store.expires_in(settings().event_id_ttl_seconds),
        }
        self._transact(
            [
                {"Put": {"Item": closed}},
                {
                    "Delete": {
                        "Key": store.key(pk, WORK),
                        "ConditionExpression": "attribute_exists(sk)",
                    }
                },
            ]
        )
        return {**work, "reported": self.report, "eventId": event_id}


def _kitchen_check(data: dict[str, Any]) -> str | None:
    """Why the kitchen cannot make this order (toppings it is out of), or None."""
    out = {t.strip() for t in os.environ.get("KITCHEN_OUT_OF_STOCK", "").split(",") if t.strip()}
    missing = sorted(
        {t for item in data.get("items", []) for t in item.get("toppings", []) if t in out}
    )
    return f"the kitchen has no {', '.join(missing)}" if missing else None


KITCHEN = Station(
    "kitchen", "MAKE_PIZZA", "PIZZA_READY", "CANCEL_PIZZA", "PIZZA_REJECTED", _kitchen_check
)
DELIVERY = Station("delivery", "DELIVER_PIZZA", "PIZZA_DELIVERED", "CANCEL_DELIVERY")
STATIONS = {s.name: s for s in (KITCHEN, DELIVERY)}
