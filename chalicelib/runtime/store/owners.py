"""An owner's instances, newest first, a page at a time (``GET /orders``: "My orders").

An instance with an owner gets ``ownerKey`` (``<workflow>#<owner>``) and ``ownedSince``
(its creation time) in the commit that creates it (``transaction``): the keys of the
sparse, keys-only ``owner`` index. One partition per owner, so no key is written by
every instance; the keys never change and nothing else is projected, so the index is
written once per instance. DynamoDB's guide ("Take advantage of sparse indexes"): "For
any item in a table, DynamoDB writes a corresponding index entry only if the index sort
key value is present in the item."
"""

from __future__ import annotations

from typing import Any

from ..shared import settings
from .records import Instance
from .table import INSTANCE, call, ddb, key

OWNER_INDEX = "owner"


def owned(
    workflow: str, owner: str, limit: int, after: tuple[str, str] | None
) -> tuple[list[Instance], tuple[str, str] | None]:
    """Up to ``limit`` of ``owner``'s instances of ``workflow``, newest first, starting
    after ``after`` (the instance key and creation time of the last one of the page
    before), and where the next page starts (None: this was the last). One query of the
    owner's partition of the index (eventually consistent: an instance is listed within
    about a second of its creation), then one strongly consistent BatchGetItem."""
    owner_key = {"S": f"{workflow}#{owner}"}
    kwargs: dict[str, Any] = {
        "IndexName": OWNER_INDEX,
        "KeyConditionExpression": "ownerKey = :o",
        "ExpressionAttributeValues": {":o": owner_key},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if after is not None:
        start = {"ownerKey": owner_key, "ownedSince": {"S": after[1]}}
        kwargs["ExclusiveStartKey"] = {**key(after[0], INSTANCE), **start}
    page = call(ddb().query, **kwargs)
    keys = [item["pk"]["S"] for item in page.get("Items", [])]
    last = page.get("LastEvaluatedKey")
    following = (last["pk"]["S"], last["ownedSince"]["S"]) if last else None
    return [i for i in load_many(keys) if i is not None], following


def load_many(pks: list[str]) -> list[Instance | None]:
    """The instances of ``pks`` (at most 100), in that order (None for one not stored),
    read strongly consistently in one BatchGetItem (again for any it left unprocessed)."""
    wanted: list[dict[str, Any]] = [key(pk, INSTANCE) for pk in dict.fromkeys(pks)]
    found: dict[str, Instance] = {}
    table = settings().table_name
    while wanted:
        answer = call(
            ddb().batch_get_item,
            with_table=False,
            RequestItems={table: {"Keys": wanted, "ConsistentRead": True}},
        )
        for item in answer.get("Responses", {}).get(table, []):
            found[item["pk"]["S"]] = Instance.from_item(item)
        wanted = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    return [found.get(pk) for pk in pks]
