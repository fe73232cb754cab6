"""Child workflows against an attacker and an unlucky operator (an outside review's
reproductions, each now asserting the fix): the actors record stays bounded over
re-entries, a stale child's message is dropped, a message refused for good does not
block its channel (a child fails, its parent hears), forged messages are refused and
change nothing, a migration may not strand an invoked child, a message SNS would refuse
is refused before the commit, and an actor id still running is not started again."""

from __future__ import annotations

import json

import pytest

from chalicelib.runtime import Workflow, bus, clock, intake, state_key, store
from chalicelib.runtime.messaging.actors import ActorRefused
from chalicelib.runtime.shared import BadRequest, PayloadTooLarge
from chalicelib.statechart import Machine, assign
from tests.runtime.test_children import Nothing, _view, child, parent, quick_races  # noqa: F401


def looping_parent(extra_child_on_ping=False) -> Workflow:
    """idle -GO-> working (invokes a 'job' as worker) -HALT-> idle; PONG counted anywhere."""
    chart = {
        "id": "boss",
        "initial": "idle",
        "context": {"pongs": 0, "ready": 0, "result": None},
        "on": {"PONG": {"actions": ["countPong"]}, "READY": {"actions": ["countReady"]}},
        "states": {
            "idle": {"on": {"GO": "working"}},
            "working": {
                "invoke": {
                    "id": "worker",
                    "src": "job",
                    "input": {"n": 1},
                    "onDone": {"target": "done", "actions": ["keep"]},
                },
                "on": {
                    "HALT": "idle",
                    "POKE": {
                        "actions": [
                            {"type": "xstate.sendTo", "to": "worker", "event": {"type": "PING"}}
                        ]
                    },
                    "CANCEL": "cancelled",
                },
            },
            "done": {"type": "final"},
            "cancelled": {"type": "final"},
        },
    }
    machine = Machine(
        chart,
        actions={
            "countPong": assign(pongs=lambda c, e: c["pongs"] + 1),
            "countReady": assign(ready=lambda c, e: c["ready"] + 1),
            "keep": assign(result=lambda c, e: e["output"]),
        },
    )
    events = {t: Nothing for t in ("GO", "HALT", "POKE", "CANCEL")}
    return Workflow("boss", machine, events, {}, {}, _view, children=("job",))


def spawner(actor_id: str, given: dict | None = None) -> Workflow:
    """A boss whose GO spawns one ``job`` child as ``actor_id`` (with input ``given``)."""
    spawn = {"type": "xstate.spawnChild", "src": "job", "id": actor_id}
    if given is not None:
        spawn["input"] = given
    chart = {"id": "boss", "initial": "a", "states": {"a": {"on": {"GO": {"actions": [spawn]}}}}}
    return Workflow("boss", Machine(chart), {"GO": Nothing}, {}, {}, _view, children=("job",))


def sqs_like(kit, receives=5):
    """Deliver actor messages like SQS: a message that raises is received again, up to
    ``receives`` times, then set aside (DLQ). Returns the DLQ'd messages."""
    from chalicelib.runtime.messaging import actors

    dlq, counts, handed = [], {}, set()
    for _ in range(50):
        batch = [
            e for e in kit.commands() if e["type"] in actors.MESSAGE_TYPES and e["id"] not in handed
        ]
        if not batch:
            return dlq
        for e in batch:
            try:
                intake.receive(kit.workflows, e["workflow"], json.dumps(e))
                handed.add(e["id"])
            except Exception as error:  # noqa: BLE001
                counts[e["id"]] = counts.get(e["id"], 0) + 1
                if counts[e["id"]] >= receives:
                    handed.add(e["id"])
                    dlq.append((e["type"], e["subject"], type(error).__name__))
    return dlq


