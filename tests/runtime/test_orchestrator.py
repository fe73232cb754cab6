"""The runtime's commit loop against moto: lost races, retries, dedupe, validation."""

from __future__ import annotations

import pytest

from chalicelib.orders.models import AddPizza, NoPayload
from chalicelib.runtime import orchestrator, store
from chalicelib.runtime.errors import (
    Conflict,
    EventNotAllowed,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unavailable,
)
from chalicelib.runtime.workflow import Command, Workflow
from chalicelib.statechart import Machine, assign

COUNTER = {
    "id": "counter",
    "initial": "open",
    "context": {"n": 0},
    "states": {
        "open": {"on": {"ADD": {"actions": ["add"]}, "CLOSE": "closed"}},
        "closed": {"type": "final"},
    },
}


def _counter() -> Workflow:
    machine = Machine(COUNTER, actions={"add": assign(n=lambda c, e: c["n"] + 1)})
    return Workflow(
        "counter",
        machine,
        {"ADD": NoPayload, "CLOSE": NoPayload},
        {},
        {},
        lambda snapshot, meta: {"n": snapshot.context["n"], "version": meta["version"]},
    )


def _start(wf, instance_id="c1"):
    return orchestrator.start(wf, instance_id, "alice", {}, {"type": "ADD"}, f"{instance_id}.start")


def test_lost_race_is_retried_on_the_fresh_state(aws, monkeypatch):
    wf = _counter()
    _start(wf)
    real_commit = store.commit
    raced = []

    def racing_commit(pk, expected_version, *args, **kwargs):
        if not raced:
            raced.append(True)
            # another writer commits first: our expected version is now stale
            orchestrator.send(wf, "c1", {"type": "ADD"}, "other-writer", "client")
        return real_commit(pk, expected_version, *args, **kwargs)

    monkeypatch.setattr(store, "commit", racing_commit)
    outcome = orchestrator.send(wf, "c1", {"type": "ADD"}, "mine", "client")
    assert outcome.view() == {"n": 3, "version": 3}
    history = store.history(wf.key("c1"))
    assert [h["eventId"] for h in history] == ["c1.start", "other-writer", "mine"]


def test_races_that_never_settle_end_in_conflict_and_change_nothing(aws, monkeypatch):
    wf = _counter()
    _start(wf)

    def always_stale(*args, **kwargs):
        raise store.ConflictError("someone else won")

    before = store.load(wf.key("c1")).snapshot
    real_commit = store.commit
    monkeypatch.setattr(store, "commit", always_stale)
    with pytest.raises(Conflict, match="gave up after 6 attempts"):
        orchestrator.send(wf, "c1", {"type": "ADD"}, "mine", "client")
    monkeypatch.setattr(store, "commit", real_commit)
    assert store.load(wf.key("c1")).snapshot == before


def test_redelivered_event_changes_nothing(aws):
    wf = _counter()
    _start(wf)
    first = orchestrator.send(wf, "c1", {"type": "ADD"}, "e-1", "client")
    again = orchestrator.send(wf, "c1", {"type": "ADD"}, "e-1", "client")
    assert again.duplicate is True
    assert again.view() == first.view() == {"n": 2, "version": 2}
    assert len(store.history(wf.key("c1"))) == 2


def test_event_ids_are_remembered_for_a_bounded_window(aws):
    wf = _counter()
    _start(wf)
    for i in range(70):
        orchestrator.send(wf, "c1", {"type": "ADD"}, f"e-{i}", "client")
    recent = store.load(wf.key("c1")).recent
    assert len(recent) == 64
    assert recent[-1] == "e-69"


def test_unhandled_event_is_refused_with_next_events(aws):
    wf = _counter()
    _start(wf)
    orchestrator.send(wf, "c1", {"type": "CLOSE"}, "close", "client")
    with pytest.raises(EventNotAllowed) as refused:
        orchestrator.send(wf, "c1", {"type": "ADD"}, "late", "client")
    assert refused.value.detail["nextEvents"] == []
    assert refused.value.status == 409


def test_owner_only_access(aws):
    wf = _counter()
    _start(wf)
    with pytest.raises(NotFound):
        orchestrator.send(wf, "c1", {"type": "ADD"}, "x", "client", caller="mallory")
    with pytest.raises(NotFound):
        orchestrator.read(wf, "c1", "mallory")
    assert orchestrator.read(wf, "c1", None).view()["n"] == 1


def test_bus_only_events_are_forbidden_to_clients():
    wf = _counter()
    wf.bus_events["TICK"] = NoPayload
    with pytest.raises(Forbidden):
        orchestrator.validate_payload(wf, "TICK", {}, orchestrator.CLIENT)


