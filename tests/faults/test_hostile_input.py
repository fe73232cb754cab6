"""Hostile input through the real Chalice handlers: never a 5xx or a crash, always a
4xx (or a failed SQS record that is a BadRequest) saying what is wrong, nothing changed.

Each case here answered 500, crashed the handler, or was accepted before the
input hardening of issue 9 (item 8).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

import pytest
from botocore.awsrequest import AWSResponse

from app import app
from chalicelib.runtime import BadRequest, clients
from local.sqs_lambda import sqs_event
from tests.shop import QUEUES, REGION, SECRET

NESTED_LIST = "[" * 5000 + "]" * 5000
NESTED_OBJECT = '{"a":' * 2500 + "1" + "}" * 2500
FUTURE = int(time.time()) + 3600
DEEP_BUT_UNDER_8_KIB = "[" * 2500 + "]" * 2500  # 2500 levels, yet a token under 8 KiB


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _signed(claims: str, header: str = '{"alg":"HS256","typ":"JWT"}') -> str:
    signing_input = f"{_b64(header)}.{_b64(claims)}"
    digest = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def _refused(response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.body
    body = json.loads(response.body)
    assert body["error"] and fragment in body["message"], body


@pytest.mark.parametrize("body", [NESTED_LIST, NESTED_OBJECT], ids=["list", "object"])
@pytest.mark.parametrize("route", ["/orders", "/orders/{id}/pizzas", "/orders/{id}/events"])
def test_a_body_of_nested_brackets_is_400_and_changes_nothing(shop, route, body):
    order_id = shop.new_order()["orderId"]
    before = shop.stored(order_id)
    response = shop.call("POST", route.format(id=order_id), raw=body.encode())
    _refused(response, 400, "nested deeper than 32 levels")
    assert shop.stored(order_id) == before


HOSTILE_TOKENS = {
    "nested header": (f"{_b64(DEEP_BUT_UNDER_8_KIB)}.{_b64('{}')}.x", "malformed token header"),
    "nested claims": (f"{_b64('{}')}.{_b64(DEEP_BUT_UNDER_8_KIB)}.x", "malformed token claims"),
    "exp NaN": (_signed('{"sub": "alice", "exp": NaN}'), "NaN is not a JSON number"),
    "exp Infinity": (_signed('{"sub": "alice", "exp": Infinity}'), "Infinity is not a JSON"),
    "exp -Infinity": (_signed('{"sub": "alice", "exp": -Infinity}'), "-Infinity is not a"),
    "exp 1e400": (_signed('{"sub": "alice", "exp": 1e400}'), "1e400 is out of range"),
    "nbf NaN": (_signed(f'{{"sub": "alice", "exp": {FUTURE}, "nbf": NaN}}'), "NaN is not"),
    "exp 10**400": (_signed(f'{{"sub": "alice", "exp": 1{"0" * 400}}}'), "no valid 'exp'"),
    "over 8 KiB": ("x" * 9000, "the limit is 8192"),
}


@pytest.mark.parametrize("token, fragment", HOSTILE_TOKENS.values(), ids=HOSTILE_TOKENS.keys())
def test_a_hostile_token_is_401_with_a_message_over_http_and_websocket(shop, token, fragment):
    order_id = shop.new_order()["orderId"]
    before = shop.stored(order_id)
    _refused(shop.call("GET", f"/orders/{order_id}", token), 401, fragment)
    _refused(shop.call("POST", f"/orders/{order_id}/confirm", token), 401, fragment)
    _refused(shop.call("GET", "/kitchen/orders", token), 401, fragment)
    answer = shop.ws("connect", "conn-1", {"orderId": order_id, "token": token})
    assert answer["statusCode"] == 401, answer
    assert fragment in json.loads(answer["body"])["message"]
    assert shop.ws("message", "conn-1")["statusCode"] == 404  # it follows nothing
    assert shop.stored(order_id) == before


class _Failures(logging.Handler):
    """The exception types of the records an SQS handler reported as failed."""

    def __init__(self) -> None:
        super().__init__()
        self.types: list[type] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0]:
            self.types.append(record.exc_info[0])


@pytest.fixture
def failures():
    handler = _Failures()
    app.log.addHandler(handler)
    yield handler.types
    app.log.removeHandler(handler)


def _invoke(shop, queue: str, body: str) -> list[dict]:
    """Run the queue's handler on one record with this body (no SQS size limit in the way)."""
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": body}
    event = sqs_event([message], shop.made.arns[queue], REGION)
    return shop.client.lambda_.invoke(QUEUES[queue], event).payload["batchItemFailures"]


