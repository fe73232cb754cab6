"""The engine's public API: steps, effects, snapshots, queries, errors and exports."""

from __future__ import annotations

import json

import pytest

from chalicelib.statechart import (
    Effect,
    Machine,
    MachineDefinitionError,
    Snapshot,
    SnapshotError,
    assign,
    raise_,
)
from chalicelib.statechart.algorithm import InfiniteLoopError

from .cases import REGION_LEFT_OUT, ROOT_ON_DONE
from .vocabulary import build

CONFIG = {
    "id": "order",
    "initial": "ordering",
    "context": {"items": [], "note": None},
    "states": {
        "ordering": {
            "meta": {"message": "Ordering"},
            "tags": ["open"],
            "on": {
                "ADD": {"actions": ["addItem", {"type": "log", "params": {"what": "add"}}]},
                "CONFIRM": {"guard": "hasItems", "target": "baking"},
            },
        },
        "baking": {
            "initial": "sending",
            "meta": {"message": "Baking"},
            "states": {
                "sending": {
                    "invoke": {
                        "id": "kitchen",
                        "src": "sendToKitchen",
                        "input": lambda ctx, ev: {"count": len(ctx["items"])},
                        "onDone": "waiting",
                        "onError": "failed",
                    }
                },
                "waiting": {"after": {"60000": "#order.late"}},
                "failed": {},
            },
            "on": {"READY": "done"},
        },
        "late": {},
        "done": {"type": "final"},
    },
}


def _log(ctx, ev, params=None):
    return None


def make(config=CONFIG, **kwargs) -> Machine:
    return Machine(
        config,
        actions={
            "addItem": assign(items=lambda c, e: [*c["items"], e["item"]]),
            "log": _log,
        },
        guards={"hasItems": lambda c, e: len(c["items"]) > 0},
        **kwargs,
    )


def test_initial_transition_enters_the_initial_state():
    step = make().initial_transition()
    assert step.snapshot.value == "ordering"
    assert step.snapshot.status == "active"
    assert step.snapshot.context == {"items": [], "note": None}
    assert step.handled is True


def test_initial_context_overrides_merge_into_config_context():
    snapshot = make().initial_transition(context={"note": "hi"}).snapshot
    assert snapshot.context == {"items": [], "note": "hi"}


def test_assign_updates_context_and_named_actions_become_effects():
    machine = make()
    step = machine.transition(
        machine.initial_transition().snapshot, {"type": "ADD", "item": "pineapple"}
    )
    assert step.snapshot.context["items"] == ["pineapple"]
    assert step.effects == [
        Effect("action", "log", params={"what": "add"}, event={"type": "ADD", "item": "pineapple"})
    ]
    assert step.effects[0].context == {"items": ["pineapple"], "note": None}


def test_assign_with_updater_function_and_params():
    machine = Machine(
        {
            "id": "m",
            "context": {"n": 1},
            "on": {"BUMP": {"actions": [{"type": "add", "params": 5}]}},
        },
        actions={"add": assign(lambda c, e, p: {"n": c["n"] + p})},
    )
    step = machine.transition(machine.initial_transition().snapshot, {"type": "BUMP"})
    assert step.snapshot.context == {"n": 6}


def test_unhandled_event_returns_the_same_snapshot_and_no_effects():
    machine = make()
    start = machine.initial_transition().snapshot
    step = machine.transition(start, {"type": "READY"})
    assert step.handled is False
    assert step.snapshot is start
    assert step.effects == []


def test_guard_blocks_transition_until_it_passes():
    machine = make()
    s0 = machine.initial_transition().snapshot
    assert machine.transition(s0, {"type": "CONFIRM"}).handled is False
    s1 = machine.transition(s0, {"type": "ADD", "item": "mango"}).snapshot
    step = machine.transition(s1, {"type": "CONFIRM"})
    assert step.snapshot.value == {"baking": "sending"}
    invoke = [e for e in step.effects if e.kind == "invoke"]
    assert invoke == [
        Effect(
            "invoke", "sendToKitchen", id="kitchen", input={"count": 1}, event={"type": "CONFIRM"}
        )
    ]
    assert step.snapshot.children == {"kitchen": "sendToKitchen"}


def _baking(machine):
    s = machine.initial_transition().snapshot
    s = machine.transition(s, {"type": "ADD", "item": "kiwi"}).snapshot
    return machine.transition(s, {"type": "CONFIRM"}).snapshot


