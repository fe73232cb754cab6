"""Order chart version 3 and its pizzas compared with XState v5 in Node, step by step.

The same charts (their JSON) run in our ActorSystem and in XState's actor system
(tests/orders/xstate/fanout.js, which writes the orders' and pizzas' actions again with
XState's ``assign``/``enqueueActions``): after the start and after each event, every
actor's state, context, status and output, every event between actors in order, every
named action, must be equal. A Command's invoke is a child that starts final on both
sides (the command published), so each BAKE_PIZZA and DELIVER_PIZZA shows as an actor
started.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chalicelib.statechart.system import ActorSystem
from tests.pizzas.kitchen import bake_id, machines
from tests.statechart.conformance import xstate_available
from tests.statechart.systems import first_system_difference

RUNNER = Path(__file__).parent / "xstate" / "fanout.js"
TIME = "2026-01-01T12:00:00Z"


def _add(n: int) -> dict[str, Any]:
    pizza = {"name": f"Pizza {n}", "size": "medium", "toppings": ["kiwi", "mango"]}
    return {"send": {"type": "ADD_PIZZA", "pizza": pizza, "time": TIME}}


def _oven(kind: str, item: str, attempt: int = 1, **data: Any) -> dict[str, Any]:
    body = {"station": "oven", "bakeId": bake_id(item, attempt), "itemId": item, **data}
    return {"send": {"type": kind, "data": body, "time": TIME}, "to": f"root/{item}"}


def _baked(item: str, attempt: int = 1) -> dict[str, Any]:
    return _oven("PIZZA_BAKED", item, attempt, by="sam", at=TIME)


def _burnt(item: str, attempt: int = 1, reason: str | None = None) -> dict[str, Any]:
    given = {"reason": reason} if reason else {}  # without one, the pizza says "burnt"
    return _oven("PIZZA_BURNT", item, attempt, by="sam", **given)


CONFIRM = {"send": {"type": "CONFIRM_PIZZA", "time": TIME}}
DELIVERED = {"send": {"type": "PIZZA_DELIVERED", "data": {"station": "delivery"}, "time": TIME}}


def _order(count: int) -> list[dict[str, Any]]:
    return [*(_add(n) for n in range(1, count + 1)), CONFIRM]


def _in_turn(count: int) -> list[dict[str, Any]]:
    """Bake every pizza in the order the oven slots go out."""
    return [_baked(f"item-{n}") for n in range(1, count + 1)]


CASES = [
    ("three_pizzas_fan_out_and_join", 2,
     [*_order(3), _baked("item-2"), _baked("item-3"), _baked("item-1"), DELIVERED]),
    ("one_pizza", 2, [*_order(1), _baked("item-1"), DELIVERED]),
    ("fifty_pizzas_two_at_a_time", 2, [*_order(50), *_in_turn(50), DELIVERED]),
    ("ten_pizzas_three_at_a_time", 3, [*_order(10), *_in_turn(10)]),
    ("a_burnt_pizza_is_baked_again", 2,
     [*_order(3), _burnt("item-1"), _baked("item-1"), _baked("item-1", 2), _baked("item-2"),
      _baked("item-3")]),
    ("a_second_burn_cancels_the_order", 2,
     [*_order(3), _burnt("item-2", 1, "charcoal"), _burnt("item-2", 2), _baked("item-1")]),
    ("cancel_while_baking_stops_every_pizza", 2,
     [*_order(4), _baked("item-1"), {"send": {"type": "CANCEL_ORDER", "time": TIME}},
      _baked("item-2")]),
    ("an_oven_that_never_answers", 2, [*_order(3), {"advance": 20 * 60 * 1000}]),
    ("a_rebake_that_never_finishes", 1,
     [*_order(2), _burnt("item-1"), {"advance": 20 * 60 * 1000 - 1}, {"advance": 1}]),
]  # fmt: skip


def _case(name: str, slots: int, commands: list[dict[str, Any]]) -> dict[str, Any]:
    charts = {src: m.to_dict() for src, m in machines(slots).items()}
    return {"name": name, "machines": charts, "root": "order", "slots": slots,
            "commands": commands}  # fmt: skip


def _ours(case: dict[str, Any]) -> dict[str, Any]:
    """Our ActorSystem's run, in the shape of system.js's (XState 5's timers)."""
    system = ActorSystem(machines(case["slots"]), "order", replace_timers=False)
    steps = [{"tree": system.tree(), "trace": list(system.trace)}]
    for command in case["commands"]:
        mark = len(system.trace)
        if "advance" in command:
            system.advance(command["advance"])
        else:
            try:
                target = system.actor(command.get("to") or "root")
            except KeyError:
                target = None  # no such actor (stopped): system.js skips it too
            if target is not None:
                system.send(command["send"], target)
        steps.append({"tree": system.tree(), "trace": system.trace[mark:]})
    return {"steps": json.loads(json.dumps(steps))}


@pytest.fixture(scope="module")
def xstate_runs() -> dict[str, dict[str, Any]]:
    missing = xstate_available()
    if missing:
        pytest.fail(f"the comparison needs Node and xstate@5: {missing}")
    cases = [_case(*c) for c in CASES]
    done = subprocess.run(
        ["node", str(RUNNER)], input=json.dumps(cases), capture_output=True, text=True,
        check=True, timeout=300,
    )  # fmt: skip
    return {c["name"]: r for c, r in zip(cases, json.loads(done.stdout), strict=True)}


@pytest.mark.parametrize("name, slots, commands", CASES, ids=[c[0] for c in CASES])
def test_the_fan_out_matches_xstate_step_by_step(name, slots, commands, xstate_runs):
    case = _case(name, slots, commands)
    theirs = xstate_runs[name]
    assert "error" not in theirs, theirs
    ours = _ours(case)
    assert ours == theirs, first_system_difference(ours, theirs, commands)
    final = ours["steps"][-1]["tree"][0]
    assert final["status"] in ("active", "done")  # the run did not fail on either side
