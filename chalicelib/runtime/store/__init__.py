"""The DynamoDB adapter (one package, one table): workflow instances, their history,
outbox, dedupe and Idempotency-Key records, and the in-flight counters. The rest of the
runtime calls it as ``store.<name>`` (so a test can stand in for one call); its modules
are the table (``table``), what a commit writes (``transaction``), what is read
(``records``), the pending outbox (``pending``), the counters (``counters``) and an
owner's instances (``owners``).

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
  An instance with an owner gets ``ownerKey`` and ``ownedSince`` when it is created:
  the keys of the sparse, keys-only ``owner`` index that lists an owner's instances.
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

from .counters import in_flight
from .owners import OWNER_INDEX, load_many, owned
from .pending import clear_outbox, oldest_pending, outbox_shards, pending, update_outbox_entry
from .records import (
    Idempotency,
    Instance,
    applied,
    committed_token,
    history,
    idempotency,
    instance_keys,
    listed,
    load,
)
from .table import (
    HISTORY_EVENT_BYTES,
    INSTANCE,
    OUTBOX_PREFIX,
    PENDING_INDEX,
    WORKLIST_INDEX,
    call,
    expires_in,
    key,
    query,
    shard,
)
from .transaction import (
    Ambiguous,
    Commit,
    ConflictError,
    DuplicateEvent,
    IdempotencyTaken,
    commit,
    history_event,
    instance_bytes,
)

__all__ = [
    "HISTORY_EVENT_BYTES",
    "INSTANCE",
    "OUTBOX_PREFIX",
    "OWNER_INDEX",
    "PENDING_INDEX",
    "WORKLIST_INDEX",
    "Ambiguous",
    "Commit",
    "ConflictError",
    "DuplicateEvent",
    "Idempotency",
    "IdempotencyTaken",
    "Instance",
    "applied",
    "call",
    "clear_outbox",
    "commit",
    "committed_token",
    "expires_in",
    "history",
    "history_event",
    "idempotency",
    "in_flight",
    "instance_bytes",
    "instance_keys",
    "key",
    "listed",
    "load",
    "load_many",
    "oldest_pending",
    "outbox_shards",
    "owned",
    "pending",
    "query",
    "shard",
    "update_outbox_entry",
]