def test_the_record_stays_bounded_however_often_a_state_invokes_again(workflow_kit):
    kit = workflow_kit(looping_parent(), child())
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    for _ in range(12):
        kit.send("b1", "HALT", workflow="boss")
        kit.send("b1", "GO", workflow="boss")
        kit.deliver()
    actors = store.load("boss#b1").actors
    assert len(actors["children"]) == 1
    assert len(actors.get("in", {})) <= 1 and len(actors.get("out", {})) <= 1, actors


def _stale_pong(kit, reenter: bool) -> int:
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    old = kit.read("b1", "boss").meta["actors"]["children"]["worker"]["id"]
    kit.send("b1", "HALT", workflow="boss")  # the parent stops its child
    if reenter:
        kit.send("b1", "GO", workflow="boss")  # ... and starts a new one as "worker"
    kit.send(old, "PING", workflow="job")  # the old child answers before its stop arrives
    kit.deliver()
    assert kit.read(old, "job").snapshot.status == "stopped"
    return kit.read("b1", "boss").snapshot.context["pongs"]


@pytest.mark.parametrize("reenter", [False, True])
def test_a_message_from_a_stopped_child_is_dropped_even_after_its_id_is_reused(
    workflow_kit, reenter
):
    kit = workflow_kit(looping_parent(), child())
    assert _stale_pong(kit, reenter=reenter) == 0


def poison_child() -> Workflow:
    chart = {
        "id": "job",
        "initial": "waiting",
        "context": lambda given: {"n": 0},
        "states": {
            "waiting": {
                "on": {
                    "PING": {"actions": [{"type": "xstate.spawnChild", "src": "nope", "id": "x"}]}
                },
                "after": {"60000": "gaveUp"},
            },
            "gaveUp": {"type": "final"},
        },
    }
    return Workflow("job", Machine(chart), {"PING": Nothing}, {}, {}, _view)


@pytest.mark.usefixtures("quick_races")
def test_a_message_refused_for_good_fails_the_child_and_blocks_nothing(workflow_kit):
    kit = workflow_kit(looping_parent(), poison_child())
    kit.start("b1", "GO", workflow="boss")
    assert sqs_like(kit) == []
    job = kit.read("b1", "boss").meta["actors"]["children"]["worker"]["id"]
    kit.send("b1", "POKE", workflow="boss")  # its PING asks the child for a refused spawn
    assert sqs_like(kit) == []  # nothing for the dead-letter queue
    stored = store.load(f"job#{job}")
    assert stored.snapshot["status"] == "error" and stored.timers == {}
    assert "ActorRefused" in stored.snapshot["error"]
    assert kit.read("b1", "boss").meta["actors"]["children"]["worker"]["status"] == "error"


@pytest.mark.usefixtures("quick_races")
def test_a_start_too_deep_to_name_fails_the_child_and_the_parent_hears(workflow_kit):
    kit = workflow_kit(parent(), child(grandchild=True), child("leaf"))
    deep = "b" * 112  # its child's child would have an id over 128 characters
    kit.start(deep, "GO", workflow="boss")
    assert sqs_like(kit) == []
    boss = kit.read(deep, "boss")
    assert state_key(boss.snapshot.value) == "failed"  # onError
    assert "ActorRefused" in boss.snapshot.context["error"]


def test_an_actor_id_that_cannot_name_an_instance_is_refused_before_the_commit(workflow_kit):
    boss = spawner("p\n1")
    kit = workflow_kit(boss, child())
    with pytest.raises(ActorRefused, match="printable"):
        kit.start("b1", "GO", workflow="boss")
    assert store.load("boss#b1") is None


def test_a_completion_from_a_stranger_is_refused_and_changes_nothing(workflow_kit):
    kit = workflow_kit(looping_parent(), child())
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    before = store.load("boss#b1")
    forged = bus.cloud_event("evil.1", "xstate.send", "b1", {
        "from": "evil#x", "seq": [1, 0], "prev": None,
        "event": {"type": "xstate.done.actor.worker", "output": "FORGED"},
    }, clock.now())  # fmt: skip
    forged["workflow"] = "boss"
    with pytest.raises(BadRequest, match="not its parent or child"):
        intake.receive(kit.workflows, "boss", json.dumps(forged))
    after = store.load("boss#b1")
    assert (after.version, after.snapshot) == (before.version, before.snapshot)


