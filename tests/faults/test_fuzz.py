"""Every route, websocket and queue handler under random hostile input, and the auth matrix.

"Nothing lost" here: never a 5xx or an unhandled exception; every 4xx has a JSON
body with ``error`` and ``message``; a refused request leaves the stored order
exactly as it was; a refused queue message fails as a 4xx WorkflowError (so it is
redelivered and reaches the DLQ), never as an unexpected exception type.

Inputs go up to and just past every limit: bodies around 16 KiB, nesting far
deeper than the decoder's stack, long Idempotency-Keys and path segments, NUL,
unicode and invalid UTF-8, and tokens whose segments are nested, huge or hold
NaN/Infinity, signed or not. ``FUZZ_EXAMPLES=2000`` runs each property that many
times (the default keeps this file near half a minute).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import app
from chalicelib.runtime import WorkflowError, auth
from chalicelib.runtime.shared import MAX_BODY_BYTES
from local.sqs_lambda import sqs_event
from tests.shop import PIZZA, QUEUES, REGION, SECRET

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))


def fuzz(default: int) -> settings:
    """Hypothesis settings: ``default`` examples unless FUZZ_EXAMPLES says otherwise."""
    return settings(
        max_examples=EXAMPLES or default,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one shop per test; each example checks it
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


ROUTES = [
    ("POST", "/orders"),
    ("GET", "/orders/{id}"),
    ("POST", "/orders/{id}/pizzas"),
    ("DELETE", "/orders/{id}/pizzas/{item}"),
    ("POST", "/orders/{id}/confirm"),
    ("POST", "/orders/{id}/cancel"),
    ("POST", "/orders/{id}/events"),
    ("GET", "/orders/{id}/history"),
    ("GET", "/orders/{id}/diagram"),
    ("GET", "/workflows/order"),
    ("GET", "/kitchen/orders"),
    ("POST", "/kitchen/orders/{id}/ready"),
    ("GET", "/delivery/orders"),
    ("POST", "/delivery/orders/{id}/delivered"),
]
WITH_BODY = [r for r in ROUTES if r[0] == "POST"]

# -- bodies -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
pizza_like = st.fixed_dictionaries(
    {"pizza": st.fixed_dictionaries(
        {"name": st.text(max_size=80), "size": st.sampled_from(["small", "huge", "", "LARGE"]),
         "toppings": st.lists(st.sampled_from(["mango", "anchovy", "kiwi", "", "mango"]), max_size=10)}
    )}
)  # fmt: skip
NOT_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" + "0" * 5000]


def nested(depth: int, kind: str, leaf: str = "1") -> str:
    """``depth`` levels of lists, objects or both around ``leaf``."""
    opens = {"list": ["["], "object": ['{"a":'], "mixed": ["[", '{"a":']}[kind]
    closing = {"[": "]", '{"a":': "}"}
    chain = [opens[i % len(opens)] for i in range(depth)]
    return "".join(chain) + leaf + "".join(closing[o] for o in reversed(chain))


depths = st.one_of(st.sampled_from([31, 32, 33, 1000, 3000, 6000]), st.integers(1, 6000))
nested_texts = st.builds(
    nested,
    depths,
    st.sampled_from(["list", "object", "mixed"]),
    st.sampled_from(["1", "null", '"x"', *NOT_JSON_NUMBERS[:4]]),
)


def of_size(size: int, filler: str) -> bytes:
    """A body of exactly ``size`` bytes: JSON padded with ``filler`` (or brackets)."""
    if filler == "brackets":
        return (b"[" * (size // 2) + b"]" * (size - size // 2))[:size]
    if filler == "spaces":
        return b'{"pizza": 1}' + b" " * (size - 12)
    unit = filler.encode()
    head, tail = b'{"pizza": "', b'"}'
    room = size - len(head) - len(tail)
    pad = unit * (room // len(unit)) + b"x" * (room % len(unit))
    return head + pad + tail


sized_bodies = st.builds(
    of_size,
    st.integers(MAX_BODY_BYTES - 64, MAX_BODY_BYTES + 64),
    st.sampled_from(["x", "\u00e9", "\u2603", "\U0001f355", "\\u0000", "spaces", "brackets"]),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.binary(min_size=MAX_BODY_BYTES - 16, max_size=MAX_BODY_BYTES + 16),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-16")),
    pizza_like.map(lambda v: json.dumps(v).encode()),
    pizza_like.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    nested_texts.map(str.encode),
    sized_bodies,
    st.sampled_from(NOT_JSON_NUMBERS).map(lambda n: f'{{"pizza": {n}, "reason": {n}}}'.encode()),
    st.sampled_from(
        [b"{", b"[]", b"null", b'{"type": "PIZZA_READY"}', b'{"type": 7}', b"\x00",
         b'{"reason": "\x00"}', b'{"reason": "\\u0000"}', b'{"reason": "\\ud800"}', b"\xff\xfe{}",
         b"\xef\xbb\xbf{}", b'{"type": "CANCEL_ORDER", "reason": "\xc3\x28"}']
    ),
)  # fmt: skip

# -- headers, paths, tokens -------------------------------------------------------------

segments = st.one_of(
    st.text(min_size=1, max_size=40).map(lambda s: quote(s, safe="")),
    st.text(min_size=1, max_size=3).map(lambda s: quote(s * 400, safe="")),
    st.sampled_from(["%ff%fe", "%00", "%C0%AF", "..", "%2e%2e", "next", "a" * 2000, "%E2%80%AE"]),
)
keys = st.one_of(
    st.none(),
    st.text(max_size=120),
    st.text(alphabet="abc-._:", min_size=95, max_size=105),
    st.integers(101, 20_000).map(lambda n: "k" * n),
    st.sampled_from(["\x00", "key\x00", "key\n", "\u00e9t\u00e9", "\U0001f355"]),
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_of(header: str, claims: str, signed: bool) -> str:
    """A token from raw JSON texts, signed with the app's secret or with garbage."""
    signing_input = f"{_b64(header.encode())}.{_b64(claims.encode())}"
    key = SECRET if signed else "not-the-secret"
    digest = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


