"""The outbox as stored: dropping sent messages, rewriting a pending one, and the sparse
pending index the sweeper walks shard by shard."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..shared import settings
from .table import INSTANCE, OUTBOX_PREFIX, PENDING_INDEX, call, ddb, encode, key, query


def clear_outbox(pk: str, message_ids: Iterable[str], version: int, everything: bool) -> None:
    """Drop sent messages. When they were the whole outbox of ``version`` and that is still
    the stored version, also take the item out of the pending index; otherwise it stays
    there, so the sweeper finds whatever is left."""
    from botocore.exceptions import ClientError

    names = {f"#m{i}": OUTBOX_PREFIX + m for i, m in enumerate(message_ids)}
    if everything:
        try:
            call(
                ddb().update_item,
                Key=key(pk, INSTANCE),
                UpdateExpression="REMOVE " + ", ".join([*names, "#ps", "#pt"]),
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={
                    **names,
                    "#ps": "pendingShard",
                    "#pt": "pendingSince",
                    "#v": "version",
                },
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
            return
        except ClientError:
            pass  # a newer commit may have added messages of its own: keep it pending
    if names:
        call(
            ddb().update_item,
            Key=key(pk, INSTANCE),
            UpdateExpression="REMOVE " + ", ".join(names),
            ExpressionAttributeNames=names,
        )


def update_outbox_entry(pk: str, message_id: str, entry: Mapping[str, Any]) -> None:
    """Rewrite a still-pending outbox message (e.g. its publish attempt count)."""
    from botocore.exceptions import ClientError

    try:
        call(
            ddb().update_item,
            Key=key(pk, INSTANCE),
            UpdateExpression="SET #m = :m",
            ConditionExpression="attribute_exists(#m)",
            ExpressionAttributeNames={"#m": OUTBOX_PREFIX + message_id},
            ExpressionAttributeValues={":m": {"S": encode(entry)}},
        )
    except ClientError:
        return  # already published and cleared by someone else


def pending(shard_key: str, older_than: str) -> Iterator[str]:
    """Instances in one shard of the pending index whose outbox has been pending since
    before ``older_than`` (ISO time), oldest first; every page is read as iterated."""
    for item in query(
        IndexName=PENDING_INDEX,
        KeyConditionExpression="pendingShard = :s AND pendingSince < :t",
        ExpressionAttributeValues={":s": {"S": shard_key}, ":t": {"S": older_than}},
        Limit=100,  # a page at a time: a long backlog is read as the sweeper gets to it
    ):
        yield item["pk"]["S"]


def outbox_shards() -> list[str]:
    """Every shard of the pending index that holds outboxes."""
    return [f"outbox#{n:02d}" for n in range(settings().outbox_shards)]


def oldest_pending(shard_key: str) -> str | None:
    """When the oldest outbox in one shard of the pending index became pending (ISO
    time; one read of one item), or None when the shard holds none."""
    page = call(
        ddb().query,
        IndexName=PENDING_INDEX,
        KeyConditionExpression="pendingShard = :s",
        ExpressionAttributeValues={":s": {"S": shard_key}},
        ProjectionExpression="pendingSince",
        ScanIndexForward=True,
        Limit=1,
    )
    items = page.get("Items", [])
    return items[0]["pendingSince"]["S"] if items else None
