"""The checker's rules about a deploy fail when their guarantee is broken: each is fed a
history with one injected defect (and the same history without it passes)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.chaos.checker import Checker
from tests.chaos.faults import FaultInjector, Published, Rates
from tests.chaos.history import Attempt, Deploy, History, Request

ORDER = "o1"
DEPLOYED = 1_000_000.0


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def _record(version: int, event_type: str, definition: int, at: float, **extra) -> dict:
    return {
        "version": version,
        "eventType": event_type,
        "eventId": extra.pop("eventId", f"e{version}"),
        "time": _time(at),
        "definition": definition,
        "effects": extra.pop("effects", []),
        **extra,
    }


def _checker(hist: list[dict], migrate: bool | None = True, placed_at: float = 0.0) -> Checker:
    history = History()
    if migrate is not None:
        history.deploys.append(Deploy(DEPLOYED, DEPLOYED + 0.01, migrate, 5, {}))
    if placed_at:
        place = Request(ORDER, "c1", "PLACE", "POST", "/orders", {}, "k")
        place.attempts.append(Attempt(placed_at, placed_at + 0.1, 201, {}, []))
        history.requests.append(place)
    checker = Checker(None, history, FaultInjector(0, Rates.off()))  # type: ignore[arg-type]
    checker.histories[ORDER] = hist
    checker.items[ORDER] = {"definition": {"N": str(hist[-1]["definition"])}}
    return checker


def _rules(checker: Checker) -> set[str]:
    checker.definitions(ORDER)
    checker.quality(ORDER)
    checker.commands_committed(ORDER)
    checker.counters()
    return {v.rule for v in checker.violations}


def _migrated(moved_at: int = 3, recorded: bool = True) -> list[dict]:
    before, after = DEPLOYED - 10, DEPLOYED + 10
    hist = [_record(v, "E", 1, before + v) for v in range(1, moved_at)]
    hist += [
        _record(v, "E", 2, after + v, **({"migratedFrom": 1} if recorded and v == moved_at else {}))
        for v in range(moved_at, 6)
    ]
    return hist


def test_a_legal_migration_passes():
    assert _rules(_checker(_migrated())) == set()


@pytest.mark.parametrize(
    ("defect", "rule"),
    [
        ("pinned", "a pinned order stays on its version"),
        ("unrecorded", "a move is one recorded migration from 1 to 2"),
        ("back", "a move is one recorded migration from 1 to 2"),
        ("early", "no version 2 before the deploy"),
        ("stored", "an instance records its version"),
        ("new on v1", "orders placed after the deploy start on version 2"),
        ("no deploy", "one version without a deploy"),
    ],
)
def test_an_illegal_version_sequence_is_caught(defect, rule):
    hist, migrate, placed = _migrated(), True, 0.0
    if defect == "pinned":
        migrate = False
    elif defect == "unrecorded":
        hist = _migrated(recorded=False)
    elif defect == "back":
        hist.append(_record(6, "E", 1, DEPLOYED + 20))
    elif defect == "early":
        hist[2]["time"] = _time(DEPLOYED - 1)
    elif defect == "new on v1":
        placed = DEPLOYED + 1
    elif defect == "no deploy":
        migrate = None
    checker = _checker(hist, migrate, placed)
    if defect == "stored":
        checker.items[ORDER] = {"definition": {"N": "1"}}
    assert rule in _rules(checker)


def _quality(approvals: int, definition: int = 2) -> list[dict]:
    hist = [_record(1, "PIZZA_READY", definition, DEPLOYED + 1, to="qualityCheck")]
    hist += [
        _record(1 + i, "QUALITY_APPROVED", definition, DEPLOYED + 2 + i, **{"from": "qualityCheck"})
        for i in range(1, approvals + 1)
    ]
    return hist


def test_quality_rules():
    assert _rules(_checker(_quality(1))) == set()
    assert "a quality check is approved once" in _rules(_checker(_quality(2)))
    on_v1 = _rules(_checker(_quality(1, definition=1), migrate=True))
    assert {"an approval applies only to a quality check", "version 1 has no quality check"} <= (
        on_v1
    )


def _commands(published: list[str], cancelled: bool = False) -> Checker:
    hist = [
        _record(1, "CONFIRM_PIZZA", 1, 1.0, effects=["action:x", "invoke:kitchen"]),
        _record(2, "E", 1, 2.0, effects=["cancel_invoke:kitchen"] if cancelled else []),
    ]
    checker = _checker(hist, migrate=None)
    for message_id in published:
        checker.injector.published.append(
            Published(1.5, message_id, "MAKE_PIZZA", ORDER, "test", 1.0, 1)
        )
    return checker


def test_command_rules():
    assert _rules(_commands(["order.o1.v1.1"])) == set()
    assert _rules(_commands(["order.o1.v1.1", "order.o1.v1.1"])) == set()  # at least once
    assert _rules(_commands([], cancelled=True)) == set()
    assert "a committed command is published or cancelled" in _rules(_commands([]))
    extra = _rules(_commands(["order.o1.v1.1", "order.o1.v2.0"]))
    assert "a published command was committed" in extra


def test_counters_left_in_flight_are_caught():
    checker = _checker(_migrated())
    checker.in_flight["order v2"] = 1
    assert "in-flight counters back to 0" in _rules(checker)


def test_a_5xx_that_hides_a_commit_is_caught():
    """The commit is found by the event id the runtime gives a keyed client request."""
    checker = _checker([_record(1, "ADD_PIZZA", 1, 10.05, eventId="client.c1/k")], None)
    request = Request(ORDER, "c1", "ADD_PIZZA", "POST", "/orders/o1/pizzas", {}, "k")
    request.attempts.append(Attempt(10.0, 10.1, 503, {"message": "nothing was changed"}, []))
    request.attempts.append(Attempt(10.2, 10.3, 200, {}, []))
    checker.no_false_failure(ORDER, request, {h["eventId"]: h for h in checker.histories[ORDER]})
    assert [v.rule for v in checker.violations] == ["a 5xx changed nothing"]
    unknown = Request(ORDER, "c1", "ADD_PIZZA", "POST", "/orders/o1/pizzas", {}, "k")
    unknown.attempts.append(Attempt(10.0, 10.1, 503, {"message": "may or may not"}, []))
    checker.violations.clear()
    checker.no_false_failure(ORDER, unknown, {h["eventId"]: h for h in checker.histories[ORDER]})
    assert checker.violations == []


ITEMS = [{"name": "p", "size": "small", "toppings": ["kiwi"]}]  # 900 + 150 cents
TOTAL = 1050


def _complaint(state="refunded", decision=None, escalate=False, approve_at=2) -> Checker:
    """A complaint approved at ``approve_at`` and refunded (attempt 1 declined, attempt 2
    paid), as the checker reads it; the tests break one thing each."""
    decision = decision or {"decision": "approve", "amount": TOTAL, "role": "staff"}
    hist = [_record(1, "OPEN", 1, 1.0, to="handling")]
    if escalate:
        hist.append(_record(2, "xstate.after.escalateAfter", 1, 2.0, to="review.escalated"))
    hist.append(_record(approve_at + escalate, "APPROVE", 1, 3.0, event={"role": "staff"}))
    hist.append(_record(len(hist) + 1, "REFUND_SUCCEEDED", 1, 4.0, to="refunded"))
    for i, h in enumerate(hist, 1):
        h["version"] = i
    checker = _checker([_record(1, "PLACE", 1, 0.5)], None)
    checker.views[ORDER] = {
        "items": ITEMS,
        "complaint": {"state": "refunded", "status": "Refunded.", "version": len(hist)},
    }
    checker.complaints[ORDER] = {
        "state": state, "status": "Refunded.", "version": len(hist), "done": True,
        "orderTotal": TOTAL, "decision": decision, "refund": {"refundId": f"{ORDER}.2"},
    }  # fmt: skip
    checker.ledger[ORDER] = f"{ORDER}.2"  # Payments paid attempt 2
    checker.complaint_histories[ORDER] = hist
    approved = next(h["version"] for h in hist if h["eventType"] == "APPROVE")
    for attempt in (1, 2):
        checker.injector.published.append(
            Published(5.0, f"complaint.{ORDER}.v{approved}.0", "REFUND", ORDER, "t", 1.0, 1,
                      {"amount": decision.get("amount"), "refundId": f"{ORDER}.{attempt}"})
        )  # fmt: skip
    checker.injector.published.append(
        Published(6.0, "payments.o1.2.REFUND_SUCCEEDED", "REFUND_SUCCEEDED", ORDER, "t", 1.0, 2,
                  {"refundId": f"{ORDER}.2"})
    )  # fmt: skip
    return checker


def _complaint_rules(checker: Checker) -> set[str]:
    checker.complaint_ends(ORDER)
    checker.refunds(ORDER)
    checker.money(ORDER)
    checker.escalations(ORDER)
    checker.order_shows_complaint(ORDER)
    return {v.rule for v in checker.violations}


def test_a_refunded_complaint_passes():
    assert _complaint_rules(_complaint()) == set()


def test_complaint_rules_catch_each_defect():
    assert "a complaint ends in a final state" in _complaint_rules(_complaint(state="refunding"))
    over = _complaint(decision={"decision": "approve", "amount": TOTAL + 1, "role": "staff"})
    assert "a refund never exceeds the order's total" in _complaint_rules(over)
    early = _complaint()
    early.complaint_histories[ORDER][1]["eventType"] = "CLAIM"  # no approval before the REFUND
    assert "a refund only after an approval" in _complaint_rules(early)
    twice = _complaint()
    twice.injector.published.append(
        Published(7.0, "payments.o1.1.REFUND_SUCCEEDED", "REFUND_SUCCEEDED", ORDER, "t", 1.0, 3,
                  {"refundId": f"{ORDER}.1"})
    )  # fmt: skip
    assert "a refund succeeds once" in _complaint_rules(twice)
    escalated = _complaint(escalate=True)
    assert "an escalated complaint is decided by a manager" in _complaint_rules(escalated)
    stale = _complaint()
    stale.views[ORDER]["complaint"]["state"] = "handling"
    assert "the order shows its complaint's final state" in _complaint_rules(stale)


@pytest.mark.parametrize(
    ("defect", "rule"),
    [
        ("not paid", "a complaint is refunded exactly when Payments paid"),
        ("paid, says failed", "a complaint is refunded exactly when Payments paid"),
        ("failed, not cancelled", "refundFailed only once Payments cancelled its refunds"),
        ("other refund", "a complaint names the refund Payments paid"),
        ("no approval", "never paid without an approval"),
        ("over the approval", "never paid over the approved amount"),
    ],
)
def test_money_rules_trust_payments_ledger_not_the_workflow(defect, rule):
    """Issue 19, Medium 4: each money rule reads what Payments paid (its ledger)."""
    checker = _complaint()
    view = checker.complaints[ORDER]
    if defect == "not paid":
        del checker.ledger[ORDER]
    elif defect == "paid, says failed":
        view["state"] = "refundFailed"
    elif defect == "failed, not cancelled":
        view["state"], checker.ledger[ORDER] = "refundFailed", "!kept"
    elif defect == "other refund":
        view["refund"] = {"refundId": f"{ORDER}.1"}
    elif defect == "no approval":
        checker.complaint_histories[ORDER][1]["eventType"] = "CLAIM"
    elif defect == "over the approval":
        paid = checker.injector.published[-2]  # the REFUND of attempt 2
        paid.data = {**paid.data, "amount": TOTAL - 1}
        view["decision"] = {**view["decision"], "amount": TOTAL - 100}
    assert rule in _complaint_rules(checker)


def test_a_cancelled_complaint_that_ended_refund_failed_passes():
    checker = _complaint(state="refundFailed")
    checker.complaint_histories[ORDER].pop()  # no REFUND_SUCCEEDED
    checker.injector.published.pop()
    checker.ledger[ORDER] = "!cancelled"
    checker.views[ORDER]["complaint"]["state"] = "refundFailed"
    assert "refundFailed only once Payments cancelled its refunds" not in _complaint_rules(checker)
    assert "a complaint is refunded exactly when Payments paid" not in checker_rules(checker)


def checker_rules(checker: Checker) -> set[str]:
    return {v.rule for v in checker.violations}


def _twins(second_status: int, second_body: dict) -> set[str]:
    history = History()
    for status, body in ((200, {"state": "ordered", "version": 3}), (second_status, second_body)):
        twin = Request(ORDER, "c1", "CONFIRM_PIZZA", "POST", f"/orders/{ORDER}/confirm", {}, "k")
        twin.attempts.append(Attempt(1.0, 1.1, status, body, []))
        history.requests.append(twin)
    checker = Checker(None, history, FaultInjector(0, Rates.off()))  # type: ignore[arg-type]
    checker.histories[ORDER] = [_record(3, "CONFIRM_PIZZA", 1, 1.0, eventId="client.c1/k")]
    checker.twins()
    return {v.rule for v in checker.violations}


def test_twins_with_one_key_get_one_answer():
    """Issue 19, High 2 in the schedule: a twin refused although the first committed."""
    assert _twins(200, {"state": "ordered", "version": 3}) == set()
    refused = {"error": "EventNotAllowed", "message": "CONFIRM_PIZZA is not allowed"}
    assert _twins(409, refused) == {"twins with one key get one answer"}
    assert _twins(409, {"error": "Conflict", "message": "kept changing"}) == set()
