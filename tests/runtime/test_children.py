"""Workflow instances as durable actors, through the real runtime on moto: a parent
invokes or spawns child workflows, they talk over the bus (sendTo, sendParent), a
child's completion or failure reaches the parent once, and a parent that leaves the
invoking state stops its children, recursively. Messages are delivered duplicated and
out of order too (messaging/actors.py applies each once, in send order)."""

from __future__ import annotations

import random

import pytest
from pydantic import BaseModel

from chalicelib.runtime import Workflow, state_key, store
from chalicelib.runtime.shared import EventNotAllowed
from chalicelib.statechart import Machine, assign


class Nothing(BaseModel):
    pass


def _view(snapshot, meta):
    return {"state": state_key(snapshot.value), "status": snapshot.status, **snapshot.context}


def child(name: str = "job", grandchild: bool = False) -> Workflow:
    """Says READY to its parent, waits for FINISH (done, output n * 10) or FAIL (an action
    that raises), gives up after a minute; optionally invokes a grandchild."""
    waiting: dict = {
        "entry": [{"type": "xstate.sendParent", "event": {"type": "READY"}}],
        "on": {
            "FINISH": "finished",
            "FAIL": {"actions": ["explode"]},
            "PING": {"actions": [{"type": "xstate.sendParent", "event": {"type": "PONG"}}]},
        },
        "after": {"60000": "gaveUp"},
    }
    if grandchild:
        waiting["invoke"] = {"id": "deeper", "src": "leaf", "input": {"n": 0}}
    chart = {
        "id": name,
        "initial": "waiting",
        "context": lambda given: {"n": (given or {}).get("n", 0)},
        "states": {
            "waiting": waiting,
            "finished": {"type": "final"},
            "gaveUp": {"type": "final"},
        },
        "output": lambda context, event: {"result": context["n"] * 10},
    }

    def explode(context, event):
        raise RuntimeError("the job broke")

    machine = Machine(chart, actions={"explode": assign(explode)})
    return Workflow(
        name, machine, {"FINISH": Nothing, "FAIL": Nothing, "PING": Nothing}, {}, {}, _view,
        children=("leaf",) if grandchild else (),
    )  # fmt: skip


def parent(children: tuple[str, ...] = ("job",)) -> Workflow:
    chart = {
        "id": "boss",
        "initial": "idle",
        "context": {"ready": 0, "pongs": 0, "result": None, "error": None},
        "states": {
            "idle": {"on": {"GO": "working"}},
            "working": {
                "invoke": {
                    "id": "worker",
                    "src": "job",
                    "input": {"n": 4},
                    "onDone": {"target": "done", "actions": ["keepResult"]},
                    "onError": {"target": "failed", "actions": ["keepError"]},
                },
                "on": {
                    "READY": {"actions": ["countReady"]},
                    "PONG": {"actions": ["countPong"]},
                    "POKE": {
                        "actions": [
                            {"type": "xstate.sendTo", "to": "worker", "event": {"type": "PING"}}
                        ]
                    },
                    "NUDGE": {
                        "actions": [
                            {"type": "xstate.sendTo", "to": "worker", "event": {"type": "IGNORED"}}
                        ]
                    },
                    "CANCEL": "cancelled",
                },
            },
            "done": {"type": "final"},
            "failed": {"type": "final"},
            "cancelled": {"type": "final"},
        },
    }
    machine = Machine(
        chart,
        actions={
            "keepResult": assign(result=lambda c, e: e["output"]["result"]),
            "keepError": assign(error=lambda c, e: e["error"]),
            "countReady": assign(ready=lambda c, e: c["ready"] + 1),
            "countPong": assign(pongs=lambda c, e: c["pongs"] + 1),
        },
    )
    events = {t: Nothing for t in ("GO", "CANCEL", "POKE", "NUDGE")}
    return Workflow("boss", machine, events, {}, {}, _view, children=children)


@pytest.fixture
def quick_races(monkeypatch):
    from chalicelib.runtime import settings

    monkeypatch.setenv("COMMIT_RACE_SECONDS", "0.05")  # an early message waits for the kit
    yield
    getattr(settings, "cache_clear", lambda: None)()


def _the_child(kit, parent_id: str = "b1") -> str:
    [entry] = kit.read(parent_id, "boss").meta["actors"]["children"].values()
    return entry["id"]


