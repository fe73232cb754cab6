"""Run the same machine and events through this engine and through XState v5 (Node).

Each step is viewed the same way on both sides: value, context, status, output,
error, tags, meta, ``can(e)`` for every event of the case, and the ordered effects.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from chalicelib.statechart import Effect, Snapshot

from .vocabulary import build

RUNNER = Path(__file__).parent / "xstate" / "runner.js"


def xstate_available() -> str | None:
    """None when Node and the pinned xstate package are installed, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (RUNNER.parent / "node_modules" / "xstate").is_dir():
        return "xstate is not installed: run `make test` (npm ci in tests/statechart/xstate)"
    return None


def run_xstate(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results of XState v5 for each case: ``{"steps": [...]}`` or ``{"error": ...}``."""
    done = subprocess.run(
        ["node", str(RUNNER)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout)


def _effect_view(effect: Effect) -> dict[str, Any] | None:
    if effect.kind == "action":
        return {"kind": "action", "type": effect.type, "params": effect.params}
    if effect.kind == "schedule":
        view = {
            "kind": "schedule",
            "id": effect.id,
            "event": effect.event["type"],
            "delay": effect.delay_ms,
        }
        if effect.type == "xstate.sendTo":
            view["to"] = effect.to
        return view
    if effect.kind == "cancel_schedule":
        return {"kind": "cancel_schedule", "id": effect.id}
    if effect.kind in ("send_to", "send_parent"):
        return {"kind": "send_to", "to": effect.to, "event": effect.event["type"]}
    # XState starts an invoke and a spawnChild with the same action, and stops both alike
    if effect.kind in ("invoke", "spawn"):
        return {"kind": "invoke", "id": effect.id, "type": effect.type, "input": effect.input}
    return {"kind": "cancel_invoke", "id": effect.id}


def _view(snapshot: Snapshot, effects: list[Effect], probes: list[dict]) -> dict[str, Any]:
    return {
        "tags": sorted(snapshot.tags),
        "meta": snapshot.meta,
        "can": [snapshot.can(event) for event in probes],
        "value": snapshot.value,
        "context": snapshot.context,
        "status": snapshot.status,
        "output": snapshot.output,
        "error": snapshot.error,
        "effects": [_effect_view(e) for e in effects],
    }


def run_python(case: dict[str, Any], round_trip: bool | None = None) -> dict[str, Any]:
    """This engine's results in the runner's shape.

    Each event is applied to a copy restored from JSON, as the runtime does, unless
    the case says ``"restore": false`` (snapshots chained in memory, as one actor).
    """
    if round_trip is None:
        round_trip = case.get("restore", True)
    try:
        machine = build(case["config"])
        step = machine.initial_transition()
        probes = case["events"]
        steps = [_view(step.snapshot, step.effects, probes)]
        for event in case["events"]:
            if step.snapshot.status != "active":
                break
            current = step.snapshot
            if round_trip:
                current = Snapshot.from_dict(json.loads(json.dumps(current.to_dict())))
            step = machine.transition(current, event)
            steps.append(_view(step.snapshot, step.effects, probes))
        return {"steps": json.loads(json.dumps(steps))}
    except Exception as exc:  # noqa: BLE001 - compared with XState's failure
        return {"error": f"{type(exc).__name__}: {exc}"}


def first_difference(ours: dict, theirs: dict, events: list) -> str:
    """Where two runs first part ways, for a failure message."""
    if "error" in ours or "error" in theirs:
        return f"ours: {ours.get('error')!r}, xstate: {theirs.get('error')!r}"
    for i, (a, b) in enumerate(zip(ours["steps"], theirs["steps"], strict=False)):
        if a != b:
            event = events[i - 1] if i else "(initial)"
            return f"step {i} after {event}:\n ours:   {json.dumps(a)}\n xstate: {json.dumps(b)}"
    return f"{len(ours['steps'])} steps against {len(theirs['steps'])}"
