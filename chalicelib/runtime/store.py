"""The DynamoDB adapter: workflow instances, their history, outbox and dedupe records.

One table, ``pk``/``sk`` strings, TTL on ``expiresAt`` (epoch seconds). Under
``pk = <workflow>#<instanceId>``:

- ``sk = "instance"``: the snapshot (JSON), ``version``, the owner, the active
  timers, the number of websocket watchers, and one ``ob_<messageId>`` attribute per
  outbound message not yet published (the outbox). While any are pending,
  ``pendingShard`` (``outbox#NN``, by hash of the key) and ``pendingSince`` put the
  item in the sparse ``pending`` index the sweeper walks shard by shard.
  A workflow with a worklist (staff queues) puts the instances its ``worklist`` test
  selects in the sparse ``worklist`` index the same way: ``listShard``
  (``worklist#<workflow>#NN``) and ``listedSince`` (when it joined the list), written in
  the commit that puts it there or takes it off.
  An instance with an owner gets ``ownerKey`` (``<workflow>#<owner>``) and
  ``ownedSince`` (its creation time) when it is created: the sparse, keys-only ``owner``
  index on them lists an
  owner's instances newest first, one partition per owner (no key every instance writes),
  written once per instance (keys-only, and the keys never change afterwards).
- ``sk = "history#<version>"``: one record per committed transition, with the full
  event (payload included, so histories can be replayed; one larger than
  ``HISTORY_EVENT_BYTES`` is kept as its type and size with ``truncated``), the
  definition version it ran on and a digest of the snapshot it produced.
- ``sk = "event#<eventId>"``: the event ids applied (bus, timer, runtime), each its own
  record with a TTL, so a redelivery is recognised however many events came since and
  the instance item never grows with them.

Under ``pk = idempotency#<eventId>``: a client's Idempotency-Key, the fingerprint of
the request it answered and that first answer.

Under ``pk = inflight#<workflow>#NN``, ``sk = v<definition version>``: one shard of the
count of instances in flight on that version (``n``), added to in the commit that starts,
ends or migrates an instance; shard NN by hash of the instance key, summed on read.

A commit is one ``TransactWriteItems`` call: the instance update, conditional on the
version it was read at, the history record, the dedupe record (conditional on
not existing) and the in-flight counter changes. Outbox messages live in separate
attributes so that clearing the published ones needs no version check.
"""

from __future__ import annotations

import heapq
import json
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import versions
from .clients import client
from .errors import PayloadTooLarge, Unavailable
from .settings import settings

INSTANCE = "instance"
OUTBOX_PREFIX = "ob_"
PENDING_INDEX = "pending"
# a history item must stay under DynamoDB's 400 KB: an event larger than this is kept as
# its type and size only (SQS messages are at most 256 KiB and client bodies 16 KiB, so
# only an event built inside the runtime could reach it)
HISTORY_EVENT_BYTES = 300 * 1024
_JSON_FIELDS = ("event", "effects", "commands", "context")
WORKLIST_INDEX = "worklist"
OWNER_INDEX = "owner"
_encode = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per call
_encode_sorted = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


class ConflictError(Exception):
    """The item changed since it was read (another writer committed first)."""


class DuplicateEvent(Exception):
    """The event id was applied before: the commit was refused and changed nothing."""


class IdempotencyTaken(Exception):
    """Another request with the same Idempotency-Key committed first."""


class Ambiguous(Unavailable):
    """Storage failed in a way that leaves unknown whether the commit was applied."""


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
        )


@dataclass(slots=True)
class Idempotency:
    """A client's Idempotency-Key: the request it is bound to and the answer it got."""

    event_id: str
    fingerprint: str
    response: dict[str, Any] | None = None


