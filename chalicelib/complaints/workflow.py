"""The complaint workflow: a customer's complaint about a delivered order, and its refund.

The statechart is XState v5 data. While the complaint is ``handling`` two regions run
side by side: ``review`` (staff) and ``conversation`` (the customer).

- Staff CLAIM a new complaint, then APPROVE it (all of the order, or ``amount`` cents of
  it) or REJECT it with a reason. With no decision after ``escalate`` (2 h) the review
  escalates: from then on only a manager decides. Every decision is final.
- Staff may ASK_CUSTOMER a question: the review goes on hold and the conversation waits
  for the customer. The ANSWER resumes the review where it was, through a deep history
  state (``withStaff.investigating`` comes back as such; a shallow one would restart
  ``withStaff`` at ``new``). The review's deadline starts again with the answer. Silence
  for ``silence`` (7 days) closes the complaint.
- An approval leaves for ``refunding``: the Payments service gets REFUND (its refund id
  is ``<orderId>.<attempt>``) and reports REFUND_SUCCEEDED or REFUND_FAILED; a failed
  attempt, or a REFUND that could not be published, is retried with exponential backoff
  up to ``refund_attempts`` times. Then it is ``givingUp``: a REFUND counted as failed may
  still be held by Payments (a publish SNS applied but answered with an error), so the
  complaint sends CANCEL_REFUNDS (persistent: sent until it is out) and waits for
  Payments' ledger to answer. REFUNDS_CANCELLED (no attempt was paid, none ever will be)
  ends it ``refundFailed`` with the last reason for an operator; a REFUND_SUCCEEDED (an
  attempt was paid first) ends it ``refunded``, and the operator is told it came late.
  The complaint's end state thus always agrees with what Payments paid.
- The customer may WITHDRAW while the complaint is handled.

Staff events carry ``role`` (``staff`` or ``manager``) and ``by``, which the service
takes from the caller's token, never from a request body. Every state carries its
message in ``meta.message``; its entry copies it into ``context.status`` (except the
conversation's idle state, which leaves the review's status standing).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from chalicelib.runtime import Command
from chalicelib.statechart import Machine, Snapshot, assign

from .models import (
    Answer,
    Approve,
    AskCustomer,
    Claim,
    OpenComplaint,
    RefundReport,
    RefundsCancelled,
    Reject,
    Withdraw,
)

log = logging.getLogger("workflow")
STAFF_ROLES = ("staff", "manager")
VERSION = 2
LOCK = Path(__file__).with_name("versions.lock.json")


def _state(message: str, entry: tuple[Any, ...] = (), status: bool = True, **config: Any):
    """A state carrying ``message``; its entry makes it the complaint's status."""
    update = ({"type": "updateStatus", "params": {"message": message}},) if status else ()
    return {"meta": {"message": message}, "entry": [*update, *entry], **config}


def _decisions(guard: str) -> dict[str, Any]:
    """APPROVE and REJECT, allowed to whoever ``guard`` admits."""
    return {
        "APPROVE": {
            "guard": {"type": "and", "guards": [guard, "amountWithinTotal"]},
            "target": "#complaint.refunding",
            "actions": ["recordApproval"],
        },
        "REJECT": {"guard": guard, "target": "#complaint.rejected", "actions": ["recordRejection"]},
    }


_REFUND_FAILED = {
    "REFUND_FAILED": {
        "guard": "isCurrentRefund",
        "target": "failed",
        "actions": ["recordRefundFailure"],
    }
}

