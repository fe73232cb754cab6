"""Complaints about delivered orders, played by everyone who takes part in one.

A share of the orders carries a complaint plan (drawn from the seed): once its order is
delivered, its customer opens a complaint; staff claim it, may ask the customer a
question, and approve (all of the order or part of it; now and then first more than its
total, which is refused) or reject it; some complaints staff leave alone until they
escalate, and then a manager decides (staff who try get 403); the customer answers, or
stays silent until the complaint closes itself, or withdraws; Payments staff settle,
decline or hold (slow) each refund attempt the Payments service holds, by a plan drawn
from the seed (``Till``), so attempts are retried, two attempts of one complaint are held
at once, an older one is settled after a newer one was sent, and complaints give up.
The profile (tests/chaos/profiles.py) sets how likely each part is. Every request goes
through the ``Caller`` (faults, retries with the same Idempotency-Key).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from tests.chaos.actors import Caller, Staff
from tests.chaos.checker import _state
from tests.chaos.history import Request
from tests.chaos.profiles import DEFAULT, Profile

FINAL = ("refunded", "refundFailed", "rejected", "withdrawn", "closed")
MANAGER = "manager-1"


def complaint_plan(seed: int, n: int, profile: Profile = DEFAULT) -> dict[str, Any] | None:
    """What happens to order ``n``'s complaint, if it gets one (``profile``: how likely
    each part is)."""
    rng = random.Random(f"{seed}:complaint:{n}")
    if rng.random() >= profile.complaint_share:
        return None
    names, weights = zip(*profile.decisions, strict=True)
    decision = rng.choices(names, weights=weights)[0]
    if profile.alternate_full_and_partial:
        decision = "partial" if n % 2 == 0 else "full"
    return {
        "decision": decision,
        "share": rng.uniform(0.1, 0.9),  # of the order's total, for a partial refund
        "claim": rng.random() < 0.7,
        "ask": rng.random() < profile.ask,
        "silent": rng.random() < profile.silent,  # asked, never answers: closes after 7 days
        "withdraw": rng.random() < profile.withdraw,
        "escalate": rng.random() < profile.escalate,  # staff leave it: a manager decides
        "too_much": rng.random() < profile.too_much,  # first more than the total: refused
        "race": rng.random() < profile.race,  # two staff decide at once, differently
        "late_staff": rng.random() < profile.late_staff,  # staff try after the escalation
        # the bank declines every attempt: the complaint gives up (money: every 4th order)
        "bank_down": rng.random() < profile.bank_down
        or (profile.alternate_full_and_partial and n % 4 == 1),
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
            if chaos and plan.get("late_staff"):  # staff try anyway: only a manager may now
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


class Till:
    """What Payments staff share: when each attempt was first seen held, and the
    complaints seen with two attempts or more held at once."""

    def __init__(self, seed: int, profile: Profile, history: Any) -> None:
        self.seed = seed
        self.profile = profile
        self.history = history
        self.first_seen: dict[str, float] = {}
        self.doubles: set[str] = set()  # complaints: 2+ attempts listed together
        self.lock = threading.Lock()

    def plan(self, refund_id: str) -> str:
        """What staff do with this attempt (seeded by its order's number and the attempt):
        settle, decline, or slow; a slow one is, once its wait is over, ``slow-settle``
        or ``slow-decline``. Every attempt of a complaint whose plan says the bank is
        down is declined."""
        complaint, _, attempt = refund_id.rpartition(".")
        fate = self.history.fates.get(complaint) or {}
        if (fate.get("complaint") or {}).get("bank_down"):
            return "decline"
        rng = random.Random(f"{self.seed}:refund:{fate.get('n', complaint)}:{attempt}")
        names, weights = zip(*self.profile.payments, strict=True)
        plan = rng.choices(names, weights=weights)[0]
        if plan == "slow":
            return "slow-settle" if rng.random() < self.profile.slow_settles else "slow-decline"
        return plan

    def seen(self, refunds: list[dict[str, Any]]) -> None:
        now = time.time()
        by_complaint: dict[str, int] = {}
        with self.lock:
            for w in refunds:
                self.first_seen.setdefault(w["refundId"], now)
                by_complaint[w["complaintId"]] = by_complaint.get(w["complaintId"], 0) + 1
            self.doubles |= {c for c, n in by_complaint.items() if n > 1}


class PaymentsStaff(Staff):
    """Payments staff working the refunds the Payments service holds: each attempt by its
    plan (``Till.plan``): settled or declined at once, or held (slow) until a later
    attempt of its complaint is held too (then the older is settled: a late settle) or
    the profile's ``slow_seconds`` have passed."""

    def __init__(
        self, caller: Caller, rng: random.Random, stop: threading.Event, till: Till
    ) -> None:
        super().__init__(caller, "payments", rng, stop)
        self.till = till

    def listing(self, token: str) -> list[dict[str, Any]]:
        seen = self.caller.stack.http("GET", "/payments/refunds", token)
        if seen.status != 200:
            return []
        refunds = seen.body["refunds"]
        self.till.seen(refunds)
        return refunds

    def held(self, token: str) -> list[str]:
        return [w["refundId"] for w in self.listing(token)]

    def step(self, token: str) -> None:
        refunds = self.listing(token)
        now, till = time.time(), self.till
        attempts: dict[str, list[int]] = {}
        for w in refunds:
            attempts.setdefault(w["complaintId"], []).append(int(w["attempt"]))
        due = []
        for w in refunds:
            plan = till.plan(w["refundId"])
            if plan.startswith("slow"):
                newer = max(attempts[w["complaintId"]]) > int(w["attempt"])
                waited = now - till.first_seen.get(w["refundId"], now)
                if not newer and waited < till.profile.slow_seconds:
                    continue  # held: the complaint's retry timer may run meanwhile
            due.append(w["refundId"])
        if not due:
            time.sleep(self.rng.uniform(0.1, 0.3))
            return
        self.finish(self.rng.choice(due), token, self.rng)

    def finish(self, refund_id: str, token: str, rng: random.Random) -> None:
        """Settle or decline the attempt, as its plan says (a slow one: as it says once
        its wait is over)."""
        settle = self.till.plan(refund_id) in ("settle", "slow-settle")
        path = f"/payments/refunds/{refund_id}/settled"
        if not settle:
            path = f"/stations/payments/work/{refund_id}/rejected"
        body = {} if settle else {"reason": "the bank declined it (chaos Payments staff)"}
        request = Request(
            refund_id.rsplit(".", 1)[0],
            "payments-staff",
            "FINISH" if settle else "DECLINE",
            "POST",
            path,
            body,
            None,
        )
        self.caller.send(request, token, rng, may_time_out=False)
