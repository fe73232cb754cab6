"""Actors in the engine: XState v5's spawnChild, stopChild, sendTo, sendParent and
enqueueActions as effects, and ActorSystem running a parent with its children.

Compared with XState 5 in Node: hand-written systems (actor_cases.py) and random
ones (actor_generator.py) through XState's actor system, step by step (every event
between actors in order, every named action, every actor's state after each
command), and the actor actions through the pure transition. The tests below the
comparisons assert the same rules directly, so they fail without Node too.
"""

from __future__ import annotations

import os

import pytest

from chalicelib.statechart import (
    Effect,
    Machine,
    MachineDefinitionError,
    Snapshot,
    UnknownActorError,
    assign,
    enqueue_actions,
    send_parent,
    spawn_child,
    stop_child,
)
from chalicelib.statechart.system import ActorSystem

from .actor_cases import ACTOR_CASES, ENGINE_ACTOR_CASES
from .actor_generator import random_system
from .conformance import first_difference, run_python, run_xstate, xstate_available
from .systems import (
    first_system_difference,
    run_python_system,
    run_xstate_systems,
    thrown_alike,
)

RANDOM_SYSTEMS = int(os.environ.get("ACTOR_SYSTEMS", "80"))


@pytest.fixture(scope="module")
def xstate_systems() -> dict[str, dict]:
    missing = xstate_available()
    if missing:
        pytest.fail(f"the actor comparison needs Node and xstate@5: {missing}")
    return {c["name"]: r for c, r in zip(ACTOR_CASES, run_xstate_systems(ACTOR_CASES), strict=True)}


@pytest.fixture(scope="module")
def random_systems() -> list[tuple[dict, dict]]:
    missing = xstate_available()
    if missing:
        pytest.fail(f"the actor comparison needs Node and xstate@5: {missing}")
    cases = [random_system(seed, 15) for seed in range(RANDOM_SYSTEMS)]
    return list(zip(cases, run_xstate_systems(cases), strict=True))


@pytest.mark.parametrize("case", ACTOR_CASES, ids=[c["name"] for c in ACTOR_CASES])
def test_hand_written_system_matches_xstate(case, xstate_systems):
    theirs = xstate_systems[case["name"]]
    assert "error" not in theirs, theirs
    ours = run_python_system(case)
    assert ours == theirs, first_system_difference(ours, theirs, case["commands"])


def test_random_systems_match_xstate(random_systems):
    differ, thrown = [], 0
    for case, theirs in random_systems:
        ours = run_python_system(case)
        if ours == theirs:
            continue
        if thrown_alike(ours, theirs):
            thrown += 1
            continue
        differ.append(f"{case['name']}: {first_system_difference(ours, theirs, case['commands'])}")
    assert not differ, f"{len(differ)} of {len(random_systems)} differ; first: {differ[0]}"
    assert thrown < len(random_systems) // 5, thrown


def test_random_systems_exercise_every_actor_rule(random_systems):
    seen: set[str] = set()
    for _, theirs in random_systems:
        for step in theirs["steps"]:
            for kind, *rest in step["trace"]:
                if kind == "snapshot":
                    path, event_type, status = rest
                    seen.add(f"{'child' if '/' in path else 'root'} {status}")
                    if event_type == "xstate.stop":
                        seen.add("stopped" + (" grandchild" if path.count("/") > 1 else ""))
                elif kind == "event":
                    source, target, event_type = rest
                    if event_type.startswith(("xstate.done.actor", "xstate.error.actor")):
                        seen.add(event_type.split(".")[1] + (" from child" if source else ""))
                    elif event_type == "xstate.init" and source:
                        seen.add("started by " + ("spawn" if "/k" in target else "invoke"))
                    elif event_type == "K" and source and len(source) > len(target):
                        seen.add("sendParent")
                    elif source and len(target) > len(source):
                        seen.add("sendTo child")
                    elif source == target and event_type.startswith("xstate.after"):
                        seen.add("timer fired")
    assert seen >= {
        "root active", "root done", "root error", "child active", "child done", "child error",
        "stopped", "stopped grandchild", "done from child", "error from child",
        "started by spawn", "started by invoke", "sendParent", "sendTo child", "timer fired",
    }, seen  # fmt: skip


