"""Messages duplicated, reordered, late, poisonous; crashes at each step of handling
an event; storage throttled and the bus failing. Every scenario runs a whole order
and checks that nothing is lost: the order ends ``done``, each event is in the
history exactly once, every command reached its queue, no station did the work
twice, and no message is left on any queue."""

from __future__ import annotations

import json

import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.registry import WORKFLOWS
from chalicelib.runtime import bus, clients, connections, intake, orchestrator, store, sweeper
from tests.shop import PIZZA, Crash

EXPECTED = [
    "ADD_PIZZA", "CONFIRM_PIZZA", "xstate.done.actor.sendOrderToKitchen", "PIZZA_READY",
    "xstate.done.actor.sendOrderToDelivery", "PIZZA_DELIVERED",
]  # fmt: skip


def _client(shop, method, path, body=None, key=None, token="customer"):
    """A client that retries 5xx answers with the same Idempotency-Key."""
    headers = {"Idempotency-Key": key} if key else {}
    for _ in range(8):
        try:
            response = shop.call(method, path, token, body=body, headers=headers)
        except Crash:
            continue  # the connection dropped: retry with the same key
        if response.status_code < 500:
            return response
    raise AssertionError(f"{method} {path} kept failing: {response.body}")


def _run_order(shop):
    """Place, confirm and finish an order through every queue, as clients, staff, SQS
    and the sweeper would, until it is done; returns its id."""
    placed = _client(shop, "POST", "/orders", {"pizza": PIZZA}, key="place-1")
    order_id = placed.json_body["orderId"]
    _client(shop, "POST", f"/orders/{order_id}/confirm", key="confirm-1")
    for _ in range(8):
        orchestrator_sweep()
        shop.settle()
        for station, route in (("kitchen", "ready"), ("delivery", "delivered")):
            held = _client(shop, "GET", f"/{station}/orders", token="staff").json_body["orders"]
            for work in held:
                shop.call("POST", f"/{station}/orders/{work['orderId']}/{route}", "staff")
        shop.settle()
        if shop.view(order_id)["done"]:
            break
    return order_id


def orchestrator_sweep():
    try:
        sweeper.sweep(WORKFLOWS, grace_seconds=0)
    except Crash:
        return


def _nothing_lost(shop, order_id):
    view = shop.view(order_id)
    assert view["state"] == "done", view
    events = [h["eventType"] for h in shop.history(order_id)]
    assert events == EXPECTED
    assert [h["version"] for h in shop.history(order_id)] == list(range(1, len(EXPECTED) + 1))
    stored = shop.stored(order_id)
    assert not [k for k in stored if k.startswith("ob_")] and "pendingShard" not in stored
    for station in ("kitchen", "delivery"):
        assert shop.call("GET", f"/{station}/orders", "staff").json_body["orders"] == []
    for queue in ("KitchenQueue", "DeliveryQueue", "OrderEventsQueue"):
        assert shop.waiting(queue) == [], queue
        dlq = shop.sqs.receive_message(QueueUrl=shop.made.queue_urls[f"{queue}DLQ"])
        assert "Messages" not in dlq, f"{queue} dead letters"


def _zero_visibility(shop):
    for url in shop.made.queue_urls.values():
        shop.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})


def test_every_message_delivered_twice(shop, monkeypatch):
    real = bus.publish
    copies = []

    def twice(event):
        copies.append(event["type"])
        real(event)
        return real(event)

    monkeypatch.setattr(bus, "publish", twice)
    order_id = _run_order(shop)
    assert sorted(copies) == sorted(
        ["MAKE_PIZZA", "PIZZA_READY", "DELIVER_PIZZA", "PIZZA_DELIVERED"]
    )
    _nothing_lost(shop, order_id)


def test_a_delayed_duplicate_after_the_order_finished_changes_nothing(shop):
    order_id = _run_order(shop)
    before = shop.stored(order_id)
    ready = bus.cloud_event(
        f"kitchen.{order_id}.PIZZA_READY", "PIZZA_READY", order_id, {"station": "kitchen"}, "t"
    )
    make = bus.cloud_event(
        f"order.{order_id}.v2.1", "MAKE_PIZZA", order_id, {"orderId": order_id}, "t"
    )
    bus.publish(ready)
    bus.publish(make)
    shop.settle()
    assert shop.stored(order_id) == before
    _nothing_lost(shop, order_id)


def test_report_before_the_invoke_completion_is_fed_back(shop, monkeypatch):
    """Out of order: the kitchen reports PIZZA_READY while the order still waits for the
    completion of its send (the process died between publishing and feeding it back)."""
    real = orchestrator.dispatch_outbox
    crashed = []

    def crash_after_publish(workflow, instance_id, outbox, version):
        if not crashed:
            crashed.append(True)
            for entry in outbox.values():
                bus.publish(entry["event"])
            raise Crash("process died after publishing")
        return real(workflow, instance_id, outbox, version)

    monkeypatch.setattr(orchestrator, "dispatch_outbox", crash_after_publish)
    order_id = shop.call("POST", "/orders", body={"pizza": PIZZA}).json_body["orderId"]
    with pytest.raises(Crash):
        shop.call("POST", f"/orders/{order_id}/confirm")
    assert shop.view(order_id)["state"] == {"bakePizza": "sendingOrderToKitchen"}
    shop.deliver("KitchenQueue")
    shop.call("POST", "/kitchen/orders/next/ready", "staff")
    shop.deliver("OrderEventsQueue")
    assert shop.view(order_id)["state"] == {"deliverPizza": "waitingForDelivery"}
    sweeper.sweep(WORKFLOWS, grace_seconds=0)  # re-drives MAKE_PIZZA; late completion
    shop.settle()
    shop.call("POST", "/delivery/orders/next/delivered", "staff")
    shop.settle()
    assert shop.view(order_id)["state"] == "done"
    events = [h["eventType"] for h in shop.history(order_id)]
    assert events.count("xstate.done.actor.sendOrderToKitchen") == 0
    assert events.count("PIZZA_READY") == 1


