"""One committed transition as one DynamoDB transaction, and why one was refused.

``commit`` writes the instance update (conditional on the version read), the history
record, the dedupe record, a client's Idempotency-Key record and the in-flight counter
changes in one ``TransactWriteItems`` call; a refusal is raised as what it means
(``ConflictError``, ``DuplicateEvent``, ``IdempotencyTaken``, ``PayloadTooLarge``) and an
unknown outcome as ``Ambiguous``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..shared import PayloadTooLarge, Unavailable, imported, settings
from .counters import counter_update
from .records import Idempotency, Instance
from .table import (
    HISTORY_EVENT_BYTES,
    INSTANCE,
    JSON_FIELDS,
    OUTBOX_PREFIX,
    ddb,
    encode,
    encode_sorted,
    expires_in,
    key,
    shard,
)


class ConflictError(Exception):
    """The item changed since it was read (another writer committed first)."""


class DuplicateEvent(Exception):
    """The event id was applied before: the commit was refused and changed nothing."""


class IdempotencyTaken(Exception):
    """Another request with the same Idempotency-Key committed first."""


class Ambiguous(Unavailable):
    """Storage failed in a way that leaves unknown whether the commit was applied."""


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
    # parent, children and channel tails (messaging/actors.py); empty: none
    actors: Mapping[str, Any] = field(default_factory=dict)
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
        self.snapshot_text = encode(self.snapshot)
        self.messages_text = {m: encode(e) for m, e in self.add_outbox.items()}
        # one per decision: a twin request (same key, same version) is another commit
        self.token = uuid.uuid4().hex
        self.expires = {
            "event": expires_in(settings().event_id_ttl_seconds),
            "idempotency": expires_in(settings().idempotency_ttl_seconds),
        }

    @property
    def version(self) -> int:
        return (self.expected_version or 0) + 1


def instance_bytes(instance: Instance | None, commit: Commit) -> int:
    """An upper estimate of the instance item's size after ``commit`` (DynamoDB counts
    attribute names plus values; the outbox and snapshot are nearly all of it)."""
    outbox = dict(instance.outbox) if instance else {}
    for message_id in commit.remove_outbox:
        outbox.pop(message_id, None)
    outbox.update(commit.add_outbox)
    size = 400  # names and small scalars: version, owner, times, shard, watchers
    size += len(commit.snapshot_text.encode())
    size += len(encode(dict(commit.timers))) + len(encode(dict(commit.invokes)))
    size += len(encode(dict(commit.actors)))
    for message_id, message in outbox.items():
        text = commit.messages_text.get(message_id) or encode(message)
        size += len(OUTBOX_PREFIX) + len(message_id) + len(text.encode())
    return size


def commit(write: Commit) -> int:
    """Write the next version, its history record and its dedupe record in one transaction.

    Returns the new version. Raises ConflictError when the stored version is not the
    expected one, DuplicateEvent when the event id was applied before, IdempotencyTaken
    when the client's key was used by a request that committed first, PayloadTooLarge
    when the item cannot be stored, Ambiguous when the outcome is unknown.
    """
    BotoCoreError, ClientError = imported("botocore.exceptions", "BotoCoreError", "ClientError")

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
        items.append({"Update": {"TableName": table, **counter_update(write.pk, number, delta)}})
    try:
        # DynamoDB applies a token's transaction once (10 minutes): a re-send of an
        # ambiguous commit, by botocore or by us, cannot apply it twice
        ddb().transact_write_items(TransactItems=items, ClientRequestToken=write.token)
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
    text = encode_sorted(dict(event))
    size = len(text.encode())
    if size <= HISTORY_EVENT_BYTES:
        return text
    return encode_sorted({"type": event.get("type"), "truncated": True, "bytes": size})


def _history_item(write: Commit) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, value in write.history.items():
        if value is None:
            continue
        if name == "event":
            record[name] = {"S": history_event(value)}
        elif name in JSON_FIELDS:
            record[name] = {"S": encode_sorted(value)}
        else:
            record[name] = {"S": str(value)}
    record.update(key(write.pk, f"history#{write.version:010d}"))
    record["version"] = {"N": str(write.version)}
    record["token"] = {"S": write.token}
    if write.definition is not None:
        record["definition"] = {"N": str(write.definition)}
    return record


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
        "#i": "invokes", "#a": "actors",
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
    for name, held in (("t", write.timers), ("i", write.invokes), ("a", write.actors)):
        if held:  # JSON maps, removed when empty
            values[f":{name}"] = {"S": encode_sorted(dict(held))}
            sets.append(f"#{name} = :{name}")
        else:
            removes.append(f"#{name}")
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
        if write.owner:  # the keys of the sparse owner index (owners.py), written once
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
