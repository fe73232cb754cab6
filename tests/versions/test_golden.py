"""Golden histories of the order and complaint charts: real instances along every path,
recorded through the runtime on moto and kept in tests/versions/golden. Each must replay
identically on the chart served now (states, effects, the commands sent with a digest of
their data, snapshots), so a change that would break instances in flight, or a command
builder that now sends other data, fails here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chalicelib.registry import WORKFLOWS
from chalicelib.runtime.entrypoints.check_versions import check, exported
from chalicelib.runtime.versions.replay import IDENTICAL
from tests.versions.complaint_scenarios import COMPLAINT_SCENARIOS
from tests.versions.scenarios import SCENARIOS

GOLDEN = Path(__file__).with_name("golden")


def _golden() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(GOLDEN.glob("*.json"))]


def test_every_golden_history_replays_identically_on_the_served_chart():
    verdicts = check(WORKFLOWS, iter(_golden()))
    assert len(verdicts) == len(SCENARIOS) + len(COMPLAINT_SCENARIOS)
    assert [v.line() for v in verdicts if v.kind != IDENTICAL] == []


def test_golden_histories_cover_every_end_and_every_kind_of_event():
    histories = [h for h in _golden() if h["workflow"] == "order"]
    ends = {
        h["snapshot"]["value"] if isinstance(h["snapshot"]["value"], str) else "?"
        for h in histories
    }
    assert ends == {"done", "cancelled"}
    sources = {r["source"] for h in histories for r in h["history"]}
    assert sources == {"client", "bus", "timer", "runtime"}
    events = {r["eventType"] for h in histories for r in h["history"]}
    for expected in (
        "PIZZA_REJECTED",
        "PIZZA_DELIVERED",
        "CANCEL_ORDER",
        "REMOVE_PIZZA",
        "xstate.error.actor.sendOrderToKitchen",
        "xstate.after.kitchenRetry.order.bakePizza.errorInKitchen",
        "xstate.after.deliveryGiveUp.order.deliverPizza.deliveryRunningLate",
    ):
        assert expected in events


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_fresh_run_of_each_scenario_replays_identically(shop, monkeypatch, name):
    """Run the scenario now; its history replays identically. ``WRITE_GOLDEN=1`` stores
    it as the golden history (do that only for a chart version that shipped)."""
    if name == "rejected":
        monkeypatch.setenv("KITCHEN_OUT_OF_STOCK", "mango")
    order_id = SCENARIOS[name](shop)
    item = exported(f"order#{order_id}")
    assert item is not None and item["snapshot"]["status"] == "done"
    [verdict] = check(WORKFLOWS, iter([item]))
    assert verdict.kind == IDENTICAL, verdict.line()
    if os.environ.get("WRITE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        item["instance"] = name
        (GOLDEN / f"order-{name}.json").write_text(
            json.dumps(item, indent=1, sort_keys=True) + "\n"
        )


COMPLAINT_ENDS = {
    "refunded-in-full": "refunded",
    "refunded-in-part": "refunded",
    "refund-retried": "refunded",
    "refund-failed": "refundFailed",
    "escalated": "rejected",
    "closed-by-silence": "closed",
    "withdrawn": "withdrawn",
}


@pytest.mark.parametrize("name", sorted(COMPLAINT_SCENARIOS))
def test_a_fresh_run_of_each_complaint_scenario_replays_identically(shop, name):
    """As for orders; ``WRITE_GOLDEN=1`` stores ``complaint-<name>.json``."""
    order_id = COMPLAINT_SCENARIOS[name](shop)
    item = exported(f"complaint#{order_id}")
    assert item is not None and item["snapshot"]["status"] == "done"
    assert item["snapshot"]["value"] == COMPLAINT_ENDS[name]
    [verdict] = check(WORKFLOWS, iter([item]))
    assert verdict.kind == IDENTICAL, verdict.line()
    if os.environ.get("WRITE_GOLDEN") == "1":
        item["instance"] = name
        (GOLDEN / f"complaint-{name}.json").write_text(
            json.dumps(item, indent=1, sort_keys=True) + "\n"
        )


def test_complaint_golden_histories_cover_every_end_and_kind_of_event():
    histories = {h["instance"]: h for h in _golden() if h["workflow"] == "complaint"}
    assert {k: h["snapshot"]["value"] for k, h in histories.items()} == COMPLAINT_ENDS
    events = {r["eventType"] for h in histories.values() for r in h["history"]}
    for expected in (
        "OPEN", "CLAIM", "ASK_CUSTOMER", "ANSWER", "APPROVE", "REJECT", "WITHDRAW",
        "REFUND_SUCCEEDED", "REFUND_FAILED", "REFUNDS_CANCELLED",
        "xstate.after.escalateAfter.complaint.handling.review.active.withStaff",
        "xstate.after.customerSilence.complaint.handling.conversation.awaitingCustomer",
        "xstate.after.refundRetry.complaint.refunding.failed",
    ):  # fmt: skip
        assert expected in events
    sent = [c for h in histories.values() for r in h["history"] for c in r.get("commands", [])]
    assert {c.split(":")[1] for c in sent} == {"REFUND", "CANCEL_REFUNDS"}


def _with_builder(workflow, src, build):
    """``workflow`` with the command of ``src`` built by ``build`` instead."""
    import copy

    from chalicelib.runtime import Command

    changed = copy.copy(workflow)
    changed.commands = {**workflow.commands, src: Command(workflow.commands[src].type, build)}
    return changed


def test_a_refund_builder_paying_a_hundred_times_the_approval_diverges():
    """Issue 19, High 3: the replay compares what command builders produce."""
    from chalicelib.complaints.workflow import COMMANDS

    real = COMMANDS["refundAtPayments"].data
    greedy = _with_builder(
        WORKFLOWS["complaint"], "refundAtPayments",
        lambda ctx, i: {**real(ctx, i), "amount": 100 * real(ctx, i)["amount"]},
    )  # fmt: skip
    golden = json.loads((GOLDEN / "complaint-refunded-in-part.json").read_text())
    [verdict] = check({"complaint": greedy}, iter([golden]))
    assert verdict.kind == "diverges" and "sendRefund:REFUND" in verdict.detail, verdict.line()
    assert verdict.at == next(
        r["version"] for r in golden["history"] if r["eventType"] == "APPROVE"
    )


def test_a_kitchen_command_without_pizzas_diverges():
    from chalicelib.orders.workflow import COMMANDS

    [src] = [s for s, c in COMMANDS.items() if c.type == "MAKE_PIZZA"]
    real = COMMANDS[src].data
    empty = _with_builder(WORKFLOWS["order"], src, lambda ctx, i: {**real(ctx, i), "items": []})
    golden = json.loads((GOLDEN / "order-delivered.json").read_text())
    [verdict] = check({"order": empty}, iter([golden]))
    assert verdict.kind == "diverges" and "MAKE_PIZZA" in verdict.detail, verdict.line()
