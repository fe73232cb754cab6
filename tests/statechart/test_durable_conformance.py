"""XState's conformance scenarios for durable hosts, in our terms, against ActorSystem.

The xstate repository's v6 line carries ``packages/core/test/durable-conformance.ts``:
scenarios a durable host must pass, by capability (actions, timers, actors,
actorCommunication, mailbox, errors, output). Each test below is one of them, named
as there, written as a v5 JSON chart with Python actions and the test kit's clock
(``ActorSystem.advance``); none of its code is copied. They pass in memory; the
durable runtime (DynamoDB, bus, outbox) passes the same list in
tests/runtime/test_durable_host.py.
"""

from __future__ import annotations

from chalicelib.statechart import (
    Machine,
    enqueue_actions,
    send_parent,
    spawn_child,
    stop_child,
)
from chalicelib.statechart.system import ActorSystem

FINAL = {"type": "final"}


def _run(machine: Machine, **children: Machine) -> ActorSystem:
    return ActorSystem({"root": machine, **children}, "root")


def _events(system: ActorSystem, source: str | None = "root") -> list[tuple[str, str]]:
    """(target, type) of each event ``source`` sent to another actor."""
    return [(t[2], t[3]) for t in system.trace if t[0] == "event" and t[1] == source != t[2]]


def test_durably_executes_initial_and_transition_actions():
    calls = []
    machine = Machine(
        {
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
        },
        actions={"record": lambda context, event, params: calls.append(params["value"])},
    )
    system = _run(machine)
    system.send({"type": "FINISH"})
    assert system.root.status == "done"
    assert calls == [1, 2]
    assert [t[2] for t in system.trace if t[0] == "action"] == ["record", "record"]


def test_delivers_delayed_transitions_through_host_managed_timers():
    machine = Machine(
        {
            "id": "root",
            "output": "timed out",
            "initial": "waiting",
            "states": {"waiting": {"after": {"100": "done"}}, "done": FINAL},
        }
    )
    system = _run(machine)
    system.advance(99)
    assert system.root.status == "active"
    system.advance(1)
    assert (system.root.status, system.root.snapshot.output) == ("done", "timed out")


def test_cancels_and_replaces_delayed_sends_by_logical_timer_id():
    def deadline(delay: int) -> dict:
        return {"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "TIMEOUT"},
                "id": "deadline", "delay": delay}  # fmt: skip

    machine = Machine(
        {
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
        },
        actions={
            "cancelDeadline": enqueue_actions(lambda c, e, enqueue: enqueue.cancel("deadline"))
        },
    )
    system = _run(machine)
    system.send({"type": "SCHEDULE"})
    assert system.timers == [("root", "deadline", 100)]
    system.send({"type": "CANCEL"})
    assert system.timers == []
    system.advance(100)
    assert system.root.status == "active"
    system.send({"type": "SCHEDULE"})
    system.send({"type": "REPLACE"})
    assert system.timers == [("root", "deadline", 120)]  # replaced, not added
    system.advance(19)
    assert system.root.status == "active"
    system.advance(1)
    assert system.root.status == "done"


def test_delegates_spawned_actor_lifecycle_to_the_host():
    child = Machine({"id": "child"})
    machine = Machine(
        {"id": "root", "entry": ["spawnWorker"], "on": {"STOP": {"actions": ["stopWorker"]}}},
        actions={"spawnWorker": spawn_child("child", "worker"), "stopWorker": stop_child("worker")},
    )
    assert [(e.kind, e.id) for e in machine.initial_transition().effects] == [("spawn", "worker")]
    system = _run(machine, child=child)
    worker = system.actor("root/worker")
    assert ("event", "root", "root/worker", "xstate.init") in system.trace  # started
    system.send({"type": "STOP"})
    assert worker.status == "stopped"
    assert ("snapshot", "root/worker", "xstate.stop", "stopped") in system.trace