COMPLAINT_CHART: dict[str, Any] = {
    "id": "complaint",
    "description": "A customer's complaint about a delivered order, up to its refund",
    "initial": "opening",
    "context": {
        "orderId": None,
        "customerId": None,
        "orderTotal": 0,
        "reason": None,
        "details": None,
        "status": None,
        "createdAt": None,
        "updatedAt": None,
        "assignee": None,
        "question": None,
        "answer": None,
        "decision": None,
        "refundAttempts": 0,
        "refundId": None,
        "refundError": None,
        "refund": None,
        "closedBecause": None,
    },
    "states": {
        "opening": _state(
            "Opening your complaint...",
            on={"OPEN": {"target": "handling", "actions": ["recordComplaint"]}},
        ),
        "handling": {
            "type": "parallel",
            "on": {"WITHDRAW": {"target": "withdrawn", "actions": ["recordWithdrawal"]}},
            "states": {
                "review": {
                    "initial": "active",
                    "states": {
                        "active": {
                            "initial": "withStaff",
                            "on": {
                                "ASK_CUSTOMER": {
                                    "guard": "byStaff",
                                    "target": "onHold",
                                    "actions": ["recordQuestion"],
                                }
                            },
                            "states": {
                                "withStaff": {
                                    "initial": "new",
                                    "after": {"escalateAfter": "escalated"},
                                    "on": _decisions("byStaff"),
                                    "states": {
                                        "new": _state(
                                            "Staff will look at your complaint soon.",
                                            on={
                                                "CLAIM": {
                                                    "guard": "byStaff",
                                                    "target": "investigating",
                                                    "actions": ["recordAssignee"],
                                                }
                                            },
                                        ),
                                        "investigating": _state(
                                            "Staff are looking into your complaint."
                                        ),
                                    },
                                },
                                "escalated": _state(
                                    "A manager is looking into your complaint.",
                                    entry=("escalate",),
                                    on=_decisions("byManager"),
                                ),
                                "resume": {"type": "history", "history": "deep"},
                            },
                        },
                        "onHold": _state(
                            "Review on hold until you answer our question.",
                            on={"ANSWER": "active.resume"},
                        ),
                    },
                },
                "conversation": {
                    "initial": "idle",
                    "states": {
                        "idle": _state(
                            "No question for you.",
                            status=False,
                            on={"ASK_CUSTOMER": {"guard": "byStaff", "target": "awaitingCustomer"}},
                        ),
                        "awaitingCustomer": _state(
                            "We asked you a question: please answer it.",
                            after={
                                "customerSilence": {
                                    "target": "#complaint.closed",
                                    "actions": ["recordSilence"],
                                }
                            },
                            on={"ANSWER": {"target": "idle", "actions": ["recordAnswer"]}},
                        ),
                    },
                },
            },
        },
        "refunding": {
            "initial": "sending",
            "on": {
                "REFUND_SUCCEEDED": {"target": "refunded", "actions": ["recordRefund"]},
            },
            "states": {
                "sending": _state(
                    "Approved: sending your refund...",
                    entry=("countRefundAttempt",),
                    invoke={
                        "id": "sendRefund",
                        "src": "refundAtPayments",
                        "onDone": "waiting",
                        "onError": {"target": "failed", "actions": ["recordPublishFailure"]},
                    },
                    on=_REFUND_FAILED,
                ),
                "waiting": _state("Approved: your refund is on its way...", on=_REFUND_FAILED),
                "failed": _state(
                    "Your refund did not go through; trying again...",
                    always={
                        "guard": "refundAttemptsExhausted",
                        "target": "#complaint.givingUp",
                    },
                    after={"refundRetry": "sending"},
                ),
            },
        },
        "givingUp": _state(
            "Your refund did not go through; checking that none is still on its way...",
            invoke={"id": "cancelRefunds", "src": "cancelRefundsAtPayments"},
            on={
                "REFUND_SUCCEEDED": {
                    "target": "refunded",
                    "actions": ["recordRefund", "reportLateRefund"],
                },
                "REFUNDS_CANCELLED": "refundFailed",
            },
        ),
        "refunded": _state("Refunded.", entry=("explainRefund",), type="final"),
        "refundFailed": _state(
            "We could not refund you; an operator will contact you.",
            entry=("alertOperator",),
            type="final",
        ),
        "rejected": _state(
            "Your complaint was rejected.", entry=("explainRejection",), type="final"
        ),
        "withdrawn": _state("You withdrew your complaint.", type="final"),
        "closed": _state("Closed: we did not hear back from you.", type="final"),
    },
}

Context = Mapping[str, Any]
Event = Mapping[str, Any]


def _touch(ctx: Context, ev: Event) -> dict[str, Any]:
    time = ev.get("time") or ctx.get("updatedAt")
    return {"updatedAt": time, "createdAt": ctx.get("createdAt") or time}


def _by(ev: Event) -> dict[str, Any]:
    return {"by": ev.get("by"), "role": ev.get("role"), "at": ev.get("time")}


