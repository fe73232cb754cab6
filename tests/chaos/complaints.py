"""Complaints about delivered orders, played by everyone who takes part in one.

A share of the orders carries a complaint plan (drawn from the seed): once its order is
delivered, its customer opens a complaint; staff claim it, may ask the customer a
question, and approve (all of the order or part of it; now and then first more than its
total, which is refused) or reject it; some complaints staff leave alone until they
escalate, and then a manager decides (staff who try get 403); the customer answers, or
stays silent until the complaint closes itself, or withdraws; Payments staff settle the
refunds the Payments service holds (its first attempt of every refund is declined:
PAYMENTS_FAIL_ATTEMPTS=1, so every refund is retried). Every request goes through the
``Caller`` (faults, retries with the same Idempotency-Key).
"""

from __future__ import annotations

import random
import threading
from typing import Any

from tests.chaos.actors import Caller, Staff
from tests.chaos.checker import _state
from tests.chaos.history import Request

SHARE = 0.35  # of the orders carry a complaint plan (only delivered ones can open one)
FINAL = ("refunded", "refundFailed", "rejected", "withdrawn", "closed")
MANAGER = "manager-1"


def complaint_plan(seed: int, n: int) -> dict[str, Any] | None:
    """What happens to order ``n``'s complaint, if it gets one."""
    rng = random.Random(f"{seed}:complaint:{n}")
    if rng.random() >= SHARE:
        return None
    return {
        "decision": rng.choices(["full", "partial", "reject"], weights=[4, 3, 3])[0],
        "share": rng.uniform(0.1, 0.9),  # of the order's total, for a partial refund
        "claim": rng.random() < 0.7,
        "ask": rng.random() < 0.35,
        "silent": rng.random() < 0.25,  # asked, never answers: closes after 7 days
        "withdraw": rng.random() < 0.1,
        "escalate": rng.random() < 0.2,  # staff leave it: a manager decides after 2 h
        "too_much": rng.random() < 0.15,  # staff first ask to refund more than the total
        "race": rng.random() < 0.1,  # two staff decide at once, differently
    }


class Desk:
    """What the complaint actors share: which complaints were opened, asked, settled."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.stack = caller.stack
        self.history = caller.history
        self.opened: set[str] = set()
        self.asked: set[str] = set()
        self.answered: set[str] = set()
        self.settled: set[str] = set()  # ended (or the order can never have one)
        self.lock = threading.Lock()
        self.manager_token = self.stack.manager_token

    def planned(self) -> list[tuple[str, dict[str, Any]]]:
        delivered = {
            p.subject for p in self.caller.injector.published if p.type == "PIZZA_DELIVERED"
        }
        with self.lock:
            return sorted(
                (o, f["complaint"])
                for o, f in list(self.history.fates.items())
                if f.get("complaint") and o in delivered and o not in self.settled
            )

    def settle(self, order: str) -> None:
        with self.lock:
            self.settled.add(order)

    def send(
        self,
        order: str,
        who: str,
        token: str,
        kind: str,
        method: str,
        path: str,
        body: Any,
        key: str | None,
        rng: random.Random,
    ) -> Any:
        request = Request(order, who, kind, method, path, body, key)
        return self.caller.send(request, token, rng)


class ComplainingCustomer:
    """Customers of delivered orders with a plan: open, answer or stay silent, withdraw."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def step(self, rng: random.Random, chaos: bool = True) -> int:
        todo = self.desk.planned()
        if chaos:
            rng.shuffle(todo)
            todo = todo[:3]
        return sum(self.act(order, plan, rng, chaos) for order, plan in todo)

    def act(self, order: str, plan: dict[str, Any], rng: random.Random, chaos: bool) -> int:
        desk, fate = self.desk, self.desk.history.fates[order]
        user = fate["user"]
        token = desk.stack.token(user)
        if order not in desk.opened:
            body = {"reason": "cold pizza", "details": f"order {order[:6]}"}
            seen = desk.send(
                order,
                user,
                token,
                "OPEN_COMPLAINT",
                "POST",
                f"/orders/{order}/complaint",
                body,
                f"{user}-complaint",
                rng,
            )
            if seen is None:
                return 0
            if seen.status == 201 or "exists" in str(seen.body):
                desk.opened.add(order)
                return 1
            if seen.status == 409 and "delivered order" in str(seen.body):
                view = desk.stack.http("GET", f"/orders/{order}", token)
                if view.status == 200 and view.body["state"] == "cancelled":
                    desk.settle(order)  # never delivered after all
            return 0
        view = desk.stack.http("GET", f"/orders/{order}/complaint", token)
        if view.status != 200:
            return 0
        state = _state(view.body["state"])
        if state in FINAL:
            desk.settle(order)
            return 0
        if plan["withdraw"] and (not chaos or rng.random() < 0.3):
            desk.send(
                order,
                user,
                token,
                "WITHDRAW_COMPLAINT",
                "POST",
                f"/orders/{order}/complaint/withdraw",
                {"reason": "sorted out"},
                f"{user}-withdraw",
                rng,
            )
            return 1
        question = view.body.get("question") or {}
        if "awaitingCustomer" in state and not plan["silent"] and question:
            asked_at = question.get("at") or "q"
            desk.send(
                order,
                user,
                token,
                "ANSWER_COMPLAINT",
                "POST",
                f"/orders/{order}/complaint/answer",
                {"message": "it was cold"},
                f"{user}-answer-{asked_at}",
                rng,
            )
            return 1
        return 0