def test_invoke_completion_is_an_event_and_schedules_the_after_timer():
    machine = make()
    step = machine.transition(_baking(machine), {"type": "xstate.done.actor.kitchen", "output": 1})
    assert step.snapshot.value == {"baking": "waiting"}
    kinds = [(e.kind, e.id) for e in step.effects]
    assert kinds == [
        ("cancel_invoke", "kitchen"),
        ("schedule", "xstate.after.60000.order.baking.waiting"),
    ]
    schedule = step.effects[1]
    assert schedule.delay_ms == 60000
    assert schedule.event == {"type": "xstate.after.60000.order.baking.waiting"}
    leave = machine.transition(step.snapshot, {"type": "READY"})
    assert ("cancel_schedule", "xstate.after.60000.order.baking.waiting") in [
        (e.kind, e.id) for e in leave.effects
    ]
    stale = machine.transition(leave.snapshot, schedule.event)
    assert stale.handled is False


def test_completion_of_an_invoke_no_longer_active_is_ignored():
    machine = make()
    waiting = machine.transition(_baking(machine), {"type": "xstate.done.actor.kitchen"}).snapshot
    again = machine.transition(waiting, {"type": "xstate.done.actor.kitchen"})
    assert again.handled is False
    assert again.snapshot is waiting


def test_unhandled_invoke_error_sets_error_status():
    config = {"id": "m", "initial": "a", "states": {"a": {"invoke": {"id": "job", "src": "job"}}}}
    machine = Machine(config)
    step = machine.transition(
        machine.initial_transition().snapshot, {"type": "xstate.error.actor.job", "error": "boom"}
    )
    assert step.snapshot.status == "error"
    assert step.snapshot.error == "boom"
    assert machine.transition(step.snapshot, {"type": "ANY"}).handled is False


def test_final_state_sets_done_status_and_output():
    config = {
        "id": "m",
        "initial": "a",
        "output": lambda ctx, ev: {"total": ctx["n"]},
        "context": {"n": 3},
        "states": {"a": {"on": {"END": "b"}}, "b": {"type": "final"}},
    }
    machine = Machine(config)
    step = machine.transition(machine.initial_transition().snapshot, {"type": "END"})
    assert step.snapshot.status == "done"
    assert step.snapshot.output == {"total": 3}
    assert step.snapshot.next_events == []


@pytest.mark.parametrize("kind", ["compound", "parallel"])
def test_the_roots_on_done_is_never_taken(kind):
    machine = build(ROOT_ON_DONE[kind])
    step = machine.transition(machine.initial_transition().snapshot, {"type": "END"})
    assert step.snapshot.status == "done"
    # XState 5.33.3: the done status stops the macrostep before the queued done events
    assert [e.type for e in step.effects] == ["aOut", "bIn", "bOut", "rootOut"]


_ENDING = {
    "id": "m",
    "initial": "a",
    # root transitions XState's pure transition() would still take from a done snapshot
    "on": {"RESTART": {"target": ".a", "actions": ["log"]}, "NOTE": {"actions": ["log"]}},
    "states": {
        "a": {"invoke": {"id": "job", "src": "job"}, "on": {"END": "b"}},
        "b": {"type": "final"},
    },
}


def _ended(machine: Machine, how: str) -> Snapshot:
    start = machine.initial_transition().snapshot
    event = {"type": "END"} if how == "done" else {"type": "xstate.error.actor.job", "error": "x"}
    ended = machine.transition(start, event).snapshot
    assert ended.status == how
    return ended


@pytest.mark.parametrize("how", ["done", "error"])
@pytest.mark.parametrize("event", ["RESTART", "NOTE", "xstate.done.actor.job"])
@pytest.mark.parametrize("restored", [False, True], ids=["in_memory", "restored"])
def test_a_done_or_error_snapshot_handles_no_event(how, event, restored):
    machine = make(_ENDING)
    ended = _ended(machine, how)
    if restored:
        ended = machine.restore(json.loads(json.dumps(ended.to_dict())))
    step = machine.transition(ended, {"type": event})
    assert step.handled is False
    assert step.snapshot is ended
    assert step.effects == []
    assert step.snapshot.status == how
    assert ended.can({"type": event}) is False
    assert ended.next_events == []


