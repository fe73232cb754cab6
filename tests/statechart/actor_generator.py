"""Random parent + children systems (seeded) for the comparison with XState's actors.

Three machines from generator.py's ``_Gen`` (so every construct of the engine is in
play) take the roles root -> kid -> leaf: root invokes and spawns kids, a kid
invokes and spawns leaves, a leaf starts nothing. On top of ``_Gen``'s actions,
handlers of outside events (A-D) spawn children from context (``fanOut``), stop
the oldest (``stopOldest``), message every spawned child (``pingKids``, now and
then with an error event), send to an invoked child, tell the parent (``K``) and
enqueue a raise under a guard check; invoking states may send ``K`` to their own
invoke on entry; some states take ``xstate.done.actor.*`` / ``xstate.error.actor.*``.

Every message chain is finite, as XState would otherwise loop forever: messages
down carry A-D or K, messages up carry only K, and no handler of K, of a done or
error event, or of ``*`` sends anything up; children have no eventless
transitions, so none is done as it starts (a parent re-entering the invoking state
on that done event would start another, for ever). Spawned ids are unique per parent
(``k<next>``), and no timer id is scheduled twice while pending, where XState 5
and ActorSystem differ by design (see ActorSystem).
"""

from __future__ import annotations

import random
from typing import Any

from .generator import EXTERNAL, RAISED, _Gen

ROLES = ("root", "kid", "leaf")
CHILD = {"root": "kid", "kid": "leaf"}
DELAYS = [50, 100, 250, 500]


def _nodes(config: dict[str, Any]) -> list[dict[str, Any]]:
    found = [config]
    for child in (config.get("states") or {}).values():
        if child.get("type") != "history":
            found.extend(_nodes(child))
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _off_the_root(node: Any, instead: str) -> Any:
    """Targets of the root moved to ``instead``: a transition into the root enters it
    again without leaving it (XState 5 does this), so an invoke of the root would
    start a second child under a running one's id, which a durable host cannot have;
    the engine's conformance suite covers that shape, with services."""
    if isinstance(node, list):
        return [_off_the_root(n, instead) for n in node]
    if isinstance(node, dict):
        return {
            k: (instead if v == "#g" else _off_the_root(v, instead)) if k == "target" else
            _off_the_root(v, instead)
            for k, v in node.items()
        }  # fmt: skip
    return node


def _machine(seed: int, role: str, r: random.Random) -> tuple[dict[str, Any], _Gen]:
    gen = _Gen(seed)
    config = gen.machine()
    config = _off_the_root(config, "#g." + next(iter(config["states"])))
    context = {"n": config["context"]["n"], "log": [], "kids": [], "next": 0}
    if role != "root":
        context["input"] = None
        if r.random() < 0.5:
            config["output"] = {"from": role}
    config["context"] = context
    for node in _nodes(config):
        if role != "root":
            # an eventless transition could finish a child as it starts; a parent's "*"
            # re-entering the invoking state on that done event would loop for ever
            node.pop("always", None)
        after = node.get("after")
        if after and "Dyn" in after:
            # a 10 ms timer re-entering a state that starts children every 10 ms makes
            # thousands of actors per advance: a slow case, not a better one
            after["D2"] = after.pop("Dyn")
        invoke = node.get("invoke")
        if invoke is not None:
            if role == "leaf":
                del node["invoke"]
            else:
                invoke["src"] = CHILD[role]
                on = node.setdefault("on", {})
                poke = {"type": "xstate.sendTo", "to": invoke["id"],
                        "event": {"type": r.choice(EXTERNAL)}}  # fmt: skip
                on["P"] = {"actions": [poke]}
                if r.random() < 0.3:
                    down = {"type": "xstate.sendTo", "to": invoke["id"], "event": {"type": "K"}}
                    node["entry"] = [*_as_list(node.get("entry")), down]
        on = node.get("on")
        for event, transitions in list((on or {}).items()):
            if event not in EXTERNAL:
                continue
            for t in _as_list(transitions):
                if r.random() < 0.6:
                    t["actions"] = [*_as_list(t.get("actions")), *_actor_actions(role, r)]
        if node.get("type") != "final" and role != "leaf" and r.random() < 0.25:
            node.setdefault("on", {})[f"xstate.{r.choice(['done', 'error'])}.actor.*"] = {
                "actions": [r.choice(["track", "inc"])]
            }
        if node.get("type") != "final" and role != "root" and r.random() < 0.3:
            node.setdefault("on", {})["K"] = {"actions": ["track"]}
        elif node.get("type") != "final" and role == "root" and r.random() < 0.4:
            node.setdefault("on", {})["K"] = {"actions": ["track", "inc"]}
        if node.get("on") is None:
            node.pop("on", None)
    return config, gen


def _actor_actions(role: str, r: random.Random) -> list[Any]:
    pool: list[Any] = []
    if role != "leaf":
        count = r.randint(1, 2)
        pool += [
            {"type": "fanOut", "params": {"src": CHILD[role], "count": count}},
            "stopOldest",
            {"type": "pingKids", "params": {"type": r.choice(EXTERNAL)}},
            {"type": "pingKids", "params": {"type": r.choice(["K", "xstate.error.actor.zz"])}},
            "checkRaise",
        ]
    if role != "root":
        pool += ["tellParent", "tellParent"]
    return r.sample(pool, r.randint(1, min(2, len(pool))))


def random_system(seed: int, length: int = 12) -> dict[str, Any]:
    """A random root/kid/leaf system and ``length`` commands, reproducible from ``seed``."""
    r = random.Random(seed)
    machines = {}
    root_gen = None
    for i, role in enumerate(ROLES):
        machines[role], gen = _machine(seed * 3 + i + 1_000_000, role, r)
        if role == "root":
            root_gen = gen
    pool: list[dict[str, Any]] = [{"send": {"type": e}} for e in EXTERNAL + RAISED]
    pool += [{"send": {"type": "A", "flag": True}}, {"send": {"type": "SET", "n": 3}}]
    pool += [{"send": {"type": "P"}}] * 2
    pool += [{"send": {"type": e.replace(".Dyn.", ".D2.")}} for e in root_gen.after_events]
    for invoke_id in root_gen.invoke_ids:
        pool.append({"send": {"type": f"xstate.done.actor.{invoke_id}", "output": {"ok": 1}}})
        pool.append({"send": {"type": f"xstate.error.actor.{invoke_id}", "error": "failed"}})
        pool.append({"send": {"type": r.choice(EXTERNAL)}, "to": f"root/{invoke_id}"})
    pool += [{"send": {"type": r.choice(EXTERNAL)}, "to": f"root/k{i}"} for i in range(3)]
    pool += [{"advance": d} for d in DELAYS] * 2
    return {
        "name": f"system_{seed}",
        "machines": machines,
        "root": "root",
        "commands": [r.choice(pool) for _ in range(length)],
    }
