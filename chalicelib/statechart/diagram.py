"""Exports of a machine definition: JSON config and Mermaid ``stateDiagram-v2``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .actions import Assign, Cancel, Raise
from .definition import Definition, GuardRef, StateNode, Transition

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def config_to_json(value: Any) -> Any:
    """A JSON-safe copy of a config: built-in actions by type, Python callables by name."""
    if isinstance(value, Mapping):
        return {str(k): config_to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [config_to_json(v) for v in value]
    if isinstance(value, Raise):
        event = value.event if isinstance(value.event, Mapping) else {"$python": _name(value.event)}
        data = {"type": "xstate.raise", "event": config_to_json(event)}
        data.update(
            {k: getattr(value, k) for k in ("delay", "id") if getattr(value, k) is not None}
        )
        return data
    if isinstance(value, (Assign, Cancel)):
        return {"type": value.type}
    if callable(value):
        return {"$python": _name(value)}
    return value


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def mermaid(definition: Definition, active: set[str]) -> str:
    """Render the chart; states whose id is in ``active`` get the ``active`` class.

    Mermaid draws a state inside the block of a ``state X { ... }`` where a line names
    it, so a transition is written in its states' parent block only when both are
    children of that block; any other (out of a compound state, into a nested one) is
    written at the top level, after every state was declared in its own block.
    """
    lines = ["stateDiagram-v2"]
    across: list[str] = []
    root = definition.root
    if root.type == "parallel":  # Mermaid takes regions ("--") only inside a state block
        lines.append(f"    [*] --> {_mid(root)}")
        _render_state(root, lines, "    ", across)
    else:
        _render_children(root, lines, "    ", across)
    lines.extend(across)
    lines.append("    classDef active fill:#ffd54f,stroke:#e65100,stroke-width:3px")
    marked = [_mid(n) for n in definition.nodes if n.id in active and n.parent is not None]
    if marked:
        lines.append(f"    class {','.join(marked)} active")
    return "\n".join(lines) + "\n"


def _mid(node: StateNode) -> str:
    return "s_" + _UNSAFE.sub("_", node.id)


def _render_children(node: StateNode, lines: list[str], pad: str, across: list[str]) -> None:
    kids = [k for k in node.states.values() if k.type != "history"]
    if node.type == "parallel":
        for i, kid in enumerate(kids):
            if i:
                lines.append(f"{pad}--")
            _render_state(kid, lines, pad, across)
        _render_history(node, lines, pad)  # Mermaid draws it in the last region
        return
    if node.initial is not None:
        lines.append(f"{pad}[*] --> {_mid(node.initial.target[0])}")
    for kid in kids:
        _render_state(kid, lines, pad, across)
    _render_history(node, lines, pad)
    for kid in kids:
        for t in _all_transitions(kid):
            for target in t.target or (kid,):
                arrow = f"{_mid(kid)} --> {_mid(target)} : {_label(t)}"
                if target.parent is node:
                    lines.append(f"{pad}{arrow}")
                else:
                    across.append(f"    {arrow}")
        if kid.type == "final":
            lines.append(f"{pad}{_mid(kid)} --> [*]")


def _render_history(node: StateNode, lines: list[str], pad: str) -> None:
    for kid in node.states.values():
        if kid.type == "history":
            lines.append(
                f'{pad}state "{kid.key} (H{"*" if kid.history == "deep" else ""})" as {_mid(kid)}'
            )


def _render_state(node: StateNode, lines: list[str], pad: str, across: list[str]) -> None:
    label = (node.key or node.id) + (" (parallel)" if node.type == "parallel" else "")
    lines.append(f'{pad}state "{label}" as {_mid(node)}')
    if node.states:
        lines.append(f"{pad}state {_mid(node)} {{")
        _render_children(node, lines, pad + "    ", across)
        lines.append(f"{pad}}}")


def _all_transitions(node: StateNode) -> list[Transition]:
    return [t for ts in node.transitions.values() for t in ts] + list(node.always)


def _label(t: Transition) -> str:
    label = _event_label(t.event_type, t.source)
    if t.guard is not None:
        label += f" [{_guard_label(t.guard)}]"
    names = [a.type for a in t.actions]
    if names:
        label += " / " + ", ".join(names)
    return label.replace(":", " ").replace("#", "")


def _event_label(descriptor: str, source: StateNode) -> str:
    if descriptor == "":
        return "always"
    if descriptor.startswith("xstate.after."):
        delay = descriptor[len("xstate.after.") :].removesuffix("." + source.id)
        return f"after {delay}ms" if delay.replace(".", "").isdigit() else f"after {delay}"
    if descriptor.startswith("xstate.done.state."):
        return "onDone"
    if descriptor.startswith("xstate.done.actor."):
        return f"done({descriptor[len('xstate.done.actor.') :]})"
    if descriptor.startswith("xstate.error.actor."):
        return f"error({descriptor[len('xstate.error.actor.') :]})"
    return descriptor


def _guard_label(guard: GuardRef) -> str:
    if guard.kind == "named":
        return guard.name
    if guard.kind == "not":
        return "!" + _guard_label(guard.children[0])
    if guard.kind == "stateIn":
        return f"in({guard.state})"
    joiner = " && " if guard.kind == "and" else " || "
    return "(" + joiner.join(_guard_label(g) for g in guard.children) + ")"
