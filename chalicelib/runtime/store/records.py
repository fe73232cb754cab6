"""Reading what the table holds: an instance, its history, its dedupe records, a client's
Idempotency-Key, the worklist, and every instance of a workflow (for offline tools)."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..shared import settings
from .table import INSTANCE, JSON_FIELDS, OUTBOX_PREFIX, WORKLIST_INDEX, call, ddb, key, query


@dataclass(slots=True)
class Instance:
    """One stored workflow instance as read from the table."""

    pk: str
    version: int
    snapshot: dict[str, Any]
    owner: str | None
    outbox: dict[str, dict[str, Any]]
    created_at: str | None
    updated_at: str | None
    timers: dict[str, str] = field(default_factory=dict)
    invokes: dict[str, str] = field(default_factory=dict)
    watchers: int = 0
    definition: int | None = None  # the workflow version it runs on (None: before versions)
    # its parent, children and message channels (messaging/actors.py), or empty
    actors: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Instance:
        outbox = {
            key[len(OUTBOX_PREFIX) :]: json.loads(value["S"])
            for key, value in item.items()
            if key.startswith(OUTBOX_PREFIX)
        }
        return cls(
            pk=item["pk"]["S"],
            version=int(item["version"]["N"]),
            snapshot=json.loads(item["snapshot"]["S"]),
            owner=item.get("owner", {}).get("S"),
            outbox=outbox,
            created_at=item.get("createdAt", {}).get("S"),
            updated_at=item.get("updatedAt", {}).get("S"),
            timers=json.loads(item["timers"]["S"]) if "timers" in item else {},
            invokes=json.loads(item["invokes"]["S"]) if "invokes" in item else {},
            watchers=int(item.get("watchers", {}).get("N", "0")),
            definition=int(item["definition"]["N"]) if "definition" in item else None,
            actors=json.loads(item["actors"]["S"]) if "actors" in item else {},
        )


@dataclass(slots=True)
class Idempotency:
    """A client's Idempotency-Key: the request it is bound to and the answer it got."""

    event_id: str
    fingerprint: str
    response: dict[str, Any] | None = None


def load(pk: str) -> Instance | None:
    """The instance under ``pk`` (strongly consistent read), or None."""
    item = call(ddb().get_item, Key=key(pk, INSTANCE), ConsistentRead=True).get("Item")
    return Instance.from_item(item) if item else None


def applied(pk: str, event_id: str) -> bool:
    """Whether the instance under ``pk`` committed the event ``event_id`` (its dedupe
    record is there: strongly consistent)."""
    item = call(
        ddb().get_item, Key=key(pk, f"event#{event_id}"), ConsistentRead=True,
        ProjectionExpression="pk",
    ).get("Item")  # fmt: skip
    return item is not None


def idempotency(event_id: str) -> Idempotency | None:
    """The stored Idempotency-Key record of ``event_id`` (strongly consistent), or None."""
    item = call(
        ddb().get_item, Key=key(f"idempotency#{event_id}", "idempotency"), ConsistentRead=True
    ).get("Item")
    if item is None:
        return None
    return Idempotency(event_id, item["fingerprint"]["S"], json.loads(item["response"]["S"]))


def committed_token(pk: str, version: int) -> str | None:
    """The token of the commit the history records at ``version``, or None (settles an
    ambiguous commit: it was applied if its own token is there)."""
    item = call(ddb().get_item, Key=key(pk, f"history#{version:010d}"), ConsistentRead=True).get(
        "Item"
    )
    return item["token"]["S"] if item and "token" in item else None


def history(pk: str) -> list[dict[str, Any]]:
    """Every history record of ``pk``, oldest first."""
    records: list[dict[str, Any]] = []
    for item in query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :h)",
        ExpressionAttributeValues={":pk": {"S": pk}, ":h": {"S": "history#"}},
        ConsistentRead=True,
    ):
        record = {
            k: v.get("S", v.get("N")) for k, v in item.items() if k not in ("pk", "sk", "token")
        }
        record["version"] = int(record["version"])
        for name in ("definition", "migratedFrom"):
            if name in record:
                record[name] = int(record[name])
        for name in JSON_FIELDS:
            if name in record:
                record[name] = json.loads(record[name])
        records.append(record)
    return records


def listed(workflow: str) -> list[Instance]:
    """The instances on ``workflow``'s worklist, longest listed first (every shard of its
    part of the worklist index, merged; the index is eventually consistent)."""
    shards = [
        list(
            query(
                IndexName=WORKLIST_INDEX,
                KeyConditionExpression="listShard = :s",
                ExpressionAttributeValues={":s": {"S": f"worklist#{workflow}#{n:02d}"}},
            )
        )
        for n in range(settings().worklist_shards)
    ]
    merged = heapq.merge(*shards, key=lambda item: item["listedSince"]["S"])
    return [Instance.from_item(item) for item in merged]


def instance_keys(workflow: str) -> Iterator[str]:
    """The key of every stored instance of ``workflow``. A Scan: for offline tools (the
    replay check's export), never on a request's path."""
    kwargs: dict[str, Any] = {
        "FilterExpression": "sk = :i AND begins_with(pk, :w)",
        "ExpressionAttributeValues": {":i": {"S": INSTANCE}, ":w": {"S": f"{workflow}#"}},
        "ProjectionExpression": "pk",
    }
    while True:
        page = call(ddb().scan, **kwargs)
        for item in page.get("Items", []):
            yield item["pk"]["S"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