def _kinds(step) -> list[tuple[str, str]]:
    return [(e.kind, e.type if e.kind == "action" else e.id) for e in step.effects]


@pytest.mark.parametrize("restored", [False, True], ids=["in_memory", "restored"])
def test_a_region_left_out_of_the_active_set_is_exited_only_after_a_restore(restored):
    machine = Machine(REGION_LEFT_OUT, actions={"rIn": _log, "rOut": _log})
    step = machine.transition(machine.initial_transition().snapshot, {"type": "B"})
    assert _kinds(step) == [("action", "rOut"), ("cancel_invoke", "job")]
    assert step.snapshot.value == {"other": {}, "r": "x"}
    assert step.snapshot.children == {}
    snapshot = step.snapshot
    if restored:
        snapshot = machine.restore(json.loads(json.dumps(snapshot.to_dict())))
    step = machine.transition(snapshot, {"type": "C"})
    if restored:
        # r is back in the set, so it is exited; its invoke has no child to stop
        assert _kinds(step) == [("action", "rOut"), ("action", "rIn"), ("invoke", "job")]
    else:
        assert _kinds(step) == [("action", "rIn"), ("invoke", "job")]
    assert step.snapshot.children == {"job": "worker"}


def test_a_repeated_step_is_planned_once():
    machine = make()
    start = machine.initial_transition().snapshot
    added = machine.transition(start, {"type": "ADD", "item": "kiwi"}).snapshot
    machine.transition(added, {"type": "CONFIRM"})
    planned = dict(machine.definition.plans)
    stored = machine.restore(json.loads(json.dumps(added.to_dict())))
    again = machine.transition(stored, {"type": "CONFIRM"})
    assert again.snapshot.value == {"baking": "sending"}
    assert machine.definition.plans == planned


def test_raise_is_processed_in_the_same_macrostep():
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {"on": {"GO": {"target": "b", "actions": ["ping"]}}},
            "b": {"on": {"PING": "c"}},
            "c": {},
        },
    }
    machine = Machine(config, actions={"ping": raise_({"type": "PING"})})
    step = machine.transition(machine.initial_transition().snapshot, {"type": "GO"})
    assert step.snapshot.value == "c"


def test_eventless_cycle_raises_instead_of_hanging():
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 0},
        "states": {"a": {"always": {"target": "b", "actions": ["inc"]}}, "b": {"always": "a"}},
    }
    with pytest.raises(InfiniteLoopError):
        Machine(config, actions={"inc": assign(n=lambda c, e: c["n"] + 1)}).initial_transition()


def test_snapshot_queries():
    machine = make()
    s = machine.initial_transition().snapshot
    assert s.next_events == ["ADD", "CONFIRM"]
    assert s.meta == {"order.ordering": {"message": "Ordering"}}
    assert s.tags == {"open"}
    assert s.has_tag("open")
    assert s.can({"type": "ADD", "item": "x"})
    assert not s.can({"type": "CONFIRM"})
    baking = _baking(machine)
    assert baking.matches("baking")
    assert baking.matches("baking.sending")
    assert baking.matches({"baking": "sending"})
    assert not baking.matches("baking.waiting")
    assert "READY" in baking.next_events
    assert all(not e.startswith("xstate.") for e in baking.next_events)


def test_snapshot_round_trips_through_json():
    machine = make()
    baking = _baking(machine)
    data = json.loads(json.dumps(baking.to_dict()))
    restored = machine.restore(data)
    assert restored == baking
    assert restored.value == {"baking": "sending"}
    event = {"type": "xstate.done.actor.kitchen"}
    assert machine.transition(data, event).snapshot == machine.transition(baking, event).snapshot
    unbound = Snapshot.from_dict(data)
    with pytest.raises(SnapshotError, match="not bound"):
        _ = unbound.next_events


def test_snapshot_of_another_machine_is_refused():
    other = Machine({"id": "other", "initial": "x", "states": {"x": {}}})
    data = other.initial_transition().snapshot.to_dict()
    with pytest.raises(SnapshotError, match="belongs to machine 'other'"):
        make().transition(data, {"type": "ADD"})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"format": 99}, "unknown snapshot format"),
        ({"format": 1, "machine": "order"}, "missing"),
        (
            {
                "format": 1,
                "machine": "order",
                "value": "nowhere",
                "context": {},
                "status": "active",
            },
            "does not fit",
        ),
        (
            {"format": 1, "machine": "order", "value": "ordering", "context": {}, "status": "odd"},
            "bad snapshot status",
        ),
    ],
)
def test_bad_stored_snapshots_are_refused(data, message):
    with pytest.raises(SnapshotError, match=message):
        make().restore(data)


