"""Versioned workflow definitions: which chart an instance runs on, and how it moves on.

A workflow declares every version still in use, oldest first; new instances start on
the last one. Each version is a human number plus the content hash of its chart, and
both are recorded on every instance and in every history record. An instance stays on
its version (pinned) until it ends, unless migrations from its version on are declared:
pure functions from a snapshot of version N to one of N + 1, chained, applied when the
instance is next loaded (the runtime commits the result with the event that loaded it).

A lock file in the repository records the hash of every version that has shipped; a
workflow whose chart changed under an unchanged number fails when it is built (process
start), not in production.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.statechart import Effect, Machine, Snapshot, SnapshotError

# shards of the in-flight counters: each is one partition key, written by 1 / N of the
# instances that start or end (and summed on read), so no key is written by every instance
COUNTER_SHARDS = 16

Migration = Callable[[Mapping[str, Any]], Mapping[str, Any]]


class DefinitionChanged(Exception):
    """A declared version's chart differs from the hash its lock file records."""


class MigrationRefused(Exception):
    """A migration failed, or produced a snapshot the next version cannot run."""


def chart_hash(machine: Machine) -> str:
    """The content hash of a machine's chart (its XState JSON, keys sorted): 16 hex
    digits. Actions, guards and delay values are code, not part of it."""
    text = json.dumps(machine.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Version:
    """One declared version: its number, its machine and its chart's hash. ``migration``
    turns a snapshot of the previous version into one of this version (None: instances
    of the previous version stay pinned)."""

    number: int
    machine: Machine
    migration: Migration | None = None

    @property
    def hash(self) -> str:
        return chart_hash(self.machine)


@dataclass(frozen=True, slots=True)
class Upgrade:
    """Where an instance goes on its next event: the version it runs on after the
    migrations that could be applied, and the snapshot (as stored) it continues from.
    ``refused`` says why a further migration was not applied."""

    number: int
    snapshot: Mapping[str, Any]
    migrated_from: int | None = None
    refused: str | None = None


class Versions:
    """The versions of one workflow still in use, oldest first (numbers strictly rising)."""

    def __init__(self, versions: Sequence[Version]) -> None:
        if not versions:
            raise ValueError("a workflow needs at least one version")
        numbers = [v.number for v in versions]
        if numbers != sorted(set(numbers)) or numbers[0] < 1:
            raise ValueError(f"version numbers must be positive and rising: {numbers}")
        self.by_number = {v.number: v for v in versions}
        self.latest = versions[-1]
        self.oldest = versions[0]

    def get(self, number: int | None) -> Version | None:
        """The declared version ``number`` (None: an instance stored before versions were
        recorded, which ran on the oldest one)."""
        return self.oldest if number is None else self.by_number.get(number)

    def upgrade(
        self,
        number: int,
        snapshot: Mapping[str, Any],
        timers: Sequence[str] = (),
        invokes: Sequence[str] = (),
    ) -> Upgrade:
        """Apply the chain of migrations from ``number`` on, as far as each is declared
        and its result can run: the next machine restores it, and every active timer
        (schedule id) and invoke of the instance is still one it handles. Stops at the
        first refusal, reporting why. Pure."""
        current, start = snapshot, number
        while (following := self.by_number.get(number + 1)) is not None:
            if following.migration is None:
                break
            try:
                migrated = following.migration(json.loads(json.dumps(current)))
                before = (self.by_number[number].machine, current)
                check_runnable(following.machine, migrated, timers, invokes, before)
            except Exception as error:  # noqa: BLE001 - any failure refuses the migration
                return Upgrade(number, current, _origin(start, number), _reason(number, error))
            current, number = migrated, following.number
        return Upgrade(number, current, _origin(start, number))

    def describe(self) -> list[dict[str, Any]]:
        """Every declared version: number, hash, and whether a migration leads into it."""
        return [
            {"version": v.number, "hash": v.hash, "migrationFromPrevious": v.migration is not None}
            for v in self.by_number.values()
        ]


def _origin(start: int, number: int) -> int | None:
    return start if number != start else None


def _reason(number: int, error: Exception) -> str:
    return f"migration {number} -> {number + 1} refused: {type(error).__name__}: {error}"


def _fed(timers: Sequence[str], invokes: Sequence[str]) -> list[tuple[dict[str, Any], str]]:
    """Every event the runtime may feed the active timers and invokes, with what it means:
    a timer fires; an invoke completes, or fails (its command given up)."""
    events = [({"type": t}, f"its active timer {t} would no longer fire") for t in timers]
    for invoke_id in invokes:
        events.append(
            ({"type": f"xstate.done.actor.{invoke_id}", "output": {}},
             f"its active invoke {invoke_id} would no longer complete")
        )  # fmt: skip
        events.append(
            ({"type": f"xstate.error.actor.{invoke_id}", "error": "given up"},
             f"a failure of its active invoke {invoke_id} would no longer be handled")
        )  # fmt: skip
    return events


def check_runnable(
    machine: Machine,
    snapshot: Mapping[str, Any],
    timers: Sequence[str] = (),
    invokes: Sequence[str] = (),
    before: tuple[Machine, Mapping[str, Any]] | None = None,
) -> Snapshot:
    """The snapshot restored on ``machine``; MigrationRefused when it cannot be, or when an
    event the runtime may feed an active timer or invoke (the timer, the invoke's done and
    its error event) would no longer be handled there. With ``before`` (the previous
    machine and snapshot), only events that one handled are required; without it every
    timer and every invoke's done event."""
    try:
        restored = machine.restore(snapshot)
    except (SnapshotError, KeyError, TypeError, ValueError) as error:
        raise MigrationRefused(f"the new machine cannot restore it: {error}") from None
    old = (before[0], before[0].restore(before[1])) if before else None
    for event, why in _fed(timers, invokes):
        if old is not None:
            required = _handles(old[0], old[1], event)
        else:
            required = not event["type"].startswith("xstate.error.")
        if required and not _handles(machine, restored, event):
            raise MigrationRefused(why)
    return restored


def _handles(machine: Machine, snapshot: Snapshot, event: Mapping[str, Any]) -> bool:
    """Whether a transition handles ``event`` (an unhandled actor error, which XState turns
    into the machine's own error status, does not count)."""
    step = machine.transition(snapshot, event)
    return step.handled and step.snapshot.status != "error"


def check_lock(name: str, versions: Versions, lock: Path) -> None:
    """Raise DefinitionChanged if a version's chart hash differs from the one ``lock``
    records (a JSON object: workflow name -> version number -> hash). Versions the lock
    does not hold yet pass: ``record_lock`` adds them."""
    recorded = read_lock(lock).get(name, {})
    for number, version in versions.by_number.items():
        expected = recorded.get(str(number))
        if expected is not None and expected != version.hash:
            raise DefinitionChanged(
                f"{name} version {number} changed: {lock.name} records {expected}, the chart "
                f"now hashes to {version.hash}. Instances in flight run on the recorded chart: "
                f"declare the change as version {versions.latest.number + 1} instead"
            )


def read_lock(lock: Path) -> dict[str, dict[str, str]]:
    """The lock file's content ({} when there is none yet)."""
    if not lock.exists():
        return {}
    data = json.loads(lock.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{lock.name} is not a JSON object")
    return data


def record_lock(name: str, versions: Versions, lock: Path) -> list[int]:
    """Add the hashes of versions ``lock`` does not hold yet; never rewrites a recorded
    one (check_lock refuses those). Returns the numbers added."""
    data = read_lock(lock)
    recorded = data.setdefault(name, {})
    added = [n for n in versions.by_number if str(n) not in recorded]
    for number in added:
        recorded[str(number)] = versions.by_number[number].hash
    if added:
        lock.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return added


def counter_shard(pk: str) -> int:
    """The in-flight counter shard of an instance (stable hash of its key)."""
    return zlib.crc32(pk.encode()) % COUNTER_SHARDS


def counter_changes(old: int | None, number: int, active: bool) -> dict[int, int]:
    """In-flight counter changes of one commit: +1 on the version an instance starts on
    or moves to, -1 on the one it ends on or leaves (``old`` is the version it was stored
    on, None for a new instance). Instances stored before versions were recorded were
    never counted: they join the count on their next event."""
    deltas: dict[int, int] = {}
    if old is not None and (old != number or not active):
        deltas[old] = -1
    if active and old != number:
        deltas[number] = 1
    return deltas


def effect_summary(effects: Iterable[Effect]) -> list[str]:
    """What a step did besides its snapshot, as its history records it: each effect's
    kind and name (an action's type, an invoke's or timer's id), in execution order."""
    return [f"{e.kind}:{e.type if e.kind == 'action' else e.id}" for e in effects]


def command_summary(commands: Mapping[str, Any], effects: Iterable[Effect]) -> list[str]:
    """The commands a step sends, as its history records them: for each invoke, its id, the
    command's message type and a digest of the data its builder made
    (``sendRefund:REFUND:<16 hex>``), so a replay sees a builder that now sends other data.
    ``commands`` maps an invoke's ``src`` to its Command (``type``, ``data(ctx, input)``)."""
    summary = []
    for effect in effects:
        command = commands.get(effect.type) if effect.kind == "invoke" else None
        if command is not None:
            data = command.data(effect.context, effect.input)
            summary.append(f"{effect.id}:{command.type}:{snapshot_digest(data)}")
    return summary


def snapshot_digest(snapshot: Mapping[str, Any]) -> str:
    """A short digest of a snapshot as stored, or of any JSON value (16 hex digits)."""
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
