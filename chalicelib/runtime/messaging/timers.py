"""Durable timers: XState ``after`` delays as SQS delay messages, chained past 15 minutes.

A timer is committed in the outbox with the transition that starts it and sent
to the timers queue after the commit. SQS delays at most 15 minutes, so a timer
that arrives early is sent again for the rest of its delay. Each timer carries a
token that the instance item also keeps while the timer is active; leaving the
state removes it, so a timer that fires after its state was left is ignored.

Chosen over EventBridge Scheduler: no extra service, IAM or per-timer cleanup
(a schedule must be created and deleted per timer), and it runs the same on
moto; the price is at most one extra message per 15 minutes of delay.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..shared import (
    BadRequest,
    Unavailable,
    cached_with_clients,
    client,
    clock,
    decode_json,
    settings,
)

MAX_SQS_DELAY_SECONDS = 900
MAX_MESSAGE_CHARS = 256 * 1024  # SQS's largest message, in bytes: no more characters


def timer(workflow: str, instance_id: str, schedule_id: str, event: Mapping[str, Any],
          delay_ms: float, token: str, now: datetime) -> dict[str, Any]:  # fmt: skip
    """The message body of one timer."""
    due = now + timedelta(milliseconds=delay_ms)
    return {
        "workflow": workflow,
        "instance": instance_id,
        "scheduleId": schedule_id,
        "event": dict(event),
        "dueAt": clock.stamp(due),
        "token": token,
    }


@cached_with_clients
def _queue_url() -> str:
    configured = settings().timers_queue_url
    if configured:
        return configured
    return client("sqs").get_queue_url(QueueName=settings().timers_queue)["QueueUrl"]


def due_in(body: Mapping[str, Any], now: datetime | None = None) -> float:
    """Seconds until the timer is due (negative when late)."""
    due = clock.parse(body["dueAt"])
    return (due - (now or clock.current())).total_seconds()


def send(body: Mapping[str, Any]) -> None:
    """Put the timer on the queue, delayed by what remains (at most 15 minutes)."""
    from botocore.exceptions import BotoCoreError, ClientError

    delay = min(MAX_SQS_DELAY_SECONDS, max(0, math.ceil(due_in(body))))
    try:
        client("sqs").send_message(
            QueueUrl=_queue_url(), MessageBody=json.dumps(body), DelaySeconds=delay
        )
    except (BotoCoreError, ClientError) as error:
        raise Unavailable(f"scheduling timer {body['scheduleId']} failed: {error}") from error


def parse(message: str) -> dict[str, Any]:
    """A timer from a queue message; BadRequest if it is not one."""
    if len(message) > MAX_MESSAGE_CHARS:
        raise BadRequest(
            f"timer message is {len(message)} characters; SQS holds {MAX_MESSAGE_CHARS}"
        )
    body = decode_json(message, "timer message")
    if not isinstance(body, dict):
        raise BadRequest("timer message is not a JSON object")
    for key in ("workflow", "instance", "scheduleId", "token", "dueAt"):
        if not isinstance(body.get(key), str):
            raise BadRequest(f"timer message without {key!r}")
    try:
        due_in(body)
    except (ValueError, TypeError) as error:
        raise BadRequest(f"timer message with a bad 'dueAt': {error}") from None
    if not isinstance(body.get("event"), dict) or not isinstance(body["event"].get("type"), str):
        raise BadRequest("timer message without an event")
    return body
