"""Websocket connections following an instance, each its own record with a TTL.

Under the instance's ``pk``: ``sk = "connection#<id>"`` per follower, so the instance
item never grows with them; under ``pk = connection#<id>`` the instance it follows
(for ``$disconnect`` and messages). The instance item keeps only a count of
watchers, so a commit looks for connections only when someone follows. Both records
expire after API Gateway's 2-hour connection limit, so a missed ``$disconnect`` leaks
nothing.
"""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Any

from .. import store
from ..shared import Conflict, NotFound, client, settings

_PREFIX = "connection#"


def add(pk: str, connection_id: str) -> None:
    """Follow ``pk`` from ``connection_id``. NotFound when the instance does not exist,
    Conflict when it already has the most followers allowed."""
    from botocore.exceptions import ClientError

    limit = settings().max_connections_per_instance
    if len(following(pk)) >= limit:
        raise Conflict(f"{pk.partition('#')[2]!r} already has {limit} live connections")
    table, expires = settings().table_name, store.expires_in(settings().connection_ttl_seconds)
    try:
        store.call(
            client("dynamodb").transact_write_items,
            with_table=False,
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": store.key(pk, store.INSTANCE),
                        "UpdateExpression": "ADD watchers :one",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**store.key(pk, _PREFIX + connection_id), "expiresAt": expires},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {
                            **store.key(_PREFIX + connection_id, "connection"),
                            "target": {"S": pk},
                            "expiresAt": expires,
                        },
                    }
                },
            ],
        )
    except ClientError as error:
        reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
        if reasons[:1] == ["ConditionalCheckFailed"]:
            raise NotFound(f"no instance {pk.partition('#')[2]!r}") from None
        raise Conflict("the instance changed while connecting; connect again") from None


def following(pk: str) -> list[str]:
    """The live connection ids following ``pk``."""
    now = time.time()
    return [
        item["sk"]["S"][len(_PREFIX) :]
        for item in store.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :c)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":c": {"S": _PREFIX}},
            ConsistentRead=True,
        )
        if float(item.get("expiresAt", {}).get("N", "inf")) > now
    ]


def target(connection_id: str) -> str | None:
    """The instance key a connection follows, or None."""
    item = store.call(
        client("dynamodb").get_item,
        Key=store.key(_PREFIX + connection_id, "connection"),
        ConsistentRead=True,
    ).get("Item")
    return item["target"]["S"] if item else None


def remove(connection_id: str, pk: str | None = None) -> None:
    """Stop sending to ``connection_id`` (on disconnect, or when it is gone)."""
    from botocore.exceptions import ClientError

    pk = pk or target(connection_id)
    if pk is None:
        return
    table = settings().table_name
    ddb: Any = client("dynamodb")
    with suppress(ClientError):  # removed already (or its instance is gone): nothing to count
        store.call(
            ddb.transact_write_items,
            with_table=False,
            TransactItems=[
                {
                    "Delete": {
                        "TableName": table,
                        "Key": store.key(pk, _PREFIX + connection_id),
                        "ConditionExpression": "attribute_exists(sk)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": store.key(pk, store.INSTANCE),
                        "UpdateExpression": "ADD watchers :less",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":less": {"N": "-1"}},
                    }
                },
            ],
        )
    store.call(ddb.delete_item, Key=store.key(_PREFIX + connection_id, "connection"))
