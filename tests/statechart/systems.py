"""Run the same parent + children systems through ``ActorSystem`` and XState v5 (Node).

A case is ``{"name", "machines": {src: config}, "root": src, "input"?, "commands":
[{"send": event, "to"?: path} | {"advance": ms}]}``. After the start and after each
command both sides report the tree of actors (path, src, status, value, context,
output, error, children) and the trace of that command: every event sent to an
actor (source, target, type), every named action run, and every event an actor
finished handling, in order (see ``ActorSystem`` and xstate/system.js).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from chalicelib.statechart.system import ActorSystem

from .vocabulary import build

RUNNER = Path(__file__).parent / "xstate" / "system.js"


def run_xstate_systems(cases: list[dict[str, Any]], timeout: float = 600) -> list[dict[str, Any]]:
    """XState's results for each case: ``{"steps": [...]}`` or ``{"error": ...}``;
    subprocess.TimeoutExpired when they take longer than ``timeout`` seconds."""
    done = subprocess.run(
        ["node", str(RUNNER)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    return json.loads(done.stdout)


def start(case: dict[str, Any], replace_timers: bool = False) -> ActorSystem:
    """The case's system, started, with the test vocabulary's machines; its timers are
    XState 5's unless ``replace_timers`` (ActorSystem's default)."""
    machines = {src: build(config) for src, config in case["machines"].items()}
    return ActorSystem(machines, case["root"], case.get("input"), replace_timers=replace_timers)


def run_python_system(case: dict[str, Any]) -> dict[str, Any]:
    """``ActorSystem``'s results in the shape of xstate/system.js's."""
    try:
        system = start(case)
        steps = [{"tree": system.tree(), "trace": list(system.trace)}]
        for command in case["commands"]:
            mark = len(system.trace)
            if "advance" in command:
                system.advance(command["advance"])
            else:
                try:
                    target = system.actor(command.get("to") or system.root.path)
                except KeyError:
                    target = None  # no actor there: xstate/system.js skips it too
                if target is not None:
                    system.send(command["send"], target.path)
            steps.append({"tree": system.tree(), "trace": system.trace[mark:]})
        return {"steps": json.loads(json.dumps(steps))}
    except Exception as exc:  # noqa: BLE001 - compared with XState's failure
        return {"error": f"{type(exc).__name__}: {exc}"}


THROWN = "Unable to send event to actor"


def thrown_alike(ours: dict, theirs: dict) -> bool:
    """True when two runs part ways only where an actor's step threw (a send to an
    actor it does not have), and both fail that actor with the same error there.

    Two differences from XState there are by design (see ActorSystem): the engine's
    step is all or nothing, so the named actions XState ran before the throw do not
    run, and the failed actor's children are stopped, not left running unreachable.
    """
    if "error" in ours or "error" in theirs:
        return False
    for a, b in zip(ours["steps"], theirs["steps"], strict=False):
        if a == b:
            continue
        failed = {
            x["path"]: x["error"]
            for x in b["tree"]
            if x["status"] == "error" and str(x["error"]).startswith(THROWN)
        }
        mine = {x["path"]: x["error"] for x in a["tree"] if x["status"] == "error"}
        return bool(failed) and all(mine.get(path) == error for path, error in failed.items())
    return False


def first_system_difference(ours: dict, theirs: dict, commands: list) -> str:
    """Where two runs first part ways, for a failure message."""
    if "error" in ours or "error" in theirs:
        return f"ours: {ours.get('error')!r}, xstate: {theirs.get('error')!r}"
    for i, (a, b) in enumerate(zip(ours["steps"], theirs["steps"], strict=False)):
        for part in ("trace", "tree"):
            if a[part] != b[part]:
                command = commands[i - 1] if i else "(start)"
                at = next(
                    (j for j, (x, y) in enumerate(zip(a[part], b[part], strict=False)) if x != y),
                    min(len(a[part]), len(b[part])),
                )
                return (
                    f"step {i} after {json.dumps(command)}, {part} item {at}:\n"
                    f" ours:   {json.dumps(a[part][max(0, at - 3) : at + 3])}\n"
                    f" xstate: {json.dumps(b[part][max(0, at - 3) : at + 3])}"
                )
    return f"{len(ours['steps'])} steps against {len(theirs['steps'])}"