@pytest.mark.parametrize(
    "sender, subject, parent",
    [
        ("evil#x", "x.a.1", {"workflow": "evil", "id": "x", "actor": "a"}),  # no such parent
        ("boss#x", "x.a.1", {"workflow": "boss", "id": "y", "actor": "a"}),  # not its sender
        ("boss#x", "anything", {"workflow": "boss", "id": "x", "actor": "a"}),  # not derived
    ],
)
def test_a_forged_start_is_refused_and_creates_nothing(workflow_kit, sender, subject, parent):
    kit = workflow_kit(looping_parent(), child())
    forged = bus.cloud_event("evil.2", "xstate.start", subject, {
        "from": sender, "seq": [1, 0], "prev": None, "input": None, "owner": "victim",
        "parent": parent,
    }, clock.now())  # fmt: skip
    forged["workflow"] = "job"
    with pytest.raises(BadRequest):
        intake.receive(kit.workflows, "job", json.dumps(forged))
    assert list(store.instance_keys("job")) == []


def _boss_v1():
    return {
        "id": "boss",
        "initial": "idle",
        "context": {"result": None},
        "states": {
            "idle": {"on": {"GO": "working"}},
            "working": {
                "invoke": {
                    "id": "worker",
                    "src": "job",
                    "input": {"n": 2},
                    "onDone": {"target": "done"},
                }
            },
            "done": {"type": "final"},
        },
    }


def _boss_v2():
    return {
        "id": "boss",
        "initial": "idle",
        "context": {"result": None},
        "states": {
            "idle": {"on": {"GO": "busy"}},
            "busy": {"on": {"POKE": "done"}},
            "done": {"type": "final"},
        },
    }


def _migrate(snapshot):
    if snapshot.get("value") == "working":
        snapshot["value"] = "busy"
    return snapshot


def test_a_migration_that_would_strand_an_invoked_child_is_refused(workflow_kit):
    from chalicelib import runtime
    from chalicelib.runtime import Version

    events = {"GO": Nothing, "POKE": Nothing}
    v1 = Workflow("boss", Machine(_boss_v1()), events, {}, {}, _view, children=("job",))
    kit = workflow_kit(v1, child())
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    job = kit.read("b1", "boss").meta["actors"]["children"]["worker"]["id"]
    v2 = Workflow(
        "boss", Machine(_boss_v2()), events, {}, {}, _view, children=("job",), version=2,
        migration=_migrate, previous=[Version(1, Machine(_boss_v1()))],
    )  # fmt: skip
    kit.workflows.update(runtime.link({"boss": v2, "job": kit.workflows["job"]}))
    kit.send(job, "FINISH", workflow="job")
    kit.deliver()
    boss = kit.read("b1", "boss")
    assert boss.meta["definition"] == 1  # stayed on the version that still runs its child
    assert state_key(boss.snapshot.value) != "busy"


def test_a_message_sns_would_refuse_is_refused_before_the_commit(workflow_kit):
    boss = spawner("p1", {"n": 1, "blob": "x" * 270_000})
    kit = workflow_kit(boss, child())
    with pytest.raises(PayloadTooLarge, match="over the 262144 SNS takes"):
        kit.start("b1", "GO", workflow="boss")
    assert store.load("boss#b1") is None


def test_an_actor_id_still_running_is_not_started_again(workflow_kit):
    boss = spawner("p1")
    kit = workflow_kit(boss, child())
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    with pytest.raises(ActorRefused, match="still runs"):
        kit.send("b1", "GO", workflow="boss")
    assert len(list(store.instance_keys("job"))) == 1
