"""Divergences from XState found outside our generator, kept as permanent cases.

Each file in ``repros/`` holds a machine, its events and the steps XState 5.33.3
took with the snapshot chained in memory. Their vocabulary differs a little from
ours: guard ``lt:n:K`` is ``n < K``, ``even:n`` is ``n`` even, action ``inc:n``
adds one to ``n``; every other action is a plain named effect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).parent / "repros"


def _guard(name: str) -> Any:
    if name.startswith("lt:n:"):
        return {"type": "lt", "params": {"k": int(name.removeprefix("lt:n:"))}}
    return {"even:n": "isEven"}.get(name, name)


def to_vocabulary(node: Any) -> Any:
    """The repro's config in the shared vocabulary (tests/statechart/vocabulary.py)."""
    if isinstance(node, list):
        return [to_vocabulary(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "guard":
            out[key] = _guard(value)
        elif key in ("entry", "exit", "actions"):
            out[key] = ["inc" if a == "inc:n" else a for a in value]
        else:
            out[key] = to_vocabulary(value)
    return out


def load() -> list[dict[str, Any]]:
    """Every repro as a conformance case, with XState's recorded steps under ``expected``."""
    cases = []
    for path in sorted(FOLDER.glob("*.json")):
        data = json.loads(path.read_text())
        cases.append(
            {
                "name": path.stem,
                "config": to_vocabulary(data["config"]),
                "events": data["events"],
                "expected": data["xstate_steps"],
            }
        )
    return cases
