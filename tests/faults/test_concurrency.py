"""16 concurrent events on one order against the serialised local moto server:
no lost update, every accepted event in the history exactly once."""

from __future__ import annotations

import threading

import boto3
import pytest

from chalicelib.orders.service import ORDERS
from chalicelib.runtime import clients, clock, orchestrator, store
from chalicelib.runtime.errors import Conflict
from chalicelib.runtime.orchestrator import CLIENT, Incoming
from local.provision import provision
from tests.conftest import REGION
from tests.shop import PIZZA

WRITERS = 16


@pytest.fixture
def moto_stack(moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    made = provision(boto3.session.Session(region_name=REGION), moto_server.url)
    monkeypatch.setenv("TOPIC_ARN", made.refs["EventsTopic"])
    clients.reset()
    yield made
    clients.reset()


def test_concurrent_events_on_one_order_lose_nothing(moto_stack):
    order_id = "concurrent-1"
    add = {"type": "ADD_PIZZA", "pizza": PIZZA, "time": clock.now()}
    orchestrator.start(
        ORDERS, order_id, "alice", {"orderId": order_id, "customerId": "alice"},
        Incoming(add, "e-0", CLIENT),
    )  # fmt: skip
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    conflicts: list[int] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for _ in range(5):  # a 409 Conflict tells the client to retry
                try:
                    incoming = Incoming(add, f"e-{n}", CLIENT, caller="alice", keyed=True)
                    orchestrator.send(ORDERS, order_id, incoming)
                    return
                except Conflict:
                    conflicts.append(n)
            raise AssertionError(f"writer {n} never got through")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(1, WRITERS + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    instance = store.load(ORDERS.key(order_id))
    assert instance.version == WRITERS + 1
    items = instance.snapshot["context"]["items"]
    assert len(items) == WRITERS + 1
    assert len({i["itemId"] for i in items}) == WRITERS + 1
    history = store.history(ORDERS.key(order_id))
    assert [h["version"] for h in history] == list(range(1, WRITERS + 2))
    assert sorted(h["eventId"] for h in history) == sorted(f"e-{n}" for n in range(WRITERS + 1))
