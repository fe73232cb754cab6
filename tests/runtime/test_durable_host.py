"""XState's conformance scenarios for durable hosts, through the durable runtime on moto.

The same ten scenarios as tests/statechart/test_durable_conformance.py (the xstate v6
line's ``packages/core/test/durable-conformance.ts``, by capability), here with every
machine a Workflow, every child a declared child workflow (its own instance, started,
stopped and talked to over the bus), every event from outside a client event, and
timers fired by the test kit's clock. Each test runs the same machines on the in-memory
ActorSystem as well and compares the final trees: status, value, context, output and
error of every actor either host started. Scenarios with messages between instances run
again with each message delivered twice and each batch shuffled (3 seeds), client
events all sent before anything is delivered, and must end the same; then every message
is delivered once more, newest first, and must change nothing. Three more tests go past
the ten: the error scenario with its error coming from a child that fails in a step or
at its start, and send order on one channel with three messages in flight.

How the host differs, not the charts: an instance is created by its first client event,
so each root takes a no-op ``BEGIN`` (the ActorSystem gets it too), where XState's host
calls ``actor.start()``; and a failing child's error is the text
``<exception type>: <message>``, where the ActorSystem keeps the message alone.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from chalicelib.runtime import CLIENT, Incoming, Workflow, intake, store
from chalicelib.runtime import send as runtime_send
from chalicelib.runtime.messaging import actors
from chalicelib.runtime.shared import EventNotAllowed
from chalicelib.statechart import (
    Machine,
    assign,
    enqueue_actions,
    send_parent,
    spawn_child,
    stop_child,
)
from chalicelib.statechart.system import ActorSystem

FINAL = {"type": "final"}
PARTS = ("value", "context", "output")
KIND = {actors.START: "xstate.init", actors.STOP: "xstate.stop"}
DELIVERIES = [
    pytest.param(None, id="in-order"),
    *(pytest.param(seed, id=f"twice-shuffled-{seed}") for seed in (0, 1, 2)),
]


class Nothing(BaseModel):
    pass


class ActorError(BaseModel):
    actorId: str  # XState's field name
    error: dict[str, Any]


@pytest.fixture
def quick_races(monkeypatch):
    from chalicelib.runtime import settings

    monkeypatch.setenv("COMMIT_RACE_SECONDS", "0.05")  # an early message waits for the kit
    yield
    getattr(settings, "cache_clear", lambda: None)()


def hosted(config: dict) -> dict:
    """The chart with a root-level no-op ``BEGIN``: the client event that creates it."""
    return {**config, "on": {"BEGIN": {}, **config.get("on", {})}}


def flow(
    name: str, machine: Machine, *events: str, children: tuple[str, ...] = (), **models: Any
) -> Workflow:
    """``machine`` as the workflow ``name``, taking ``events`` (and ``BEGIN``, for a
    root) from clients, with payload models by event type in ``models``."""
    client = {e: Nothing for e in (("BEGIN",) if name == "root" else ()) + events}
    client.update({e.replace("__", "."): m for e, m in models.items()})
    return Workflow(
        name, machine, client, {}, {}, lambda snapshot, meta: {"state": snapshot.value},
        children=children,
    )  # fmt: skip


class Memory(ActorSystem):
    """The in-memory ActorSystem, keeping every actor it created (stopped ones too)."""

    def __init__(self, machines: dict[str, Machine]) -> None:
        self.made: dict[str, Any] = {}
        super().__init__(machines, "root")
        self.send({"type": "BEGIN"})

    def _create(self, src, id, parent, input):  # noqa: A002 - the overridden signature
        actor = super()._create(src, id, parent, input)
        if actor is not None:
            self.made[actor.path] = actor
        return actor

    def final_tree(self) -> dict[str, dict[str, Any]]:
        tree = {}
        for path, actor in self.made.items():
            s = actor.snapshot  # None: its start raised
            tree[path] = _node(actor.status, *(getattr(s, k, None) for k in PARTS), actor.error)
        return tree

    def sent(self) -> dict[str, list[tuple[str, str]]]:
        """(target, type) of each event an actor sent another, by sender, in order."""
        out: dict[str, list[tuple[str, str]]] = {}
        for kind, source, target, type_, *_ in self.trace:
            if kind == "event" and source is not None and source != target:
                out.setdefault(source, []).append((target, type_))
        return out


def _node(status: str, value: Any, context: Any, output: Any, error: Any) -> dict[str, Any]:
    return {"status": status, "value": value, "context": context, "output": output,
            "error": error}  # fmt: skip


class Durable:
    """The durable side of a scenario: the kit, how messages are delivered, and the
    instance tree read back from the store."""

    def __init__(self, kit: Any, seed: int | None) -> None:
        self.kit, self.seed = kit, seed
        self.rng = random.Random(seed)

    def between(self) -> None:
        """Between two client events: delivered at once in order; left to pile up when
        shuffled, so the final delivery has several messages to shuffle."""
        if self.seed is None:
            self.kit.deliver()

    def deliver(self) -> None:
        if self.seed is None:
            self.kit.deliver()
            return

        def shuffled(batch):
            batch = list(batch)
            self.rng.shuffle(batch)
            return batch

        self.kit.deliver(shuffled, twice=True)

    def replay(self) -> None:
        """Deliver every message sent so far once more, newest first (twins arriving
        late), and check that nothing changed: no instance moved on, none was added."""
        before = {p: (t, self.applied(p)) for p, t in self.final_tree().items()}
        messages = {e["id"]: e for e in self.kit.commands() if e["type"] in actors.MESSAGE_TYPES}
        for event in reversed(list(messages.values())):
            intake.receive(self.kit.workflows, event["workflow"], json.dumps(event))
        assert {p: (t, self.applied(p)) for p, t in self.final_tree().items()} == before

    def instances(self, workflow: str = "root", instance: str = "r1", path: str = "root"):
        """Path -> (workflow, instance id) of the root and every child it started, deep."""
        found = {path: (workflow, instance)}
        record = self.kit.read(instance, workflow).meta["actors"]
        for actor, child in record.get("children", {}).items():
            found.update(self.instances(child["workflow"], child["id"], f"{path}/{actor}"))
        return found

    def final_tree(self) -> dict[str, dict[str, Any]]:
        tree = {}
        for path, (workflow, instance) in self.instances().items():
            s = self.kit.read(instance, workflow).snapshot
            tree[path] = _node(s.status, s.value, s.context, s.output, s.error)
        return tree

    def sent(self, stops: bool = False) -> dict[str, list[tuple[str, str]]]:
        """(target path, type) of each message an instance sent another, by sender path,
        in send order (a start as ``xstate.init``; stops only when asked: the ActorSystem
        traces none)."""
        where = {actors.key(*ref): path for path, ref in self.instances().items()}
        messages = {e["id"]: e for e in self.kit.commands() if e["type"] in actors.MESSAGE_TYPES}
        out: dict[str, list[tuple[str, str]]] = {}
        for e in sorted(messages.values(), key=lambda e: tuple(e["data"]["seq"])):
            source = where[e["data"]["from"]]
            target = where[actors.key(e["workflow"], e["subject"])]
            type_ = KIND.get(e["type"]) or e["data"]["event"]["type"]
            if source != target and (stops or type_ != "xstate.stop"):
                out.setdefault(source, []).append((target, type_))
        return out

    def applied(self, path: str) -> list[str]:
        """The events the instance at ``path`` applied, in order."""
        workflow, instance = self.instances()[path]
        return [h["eventType"] for h in self.kit.history(instance, workflow)]

    def id_of(self, path: str) -> str:
        return self.instances()[path][1]


def test_durably_executes_initial_and_transition_actions(workflow_kit):
    def machine(calls: list) -> Machine:
        return Machine(
            hosted({
                "id": "root",
                "initial": "active",
                "entry": [{"type": "record", "params": {"value": 1}}],
                "states": {
                    "active": {
                        "on": {
                            "FINISH": {
                                "target": "done",
                                "actions": [{"type": "record", "params": {"value": 2}}],
                            }
                        }
                    },
                    "done": FINAL,
                },
            }),
            actions={"record": lambda context, event, params: calls.append(params["value"])},
        )  # fmt: skip

    calls: list[int] = []
    kit = workflow_kit(flow("root", machine(calls), "FINISH"))
    host = Durable(kit, None)
    kit.start("r1", "BEGIN")
    assert calls == [1]  # the initial entry ran after the creating commit
    finish = Incoming({"type": "FINISH"}, "client.alice/finish-1", CLIENT, keyed=True)
    runtime_send(kit.workflow(), "r1", finish)
    assert calls == [1, 2]
    assert kit.read("r1").snapshot.status == "done"
    assert runtime_send(kit.workflow(), "r1", finish).snapshot.status == "done"  # a retry
    assert calls == [1, 2]  # answered as the first time, its actions not run again
    with pytest.raises(EventNotAllowed):  # a finished instance runs nothing more
        kit.send("r1", "FINISH")
    assert calls == [1, 2]
    assert [h["effects"] for h in kit.history("r1")] == [["action:record"], ["action:record"]]
    memory_calls: list[int] = []
    system = Memory({"root": machine(memory_calls)})
    system.send({"type": "FINISH"})
    assert memory_calls == calls
    assert host.final_tree() == system.final_tree()


def test_delivers_delayed_transitions_through_host_managed_timers(workflow_kit):
    machine = Machine(
        hosted({
            "id": "root",
            "output": "timed out",
            "initial": "waiting",
            "states": {"waiting": {"after": {"100": "done"}}, "done": FINAL},
        })
    )  # fmt: skip
    kit = workflow_kit(flow("root", machine))
    kit.start("r1", "BEGIN")
    assert list(store.load("root#r1").timers) == ["xstate.after.100.root.waiting"]
    assert kit.advance(timedelta(milliseconds=99)) == 0
    assert kit.read("r1").snapshot.status == "active"
    assert kit.advance(timedelta(milliseconds=1)) == 1
    root = kit.read("r1").snapshot
    assert (root.status, root.output) == ("done", "timed out")
    assert store.load("root#r1").timers == {}
    system = Memory({"root": machine})
    system.advance(100)
    assert Durable(kit, None).final_tree() == system.final_tree()


def test_cancels_and_replaces_delayed_sends_by_logical_timer_id(workflow_kit):
    def deadline(delay: int) -> dict:
        return {"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "TIMEOUT"},
                "id": "deadline", "delay": delay}  # fmt: skip

    machine = Machine(
        hosted({
            "id": "root",
            "initial": "waiting",
            "states": {
                "waiting": {
                    "on": {
                        "SCHEDULE": {"actions": [deadline(100)]},
                        "CANCEL": {"actions": [{"type": "cancelDeadline"}]},
                        "REPLACE": {"actions": [deadline(20)]},
                        "TIMEOUT": "done",
                    }
                },
                "done": FINAL,
            },
        }),
        actions={
            "cancelDeadline": enqueue_actions(lambda c, e, enqueue: enqueue.cancel("deadline"))
        },
    )  # fmt: skip
    kit = workflow_kit(flow("root", machine, "SCHEDULE", "CANCEL", "REPLACE"))

    def timers() -> list[str]:
        return list(store.load("root#r1").timers)

    kit.start("r1", "BEGIN")
    kit.send("r1", "SCHEDULE")
    assert timers() == ["deadline"]
    kit.send("r1", "CANCEL")
    assert timers() == []
    assert kit.advance(timedelta(milliseconds=100)) == 0  # the sent timer fires into nothing
    assert kit.read("r1").snapshot.status == "active"
    kit.send("r1", "SCHEDULE")  # due at 200
    first = store.load("root#r1").timers["deadline"]
    kit.send("r1", "REPLACE")  # due at 120, and the one due at 200 no longer counts
    assert timers() == ["deadline"] and store.load("root#r1").timers["deadline"] != first
    assert kit.advance(timedelta(milliseconds=19)) == 0
    assert kit.read("r1").snapshot.status == "active"
    assert kit.advance(timedelta(milliseconds=1)) == 1
    assert kit.read("r1").snapshot.status == "done"
    assert kit.advance(timedelta(milliseconds=100)) == 0  # the replaced one: ignored
    assert [h["eventType"] for h in kit.history("r1")].count("TIMEOUT") == 1
    system = Memory({"root": machine})
    for event in ("SCHEDULE", "CANCEL"):
        system.send({"type": event})
    system.advance(100)
    system.send({"type": "SCHEDULE"})
    system.send({"type": "REPLACE"})
    system.advance(200)
    assert Durable(kit, None).final_tree() == system.final_tree()


@pytest.mark.parametrize("seed", DELIVERIES)
def test_delegates_spawned_actor_lifecycle_to_the_host(workflow_kit, quick_races, seed):
    child = Machine({"id": "child"})
    machine = Machine(
        hosted({"id": "root", "entry": ["spawnWorker"],
                "on": {"STOP": {"actions": ["stopWorker"]}}}),
        actions={"spawnWorker": spawn_child("child", "worker"), "stopWorker": stop_child("worker")},
    )  # fmt: skip
    kit = workflow_kit(flow("root", machine, "STOP", children=("child",)), flow("child", child))
    host = Durable(kit, seed)
    kit.start("r1", "BEGIN")
    host.between()
    if seed is None:  # started: its own instance, the child of r1
        worker = kit.read(host.id_of("root/worker"), "child")
        assert worker.snapshot.status == "active"
        assert worker.meta["actors"]["parent"] == {
            "workflow": "root",
            "id": "r1",
            "actor": "worker",
        }
    kit.send("r1", "STOP")
    host.deliver()
    assert host.applied("root/worker") == ["xstate.start", "xstate.stop"]
    assert host.sent(stops=True) == {
        "root": [("root/worker", "xstate.init"), ("root/worker", "xstate.stop")]
    }
    assert kit.read("r1").meta["actors"]["children"]["worker"]["status"] == "stopped"
    system = Memory({"root": machine, "child": child})
    system.send({"type": "STOP"})
    assert host.final_tree() == system.final_tree()
    assert host.final_tree()["root/worker"]["status"] == "stopped"
    assert host.sent() == system.sent()
    host.replay()


@pytest.mark.parametrize("seed", DELIVERIES)
def test_fires_a_grandchild_timer_and_completes_the_tree_through_its_parents(
    workflow_kit, quick_races, seed
):
    retry = Machine(
        {"id": "retry", "initial": "idle",
         "states": {"idle": {"after": {"100": "ended"}}, "ended": FINAL}}
    )  # fmt: skip
    worker = Machine(
        {"id": "worker", "initial": "running",
         "states": {"running": {"invoke": {"id": "retry", "src": "retry", "onDone": "done"}},
                    "done": FINAL}}
    )  # fmt: skip
    machine = Machine(
        hosted({
            "id": "root",
            "output": "tree completed",
            "initial": "running",
            "states": {
                "running": {"invoke": {"id": "worker", "src": "worker", "onDone": "done"}},
                "done": FINAL,
            },
        })
    )  # fmt: skip
    kit = workflow_kit(
        flow("root", machine, children=("worker",)),
        flow("worker", worker, children=("retry",)),
        flow("retry", retry),
    )
    host = Durable(kit, seed)
    kit.start("r1", "BEGIN")
    host.deliver()
    retry_id = host.id_of("root/worker/retry")
    assert list(store.load(f"retry#{retry_id}").timers) == ["xstate.after.100.retry.idle"]
    assert [t["instance"] for t in kit.timers] == [retry_id]
    assert kit.advance(timedelta(milliseconds=99)) == 0
    host.deliver()
    assert kit.read("r1").snapshot.status == "active"
    assert kit.advance(timedelta(milliseconds=1)) == 1
    host.deliver()
    root = kit.read("r1").snapshot
    assert (root.status, root.output) == ("done", "tree completed")
    assert host.applied("root") == ["BEGIN", "xstate.done.actor.worker"]
    assert host.applied("root/worker") == ["xstate.start", "xstate.done.actor.retry"]
    system = Memory({"root": machine, "worker": worker, "retry": retry})
    system.advance(100)
    assert host.final_tree() == system.final_tree()
    assert host.sent() == system.sent()
    host.replay()


@pytest.mark.parametrize("seed", DELIVERIES)
def test_routes_messages_between_parent_and_child_actors(workflow_kit, quick_races, seed):
    child = Machine(
        {"id": "child", "on": {"PING": {"actions": ["pong"]}}},
        actions={"pong": send_parent({"type": "PONG"})},
    )
    machine = Machine(
        hosted({
            "id": "root",
            "output": "communicated",
            "initial": "active",
            "states": {
                "active": {
                    "invoke": {"id": "worker", "src": "child"},
                    "on": {
                        "SEND": {"actions": [
                            {"type": "xstate.sendTo", "to": "worker", "event": {"type": "PING"}}
                        ]},
                        "PONG": "done",
                    },
                },
                "done": FINAL,
            },
        })
    )  # fmt: skip
    kit = workflow_kit(flow("root", machine, "SEND", children=("child",)), flow("child", child))
    host = Durable(kit, seed)
    kit.start("r1", "BEGIN")
    host.between()
    kit.send("r1", "SEND")
    host.deliver()
    root = kit.read("r1").snapshot
    assert (root.status, root.output) == ("done", "communicated")
    assert host.sent(stops=True) == {
        "root": [("root/worker", "xstate.init"), ("root/worker", "PING"),
                 ("root/worker", "xstate.stop")],  # leaving "active" stops it
        "root/worker": [("root", "PONG")],
    }  # fmt: skip
    assert host.applied("root") == ["BEGIN", "SEND", "PONG"]
    assert host.applied("root/worker") == ["xstate.start", "PING", "xstate.stop"]
    system = Memory({"root": machine, "child": child})
    system.send({"type": "SEND"})
    assert system.sent() == {
        "root": [("root/worker", "xstate.init"), ("root/worker", "PING")],
        "root/worker": [("root", "PONG")],
    }
    assert host.sent() == system.sent()
    assert host.final_tree() == system.final_tree()
    host.replay()


@pytest.mark.parametrize("seed", DELIVERIES)
def test_messages_between_two_actors_are_applied_in_send_order(workflow_kit, quick_races, seed):
    """Not one of the ten (none has two messages on one channel at once): the parent
    sends its child A, B and C in three steps; delivered twice and shuffled, the child
    still applies them once each, in send order, as the ActorSystem's mailbox does."""
    child = Machine(
        {"id": "child", "context": {"seen": []},
         "on": {t: {"actions": ["see"]} for t in ("A", "B", "C")}},
        actions={"see": assign(seen=lambda c, e: [*c["seen"], e["type"]])},
    )  # fmt: skip

    def tell(event: str) -> dict:
        return {"actions": [{"type": "xstate.sendTo", "to": "worker", "event": {"type": event}}]}

    machine = Machine(
        hosted({"id": "root", "invoke": {"id": "worker", "src": "child"},
                "on": {f"SEND_{t}": tell(t) for t in ("A", "B", "C")}})
    )  # fmt: skip
    events = ("SEND_A", "SEND_B", "SEND_C")
    kit = workflow_kit(flow("root", machine, *events, children=("child",)), flow("child", child))
    host = Durable(kit, seed)
    kit.start("r1", "BEGIN")
    for event in events:
        kit.send("r1", event)  # delivered only after all three: one batch to shuffle
    host.deliver()
    assert kit.read(host.id_of("root/worker"), "child").snapshot.context == {
        "seen": ["A", "B", "C"]
    }
    assert host.applied("root/worker") == ["xstate.start", "A", "B", "C"]
    system = Memory({"root": machine, "child": child})
    for event in events:
        system.send({"type": event})
    assert host.final_tree() == system.final_tree()
    host.replay()


