"""Request bodies and bus messages."""

from __future__ import annotations

import pytest

from chalicelib.runtime import bus
from chalicelib.runtime.errors import BadRequest, PayloadTooLarge
from chalicelib.runtime.requests import MAX_BODY_BYTES, idempotency_key, json_object


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


def test_idempotency_key_header_is_case_insensitive_and_checked():
    assert idempotency_key({"idempotency-key": "abc-1"}) == "abc-1"
    assert idempotency_key({}) is None
    with pytest.raises(BadRequest):
        idempotency_key({"Idempotency-Key": "x" * 101})


@pytest.mark.parametrize(
    "body, message",
    [
        ("nope", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"specversion": "1.0", "id": "1", "source": "s"}', "missing .'type'."),
        ('{"specversion": "0.3", "id": "1", "source": "s", "type": "T"}', "specversion"),
    ],
)
def test_bus_messages_must_be_cloudevents(body, message):
    with pytest.raises(BadRequest, match=message):
        bus.parse(body)
