"""The fan-out bench (bench/fanout.py) measures what it says: an order of 1 and 3 pizzas
on order chart version 3 beside version 1, run once through the real handlers with every
AWS call metered. Its figures must be consistent with each other, with the scale model
and with BENCHMARKS.md's "Fan-out" section; no time is asserted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench import capacity, cost, fanout, fanout_report
from bench.keys import TABLE

ROOT = Path(__file__).resolve().parents[2]
SIZES = (1, 3)
PIZZA_KEYS = ("pizza#", "inflight#pizza#", "station#oven#", "oven#", "worklist#pizza#")


@pytest.fixture(scope="module")
def metered():
    logging.getLogger("workflow").setLevel(logging.ERROR)
    return fanout.measure(SIZES)


@pytest.fixture(scope="module")
def figures(metered):
    return {key: fanout_report.figures(usage, key[1]) for key, usage in metered.items()}


def test_every_key_the_fan_out_touches_is_one_the_scale_model_spreads(metered):
    """A pizza's and the oven's keys are known to the scale model, and none is one key
    every order writes (each is per pizza, per bake, per customer or sharded)."""
    touched = set()
    for usage in metered.values():
        capacity.key_rows(usage)  # raises UnknownPattern otherwise
        touched |= {(t.target, t.partition) for c in usage.calls for t in c.touches}
    pizza_keys = {w for w in touched if w[1].startswith(PIZZA_KEYS)}
    assert (TABLE, "pizza#<id>") in pizza_keys and ("pending", "oven#<shard>") in pizza_keys
    for where in pizza_keys:
        assert capacity.KNOWN[where].kind != "single", where


def test_each_pizza_is_baked_once_and_the_order_joins_once(figures):
    for n in SIZES:
        v3, v1 = figures[(3, n)]["calls"], figures[(1, n)]["calls"]
        assert v3["sns Publish BAKE_PIZZA"] == v3["sns Publish PIZZA_BAKED"] == n
        assert v3["sns Publish @order"] == n  # each pizza's done event to its order
        assert v3["sns Publish @pizza"] == 2 * n  # each pizza started, then its oven slot
        assert v3["sns Publish DELIVER_PIZZA"] == v1["sns Publish DELIVER_PIZZA"] == 1
        assert v3["sns Publish MAKE_PIZZA"] == 0 and v1["sns Publish MAKE_PIZZA"] == 1
        # the confirmation, then one staff request per piece of work a station held
        assert figures[(3, n)]["requests"] == 1 + n
        assert figures[(1, n)]["requests"] == 1 + 1


def test_version_1_does_the_same_calls_whatever_the_pizzas(figures):
    assert figures[(1, 1)]["calls"] == figures[(1, 3)]["calls"]
    assert figures[(1, 1)]["transitions"] == figures[(1, 3)]["transitions"]


def _history(usage, partition):
    """Committed transitions of the instances under ``partition`` (history records)."""
    return sum(
        1
        for c in usage.calls
        for t in c.touches
        if t.kind == "write" and t.partition == partition and (t.sort or "").startswith("history#")
    )


def test_each_pizza_costs_the_same_on_its_own_keys(metered, figures):
    """Three pizzas write three times what one writes under the pizzas' keys and commit
    three times one pizza's transitions; the order commits one more per pizza (the
    pizza's done event), version 1's order the same whatever its pizzas."""
    one, three = figures[(3, 1)], figures[(3, 3)]
    for where in [w for w in one["units"] if w[1].startswith(PIZZA_KEYS)]:
        assert three["units"][where]["w"] == 3 * one["units"][where]["w"], where
        assert three["units"][where]["wcu"] == 3 * one["units"][where]["wcu"], where
    assert _history(metered[(3, 1)], "pizza#<id>") > 0
    assert _history(metered[(3, 3)], "pizza#<id>") == 3 * _history(metered[(3, 1)], "pizza#<id>")
    order = {key: _history(usage, "order#<id>") for key, usage in metered.items()}
    assert order[(3, 3)] - order[(3, 1)] == 2
    assert order[(1, 3)] == order[(1, 1)]


def test_the_figures_add_up(metered, figures):
    for key, usage in metered.items():
        f = figures[key]
        assert sum(f["calls"].values()) == len(usage.calls)
        assert f["wcu"] == sum(t.units for c in usage.calls for t in c.touches if t.kind == "write")
        history = sum(
            1
            for c in usage.calls
            for t in c.touches
            if t.kind == "write" and (t.sort or "").startswith("history#")
        )
        assert f["transitions"] == history
        assert f["cost"] == pytest.approx(sum(f["items"].values()))
        shared = f["cost"] - f["items"]["DynamoDB writes"] - f["items"]["DynamoDB reads"]
        standard = (f["transitions"] + 2) * cost.PRICE["sfn_standard_transition"]
        assert f["sfn"] == pytest.approx(shared + standard)
        assert f["items"]["DynamoDB writes"] == pytest.approx(f["wcu"] * cost.PRICE["wru"])


def test_every_timer_left_behind_is_fired(metered):
    """Version 3's pizzas each leave their oven timeout, version 1 its kitchen timeout:
    each fired once, found stale with one read."""
    for (version, n), usage in metered.items():
        assert usage.messages["TimersQueue"] == (n if version == 3 else 1)
        fired = [c for c in usage.calls if c.function == "timer_events"]
        assert fired and all(c.operation == "GetItem" for c in fired)


def test_benchmarks_md_holds_what_one_pizza_costs_now(figures):
    """Fails when one pizza's order makes other calls or units than BENCHMARKS.md's
    "Fan-out" says: run `make bench-fanout` and commit the result."""
    written = (ROOT / "BENCHMARKS.md").read_text()
    section = written.partition(fanout.SECTION)[2]
    assert section, "BENCHMARKS.md has no Fan-out section: run `make bench-fanout`"
    for version in fanout.VERSIONS:
        row = fanout_report.counted(figures[(version, 1)], version)
        assert row in section, f"BENCHMARKS.md is out of date (make bench-fanout):\n{row}"


def test_the_report_lists_every_order_and_every_call(metered, figures):
    text = fanout_report.report(metered, {}, 2, "today")
    assert text.startswith(fanout.SECTION)
    for (version, _), f in figures.items():
        assert fanout_report.counted(f, version) in text
        for name in f["calls"]:
            assert f"| {name} |" in text