class ComplaintStaff:
    """Staff (or, with ``manager``, a manager) working the open complaints list."""

    def __init__(self, desk: Desk, manager: bool = False, name: str = "a") -> None:
        self.desk = desk
        self.manager = manager
        self.name = name

    def step(self, rng: random.Random, chaos: bool = True) -> int:
        desk = self.desk
        token = desk.manager_token if self.manager else desk.stack.staff_token
        listing = desk.stack.http("GET", "/complaints", token)
        if listing.status != 200:
            return 0
        complaints = listing.body["complaints"]
        if chaos:
            rng.shuffle(complaints)
            complaints = complaints[:2]
        return sum(self.act(view, token, rng, chaos) for view in complaints)

    def act(self, view: dict[str, Any], token: str, rng: random.Random, chaos: bool) -> int:
        desk, order = self.desk, view["orderId"]
        plan = desk.history.fates.get(order, {}).get("complaint")
        if not plan:
            return 0
        state = _state(view["state"])
        who = MANAGER if self.manager else "staff-1"
        if "onHold" in state:
            return 0  # waiting for the customer
        escalated = "escalated" in state
        if self.manager:
            if not escalated:
                return 0
            return self.decide(order, view, plan, token, who, rng, chaos)
        if escalated:
            if chaos and rng.random() < 0.2:  # staff try anyway: only a manager may now
                desk.send(
                    order,
                    who,
                    token,
                    "DECIDE_COMPLAINT",
                    "POST",
                    f"/complaints/{order}/decision",
                    {"decision": "reject", "reason": "staff after escalation"},
                    f"{order}-late-staff-{rng.randrange(10**6)}",
                    rng,
                )
                return 1
            return 0
        if plan["escalate"]:
            return 0  # left alone until it escalates
        if plan["ask"] and order not in desk.asked:
            seen = desk.send(
                order,
                who,
                token,
                "ASK_CUSTOMER",
                "POST",
                f"/complaints/{order}/question",
                {"question": "hot or cold?"},
                f"{order}-ask-{self.name}",
                rng,
            )
            if seen is not None and seen.status < 500:
                desk.asked.add(order)
            return 1
        if plan["claim"] and "withStaff.new" in state:
            desk.send(
                order,
                who,
                token,
                "CLAIM_COMPLAINT",
                "POST",
                f"/complaints/{order}/claim",
                None,
                f"{order}-claim-{self.name}",
                rng,
            )
            return 1
        if chaos and plan["race"]:
            other = dict(plan, decision="reject" if plan["decision"] != "reject" else "full")
            racers = [
                threading.Thread(
                    target=self.decide,
                    args=(order, view, p, token, who, random.Random(rng.getrandbits(64)), chaos),
                    kwargs={"suffix": s},
                )
                for p, s in ((plan, "a"), (other, "b"))
            ]
            for t in racers:
                t.start()
            for t in racers:
                t.join()
            desk.history.count("complaint decision races")
            return 1
        return self.decide(order, view, plan, token, who, rng, chaos)

    def decide(
        self,
        order: str,
        view: dict[str, Any],
        plan: dict[str, Any],
        token: str,
        who: str,
        rng: random.Random,
        chaos: bool,
        suffix: str = "",
    ) -> int:
        desk, total = self.desk, int(view.get("orderTotal") or 0)
        path = f"/complaints/{order}/decision"
        key = f"{order}-decide-{self.name}{suffix}"
        if plan["decision"] == "reject":
            body: dict[str, Any] = {"decision": "reject", "reason": "looked fine to us"}
        else:
            if plan["too_much"] and chaos:
                desk.send(
                    order,
                    who,
                    token,
                    "DECIDE_COMPLAINT",
                    "POST",
                    path,
                    {"decision": "approve", "amount": total + 100},
                    f"{key}-too-much",
                    rng,
                )
            body = {"decision": "approve"}
            if plan["decision"] == "partial" and total > 1:
                body["amount"] = max(1, int(total * plan["share"]))
        desk.send(order, who, token, "DECIDE_COMPLAINT", "POST", path, body, key, rng)
        return 1


class PaymentsStaff(Staff):
    """Payments staff settling the refunds the Payments service holds."""

    def __init__(self, caller: Caller, rng: random.Random, stop: threading.Event) -> None:
        super().__init__(caller, "payments", rng, stop)

    def held(self, token: str) -> list[str]:
        seen = self.caller.stack.http("GET", "/payments/refunds", token)
        if seen.status != 200:
            return []
        return [w["refundId"] for w in seen.body["refunds"]]

    def finish(self, refund_id: str, token: str, rng: random.Random) -> None:
        request = Request(
            refund_id.rsplit(".", 1)[0],
            "payments-staff",
            "FINISH",
            "POST",
            f"/payments/refunds/{refund_id}/settled",
            {},
            None,
        )
        self.caller.send(request, token, rng, may_time_out=False)
