"""Every AWS call the app makes, by the key it touches, for the scale model.

Hooked on every client the runtime creates (``chalicelib.runtime.shared.clients.session`` is
wrapped while metering, so the clients made afterwards carry botocore's ``before-call``
/ ``after-call`` handlers): each DynamoDB request is recorded with the partition key of
every item it writes or reads and, for a write, the partition key each global secondary
index entry leaves and joins, with the capacity units each costs (item sizes measured by
``bench.meter``, DynamoDB's rules in ``bench.cost``); each SNS publish with its message
type; each SQS send with its queue (and, for a durable timer, its delay); each API
Gateway management call (``post_to_connection``), answered here with 200 because the
embedded AWS has no websocket API. Every call is charged to the Lambda function the
driver says is running (``function``).

Keys are reduced to patterns (``pattern``) by their shape alone, so a key nobody
described shows up as a pattern of its own: a segment of 1-4 digits is a shard
(``<shard>``), of more digits a number (``<n>``), ``v`` + digits a version (``v<n>``),
lower-case words (joined by ``!``) stay as they are, anything else is an id (``<id>``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from bench.cost import READ_UNIT, WRITE_UNIT
from bench.meter import READS, WRITES, StorageMeter

TABLE = "table"  # the target of a base-table key (an index's target is its name)
_WORD = re.compile(r"[a-z]+(![a-z]+)*")
_CONDITION = re.compile(r"(#?\w+)\s*=\s*(:\w+)")


def segment(text: str) -> str:
    """One ``#``-separated part of a key, reduced to its shape."""
    if text.isdigit():
        return "<shard>" if len(text) <= 4 else "<n>"
    if re.fullmatch(r"v\d+", text):
        return "v<n>"
    if _WORD.fullmatch(text):
        return text
    return "<id>"


def pattern(key: str) -> str:
    """A key reduced to its pattern: ``order#3f2a...`` -> ``order#<id>``."""
    return "#".join(segment(part) for part in key.split("#"))


@dataclass(slots=True)
class Touch:
    """One partition a call wrote or read: ``target`` (``table`` or an index name),
    the partition key's pattern, the sort key's pattern (table items), the units."""

    kind: str  # "write" or "read"
    target: str
    partition: str
    sort: str | None
    units: float
    transactional: bool = False


@dataclass(slots=True)
class Call:
    """One AWS API call of the app, charged to ``function``."""

    function: str
    service: str
    operation: str
    touches: list[Touch] = field(default_factory=list)
    detail: str | None = None  # SNS message type, SQS queue name
    delay: float | None = None  # a timer's seconds to go when it was sent


