"""The scale model (bench/capacity.py, its report bench/scale.py) stays honest: it knows
every key pattern the code writes or reads, and BENCHMARKS.md's "Scale" section was
written from what the code does now (one order of each kind, metered through the real
handlers)."""

from __future__ import annotations

import difflib
import logging
from pathlib import Path

import pytest

from bench import capacity, scale
from bench.keys import TABLE, Call, Touch, pattern
from bench.workload import Usage, measure

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def metered():
    logging.getLogger("workflow").setLevel(logging.ERROR)
    return measure(each=1)


@pytest.mark.parametrize(
    "key, shape",
    [
        ("order#3f2a9c1e-77b0-4c1d-9e4e-0a1b2c3d4e5f", "order#<id>"),
        ("inflight#order#07", "inflight#order#<shard>"),
        ("history#0000000012", "history#<n>"),
        ("v3", "v<n>"),
        ("station#payments!settled#abc-1", "station#payments!settled#<id>"),
        ("event#kitchen.abc.PIZZA_READY", "event#<id>"),
    ],
)
def test_keys_are_reduced_to_their_shape(key, shape):
    assert pattern(key) == shape


def test_the_model_knows_every_key_pattern_the_orders_touch(metered):
    for usages in metered.values():
        for usage in usages:
            capacity.key_rows(usage)  # raises UnknownPattern otherwise


def test_a_key_pattern_the_model_does_not_know_stops_it():
    usage = Usage("delivered")
    usage.calls.append(
        Call("api", "dynamodb", "UpdateItem", [Touch("write", TABLE, "orders#total", None, 1)])
    )
    with pytest.raises(capacity.UnknownPattern, match="orders#total"):
        capacity.key_rows(usage)
    with pytest.raises(capacity.UnknownPattern):
        scale.report({"delivered": [usage]})


def test_benchmarks_md_holds_what_the_code_does_now(metered):
    """Fails when a pattern is written or read a different number of times (or units) per
    order than BENCHMARKS.md says: run `python -m bench.scale` and commit the result."""
    written = (ROOT / "BENCHMARKS.md").read_text()
    now = scale.digest(metered)
    if now not in written:
        section = written.partition(scale.SECTION)[2]
        start = section.find("| kind | target")
        diff = difflib.unified_diff(
            section[start:].splitlines()[: len(now.splitlines())], now.splitlines(),
            "BENCHMARKS.md", "metered now", lineterm="",
        )  # fmt: skip
        pytest.fail("BENCHMARKS.md is out of date (python -m bench.scale):\n" + "\n".join(diff))


def test_a_shared_key_is_a_limit_and_one_per_instance_is_not(metered):
    order = capacity.per_order(metered)
    names = [limit.name for limit in capacity.limits(order)]
    assert any("inflight#order#<shard>" in n and "transactions" in n for n in names)
    assert not any("`order#<id>`" in n for n in names)
    # a pattern on one key takes all of its load: the busiest partition is the whole rate
    single = capacity.Spread("single", "one key")
    assert single.keys() == 1


def test_limits_scale_linearly_with_the_order_rate():
    limit = capacity.Limit("x", per_order=2.0, capacity=1_000, unit="WCU/s")
    rate = 100_000 / 3600 * capacity.PEAK * 2.0
    assert limit.at(100_000) == pytest.approx(rate)
    assert limit.at(limit.hit_at()) == pytest.approx(1_000)


def test_as_shipped_nothing_throttles_below_a_million_orders_an_hour(metered):
    """The first limits the model found (the timers queue's concurrency of 2 at 74k
    orders an hour, 16 in-flight counter shards at 77k, the API stages' 200 requests per
    second per method at 400k) are raised by the shipped settings."""
    order = capacity.per_order(metered)
    first = min(capacity.limits(order), key=capacity.Limit.hit_at)
    assert first.hit_at() >= 1_000_000, f"{first.name} at {first.hit_at():,.0f} orders/h"


def test_a_hot_key_planted_in_the_code_is_caught_without_being_described(monkeypatch):
    """A planted defect: every order the kitchen takes also bumps one shared item (a
    'kitchen load' counter, the kind of key every order writes). The meter records it
    as a pattern of its own and the model refuses to add it up."""
    from chalicelib.runtime import client, store
    from chalicelib.stations.station import Station

    hold = Station._hold

    def hold_and_count(self, order_id, work):
        store.call(
            client("dynamodb").update_item, Key=store.key("kitchen#load", "total"),
            UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}},
        )  # fmt: skip
        return hold(self, order_id, work)

    monkeypatch.setattr(Station, "_hold", hold_and_count)
    [usage] = measure(("cancelled",), each=1)["cancelled"]
    assert any(t.partition == "kitchen#load" for c in usage.calls for t in c.touches)
    with pytest.raises(capacity.UnknownPattern, match="kitchen#load"):
        capacity.key_rows(usage)
