"""The checker: every rule over the complete history of a run, read through the API
(order views, histories, station lists), the table (outbox attributes, the pending
index), every queue and DLQ, and the harness's own logs (requests and their attempts,
commands handed to stations, messages SNS accepted, faults injected)."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.chaos.family import Family
from tests.chaos.faults import COMMANDS, FaultInjector
from tests.chaos.history import History, Request
from tests.chaos.stack import QUEUES, Stack

STATION_OF = {
    "MAKE_PIZZA": "kitchen",
    "CANCEL_PIZZA": "kitchen",
    "DELIVER_PIZZA": "delivery",
    "CANCEL_DELIVERY": "delivery",
    "REFUND": "payments",
    "CANCEL_REFUNDS": "payments",
    "BAKE_PIZZA": "oven",
    "CANCEL_BAKES": "oven",
}
CANCEL_OF = {"MAKE_PIZZA": "CANCEL_PIZZA", "DELIVER_PIZZA": "CANCEL_DELIVERY"}
CLIENT_KINDS = {"PLACE", "ADD_PIZZA", "REMOVE_PIZZA", "CONFIRM_PIZZA", "CANCEL_ORDER"}
COMPLAINT_KINDS = {
    "OPEN_COMPLAINT",
    "ANSWER_COMPLAINT",
    "WITHDRAW_COMPLAINT",
    "CLAIM_COMPLAINT",
    "ASK_CUSTOMER",
    "DECIDE_COMPLAINT",
}
COMPLAINT_FINAL = {"refunded", "refundFailed", "rejected", "withdrawn", "closed"}
_VERSION = re.compile(r"\.v(\d+)\.(\d+)$")
LEDGER = "station#payments!settled#"  # chalicelib/stations/payments.py


@dataclass(slots=True)
class Violation:
    order: str | None
    rule: str
    evidence: str


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _state(value: Any) -> str:
    if isinstance(value, str):
        return value
    return ".".join(f"{k}.{_state(v)}" if v else k for k, v in value.items())


class Checker:
    """Reads everything once, then applies each rule; ``violations`` lists what failed."""

    def __init__(self, stack: Stack, history: History, injector: FaultInjector) -> None:
        self.stack = stack
        self.history = history
        self.injector = injector
        self.violations: list[Violation] = []
        self.family = Family(self)  # parents and children, read in ``check``
        self.deploy = history.deploys[0] if history.deploys else None
        self.views: dict[str, dict[str, Any]] = {}
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.in_flight: Counter[str] = Counter()  # "order v1" -> the counters' sum
        self.complaint_items: dict[str, dict[str, Any]] = {}
        self.complaints: dict[str, dict[str, Any]] = {}  # order id -> its complaint's view
        self.complaint_histories: dict[str, list[dict[str, Any]]] = {}
        # Payments' ledger, the ground truth of money: complaint -> the refund id it paid,
        # or "!cancelled" (the complaint gave up first); absent: nothing settled
        self.ledger: dict[str, str] = {}

    def flag(self, order: str | None, rule: str, evidence: str) -> None:
        self.violations.append(Violation(order, rule, evidence))

    # reading -------------------------------------------------------------------
    def read(self) -> None:
        ddb, table = self.stack.ddb, "tropical-pizzas"
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = ddb.scan(**kwargs)
            for item in page.get("Items", []):
                pk, sk = item["pk"]["S"], item["sk"]["S"]
                if sk == "instance" and pk.startswith("order#"):
                    self.items[pk.partition("#")[2]] = item
                elif sk == "instance" and pk.startswith("complaint#"):
                    self.complaint_items[pk.partition("#")[2]] = item
                elif pk.startswith(LEDGER) and "why" in item:
                    self.ledger[pk.removeprefix(LEDGER)] = item["why"]["S"]
                elif pk.startswith("inflight#"):
                    workflow = pk.split("#")[1]
                    self.in_flight[f"{workflow} {sk}"] += int(item.get("n", {}).get("N", "0"))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        token = self.stack.staff_token
        asked = {r.order for r in self.history.requests if r.order and r.who != "oven-staff"}
        for order in sorted(set(self.items) | asked):
            view = self.stack.http("GET", f"/orders/{order}", token)
            hist = self.stack.http("GET", f"/orders/{order}/history", token)
            if view.status != 200 or hist.status != 200:
                self.flag(order, "order readable", f"GET answered {view.status}/{hist.status}")
                continue
            self.views[order] = view.body
            self.histories[order] = hist.body["transitions"]
        opened = {r.order for r in self.history.requests if r.kind == "OPEN_COMPLAINT" and r.ok}
        for order in sorted(set(self.complaint_items) | opened):
            view = self.stack.http("GET", f"/orders/{order}/complaint", token)
            hist = self.stack.http("GET", f"/orders/{order}/complaint/history", token)
            if view.status != 200 or hist.status != 200:
                self.flag(order, "complaint readable", f"GET answered {view.status}/{hist.status}")
                continue
            self.complaints[order] = view.body
            self.complaint_histories[order] = hist.body["transitions"]

    # rules ---------------------------------------------------------------------
    def check(self) -> list[Violation]:
        self.read()
        for order in self.views:
            self.terminal(order)
            self.contiguous(order)
            self.commands_delivered(order)
            self.commands_committed(order)
            self.definitions(order)
            self.quality(order)
        for order in self.complaints:
            self.complaint_ends(order)
            self.contiguous(order, "complaint")
            self.commands_committed(order, "complaint")
            self.refunds(order)
            self.money(order)
            self.escalations(order)
            self.order_shows_complaint(order)
        self.family = Family(self).read()
        for pk in self.family.children:
            child = pk.partition("#")[2]
            self.contiguous(child, pk.partition("#")[0])
            self.commands_committed(child, pk.partition("#")[0])
        self.family.check()
        self.counters()
        self.published_handled()
        self.twins()
        self.publish_order()
        self.stations()
        self.requests()
        self.outboxes()
        self.queues()
        for error in self.history.harness_errors:
            self.flag(None, "harness error", error)
        return self.violations

    def terminal(self, order: str) -> None:
        view = self.views[order]
        state, status = _state(view["state"]), view.get("status") or ""
        if state not in ("done", "cancelled"):
            self.flag(order, "ends done or cancelled", f"state {state}, status {status!r}")
        elif state == "cancelled" and not re.match(r"^Order cancelled: .+\.$", status):
            self.flag(order, "cancelled with a reason", f"status {status!r}")

    def contiguous(self, order: str, workflow: str = "order") -> None:
        if workflow == "order":
            hist, view = self.histories[order], self.views[order]
        elif workflow == "complaint":
            hist, view = self.complaint_histories[order], self.complaints[order]
        else:  # a child: its stored version
            hist = self.family.histories[f"{workflow}#{order}"]
            view = {"version": self.family.children[f"{workflow}#{order}"].version}
        versions = [h["version"] for h in hist]
        if versions != list(range(1, len(hist) + 1)) or view["version"] != len(hist):
            self.flag(
                order,
                "history versions contiguous",
                f"versions {versions}, order at v{view['version']}",
            )
        ids = Counter(h["eventId"] for h in hist)
        twice = sorted(i for i, n in ids.items() if n > 1)
        if twice:
            self.flag(order, "each event id once", f"applied more than once: {twice}")

    def commands_delivered(self, order: str) -> None:
        """Every command whose send completed (the invoke's done event committed) reached
        its station and was handled there."""
        published = {p.id: p for p in self.injector.published}
        handled = {(d.id, d.station) for d in self.history.deliveries if d.ok}
        for h in self.histories[order]:
            if not (
                h["eventType"].startswith("xstate.done.actor.") and h["eventId"].endswith(".done")
            ):
                continue
            message_id = h["eventId"][: -len(".done")]
            sent = published.get(message_id)
            if sent is None:
                self.flag(
                    order,
                    "command published before its send completed",
                    f"{h['eventType']} v{h['version']} but SNS never took {message_id}",
                )
                continue
            station = STATION_OF.get(sent.type)
            if station and (message_id, station) not in handled:
                self.flag(
                    order,
                    "committed command delivered",
                    f"{sent.type} {message_id} (v{h['version']}) never handled by {station}",
                )

    def commands_committed(self, order: str, workflow: str = "order") -> None:
        """Each command a commit holds went out (at least once: a station drops the
        copies), unless its invoke ended before it was sent (cancelled by a later commit,
        or failed after its publishes failed); nothing went out that no commit holds."""
        if workflow in ("order", "complaint"):
            hist = (self.histories if workflow == "order" else self.complaint_histories)[order]
        else:
            hist = self.family.histories[f"{workflow}#{order}"]
        published = Counter(
            p.id
            for p in self.injector.published
            if p.subject == order and p.type in COMMANDS and p.id.startswith(f"{workflow}.")
        )
        committed = set()
        for record in hist:
            for index, effect in enumerate(record.get("effects") or []):
                kind, _, invoke = effect.partition(":")
                if kind != "invoke":
                    continue
                message_id = f"{workflow}.{order}.v{record['version']}.{index}"
                committed.add(message_id)
                if published[message_id] or self._ended_unsent(hist, record, invoke, message_id):
                    continue
                self.flag(
                    order,
                    "a committed command is published or cancelled",
                    f"invoke {invoke} committed at v{record['version']} ({message_id}): "
                    "never published, never cancelled",
                )
        for message_id in sorted(set(published) - committed):
            self.flag(
                order,
                "a published command was committed",
                f"{message_id} went out {published[message_id]} times; no commit holds it",
            )

    @staticmethod
    def _ended_unsent(
        hist: list[dict[str, Any]], record: dict[str, Any], invoke: str, message_id: str
    ) -> bool:
        """The invoke started by ``record`` ended without its command: the first later
        commit that stops it is not its completion (a cancel, or its give-up)."""
        for later in hist:
            if later["version"] <= record["version"]:
                continue
            if later["eventType"] == f"xstate.error.actor.{invoke}":
                return later["eventId"].startswith(message_id)
            if f"cancel_invoke:{invoke}" in (later.get("effects") or []):
                return later["eventId"] != f"{message_id}.done"
        return False

    def definitions(self, order: str) -> None:
        """Each order runs on a legal sequence of chart versions: version 1 until the
        deploy; orders placed after it start on version 2; a pinned order never moves; a
        migrated one moves from 1 to 2 once, at a commit its history records as the
        migration, and never back. The stored instance names its last version."""
        hist, deploy = self.histories[order], self.deploy
        numbers = [h.get("definition") for h in hist]
        v3 = bool(self.history.fates.get(order, {}).get("v3"))
        if numbers and (v3 or 3 in numbers):  # pizzas as children: 3 from start to end
            if not v3 or set(numbers) != {3}:
                self.flag(order, "a version 3 order is placed on 3 and stays there",
                          f"planned on {'3' if v3 else '1'}, versions {numbers}")  # fmt: skip
            stored = self.items.get(order, {}).get("definition", {}).get("N")
            if stored is None or int(stored) != numbers[-1]:
                why = f"instance on {stored}, last history record on {numbers[-1]}"
                self.flag(order, "an instance records its version", why)
            return
        if not hist:
            return
        stored = self.items.get(order, {}).get("definition", {}).get("N")
        if stored is None or int(stored) != numbers[-1]:
            self.flag(
                order,
                "an instance records its version",
                f"instance on {stored}, last history record on {numbers[-1]}",
            )
        if deploy is None:
            if set(numbers) != {1}:
                self.flag(order, "one version without a deploy", f"versions {numbers}")
            return
        for h in hist:
            if h.get("definition") != 1 and _epoch(h["time"]) < deploy.at - 0.002:
                self.flag(
                    order,
                    "no version 2 before the deploy",
                    f"v{h['version']} on version {h.get('definition')} at {h['time']}, "
                    f"{deploy.at - _epoch(h['time']):.3f} s before the deploy",
                )
        if numbers[0] not in (1, 2) or any(n not in (1, 2) for n in numbers):
            self.flag(order, "only declared versions", f"versions {numbers}")
            return
        placed = [r for r in self.history.requests if r.kind == "PLACE" and r.order == order]
        after = placed[0].attempts[0].start - deploy.live if placed and placed[0].attempts else 0
        if after > 0 and numbers[0] != 2:
            self.flag(
                order,
                "orders placed after the deploy start on version 2",
                f"placed {after:.3f} s after the deploy, started on version {numbers[0]}",
            )
        for before, h in itertools.pairwise(hist):
            moved = h["definition"] != before["definition"]
            origin = h.get("migratedFrom")
            if not moved and origin is None:
                continue
            where = f"v{h['version']} {before['definition']} -> {h['definition']}"
            if not deploy.migrate:
                self.flag(order, "a pinned order stays on its version", where)
            elif (before["definition"], h["definition"], origin) != (1, 2, 1):
                self.flag(
                    order,
                    "a move is one recorded migration from 1 to 2",
                    f"{where}, migratedFrom {origin}",
                )
        if hist[0].get("migratedFrom") is not None:
            self.flag(
                order,
                "a move is one recorded migration from 1 to 2",
                f"v1 records migratedFrom {hist[0]['migratedFrom']}",
            )

    def quality(self, order: str) -> None:
        """QUALITY_APPROVED is applied at most once, only to a version 2 order waiting in
        its quality check; no version 1 commit enters the check."""
        hist = self.histories[order]
        approvals = [h for h in hist if h["eventType"] == "QUALITY_APPROVED"]
        if len(approvals) > 1:
            self.flag(
                order,
                "a quality check is approved once",
                f"QUALITY_APPROVED applied at {[h['version'] for h in approvals]}",
            )
        for h in approvals:
            if h.get("definition") != 2 or h.get("from") != "qualityCheck":
                self.flag(
                    order,
                    "an approval applies only to a quality check",
                    f"v{h['version']} on version {h.get('definition')} from {h.get('from')}",
                )
        for h in hist:
            if h.get("definition") == 1 and h.get("to") == "qualityCheck":
                self.flag(order, "version 1 has no quality check", f"v{h['version']}")

    # complaints -------------------------------------------------------------------
    def complaint_ends(self, order: str) -> None:
        view = self.complaints[order]
        state = _state(view["state"])
        if state not in COMPLAINT_FINAL or not view.get("done"):
            self.flag(
                order,
                "a complaint ends in a final state",
                f"complaint is {state} ({view.get('status')!r})",
            )

    def refunds(self, order: str) -> None:
        """A REFUND is requested only after an approval, for the approved amount, never
        more than the order's total (from its items); one refund succeeds at most, and a
        complaint is refunded exactly when one did."""
        from chalicelib.orders.menu import order_total_cents

        view, hist = self.complaints[order], self.complaint_histories[order]
        total = order_total_cents(self.views.get(order, {}).get("items", []))
        if view.get("orderTotal") != total:
            self.flag(
                order,
                "a complaint knows its order's total",
                f"complaint says {view.get('orderTotal')}, the order's items {total}",
            )
        approvals = [h["version"] for h in hist if h["eventType"] == "APPROVE"]
        decision = view.get("decision") or {}
        for p in self.injector.published:
            if p.type != "REFUND" or p.subject != order:
                continue
            m = _VERSION.search(p.id)
            committed_at = int(m[1]) if m else 0
            amount = (p.data or {}).get("amount")
            if not any(v <= committed_at for v in approvals):  # the approval sends it
                self.flag(
                    order,
                    "a refund only after an approval",
                    f"REFUND {p.id} (v{committed_at}); approvals at {approvals}",
                )
            if not isinstance(amount, int) or not 0 < amount <= total:
                self.flag(
                    order,
                    "a refund never exceeds the order's total",
                    f"REFUND {p.id} for {amount} cents; the order's total is {total}",
                )
            elif amount != decision.get("amount"):
                self.flag(
                    order,
                    "a refund is for the approved amount",
                    f"REFUND {p.id} for {amount}; approved {decision.get('amount')}",
                )
        succeeded = [h for h in hist if h["eventType"] == "REFUND_SUCCEEDED"]
        if len(succeeded) > 1:
            self.flag(
                order,
                "a refund succeeds once",
                f"REFUND_SUCCEEDED applied at {[h['version'] for h in succeeded]}",
            )
        paid = {
            (p.data or {}).get("refundId")
            for p in self.injector.published
            if p.type == "REFUND_SUCCEEDED" and p.subject == order
        }
        if len(paid) > 1:
            self.flag(
                order,
                "a refund succeeds once",
                f"Payments paid {len(paid)} refunds for one complaint: {sorted(paid)}",
            )

    def money(self, order: str) -> None:
        """Payments' ledger is the ground truth: a complaint is ``refunded`` exactly when
        Payments paid (and names that refund), ``refundFailed`` only once Payments
        cancelled it, and nothing is paid without an approval or over the approved amount
        (the amount of the REFUND command Payments paid)."""
        from chalicelib.orders.menu import order_total_cents

        view, hist = self.complaints[order], self.complaint_histories[order]
        state, settled = _state(view["state"]), self.ledger.get(order)
        paid = settled if settled and not settled.startswith("!") else None
        if (state == "refunded") != (paid is not None):
            self.flag(
                order,
                "a complaint is refunded exactly when Payments paid",
                f"complaint {state}; Payments' ledger: {settled!r}",
            )
        if state == "refundFailed" and settled != "!cancelled":
            self.flag(
                order,
                "refundFailed only once Payments cancelled its refunds",
                f"Payments' ledger: {settled!r}",
            )
        if paid is None:
            return
        if state == "refunded" and (view.get("refund") or {}).get("refundId") != paid:
            self.flag(
                order,
                "a complaint names the refund Payments paid",
                f"complaint names {(view.get('refund') or {}).get('refundId')!r}, paid {paid!r}",
            )
        if not any(h["eventType"] == "APPROVE" for h in hist):
            self.flag(order, "never paid without an approval", f"Payments paid {paid!r}")
        commands = [
            (p.data or {}).get("amount")
            for p in self.injector.published
            if p.type == "REFUND" and (p.data or {}).get("refundId") == paid
        ]
        amount = commands[-1] if commands else None
        approved = (view.get("decision") or {}).get("amount")
        total = order_total_cents(self.views.get(order, {}).get("items", []))
        if not isinstance(amount, int) or not isinstance(approved, int) or amount > approved:
            self.flag(
                order,
                "never paid over the approved amount",
                f"Payments paid {paid!r} for {amount} cents; approved {approved}",
            )
        elif amount > total:
            self.flag(order, "never paid over the order's total", f"paid {amount}, total {total}")

    def escalations(self, order: str) -> None:
        """Once escalated, only a manager decides; a complaint is decided at most once."""
        hist = self.complaint_histories[order]
        decided = [h for h in hist if h["eventType"] in ("APPROVE", "REJECT")]
        if len(decided) > 1:
            self.flag(
                order,
                "a complaint is decided once",
                f"decisions at {[h['version'] for h in decided]}",
            )
        escalated = next((h["version"] for h in hist if "escalated" in str(h.get("to"))), None)
        for h in decided:
            event = h.get("event") or {}
            role = event.get("role") if isinstance(event, dict) else None
            if escalated is not None and h["version"] > escalated and role != "manager":
                self.flag(
                    order,
                    "an escalated complaint is decided by a manager",
                    f"{h['eventType']} at v{h['version']} by {role} after the "
                    f"escalation at v{escalated}",
                )
        decision = self.complaints[order].get("decision") or {}
        if escalated is not None and decision and decision.get("role") != "manager":
            self.flag(
                order,
                "an escalated complaint is decided by a manager",
                f"the complaint's decision is by {decision.get('role')}",
            )

    def order_shows_complaint(self, order: str) -> None:
        view, complaint = self.views.get(order, {}), self.complaints[order]
        shown = view.get("complaint") or {}
        want = {k: complaint[k] for k in ("state", "status", "version")}
        if {k: shown.get(k) for k in want} != want:
            self.flag(
                order,
                "the order shows its complaint's final state",
                f"order shows {shown}, the complaint is {want}",
            )

    def decisions(self, order: str, requests: list[Request]) -> None:
        """A decision answered 2xx is the complaint's decision; two different ones are
        never both accepted; a refused one (4xx) changed nothing."""
        accepted = {
            json.dumps(r.body, sort_keys=True)
            for r in requests
            if any(a.status is not None and 200 <= a.status < 300 for a in r.attempts)
        }
        if len(accepted) > 1:
            self.flag(order, "one decision is accepted", f"2xx for {sorted(accepted)}")
        decision = (self.complaints.get(order) or {}).get("decision") or {}
        for body in map(json.loads, accepted):
            if body.get("decision") != decision.get("decision") or (
                "amount" in body and body["amount"] != decision.get("amount")
            ):
                self.flag(
                    order,
                    "a 2xx decision is the complaint's decision",
                    f"answered 2xx for {body}; the complaint holds {decision}",
                )

    def counters(self) -> None:
        """Every order ended, so no version counts an instance in flight."""
        left = {k: n for k, n in self.in_flight.items() if n}
        if left:
            self.flag(None, "in-flight counters back to 0", f"counters left: {left}")

    def published_handled(self) -> None:
        """Every command SNS took reached its station's queue and was handled there."""
        handled = {(d.id, d.station) for d in self.history.deliveries if d.ok}
        for p in self.injector.published:
            station = STATION_OF.get(p.type)
            if station and (p.id, station) not in handled:
                self.flag(
                    p.subject,
                    "published command handled",
                    f"{p.type} {p.id} published by {p.scope}, never handled by {station}",
                )

    def publish_order(self) -> None:
        """Commands go out in commit order, and never after the cancel of their invoke."""
        per_instance: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for p in self.injector.published:
            if p.type in COMMANDS and p.subject:  # an order and its complaint share an id
                per_instance[(p.subject, p.id.partition(".")[0])].append(p)
        for (order, _), sent in per_instance.items():
            sent.sort(key=lambda p: p.at)
            first: dict[str, Any] = {}
            for p in sent:
                first.setdefault(p.id, p)
            # G6's stated limit: a command of an invoke cancelled meanwhile, sent late by a
            # publisher that loaded the outbox before the cancel committed (its station's
            # tombstone makes it change nothing) is not held to the commit order
            stale = {p.id for p in first.values() if self._stale_command(p, sent)}
            versions = []
            for p in first.values():
                if p.id in stale:
                    continue
                m = _VERSION.search(p.id)
                if m:
                    versions.append(((int(m[1]), int(m[2])), p))
            for (a, pa), (b, pb) in itertools.pairwise(versions):
                if b < a:
                    self.flag(
                        order,
                        "commands published in commit order",
                        f"{pb.type} {pb.id} first published after {pa.type} {pa.id}",
                    )
            for command, cancel in CANCEL_OF.items():
                cancels = [p for p in sent if p.type == cancel]
                if not cancels:
                    continue
                cancelled = min(c.at for c in cancels)
                by_canceller = {c.invocation for c in cancels}
                for p in sent:
                    if p.type != command:
                        continue
                    if p.invocation in by_canceller:
                        why = "by the invocation that committed its cancel"
                    elif p.scope_started > cancelled:
                        why = f"by {p.scope}, which began after {cancel} was sent"
                    else:
                        continue  # a publisher that loaded before the cancel: stations guard
                    self.flag(
                        order,
                        "no command for an invoke no longer active",
                        f"{p.type} {p.id} published {why}",
                    )

    @staticmethod
    def _stale_command(p: Any, sent: list[Any]) -> bool:
        cancels = [c for c in sent if c.type == CANCEL_OF.get(p.type)]
        if not cancels:
            return False
        cancelled = min(c.at for c in cancels)
        by_canceller = {c.invocation for c in cancels}
        return (
            p.at > cancelled and p.invocation not in by_canceller and p.scope_started <= cancelled
        )

    def stations(self) -> None:
        """No station finishes an order twice, works on it after its cancel, or holds
        an order at the end (every order has ended)."""
        finishes: dict[tuple[str, str], list[Request]] = defaultdict(list)
        for r in self.history.requests:
            if r.kind == "FINISH" and r.ok:
                finishes[(r.who.split("-")[0], r.order or "")].append(r)
        cancelled_at: dict[tuple[str, str], float] = {}
        for d in self.history.deliveries:
            if d.ok and d.type.startswith("CANCEL_") and d.order:
                key = (d.station, d.order)
                cancelled_at[key] = min(cancelled_at.get(key, d.at), d.at)
        for (station, order), done in finishes.items():
            work = {
                (a.body.get("commandId"), a.body.get("receivedAt"))
                for r in done
                for a in r.attempts
                if a.status == 200 and isinstance(a.body, dict)
            }
            if len(work) > 1:
                self.flag(
                    order,
                    "no station does an order's work twice",
                    f"{station} staff finished {len(work)} work items: {sorted(work)}",
                )
            elif len(done) > 1:
                self.history.count("finishes answered 2xx more than once (one work item)")
            cancel = cancelled_at.get((station, order))
            after = [
                a
                for r in done
                for a in r.attempts
                if a.status == 200 and cancel and a.start > cancel
            ]
            if after:
                self.flag(
                    order,
                    "no work after the cancel",
                    f"{station} staff finished the order after its cancel was handled",
                )
        token = self.stack.staff_token
        for station, path, field in (
            ("kitchen", "/kitchen/orders", "orders"),
            ("delivery", "/delivery/orders", "orders"),
            ("payments", "/payments/refunds", "refunds"),
            ("oven", "/stations/oven/work", "work"),
        ):
            listing = self.stack.http("GET", path, token)
            for work in listing.body.get(field, []) if listing.status == 200 else []:
                order = work["orderId"]
                state = _state(self.views.get(order, {}).get("state", "?"))
                received = [
                    (d.type, d.id, "copy" if d.copy else "original")
                    for d in self.history.deliveries
                    if d.order == order and d.station == station
                ]
                self.flag(
                    order,
                    "no station holds an ended order",
                    f"{station} still holds it; order is {state}; commands handled: {received}",
                )

    def requests(self) -> None:
        by_order: dict[str, list[Request]] = defaultdict(list)
        for r in self.history.requests:
            if r.order and r.kind not in ("FINISH", "DECLINE"):
                by_order[r.order].append(r)
        for order, requests in by_order.items():
            view, hist = self.views.get(order), self.histories.get(order, [])
            if view is None:
                continue
            complaint_commits = {h["eventId"]: h for h in self.complaint_histories.get(order, [])}
            for r in [r for r in requests if r.kind in COMPLAINT_KINDS]:
                self.same_answer(order, r)
                self.no_false_failure(order, r, complaint_commits)
            self.decisions(order, [r for r in requests if r.kind == "DECIDE_COMPLAINT"])
            requests = [r for r in requests if r.kind not in COMPLAINT_KINDS]
            names = Counter(i["name"] for i in view["items"])
            removed = {r.removes for r in requests if r.kind == "REMOVE_PIZZA" and r.ok}
            commits = {h["eventId"]: h for h in hist}
            for r in requests:
                self.same_answer(order, r)
                self.no_false_failure(order, r, commits)
                if r.pizza is None:
                    continue
                count = names.get(r.pizza, 0)
                if r.kind == "ADD_PIZZA_REUSED_KEY":
                    if r.ok and count != 1:
                        self.flag(
                            order,
                            "a 2xx is reflected",
                            f"a different request reusing key {r.key} answered 2xx; "
                            f"its pizza {r.pizza} is in the order {count} times",
                        )
                    continue
                if r.pizza in removed:
                    if count:
                        self.flag(
                            order,
                            "a 2xx is reflected",
                            f"{r.pizza} was removed with a 2xx but is in the order {count} times",
                        )
                elif r.ok and count != 1:
                    self.flag(
                        order,
                        "a 2xx is reflected once",
                        f"{r.kind} {r.pizza} answered 2xx; in the order {count} times",
                    )
                elif count > 1:
                    self.flag(
                        order,
                        "a request is applied at most once",
                        f"{r.kind} {r.pizza} is in the order {count} times",
                    )
            if hist and view:
                self.confirmed_once(order, hist)

    def confirmed_once(self, order: str, hist: list[dict[str, Any]]) -> None:
        confirms = [h for h in hist if h["eventType"] == "CONFIRM_PIZZA"]
        if len(confirms) > 1:
            self.flag(
                order,
                "a request is applied at most once",
                f"CONFIRM_PIZZA committed {len(confirms)} times",
            )

    def same_answer(self, order: str, r: Request) -> None:
        """A retry with the same key gets the first answer, status and body."""
        if r.kind not in CLIENT_KINDS | COMPLAINT_KINDS or not r.key:
            return
        first = next(
            (a for a in r.attempts if a.status is not None and 200 <= a.status < 300), None
        )
        if first is None:
            return
        for a in r.attempts[r.attempts.index(first) + 1 :]:
            if a.status is None or a.status >= 500:
                continue  # storage down before the key could be looked up: retry later
            if a.status == first.status and a.body == first.body:
                continue
            was, now = first.body or {}, a.body if isinstance(a.body, dict) else {}
            self.flag(
                order,
                "a retry gets the first answer",
                f"{r.kind} key {r.key}: first {first.status} v{was.get('version')} "
                f"{_state(was.get('state', '?'))}, retry {a.status} v{now.get('version')} "
                f"{_state(now.get('state', '?'))}",
            )
            return

    def _keyed_commits(self) -> dict[str, float]:
        """When each keyed client request committed: the runtime's event id -> time."""
        return {
            h["eventId"]: _epoch(h["time"])
            for hist in [*self.histories.values(), *self.complaint_histories.values()]
            for h in hist
            if str(h.get("eventId", "")).startswith("client.")
        }

    def twins(self) -> None:
        """Once a keyed request committed, every answer given for its key after that (by
        a twin sent at once, or a retry) is the first answer, unless it is a 5xx or a
        409 Conflict (both retried by clients). 50 ms of slack: a refusal decided and its
        key looked up again just before the commit may be answered just after it."""
        commits = self._keyed_commits()
        groups: dict[tuple[str, str, str], list[Request]] = defaultdict(list)
        for r in self.history.requests:
            if r.key and r.kind in CLIENT_KINDS | COMPLAINT_KINDS:
                groups[(r.who, r.key, r.path)].append(r)
        for (who, key, _), requests in groups.items():
            committed = commits.get(f"client.{who}/{key}")
            answers = [
                a
                for r in requests
                for a in r.attempts
                if a.status is not None and a.status < 500 and not a.discarded
                and not (isinstance(a.body, dict) and a.body.get("error") == "Conflict")
            ]  # fmt: skip
            first = next((a for a in answers if 200 <= a.status < 300), None)
            if first is None or committed is None:
                continue
            for a in answers:
                if a.end > committed + 0.05 and (a.status, a.body) != (first.status, first.body):
                    body = a.body if isinstance(a.body, dict) else {}
                    self.flag(
                        requests[0].order,
                        "twins with one key get one answer",
                        f"{requests[0].kind} key {key}: {first.status} and, after its commit, "
                        f"{a.status} {body.get('error', '')} {str(body.get('message', ''))[:80]}",
                    )
                    break

    def no_false_failure(self, order: str, r: Request, commits: dict[str, dict[str, Any]]) -> None:
        """A 5xx says nothing was changed: its request must not have committed during it,
        unless the answer itself says the outcome is unknown ("may or may not")."""
        if r.kind not in CLIENT_KINDS | COMPLAINT_KINDS or not r.key:
            return
        commit = commits.get(f"client.{r.who}/{r.key}")  # the runtime's id of a keyed request
        if commit is None:
            return
        at = _epoch(commit["time"])
        twins = [
            t for t in self.history.requests
            if t is not r and (t.who, t.key, t.path) == (r.who, r.key, r.path)
        ]  # fmt: skip
        for a in r.attempts:
            if a.status is None or a.status < 500 or not (a.start - 0.002 <= at <= a.end):
                continue
            if any(t.start - 0.002 <= at <= t.end for twin in twins for t in twin.attempts):
                continue  # its twin (same key, sent at once) committed it meanwhile
            message = a.body.get("message", "") if isinstance(a.body, dict) else str(a.body)
            if "may or may not" in message:
                self.history.count("5xx saying the outcome is unknown")
                continue
            faults = [f"{f.kind}@{f.service}.{f.operation}" for f in a.faults]
            self.flag(
                order,
                "a 5xx changed nothing",
                f"{r.kind} key {r.key} answered {a.status} {a.body} but committed "
                f"v{commit['version']} during it; faults in that try: {faults}",
            )

    def outboxes(self) -> None:
        for order, item in [*self.items.items(), *self.complaint_items.items()]:
            left = sorted(k for k in item if k.startswith("ob_"))
            if left:
                self.flag(order, "outbox empty", f"{item['pk']['S']} still pending: {left}")
        pending = self.stack.ddb.scan(TableName="tropical-pizzas", IndexName="pending")
        for item in pending.get("Items", []):
            if item["pk"]["S"].startswith("station#"):
                continue  # a station's held work shares the index: checked as held work
            self.flag(
                item["pk"]["S"].partition("#")[2],
                "pending index empty",
                f"still in the pending index since {item.get('pendingSince', {}).get('S')}",
            )

    def queues(self) -> None:
        sqs, urls = self.stack.sqs, self.stack.made.queue_urls
        for queue in QUEUES:
            attrs = sqs.get_queue_attributes(QueueUrl=urls[queue], AttributeNames=["All"])[
                "Attributes"
            ]
            left = sum(
                int(attrs.get(k, 0))
                for k in (
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                )
            )
            if left:
                self.flag(None, "queues empty", f"{queue} still has {left} messages")
            dead = []
            while True:
                got = sqs.receive_message(
                    QueueUrl=urls[f"{queue}DLQ"], MaxNumberOfMessages=10, VisibilityTimeout=300
                ).get("Messages", [])
                if not got:
                    break
                dead += [m["Body"] for m in got]
            expected = Counter(p.body for p in self.history.poison if p.queue == queue)
            found = Counter(dead)
            for body, n in (found - expected).items():
                self.flag(
                    _order_in(body), "DLQ holds only poison", f"{queue}DLQ holds {n} x {body[:300]}"
                )
            for body in expected - found:
                self.flag(None, "poison ends in the DLQ", f"{queue}: {body!r} not in its DLQ")

    # reporting -----------------------------------------------------------------
    def dossier(self, order: str) -> str:
        """The order's complete history, as the harness and the system saw it."""
        lines = [f"order {order}: fate {self.history.fates.get(order)}"]
        view = self.views.get(order, {})
        lines.append(
            f"  final: {_state(view.get('state', '?'))} v{view.get('version')} "
            f"{view.get('status')!r} items {[i['name'] for i in view.get('items', [])]}"
        )
        for h in self.histories.get(order, []):
            lines.append(
                f"  v{h['version']} {h['time']} {h['eventType']} [{h['eventId']}] "
                f"{h.get('from')} -> {h.get('to')}"
            )
        for r in self.history.requests:
            if r.order == order:
                tries = [
                    f"{a.status}{'(discarded)' if a.discarded else ''}"
                    f"{[f.kind + '@' + f.operation for f in a.faults] or ''}"
                    for a in r.attempts
                ]
                lines.append(f"  request {r.kind} {r.method} {r.path} key={r.key}: {tries}")
        for p in self.injector.published:
            if p.subject == order:
                lines.append(f"  published {p.at:.3f} {p.type} {p.id} by {p.scope}")
        for d in self.history.deliveries:
            if d.order == order:
                lines.append(
                    f"  {d.station} handled {d.at:.3f} {d.type} {d.id} ok={d.ok} copy={d.copy}"
                )
        for f in self.injector.faults:
            if f.order == order:
                lines.append(f"  fault {f.at:.3f} {f.kind} {f.service}.{f.operation} in {f.scope}")
        return "\n".join(lines)


def _order_in(body: str) -> str | None:
    try:
        event = json.loads(body)
        return event.get("subject") or event.get("instance")
    except (ValueError, AttributeError):
        return None