@pytest.mark.parametrize("case", ENGINE_ACTOR_CASES, ids=[c["name"] for c in ENGINE_ACTOR_CASES])
def test_actor_actions_give_xstates_effects(case, require_xstate):
    theirs = run_xstate([case])[0]
    assert "error" not in theirs, theirs
    ours = run_python(case)
    assert ours == theirs, first_difference(ours, theirs, case["events"])


# -- the engine: actor actions as effects ---------------------------------------

FAN_OUT = {
    "id": "order",
    "context": {"pizzas": ["kiwi", "mango", "lychee"]},
    "initial": "baking",
    "states": {"baking": {"entry": ["bakeEach"], "on": {"STOP": {"actions": ["stopFirst"]}}}},
}


def _bake_each(context, event, enqueue):
    for i, topping in enumerate(context["pizzas"]):
        enqueue.spawn_child("pizza", f"pizza-{i}", {"topping": topping})
    enqueue("log")


def test_enqueue_actions_starts_one_child_per_item_of_the_context():
    machine = Machine(
        FAN_OUT,
        actions={
            "bakeEach": enqueue_actions(_bake_each),
            "stopFirst": stop_child("pizza-0"),
            "log": lambda c, e: None,
        },
    )
    step = machine.initial_transition()
    assert [(e.kind, e.type, e.id, e.input) for e in step.effects] == [
        ("spawn", "pizza", "pizza-0", {"topping": "kiwi"}),
        ("spawn", "pizza", "pizza-1", {"topping": "mango"}),
        ("spawn", "pizza", "pizza-2", {"topping": "lychee"}),
        ("action", "log", None, None),
    ]
    assert step.snapshot.children == {"pizza-0": "pizza", "pizza-1": "pizza", "pizza-2": "pizza"}
    stopped = machine.transition(Snapshot.from_dict(step.snapshot.to_dict()), {"type": "STOP"})
    assert stopped.effects == [Effect("stop", "pizza", "pizza-0", event={"type": "STOP"})]
    assert list(stopped.snapshot.children) == ["pizza-1", "pizza-2"]


def test_stop_child_of_an_invoke_is_a_cancel_invoke_and_leaving_then_stops_nothing():
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "invoke": {"id": "job", "src": "svc"},
                "on": {"A": {"actions": [{"type": "xstate.stopChild", "id": "job"}]}, "B": "b"},
            },
            "b": {},
        },
    }
    machine = Machine(config)
    step = machine.transition(machine.initial_transition().snapshot, {"type": "A"})
    assert [(e.kind, e.id) for e in step.effects] == [("cancel_invoke", "job")]
    assert machine.transition(step.snapshot, {"type": "B"}).effects == []


def test_send_to_a_child_the_machine_does_not_have_raises_unknown_actor_error():
    config = {"id": "m", "on": {"A": {"actions": [{"type": "xstate.sendTo", "to": "x",
                                                    "event": {"type": "B"}}]}}}  # fmt: skip
    machine = Machine(config)
    with pytest.raises(UnknownActorError, match="Unable to send event to actor 'x'"):
        machine.transition(machine.initial_transition().snapshot, {"type": "A"})


def test_send_parent_and_delayed_send_effects_name_their_target():
    config = {
        "id": "m",
        "on": {
            "A": {
                "actions": [
                    "tell",
                    {"type": "xstate.sendParent", "event": {"type": "LATER"}, "delay": 50},
                    {"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "ME"}},
                ]
            }
        },
    }
    machine = Machine(config, actions={"tell": send_parent(lambda c, e: {"type": "HI"})})
    step = machine.transition(machine.initial_transition().snapshot, {"type": "A"})
    assert [(e.kind, e.to, e.event["type"], e.delay_ms, e.id) for e in step.effects] == [
        ("send_parent", "#_parent", "HI", None, None),
        ("schedule", "#_parent", "LATER", 50, "LATER"),
        ("send_to", None, "ME", None, None),
    ]


def test_a_done_machine_lists_the_children_it_stopped():
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {"on": {"A": {"target": "b", "actions": ["spawn"]}}},
            "b": {"type": "final"},
        },
    }
    machine = Machine(config, actions={"spawn": spawn_child("kid", "k")})
    step = machine.transition(machine.initial_transition().snapshot, {"type": "A"})
    assert [e.kind for e in step.effects] == ["spawn", "stop"]
    assert step.snapshot.status == "done"
    assert step.snapshot.children == {"k": "kid"}


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"type": "xstate.spawnChild", "src": "kid"}, "needs 'id'"),
        ({"type": "xstate.spawnChild", "id": "k"}, "needs 'src'"),
        ({"type": "xstate.sendTo", "event": {"type": "X"}}, "needs 'to'"),
        ({"type": "xstate.sendTo", "to": "k", "event": "X"}, "needs an event object"),
        ({"type": "xstate.stopChild"}, "needs 'id'"),
    ],
)
def test_a_bad_actor_action_is_refused_naming_its_path(action, message):
    config = {"id": "m", "on": {"A": {"actions": [action]}}}
    with pytest.raises(MachineDefinitionError, match=message) as error:
        Machine(config)
    assert error.value.path == "m.on.A[0].actions[0]"


