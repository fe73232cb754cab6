"""One station: the command it takes, the event it reports, (optionally) its cancel
command and a rejection with its check.

Each piece of work a station sees is one item of its own, ``pk =
station#<name>#<work id>``, so no partition key is written by every order. The work id
is the command data's ``key_field`` (``orderId`` for the kitchen and delivery: one piece
of work per order; ``refundId`` for payments: one per refund attempt), falling back to
the CloudEvent's subject. Reports go to the workflow instance named by the work's
``subject_field``. Its ``status`` is ``held`` while the
station works on it (then it is in the sparse ``pending`` index under ``<name>#NN``, by
hash of the key, with its arrival time, so staff list held work oldest first by
walking the shards) and ``closed`` once finished, cancelled or rejected: a tombstone
with a TTL. Every change is one conditional write of that item, so a crash half-way
loses nothing, a late or repeated command never brings closed work back, and no
work is done twice (a second command for a work id the station has seen changes
nothing, whatever its id). Reports are published before the station records them,
with deterministic CloudEvent ids, so a repeated report is recognised downstream.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Callable
from typing import Any

from chalicelib.runtime import (
    BadRequest,
    NotFound,
    Unavailable,
    WorkflowError,
    bus,
    client,
    feeds,
    is_instance_id,
    journal,
    load,
    now,
    settings,
    store,
)

ORDER = "order"


class AlreadySettled(WorkflowError):
    """The work's subject was settled by other work already (a complaint refunded by an
    earlier attempt, or cancelled): this work cannot be finished. Refused: nothing changes
    (the work that settled it closes its siblings)."""

    status = 409
    code = "AlreadySettled"


class Station:
    """A service station on the bus (see the module docstring for what it stores)."""

    def __init__(
        self,
        name: str,
        command: str,
        report: str,
        cancel: str | None = None,
        reject: str | None = None,
        check: Callable[[dict[str, Any]], str | None] | None = None,
        *,
        key_field: str = "orderId",
        subject_field: str = "orderId",
        keep: tuple[str, ...] = ("customerId", "items"),
        report_fields: tuple[str, ...] = (),
        noun: str = "order",
        once_per_subject: bool = False,
        concurrency: int = 2,
    ) -> None:
        """``keep``: command data fields held with the work (listed to staff);
        ``report_fields``: work fields copied into the report's data;
        ``once_per_subject``: at most one piece of work per subject is ever finished
        (a refund: payments may hold two attempts of one complaint, never pay both);
        ``concurrency``: the most concurrent invocations its commands queue starts."""
        self.name = name
        self.command = command
        self.report = report
        self.cancel = cancel
        self.rejection = reject  # the event reporting a refusal (PIZZA_REJECTED), if any
        self.check = check
        self.key_field = key_field
        self.subject_field = subject_field
        self.keep = keep
        self.report_fields = report_fields
        self.noun = noun
        self.once_per_subject = once_per_subject
        self.concurrency = concurrency

    @property
    def commands(self) -> tuple[str, ...]:
        """The message types the station takes off its queue."""
        return (self.command, self.cancel) if self.cancel else (self.command,)

    def _pk(self, order_id: str) -> str:
        return f"station#{self.name}#{order_id}"

    def _report(self, work: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {**data, **{f: work.get(f) for f in self.report_fields}}

    def _subject(self, work: dict[str, Any]) -> str:
        return work.get(self.subject_field) or work[self.key_field]

    def accept(self, body: str) -> bool:
        """Take a command message off the queue; True if the station now holds new work.

        A command seen before, or for an order already finished, cancelled or rejected,
        changes nothing. Raises BadRequest for what is not this station's command.
        """
        event = bus.parse(body)
        if event["type"] not in (self.command, self.cancel):
            raise BadRequest(f"{self.name} takes {self.command}, not {event['type']}")
        data = event.get("data") or {}
        if not isinstance(data, dict):
            raise BadRequest(f"{event['type']} data is not an object")
        order_id = data.get(self.key_field) or event.get("subject")
        if not isinstance(order_id, str) or not is_instance_id(order_id):
            raise BadRequest(f"{event['type']} without a valid {self.key_field}")
        if event["type"] == self.cancel:
            self._close(order_id, "cancelled")
            return False
        work = {
            self.key_field: order_id,
            **{f: data.get(f) for f in self.keep},
            "receivedAt": now(),
            "commandId": event["id"],
        }
        if self.subject_field not in work:
            work[self.subject_field] = data.get(self.subject_field) or event.get("subject")
        if "items" in work and work["items"] is None:
            work["items"] = []
        problem = self.check(data) if self.check else None
        if problem and self.rejection:
            self._reject(order_id, problem, work)
            return False
        if self._hold(order_id, work):
            return True
        unfinished = self._item(order_id)  # seen before: a rejection cut short is finished
        if unfinished.get("status", {}).get("S") == "rejecting":
            self._reject(order_id, unfinished["why"]["S"], work)
        return False

    def reject(self, order_id: str, reason: str, by: str | None = None) -> dict[str, Any]:
        """Staff refuse work the station holds: the rejection (with ``reason`` and ``by``)
        is reported and the work closed, as for a failed check, with the same guarantees:
        marked ``rejecting`` first, then published (one CloudEvent id per work item,
        whichever way it is rejected), then closed. Rejecting again after a crash in
        between reports the first reason again under the same id. NotFound when the
        station does not hold the work (never had it, finished, cancelled or rejected);
        BadRequest for a station that cannot reject."""
        if not self.rejection:
            raise BadRequest(f"the {self.name} does not reject {self.noun}s")
        item = self._item(order_id) if is_instance_id(order_id) else {}
        status = item.get("status", {}).get("S")
        if status not in ("held", "rejecting") or "data" not in item:
            raise NotFound(f"the {self.name} does not hold {self.noun} {order_id!r}")
        work = json.loads(item["data"]["S"])
        why = item.get("why", {}).get("S") or reason  # a rejection cut short keeps its reason
        if not self._reject(order_id, why, work, held=True, by=by):
            raise NotFound(f"the {self.name} does not hold {self.noun} {order_id!r}")
        event_id = f"{self.name}.{order_id}.{self.rejection}"
        return {**work, "reported": self.rejection, "eventId": event_id, "reason": why}

    def _reject(
        self,
        order_id: str,
        problem: str,
        work: dict[str, Any],
        *,
        held: bool = False,
        by: str | None = None,
    ) -> bool:
        """Refuse an order: marked ``rejecting`` (with its reason) first, then the rejection
        is published, then the order is closed. A crash in between publishes it again (same
        id, first reason) on redelivery, whatever the check says by then. A command's check
        (``held`` False) never rejects an order the station holds or closed; staff
        (``held`` True) reject only one it holds. False when the mark was refused."""
        if held:
            condition = "#st IN (:held, :rejecting)"
            values = {":held": {"S": "held"}}
        else:
            condition, values = "attribute_not_exists(pk) OR #st = :rejecting", {}
        mark = (
            self._pk(order_id),
            "SET #st = :rejecting, #why = if_not_exists(#why, :why), expiresAt = :exp",
            condition,
            {
                **values,
                ":rejecting": {"S": "rejecting"},
                ":why": {"S": problem},
                ":exp": store.expires_in(settings().event_id_ttl_seconds),
            },
        )
        if held and self.once_per_subject:  # never reject what the ledger says it paid
            ledger = self._ledger_pk(self._subject(work))
            unpaid = ("attribute_not_exists(#why) OR #why <> :k", {":k": {"S": order_id}})
            if not self._together(mark, (ledger, *unpaid)):
                if self._settled_by(ledger) == order_id:
                    raise AlreadySettled(
                        f"{self.noun} {order_id!r} was paid already (its report may not have "
                        "gone out): finish it again to report it; it cannot be rejected"
                    )
                return False
        elif not self._update(*mark):
            return False
        at = now()
        fields = {"station": self.name, "reason": problem, "at": at}
        report = self._report(work, {**fields, "by": by} if by else fields)
        event_id = f"{self.name}.{order_id}.{self.rejection}"
        bus.publish(bus.cloud_event(event_id, self.rejection, self._subject(work), report, at))
        self._close(order_id, "rejected")
        return True

    def _hold(self, order_id: str, work: dict[str, Any]) -> bool:
        """Hold a new order; False when the station has seen it before (held or closed)."""
        pk = self._pk(order_id)
        held = self._update(
            pk,
            "SET #st = :held, #d = :d, pendingShard = :ps, pendingSince = :pt",
            "attribute_not_exists(pk)",
            {
                ":held": {"S": "held"},
                ":d": {"S": json.dumps(work, separators=(",", ":"))},
                ":ps": {"S": store.shard(pk, self.name, settings().station_shards)},
                ":pt": {"S": work["receivedAt"]},
            },
        )
        if held:
            self._announce("arrived", order_id, work)
        return held

    def _close(self, order_id: str, why: str) -> bool:
        """Close the order (tombstone with a TTL) unless it is closed already."""
        closed = self._update(
            self._pk(order_id),
            "SET #st = :closed, #why = :why, #at = :at, expiresAt = :exp "
            "REMOVE pendingShard, pendingSince, #d",
            "attribute_not_exists(pk) OR #st IN (:held, :rejecting)",
            {
                ":closed": {"S": "closed"},
                ":held": {"S": "held"},
                ":rejecting": {"S": "rejecting"},
                ":why": {"S": why},
                ":at": {"S": now()},
                ":exp": store.expires_in(settings().event_id_ttl_seconds),
            },
        )
        if closed:
            self._announce("left", order_id)
        return closed

    def _announce(self, change: str, key: str, work: dict[str, Any] | None = None) -> None:
        """Tell the work feed (the staff board) that work arrived or left; best effort: a
        board that missed it reads the station again when it reconnects."""
        document = {"feed": feeds.WORK, "list": self.name, "change": change, "id": key}
        try:
            feeds.announce(feeds.WORK, {**document, "item": work})
        except Exception as error:  # noqa: BLE001 - the work is held or closed: only news lost
            journal.problem(
                "announcing station work failed", station=self.name, work=key, error=repr(error)
            )

    def _ledger_pk(self, subject: str) -> str:
        return f"station#{self.name}!settled#{subject}"  # '!': no work key's pk

    def _settle_once(self, work: dict[str, Any]) -> str | None:
        """Record that ``work`` settles its subject: None when it may (the first, or the
        same work again after a crash), else the key of the work that settled it. The
        record is kept (no TTL): it is the station's ledger of settled subjects."""
        key = work[self.key_field]
        pk = self._ledger_pk(self._subject(work))
        settle = (pk, "SET #why = :why", "attribute_not_exists(#why) OR #why = :why",
                  {":why": {"S": key}})  # fmt: skip
        # work settles only while it is held: staff rejecting it at the same moment (it is
        # then ``rejecting``) must not leave the ledger saying it paid what was reported
        # failed; a mark (``!cancelled``) is no work and settles unconditionally
        held = (self._pk(key), "#st = :held", {":held": {"S": "held"}})
        if self._update(*settle) if key.startswith("!") else self._together(settle, held):
            return None
        settled_by = self._settled_by(pk)
        if settled_by is None or settled_by == key:
            raise NotFound(f"the {self.name} does not hold {self.noun} {key!r} any more")
        return settled_by

    def _settled_by(self, ledger_pk: str) -> str | None:
        """Whose key the ledger item says settled its subject (None: not settled)."""
        item = store.call(
            client("dynamodb").get_item, Key=store.key(ledger_pk, ORDER), ConsistentRead=True
        ).get("Item", {})
        return item.get("why", {}).get("S")

    @staticmethod
    def _together(
        write: tuple[str, str, str, dict[str, Any]], check: tuple[str, str, dict[str, Any]]
    ) -> bool:
        """``write`` (as ``_update`` takes it) only if ``check`` (pk, condition, values) holds
        of another item, in one transaction; False when either condition failed. A
        transaction that lost to a concurrent one raises Unavailable (try again)."""
        ClientError = load("botocore.exceptions").ClientError

        pk, expression, condition, values = write
        check_pk, check_condition, check_values = check
        table = settings().table_name
        try:
            store.call(
                client("dynamodb").transact_write_items,
                with_table=False,
                TransactItems=[
                    {"Update": {
                        "TableName": table, "Key": store.key(pk, ORDER),
                        "UpdateExpression": expression, "ConditionExpression": condition,
                        "ExpressionAttributeNames": _names_in(expression, condition),
                        "ExpressionAttributeValues": values,
                    }},
                    {"ConditionCheck": {
                        "TableName": table, "Key": store.key(check_pk, ORDER),
                        "ConditionExpression": check_condition,
                        "ExpressionAttributeNames": _names_in(check_condition),
                        "ExpressionAttributeValues": check_values,
                    }},
                ],
            )  # fmt: skip
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if any(r.get("Code") == "TransactionConflict" for r in reasons):
                raise Unavailable("another change to this work was under way; try again") from error
            return False
        return True

    @staticmethod
    def _update(pk: str, expression: str, condition: str, values: dict[str, Any]) -> bool:
        """One conditional write of the order's item; False when the condition refused it."""
        ClientError = load("botocore.exceptions").ClientError

        try:
            store.call(
                client("dynamodb").update_item,
                Key=store.key(pk, ORDER),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names_in(expression, condition),
                ExpressionAttributeValues=values,
            )
        except ClientError:
            return False  # the condition failed: seen before, or closed already
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
        """The work of ``order_id`` if the station holds it (strongly consistent)."""
        if not is_instance_id(order_id):
            return None  # not an order id: no key to look up
        item = self._item(order_id)
        if item.get("status", {}).get("S") != "held":
            return None
        return json.loads(item["data"]["S"])

    def _item(self, order_id: str) -> dict[str, Any]:
        key = store.key(self._pk(order_id), ORDER)
        return store.call(client("dynamodb").get_item, Key=key, ConsistentRead=True).get("Item", {})

    def _finishing(self, work: dict[str, Any]) -> None:
        """What finishing ``work`` does after its report and before its close (none here)."""

    def finish(self, order_id: str | None = None, by: str | None = None) -> dict[str, Any]:
        """Report the given (or the oldest) order done; NotFound if the station has none.

        The report is published before the order is closed, and ``_finishing`` runs in
        between: a crash before the close leaves it held, and finishing it again sends the
        same report (same id) and runs ``_finishing`` again.
        """
        if order_id is None:  # the oldest the index lists that is still held (it lags)
            listed = (self.held(w[self.key_field]) for w in self.orders())
            work = next((w for w in listed if w is not None), None)
        else:
            work = self.held(order_id)
        if work is None:
            which = f"{self.noun} {order_id!r}" if order_id else f"any {self.noun}"
            raise NotFound(f"the {self.name} does not hold {which}")
        key = work[self.key_field]
        settled_by = self._settle_once(work) if self.once_per_subject else None
        if settled_by is not None:  # refused: nothing changes (the winner closes the others)
            how = (
                f"was settled by {self.noun} {settled_by!r} already"
                if not settled_by.startswith("!")  # a mark such as a cancel, not work
                else f"takes no {self.noun} any more ({settled_by[1:]})"
            )
            raise AlreadySettled(
                f"{self._subject(work)!r} {how}: {self.noun} {key!r} cannot be finished"
            )
        at = now()
        data = self._report(work, {"station": self.name, "by": by, "at": at})
        event_id = f"{self.name}.{key}.{self.report}"
        bus.publish(bus.cloud_event(event_id, self.report, self._subject(work), data, at))
        self._finishing(work)
        try:
            self._close(key, "finished")
        except Unavailable as error:  # reported: finishing it again sends the same report
            journal.problem("closing finished work failed", work=key, error=str(error))
        return {**work, "reported": self.report, "eventId": event_id}


_NAMES = {"#st": "status", "#d": "data", "#why": "why", "#at": "closedAt"}


def _names_in(*expressions: str) -> dict[str, str]:
    """The attribute names (``#st``...) the ``expressions`` use, for ExpressionAttributeNames."""
    return {k: v for k, v in _NAMES.items() if any(k in text for text in expressions)}


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