def _baking(shop) -> str:
    order_id = shop.new_order()["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    shop.deliver("KitchenQueue")
    assert shop.view(order_id)["state"] == {"bakePizza": "waitingForPizzaToBeBaked"}
    return order_id


def _pizza_ready(order_id: str, time_json: str = '"2026-01-01T00:00:00.000Z"', data=None) -> str:
    event = {
        "specversion": "1.0",
        "id": f"kitchen.{order_id}.ready",
        "source": "tropical-pizzas/kitchen",
        "type": "PIZZA_READY",
        "subject": order_id,
        "data": {"station": "kitchen"} if data is None else data,
    }
    return json.dumps(event)[:-1] + f', "time": {time_json}}}'


BUS_BODIES = {
    "nested": lambda order_id: "[" * 100_000 + "]" * 100_000,
    "NaN time": lambda order_id: _pizza_ready(order_id, "NaN"),
    "Infinity time": lambda order_id: _pizza_ready(order_id, "Infinity"),
    "1e400 in data": lambda order_id: (
        _pizza_ready(order_id, data={"station": "kitchen"})[:-1]
        + ', "data": {"station": "kitchen", "n": 1e400}}'
    ),
    "nested data": lambda order_id: (
        _pizza_ready(order_id)[:-1]
        + ', "data": {"station": "kitchen", "n": %s}}' % ("[" * 2000 + "]" * 2000)
    ),
    "time an object": lambda order_id: _pizza_ready(order_id, '{"at": 1}'),
    "over 256 KiB": lambda order_id: _pizza_ready(
        order_id, data={"station": "kitchen", "pad": "x" * 256 * 1024}
    ),
}


@pytest.mark.parametrize("make", BUS_BODIES.values(), ids=BUS_BODIES.keys())
def test_a_hostile_order_event_is_a_failed_bad_request_and_changes_nothing(shop, failures, make):
    order_id = _baking(shop)
    before = shop.stored(order_id)
    assert _invoke(shop, "OrderEventsQueue", make(order_id)) == [{"itemIdentifier": "m-1"}]
    assert failures == [BadRequest]
    assert shop.stored(order_id) == before


STATION_BODIES = {
    "nested": "[" * 100_000,
    "data a list": json.dumps(
        {"specversion": "1.0", "id": "c-1", "source": "s", "type": "MAKE_PIZZA", "data": [1]}
    ),
    "data a string": json.dumps(
        {"specversion": "1.0", "id": "c-2", "source": "s", "type": "MAKE_PIZZA", "data": "o"}
    ),
    "NaN in data": '{"specversion": "1.0", "id": "c-3", "source": "s", "type": "MAKE_PIZZA",'
    ' "subject": "o", "data": {"orderId": "o", "items": [NaN]}}',
}


@pytest.mark.parametrize("body", STATION_BODIES.values(), ids=STATION_BODIES.keys())
def test_a_hostile_station_command_is_a_failed_bad_request(shop, failures, body):
    assert _invoke(shop, "KitchenQueue", body) == [{"itemIdentifier": "m-1"}]
    assert failures == [BadRequest]
    assert shop.call("GET", "/kitchen/orders", "staff").json_body["orders"] == []


def _timer(order_id: str, extra: str = "") -> str:
    body = {
        "workflow": "order",
        "instance": order_id,
        "scheduleId": "xstate.after.ORDER_TIMEOUT.order.bakePizza",
        "event": {"type": "xstate.after.ORDER_TIMEOUT.order.bakePizza"},
        "dueAt": "2000-01-01T00:00:00.000Z",
        "token": "t-1",
    }
    return json.dumps(body)[:-1] + extra + "}"


TIMER_BODIES = {
    "nested": lambda order_id: '{"a":' * 40_000 + "1" + "}" * 40_000,
    "NaN": lambda order_id: _timer(order_id, ', "n": NaN'),
    "1e400": lambda order_id: _timer(order_id, ', "n": 1e400'),
    "nested field": lambda order_id: _timer(order_id, ', "n": ' + "[" * 2000 + "]" * 2000),
    "over 256 KiB": lambda order_id: _timer(order_id, ', "pad": "%s"' % ("x" * 256 * 1024)),
    "dueAt a number": lambda order_id: _timer(order_id)[:-1] + ', "dueAt": 5}',
}


@pytest.mark.parametrize("make", TIMER_BODIES.values(), ids=TIMER_BODIES.keys())
def test_a_hostile_timer_message_is_a_failed_bad_request_and_changes_nothing(shop, failures, make):
    order_id = _baking(shop)
    before = shop.stored(order_id)
    assert _invoke(shop, "TimersQueue", make(order_id)) == [{"itemIdentifier": "m-1"}]
    assert failures == [BadRequest]
    assert shop.stored(order_id) == before


def test_a_nested_message_reaches_the_dlq_after_five_receives(shop, failures):
    for url in shop.made.queue_urls.values():
        shop.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    nested = "[" * 100_000 + "]" * 100_000
    shop.sqs.send_message(QueueUrl=shop.made.queue_urls["OrderEventsQueue"], MessageBody=nested)
    for _ in range(6):
        shop.deliver_batch("OrderEventsQueue")
    assert failures == [BadRequest] * 5
    dead = shop.sqs.receive_message(QueueUrl=shop.made.queue_urls["OrderEventsQueueDLQ"])
    assert [m["Body"] for m in dead["Messages"]] == [nested]


def _dynamodb_key_limits() -> None:
    """Make moto refuse keys as DynamoDB does on every call (moto checks only on writes):
    a partition key over 2048 bytes or a sort key over 1024 is a ValidationException."""

    def check(params, **_):
        request = json.loads(params["body"] or b"{}")
        key = request.get("Key", {})
        values = request.get("ExpressionAttributeValues", {})
        sizes = [(key.get("pk", {}), 2048), (key.get("sk", {}), 1024)]
        sizes.append((values.get(":pk", {}), 2048))
        if any(len(value.get("S", "").encode()) > limit for value, limit in sizes):
            parsed = {"Error": {"Code": "ValidationException", "Message": "key too large"}}
            return AWSResponse("https://emulated", 400, {}, None), parsed
        return None

    clients.client("dynamodb").meta.events.register("before-call.dynamodb.*", check)


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/orders/{long}"), ("GET", "/orders/{long}/history"),
     ("POST", "/orders/{long}/confirm"), ("DELETE", "/orders/{long}/pizzas/item-1")],
)  # fmt: skip
def test_an_order_id_longer_than_a_dynamodb_key_is_404_not_503(shop, method, path):
    _dynamodb_key_limits()
    response = shop.call(method, path.format(long="a" * 2100))
    _refused(response, 404, "no order")


def test_a_websocket_order_id_longer_than_a_dynamodb_key_is_404_not_503(shop):
    _dynamodb_key_limits()
    answer = shop.ws("connect", "conn-1", {"orderId": "a" * 2100, "token": shop.customer})
    assert answer["statusCode"] == 404, answer