@dataclass(slots=True)
class Commit:
    """Everything one committed transition writes, in one transaction.

    ``expected_version`` None creates the instance. ``dedupe`` is the event id to
    remember under the instance (bus, timer and runtime events); ``idempotency`` the
    client's key with the response to keep for its retries. ``definition`` and
    ``definition_hash`` the workflow version the instance runs on after this commit;
    ``counters`` the in-flight count changes by version (+1 started, -1 ended or left).
    """

    pk: str
    expected_version: int | None
    snapshot: Mapping[str, Any]
    state: str
    now: str
    history: Mapping[str, Any]
    owner: str | None = None
    timers: Mapping[str, str] = field(default_factory=dict)
    invokes: Mapping[str, str] = field(default_factory=dict)
    add_outbox: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    remove_outbox: Iterable[str] = ()
    pending_after: bool = False
    # None: the workflow keeps no worklist (nothing written); else whether it is listed
    listed: bool | None = None
    dedupe: str | None = None
    idempotency: Idempotency | None = None
    definition: int | None = None
    definition_hash: str | None = None
    counters: Mapping[int, int] = field(default_factory=dict)
    # the snapshot and the new messages as stored, encoded once (sized, then written)
    snapshot_text: str = field(init=False, repr=False)
    messages_text: dict[str, str] = field(init=False, repr=False)
    # fixed once, so that sending the same commit again is the very same request
    token: str = field(init=False, repr=False)
    expires: dict[str, dict[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.snapshot_text = _encode(self.snapshot)
        self.messages_text = {m: _encode(e) for m, e in self.add_outbox.items()}
        # one per decision: a twin request (same key, same version) is another commit
        self.token = uuid.uuid4().hex
        self.expires = {
            "event": expires_in(settings().event_id_ttl_seconds),
            "idempotency": expires_in(settings().idempotency_ttl_seconds),
        }

    @property
    def version(self) -> int:
        return (self.expected_version or 0) + 1


def _ddb() -> Any:
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


def load(pk: str) -> Instance | None:
    """The instance under ``pk`` (strongly consistent read), or None."""
    item = call(_ddb().get_item, Key=key(pk, INSTANCE), ConsistentRead=True).get("Item")
    return Instance.from_item(item) if item else None


def instance_bytes(instance: Instance | None, commit: Commit) -> int:
    """An upper estimate of the instance item's size after ``commit`` (DynamoDB counts
    attribute names plus values; the outbox and snapshot are nearly all of it)."""
    outbox = dict(instance.outbox) if instance else {}
    for message_id in commit.remove_outbox:
        outbox.pop(message_id, None)
    outbox.update(commit.add_outbox)
    size = 400  # names and small scalars: version, owner, times, shard, watchers
    size += len(commit.snapshot_text.encode())
    size += len(_encode(dict(commit.timers))) + len(_encode(dict(commit.invokes)))
    for message_id, message in outbox.items():
        text = commit.messages_text.get(message_id) or _encode(message)
        size += len(OUTBOX_PREFIX) + len(message_id) + len(text.encode())
    return size


def commit(write: Commit) -> int:
    """Write the next version, its history record and its dedupe record in one transaction.

    Returns the new version. Raises ConflictError when the stored version is not the
    expected one, DuplicateEvent when the event id was applied before, IdempotencyTaken
    when the client's key was used by a request that committed first, PayloadTooLarge
    when the item cannot be stored, Ambiguous when the outcome is unknown.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    table = settings().table_name
    items = [{"Update": {"TableName": table, **_instance_update(write)}}]
    items.append({"Put": {"TableName": table, "Item": _history_item(write), **_NEW}})
    if write.dedupe is not None:
        dedupe = {
            **key(write.pk, f"event#{write.dedupe}"),
            "version": {"N": str(write.version)},
            "expiresAt": write.expires["event"],
        }
        items.append({"Put": {"TableName": table, "Item": dedupe, **_NEW}})
    if write.idempotency is not None:
        items.append({"Put": {"TableName": table, "Item": _idempotency_item(write), **_NEW}})
    for number, delta in sorted(write.counters.items()):  # last: reasons index the others
        items.append({"Update": {"TableName": table, **_counter_update(write.pk, number, delta)}})
    try:
        # DynamoDB applies a token's transaction once (10 minutes): a re-send of an
        # ambiguous commit, by botocore or by us, cannot apply it twice
        _ddb().transact_write_items(TransactItems=items, ClientRequestToken=write.token)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
        if code == "TransactionCanceledException":
            _raise_cancelled(write, reasons)
        if code in ("ProvisionedThroughputExceededException", "ThrottlingException"):
            raise Unavailable(f"storage error: {code}") from error  # refused: nothing written
        if code == "ValidationException" and "size" in str(error).lower():
            raise PayloadTooLarge(f"{write.pk} cannot be stored: {error}") from error
        raise Ambiguous(f"storage error: {code or error}") from error
    except BotoCoreError as error:
        raise Ambiguous(f"storage error: {error}") from error
    return write.version


_NEW = {"ConditionExpression": "attribute_not_exists(sk)"}


def history_event(event: Mapping[str, Any]) -> str:
    """The event as its history record keeps it: JSON, or, past HISTORY_EVENT_BYTES, its
    type and size marked ``truncated`` (such a history cannot be replayed)."""
    text = _encode_sorted(dict(event))
    size = len(text.encode())
    if size <= HISTORY_EVENT_BYTES:
        return text
    return _encode_sorted({"type": event.get("type"), "truncated": True, "bytes": size})


def _history_item(write: Commit) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, value in write.history.items():
        if value is None:
            continue
        if name == "event":
            record[name] = {"S": history_event(value)}
        elif name in _JSON_FIELDS:
            record[name] = {"S": _encode_sorted(value)}
        else:
            record[name] = {"S": str(value)}
    record.update(key(write.pk, f"history#{write.version:010d}"))
    record["version"] = {"N": str(write.version)}
    record["token"] = {"S": write.token}
    if write.definition is not None:
        record["definition"] = {"N": str(write.definition)}
    return record


def counter_key(pk: str, number: int) -> dict[str, Any]:
    """The in-flight counter item an instance ``pk`` on version ``number`` counts in."""
    workflow = pk.split("#", 1)[0]
    return key(f"inflight#{workflow}#{versions.counter_shard(pk):02d}", f"v{number}")


def _counter_update(pk: str, number: int, delta: int) -> dict[str, Any]:
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


def _raise_cancelled(write: Commit, reasons: list[str | None]) -> None:
    """Say why a transaction was cancelled, from its per-item reasons (items in the order
    instance, history, dedupe, idempotency)."""
    failed = {i for i, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"}
    extra = 2
    if write.dedupe is not None:
        if extra in failed:
            raise DuplicateEvent(write.dedupe)
        extra += 1
    if write.idempotency is not None and extra in failed:
        raise IdempotencyTaken(write.idempotency.event_id)
    if failed or "TransactionConflict" in reasons or not reasons:
        raise ConflictError(f"{write.pk}: {reasons}")
    if {"ValidationError", "ItemCollectionSizeLimitExceeded"} & set(reasons):
        raise PayloadTooLarge(f"{write.pk} cannot be stored: {sorted(set(reasons) - {'None'})}")
    raise Unavailable(f"storage error: {sorted({r for r in reasons if r} - {'None'})}")


def _instance_update(write: Commit) -> dict[str, Any]:
    names = {
        "#s": "snapshot", "#v": "version", "#st": "state", "#u": "updatedAt", "#t": "timers",
        "#i": "invokes",
    }  # fmt: skip
    values: dict[str, Any] = {
        ":s": {"S": write.snapshot_text},
        ":v": {"N": str(write.version)},
        ":st": {"S": write.state},
        ":u": {"S": write.now},
    }
    sets = ["#s = :s", "#v = :v", "#st = :st", "#u = :u"]
    removes = []
    if write.definition is not None:
        names.update({"#d": "definition", "#dh": "definitionHash"})
        values.update({":d": {"N": str(write.definition)}, ":dh": {"S": write.definition_hash}})
        sets += ["#d = :d", "#dh = :dh"]
    if write.timers:
        values[":t"] = {"S": _encode_sorted(dict(write.timers))}
        sets.append("#t = :t")
    else:
        removes.append("#t")
    if write.invokes:
        values[":i"] = {"S": _encode_sorted(dict(write.invokes))}
        sets.append("#i = :i")
    else:
        removes.append("#i")
    for i, message_id in enumerate(write.add_outbox):
        names[f"#ob{i}"] = OUTBOX_PREFIX + message_id
        values[f":ob{i}"] = {"S": write.messages_text[message_id]}
        sets.append(f"#ob{i} = :ob{i}")
    for i, message_id in enumerate(write.remove_outbox):
        names[f"#rm{i}"] = OUTBOX_PREFIX + message_id
        removes.append(f"#rm{i}")
    names.update({"#ps": "pendingShard", "#pt": "pendingSince"})
    if write.pending_after:
        values[":ps"] = {"S": shard(write.pk, "outbox", settings().outbox_shards)}
        values[":pt"] = {"S": write.now}
        sets += ["#ps = :ps", "#pt = if_not_exists(#pt, :pt)"]
    else:
        removes += ["#ps", "#pt"]
    if write.listed is not None:
        names.update({"#ls": "listShard", "#lt": "listedSince"})
        if write.listed:
            workflow = write.pk.partition("#")[0]
            values[":ls"] = {
                "S": shard(write.pk, f"worklist#{workflow}", settings().worklist_shards)
            }
            values[":lt"] = {"S": write.now}
            sets += ["#ls = :ls", "#lt = if_not_exists(#lt, :lt)"]
        else:
            removes += ["#ls", "#lt"]
    if write.expected_version is None:
        names.update({"#c": "createdAt", "#o": "owner", "#w": "pk"})
        values.update({":c": {"S": write.now}, ":o": {"S": write.owner or ""}})
        sets += ["#c = :c", "#o = :o"]
        if write.owner:
            names.update({"#ok": "ownerKey", "#os": "ownedSince"})
            values[":ok"] = {"S": f"{write.pk.partition('#')[0]}#{write.owner}"}
            sets += ["#ok = :ok", "#os = :c"]
        condition = "attribute_not_exists(#w)"
    else:
        values[":old"] = {"N": str(write.expected_version)}
        condition = "#v = :old"
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return {
        "Key": key(write.pk, INSTANCE),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _idempotency_item(write: Commit) -> dict[str, Any]:
    assert write.idempotency is not None
    return {
        **key(f"idempotency#{write.idempotency.event_id}", "idempotency"),
        "fingerprint": {"S": write.idempotency.fingerprint},
        "response": {
            "S": json.dumps(write.idempotency.response, default=str, separators=(",", ":"))
        },
        "instance": {"S": write.pk},
        "version": {"N": str(write.version)},
        "expiresAt": write.expires["idempotency"],
    }


def applied(pk: str, event_id: str) -> bool:
    """Whether the instance under ``pk`` committed the event ``event_id`` (its dedupe
    record is there: strongly consistent)."""
    item = call(
        _ddb().get_item, Key=key(pk, f"event#{event_id}"), ConsistentRead=True,
        ProjectionExpression="pk",
    ).get("Item")  # fmt: skip
    return item is not None


def idempotency(event_id: str) -> Idempotency | None:
    """The stored Idempotency-Key record of ``event_id`` (strongly consistent), or None."""
    item = call(
        _ddb().get_item, Key=key(f"idempotency#{event_id}", "idempotency"), ConsistentRead=True
    ).get("Item")
    if item is None:
        return None
    return Idempotency(event_id, item["fingerprint"]["S"], json.loads(item["response"]["S"]))


def committed_token(pk: str, version: int) -> str | None:
    """The token of the commit the history records at ``version``, or None (settles an
    ambiguous commit: it was applied if its own token is there)."""
    item = call(_ddb().get_item, Key=key(pk, f"history#{version:010d}"), ConsistentRead=True).get(
        "Item"
    )
    return item["token"]["S"] if item and "token" in item else None


def clear_outbox(pk: str, message_ids: Iterable[str], version: int, everything: bool) -> None:
    """Drop sent messages. When they were the whole outbox of ``version`` and that is still
    the stored version, also take the item out of the pending index; otherwise it stays
    there, so the sweeper finds whatever is left."""
    from botocore.exceptions import ClientError

    names = {f"#m{i}": OUTBOX_PREFIX + m for i, m in enumerate(message_ids)}
    if everything:
        try:
            call(
                _ddb().update_item,
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
            _ddb().update_item,
            Key=key(pk, INSTANCE),
            UpdateExpression="REMOVE " + ", ".join(names),
            ExpressionAttributeNames=names,
        )


def update_outbox_entry(pk: str, message_id: str, entry: Mapping[str, Any]) -> None:
    """Rewrite a still-pending outbox message (e.g. its publish attempt count)."""
    from botocore.exceptions import ClientError

    try:
        call(
            _ddb().update_item,
            Key=key(pk, INSTANCE),
            UpdateExpression="SET #m = :m",
            ConditionExpression="attribute_exists(#m)",
            ExpressionAttributeNames={"#m": OUTBOX_PREFIX + message_id},
            ExpressionAttributeValues={":m": {"S": _encode(entry)}},
        )
    except ClientError:
        return  # already published and cleared by someone else


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
        for name in _JSON_FIELDS:
            if name in record:
                record[name] = json.loads(record[name])
        records.append(record)
    return records


def query(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a query matches, page after page."""
    while True:
        page = call(_ddb().query, **kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


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


def owned(
    workflow: str, owner: str, limit: int, after: tuple[str, str] | None
) -> tuple[list[Instance], tuple[str, str] | None]:
    """Up to ``limit`` of ``owner``'s instances of ``workflow``, newest first, starting
    after ``after`` (the instance key and creation time of the last one of the page
    before), and where the next page starts (None: this was the last). One query of the
    owner's partition of the sparse ``owner`` index (eventually consistent: an instance
    is listed within about a second of its creation) and one strongly consistent
    BatchGetItem of the instances themselves."""
    kwargs: dict[str, Any] = {
        "IndexName": OWNER_INDEX,
        "KeyConditionExpression": "ownerKey = :o",
        "ExpressionAttributeValues": {":o": {"S": f"{workflow}#{owner}"}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if after is not None:
        kwargs["ExclusiveStartKey"] = {
            **key(after[0], INSTANCE),
            "ownerKey": {"S": f"{workflow}#{owner}"},
            "ownedSince": {"S": after[1]},
        }
    page = call(_ddb().query, **kwargs)
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
            _ddb().batch_get_item,
            with_table=False,
            RequestItems={table: {"Keys": wanted, "ConsistentRead": True}},
        )
        for item in answer.get("Responses", {}).get(table, []):
            found[item["pk"]["S"]] = Instance.from_item(item)
        wanted = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    return [found.get(pk) for pk in pks]


def outbox_shards() -> list[str]:
    """Every shard of the pending index that holds outboxes."""
    return [f"outbox#{n:02d}" for n in range(settings().outbox_shards)]


def instance_keys(workflow: str) -> Iterator[str]:
    """The key of every stored instance of ``workflow``. A Scan: for offline tools (the
    replay check's export), never on a request's path."""
    kwargs: dict[str, Any] = {
        "FilterExpression": "sk = :i AND begins_with(pk, :w)",
        "ExpressionAttributeValues": {":i": {"S": INSTANCE}, ":w": {"S": f"{workflow}#"}},
        "ProjectionExpression": "pk",
    }
    while True:
        page = call(_ddb().scan, **kwargs)
        for item in page.get("Items", []):
            yield item["pk"]["S"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def oldest_pending(shard_key: str) -> str | None:
    """When the oldest outbox in one shard of the pending index became pending (ISO
    time; one read of one item), or None when the shard holds none."""
    page = call(
        _ddb().query,
        IndexName=PENDING_INDEX,
        KeyConditionExpression="pendingShard = :s",
        ExpressionAttributeValues={":s": {"S": shard_key}},
        ProjectionExpression="pendingSince",
        ScanIndexForward=True,
        Limit=1,
    )
    items = page.get("Items", [])
    return items[0]["pendingSince"]["S"] if items else None
