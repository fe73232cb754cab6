"""The in-flight counters spread over COUNTER_SHARDS items, a setting raised with the
load (each counter item takes a few overlapping commits a second: BENCHMARKS.md, "Scale")
without moving any data: the counts stay exact across the change."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.runtime import Settings, clients, settings, store
from tests.versions.scenarios import cancelled_while_ordering


def _shards_of(count: int) -> set[str]:
    return {store.counters.counter_key(f"order#o-{n}", 1)["pk"]["S"] for n in range(count)}


def test_the_counters_spread_over_256_shards_by_default(monkeypatch):
    """16 shards carried about 77k orders an hour (tests/bench/test_scale_model.py)."""
    monkeypatch.delenv("COUNTER_SHARDS", raising=False)
    clients.reset()
    assert settings().counter_shards == 256
    used = _shards_of(4000)
    assert len(used) == 256
    assert used == {f"inflight#order#{n:02d}" for n in range(256)}


def test_a_deploy_sets_them_and_nonsense_is_refused(monkeypatch):
    monkeypatch.setenv("COUNTER_SHARDS", "1024")
    clients.reset()
    assert len(_shards_of(20000)) == 1024
    monkeypatch.setenv("COUNTER_SHARDS", "0")
    with pytest.raises(ValidationError, match="counter_shards"):
        Settings.from_environment()
    clients.reset()


def test_raising_the_shards_keeps_the_counts_exact(shop, monkeypatch):
    """Counted at 16 shards, ended at 256: the +1 and the -1 land on different items, and
    the sum over every shard stays right, so raising needs no migration."""
    monkeypatch.setenv("COUNTER_SHARDS", "16")
    clients.reset()
    before = [shop.new_order()["orderId"] for _ in range(3)]
    assert sum(store.in_flight("order").values()) == 3
    monkeypatch.setenv("COUNTER_SHARDS", "256")
    clients.reset()
    for order_id in before:
        assert shop.call("POST", f"/orders/{order_id}/cancel").status_code == 200
    cancelled_while_ordering(shop)  # started and ended at 256
    shop.new_order()
    assert store.in_flight("order") == {1: 1}
    assert shop.call("GET", "/workflows/order").json_body["inFlight"] == 1
