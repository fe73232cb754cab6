"""A shop around the real Chalice app on moto: HTTP client, tokens, SQS delivery
(Lambda-shaped), timers on demand, and websocket connections that record what they get."""

from __future__ import annotations

import json
from typing import Any

import boto3
from chalice.test import Client

from chalicelib import registry
from chalicelib.runtime import auth, broadcast
from local.sqs_lambda import deliver_once, sqs_event

REGION = "us-east-1"
SECRET = "test-secret"

# every queue the app drains (logical id -> handler), as the registry wires them
QUEUES = {queue.logical: queue.handler for queue in registry.QUEUES}
# what settle() delivers: every queue but the timers
SETTLED = [q for q in QUEUES if q != "TimersQueue"]
PIZZA = {"name": "Tropical dream", "size": "large", "toppings": ["pineapple", "mango"]}


class Crash(BaseException):
    """A handler's process dying half-way: no handler catches it. An HTTP client sees a
    dropped connection; the SQS event source sees a failed invocation (whole batch)."""


class FakeSender(broadcast.Sender):
    """Collects what would go to each websocket connection; ``gone`` ones refuse."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.gone: set[str] = set()

    def send(self, connection_id: str, data: str) -> bool:
        if connection_id in self.gone:
            return False
        self.sent.setdefault(connection_id, []).append(json.loads(data))
        return True


class Shop:
    def __init__(self, client: Client, made: Any, sender: FakeSender) -> None:
        self.client = client
        self.made = made
        self.sender = sender
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.customer = auth.issue(SECRET, "alice")
        self.other = auth.issue(SECRET, "bob")
        self.staff = auth.issue(SECRET, "sam", roles=["staff"])

    def call(self, method: str, path: str, token: str | None = "customer", body: Any = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> Any:  # fmt: skip
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {self.token(token)}"
        sent.setdefault("Content-Type", "application/json")
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.http.request(method, path, headers=sent, body=data)

    # the tokens a test names (tests add ``manager``); any other string is sent as it is
    NAMED_TOKENS = ("customer", "other", "staff", "manager")

    def token(self, name: str) -> str:
        """The token ``name`` names (``"customer"``...), or ``name`` itself: a fuzzed token
        that happens to spell an attribute (``"sqs"``) is sent as the string it is."""
        return getattr(self, name) if name in self.NAMED_TOKENS else name

    def new_order(self, token: str = "customer") -> dict[str, Any]:
        response = self.call("POST", "/orders", token, {"pizza": PIZZA})
        assert response.status_code == 201, response.body
        return response.json_body

    def deliver_batch(self, queue: str) -> tuple[int, int]:
        """Run the queue's handler on one batch: (handled, failed)."""
        return deliver_once(
            self.sqs,
            self.made.queue_urls[queue],
            self.made.arns[queue],
            lambda event: self._invoke(QUEUES[queue], event),
            REGION,
        )

    def _invoke(self, handler: str, event: dict[str, Any]) -> Any:
        try:
            return self.client.lambda_.invoke(handler, event).payload
        except Crash as crash:
            raise RuntimeError(f"invocation died: {crash}") from None

    def ws(self, kind: str, connection_id: str, query: dict[str, str] | None = None) -> dict:
        """Invoke a websocket handler with an API Gateway-shaped event."""
        route = {"connect": "$connect", "message": "$default", "disconnect": "$disconnect"}[kind]
        event = {
            "requestContext": {
                "routeKey": route,
                "eventType": kind.upper(),
                "connectionId": connection_id,
                "domainName": "ws.example.invalid",
                "stage": "api",
                "apiId": "local",
            },
            "queryStringParameters": query,
            "body": "{}" if kind == "message" else None,
            "isBase64Encoded": False,
        }
        return self.client.lambda_.invoke(f"ws_{kind}", event).payload

    def deliver(self, queue: str) -> tuple[int, int]:
        """Run the queue's handler on everything waiting there (one batch at a time)."""
        handled = failed = 0
        while True:
            h, f = self.deliver_batch(queue)
            handled, failed = handled + h, failed + f
            if h == 0:
                return handled, failed

    def waiting(self, queue: str) -> list[dict[str, Any]]:
        """Peek at the messages on a queue (they become visible again at once)."""
        messages = self.sqs.receive_message(
            QueueUrl=self.made.queue_urls[queue], MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def stored(self, order_id: str) -> dict[str, Any]:
        item = boto3.client("dynamodb", region_name=REGION).get_item(
            TableName="tropical-pizzas",
            Key={"pk": {"S": f"order#{order_id}"}, "sk": {"S": "instance"}},
            ConsistentRead=True,
        )
        return item.get("Item", {})

    def fire_timers(self) -> int:
        """Deliver the timers waiting now, as if their delay had passed; returns how many.

        Timers those deliveries schedule wait for the next call.
        """
        url, arn = self.made.queue_urls["TimersQueue"], self.made.arns["TimersQueue"]
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        for message in messages:
            body = json.loads(message["Body"])
            body["dueAt"] = "2000-01-01T00:00:00.000Z"
            message["Body"] = json.dumps(body)
        if messages:
            result = self.client.lambda_.invoke("timer_events", sqs_event(messages, arn, REGION))
            assert result.payload["batchItemFailures"] == []
        for message in messages:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def settle(self, rounds: int = 10) -> None:
        """Deliver every queue (not timers) until nothing moves."""
        for _ in range(rounds):
            moved = sum(self.deliver(q)[0] for q in SETTLED)
            if not moved:
                return

    def history(self, order_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/orders/{order_id}/history").json_body["transitions"]

    def view(self, order_id: str) -> dict[str, Any]:
        return self.call("GET", f"/orders/{order_id}").json_body


def open_shop(made: Any):
    """A Shop on the real app; yields it and restores the websocket sender after."""
    from app import app

    sender = FakeSender()
    broadcast.use_sender(sender)
    try:
        with Client(app, stage_name="dev") as client:
            yield Shop(client, made, sender)
    finally:
        broadcast.use_sender(broadcast.Sender())
