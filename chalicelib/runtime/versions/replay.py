"""The replay check: run stored histories against a candidate definition before deploying.

Each history record keeps the full event, the definition version it ran on, the state it
reached, the effects it produced, the commands it sent (type and a digest of the data the
builder made) and a digest of the snapshot. Replaying an instance
feeds its events, in order, to the candidate's machine of the recorded version (applying
the candidate's migrations where the history says the instance moved on) and compares
every step. The verdict per instance is one of:

- ``identical``: every step reached the recorded state, effects and snapshot, and the
  stored snapshot can continue on the candidate (after its migrations, if declared);
- ``diverges``: event k reaches another state, other effects, other commands (another
  type, or other data: a REFUND for another amount) or another snapshot;
- ``unrestorable``: the candidate cannot run it at all (its version is not declared,
  a migration is refused, an event was not kept whole).

Pure: histories come in as exported JSON (``export`` writes them from the table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.statechart import Effect, Machine, Snapshot, Step

from .versions import Versions, command_summary, effect_summary, snapshot_digest
from .workflow import START, STOP, Workflow, failed_start, state_key, timers_dropped

IDENTICAL, DIVERGES, UNRESTORABLE = "identical", "diverges", "unrestorable"


@dataclass(slots=True)
class Verdict:
    """How one instance replays: ``kind`` (identical / diverges / unrestorable), the
    event number (its version) where it went wrong, and what differs."""

    workflow: str
    instance: str
    kind: str
    events: int
    at: int | None = None
    detail: str = ""

    def line(self) -> str:
        """One line of the check's report."""
        where = f" at event {self.at}" if self.at is not None else ""
        text = {IDENTICAL: "replays identically", DIVERGES: "diverges"}.get(
            self.kind, "cannot be restored"
        )
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.workflow} {self.instance}  {text}{where} ({self.events} events){detail}"