@pytest.mark.parametrize("seed", DELIVERIES)
def test_propagates_invoked_child_completion_to_its_parent(workflow_kit, quick_races, seed):
    child = Machine(
        {"id": "child", "initial": "active",
         "states": {"active": {"on": {"FINISH": "done"}}, "done": FINAL}}
    )  # fmt: skip
    machine = Machine(
        hosted({
            "id": "root",
            "output": "child completed",
            "initial": "active",
            "states": {
                "active": {
                    "invoke": {"id": "worker", "src": "child", "onDone": "done"},
                    "on": {"FINISH_CHILD": {"actions": [
                        {"type": "xstate.sendTo", "to": "worker", "event": {"type": "FINISH"}}
                    ]}},
                },
                "done": FINAL,
            },
        })
    )  # fmt: skip
    kit = workflow_kit(
        flow("root", machine, "FINISH_CHILD", children=("child",)), flow("child", child)
    )
    host = Durable(kit, seed)
    kit.start("r1", "BEGIN")
    host.between()
    kit.send("r1", "FINISH_CHILD")
    host.deliver()
    root = kit.read("r1").snapshot
    assert (root.status, root.output) == ("done", "child completed")
    sent = host.sent(stops=True)  # a child done before its parent left its state: no stop
    assert sent["root"] == [("root/worker", "xstate.init"), ("root/worker", "FINISH")]
    assert sent["root/worker"] == [("root", "xstate.done.actor.worker")]
    assert host.applied("root") == ["BEGIN", "FINISH_CHILD", "xstate.done.actor.worker"]
    system = Memory({"root": machine, "child": child})
    system.send({"type": "FINISH_CHILD"})
    assert host.sent() == system.sent()
    assert host.final_tree() == system.final_tree()
    host.replay()