def test_an_invoked_workflow_starts_once_answers_its_parent_and_completes_it(workflow_kit):
    kit = workflow_kit(parent(), child())
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    job = _the_child(kit)
    assert job == "b1.worker.1"  # derived from the parent: a retry cannot start two
    assert kit.read(job, "job").meta["actors"]["parent"] == {
        "workflow": "boss", "id": "b1", "actor": "worker"
    }  # fmt: skip
    assert kit.read(job, "job").snapshot.context == {"n": 4}  # the invoke's input
    assert kit.read("b1", "boss").snapshot.context["ready"] == 1  # sendParent arrived
    kit.send("b1", "POKE", workflow="boss")
    kit.deliver()  # sendTo the child, its sendParent back
    assert kit.read("b1", "boss").snapshot.context["pongs"] == 1
    kit.send(job, "FINISH", workflow="job")
    kit.deliver()
    boss = kit.read("b1", "boss")
    assert state_key(boss.snapshot.value) == "done" and boss.snapshot.context["result"] == 40
    [done] = [h for h in kit.history("b1", "boss") if h["eventType"].startswith("xstate.done")]
    assert done["eventType"] == "xstate.done.actor.worker"
    assert boss.view()["children"] == [
        {"actor": "worker", "workflow": "job", "id": job, "value": "finished", "status": "done"}
    ]
    with pytest.raises(EventNotAllowed):  # a finished child takes no more events
        kit.send(job, "PING", workflow="job")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicated_and_reordered_messages_start_one_child_and_complete_once(
    workflow_kit, quick_races, seed
):
    kit = workflow_kit(parent(), child())
    rng = random.Random(seed)

    def shuffled(batch):
        batch = list(batch)
        rng.shuffle(batch)
        return batch

    kit.start("b1", "GO", workflow="boss")
    kit.send("b1", "POKE", workflow="boss")
    kit.send("b1", "POKE", workflow="boss")
    kit.deliver(shuffled, twice=True)
    job = _the_child(kit)
    kit.send(job, "FINISH", workflow="job")
    kit.deliver(shuffled, twice=True)
    boss = kit.read("b1", "boss")
    assert boss.snapshot.context == {"ready": 1, "pongs": 2, "result": 40, "error": None}
    kinds = [h["eventType"] for h in kit.history("b1", "boss")]
    assert kinds.count("xstate.done.actor.worker") == 1 and kinds.count("READY") == 1
    assert [h["eventType"] for h in kit.history(job, "job")].count("PING") == 2
    assert len(list(store.instance_keys("job"))) == 1


def test_leaving_the_invoking_state_stops_the_child_its_timers_and_its_own_children(
    workflow_kit,
):
    kit = workflow_kit(parent(), child(grandchild=True), child("leaf"))
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    job = _the_child(kit)
    [leaf] = [c["id"] for c in kit.read(job, "job").meta["actors"]["children"].values()]
    assert kit.read(job, "job").meta["actors"]["children"]["deeper"]["status"] == "active"
    assert store.load(f"job#{job}").timers  # its give-up timer is pending
    kit.send("b1", "CANCEL", workflow="boss")
    kit.deliver()
    assert state_key(kit.read("b1", "boss").snapshot.value) == "cancelled"
    for name, instance in (("job", job), ("leaf", leaf)):
        stored = store.load(f"{name}#{instance}")
        assert (stored.snapshot["status"], stored.timers) == ("stopped", {})
    with pytest.raises(EventNotAllowed):  # a stopped child takes no more events
        kit.send(job, "FINISH", workflow="job")
    assert kit.advance(minutes=2) == 0  # its dropped timers fire into nothing
    kinds = [h["eventType"] for h in kit.history("b1", "boss")]
    assert not any(k.startswith("xstate.done.actor") for k in kinds)  # no completion


def test_a_child_whose_step_raises_fails_and_its_parent_gets_the_error(workflow_kit):
    kit = workflow_kit(parent(), child())
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    job = _the_child(kit)
    kit.send(job, "FAIL", workflow="job")
    kit.deliver()
    boss = kit.read("b1", "boss")
    assert state_key(boss.snapshot.value) == "failed"
    assert "the job broke" in boss.snapshot.context["error"]
    assert kit.read(job, "job").snapshot.status == "error"
    assert boss.view()["children"][0]["status"] == "error"


def test_a_message_to_a_child_not_started_yet_waits_for_its_start(workflow_kit, quick_races):
    kit = workflow_kit(parent(), child())
    kit.start("b1", "GO", workflow="boss")
    kit.send("b1", "POKE", workflow="boss")  # the PING is sent before the start arrives
    outcomes = kit.deliver(lambda batch: reversed(list(batch)))
    assert kit.read("b1", "boss").snapshot.context["pongs"] == 1
    assert any(o is not None for o in outcomes)


def test_spawned_children_from_a_list_complete_through_a_wildcard(workflow_kit):
    chart = {
        "id": "fan",
        "initial": "idle",
        "context": {"items": ["a", "b", "c"], "results": []},
        "states": {
            "idle": {"on": {"GO": {"target": "running", "actions": ["spawnAll"]}}},
            "running": {
                "on": {"xstate.done.actor.*": {"actions": ["collect"]}},
                "always": {"guard": "allIn", "target": "joined"},
            },
            "joined": {"type": "final"},
        },
    }
    from chalicelib.statechart import enqueue_actions

    def spawn_all(context, event, enqueue):
        for i, item in enumerate(context["items"]):
            enqueue.spawn_child("job", id=item, input={"n": i + 1})

    machine = Machine(
        chart,
        actions={
            "spawnAll": enqueue_actions(spawn_all),
            "collect": assign(results=lambda c, e: sorted([*c["results"], e["output"]["result"]])),
        },
        guards={"allIn": lambda c, e: len(c["results"]) == len(c["items"])},
    )
    fan = Workflow("fan", machine, {"GO": Nothing}, {}, {}, _view, children=("job",))
    kit = workflow_kit(fan, child())
    kit.start("f1", "GO", workflow="fan")
    kit.deliver()
    kids = kit.read("f1", "fan").meta["actors"]["children"]
    assert sorted(kids) == ["a", "b", "c"]
    for entry in kids.values():
        kit.send(entry["id"], "FINISH", workflow="job")
    kit.deliver()
    fan_now = kit.read("f1", "fan")
    assert state_key(fan_now.snapshot.value) == "joined"
    assert fan_now.snapshot.context["results"] == [10, 20, 30]