class KeyMeter(StorageMeter):
    """Records ``calls`` (``Call``) for everything the app asks of AWS while attached."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        super().__init__(endpoint_url, region)
        self.calls: list[Call] = []
        self.function = "?"

    # -- attaching ------------------------------------------------------------------

    @contextmanager
    def metering(self) -> Iterator[KeyMeter]:
        """Every client the runtime makes while this is open is metered."""
        from chalicelib.runtime import clients

        original = clients.session

        def metered_session(region: str | None = None) -> Any:
            made = original(region)
            core = made._session
            core.register("before-parameter-build.dynamodb", self._before)
            core.register("after-call.dynamodb", self._after)
            core.register("before-parameter-build", self._params)
            core.register("before-call.apigatewaymanagementapi", self._answer)
            return made

        clients.client.cache_clear()
        clients.session = metered_session
        try:
            yield self
        finally:
            clients.session = original
            clients.client.cache_clear()

    # -- non-DynamoDB calls -------------------------------------------------------------

    def _params(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        if service == "dynamodb":
            return  # recorded after the call, with its units
        call = Call(self.function, service, model.name)
        if service == "sns" and model.name == "Publish":
            call.detail = params.get("MessageAttributes", {}).get("type", {}).get("StringValue")
        elif service == "sqs" and model.name == "SendMessage":
            call.detail = str(params.get("QueueUrl", "")).rsplit("/", 1)[-1]
            call.delay = _timer_delay(params.get("MessageBody"))
        self.calls.append(call)

    @staticmethod
    def _answer(**_: Any) -> Any:
        """API Gateway's management API, answered here: the embedded AWS has no websocket
        API (a response from a before-call handler stands for the HTTP call)."""
        return SimpleNamespace(status_code=200, headers={}, content=b""), {}

    # -- DynamoDB -------------------------------------------------------------------

    def _after(self, parsed: Mapping[str, Any], model: Any, context: dict, **kw: Any) -> None:
        entry = context.get("bench.meter")
        count = len(self.records)
        super()._after(parsed=parsed, model=model, context=context, **kw)
        if entry is None or len(self.records) == count:
            return
        op, params, _ = entry
        call = Call(self.function, "dynamodb", op)
        record = self.records[-1]
        if op in WRITES:
            call.touches = [t for w in record["writes"] for t in _write_touches(w)]
        elif op in READS:
            call.touches = self._read_touches(op, params, record["read"])
        self.calls.append(call)

    def _hash(self, table: str, index: str | None) -> str:
        description = self._table(table)
        if index is not None:
            [description] = [
                i for i in description["GlobalSecondaryIndexes"] if i["IndexName"] == index
            ]
        return next(k["AttributeName"] for k in description["KeySchema"] if k["KeyType"] == "HASH")

    def _read_touches(self, op: str, params: Any, read: Mapping[str, Any]) -> list[Touch]:
        from bench.cost import read_units

        units = read_units(read)
        if op in ("GetItem", "Query", "Scan"):
            table, index = params["TableName"], params.get("IndexName")
            if op == "GetItem":
                key = params["Key"]
                partition, sort = key["pk"]["S"], key.get("sk", {}).get("S")
            elif op == "Query":
                partition, sort = self._query_partition(table, index, params), None
            else:
                partition, sort = "(scan)", None
            return [Touch("read", index or TABLE, pattern(partition),
                          sort and pattern(sort), units, read["transactional"])]  # fmt: skip
        keys = (
            [(t, k) for t, r in params["RequestItems"].items() for k in r["Keys"]]
            if op == "BatchGetItem"
            else [(e["Get"]["TableName"], e["Get"]["Key"]) for e in params["TransactItems"]]
        )
        share = units / max(1, len(keys))
        return [
            Touch("read", TABLE, pattern(k["pk"]["S"]), pattern(k["sk"]["S"]), share,
                  read["transactional"])
            for _, k in keys
        ]  # fmt: skip

    def _query_partition(self, table: str, index: str | None, params: Mapping[str, Any]) -> str:
        wanted = self._hash(table, index)
        names = params.get("ExpressionAttributeNames", {})
        for name, value in _CONDITION.findall(params["KeyConditionExpression"]):
            if names.get(name, name) == wanted:
                return params["ExpressionAttributeValues"][value]["S"]
        raise ValueError(f"no partition key in {params['KeyConditionExpression']!r}")

    def _write(self, table: str, action: str, before: Any, transactional: bool, key: Any) -> dict:
        """``bench.meter``'s record of one item write, plus the sort key and, per index,
        the partition key its entry had before and has after."""
        written = super()._write(table, action, before, transactional, key)
        written["sk"] = key.get("sk", {}).get("S")
        after = None if action == "Delete" else self._stored(table, key)
        description = self._table(table)
        indexes = description.get("GlobalSecondaryIndexes", [])
        for entry, index in zip(written["indexes"], indexes, strict=True):
            hash_key = self._hash(table, index["IndexName"])
            entry["key_before"] = (before or {}).get(hash_key, {}).get("S")
            entry["key_after"] = (after or {}).get(hash_key, {}).get("S")
        return written


def _write_touches(write: Mapping[str, Any]) -> list[Touch]:
    """The partitions one item write costs units in: the item's own (1 unit per KB, 2 in
    a transaction), and each index entry it removes, adds or changes (1 unit per KB;
    an entry that moves is removed from one partition and added to another)."""
    factor = 2 if write["transactional"] else 1
    size = max(write["before"], write["after"])
    sort = write.get("sk")
    touches = [
        Touch("write", TABLE, pattern(write["pk"]), sort and pattern(sort),
              factor * max(1, math.ceil(size / WRITE_UNIT)), write["transactional"])
    ]  # fmt: skip
    for entry in write["indexes"]:
        before, after = entry["before"], entry["after"]
        old, new = entry.get("key_before"), entry.get("key_after")
        if before is not None and (after is None or entry["moved"]):
            touches.append(Touch("write", entry["name"], pattern(old), None,
                                 math.ceil(before / WRITE_UNIT)))  # fmt: skip
        if after is not None and (before is None or entry["moved"]):
            touches.append(Touch("write", entry["name"], pattern(new), None,
                                 math.ceil(after / WRITE_UNIT)))  # fmt: skip
        elif before is not None and after is not None and entry["changed"] and not entry["moved"]:
            touches.append(Touch("write", entry["name"], pattern(new), None,
                                 math.ceil(max(before, after) / WRITE_UNIT)))  # fmt: skip
    return touches


def _timer_delay(text: Any) -> float | None:
    """Seconds until a timer message is due when it is sent (None: not a timer)."""
    from chalicelib.runtime import timers

    try:
        message = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if not isinstance(message, dict) or "dueAt" not in message:
        return None
    return max(0.0, timers.due_in(message))


__all__ = ["READ_UNIT", "TABLE", "Call", "KeyMeter", "Touch", "pattern", "segment"]
