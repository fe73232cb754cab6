"""The complaint chart on the pure engine: no AWS, no clock (timers fire as events)."""

from __future__ import annotations

import copy

import pytest

from chalicelib.complaints import COMPLAINT_CHART, Timing, complaint_machine
from chalicelib.statechart import Machine

TOTAL = 3000
STAFF = {"role": "staff", "by": "sam"}
MANAGER = {"role": "manager", "by": "maya"}
ESCALATE = "xstate.after.escalateAfter.complaint.handling.review.active.withStaff"
SILENCE = "xstate.after.customerSilence.complaint.handling.conversation.awaitingCustomer"
RETRY = "xstate.after.refundRetry.complaint.refunding.failed"


class Run:
    """One complaint driven event by event; ``effects`` are the last step's."""

    def __init__(self, machine: Machine | None = None) -> None:
        self.machine = machine or complaint_machine()
        context = {"orderId": "o1", "customerId": "alice", "orderTotal": TOTAL}
        self.snapshot = self.machine.initial_transition(context).snapshot
        self.effects = []
        self.send("OPEN", reason="cold pizza")

    def send(self, event_type: str, **event) -> bool:
        step = self.machine.transition(self.snapshot, {"type": event_type, **event})
        self.snapshot, self.effects = step.snapshot, step.effects
        return step.handled

    @property
    def ctx(self):
        return self.snapshot.context

    def review(self):
        return self.snapshot.value["handling"]["review"]

    def kinds(self):
        return [(e.kind, e.type if e.kind in ("action", "invoke") else e.id) for e in self.effects]


def _approve(run: Run, **extra) -> None:
    assert run.send("APPROVE", **STAFF, **extra)
    assert run.snapshot.value == {"refunding": "sending"}


def test_open_starts_both_regions_side_by_side():
    run = Run()
    assert run.snapshot.value == {
        "handling": {"review": {"active": {"withStaff": "new"}}, "conversation": "idle"}
    }
    assert run.ctx["reason"] == "cold pizza"
    assert run.ctx["status"] == "Staff will look at your complaint soon."
    assert ("schedule", ESCALATE) in run.kinds()


def test_staff_claim_moves_review_only():
    run = Run()
    assert run.send("CLAIM", **STAFF)
    assert run.review() == {"active": {"withStaff": "investigating"}}
    assert run.snapshot.value["handling"]["conversation"] == "idle"
    assert run.ctx["assignee"] == "sam"
    assert not run.send("CLAIM")  # no role: not staff


@pytest.mark.parametrize("claimed", [False, True])
def test_answer_resumes_review_exactly_where_it_was(claimed):
    run = Run()
    if claimed:
        run.send("CLAIM", **STAFF)
    before = run.review()
    assert run.send("ASK_CUSTOMER", question="Which pizza?", **STAFF)
    assert run.snapshot.value["handling"] == {
        "review": "onHold",
        "conversation": "awaitingCustomer",
    }
    assert run.ctx["status"] == "We asked you a question: please answer it."
    assert not run.send("ASK_CUSTOMER", question="again?", **STAFF)  # one question at a time
    assert run.send("ANSWER", message="the large one")
    assert run.review() == before
    assert run.snapshot.value["handling"]["conversation"] == "idle"
    assert run.ctx["answer"]["text"] == "the large one"


def test_shallow_history_would_lose_the_nested_state():
    """Deep history matters: with a shallow one the claimed review restarts at ``new``."""
    chart = copy.deepcopy(COMPLAINT_CHART)
    review = chart["states"]["handling"]["states"]["review"]["states"]["active"]["states"]
    review["resume"]["history"] = "shallow"
    shallow = Run(complaint_machine_from(chart))
    shallow.send("CLAIM", **STAFF)
    shallow.send("ASK_CUSTOMER", question="?", **STAFF)
    shallow.send("ANSWER", message="!")
    assert shallow.review() == {"active": {"withStaff": "new"}}


def complaint_machine_from(chart):
    machine = complaint_machine()
    return Machine(chart, actions=machine.actions, guards=machine.guards, delays=machine.delays)


def test_escalated_review_comes_back_escalated_after_an_answer():
    run = Run()
    assert run.send(ESCALATE)
    assert run.review() == {"active": "escalated"}
    assert ("action", "escalate") in run.kinds()
    run.send("ASK_CUSTOMER", question="?", **MANAGER)
    run.send("ANSWER", message="!")
    assert run.review() == {"active": "escalated"}


def test_escalated_complaint_takes_only_a_managers_decision():
    run = Run()
    run.send(ESCALATE)
    assert not run.send("APPROVE", **STAFF)
    assert not run.send("REJECT", reason="no", **STAFF)
    assert run.send("REJECT", reason="fine pizza", **MANAGER)
    assert run.snapshot.value == "rejected" and run.snapshot.status == "done"
    assert run.ctx["decision"]["role"] == "manager"
    assert run.ctx["status"] == "Your complaint was rejected: fine pizza"


def test_a_manager_may_decide_before_escalation_too():
    run = Run()
    assert run.send("APPROVE", amount=100, **MANAGER)
    assert run.ctx["decision"]["amount"] == 100


@pytest.mark.parametrize("amount, allowed", [(None, True), (1, True), (TOTAL, True),
                                             (TOTAL + 1, False), (0, False)])  # fmt: skip
def test_refund_amount_is_bounded_by_the_order_total(amount, allowed):
    run = Run()
    extra = {} if amount is None else {"amount": amount}
    assert run.send("APPROVE", **STAFF, **extra) is allowed
    if allowed:
        assert run.ctx["decision"]["amount"] == (amount or TOTAL)


