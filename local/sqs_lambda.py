"""Deliver SQS messages to a Lambda handler the way the SQS event source mapping does.

Lambda-shaped events (real message ids, attributes, ARN), partial batch failures
honoured: messages reported in ``batchItemFailures`` stay on the queue and come
back after their visibility timeout (then to the DLQ after ``maxReceiveCount``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda event for a batch of messages from ``receive_message``."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def deliver_once(
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    handler: Callable[[dict[str, Any]], Any],
    region: str,
    batch_size: int = 10,
    wait_seconds: int = 0,
) -> tuple[int, int]:
    """Receive one batch, run ``handler`` on it, delete what succeeded: (handled, failed)."""
    received = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=batch_size,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    if not received:
        return 0, 0
    try:
        result = handler(sqs_event(received, queue_arn, region)) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    except Exception:  # noqa: BLE001 - a crashed invocation fails the whole batch
        failed = {m["MessageId"] for m in received}
    done = [m for m in received if m["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ],
        )
    return len(done), len(failed)
