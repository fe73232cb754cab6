"""Random machines and event sequences (seeded) for conformance and property tests.

Machines use every construct of the contract. Beyond that, the generator leans on
the shapes where statechart engines part ways (issue 13): roots that are parallel
as often as compound, transitions from outside a parallel state into its nested
regions (one target or one per region), deep and shallow history under parallel
states and in their regions, history defaults, and ``reenter`` on transitions
whose source is an ancestor of (or is) the target.

The outside repros of issue 13 also had context the states themselves count
(``inc`` in entry and exit actions, also of final states), eventless transitions
guarded by ``n < K`` that increment ``n``, and an ``onDone`` on the root; half of
the machines count that way ("rising"), the other half as before. The root, like
any other state, can also have ``always``, ``after`` and ``invoke``.

To keep every macrostep finite, as XState itself would loop forever otherwise:
raised events come only from transitions on external events and their own
handlers raise nothing. Eventless transitions need ``n > 0`` and decrement ``n``
in a falling machine, where only transitions on external events increment it;
in a rising machine they need ``n < K`` and increment ``n``, and nothing
decrements it, so each macrostep takes at most K of them.
"""

from __future__ import annotations

import random
from typing import Any

EXTERNAL = ["A", "B", "C", "D"]
RAISED = ["X", "Y"]
PLAIN = ["p1", "p2", "p3"]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.ids: list[str] = []
        # ids of nodes with a parallel ancestor: the targets the issue-13 bugs needed
        self.in_regions: list[str] = []
        # for each parallel node, its regions' ids (for one-target-per-region lists)
        self.regions: dict[str, list[str]] = {}
        self.history_ids: list[str] = []
        self.final_ids: set[str] = set()
        self.after_events: list[str] = []
        self.invoke_ids: list[str] = []
        self.count = 0
        self.rising = self.r.random() < 0.5

    def machine(self) -> dict[str, Any]:
        config = {"id": "g", "context": {"n": self.r.randint(0, 2), "log": []}}
        config.update(self.node("g", 0, root=True))
        self.finish(config, "g")
        return config

    def node(
        self, node_id: str, depth: int, root: bool = False, in_region: bool = False
    ) -> dict[str, Any]:
        r = self.r
        self.ids.append(node_id)
        if in_region:
            self.in_regions.append(node_id)
        cfg: dict[str, Any] = {}
        if root:
            kind = r.choice(["compound", "parallel"])
        else:
            kind = r.choices(
                ["atomic", "compound", "parallel", "final"],
                [5, 3 if depth < 3 else 0, 2 if depth < 3 else 0, 1],
            )[0]
        if kind == "final":
            self.final_ids.add(node_id)
            cfg["type"] = "final"
            if r.random() < 0.3:
                cfg["output"] = {"from": node_id}
            if r.random() < 0.3:
                cfg["entry"] = self.actions()
            if r.random() < 0.3:
                cfg["exit"] = self.actions()
            return cfg
        if kind in ("compound", "parallel"):
            count = r.randint(2, 3)
            states = {}
            for _ in range(count):
                key = f"s{self.count}"
                self.count += 1
                states[key] = self.node(
                    f"{node_id}.{key}", depth + 1, in_region=in_region or kind == "parallel"
                )
            keys = list(states)
            if kind == "compound":
                first = next((k for k in keys if states[k].get("type") != "final"), None)
                if first is None:
                    states[keys[0]] = {}
                    first = keys[0]
                cfg["initial"] = first
            else:
                cfg["type"] = "parallel"
                self.regions[node_id] = [f"{node_id}.{k}" for k in keys]
                for k in keys:
                    if states[k].get("type") == "final":
                        states[k] = {}
            if r.random() < (0.4 if kind == "parallel" or in_region else 0.3):
                hist_key = f"h{self.count}"
                self.count += 1
                history: dict[str, Any] = {"type": "history"}
                history["history"] = r.choice(["shallow", "deep"])
                if r.random() < 0.25:
                    # a default other than the parent's initial state
                    history["target"] = r.choice(keys)
                states[hist_key] = history
                self.history_ids.append(f"{node_id}.{hist_key}")
            cfg["states"] = states
            # the root's onDone is never taken (the machine is done), but must not be
            if r.random() < (0.2 if root else 0.4):
                cfg["onDone"] = {"target": None, "actions": ["doneAct"]}
        if r.random() < 0.4:
            cfg["entry"] = self.actions()
        if r.random() < 0.4:
            cfg["exit"] = self.actions()
        if not root and r.random() < 0.15:
            cfg["tags"] = ["t" + str(r.randint(0, 2))]
        if r.random() < 0.15:
            cfg["meta"] = {"label": node_id}
        if r.random() < 0.2:
            invoke_id = f"inv{self.count}"
            self.count += 1
            self.invoke_ids.append(invoke_id)
            cfg["invoke"] = {"id": invoke_id, "src": r.choice(["svcA", "svcB"]), "input": {"k": 1}}
        if r.random() < 0.2:
            delay = r.choice(["100", "500", "D1", "Dyn"])
            cfg["after"] = {delay: None}
            self.after_events.append(f"xstate.after.{delay}.{node_id}")
        if r.random() < 0.2:
            cfg["always"] = None
        cfg["on"] = None
        return cfg

    def actions(self, external: bool = False) -> list[Any]:
        r = self.r
        pool = ["track", *PLAIN, {"type": "p1", "params": {"v": 1}}]
        if external or self.rising:
            pool.append("inc")
        if external:
            pool += ["raiseX", "raiseY"]
        return [r.choice(pool) for _ in range(r.randint(1, 2))]

    def guard(self) -> Any:
        r = self.r
        pick = r.random()
        if pick < 0.5:
            return None
        simple = [
            "isPos",
            "isEven",
            "flag",
            {"type": "gt", "params": {"k": 2}},
            {"type": "lt", "params": {"k": 3}},
        ]
        if pick < 0.8:
            return r.choice(simple)
        if pick < 0.87:
            return {"type": r.choice(["and", "or"]), "guards": r.sample(simple, 2)}
        if pick < 0.94:
            return {"type": "not", "guard": r.choice(simple)}
        return {"type": "stateIn", "state": "#" + r.choice(self.ids)}

    def target(self, source: str, settle: bool = False) -> Any:
        r = self.r
        pick = r.random()
        if pick < 0.15:
            return None
        if settle:
            # a done event must not lead into a final state again: that would never settle
            return "#" + r.choice([i for i in self.ids if i not in self.final_ids])
        if pick < 0.27 and self.history_ids:
            return "#" + r.choice(self.history_ids)
        if pick < 0.37 and self.regions:
            # one target in each of some regions of a parallel state
            regions = self.regions[r.choice(list(self.regions))]
            chosen = r.sample(regions, r.randint(1, len(regions)))
            return ["#" + self._inside(region) for region in chosen]
        if pick < 0.52:
            # the source itself or a descendant: where ``reenter`` decides everything
            return "#" + r.choice([i for i in self.ids if i == source or _under(i, source)])
        if pick < 0.72 and self.in_regions:
            return "#" + r.choice(self.in_regions)
        return "#" + r.choice(self.ids)

    def _inside(self, region: str) -> str:
        """The region itself or one of its states (history included)."""
        inside = [i for i in self.ids + self.history_ids if i == region or _under(i, region)]
        return self.r.choice(inside)

    def transition(
        self, source: str, external: bool, eventless: bool = False, settle: bool = False
    ) -> dict[str, Any]:
        r = self.r
        t: dict[str, Any] = {}
        target = self.target(source, settle)
        if target is not None:
            t["target"] = target
        if eventless:
            if self.rising:
                t["guard"] = {"type": "lt", "params": {"k": r.randint(1, 4)}}
                t["actions"] = ["inc", *PLAIN[: r.randint(0, 1)]]
            else:
                t["guard"] = "isPos"
                t["actions"] = ["dec", *PLAIN[: r.randint(0, 1)]]
            return t
        guard = self.guard()
        if guard is not None:
            t["guard"] = guard
        if r.random() < 0.7:
            t["actions"] = self.actions(external=external)
        if r.random() < 0.25:
            t["reenter"] = True
        return t

    def finish(self, cfg: dict[str, Any], node_id: str) -> None:
        """Fill in transitions once every state id is known."""
        r = self.r
        if "onDone" in cfg:
            cfg["onDone"] = self.transition(node_id, external=False, settle=True)
        if "always" in cfg:
            cfg["always"] = self.transition(node_id, external=False, eventless=True)
        if "after" in cfg:
            key = next(iter(cfg["after"]))
            cfg["after"][key] = self.transition(node_id, external=False)
        if "invoke" in cfg:
            cfg["invoke"]["onDone"] = self.transition(node_id, external=False)
            if r.random() < 0.6:
                cfg["invoke"]["onError"] = self.transition(node_id, external=False)
        if "on" in cfg:
            on = {}
            for event in r.sample(EXTERNAL + RAISED + ["*"], r.randint(0, 3)):
                ts = [
                    # '*' also sees done events, so it must not lead into a final state
                    self.transition(node_id, external=event in EXTERNAL, settle=event == "*")
                    for _ in range(r.randint(1, 2))
                ]
                on[event] = ts if len(ts) > 1 else ts[0]
            if on:
                cfg["on"] = on
            else:
                del cfg["on"]
        for key, child in (cfg.get("states") or {}).items():
            if child.get("type") != "history":
                self.finish(child, f"{node_id}.{key}")


def _under(node_id: str, ancestor: str) -> bool:
    return node_id.startswith(ancestor + ".")


def random_case(seed: int, length: int = 10) -> dict[str, Any]:
    """A random machine config and ``length`` events for it, reproducible from ``seed``.

    Even seeds restore the snapshot from JSON before each event (the runtime's way),
    odd seeds chain it in memory (one actor's way); XState is run the same way.
    """
    gen = _Gen(seed)
    config = gen.machine()
    pool: list[Any] = [{"type": e} for e in EXTERNAL + RAISED]
    pool += [{"type": "A", "flag": True}, {"type": "SET", "n": 3}]
    pool += [{"type": e} for e in gen.after_events]
    for invoke_id in gen.invoke_ids:
        pool.append({"type": f"xstate.done.actor.{invoke_id}", "output": {"ok": True}})
        pool.append({"type": f"xstate.error.actor.{invoke_id}", "error": "failed"})
    events = [gen.r.choice(pool) for _ in range(length)]
    return {
        "name": f"random_{seed}",
        "config": config,
        "events": events,
        "restore": seed % 2 == 0,
    }
