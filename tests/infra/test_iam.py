"""Each function's role against the calls its code really makes.

Every AWS call is recorded while one function's handler runs through the real app on
moto (a whole order: place, confirm, the stations, the bus, timers, the sweeper,
websockets); each recorded call must be an action that function's role in
infra/resources.json grants. A code path that starts calling something new fails here
until the generator grants it to exactly the functions that need it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from chalicelib import registry
from chalicelib.runtime import Unavailable, auth, bus, clients
from local.provision import load_template
from tests.conftest import REGION, SECRET
from tests.infra.grants import PROVEN, granted_actions
from tests.shop import PIZZA

# a transaction is authorised item by item, by the action each item performs
_TRANSACT = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_PREFIX = {
    "dynamodb": "dynamodb",
    "sns": "sns",
    "sqs": "sqs",
    "secretsmanager": "secretsmanager",
    "apigatewaymanagementapi": "execute-api",
}


class Calls:
    """The IAM actions of every AWS call made while recording."""

    def __init__(self) -> None:
        self.actions: set[str] = set()

    def add(self, service: str, operation: str, params: dict[str, Any]) -> None:
        if operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                self.actions |= {_TRANSACT[kind] for kind in item}
        elif service == "apigatewaymanagementapi":
            self.actions.add("execute-api:ManageConnections")
        else:
            self.actions.add(f"{_PREFIX[service]}:{operation}")


@pytest.fixture
def calls(monkeypatch):
    """Records every boto3 call the app makes; ``calls.during()`` scopes one function."""
    current: list[Calls] = []
    original = BaseClient._make_api_call

    def recorded(self, operation, params):
        # the app's clients (runtime/clients.py) have 2 s connect timeouts; the test
        # harness's own (delivering SQS batches as Lambda would) keep botocore's 60 s
        if current and self.meta.config.connect_timeout == 2:
            current[-1].add(self.meta.service_model.service_name, operation, params)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)

    @contextmanager
    def during() -> Iterator[Calls]:
        made = Calls()
        current.append(made)
        try:
            yield made
        finally:
            current.pop()

    return during


def _granted(function: str) -> set[str]:
    return granted_actions(load_template()["Resources"], function)


def test_every_registered_consumer_is_granted_what_its_kind_is_proven_to_call():
    """The scenarios prove the order events and kitchen commands consumers' grants by
    their calls; any other registered workflow or service gets its kind's grants (so a
    new one is covered with no test of its own)."""
    resources = load_template()["Resources"]
    for queue in registry.QUEUES:
        own = granted_actions(resources, _chalice_id(queue.handler))
        assert own == granted_actions(resources, PROVEN[queue.kind]), queue.handler


def _chalice_id(handler: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in handler.split("_"))


class RecordingSender:
    """Websocket pushes recorded as the management API call the real sender makes."""

    def send(self, connection_id: str, data: str) -> bool:
        made = _recording[-1] if _recording else None
        if made is not None:
            made.add("apigatewaymanagementapi", "PostToConnection", {})
        return True


_recording: list[Calls] = []


@contextmanager
def _as(function: str, calls, seen: dict[str, set[str]]) -> Iterator[None]:
    with calls() as made:
        _recording.append(made)
        try:
            yield
        finally:
            _recording.pop()
    seen.setdefault(function, set()).update(made.actions)


def test_every_call_each_function_makes_is_granted_to_its_role(shop, calls, monkeypatch):
    from chalicelib.runtime import broadcast

    broadcast.use_sender(RecordingSender())
    seen: dict[str, set[str]] = {}
    with _as("APIHandler", calls, seen):
        order = shop.call("POST", "/orders", "customer", {"pizza": PIZZA}).json_body
    order_id = order["orderId"]
    with _as("WebsocketConnect", calls, seen):
        shop.ws("connect", "c1", {"workflow": "order", "id": order_id, "token": shop.customer})
    with _as("WebsocketMessage", calls, seen):
        shop.ws("message", "c1")
    with _as("APIHandler", calls, seen):
        shop.call("POST", f"/orders/{order_id}/confirm")
        shop.call("GET", f"/orders/{order_id}/history")
        shop.call("GET", "/kitchen/orders", "staff")
    for _ in range(6):  # the whole order: every queue in turn, then the staff routes
        for queue in registry.QUEUES:
            if queue.kind == "timers":
                continue
            with _as(_chalice_id(queue.handler), calls, seen):
                shop.deliver(queue.logical)
        with _as("APIHandler", calls, seen):
            shop.call("POST", "/kitchen/orders/next/ready", "staff")
            shop.call("POST", "/delivery/orders/next/delivered", "staff")
    with _as("TimerEvents", calls, seen):
        shop.fire_timers()
    # the sweeper: an outbox left by a failed publish, swept at once
    second = shop.new_order()
    publish = bus.publish
    monkeypatch.setattr(bus, "publish", _down)
    shop.call("POST", f"/orders/{second['orderId']}/confirm")
    monkeypatch.setattr(bus, "publish", publish)
    monkeypatch.setenv("OUTBOX_GRACE_SECONDS", "0")
    clients.reset()
    with _as("OutboxSweeper", calls, seen):
        shop.client.lambda_.invoke("outbox_sweeper", SCHEDULED)
    with _as("WebsocketDisconnect", calls, seen):
        shop.ws("disconnect", "c1")
    assert shop.view(order_id)["state"] == "done", "the scenario must take the order to done"
    for function, actions in seen.items():
        missing = actions - _granted(function)
        assert not missing, f"{function} calls {sorted(missing)}, which its role does not grant"
    # the scenario exercised what it claims to: writes, publishes, timers, pushes
    assert {"dynamodb:PutItem", "sns:Publish", "sqs:SendMessage"} <= seen["APIHandler"]
    assert "execute-api:ManageConnections" in seen["APIHandler"] | seen["OrderEvents"]
    assert "sns:Publish" in seen["OutboxSweeper"] and seen["KitchenCommands"]
    _no_table_grant_beyond_the_calls(seen, set(seen) - _COMPLAINT_SCENARIO - _PIZZA_SCENARIO)


SCHEDULED = {
    "version": "0",
    "id": "sweep-1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-29T00:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/outbox-sweeper"],
    "detail": {},
}


def _down(event: Any) -> str:
    raise Unavailable("bus down")


def test_the_authorizer_reads_only_the_signing_key_from_secrets_manager(aws, calls, monkeypatch):
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(Name="signing-key", SecretString=SECRET)["ARN"]
    monkeypatch.delenv("JWT_SECRET")
    monkeypatch.setenv("JWT_SECRET_ARN", arn)
    clients.reset()
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {auth.issue(SECRET, 'alice')}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/orders",
    }
    with calls() as made:
        allowed = _authorize(event)
    assert allowed["principalId"] == "alice"
    assert made.actions == {"secretsmanager:GetSecretValue"} <= _granted("JwtAuthorizer")
    with calls() as again:
        _authorize(event)
    assert again.actions == set()  # read once per process
    granted = _granted("JwtAuthorizer")
    assert not {a for a in granted if a.startswith(("dynamodb:", "sns:", "sqs:"))}
    for function in ("APIHandler", "OrderEvents", "OutboxSweeper"):
        assert "secretsmanager:GetSecretValue" not in _granted(function)
    clients.reset()


def _authorize(event: dict[str, Any]) -> dict[str, Any]:
    import app as module

    return module.jwt_authorizer(event, None)


def test_queue_consumers_may_read_only_their_own_queue():
    resources = load_template()["Resources"]
    for queue in registry.QUEUES:
        role = resources[f"{_chalice_id(queue.handler)}Role"]["Properties"]["Policies"][0]
        [consume] = [s for s in role["PolicyDocument"]["Statement"] if s.get("Sid") == "Consume"]
        assert consume["Resource"] == {"Fn::GetAtt": [queue.logical, "Arn"]}
    assert json.dumps(resources).count('"sqs:ReceiveMessage"') == len(registry.QUEUES)


def test_the_complaint_and_payments_functions_are_granted_what_they_call(shop, calls, monkeypatch):
    """The order scenario above never reaches the complaint workflow: its events queue,
    the Payments station's commands and the staff's complaint, refund and kitchen
    reject routes run here, through a refund declined once then settled."""
    from chalicelib.runtime import broadcast
    from tests.complaints.conftest import deliver_order

    broadcast.use_sender(RecordingSender())
    monkeypatch.setenv("PAYMENTS_FAIL_ATTEMPTS", "1")
    seen: dict[str, set[str]] = {}
    order_id = deliver_order(shop)
    rejected = shop.new_order()["orderId"]
    with _as("APIHandler", calls, seen):
        shop.call("POST", f"/orders/{rejected}/confirm")
        shop.call("POST", f"/orders/{order_id}/complaint", body={"reason": "cold"})
        shop.call("GET", "/complaints", "staff")
        shop.call("POST", f"/complaints/{order_id}/claim", "staff")
        shop.call("POST", f"/complaints/{order_id}/decision", "staff", {"decision": "approve"})
    with _as("WebsocketConnect", calls, seen):
        query = {"workflow": "complaint", "id": order_id, "token": shop.customer}
        shop.ws("connect", "c2", query)
    for _ in range(4):
        for queue in registry.QUEUES:
            if queue.kind != "timers":
                with _as(_chalice_id(queue.handler), calls, seen):
                    shop.deliver(queue.logical)
        with _as("TimerEvents", calls, seen):
            shop.fire_timers()
        with _as("APIHandler", calls, seen):
            shop.call("GET", "/payments/refunds", "staff")
            shop.call("POST", "/payments/refunds/next/settled", "staff")
            shop.call("POST", f"/kitchen/orders/{rejected}/rejected", "staff", {"reason": "x"})
    complaint = shop.call("GET", f"/orders/{order_id}/complaint", "staff").json_body
    assert complaint["state"] == "refunded", complaint["state"]
    for function, actions in seen.items():
        missing = actions - _granted(function)
        assert not missing, f"{function} calls {sorted(missing)}, which its role does not grant"
    assert "sns:Publish" in seen["PaymentsCommands"]  # the declined attempt's report
    assert "dynamodb:UpdateItem" in seen["ComplaintEvents"]  # the refund reports applied
    _no_table_grant_beyond_the_calls(seen, _COMPLAINT_SCENARIO)


def test_the_pizza_and_oven_functions_are_granted_what_they_call(shop, calls):
    """Orders start on chart version 1, which bakes no pizza: a pizza instance is started
    here as an order's spawn starts it, then its BAKE_PIZZA goes through the oven's
    queue, staff burn one bake and finish the next, and the reports reach the pizza."""
    from chalicelib.runtime import broadcast
    from tests.pizzas.test_oven_round_trip import ORDER_ID, start_pizza

    broadcast.use_sender(RecordingSender())
    seen: dict[str, set[str]] = {}
    instance = start_pizza("item-1")
    for round_ in range(3):
        for queue in registry.QUEUES:
            if queue.kind != "timers":
                with _as(_chalice_id(queue.handler), calls, seen):
                    shop.deliver(queue.logical)
        with _as("APIHandler", calls, seen):
            if round_ == 0:  # burnt: the pizza sends a second BAKE_PIZZA
                burnt = f"/stations/oven/work/{ORDER_ID}.item-1.1/rejected"
                assert shop.call("POST", burnt, "staff", {"reason": "x"}).status_code == 200
            else:
                shop.call("POST", "/stations/oven/work/next/finished", "staff")
    pizza = shop.call("GET", f"/workflows/pizza/instances/{instance}", "staff").json_body
    assert pizza["state"] == "baked" and pizza["view"]["attempts"] == 2, pizza["state"]
    for function, actions in seen.items():
        missing = actions - _granted(function)
        assert not missing, f"{function} calls {sorted(missing)}, which its role does not grant"
    assert "sns:Publish" in seen["OvenCommands"] | seen["APIHandler"]
    assert "dynamodb:UpdateItem" in seen["PizzaEvents"]  # the oven's reports applied
    _no_table_grant_beyond_the_calls(seen, _PIZZA_SCENARIO)


# checked after the complaint scenario, whose timers (unlike the order's) commit
_COMPLAINT_SCENARIO = {"ComplaintEvents", "PaymentsCommands", "TimerEvents"}
# checked in the pizza scenario (orders on version 1 start no pizza)
_PIZZA_SCENARIO = {"PizzaEvents", "OvenCommands"}
# table actions granted for code paths these scenarios do not reach: which functions, why
_UNREACHED_BY = {
    # the orchestrator (and follow.push_current_view) forget a connection API Gateway
    # says is gone: a transaction of a Delete and an Update
    "dynamodb:DeleteItem": {"APIHandler", "OrderEvents", "ComplaintEvents", "PizzaEvents",
                            "TimerEvents", "OutboxSweeper", "WebsocketMessage"},
    "dynamodb:UpdateItem": {"WebsocketMessage"},
    # a station reads who settled a subject when its conditional update is refused
    "dynamodb:GetItem": {"KitchenCommands", "DeliveryCommands", "PaymentsCommands", "OvenCommands"},
    # staff settle a refund (a transaction with a condition check) in the complaint
    # scenario only (which fails when APIHandler is not granted it)
    "dynamodb:ConditionCheckItem": {"APIHandler"},
}  # fmt: skip


def _no_table_grant_beyond_the_calls(seen: dict[str, set[str]], functions: set[str]) -> None:
    """Each function's table grants are the table calls it was seen making, plus only the
    named calls of paths these scenarios do not reach."""
    for function in functions:
        granted = {a for a in _granted(function) if a.startswith("dynamodb:")}
        extra = {a for a in granted - seen[function] if function not in _UNREACHED_BY.get(a, ())}
        assert not extra, f"{function} is granted {sorted(extra)} and never calls it"