def test_a_child_gets_its_context_from_input():
    child = Machine({"id": "c", "context": lambda data: {"topping": data["topping"]}})
    step = child.initial_transition(input={"topping": "kiwi"})
    assert step.snapshot.context == {"topping": "kiwi"}


# -- ActorSystem: the same rules without Node ------------------------------------

OVEN = Machine(
    {
        "id": "oven",
        "initial": "baking",
        "output": {"baked": True},
        "states": {"baking": {"after": {"100": "baked"}}, "baked": {"type": "final"}},
    }
)
PIZZA = Machine(
    {
        "id": "pizza",
        "initial": "queued",
        "states": {
            "queued": {"on": {"BAKE": "oven"}},
            "oven": {"invoke": {"id": "oven", "src": "oven", "onDone": "baked"}},
            "baked": {"type": "final", "entry": ["told"]},
        },
        "output": {"pizza": "done"},
    },
    actions={"told": send_parent({"type": "BAKED"})},
)


def _order(actions=None, **on):
    return Machine(
        {
            "id": "order",
            "initial": "baking",
            "states": {
                "baking": {
                    "invoke": {"id": "p", "src": "pizza"},
                    "on": {"LEAVE": "left", **on},
                },
                "left": {},
            },
        },
        actions=actions,
    )


def _system(order: Machine, **options) -> ActorSystem:
    return ActorSystem({"order": order, "pizza": PIZZA, "oven": OVEN}, "order", **options)


def test_a_child_done_event_reaches_the_parent_with_its_output_and_actor_id():
    received = []
    order = Machine(
        {
            "id": "order",
            "initial": "baking",
            "states": {
                "baking": {
                    "invoke": {
                        "id": "p",
                        "src": "pizza",
                        "onDone": {"target": "out", "actions": ["got"]},
                    },
                    "on": {
                        "GO": {
                            "actions": [
                                {"type": "xstate.sendTo", "to": "p", "event": {"type": "BAKE"}}
                            ]
                        }
                    },
                },
                "out": {"type": "final"},
            },
        },
        actions={"got": lambda c, e: received.append(e)},
    )
    system = _system(order)
    system.send({"type": "GO"})
    system.advance(99)
    assert system.root.status == "active"
    system.advance(1)
    assert system.root.status == "done"
    assert received == [
        {"type": "xstate.done.actor.p", "output": {"pizza": "done"}, "actorId": "p"}
    ]
    assert ("event", "root/p", "root", "BAKED") in system.trace


def test_leaving_the_invoking_state_stops_children_recursively_with_their_timers():
    order = _order(
        GO={"actions": [{"type": "xstate.sendTo", "to": "p", "event": {"type": "BAKE"}}]}
    )
    system = _system(order)
    system.send({"type": "GO"})
    oven = system.actor("root/p/oven")
    assert system.timers == [("root/p/oven", "xstate.after.100.oven.baking", 100)]
    system.send({"type": "LEAVE"})
    assert system.timers == []
    assert oven.status == "stopped" and oven.parent.status == "stopped"
    system.advance(1000)
    assert system.root.snapshot.value == "left"


