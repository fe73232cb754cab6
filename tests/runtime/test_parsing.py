"""Request bodies, bus messages and timer messages: every bad one is a BadRequest."""

from __future__ import annotations

import json

import pytest

from chalicelib.runtime import (
    BadRequest,
    PayloadTooLarge,
    bus,
    idempotency_key,
    json_object,
    timers,
)
from chalicelib.runtime.shared import MAX_BODY_BYTES, decode_json
from chalicelib.runtime.shared.requests import MAX_DEPTH

CLOUD_EVENT = {"specversion": "1.0", "id": "1", "source": "s", "type": "T", "subject": "o"}
TIMER = {
    "workflow": "order",
    "instance": "o",
    "scheduleId": "xstate.after.1000.order.a",
    "event": {"type": "xstate.after.1000.order.a"},
    "dueAt": "2000-01-01T00:00:00.000Z",
    "token": "t",
}


def _with(base: dict, key: str, raw: str) -> str:
    """``base`` as JSON with ``key`` set to the JSON text ``raw`` (which json.dumps cannot make)."""
    return json.dumps(base)[:-1] + f', "{key}": {raw}}}'


def _nested(depth: int, kind: str = "list") -> str:
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


def test_json_object_bounds_and_shapes():
    assert json_object(b'{"a": 1}') == {"a": 1}
    assert json_object(b"", required=False) == {}
    with pytest.raises(BadRequest, match="required"):
        json_object(b"  ")
    with pytest.raises(BadRequest, match="malformed JSON"):
        json_object(b"{nope")
    with pytest.raises(BadRequest, match="not list"):
        json_object(b"[]")
    with pytest.raises(PayloadTooLarge):
        json_object(b" " * (MAX_BODY_BYTES + 1))


@pytest.mark.parametrize("kind", ["list", "object"])
def test_a_body_of_nested_brackets_is_a_bad_request_not_a_recursion_error(kind):
    body = _nested(5000 if kind == "list" else 2500, kind).encode()
    assert len(body) <= MAX_BODY_BYTES
    with pytest.raises(BadRequest, match=f"nested deeper than {MAX_DEPTH} levels"):
        json_object(body)


def test_nesting_up_to_the_limit_is_accepted_and_brackets_in_strings_do_not_count():
    assert decode_json(_nested(MAX_DEPTH)) == json.loads(_nested(MAX_DEPTH))
    with pytest.raises(BadRequest, match="nested deeper"):
        decode_json(_nested(MAX_DEPTH + 1, "object"))
    text = json.dumps({"a": "[" * 1000 + '\\"{{{', "b": ["]]]\\", "[\\\\"]})
    assert decode_json(text) == json.loads(text)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_numbers_json_does_not_have_are_refused(number):
    with pytest.raises(BadRequest, match=r"malformed JSON: .*(not a JSON number|out of range)"):
        json_object(f'{{"pizza": {{"name": {number}}}}}'.encode())


@pytest.mark.parametrize(
    "raw, message",
    [
        (b'{"a": "\xff"}', "not UTF-8"),
        (b"\xef\xbb\xbf{}", "BOM"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "limit"),
        (b'{"a": 1}\x00', "Extra data"),
    ],
    ids=["invalid UTF-8", "byte order mark", "5000-digit integer", "trailing NUL"],
)
def test_bytes_that_are_not_json_text_are_refused(raw, message):
    with pytest.raises(BadRequest, match=message):
        json_object(raw)


def test_idempotency_key_header_is_case_insensitive_and_checked():
    assert idempotency_key({"idempotency-key": "abc-1"}) == "abc-1"
    assert idempotency_key({}) is None
    with pytest.raises(BadRequest):
        idempotency_key({"Idempotency-Key": "x" * 101})


@pytest.mark.parametrize("key", ["abc\n", "", "a b", "ключ", "a\x00"])
def test_idempotency_key_must_be_exactly_the_allowed_characters(key):
    with pytest.raises(BadRequest, match="Idempotency-Key"):
        idempotency_key({"Idempotency-Key": key})


@pytest.mark.parametrize(
    "body, message",
    [
        ("nope", "malformed message"),
        ("[1]", "not a JSON object"),
        ('{"specversion": "1.0", "id": "1", "source": "s"}', "missing .'type'."),
        ('{"specversion": "0.3", "id": "1", "source": "s", "type": "T"}', "specversion"),
        (json.dumps({**CLOUD_EVENT, "time": 5}), "must be strings"),
        (json.dumps({**CLOUD_EVENT, "subject": ["o"]}), "must be strings"),
        (json.dumps({**CLOUD_EVENT, "data": [1]}), "data must be a JSON object"),
        (json.dumps({**CLOUD_EVENT, "data": "x"}), "data must be a JSON object"),
    ],
)
def test_bus_messages_must_be_cloudevents(body, message):
    with pytest.raises(BadRequest, match=message):
        bus.parse(body)


HOSTILE_MESSAGES = {
    "nested list": _nested(100_000),
    "nested object": _nested(50_000, "object"),
    "nested data": _with(CLOUD_EVENT, "data", _nested(40, "object")),
    "NaN time": json.dumps({**CLOUD_EVENT, "time": float("nan")}),
    "Infinity in data": json.dumps({**CLOUD_EVENT, "data": {"n": float("inf")}}),
    "1e400 in data": _with(CLOUD_EVENT, "data", '{"n": 1e400}'),
    "over 256 KiB": json.dumps({**CLOUD_EVENT, "data": {"pad": "x" * 256 * 1024}}),
    "truncated": json.dumps(CLOUD_EVENT)[:-1],
}


@pytest.mark.parametrize("body", HOSTILE_MESSAGES.values(), ids=HOSTILE_MESSAGES.keys())
def test_hostile_bus_messages_are_bad_requests(body):
    with pytest.raises(BadRequest):
        bus.parse(body)


def test_a_timer_message_round_trips():
    assert timers.parse(json.dumps(TIMER)) == TIMER


HOSTILE_TIMERS = {
    "nested list": _nested(100_000),
    "nested event": _with(TIMER, "event", '{"type": "T", "n": ' + _nested(40) + "}"),
    "NaN in event": json.dumps({**TIMER, "event": {"type": "T", "n": float("nan")}}),
    "1e400 in event": _with(TIMER, "n", "1e400"),
    "over 256 KiB": json.dumps({**TIMER, "pad": "x" * 256 * 1024}),
    "not an object": "[1]",
    "dueAt not a string": json.dumps({**TIMER, "dueAt": 5}),
    "dueAt without a zone": json.dumps({**TIMER, "dueAt": "2000-01-01T00:00:00"}),
    "dueAt not a time": json.dumps({**TIMER, "dueAt": "soon"}),
    "event not an object": json.dumps({**TIMER, "event": "T"}),
}


@pytest.mark.parametrize("body", HOSTILE_TIMERS.values(), ids=HOSTILE_TIMERS.keys())
def test_hostile_timer_messages_are_bad_requests(body):
    with pytest.raises(BadRequest):
        timers.parse(body)


def test_a_cloudevent_id_too_long_for_a_dedupe_key_is_a_bad_request():
    import json

    from chalicelib.runtime import BadRequest, bus

    event = {"specversion": "1.0", "id": "x" * 257, "source": "s", "type": "PIZZA_READY"}
    with pytest.raises(BadRequest, match="longer than 256 bytes"):
        bus.parse(json.dumps(event))
    assert bus.parse(json.dumps({**event, "id": "x" * 256}))["id"] == "x" * 256