@pytest.mark.parametrize(
    "point", ["after load", "after commit, before publish", "after publish, before ack"]
)
def test_a_crash_at_each_point_of_handling_an_event(shop, monkeypatch, point):
    _zero_visibility(shop)
    crashes = []
    if point == "after load":
        real_commit = store.commit

        def commit(*args, **kwargs):
            if len(crashes) < 2:
                crashes.append(point)
                raise Crash(point)
            return real_commit(*args, **kwargs)

        monkeypatch.setattr(store, "commit", commit)
    elif point == "after commit, before publish":
        real_publish = bus.publish

        def publish(event):
            if len(crashes) < 2:
                crashes.append(point)
                raise Crash(point)
            return real_publish(event)

        monkeypatch.setattr(bus, "publish", publish)
    else:
        real_receive = intake.receive

        def receive(*args, **kwargs):
            outcome = real_receive(*args, **kwargs)
            if len(crashes) < 2:
                crashes.append(point)
                raise Crash(point)  # the work is done, but SQS never hears so
            return outcome

        monkeypatch.setattr(intake, "receive", receive)
    order_id = _run_order(shop)
    assert len(crashes) == 2
    _nothing_lost(shop, order_id)


def test_a_poison_message_goes_to_the_dlq_and_its_batch_is_processed(shop):
    _zero_visibility(shop)
    order_id = shop.call("POST", "/orders", body={"pizza": PIZZA}).json_body["orderId"]
    shop.call("POST", f"/orders/{order_id}/confirm")
    shop.deliver("KitchenQueue")
    shop.call("POST", "/kitchen/orders/next/ready", "staff")
    queue = shop.made.queue_urls["OrderEventsQueue"]
    shop.sqs.send_message(QueueUrl=queue, MessageBody='{"specversion": "1.0", "broken": true}')
    first = shop.deliver_batch("OrderEventsQueue")
    assert first == (1, 1)
    assert shop.view(order_id)["state"] == {"deliverPizza": "waitingForDelivery"}
    for _ in range(6):
        shop.deliver_batch("OrderEventsQueue")
    dead = shop.sqs.receive_message(QueueUrl=shop.made.queue_urls["OrderEventsQueueDLQ"])
    assert [json.loads(m["Body"])["broken"] for m in dead["Messages"]] == [True]
    assert shop.waiting("OrderEventsQueue") == []


def _inject(service: str, operation: str, status: int, code: str, times: int) -> list[int]:
    """Make the next ``times`` calls of an operation fail as they would once botocore's
    own retries are spent (the request is never applied)."""
    hits: list[int] = []

    def fail(**kwargs):
        if len(hits) >= times:
            return None
        hits.append(1)
        parsed = {
            "Error": {"Code": code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://injected", status, {}, None), parsed

    clients.client(service).meta.events.register(f"before-call.{service}.{operation}", fail)
    return hits


def test_throttled_storage_is_retried_and_nothing_is_lost(shop):
    hits = _inject(
        "dynamodb", "TransactWriteItems", 400, "ProvisionedThroughputExceededException", 3
    )
    order_id = _run_order(shop)
    assert len(hits) == 3
    _nothing_lost(shop, order_id)


def test_failing_publishes_are_redriven_from_the_outbox(shop):
    hits = _inject("sns", "Publish", 500, "InternalError", 2)  # below the give-up count
    order_id = _run_order(shop)
    assert len(hits) == 2
    _nothing_lost(shop, order_id)


def test_storage_unavailable_answers_503_and_changes_nothing(shop):
    order_id = shop.call("POST", "/orders", body={"pizza": PIZZA}).json_body["orderId"]
    before = shop.stored(order_id)
    _inject("dynamodb", "TransactWriteItems", 400, "ThrottlingException", 1)
    response = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    assert response.status_code == 503
    assert "storage error" in response.json_body["message"]
    assert shop.stored(order_id) == before


def test_a_websocket_client_that_vanishes_mid_broadcast(shop):
    order_id = shop.call("POST", "/orders", body={"pizza": PIZZA}).json_body["orderId"]
    for conn in ("a", "b", "c"):
        assert (
            shop.ws("connect", conn, {"orderId": order_id, "token": shop.customer})["statusCode"]
            == 200
        )
    real_send = shop.sender.send

    def flaky(connection_id, data):
        if connection_id == "b":
            raise ConnectionResetError("socket reset mid-send")
        if connection_id == "c":
            return False  # gone
        return real_send(connection_id, data)

    shop.sender.send = flaky
    view = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    assert view.status_code == 200
    assert len(shop.sender.sent["a"]) == 1
    assert sorted(connections.following(f"order#{order_id}")) == ["a", "b"]
    assert len(view.json_body["items"]) == 2
