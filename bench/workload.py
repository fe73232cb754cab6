"""Whole orders of each kind the scale model mixes, driven through the real Chalice
handlers on the embedded AWS (moto, in process) with ``bench.keys.KeyMeter`` attached.

Kinds (``KINDS``): ``delivered`` (place with one pizza, add a second, confirm with an
Idempotency-Key, kitchen, delivery, done; the customer reads the order twice over
HTTP), ``followed`` (the same, watched over a
websocket from placing to done),
``cancelled`` (placed, confirmed, cancelled while the kitchen holds it: compensated),
``refunded`` (delivered, then a complaint approved by staff and refunded by Payments).
Each ends with every durable timer it left running fired when due (the states they
time out were left, so each costs the read that finds it stale); the 15-minute hops a
longer timer takes on its way are counted from its recorded delay (``bench.capacity``).

Every HTTP request runs the API function and the token authorizer (its results are not
cached); every SQS batch one invocation of the queue's function, batches as the event
source mapping would hand them over (up to 10 messages).
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.keys import Call, KeyMeter

REGION = "us-east-1"
SECRET = "scale-secret"
PIZZA = {"name": "Hawaii", "size": "large", "toppings": ["pineapple", "mango"]}
KINDS = ("delivered", "followed", "cancelled", "refunded")
API, AUTHORIZER = "api", "authorizer"  # the REST API's function and its token authorizer
ENV = {
    "AWS_ACCESS_KEY_ID": "scale", "AWS_SECRET_ACCESS_KEY": "scale", "AWS_SESSION_TOKEN": "scale",
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "JWT_SECRET": SECRET,
    "TABLE_NAME": "tropical-pizzas", "WEBSOCKET_ENDPOINT": "https://ws.example.invalid/api",
    # quiet: the journal's lines and the metrics' EMF documents are not what is measured
    "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true",
}  # fmt: skip


@dataclass(slots=True)
class Usage:
    """What one order of a kind used: the app's AWS calls, API requests by route, SQS
    messages delivered by queue, Lambda invocations by function."""

    kind: str
    calls: list[Call] = field(default_factory=list)
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    messages: collections.Counter[str] = field(default_factory=collections.Counter)
    invocations: collections.Counter[str] = field(default_factory=collections.Counter)


@contextmanager
def embedded_aws() -> Iterator[Any]:
    """moto in process with every resource of infra/resources.json, the environment
    pointing at it, timers visible at once (fired explicitly). Yields what was made."""
    import boto3
    from moto import mock_aws

    from chalicelib.runtime import clients, timers
    from local.moto_server import light_transaction_backups
    from local.provision import provision

    light_transaction_backups()
    saved = {k: os.environ.get(k) for k in (*ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE", "TOPIC_ARN")}
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    os.environ.update(ENV)
    delay, timers.MAX_SQS_DELAY_SECONDS = timers.MAX_SQS_DELAY_SECONDS, 0
    clients.reset()
    try:
        with mock_aws():
            boto3.DEFAULT_SESSION = clients.session(REGION)
            made = provision(boto3.DEFAULT_SESSION)
            os.environ["TOPIC_ARN"] = made.refs["EventsTopic"]
            clients.reset()
            yield made
    finally:
        timers.MAX_SQS_DELAY_SECONDS = delay
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clients.reset()


class Shop:
    """Customers, staff and the event sources, around the real app."""

    def __init__(self, made: Any, meter: KeyMeter) -> None:
        import boto3
        from chalice.test import Client

        from app import app
        from chalicelib import registry
        from chalicelib.runtime import auth

        self.client = Client(app, stage_name="dev")
        self.made = made
        self.meter = meter
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.handlers = {q.logical: q.handler for q in registry.QUEUES}
        self.customer = auth.issue(SECRET, "scale-customer")
        self.staff = auth.issue(SECRET, "scale-staff", ["staff"])
        self.usage = Usage("warm-up")
        self.connections = 0

    def http(
        self, method: str, path: str, body: Any = None, staff: bool = False, key: str = ""
    ) -> Any:
        token = self.staff if staff else self.customer
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        route = f"{method} {_route(path)}"
        self.meter.function = API
        self.usage.requests[route] += 1
        self.usage.invocations[API] += 1
        self.usage.invocations[AUTHORIZER] += 1
        data = b"" if body is None else json.dumps(body).encode()
        response = self.client.http.request(method, path, headers=headers, body=data)
        assert response.status_code < 300, (route, response.status_code, response.body)
        return response.json_body

    def deliver(self, queue: str) -> int:
        """Every message waiting on ``queue``, batch by batch, to its function."""
        from local.sqs_lambda import deliver_once

        handler, total = self.handlers[queue], 0
        while True:
            self.meter.function = handler
            handled, failed = deliver_once(
                self.sqs, self.made.queue_urls[queue], self.made.arns[queue],
                lambda event: self.client.lambda_.invoke(handler, event).payload, REGION,
            )  # fmt: skip
            assert failed == 0, (queue, failed)
            if not handled:
                return total
            total += handled
            self.usage.messages[queue] += handled
            self.usage.invocations[handler] += 1

    def settle(self) -> None:
        """Deliver every queue but the timers until nothing moves."""
        queues = [q for q in self.handlers if q != "TimersQueue"]
        while sum(self.deliver(q) for q in queues):
            pass

    def fire_timers(self) -> None:
        """Every timer waiting, delivered as due (the order has left the states they
        time out), until none is left."""
        from local.sqs_lambda import sqs_event

        url, arn = self.made.queue_urls["TimersQueue"], self.made.arns["TimersQueue"]
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                body = json.loads(message["Body"])
                body["dueAt"] = "2000-01-01T00:00:00.000Z"
                message["Body"] = json.dumps(body)
            self.meter.function = "timer_events"
            payload = self.client.lambda_.invoke("timer_events", sqs_event(messages, arn, REGION))
            assert payload.payload["batchItemFailures"] == []
            self.usage.messages["TimersQueue"] += len(messages)
            self.usage.invocations["timer_events"] += 1
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def ws(self, kind: str, connection_id: str, order_id: str | None = None) -> None:
        route = {"connect": "$connect", "disconnect": "$disconnect"}[kind]
        query = {"workflow": "order", "id": order_id, "token": self.customer} if order_id else None
        event = {
            "requestContext": {
                "routeKey": route, "eventType": kind.upper(), "connectionId": connection_id,
                "domainName": "ws.example.invalid", "stage": "api", "apiId": "local",
            },
            "queryStringParameters": query, "body": None, "isBase64Encoded": False,
        }  # fmt: skip
        self.meter.function = f"ws_{kind}"
        self.usage.requests[f"websocket {route}"] += 1
        self.usage.invocations[f"ws_{kind}"] += 1
        assert self.client.lambda_.invoke(f"ws_{kind}", event).payload["statusCode"] == 200

    # -- the kinds --------------------------------------------------------------------

    def order(self, kind: str) -> Usage:
        """One whole order of ``kind``; returns what it used."""
        self.usage = Usage(kind)
        start = len(self.meter.calls)
        getattr(self, f"_{kind}")()
        self.fire_timers()
        self.usage.calls = self.meter.calls[start:]
        return self.usage

    def _placed(self) -> str:
        order_id = self.http("POST", "/orders", {"pizza": PIZZA})["orderId"]
        self.http("POST", f"/orders/{order_id}/pizzas", {"pizza": PIZZA})
        # a client that retries safely: the confirmation carries an Idempotency-Key
        self.http("POST", f"/orders/{order_id}/confirm", key=f"confirm-{order_id}")
        self.deliver("KitchenQueue")
        return order_id

    def _done(self, order_id: str) -> str:
        self.http("POST", f"/kitchen/orders/{order_id}/ready", staff=True)
        self.settle()
        self.http("POST", f"/delivery/orders/{order_id}/delivered", staff=True)
        self.settle()
        return order_id

    def _delivered(self) -> str:
        order_id = self._placed()
        self.http("GET", f"/orders/{order_id}")  # the customer looks once while it bakes
        self._done(order_id)
        self.http("GET", f"/orders/{order_id}")  # and once when it has come
        return order_id

    def _followed(self) -> None:
        order_id = self.http("POST", "/orders", {"pizza": PIZZA})["orderId"]
        self.connections += 1
        connection = f"conn-{self.connections}"
        self.ws("connect", connection, order_id)
        self.http("POST", f"/orders/{order_id}/pizzas", {"pizza": PIZZA})
        self.http("POST", f"/orders/{order_id}/confirm")
        self.deliver("KitchenQueue")
        self._done(order_id)
        self.ws("disconnect", connection)

    def _cancelled(self) -> None:
        order_id = self._placed()
        self.http("POST", f"/orders/{order_id}/cancel", {"reason": "changed my mind"})
        self.settle()

    def _refunded(self) -> None:
        order_id = self._delivered()
        self.http("POST", f"/orders/{order_id}/complaint", {"reason": "cold pizza"})
        self.http("POST", f"/complaints/{order_id}/decision", {"decision": "approve"}, staff=True)
        self.settle()
        self.http("POST", f"/payments/refunds/{order_id}.1/settled", staff=True)
        self.settle()


def _route(path: str) -> str:
    """A request path with its ids as placeholders (``/orders/{id}/confirm``)."""
    parts = path.strip("/").split("/")
    ids = {1: "orders", 2: "kitchen", 3: "delivery", 4: "complaints", 5: "payments"}
    out = []
    for i, part in enumerate(parts):
        known = part in ids.values() or part in (
            "pizzas", "confirm", "cancel", "ready", "delivered", "complaint", "decision",
            "refunds", "settled", "orders",
        )  # fmt: skip
        out.append(part if known or i == 0 else "{id}")
    return "/" + "/".join(out)


def measure(kinds: tuple[str, ...] = KINDS, each: int = 1) -> dict[str, list[Usage]]:
    """``each`` whole orders of every kind (after one warm-up order that fills the
    process's caches), metered: kind -> one Usage per order."""
    with embedded_aws() as made:
        meter = KeyMeter(None, REGION)
        with meter.metering():
            shop = Shop(made, meter)
            shop.order("delivered")  # warm-up: queue URL and key lookups, not counted
            return {kind: [shop.order(kind) for _ in range(each)] for kind in kinds}