def test_a_stopped_child_takes_no_more_events():
    system = _system(_order())
    child = system.actor("root/p")
    system.send({"type": "LEAVE"})
    system.send({"type": "BAKE"}, to=child)
    assert child.status == "stopped" and child.snapshot.value == "queued"


def test_a_child_spawned_and_stopped_in_one_step_never_starts():
    order = Machine(
        {"id": "order", "on": {"A": {"actions": ["spawn", "stop"]}}},
        actions={"spawn": spawn_child("pizza", "x"), "stop": stop_child("x")},
    )
    system = _system(order)
    system.send({"type": "A"})
    assert not [t for t in system.trace if t[0] == "event" and t[2] == "root/x"]


def test_a_timer_scheduled_again_under_its_id_replaces_the_pending_one():
    config = {
        "id": "m",
        "context": {"fired": 0},
        "on": {
            "S": {"actions": [{"type": "xstate.sendTo", "to": "#_internal",
                               "event": {"type": "T"}, "delay": 100, "id": "t"}]},
            "T": {"actions": ["count"]},
        },
    }  # fmt: skip
    machine = Machine(config, actions={"count": lambda c, e: fired.append(e)})
    for replace, expected in ((True, 1), (False, 2)):
        fired: list = []
        system = ActorSystem({"m": machine}, "m", replace_timers=replace)
        system.send({"type": "S"})
        system.advance(50)
        system.send({"type": "S"})
        system.advance(200)
        assert len(fired) == expected, replace


def test_an_actor_whose_step_raises_fails_and_stops_its_children():
    sent = {"type": "xstate.sendTo", "to": "p", "event": {"type": "X"}}
    order = _order({"boom": lambda c, e: None}, BAD={"actions": [sent, "boom"]})
    system = ActorSystem(
        {"order": order, "pizza": PIZZA, "oven": OVEN},
        "order",
        actions={"boom": lambda c, e: 1 / 0},
    )
    child = system.actor("root/p")
    system.send({"type": "BAD"})
    assert system.root.status == "error" and "division by zero" in system.root.error
    assert child.status == "stopped"


def test_an_unregistered_src_starts_no_actor_and_its_done_event_is_sent_by_the_caller():
    order = Machine(
        {
            "id": "order",
            "initial": "a",
            "states": {"a": {"invoke": {"id": "svc", "src": "kitchen", "onDone": "b"}}, "b": {}},
        }
    )
    system = ActorSystem({"order": order}, "order")
    assert system.root.refs == {"svc": None}
    system.send({"type": "xstate.done.actor.svc"})
    assert system.root.snapshot.value == "b"


def test_the_readme_fan_out_joins_when_every_child_is_done():
    def bake_each(context, event, enqueue):
        for i, pizza in enumerate(context["pizzas"]):
            enqueue.spawn_child("pizza", f"pizza-{i}", {"pizza": pizza})
        enqueue.assign(baking=lambda c, e: len(c["pizzas"]))

    order = Machine(
        {
            "id": "order",
            "context": {"pizzas": ["kiwi", "mango"], "baking": 0},
            "initial": "baking",
            "states": {
                "baking": {
                    "entry": ["bakeEach"],
                    "on": {"xstate.done.actor.*": {"actions": ["countOne"]}},
                    "always": {"guard": "allBaked", "target": "delivering"},
                },
                "delivering": {},
            },
        },
        actions={
            "bakeEach": enqueue_actions(bake_each),
            "countOne": assign(baking=lambda c, e: c["baking"] - 1),
        },
        guards={"allBaked": lambda c, e: c["baking"] == 0},
    )
    pizza = Machine(
        {
            "id": "pizza",
            "context": lambda given: dict(given),
            "initial": "oven",
            "states": {"oven": {"on": {"READY": "baked"}}, "baked": {"type": "final"}},
        }
    )
    system = ActorSystem({"order": order, "pizza": pizza}, "order")
    assert [a["path"] for a in system.tree()] == ["root", "root/pizza-0", "root/pizza-1"]
    assert system.actor("root/pizza-1").snapshot.context == {"pizza": "mango"}
    system.send({"type": "READY"}, to="root/pizza-0")
    assert system.root.snapshot.value == "baking"
    system.send({"type": "READY"}, to="root/pizza-1")
    assert system.root.snapshot.value == "delivering"