def test_fires_a_grandchild_timer_and_completes_the_tree_through_its_parents():
    retry = Machine(
        {
            "id": "retry",
            "initial": "idle",
            "states": {"idle": {"after": {"100": "ended"}}, "ended": FINAL},
        }
    )
    worker = Machine(
        {
            "id": "worker",
            "initial": "running",
            "states": {
                "running": {"invoke": {"id": "retry", "src": "retry", "onDone": "done"}},
                "done": FINAL,
            },
        }
    )
    machine = Machine(
        {
            "id": "root",
            "output": "tree completed",
            "initial": "running",
            "states": {
                "running": {"invoke": {"id": "worker", "src": "worker", "onDone": "done"}},
                "done": FINAL,
            },
        }
    )
    system = _run(machine, worker=worker, retry=retry)
    assert system.timers == [("root/worker/retry", "xstate.after.100.retry.idle", 100)]
    system.advance(99)
    assert system.root.status == "active"
    system.advance(1)
    assert (system.root.status, system.root.snapshot.output) == ("done", "tree completed")


def test_routes_messages_between_parent_and_child_actors():
    child = Machine(
        {"id": "child", "on": {"PING": {"actions": ["pong"]}}},
        actions={"pong": send_parent({"type": "PONG"})},
    )
    machine = Machine(
        {
            "id": "root",
            "output": "communicated",
            "initial": "active",
            "states": {
                "active": {
                    "invoke": {"id": "worker", "src": "child"},
                    "on": {
                        "SEND": {
                            "actions": [
                                {"type": "xstate.sendTo", "to": "worker", "event": {"type": "PING"}}
                            ]
                        },
                        "PONG": "done",
                    },
                },
                "done": FINAL,
            },
        }
    )
    system = _run(machine, child=child)
    system.send({"type": "SEND"})
    assert (system.root.status, system.root.snapshot.output) == ("done", "communicated")
    assert _events(system) == [("root/worker", "xstate.init"), ("root/worker", "PING")]
    assert _events(system, "root/worker") == [("root", "PONG")]


def test_propagates_invoked_child_completion_to_its_parent():
    child = Machine(
        {
            "id": "child",
            "initial": "active",
            "states": {"active": {"on": {"FINISH": "done"}}, "done": FINAL},
        }
    )
    machine = Machine(
        {
            "id": "root",
            "output": "child completed",
            "initial": "active",
            "states": {
                "active": {
                    "invoke": {"id": "worker", "src": "child", "onDone": "done"},
                    "on": {
                        "FINISH_CHILD": {
                            "actions": [
                                {
                                    "type": "xstate.sendTo",
                                    "to": "worker",
                                    "event": {"type": "FINISH"},
                                }
                            ]
                        }
                    },
                },
                "done": FINAL,
            },
        }
    )
    system = _run(machine, child=child)
    system.send({"type": "FINISH_CHILD"})
    assert (system.root.status, system.root.snapshot.output) == ("done", "child completed")
    assert ("root/worker", "FINISH") in _events(system)
    assert _events(system, "root/worker") == [("root", "xstate.done.actor.worker")]


def test_buffers_events_sent_before_the_host_begins_waiting():
    machine = Machine(
        {
            "id": "root",
            "output": "received",
            "initial": "active",
            "entry": [{"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "CONTINUE"}}],
            "states": {"active": {"on": {"CONTINUE": "done"}}, "done": FINAL},
        }
    )
    system = _run(machine)
    assert (system.root.status, system.root.snapshot.output) == ("done", "received")


def test_rejects_with_an_unhandled_machine_error():
    error = {"message": "failed"}
    system = _run(Machine({"id": "root"}))
    system.send({"type": "xstate.error.actor.worker", "actorId": "worker", "error": error})
    assert (system.root.status, system.root.error) == ("error", error)


def test_resolves_terminal_machine_output():
    machine = Machine(
        {
            "id": "root",
            "output": 42,
            "initial": "active",
            "states": {"active": {"on": {"FINISH": "done"}}, "done": FINAL},
        }
    )
    system = _run(machine)
    system.send({"type": "FINISH"})
    assert (system.root.status, system.root.snapshot.output) == ("done", 42)