def test_event_without_a_type_is_a_type_error():
    machine = make()
    with pytest.raises(TypeError, match="string 'type'"):
        machine.transition(machine.initial_transition().snapshot, {"kind": "ADD"})


BAD_CONFIGS = [
    (
        {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "nowhere"}}}},
        "m.a.on.GO[0].target",
    ),
    ({"id": "m", "states": {"a": {}}}, "m: compound state has no 'initial'"),
    ({"id": "m", "initial": "zz", "states": {"a": {}}}, "initial state 'zz'"),
    (
        {"id": "m", "initial": "a", "states": {"a": {"entry": "nope"}}},
        "m.a.entry[0]: unknown action",
    ),
    (
        {"id": "m", "initial": "a", "states": {"a": {"on": {"E": {"guard": "g?"}}}}},
        "m.a.on.E[0].guard: unknown guard",
    ),
    ({"id": "m", "initial": "a", "states": {"a": {"type": "weird"}}}, "m.a: bad type 'weird'"),
    (
        {"id": "m", "initial": "a", "states": {"a": {"on": {"E": {"cond": "x"}}}}},
        "v5 calls it 'guard'",
    ),
    ({"id": "m", "initial": "a", "states": {"a": {"entrance": []}}}, "m.a: unknown keys"),
    (
        {"id": "m", "initial": "a", "states": {"a": {"after": {"SOON": "a"}}}},
        "unknown delay 'SOON'",
    ),
    ({"id": "m", "initial": "a", "states": {"a": {"invoke": {"id": "x"}}}}, "m.a.invoke[0]: 'src'"),
    ({"id": "m", "initial": "a", "states": {"a": {"on": {"": "a"}}}}, "use 'always'"),
    ({"id": "m", "initial": "a", "states": {"a": {"id": "m"}}}, "duplicate state id"),
    (
        {"id": "m", "initial": "a", "on": {"E": "a"}, "states": {"a": {}}},
        "from the root, write '.a'",
    ),
]


@pytest.mark.parametrize("config, message", BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_bad_config_fails_at_construction_naming_the_path(config, message):
    with pytest.raises(MachineDefinitionError) as error:
        Machine(config)
    assert message in str(error.value)


def test_mermaid_diagram_lists_states_transitions_and_highlights_active():
    machine = make()
    plain = machine.to_mermaid()
    assert plain.startswith("stateDiagram-v2\n")
    assert "s_order_ordering --> s_order_baking : CONFIRM [hasItems]" in plain
    assert "s_order_ordering --> s_order_ordering : ADD / addItem, log" in plain
    assert "state s_order_baking {" in plain
    assert "s_order_baking_sending --> s_order_baking_waiting : done(kitchen)" in plain
    assert "s_order_baking_waiting --> s_order_late : after 60000ms" in plain
    assert "s_order_done --> [*]" in plain
    assert "class " not in plain
    marked = machine.to_mermaid(_baking(machine))
    assert "class s_order_baking,s_order_baking_sending active" in marked


def test_mermaid_parallel_regions_are_separated():
    machine = Machine(
        {
            "id": "p",
            "type": "parallel",
            "states": {"left": {}, "right": {"initial": "x", "states": {"x": {}}}},
        }
    )
    text = machine.to_mermaid()
    # Mermaid parses "--" only inside a state block: a parallel root is drawn as a state
    # (tests/browser/test_diagram_hierarchy.py has Mermaid parse random parallel roots)
    assert '    [*] --> s_p\n    state "p (parallel)" as s_p\n    state s_p {\n' in text
    assert 'state "left" as s_p_left\n        --\n        state "right" as s_p_right' in text


def test_to_dict_is_json_with_python_callables_named():
    data = make().to_dict()
    text = json.dumps(data)
    assert json.loads(text)["states"]["ordering"]["on"]["CONFIRM"] == {
        "guard": "hasItems",
        "target": "baking",
    }
    assert data["states"]["baking"]["states"]["sending"]["invoke"]["input"] == {
        "$python": "<lambda>"
    }
