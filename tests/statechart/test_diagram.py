"""The Mermaid chart shows the statechart's real hierarchy: every state is drawn inside
exactly its own parent, however its transitions cross levels (issue 20, item 4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.registry import WORKFLOWS
from chalicelib.statechart import Machine
from chalicelib.statechart.diagram import _mid, mermaid

from .diagram_hierarchy import drawn_parents, expected_parents
from .generator import random_case
from .vocabulary import build


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_state_of_a_registered_chart_is_drawn_inside_its_own_parent(name):
    definition = WORKFLOWS[name].machine.definition
    assert drawn_parents(mermaid(definition, set())) == expected_parents(definition)


def test_a_transition_out_of_a_compound_state_leaves_its_target_outside():
    """The shape the issue saw: ``requested.waiting -> failed`` drew ``failed`` inside
    ``requested``."""
    machine = Machine(
        {
            "id": "booking",
            "initial": "requested",
            "states": {
                "requested": {
                    "initial": "waiting",
                    "states": {"waiting": {"on": {"FAIL": "#booking.failed"}}},
                },
                "failed": {"on": {"RETRY": "requested.waiting"}},
            },
        }
    )
    text = mermaid(machine.definition, set())
    assert drawn_parents(text)["s_booking_failed"] is None
    assert drawn_parents(text)["s_booking_requested_waiting"] == "s_booking_requested"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_every_state_of_a_random_machine_is_drawn_inside_its_own_parent(seed):
    definition = build(random_case(seed)["config"]).definition
    text = mermaid(definition, set())
    assert drawn_parents(text, _mid(definition.root)) == expected_parents(definition)