def _record(update):
    """An assign that also stamps ``updatedAt`` from the event's time."""
    return assign(lambda ctx, ev: {**update(ctx, ev), **_touch(ctx, ev)})


def _cents(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


def _refund_amount(ctx: Context, ev: Event) -> int:
    amount = ev.get("amount")
    return ctx["orderTotal"] if amount is None else amount


def _report_log(kind: str):
    def write(ctx: Context, ev: Event) -> None:
        """Runs after the commit: a structured line operators alert on."""
        entry = {"kind": kind, "complaint": ctx["orderId"], "error": ctx.get("refundError")}
        log.warning(json.dumps(entry, separators=(",", ":")))

    return write


COMPLAINT_ACTIONS: dict[str, Any] = {
    "updateStatus": assign(lambda ctx, ev, params: {"status": params["message"]}),
    "recordComplaint": _record(
        lambda ctx, ev: {"reason": ev["reason"], "details": ev.get("details")}
    ),
    "recordAssignee": _record(lambda ctx, ev: {"assignee": ev.get("by")}),
    "recordQuestion": _record(
        lambda ctx, ev: {"question": {"text": ev["question"], **_by(ev)}, "answer": None}
    ),
    "recordAnswer": _record(
        lambda ctx, ev: {"answer": {"text": ev["message"], "at": ev.get("time")}}
    ),
    "recordApproval": _record(
        lambda ctx, ev: {
            "decision": {
                "decision": "approve",
                "amount": _refund_amount(ctx, ev),
                "reason": ev.get("reason"),
                **_by(ev),
            },
            "refundAttempts": 0,
        }
    ),
    "recordRejection": _record(
        lambda ctx, ev: {"decision": {"decision": "reject", "reason": ev["reason"], **_by(ev)}}
    ),
    "recordWithdrawal": _record(lambda ctx, ev: {"closedBecause": ev.get("reason") or "withdrawn"}),
    "recordSilence": _record(lambda ctx, ev: {"closedBecause": "no answer from the customer"}),
    "countRefundAttempt": assign(
        lambda ctx, ev: {
            "refundAttempts": ctx["refundAttempts"] + 1,
            "refundId": f"{ctx['orderId']}.{ctx['refundAttempts'] + 1}",
        }
    ),
    "recordRefundFailure": _record(
        lambda ctx, ev: {"refundError": (ev.get("data") or {}).get("reason") or "refund declined"}
    ),
    "recordPublishFailure": _record(
        lambda ctx, ev: {"refundError": "the payments service could not be reached"}
    ),
    "recordRefund": _record(
        lambda ctx, ev: {
            "refund": {"amount": ctx["decision"]["amount"], **(ev.get("data") or {})},
            "refundError": None,
        }
    ),
    "explainRefund": assign(
        lambda ctx, ev: {"status": f"Refunded {_cents(ctx['decision']['amount'])}."}
    ),
    "explainRejection": assign(
        lambda ctx, ev: {"status": f"Your complaint was rejected: {ctx['decision']['reason']}"}
    ),
    "escalate": _report_log("complaintEscalated"),
    "alertOperator": _report_log("refundFailed"),
    "reportLateRefund": _report_log("refundSucceededAfterGivingUp"),
}


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a complaint waits, in seconds, and how often a refund is tried.

    Read from COMPLAINT_ESCALATE_SECONDS, COMPLAINT_SILENCE_SECONDS,
    COMPLAINT_REFUND_RETRY_SECONDS and COMPLAINT_REFUND_ATTEMPTS when set.
    """

    escalate: float = 2 * 3600
    silence: float = 7 * 24 * 3600
    refund_retry: float = 60
    refund_attempts: int = 3

    @classmethod
    def from_environment(cls) -> Timing:
        names = {
            "escalate": "COMPLAINT_ESCALATE_SECONDS",
            "silence": "COMPLAINT_SILENCE_SECONDS",
            "refund_retry": "COMPLAINT_REFUND_RETRY_SECONDS",
            "refund_attempts": "COMPLAINT_REFUND_ATTEMPTS",
        }
        kinds = {f.name: (int if f.type == "int" else float) for f in fields(cls)}
        return cls(**{k: kinds[k](os.environ[v]) for k, v in names.items() if os.environ.get(v)})

    def delays(self) -> dict[str, Any]:
        """Named delays in ms; refund retries back off exponentially with the attempt."""
        return {
            "escalateAfter": int(1000 * self.escalate),
            "customerSilence": int(1000 * self.silence),
            "refundRetry": lambda ctx, ev: int(
                1000 * self.refund_retry * 2 ** max(0, ctx["refundAttempts"] - 1)
            ),
        }

    def guards(self) -> dict[str, Any]:
        """The chart's guards (the attempt limit is this timing's)."""
        return {
            "byStaff": lambda ctx, ev: ev.get("role") in STAFF_ROLES,
            "byManager": lambda ctx, ev: ev.get("role") == "manager",
            "amountWithinTotal": lambda ctx, ev: 0 < _refund_amount(ctx, ev) <= ctx["orderTotal"],
            "isCurrentRefund": lambda ctx, ev: (
                (ev.get("data") or {}).get("refundId") == ctx["refundId"]
            ),
            "refundAttemptsExhausted": lambda ctx, ev: (
                ctx["refundAttempts"] >= self.refund_attempts
            ),
        }


def complaint_machine(timing: Timing | None = None) -> Machine:
    """The complaint workflow's machine."""
    timing = timing or Timing()
    return Machine(
        COMPLAINT_CHART, actions=COMPLAINT_ACTIONS, guards=timing.guards(), delays=timing.delays()
    )


