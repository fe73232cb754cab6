"""The checker's rules over parents and children (issue 22, C1-C4), read after quiescence
from the table (every child instance, its parent link and history; each parent's actors
record and history) and the harness's log of messages SNS accepted (``xstate.start``,
``xstate.stop``, ``xstate.send``):

- **a child is started at most once** (C1): each start message created at most one child
  instance, and each (parent, actor, parent version) one, by one start message; every
  child was spawned by a commit of its parent;
- **no lost completion** (C3): a child that ended done or error told its parent (its
  completion was published), and its parent's history applies that completion exactly
  once, unless the parent had stopped it first (then never);
- **no child outlives its parent** (C4): a parent that ended has no child still active;
- **a cancelled order never ends with a running pizza**;
- **at most K pizzas of one order in the oven at once**, from the pizzas' histories
  (K = ORDER_OVEN_SLOTS, the order's ``grantOvenSlots``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

START, SEND = "xstate.start", "xstate.send"
FINAL = {"done", "error"}


def _epoch(stamp: str) -> float:
    from tests.chaos.checker import _epoch as epoch

    return epoch(stamp)


class Family:
    """Reads the children once; ``check`` flags through the checker."""

    def __init__(self, checker: Any) -> None:
        self.checker = checker
        self.children: dict[str, Any] = {}  # "pizza#<id>" -> Instance
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.parents: dict[str, Any] = {}  # "order#<id>" -> Instance
        self.starts: dict[str, list[Any]] = defaultdict(list)  # message id -> publishes
        self.sent: set[str] = set()  # every message id SNS accepted
        self.stops: set[str] = set()  # the xstate.stop messages SNS accepted
        self.most_in_oven = 0  # the most pizzas of one order in the oven at once (checked)

    def read(self) -> Family:
        """Every instance with a parent or children, their histories, the messages sent."""
        from chalicelib.runtime import store
        from chalicelib.runtime.store.records import Instance

        checker = self.checker
        kwargs: dict[str, Any] = {"TableName": "tropical-pizzas", "ConsistentRead": True}
        while True:
            page = checker.stack.ddb.scan(**kwargs)
            for item in page.get("Items", []):
                if item["sk"]["S"] != "instance":
                    continue
                instance = Instance.from_item(item)
                if (instance.actors or {}).get("parent"):
                    self.children[instance.pk] = instance
                if (instance.actors or {}).get("children"):
                    self.parents[instance.pk] = instance
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for pk in self.children:
            self.histories[pk] = store.history(pk)
        for pk in self.parents:
            if pk not in self.histories:
                self.histories[pk] = store.history(pk)
        for p in checker.injector.published:
            if p.type == START:
                self.starts[p.id].append(p)
            elif p.type == "xstate.stop":
                self.stops.add(p.id)
            self.sent.add(p.id)
        return self

    def flag(self, pk: str, rule: str, evidence: str) -> None:
        order = pk.partition("#")[2].split(".", 1)[0]
        self.checker.flag(order, rule, f"{pk}: {evidence}")

    def figures(self) -> dict[str, Any]:
        ends = Counter(c.snapshot.get("status", "?") for c in self.children.values())
        stopped = sum(
            1
            for p in self.parents.values()
            for c in p.actors["children"].values()
            if c["status"] == "stopped"
        )
        return {
            "parents (instances with children)": len(self.parents),
            "children": f"{len(self.children)} ("
            + ", ".join(f"{k} {n}" for k, n in ends.most_common())
            + ")",
            "start messages published (incl. copies)": sum(len(v) for v in self.starts.values()),
            "stop messages published / children stopped by their parent": (
                f"{len(self.stops)} / {stopped}"
            ),
            "most pizzas of one order in the oven at once": self.most_in_oven,
        }

    def check(self) -> None:
        self.started_once()
        self.completions()
        self.outlived()
        self.cancelled_orders()
        self.oven_slots()

    # C1 ------------------------------------------------------------------------------
    def started_once(self) -> None:
        rule = "a child is started at most once"
        by_message: dict[str, list[str]] = defaultdict(list)
        by_spawn: dict[tuple[str, str, int], set[str]] = defaultdict(set)
        for pk, child in self.children.items():
            hist = self.histories.get(pk) or []
            first = hist[0] if hist else {}
            message_id = first.get("eventId", "")
            if first.get("eventType") != START or message_id not in self.starts:
                self.flag(pk, rule, f"created by {first.get('eventType')} [{message_id}], "
                          "not by a start message its parent sent")  # fmt: skip
                continue
            by_message[message_id].append(pk)
            sent = self.starts[message_id][0]
            parent = (sent.data or {}).get("parent") or {}
            seq = (sent.data or {}).get("seq") or [0]
            key = (f"{parent.get('workflow')}#{parent.get('id')}", str(parent.get("actor")))
            by_spawn[(*key, int(seq[0]))].add(message_id)
            link = child.actors.get("parent") or {}
            if (f"{link.get('workflow')}#{link.get('id')}", link.get("actor")) != key:
                self.flag(pk, rule, f"its parent link {link} is not its start's parent {parent}")
            spawned = [
                h
                for h in self.histories.get(key[0], [])
                if h["version"] == int(seq[0])
                and any(e.split(":", 1)[-1] == key[1] for e in h.get("effects") or [])
            ]
            if not spawned:
                self.flag(pk, rule, f"no commit v{seq[0]} of {key[0]} starts actor {key[1]}")
        for message_id, made in by_message.items():
            if len(made) > 1:
                self.flag(made[0], rule, f"start {message_id} created {sorted(made)}")
        for (parent, actor, version), messages in by_spawn.items():
            if len(messages) > 1:
                self.flag(
                    parent, rule, f"actor {actor} of v{version} started by {sorted(messages)}"
                )

    # C3 ------------------------------------------------------------------------------
    def completions(self) -> None:
        rule = "no lost completion"
        for pk, child in self.children.items():
            status = child.snapshot.get("status")
            if status not in FINAL:
                continue
            link = child.actors["parent"]
            parent_pk = f"{link['workflow']}#{link['id']}"
            actor, child_id = link["actor"], pk.partition("#")[2]
            told = f"{pk.replace('#', '.')}.v{child.version}."
            if not any(m.startswith(told) for m in self.sent):
                self.flag(pk, rule, f"ended {status} at v{child.version}; no completion published")
            applied = [
                h
                for h in self.histories.get(parent_pk, [])
                if h["eventType"] in (f"xstate.done.actor.{actor}", f"xstate.error.actor.{actor}")
                and h["eventId"].startswith(f"{pk.replace('#', '.')}.")
            ]
            parent = self.parents.get(parent_pk)
            known = ((parent.actors if parent else {}).get("children") or {}).get(actor, {})
            if known.get("id") != child_id:
                known = {}
            if len(applied) > 1:
                self.flag(pk, rule, f"{parent_pk} applied its completion at "
                          f"{[h['version'] for h in applied]}")  # fmt: skip
            elif not applied and known.get("status") != "stopped":
                self.flag(pk, rule, f"ended {status}; {parent_pk} never applied it and holds "
                          f"it as {known.get('status')!r}")  # fmt: skip
            elif applied and known.get("status") != status:
                held = known.get("status")
                why = f"{parent_pk} applied {applied[0]['eventType']} and holds it as {held!r}"
                self.flag(pk, rule, f"ended {status}; {why}")

    # C4 ------------------------------------------------------------------------------
    def outlived(self) -> None:
        rule = "no child outlives its parent"
        for pk, child in self.children.items():
            if child.snapshot.get("status") != "active":
                continue
            link = child.actors["parent"]
            parent = self.parents.get(f"{link['workflow']}#{link['id']}")
            state = parent.snapshot.get("status") if parent else "missing"
            if state != "active":
                value = child.snapshot.get("value")
                self.flag(pk, rule, f"still active ({value}); its parent is {state}")

    def cancelled_orders(self) -> None:
        rule = "a cancelled order never ends with a running pizza"
        running = {"queued", "inOven"}
        for pk, parent in self.parents.items():
            if not pk.startswith("order#") or parent.snapshot.get("value") != "cancelled":
                continue
            shown = [p for p in parent.snapshot.get("context", {}).get("pizzas") or []
                     if p.get("state") in running]  # fmt: skip
            if shown:
                self.flag(pk, rule, f"its context shows {[p['itemId'] for p in shown]} running")
            for actor, known in parent.actors["children"].items():
                child = self.children.get(f"{known['workflow']}#{known['id']}")
                if child is not None and child.snapshot.get("status") == "active":
                    self.flag(pk, rule, f"pizza {actor} is {child.snapshot.get('value')}")

    def oven_slots(self) -> None:
        """From each pizza's history: when it entered ``baking`` and when it left."""
        from chalicelib.orders.fanout import FanOut

        slots = FanOut.from_environment().oven_slots
        moves: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
        for pk, hist in self.histories.items():
            if not pk.startswith("pizza#"):
                continue
            order = pk.partition("#")[2].split(".", 1)[0]
            inside = False
            for h in hist:
                now = str(h.get("to") or "").startswith("baking")
                if now != inside:
                    moves[order].append((_epoch(h["time"]), 1 if now else -1, pk))
                    inside = now
        for order, steps in moves.items():
            steps.sort(key=lambda s: (s[0], s[1]))  # a pizza leaving before one entering
            count, most, at = 0, 0, []
            for _, delta, pk in steps:
                count += delta
                if count > most:
                    most, at = count, [pk]
            self.most_in_oven = max(self.most_in_oven, most)
            if most > slots:
                self.checker.flag(
                    order,
                    f"at most K pizzas of one order in the oven (K={slots})",
                    f"{most} in the oven at once, the last to enter {at[0]}",
                )
