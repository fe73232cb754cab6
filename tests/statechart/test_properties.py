"""Properties of the pure engine on random machines and event sequences (hypothesis)."""

from __future__ import annotations

import copy
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from .generator import random_case
from .vocabulary import build

seeds = st.integers(min_value=0, max_value=2**31 - 1)


def _view(step):
    return (
        json.dumps(step.snapshot.to_dict(), sort_keys=True),
        [(e.kind, e.type, e.id, json.dumps(e.params), e.delay_ms) for e in step.effects],
        step.handled,
    )


def _walk(machine, events, restore):
    step = machine.initial_transition()
    views = [_view(step)]
    for event in events:
        snapshot = step.snapshot
        if restore:
            restored = machine.restore(json.loads(json.dumps(snapshot.to_dict())))
            # As in XState, a restore rebuilds the active set from the value. A set
            # some step left without an ancestor the value shows comes back whole,
            # and then behaves differently (as XState's does); any other must not.
            if machine.nodes_of(restored) == machine.nodes_of(snapshot):
                snapshot = restored
        step = machine.transition(snapshot, event)
        views.append(_view(step))
    return views


@settings(max_examples=150, deadline=None)
@given(seeds)
def test_transitions_are_deterministic(seed):
    case = random_case(seed, 12)
    first = _walk(build(case["config"]), case["events"], restore=False)
    second = _walk(build(case["config"]), case["events"], restore=False)
    assert first == second


@settings(max_examples=150, deadline=None)
@given(seeds)
def test_restored_whole_snapshot_behaves_like_the_original(seed):
    case = random_case(seed, 12)
    machine = build(case["config"])
    assert _walk(machine, case["events"], restore=True) == _walk(
        machine, case["events"], restore=False
    )


@settings(max_examples=150, deadline=None)
@given(seeds)
def test_input_snapshot_is_never_mutated(seed):
    case = random_case(seed, 12)
    machine = build(case["config"])
    snapshot = machine.initial_transition().snapshot
    for event in case["events"]:
        before = copy.deepcopy(snapshot.to_dict())
        frozen_event = copy.deepcopy(event)
        step = machine.transition(snapshot, event)
        assert snapshot.to_dict() == before
        assert event == frozen_event
        snapshot = step.snapshot


@settings(max_examples=100, deadline=None)
@given(seeds)
def test_unhandled_events_change_nothing(seed):
    case = random_case(seed, 12)
    machine = build(case["config"])
    snapshot = machine.initial_transition().snapshot
    for event in case["events"]:
        step = machine.transition(snapshot, event)
        if not step.handled:
            assert step.snapshot is snapshot
            assert step.effects == []
        snapshot = step.snapshot


@settings(max_examples=100, deadline=None)
@given(seeds)
def test_snapshots_are_json_safe_and_small(seed):
    case = random_case(seed, 12)
    machine = build(case["config"])
    snapshot = machine.initial_transition().snapshot
    for event in case["events"]:
        snapshot = machine.transition(snapshot, event).snapshot
        text = json.dumps(snapshot.to_dict())
        assert json.loads(text) == snapshot.to_dict()
        assert len(text) < 4096
