"""The table itself: its key names and indexes, one call wrapper that turns storage
failures into ``Unavailable``, keys, TTLs, shards and paged queries."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator
from typing import Any

from ..shared import Unavailable, client, settings

INSTANCE = "instance"


OUTBOX_PREFIX = "ob_"


PENDING_INDEX = "pending"


# a history item must stay under DynamoDB's 400 KB: an event larger than this is kept as
# its type and size only (SQS messages are at most 256 KiB and client bodies 16 KiB, so
# only an event built inside the runtime could reach it)
HISTORY_EVENT_BYTES = 300 * 1024


JSON_FIELDS = ("event", "effects", "commands", "context")


WORKLIST_INDEX = "worklist"


encode = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per call


encode_sorted = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def ddb() -> Any:
    return client("dynamodb")


def call(fn: Any, with_table: bool = True, **kwargs: Any) -> Any:
    """Call DynamoDB; storage failures become ``Unavailable``. Conditional failures
    (``ConditionalCheckFailedException``, ``TransactionCanceledException``) are raised
    as botocore's ClientError for the caller to interpret."""
    from botocore.exceptions import BotoCoreError, ClientError

    if with_table:
        kwargs["TableName"] = settings().table_name
    try:
        return fn(**kwargs)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
            raise
        raise Unavailable(f"storage error: {code or error}") from error
    except BotoCoreError as error:
        raise Unavailable(f"storage error: {error}") from error


def key(pk: str, sk: str) -> dict[str, Any]:
    """A table key in DynamoDB's JSON."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def expires_in(seconds: float) -> dict[str, str]:
    """An ``expiresAt`` value (TTL) ``seconds`` from now."""
    return {"N": str(int(time.time() + seconds))}


def shard(pk: str, prefix: str, shards: int) -> str:
    """The pending-index partition of ``pk``: ``<prefix>#NN`` by a stable hash."""
    return f"{prefix}#{zlib.crc32(pk.encode()) % shards:02d}"


def query(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a query matches, page after page."""
    while True:
        page = call(ddb().query, **kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