def claims_text(user: str, exp: str, extra: str) -> str:
    return f'{{"sub": {json.dumps(user)}, "exp": {exp}{extra}}}'


FUTURE = str(int(time.time()) + 3600)
json_segments = st.one_of(
    json_values.map(json.dumps),
    nested_texts,
    st.integers(0, 12_000).map(lambda n: json.dumps({"alg": "HS256", "pad": "x" * n})),
    st.sampled_from(['{"alg":"HS256"}', '{"alg":"none"}', '{"alg":"HS256","n":NaN}', "[]", ""]),
)
token_strategy = st.one_of(
    st.sampled_from(["customer", "other", "staff", None]),
    st.text(max_size=200),
    st.integers(8000, 20_000).map(lambda n: "Bearer " + "a" * n),
    st.builds(
        token_of,
        json_segments,
        json_segments,
        st.booleans(),
    ),
    st.builds(
        token_of,
        st.just('{"alg":"HS256","typ":"JWT"}'),
        st.builds(
            claims_text,
            st.sampled_from(["alice", "", "\x00", "a" * 3000]),
            st.sampled_from([FUTURE, "0", "-1", '"soon"', "true", *NOT_JSON_NUMBERS]),
            st.sampled_from(
                [
                    "",
                    ', "nbf": NaN',
                    ', "nbf": 1e400',
                    ', "roles": ["staff"]',
                    ', "roles": "staff"',
                    f', "x": {nested(3000, "list")}',
                ]
            ),
        ),
        st.booleans(),
    ),
)

# -- checks -----------------------------------------------------------------------------