def test_workflow_spec_refuses_what_the_runtime_cannot_run():
    with pytest.raises(ValueError, match="has no Command"):
        Workflow(
            "w",
            Machine({"id": "w", "initial": "a", "states": {"a": {"invoke": {"src": "svc"}}}}),
            {}, {}, {}, lambda s, m: {},
        )  # fmt: skip
    with pytest.raises(ValueError, match="both clients and the bus"):
        Workflow("w", _counter().machine, {"ADD": AddPizza}, {"ADD": AddPizza}, {}, lambda s, m: {})
    assert Command("X", lambda c, i: {}).type == "X"


def test_state_key_flattens_values():
    assert orchestrator.state_key("a") == "a"
    assert orchestrator.state_key({"a": {"b": "c"}}) == "a.b.c"
    assert orchestrator.state_key({"p": {"x": "1", "y": {}}}) == "p.(x:1,y)"


@pytest.mark.parametrize(
    "reason, expected",
    [("ConditionalCheckFailed", store.ConflictError), ("TransactionConflict", store.ConflictError),
     ("ValidationError", PayloadTooLarge), ("ThrottlingError", Unavailable)],
)  # fmt: skip
def test_a_cancelled_commit_says_why(aws, monkeypatch, reason, expected):
    from botocore.exceptions import ClientError

    from chalicelib.runtime import clients

    def cancelled(**kwargs):
        response = {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": reason}, {"Code": "None"}],
        }
        raise ClientError(response, "TransactWriteItems")

    monkeypatch.setattr(clients.client("dynamodb"), "transact_write_items", cancelled)
    with pytest.raises(expected):
        store.commit("w#1", None, {}, "s", "o", [], {}, [], False, {"eventType": "E"}, "t")


def _jobs(config) -> Workflow:
    machine = Machine(config, actions={"noop": lambda c, e: None})
    return Workflow(
        "jobs", machine, {"GO": NoPayload}, {}, {"job": Command("JOB", lambda c, i: {})},
        lambda snapshot, meta: {"state": snapshot.value},
    )  # fmt: skip


def test_a_new_instance_runs_the_effects_of_its_initial_state(aws, monkeypatch):
    from chalicelib.runtime import bus

    sent = []
    monkeypatch.setattr(bus, "publish", lambda event: sent.append(event["type"]) or "id")
    wf = _jobs({
        "id": "jobs", "initial": "busy",
        "states": {
            "busy": {"invoke": {"id": "job", "src": "job", "onDone": "ok"},
                     "on": {"GO": {"actions": ["noop"]}}},
            "ok": {},
        },
    })  # fmt: skip
    outcome = orchestrator.start(wf, "j1", "alice", {}, {"type": "GO"}, "go-1")
    assert sent == ["JOB"]
    assert outcome.view() == {"state": "ok"}


def test_a_message_left_behind_stays_in_the_pending_index(aws, monkeypatch):
    """A timer goes out, the command after it does not: the item must stay where the
    sweeper looks, or the command is never sent."""
    from chalicelib.runtime import bus

    real_publish = bus.publish
    sent = []

    def down(event):
        raise Unavailable("SNS is down")

    monkeypatch.setattr(bus, "publish", down)
    wf = _jobs({
        "id": "jobs", "initial": "idle",
        "states": {
            "idle": {"on": {"GO": "busy"}},
            "busy": {"after": {"60000": "late"},
                     "invoke": {"id": "job", "src": "job", "onDone": "ok"}},
            "late": {}, "ok": {},
        },
    })  # fmt: skip
    orchestrator.start(wf, "j2", "alice", {}, {"type": "GO"}, "go-2")
    instance = store.load(wf.key("j2"))
    assert [m["event"]["type"] for m in instance.outbox.values()] == ["JOB"]
    assert orchestrator.sweep({"jobs": wf}, grace_seconds=0) == 1  # still found, still down

    def record(event):
        sent.append(event["type"])
        return real_publish(event)

    monkeypatch.setattr(bus, "publish", record)
    orchestrator.sweep({"jobs": wf}, grace_seconds=0)
    assert sent == ["JOB"]
    instance = store.load(wf.key("j2"))
    assert instance.snapshot["value"] == "ok"
    assert instance.outbox == {}
    assert orchestrator.sweep({"jobs": wf}, grace_seconds=0) == 0


def test_the_sweeper_drops_a_stale_pending_index_entry(aws):
    wf = _counter()
    _start(wf)
    instance = store.load(wf.key("c1"))
    store.commit(
        wf.key("c1"), instance.version, instance.snapshot, "open", None, instance.recent, {}, [],
        pending_after=True, history={"eventType": "X"}, now="2000-01-01T00:00:00.000Z",
    )  # fmt: skip
    assert store.pending("2999") == [wf.key("c1")]
    assert orchestrator.sweep({"counter": wf}, grace_seconds=0) == 0
    assert store.pending("2999") == []