@dataclass(slots=True)
class _Run:
    """The replay's own copy of what the runtime tracks: snapshot, version, timers, invokes."""

    number: int
    snapshot: Snapshot
    timers: set[str] = field(default_factory=set)
    invokes: set[str] = field(default_factory=set)

    def track(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            if effect.kind == "invoke":
                self.invokes.add(effect.id)
            elif effect.kind == "cancel_invoke":
                self.invokes.discard(effect.id)
            elif effect.kind == "schedule":
                self.timers.add(effect.id)
            elif effect.kind == "cancel_schedule":
                self.timers.discard(effect.id)


class _Stop(Exception):
    def __init__(self, kind: str, at: int | None, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.at, self.detail = kind, at, detail


def replay(workflow: Workflow, exported: Mapping[str, Any]) -> Verdict:
    """Replay one exported instance (``instance``, ``history``, and, when exported from a
    table, the stored ``snapshot``, ``timers`` and ``invokes``) against ``workflow``."""
    instance = str(exported.get("instance", "?"))
    records = sorted(exported.get("history") or [], key=lambda r: int(r["version"]))
    verdict = Verdict(workflow.name, instance, IDENTICAL, len(records))
    try:
        run = _replay_records(workflow.versions, records, workflow.commands)
        _check_stored(workflow.versions, run, exported, len(records))
    except _Stop as stop:
        verdict.kind, verdict.at, verdict.detail = stop.kind, stop.at, stop.detail
    return verdict


def _replay_records(
    versions: Versions, records: list[Mapping[str, Any]], commands: Mapping[str, Any]
) -> _Run:
    if not records:
        raise _Stop(UNRESTORABLE, None, "no history")
    run: _Run | None = None
    for record in records:
        at, event = int(record["version"]), record.get("event")
        if not isinstance(event, Mapping) or event.get("truncated"):
            why = "was truncated" if isinstance(event, Mapping) else "has no payload recorded"
            raise _Stop(UNRESTORABLE, at, f"event {record.get('eventType')} {why}")
        number = record.get("definition")
        if run is None:
            declared = versions.get(number)
            if declared is None:
                raise _Stop(UNRESTORABLE, at, f"version {number} is not declared")
            first = _initial(declared.machine, record, event)
            run = _Run(declared.number, first.snapshot)
            before = first.effects
        else:
            _move(versions, run, number, at)
            before = []
        machine = versions.by_number[run.number].machine
        step = _transition(machine, run, record, event)
        if not step.handled:
            raise _Stop(DIVERGES, at, f"{event['type']} is no longer handled in this state")
        effects = [*before, *step.effects]
        _compare(record, step.snapshot, effects, at)
        _compare_commands(record, command_summary(commands, effects), at)
        run.snapshot = step.snapshot
        run.track(effects)
    assert run is not None
    return run


def steps(workflow: Workflow, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The snapshot (``value``, ``context``) each record's step produced, oldest first,
    replayed from the first record (the inspector's time travel). The list stops short
    where the history can no longer be replayed (an event not kept whole, a version no
    longer declared); a step is what the chart computes, whatever was stored."""
    ordered = sorted(records, key=lambda r: int(r["version"]))
    snapshots: list[dict[str, Any]] = []
    run: _Run | None = None
    for record in ordered:
        at, event = int(record["version"]), record.get("event")
        if not isinstance(event, Mapping) or event.get("truncated"):
            break
        try:
            if run is None:
                declared = workflow.versions.get(record.get("definition"))
                if declared is None:
                    break
                first = _initial(declared.machine, record, event)
                run = _Run(declared.number, first.snapshot)
                run.track(first.effects)
            else:
                _move(workflow.versions, run, record.get("definition"), at)
        except _Stop:
            break
        machine = workflow.versions.by_number[run.number].machine
        step = _transition(machine, run, record, event)
        run.snapshot = step.snapshot
        run.track(step.effects)
        snapshots.append({"value": step.snapshot.value, "context": step.snapshot.context})
    return snapshots


def _initial(machine: Machine, record: Mapping[str, Any], event: Mapping[str, Any]) -> Step:
    """The first record's initial step: a root's from its context, a child's (started by
    its parent's ``xstate.start``) from its input, or the failure it started in."""
    if event.get("type") != START:
        return machine.initial_transition(context=record.get("context"))
    if record.get("failed"):
        return failed_start(machine, record["failed"])
    return machine.initial_transition(input=event.get("input"))


def _transition(
    machine: Machine, run: _Run, record: Mapping[str, Any], event: Mapping[str, Any]
) -> Step:
    """A record's step as the runtime took it: the chart's transition, or a step the
    runtime takes for a message from another instance (a child's start, a stop, a child
    failing, an event its state does not take, dropped)."""
    kind, snapshot = event.get("type"), run.snapshot
    if kind == START:
        return Step(snapshot, [], True)
    if kind == STOP:
        step = machine.halt(snapshot, "stopped")
    elif record.get("failed"):
        step = machine.halt(snapshot, "error", record["failed"])
    else:
        step = machine.transition(snapshot, event)
        if not step.handled and record.get("dropped"):
            return Step(snapshot, [], True)
    return timers_dropped(step, snapshot, run.timers)


def _move(versions: Versions, run: _Run, number: int | None, at: int) -> None:
    """Follow a migration the history records (the instance moved to ``number``)."""
    if number is None or number == run.number:
        return
    upgrade = versions.upgrade(
        run.number, run.snapshot.to_dict(), sorted(run.timers), sorted(run.invokes)
    )
    if upgrade.number != number:
        why = upgrade.refused or f"no migration from version {run.number} to {number}"
        raise _Stop(UNRESTORABLE, at, why)
    run.number = number
    run.snapshot = versions.by_number[number].machine.restore(upgrade.snapshot)


def _compare(record: Mapping[str, Any], snapshot: Snapshot, effects: list[Effect], at: int) -> None:
    name = record.get("eventType")
    reached = state_key(snapshot.value)
    if record.get("to") is not None and record["to"] != reached:
        raise _Stop(DIVERGES, at, f"{name}: recorded state {record['to']}, replayed {reached}")
    summary = effect_summary(effects)
    if record.get("effects") is not None and list(record["effects"]) != summary:
        raise _Stop(
            DIVERGES, at, f"{name}: recorded effects {record['effects']}, replayed {summary}"
        )
    digest = snapshot_digest(snapshot.to_dict())
    if record.get("snapshotHash") not in (None, digest):
        raise _Stop(DIVERGES, at, f"{name}: the snapshot (context) differs from the recorded one")


def _compare_commands(record: Mapping[str, Any], replayed: list[str], at: int) -> None:
    """The commands the step sends now are the recorded ones (records written before
    commands were kept have none to compare)."""
    recorded = record.get("commands")
    if recorded is None or list(recorded) == replayed:
        return
    name = record.get("eventType")
    changed = [c.rsplit(":", 1)[0] for c in replayed if c not in recorded]
    raise _Stop(
        DIVERGES, at, f"{name}: recorded commands {list(recorded)}, replayed {replayed}"
        + (f" (other data for {changed})" if changed else ""),
    )  # fmt: skip


def _check_stored(versions: Versions, run: _Run, exported: Mapping[str, Any], events: int) -> None:
    """The replayed snapshot is the stored one, and the stored one can go on under the
    candidate: its migrations from there are accepted."""
    stored = exported.get("snapshot")
    if stored is None:
        return
    replayed = run.snapshot.to_dict()
    if replayed != stored:
        keys = sorted(
            k
            for k in set(replayed.get("context", {})) | set(stored.get("context", {}))
            if replayed.get("context", {}).get(k) != stored.get("context", {}).get(k)
        )
        what = f"context keys {keys}" if keys else "state value"
        raise _Stop(DIVERGES, events, f"the stored snapshot differs in {what}")
    if stored.get("status") != "active":
        return
    timers, invokes = exported.get("timers") or sorted(run.timers), exported.get("invokes")
    upgrade = versions.upgrade(run.number, stored, list(timers), list(invokes or run.invokes))
    if upgrade.refused:
        raise _Stop(UNRESTORABLE, None, upgrade.refused)


__all__ = [
    "DIVERGES",
    "IDENTICAL",
    "UNRESTORABLE",
    "Verdict",
    "replay",
]
