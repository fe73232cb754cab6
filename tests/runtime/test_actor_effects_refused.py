"""Actor actions the durable runtime cannot carry out are refused before the commit
(nothing stored changes), instead of a send being dropped or a delayed send to another
actor coming back to the sender: sendParent from an instance with no parent, a spawn of
a workflow it does not declare, a delayed send to another actor. A send to itself is a
message through the bus."""

from __future__ import annotations

import pytest

from chalicelib import runtime
from chalicelib.orders.models import NoPayload
from chalicelib.runtime import CLIENT, Incoming, Workflow, store
from chalicelib.runtime.messaging.actors import ActorRefused
from chalicelib.runtime.messaging.outbox import ActorsNotRun
from chalicelib.statechart import Machine

SENDS = {
    "parent": (
        {"type": "xstate.sendParent", "event": {"type": "HELLO"}},
        ActorRefused,
        "no parent",
    ),
    "parent later": (
        {"type": "xstate.sendParent", "event": {"type": "HELLO"}, "delay": 1000},
        ActorsNotRun,
        "delayed send to another actor",
    ),
    "spawn": (
        {"type": "xstate.spawnChild", "src": "sender", "id": "kid"},
        ActorRefused,
        "not one of the child workflows",
    ),
}


def _sender(action: dict) -> Workflow:
    chart = {
        "id": "sender",
        "initial": "idle",
        "states": {
            "idle": {"on": {"START": {}, "GO": {"target": "sent", "actions": [action]}}},
            "sent": {},
        },
    }
    return Workflow("sender", Machine(chart), {"GO": NoPayload, "START": NoPayload}, {}, {},
                    lambda snapshot, meta: {"state": snapshot.value})  # fmt: skip


@pytest.mark.parametrize("kind", sorted(SENDS))
def test_a_step_needing_an_actor_action_is_refused_and_changes_nothing(aws, kind):
    action, error, message = SENDS[kind]
    wf = _sender(action)
    runtime.start(wf, "s1", "alice", {}, Incoming({"type": "START"}, "s1.start", CLIENT))
    before = store.load(wf.key("s1"))
    with pytest.raises(error, match=message) as refused:
        runtime.send(wf, "s1", Incoming({"type": "GO"}, "s1.go", CLIENT))
    assert refused.value.status == 500
    after = store.load(wf.key("s1"))
    assert (after.version, after.snapshot) == (before.version, before.snapshot)
    assert after.outbox == before.outbox == {}


def test_a_delayed_send_to_itself_is_still_a_durable_timer(aws):
    wf = _sender({"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "HELLO"},
                  "delay": 1000})  # fmt: skip
    runtime.start(wf, "s1", "alice", {}, Incoming({"type": "START"}, "s1.start", CLIENT))
    runtime.send(wf, "s1", Incoming({"type": "GO"}, "s1.go", CLIENT))
    assert len(store.load(wf.key("s1")).timers) == 1


def test_a_send_to_itself_is_a_message_through_the_bus(aws):
    wf = _sender({"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "HELLO"}})
    runtime.start(wf, "s1", "alice", {}, Incoming({"type": "START"}, "s1.start", CLIENT))
    runtime.send(wf, "s1", Incoming({"type": "GO"}, "s1.go", CLIENT))
    stored = store.load(wf.key("s1"))
    assert stored.actors["out"] == {"sender#s1": [2, 0]}
