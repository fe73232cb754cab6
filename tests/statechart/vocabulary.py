"""The actions, guards and delays conformance machines use, mirrored in xstate/runner.js."""

from __future__ import annotations

from typing import Any

from chalicelib.statechart import (
    Machine,
    assign,
    cancel,
    enqueue_actions,
    raise_,
    send_parent,
)

ACTIONS: dict[str, Any] = {
    "inc": assign(n=lambda c, e: c["n"] + 1),
    "dec": assign(n=lambda c, e: c["n"] - 1),
    "dbl": assign(n=lambda c, e: c["n"] * 2),
    "setN": assign(n=lambda c, e: e["n"] if isinstance(e.get("n"), (int, float)) else 0),
    "track": assign(log=lambda c, e: [*c["log"], e["type"]]),
    "raiseX": raise_({"type": "X"}),
    "raiseY": raise_({"type": "Y"}),
    "raiseDelayed": raise_({"type": "LATER"}, delay=50, id="later"),
    "cancelDeadline": cancel("deadline"),
    "tellParent": send_parent(lambda c, e: {"type": "K", "n": c["n"]}),
}


def _fan_out(context: Any, event: Any, enqueue: Any, params: Any) -> None:
    """One child per count, ids k<next>, k<next+1>, ... (unique for the parent's life)."""
    first, count = context["next"], params["count"]
    ids = [f"k{first + j}" for j in range(count)]
    for j, child_id in enumerate(ids):
        enqueue.spawn_child(params["src"], child_id, {"i": first + j, "n": context["n"]})
    enqueue.assign(lambda c, e: {"next": first + count, "kids": [*context["kids"], *ids]})


def _stop_oldest(context: Any, event: Any, enqueue: Any) -> None:
    if context["kids"]:
        enqueue.stop_child(context["kids"][0])
        enqueue.assign(lambda c, e: {"kids": context["kids"][1:]})


def _ping_kids(context: Any, event: Any, enqueue: Any, params: Any) -> None:
    for child_id in context["kids"]:
        enqueue.send_to(child_id, {"type": params["type"]})


def _check_raise(context: Any, event: Any, enqueue: Any) -> None:
    if enqueue.check("isPos"):
        enqueue.raise_({"type": "X"})
    else:
        enqueue("p1")


ACTIONS.update(
    fanOut=enqueue_actions(_fan_out),
    stopOldest=enqueue_actions(_stop_oldest),
    pingKids=enqueue_actions(_ping_kids),
    checkRaise=enqueue_actions(_check_raise),
)
GUARDS: dict[str, Any] = {
    "isPos": lambda c, e: c["n"] > 0,
    "isEven": lambda c, e: c["n"] % 2 == 0,
    "flag": lambda c, e: e.get("flag") is True,
    "gt": lambda c, e, p: c["n"] > p["k"],
    "lt": lambda c, e, p: c["n"] < p["k"],
}
DELAYS: dict[str, Any] = {"D1": 100, "D2": 250, "Dyn": lambda c, e: 10 * (c["n"] + 1)}


def _noop(context: Any, event: Any, params: Any = None) -> None:
    return None


def action_names(node: Any, into: set[str]) -> set[str]:
    """Every action name a config mentions."""
    if isinstance(node, list):
        for item in node:
            action_names(item, into)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("entry", "exit", "actions"):
                for a in value if isinstance(value, list) else [value]:
                    into.add(a if isinstance(a, str) else a["type"])
            else:
                action_names(value, into)
    return into


def build(config: dict[str, Any]) -> Machine:
    """A Machine for ``config`` with the shared vocabulary; unknown names are plain effects.

    A context with an ``input`` key takes the actor's input there (XState's context
    factory ``({ input }) => ...``), as xstate/vocabulary.js does.
    """
    named = action_names(config, {"p1"})  # checkRaise may enqueue p1
    actions = {name: _noop for name in named if not name.startswith("xstate.")}
    actions.update(ACTIONS)
    base = config.get("context")
    if isinstance(base, dict) and "input" in base:
        config = {**config, "context": lambda data: {**base, "input": data}}
    return Machine(config, actions=actions, guards=GUARDS, delays=DELAYS)