@pytest.mark.parametrize("seed", DELIVERIES)
def test_buffers_events_sent_before_the_host_begins_waiting(workflow_kit, quick_races, seed):
    machine = Machine(
        hosted({
            "id": "root",
            "output": "received",
            "initial": "active",
            "entry": [{"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "CONTINUE"}}],
            "states": {"active": {"on": {"CONTINUE": "done"}}, "done": FINAL},
        })
    )  # fmt: skip
    kit = workflow_kit(flow("root", machine))
    host = Durable(kit, seed)
    kit.start("r1", "BEGIN")  # the entry's send is committed with the instance, sent after
    assert kit.read("r1").snapshot.status == "active"
    host.deliver()
    root = kit.read("r1").snapshot
    assert (root.status, root.output) == ("done", "received")
    assert host.applied("root") == ["BEGIN", "CONTINUE"]
    assert host.final_tree() == Memory({"root": machine}).final_tree()
    host.replay()


def test_rejects_with_an_unhandled_machine_error(workflow_kit):
    error = {"message": "failed"}
    machine = Machine(hosted({"id": "root"}))
    kit = workflow_kit(flow("root", machine, xstate__error__actor__worker=ActorError))
    kit.start("r1", "BEGIN")
    kit.send("r1", "xstate.error.actor.worker", {"actorId": "worker", "error": error})
    root = kit.read("r1").snapshot
    assert (root.status, root.error) == ("error", error)
    with pytest.raises(EventNotAllowed):  # an instance in error takes no more events
        kit.send("r1", "BEGIN")
    system = Memory({"root": machine})
    system.send({"type": "xstate.error.actor.worker", "actorId": "worker", "error": error})
    assert Durable(kit, None).final_tree() == system.final_tree()


@pytest.mark.parametrize("seed", DELIVERIES)
def test_a_failing_child_s_unhandled_error_fails_its_parent(workflow_kit, quick_races, seed):
    """The scenario above with its error coming from a real child: a spawned worker whose
    step raises fails, and its parent, which has no handler, fails with its error."""

    def explode(context, event):
        raise RuntimeError("failed")

    worker = Machine({"id": "worker", "on": {"FAIL": {"actions": ["explode"]}}},
                     actions={"explode": assign(explode)})  # fmt: skip
    machine = Machine(
        hosted({"id": "root", "entry": ["spawnWorker"]}),
        actions={"spawnWorker": spawn_child("worker", "worker")},
    )
    kit = workflow_kit(flow("root", machine, children=("worker",)), flow("worker", worker, "FAIL"))
    host = Durable(kit, seed)
    kit.start("r1", "BEGIN")
    host.deliver()
    kit.send(host.id_of("root/worker"), "FAIL", workflow="worker")
    host.deliver()
    root = kit.read("r1").snapshot
    assert (root.status, root.error) == ("error", "RuntimeError: failed")
    assert host.applied("root") == ["BEGIN", "xstate.error.actor.worker"]
    system = Memory({"root": machine, "worker": worker})
    system.send({"type": "FAIL"}, to="root/worker")
    memory, durable = system.final_tree(), host.final_tree()
    assert (memory["root"]["error"], memory["root/worker"]["error"]) == ("failed", "failed")
    for path in memory:  # the same tree but for the error's text
        memory[path]["error"] = durable[path]["error"] = None
    assert durable == memory
    assert host.sent() == system.sent()
    host.replay()


@pytest.mark.parametrize("seed", DELIVERIES)
def test_a_child_whose_start_raises_fails_and_its_parent_gets_the_error(
    workflow_kit, quick_races, seed
):
    """The errors capability again, at a child's start: its initial entry raises, so it
    is in error from the start and its parent takes ``xstate.error.actor.<id>`` (XState 5
    in Node does this; the runtime used to raise on the start message for ever)."""

    def explode(context, event):
        raise RuntimeError("failed")

    worker = Machine(
        {"id": "worker", "initial": "working", "entry": ["explode"],
         "states": {"working": {"on": {"PING": {}}}}},
        actions={"explode": assign(explode)},
    )  # fmt: skip
    machine = Machine(
        hosted({
            "id": "root",
            "initial": "running",
            "invoke": {"id": "worker", "src": "worker",
                       "onError": {"target": ".failed", "actions": ["keepError"]}},
            "context": {"error": None},
            "states": {"running": {}, "failed": {}},
        }),
        actions={"keepError": assign(error=lambda c, e: e["error"])},
    )  # fmt: skip
    kit = workflow_kit(flow("root", machine, children=("worker",)), flow("worker", worker, "PING"))
    host = Durable(kit, seed)
    kit.start("r1", "BEGIN")
    host.deliver()
    root = kit.read("r1").snapshot
    assert (root.value, root.context) == ("failed", {"error": "RuntimeError: failed"})
    assert host.applied("root") == ["BEGIN", "xstate.error.actor.worker"]
    worker_now = kit.read(host.id_of("root/worker"), "worker").snapshot
    assert (worker_now.status, worker_now.error) == ("error", "RuntimeError: failed")
    with pytest.raises(EventNotAllowed):  # a failed child takes no more events
        kit.send(host.id_of("root/worker"), "PING", workflow="worker")
    assert kit.read("r1").meta["actors"]["children"]["worker"]["status"] == "error"
    system = Memory({"root": machine, "worker": worker})
    memory = system.final_tree()
    assert memory["root"]["value"] == "failed"
    assert (memory["root/worker"]["status"], memory["root/worker"]["error"]) == ("error", "failed")
    assert host.sent() == system.sent()
    host.replay()


def test_resolves_terminal_machine_output(workflow_kit):
    machine = Machine(
        hosted({
            "id": "root",
            "output": 42,
            "initial": "active",
            "states": {"active": {"on": {"FINISH": "done"}}, "done": FINAL},
        })
    )  # fmt: skip
    kit = workflow_kit(flow("root", machine, "FINISH"))
    kit.start("r1", "BEGIN")
    kit.send("r1", "FINISH")
    root = kit.read("r1")
    assert (root.snapshot.status, root.snapshot.output) == ("done", 42)
    assert root.snapshot.to_dict()["output"] == 42  # stored with the snapshot
    system = Memory({"root": machine})
    system.send({"type": "FINISH"})
    assert Durable(kit, None).final_tree() == system.final_tree()