class Target:
    """The order requests aim at; a new one once a request may have changed it."""

    def __init__(self, shop) -> None:
        self.shop = shop
        self.order_id: str | None = None

    def get(self) -> str:
        if self.order_id is None:
            self.order_id = self.shop.new_order()["orderId"]
        return self.order_id

    def after(self, method: str, status: int) -> None:
        if method != "GET" and status < 400:
            self.order_id = None


@pytest.fixture
def target(shop):
    return Target(shop)


# API Gateway (and Chalice's local copy of it) answers a request without an
# Authorization header itself, before the authorizer runs, with this body
GATEWAY_NO_TOKEN = {"message": "Unauthorized"}


def check_refusal(status: int, body: bytes | str, sent_token: bool = True) -> None:
    """A 4xx (never a 5xx) that says, as JSON, what was wrong."""
    assert status < 500, (status, body[:300])
    if status >= 400:
        document = json.loads(body)
        if not sent_token and status == 401 and document == GATEWAY_NO_TOKEN:
            return
        assert isinstance(document, dict), document
        assert isinstance(document.get("error"), str) and document["error"], document
        assert isinstance(document.get("message"), str) and document["message"], document


def send(shop, target, route, body, segment, key, token, own) -> int:
    """Send one request at the target order and check the answer; returns its status."""
    method, path = route
    order_id = target.get()
    before = shop.stored(order_id)
    url = path.format(id=order_id if own else segment, item=segment)
    headers = {} if key is None else {"Idempotency-Key": key}
    response = shop.call(method, url, token, headers=headers, raw=body)
    check_refusal(response.status_code, response.body, sent_token=token is not None)
    if response.status_code >= 400:
        assert shop.stored(order_id) == before, (method, url, response.body[:300])
    target.after(method, response.status_code)
    return response.status_code


@fuzz(60)
@given(
    route=st.sampled_from(ROUTES),
    body=bodies,
    segment=segments,
    key=keys,
    own=st.booleans(),
    staff=st.booleans(),
)
def test_fuzzed_requests_never_fail_the_server_or_change_state(
    shop, target, route, body, segment, key, own, staff
):
    send(shop, target, route, body, segment, key, "staff" if staff else "customer", own)


@fuzz(25)
@given(route=st.sampled_from(WITH_BODY), body=st.one_of(sized_bodies, nested_texts.map(str.encode)))
def test_bodies_at_the_size_and_depth_limits_are_refused_cleanly(shop, target, route, body):
    status = send(shop, target, route, body, "x", None, "customer", True)
    if len(body) > MAX_BODY_BYTES:
        assert status == 413


@fuzz(40)
@given(route=st.sampled_from(ROUTES), token=token_strategy, own=st.booleans())
def test_fuzzed_tokens_are_401_with_a_message_or_valid(shop, target, route, token, own):
    send(shop, target, route, None, "x", None, token, own)


@fuzz(25)
@given(order=st.one_of(st.none(), segments, st.text(max_size=50)), token=token_strategy)
def test_fuzzed_websocket_connects_never_fail_the_server(shop, target, order, token):
    order_id = target.get()
    query = {"orderId": order_id if order is None else order}
    if token is not None:
        query["token"] = shop.token(token)
    answer = shop.ws("connect", "conn-fuzz", query)
    check_refusal(answer["statusCode"], answer.get("body") or "")
    if answer["statusCode"] == 200:
        shop.ws("disconnect", "conn-fuzz")