def test_approval_invokes_refund_with_the_attempt_in_its_id():
    run = Run()
    _approve(run, amount=1200)
    assert ("invoke", "refundAtPayments") in run.kinds()
    assert run.ctx["refundId"] == "o1.1" and run.ctx["refundAttempts"] == 1
    assert ("cancel_schedule", ESCALATE) in run.kinds()
    assert run.send("xstate.done.actor.sendRefund")
    assert run.snapshot.value == {"refunding": "waiting"}
    assert run.send("REFUND_SUCCEEDED", data={"station": "payments", "refundId": "o1.1"})
    assert run.snapshot.value == "refunded"
    assert run.ctx["status"] == "Refunded 12.00."
    assert run.ctx["refund"]["amount"] == 1200


def test_failed_refunds_back_off_exponentially_then_end_refund_failed():
    timing = Timing(refund_retry=10, refund_attempts=3)
    run = Run(complaint_machine(timing))
    _approve(run)
    delays = []
    for attempt in (1, 2, 3):
        run.send("xstate.done.actor.sendRefund")
        failure = {"station": "payments", "refundId": f"o1.{attempt}", "reason": f"no {attempt}"}
        assert run.send("REFUND_FAILED", data=failure)
        if attempt == 3:
            break
        assert run.snapshot.value == {"refunding": "failed"}
        [schedule] = [e for e in run.effects if e.kind == "schedule"]
        delays.append(schedule.delay_ms)
        assert run.send(RETRY)
        assert run.ctx["refundId"] == f"o1.{attempt + 1}"
    assert delays == [10_000, 20_000]
    assert run.snapshot.value == "givingUp" and run.snapshot.status == "active"
    [cancel] = [e for e in run.effects if e.kind == "invoke"]
    assert cancel.type == "cancelRefundsAtPayments"
    assert ("action", "alertOperator") not in run.kinds()  # not before Payments answers
    assert not run.send("REFUND_FAILED", data=failure)  # a late decline changes nothing
    assert run.send("REFUNDS_CANCELLED", data={"station": "payments", "refundIds": []})
    assert run.snapshot.value == "refundFailed" and run.snapshot.status == "done"
    assert run.ctx["refundError"] == "no 3"
    assert ("action", "alertOperator") in run.kinds()


def test_a_success_while_giving_up_ends_refunded_and_tells_the_operator():
    run = Run(complaint_machine(Timing(refund_attempts=1)))
    _approve(run)
    assert run.send("xstate.error.actor.sendRefund", error="timeout after send")
    assert run.snapshot.value == "givingUp"
    assert run.send("REFUND_SUCCEEDED", data={"station": "payments", "refundId": "o1.1"})
    assert run.snapshot.value == "refunded" and run.snapshot.status == "done"
    assert run.ctx["refund"]["refundId"] == "o1.1"
    assert ("action", "reportLateRefund") in run.kinds()


def test_a_failure_report_for_an_earlier_attempt_changes_nothing():
    run = Run()
    _approve(run)
    run.send("xstate.done.actor.sendRefund")
    run.send("REFUND_FAILED", data={"station": "payments", "refundId": "o1.1"})
    run.send(RETRY)
    assert not run.send("REFUND_FAILED", data={"station": "payments", "refundId": "o1.1"})
    assert run.send("REFUND_SUCCEEDED", data={"station": "payments", "refundId": "o1.2"})
    assert run.snapshot.value == "refunded"


def test_a_refund_that_cannot_be_sent_counts_as_a_failed_attempt():
    run = Run(complaint_machine(Timing(refund_attempts=1)))
    _approve(run)
    assert run.send("xstate.error.actor.sendRefund", error="bus down")
    assert run.snapshot.value == "givingUp"
    assert run.ctx["refundError"] == "the payments service could not be reached"


def test_silence_for_the_set_time_closes_the_complaint():
    run = Run()
    run.send("ASK_CUSTOMER", question="?", **STAFF)
    [schedule] = [e for e in run.effects if e.kind == "schedule"]
    assert schedule.delay_ms == 7 * 24 * 3600 * 1000
    assert run.send(SILENCE)
    assert run.snapshot.value == "closed" and run.snapshot.status == "done"


@pytest.mark.parametrize("asked", [False, True])
def test_withdraw_ends_a_handled_complaint(asked):
    run = Run()
    if asked:
        run.send("ASK_CUSTOMER", question="?", **STAFF)
    assert run.send("WITHDRAW")
    assert run.snapshot.value == "withdrawn"
    assert ("cancel_schedule", SILENCE if asked else ESCALATE) in run.kinds()


def test_no_withdrawal_once_approved():
    run = Run()
    _approve(run)
    assert not run.send("WITHDRAW")


def test_every_state_has_a_message():
    def walk(states):
        for name, node in states.items():
            if node.get("type") == "history":
                continue
            if "states" in node:
                yield from walk(node["states"])
            else:
                yield name, node.get("meta", {}).get("message")

    assert all(message for _, message in walk(COMPLAINT_CHART["states"]))


def test_timing_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("COMPLAINT_ESCALATE_SECONDS", "1.5")
    monkeypatch.setenv("COMPLAINT_REFUND_ATTEMPTS", "5")
    timing = Timing.from_environment()
    assert timing.escalate == 1.5 and timing.refund_attempts == 5
    assert timing.silence == 7 * 24 * 3600
