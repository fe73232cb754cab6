"""The messaging adapter: CloudEvents 1.0 envelopes published to the SNS topic.

Every message carries its CloudEvents ``type`` as the SNS message attribute
``type``; queues subscribe with filter policies on it and raw delivery, so an
SQS body is exactly the CloudEvent JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..shared import BadRequest, Unavailable, client, decode_json, imported, settings

SPEC_VERSION = "1.0"
_REQUIRED = ("specversion", "id", "source", "type")
MAX_ID_CHARS = 256
MAX_MESSAGE_CHARS = 256 * 1024  # SQS's largest message, in bytes: no more characters


def cloud_event(
    event_id: str, type_: str, subject: str, data: Any, time: str, source: str | None = None
) -> dict[str, Any]:
    """A structured-mode CloudEvent; ``event_id`` must be deterministic for dedupe."""
    return {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": source or settings().event_source,
        "type": type_,
        "subject": subject,
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }


def parse(body: str) -> dict[str, Any]:
    """A CloudEvent from a queue message body; BadRequest if it is not one.

    Besides the required attributes, ``subject`` and ``time`` must be strings when
    present, and ``data`` an object (every event on our bus carries one, or none).
    """
    if len(body) > MAX_MESSAGE_CHARS:
        raise BadRequest(f"message is {len(body)} characters; SQS holds {MAX_MESSAGE_CHARS}")
    event = decode_json(body, "message")
    if not isinstance(event, Mapping):
        raise BadRequest("message is not a JSON object")
    missing = [k for k in _REQUIRED if not isinstance(event.get(k), str) or not event.get(k)]
    if missing:
        raise BadRequest(f"message is not a CloudEvent: missing {missing}")
    if len(event["id"].encode()) > MAX_ID_CHARS:
        # the id becomes part of a table key (the dedupe record)
        raise BadRequest(f"CloudEvent id is longer than {MAX_ID_CHARS} bytes")
    if event["specversion"] != SPEC_VERSION:
        raise BadRequest(f"unsupported CloudEvents specversion {event['specversion']!r}")
    wrong = [k for k in ("subject", "time") if k in event and not isinstance(event[k], str)]
    if wrong:
        raise BadRequest(f"CloudEvent attributes {wrong} must be strings")
    if event.get("data") is not None and not isinstance(event["data"], Mapping):
        raise BadRequest("CloudEvent data must be a JSON object")
    return dict(event)


def publish(event: Mapping[str, Any], route: str | None = None) -> str:
    """Publish one CloudEvent to the topic; returns the SNS message id. Unavailable on failure.

    The message attribute ``type`` the subscriptions filter on is the event's type, or
    ``route`` (a message to a workflow instance: ``@<workflow>``)."""
    BotoCoreError, ClientError = imported("botocore.exceptions", "BotoCoreError", "ClientError")

    try:
        response = client("sns").publish(
            TopicArn=settings().topic_arn,
            Message=json.dumps(event, separators=(",", ":")),
            MessageAttributes={
                "type": {"DataType": "String", "StringValue": route or event["type"]}
            },
        )
    except (BotoCoreError, ClientError) as error:
        raise Unavailable(f"publishing {event['type']} failed: {error}") from error
    return response["MessageId"]
