"""The actions, guards and delays conformance machines use, mirrored in xstate/runner.js."""

from __future__ import annotations

from typing import Any

from chalicelib.statechart import Machine, assign, raise_

ACTIONS: dict[str, Any] = {
    "inc": assign(n=lambda c, e: c["n"] + 1),
    "dec": assign(n=lambda c, e: c["n"] - 1),
    "dbl": assign(n=lambda c, e: c["n"] * 2),
    "setN": assign(n=lambda c, e: e["n"] if isinstance(e.get("n"), (int, float)) else 0),
    "track": assign(log=lambda c, e: [*c["log"], e["type"]]),
    "raiseX": raise_({"type": "X"}),
    "raiseY": raise_({"type": "Y"}),
    "raiseDelayed": raise_({"type": "LATER"}, delay=50, id="later"),
}
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
    """A Machine for ``config`` with the shared vocabulary; unknown names are plain effects."""
    actions = {name: _noop for name in action_names(config, set())}
    actions.update(ACTIONS)
    return Machine(config, actions=actions, guards=GUARDS, delays=DELAYS)
