"""The engine resolves XState's actor actions (spawnChild, stopChild, sendTo, sendParent),
but the durable runtime does not carry them out yet: a step that would need one is
refused before its commit (nothing stored changes), instead of the send being dropped or
a delayed send to another actor coming back to the sender."""

from __future__ import annotations

import pytest

from chalicelib import runtime
from chalicelib.orders.models import NoPayload
from chalicelib.runtime import CLIENT, Incoming, Workflow, store
from chalicelib.runtime.messaging.outbox import ActorsNotRun
from chalicelib.statechart import Machine

SENDS = {
    "parent": {"type": "xstate.sendParent", "event": {"type": "HELLO"}},
    "self now": {"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "HELLO"}},
    "parent later": {"type": "xstate.sendParent", "event": {"type": "HELLO"}, "delay": 1000},
    "spawn": {"type": "xstate.spawnChild", "src": "sender", "id": "kid"},
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
    wf = _sender(SENDS[kind])
    runtime.start(wf, "s1", "alice", {}, Incoming({"type": "START"}, "s1.start", CLIENT))
    before = store.load(wf.key("s1"))
    with pytest.raises(ActorsNotRun, match="does not run yet") as refused:
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
