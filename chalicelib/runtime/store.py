"""The DynamoDB adapter: workflow instances, their history, outbox and connections.

One table, ``pk``/``sk`` strings. Under ``pk = <workflow>#<instanceId>``:

- ``sk = "instance"``: the snapshot (JSON), ``version``, the owner, recent event ids,
  the websocket connection ids, and one ``ob_<messageId>`` attribute per outbound
  message not yet published (the outbox). While any are pending, ``pendingShard`` /
  ``pendingSince`` put the item in the sparse ``pending`` index the sweeper reads.
- ``sk = "history#<version>"``: one record per committed transition.

A commit is one ``TransactWriteItems`` call: the instance update, conditional on
the version it was read at, plus the history record. Outbox messages live in
separate attributes so that clearing the published ones needs no version check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .clients import client
from .errors import PayloadTooLarge, Unavailable
from .settings import settings

INSTANCE = "instance"
OUTBOX_PREFIX = "ob_"
PENDING_INDEX = "pending"
PENDING_SHARD = "outbox"


class ConflictError(Exception):
    """The item changed since it was read (another writer committed first)."""


class Instance:
    """One stored workflow instance as read from the table."""

    __slots__ = (
        "connections",
        "created_at",
        "outbox",
        "owner",
        "pk",
        "recent",
        "snapshot",
        "timers",
        "updated_at",
        "version",
    )

    def __init__(
        self,
        pk: str,
        version: int,
        snapshot: dict[str, Any],
        owner: str | None,
        recent: list[str],
        outbox: dict[str, dict[str, Any]],
        connections: set[str],
        created_at: str | None,
        updated_at: str | None,
        timers: dict[str, str] | None = None,
    ) -> None:
        self.pk = pk
        self.timers = timers or {}
        self.version = version
        self.snapshot = snapshot
        self.owner = owner
        self.recent = recent
        self.outbox = outbox
        self.connections = connections
        self.created_at = created_at
        self.updated_at = updated_at

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
            recent=[v["S"] for v in item.get("recent", {}).get("L", [])],
            outbox=outbox,
            connections=set(item.get("connections", {}).get("SS", [])),
            created_at=item.get("createdAt", {}).get("S"),
            updated_at=item.get("updatedAt", {}).get("S"),
            timers=json.loads(item["timers"]["S"]) if "timers" in item else {},
        )


def _ddb() -> Any:
    return client("dynamodb")


def _call(fn: Any, with_table: bool = True, **kwargs: Any) -> Any:
    """Call DynamoDB; storage failures become ``Unavailable`` (nothing was changed)."""
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


def load(pk: str) -> Instance | None:
    """The instance under ``pk`` (strongly consistent read), or None."""
    item = _call(_ddb().get_item, Key=_key(pk, INSTANCE), ConsistentRead=True).get("Item")
    return Instance.from_item(item) if item else None


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def commit(
    pk: str,
    expected_version: int | None,
    snapshot: Mapping[str, Any],
    state: str,
    owner: str | None,
    recent: list[str],
    add_outbox: Mapping[str, Mapping[str, Any]],
    remove_outbox: Iterable[str],
    pending_after: bool,
    history: Mapping[str, Any],
    now: str,
    timers: Mapping[str, str] | None = None,
) -> int:
    """Write the next version of ``pk`` and its history record in one transaction.

    ``expected_version`` None creates the instance. Returns the new version;
    raises ConflictError when the stored version is not the expected one.
    """
    from botocore.exceptions import ClientError

    version = (expected_version or 0) + 1
    names = {"#s": "snapshot", "#v": "version", "#st": "state", "#r": "recent", "#u": "updatedAt"}
    values: dict[str, Any] = {
        ":s": {"S": json.dumps(snapshot, separators=(",", ":"))},
        ":v": {"N": str(version)},
        ":st": {"S": state},
        ":r": {"L": [{"S": e} for e in recent]},
        ":u": {"S": now},
    }
    sets = ["#s = :s", "#v = :v", "#st = :st", "#r = :r", "#u = :u"]
    removes = []
    names["#t"] = "timers"
    if timers:
        values[":t"] = {"S": json.dumps(timers, separators=(",", ":"), sort_keys=True)}
        sets.append("#t = :t")
    else:
        removes.append("#t")
    for i, (message_id, message) in enumerate(add_outbox.items()):
        names[f"#ob{i}"] = OUTBOX_PREFIX + message_id
        values[f":ob{i}"] = {"S": json.dumps(message, separators=(",", ":"))}
        sets.append(f"#ob{i} = :ob{i}")
    for i, message_id in enumerate(remove_outbox):
        names[f"#rm{i}"] = OUTBOX_PREFIX + message_id
        removes.append(f"#rm{i}")
    names.update({"#ps": "pendingShard", "#pt": "pendingSince"})
    if pending_after:
        values.update({":ps": {"S": PENDING_SHARD}, ":pt": {"S": now}})
        sets += ["#ps = :ps", "#pt = if_not_exists(#pt, :pt)"]
    else:
        removes += ["#ps", "#pt"]
    if expected_version is None:
        names.update({"#c": "createdAt", "#o": "owner", "#w": "pk"})
        values.update({":c": {"S": now}, ":o": {"S": owner or ""}})
        sets += ["#c = :c", "#o = :o"]
        condition = "attribute_not_exists(#w)"
    else:
        values[":old"] = {"N": str(expected_version)}
        condition = "#v = :old"
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    table = settings().table_name
    record = {k: {"S": str(v)} for k, v in history.items() if v is not None}
    record.update(_key(pk, f"history#{version:010d}"))
    record["version"] = {"N": str(version)}
    try:
        _call(
            _ddb().transact_write_items,
            with_table=False,
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key(pk, INSTANCE),
                        "UpdateExpression": expression,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": record,
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
            ],
        )
    except ClientError as error:
        reasons = {r.get("Code") for r in error.response.get("CancellationReasons", [])}
        if reasons & {"ConditionalCheckFailed", "TransactionConflict"} or not reasons:
            raise ConflictError(str(error)) from error
        if reasons & {"ValidationError", "ItemCollectionSizeLimitExceeded"}:
            raise PayloadTooLarge(f"{pk} cannot be stored: {sorted(reasons - {'None'})}") from error
        raise Unavailable(f"storage error: {sorted(reasons - {'None'})}") from error
    return version


def clear_outbox(pk: str, message_ids: Iterable[str], version: int, everything: bool) -> None:
    """Drop sent messages. When they were the whole outbox of ``version`` and that is still
    the stored version, also take the item out of the pending index; otherwise it stays
    there, so the sweeper finds whatever is left."""
    from botocore.exceptions import ClientError

    names = {f"#m{i}": OUTBOX_PREFIX + m for i, m in enumerate(message_ids)}
    if everything:
        try:
            _call(
                _ddb().update_item,
                Key=_key(pk, INSTANCE),
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
        _call(
            _ddb().update_item,
            Key=_key(pk, INSTANCE),
            UpdateExpression="REMOVE " + ", ".join(names),
            ExpressionAttributeNames=names,
        )


def update_outbox_entry(pk: str, message_id: str, entry: Mapping[str, Any]) -> None:
    """Rewrite a still-pending outbox message (e.g. its publish attempt count)."""
    from botocore.exceptions import ClientError

    try:
        _call(
            _ddb().update_item,
            Key=_key(pk, INSTANCE),
            UpdateExpression="SET #m = :m",
            ConditionExpression="attribute_exists(#m)",
            ExpressionAttributeNames={"#m": OUTBOX_PREFIX + message_id},
            ExpressionAttributeValues={":m": {"S": json.dumps(entry, separators=(",", ":"))}},
        )
    except ClientError:
        return  # already published and cleared by someone else


def history(pk: str) -> list[dict[str, Any]]:
    """Every history record of ``pk``, oldest first."""
    records: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :h)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":h": {"S": "history#"}},
        "ConsistentRead": True,
    }
    while True:
        page = _call(_ddb().query, **kwargs)
        for item in page.get("Items", []):
            record = {k: v.get("S", v.get("N")) for k, v in item.items() if k not in ("pk", "sk")}
            record["version"] = int(record["version"])
            records.append(record)
        if "LastEvaluatedKey" not in page:
            return records
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def pending(older_than: str, limit: int = 100) -> list[str]:
    """Instances whose outbox has been pending since before ``older_than`` (ISO time)."""
    page = _call(
        _ddb().query,
        IndexName=PENDING_INDEX,
        KeyConditionExpression="pendingShard = :s AND pendingSince < :t",
        ExpressionAttributeValues={":s": {"S": PENDING_SHARD}, ":t": {"S": older_than}},
        Limit=limit,
    )
    return [item["pk"]["S"] for item in page.get("Items", [])]


def add_connection(pk: str, connection_id: str) -> None:
    """Follow ``pk`` from ``connection_id``; the instance must exist."""
    ddb = _ddb()
    _call(
        ddb.update_item,
        Key=_key(pk, INSTANCE),
        UpdateExpression="ADD connections :c",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":c": {"SS": [connection_id]}},
    )
    _call(
        ddb.put_item,
        Item={**_key(f"connection#{connection_id}", "connection"), "target": {"S": pk}},
    )


def connection_target(connection_id: str) -> str | None:
    """The instance key a connection follows, or None."""
    key = _key(f"connection#{connection_id}", "connection")
    item = _call(_ddb().get_item, Key=key, ConsistentRead=True).get("Item")
    return item["target"]["S"] if item else None


def remove_connection(connection_id: str, pk: str | None = None) -> None:
    """Stop sending to ``connection_id`` (on disconnect, or when it is gone)."""
    ddb = _ddb()
    pk = pk or connection_target(connection_id)
    if pk is None:
        return
    _call(
        ddb.update_item,
        Key=_key(pk, INSTANCE),
        UpdateExpression="DELETE connections :c",
        ExpressionAttributeValues={":c": {"SS": [connection_id]}},
    )
    _call(ddb.delete_item, Key=_key(f"connection#{connection_id}", "connection"))


def put_record(pk: str, sk: str, data: Mapping[str, Any], only_new: bool = False) -> bool:
    """Store a JSON record (e.g. a station's work item); False if ``only_new`` and it exists."""
    from botocore.exceptions import ClientError

    kwargs: dict[str, Any] = {
        "Item": {**_key(pk, sk), "data": {"S": json.dumps(data, separators=(",", ":"))}}
    }
    if only_new:
        kwargs["ConditionExpression"] = "attribute_not_exists(sk)"
    try:
        _call(_ddb().put_item, **kwargs)
    except ClientError:
        return False
    return True


def records(pk: str) -> list[tuple[str, dict[str, Any]]]:
    """All JSON records under ``pk`` as (sk, data), in sort-key order."""
    result: list[tuple[str, dict[str, Any]]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ConsistentRead": True,
    }
    while True:
        page = _call(_ddb().query, **kwargs)
        result += [(i["sk"]["S"], json.loads(i["data"]["S"])) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return result
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def delete_record(pk: str, sk: str) -> bool:
    """Delete a record; False if it was not there (someone else took it)."""
    from botocore.exceptions import ClientError

    try:
        _call(_ddb().delete_item, Key=_key(pk, sk), ConditionExpression="attribute_exists(sk)")
    except ClientError:
        return False
    return True