CLIENT_EVENTS = {
    "OPEN": OpenComplaint,
    "CLAIM": Claim,
    "APPROVE": Approve,
    "REJECT": Reject,
    "ASK_CUSTOMER": AskCustomer,
    "ANSWER": Answer,
    "WITHDRAW": Withdraw,
}
CUSTOMER_EVENTS = ("ANSWER", "WITHDRAW")
BUS_EVENTS = {
    "REFUND_SUCCEEDED": RefundReport,
    "REFUND_FAILED": RefundReport,
    "REFUNDS_CANCELLED": RefundsCancelled,
}


def complaint_view(snapshot: Snapshot, meta: Mapping[str, Any]) -> dict[str, Any]:
    """What the customer and staff see of a complaint."""
    ctx = snapshot.context
    return {
        "orderId": meta["id"],
        "customerId": ctx.get("customerId"),
        "reason": ctx.get("reason"),
        "details": ctx.get("details"),
        "orderTotal": ctx.get("orderTotal"),
        "state": snapshot.value,
        "status": ctx.get("status"),
        "done": snapshot.status == "done",
        "nextEvents": [e for e in snapshot.next_events if e in CLIENT_EVENTS],
        "assignee": ctx.get("assignee"),
        "question": ctx.get("question"),
        "answer": ctx.get("answer"),
        "decision": ctx.get("decision"),
        "refundAttempts": ctx.get("refundAttempts"),
        "refundError": ctx.get("refundError"),
        "refund": ctx.get("refund"),
        "closedBecause": ctx.get("closedBecause"),
        "version": meta["version"],
        "createdAt": meta.get("createdAt"),
        "updatedAt": meta.get("updatedAt"),
    }


def _refund(ctx: Context, _input: Any) -> dict[str, Any]:
    return {
        "orderId": ctx["orderId"],
        "complaintId": ctx["orderId"],
        "refundId": ctx["refundId"],
        "amount": ctx["decision"]["amount"],
        "attempt": ctx["refundAttempts"],
    }


def _cancel_refunds(ctx: Context, _input: Any) -> dict[str, Any]:
    attempts = range(1, ctx["refundAttempts"] + 1)
    return {
        "orderId": ctx["orderId"],
        "complaintId": ctx["orderId"],
        "refundIds": [f"{ctx['orderId']}.{n}" for n in attempts],
    }


COMMANDS = {
    "refundAtPayments": Command("REFUND", _refund),
    # persistent: a cancel must reach Payments however long the bus is down
    "cancelRefundsAtPayments": Command("CANCEL_REFUNDS", _cancel_refunds, persistent=True),
}


def is_open(snapshot: Snapshot) -> bool:
    """Whether the complaint is on the staff's worklist: under review or waiting on its
    customer (not once decided)."""
    return snapshot.matches("handling")
