"""Golden histories of the order chart: real orders along every path, recorded through
the runtime on moto and kept in tests/versions/golden. Each must replay identically on
the chart new orders get, so a change that would break orders in flight fails here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chalicelib.registry import WORKFLOWS
from chalicelib.runtime.check_versions import check, exported
from chalicelib.runtime.replay import IDENTICAL
from tests.versions.scenarios import SCENARIOS

GOLDEN = Path(__file__).with_name("golden")


def _golden() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(GOLDEN.glob("*.json"))]


def test_every_golden_history_replays_identically_on_the_served_chart():
    verdicts = check(WORKFLOWS, iter(_golden()))
    assert len(verdicts) == len(SCENARIOS)
    assert [v.line() for v in verdicts if v.kind != IDENTICAL] == []


def test_golden_histories_cover_every_end_and_every_kind_of_event():
    histories = _golden()
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
