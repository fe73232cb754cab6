"""The in-flight counters: instances running on each definition version, sharded by
instance key, added to in the commit that starts, ends or migrates an instance."""

from __future__ import annotations

from typing import Any

from .. import versions
from .table import key, query


def counter_key(pk: str, number: int) -> dict[str, Any]:
    """The in-flight counter item an instance ``pk`` on version ``number`` counts in."""
    workflow = pk.split("#", 1)[0]
    return key(f"inflight#{workflow}#{versions.counter_shard(pk):02d}", f"v{number}")


def counter_update(pk: str, number: int, delta: int) -> dict[str, Any]:
    return {
        "Key": counter_key(pk, number),
        "UpdateExpression": "ADD #n :d",
        "ExpressionAttributeNames": {"#n": "n"},
        "ExpressionAttributeValues": {":d": {"N": str(delta)}},
    }


def in_flight(workflow: str) -> dict[int, int]:
    """Instances of ``workflow`` in flight, by definition version: the counter shards
    summed (one query per shard; no scan)."""
    totals: dict[int, int] = {}
    for n in range(versions.COUNTER_SHARDS):
        for item in query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"inflight#{workflow}#{n:02d}"}},
        ):
            number = int(item["sk"]["S"].lstrip("v"))
            totals[number] = totals.get(number, 0) + int(item.get("n", {}).get("N", "0"))
    return totals