def test_reading_a_parent_shows_each_childs_state_and_its_followers_see_children_move(
    workflow_kit,
):
    from chalicelib.runtime import core

    kit = workflow_kit(parent(), child())
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    watching = kit.follow("b1", workflow="boss")
    job = _the_child(kit)
    seen = core.read(kit.workflow("boss"), "b1", None).view()["children"]
    assert seen == [
        {"actor": "worker", "workflow": "job", "id": job, "value": "waiting", "status": "active"}
    ]
    before = len(kit.pushes(watching))
    kit.send(job, "FINISH", workflow="job")  # the child's own commit pushes to the parent's
    pushed = kit.pushes(watching)[before]
    assert pushed["children"][0]["value"] == "finished"
    assert pushed["children"][0]["status"] == "done"


def test_a_start_left_by_a_bus_outage_is_sent_by_the_sweeper(workflow_kit):
    kit = workflow_kit(parent(), child())
    with kit.bus_outage():
        kit.start("b1", "GO", workflow="boss")
    assert kit.deliver() == []  # nothing reached the bus
    assert [e["kind"] for e in _pending(kit)] == ["message"]
    assert kit.sweep() == 1
    kit.deliver()
    job = _the_child(kit)
    assert kit.read(job, "job").snapshot.status == "active"
    assert kit.read("b1", "boss").snapshot.context["ready"] == 1
    assert _pending(kit) == []


def _pending(kit) -> list[dict]:
    from chalicelib.runtime.entrypoints import inspection

    return inspection.instance(kit.workflow("boss"), "b1")["outbox"]


def _replays(kit, workflow: str, instance_id: str) -> str:
    from chalicelib.runtime.entrypoints.check_versions import exported
    from chalicelib.runtime.versions import replay

    verdict = replay.replay(kit.workflow(workflow), exported(f"{workflow}#{instance_id}"))
    return verdict.kind + (f" at {verdict.at}: {verdict.detail}" if verdict.detail else "")


def test_the_replay_check_replays_parents_and_children_with_their_messages(workflow_kit):
    kit = workflow_kit(parent(), child(grandchild=True), child("leaf"))
    kit.start("b1", "GO", workflow="boss")  # started, then stopped with its grandchild
    kit.deliver()
    first = _the_child(kit)
    kit.send("b1", "CANCEL", workflow="boss")
    kit.deliver()
    kit.start("b2", "GO", workflow="boss")  # a child that fails
    kit.deliver()
    failing = _the_child(kit, "b2")
    kit.send(failing, "FAIL", workflow="job")
    kit.deliver()
    kit.start("b3", "GO", workflow="boss")  # a message its state does not take, dropped
    kit.deliver()
    dropping = _the_child(kit, "b3")
    kit.send("b3", "NUDGE", workflow="boss")
    kit.deliver()
    kit.send(dropping, "FINISH", workflow="job")
    kit.deliver()
    [leaf] = [c["id"] for c in kit.read(first, "job").meta["actors"]["children"].values()]
    histories = {
        ("boss", "b1"), ("boss", "b2"), ("boss", "b3"), ("job", first), ("job", failing),
        ("job", dropping), ("leaf", leaf),
    }  # fmt: skip
    kinds = {h["eventType"] for w, i in histories for h in kit.history(i, w)}
    assert {"xstate.start", "xstate.stop", "IGNORED"} <= kinds
    assert any(h.get("failed") for h in kit.history(failing, "job"))
    steps = [(h["eventType"], bool(h.get("dropped"))) for h in kit.history(dropping, "job")]
    assert ("IGNORED", True) in steps, steps
    assert all(_replays(kit, w, i) == "identical" for w, i in histories), {
        (w, i): _replays(kit, w, i) for w, i in histories
    }


def test_a_stopped_child_leaves_its_workflows_worklist(workflow_kit):
    listed_child = child()
    listed_child.worklist = lambda snapshot: snapshot.matches("waiting")
    kit = workflow_kit(parent(), listed_child)
    kit.start("b1", "GO", workflow="boss")
    kit.deliver()
    job = _the_child(kit)
    assert [i.pk for i in store.listed("job")] == [f"job#{job}"]
    kit.send("b1", "CANCEL", workflow="boss")
    kit.deliver()
    assert kit.read(job, "job").snapshot.value == "waiting"  # stopped where it was
    assert list(store.listed("job")) == []