class Failures(logging.Handler):
    """The exceptions of the SQS records the handlers reported as failed."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1]:
            self.errors.append(record.exc_info[1])


@pytest.fixture
def failures():
    handler = Failures()
    app.log.addHandler(handler)
    yield handler.errors
    app.log.removeHandler(handler)


cloud_events = st.fixed_dictionaries(
    {"specversion": st.sampled_from(["1.0", "0.3", 1]), "id": st.text(max_size=20),
     "source": st.text(max_size=20),
     "type": st.sampled_from(["PIZZA_READY", "PIZZA_DELIVERED", "PIZZA_REJECTED", "MAKE_PIZZA",
                              "DELIVER_PIZZA", "CANCEL_PIZZA", "ADD_PIZZA", "X"])},
    optional={"subject": json_values, "time": json_values, "data": json_values},
)  # fmt: skip
timer_messages = st.fixed_dictionaries(
    {"workflow": st.sampled_from(["order", "nope", 7]), "instance": json_values,
     "scheduleId": json_values, "event": json_values, "dueAt": json_values, "token": json_values},
)  # fmt: skip
messages = st.one_of(
    st.text(max_size=300),
    nested_texts,
    cloud_events.map(json.dumps),
    st.tuples(cloud_events, nested_texts).map(
        lambda t: json.dumps(t[0])[:-1] + f', "data": {t[1]}}}'
    ),
    timer_messages.map(json.dumps),
    st.tuples(cloud_events, st.sampled_from(NOT_JSON_NUMBERS)).map(
        lambda t: json.dumps(t[0])[:-1] + f', "n": {t[1]}}}'
    ),
    st.integers(256 * 1024 - 8, 256 * 1024 + 8).map(lambda n: '"' + "x" * (n - 2) + '"'),
)


@fuzz(30)
@given(queue=st.sampled_from(list(QUEUES)), body=messages)
def test_fuzzed_queue_messages_fail_only_as_bad_input(shop, failures, queue, body):
    failures.clear()
    message = {"MessageId": "m-fuzz", "ReceiptHandle": "r-fuzz", "Body": body}
    event = sqs_event([message], shop.made.arns[queue], REGION)
    shop.client.lambda_.invoke(QUEUES[queue], event)
    for error in failures:
        assert isinstance(error, WorkflowError) and error.status < 500, repr(error)[:300]


# -- the auth matrix ------------------------------------------------------------------

TOKENS = {
    "no token": lambda shop: None,
    "expired": lambda shop: auth.issue(SECRET, "alice", ttl_seconds=-3600),
    "bad signature": lambda shop: auth.issue("wrong-secret", "alice"),
    "other customer": lambda shop: shop.other,
    "staff": lambda shop: shop.staff,
}
# what each caller gets on alice's order (still being ordered, so no station holds it)
EXPECTED = {
    "no token": {r: 401 for r in ROUTES},
    "expired": {r: 401 for r in ROUTES},
    "bad signature": {r: 401 for r in ROUTES},
    "other customer": {
        **{r: 404 for r in ROUTES if "{id}" in r[1]},
        ("POST", "/orders"): 201, ("GET", "/workflows/order"): 200,
        ("GET", "/kitchen/orders"): 403, ("POST", "/kitchen/orders/{id}/ready"): 403,
        ("GET", "/delivery/orders"): 403, ("POST", "/delivery/orders/{id}/delivered"): 403,
    },
    "staff": {
        **{r: 404 for r in ROUTES if "{id}" in r[1]},
        ("POST", "/orders"): 201, ("GET", "/workflows/order"): 200,
        ("GET", "/orders/{id}"): 200, ("GET", "/orders/{id}/history"): 200,
        ("GET", "/orders/{id}/diagram"): 200,
        ("GET", "/kitchen/orders"): 200, ("GET", "/delivery/orders"): 200,
    },
}  # fmt: skip


@pytest.mark.parametrize("who", TOKENS)
def test_auth_matrix(shop, who):
    order_id = shop.new_order()["orderId"]
    before = shop.stored(order_id)
    token = TOKENS[who](shop)
    got = {}
    for method, path in ROUTES:
        body = {"pizza": PIZZA} if path in ("/orders", "/orders/{id}/pizzas") else None
        if path.endswith("/events"):
            body = {"type": "CONFIRM_PIZZA"}
        response = shop.call(method, path.format(id=order_id, item="item-1"), token, body=body)
        got[(method, path)] = response.status_code
        check_refusal(response.status_code, response.body, sent_token=token is not None)
    assert got == EXPECTED[who]
    assert shop.stored(order_id) == before
