"""infra/resources.json = infra/base.json + what the registry wires.

For every queue of ``chalicelib.registry.QUEUES`` (each workflow's events, each
service's commands, the timers): the queue and its dead-letter queue, the topic
subscription with its filter policy (message types) and its own delivery DLQ, the
queue policy that lets the topic send to it, the consumer's IAM and the partial-batch
switch on its Lambda event source. Edit base.json for everything else.

Usage: ``python -m infra.generate`` (``make infra``) writes infra/resources.json;
``--check`` exits 1 when the file is out of date (a test runs the same check).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.runtime.wiring import Queue, subscribed

HERE = Path(__file__).resolve().parent
BASE = HERE / "base.json"
OUTPUT = HERE / "resources.json"
RETENTION_SECONDS = 14 * 86400  # the longest SQS keeps a message: room to redrive
VISIBILITY_SECONDS = 180  # six times the functions' 30 s timeout (AWS's advice)
MAX_RECEIVES = 5


def _arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _camel(handler: str) -> str:
    """The logical id Chalice gives a handler's function: ``order_events`` -> ``OrderEvents``."""
    return "".join(part[:1].upper() + part[1:] for part in handler.split("_"))


def _queue(queue: Queue) -> dict[str, Any]:
    return {
        f"{queue.logical}DLQ": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": queue.dlq, "MessageRetentionPeriod": RETENTION_SECONDS},
        },
        queue.logical: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": queue.name,
                "VisibilityTimeout": VISIBILITY_SECONDS,
                "MessageRetentionPeriod": RETENTION_SECONDS,
                "RedrivePolicy": {
                    "deadLetterTargetArn": _arn(f"{queue.logical}DLQ"),
                    "maxReceiveCount": MAX_RECEIVES,
                },
            },
        },
        _camel(queue.handler): {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Events": {
                    f"{_camel(queue.handler)}SqsEventSource": {
                        "Type": "SQS",
                        "Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]},
                    }
                }
            },
        },
    }


def _subscription(queue: Queue) -> dict[str, Any]:
    return {
        f"{queue.logical.removesuffix('Queue')}Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "sqs",
                "TopicArn": {"Ref": "EventsTopic"},
                "Endpoint": _arn(queue.logical),
                "RawMessageDelivery": True,
                "FilterPolicy": {"type": list(queue.types)},
                "RedrivePolicy": {"deadLetterTargetArn": _arn("EventsDeliveryDLQ")},
            },
        }
    }


def _policy(queues: list[Queue]) -> dict[str, Any]:
    targets = [*(q.logical for q in subscribed(queues)), "EventsDeliveryDLQ"]
    return {
        "QueuesPolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": logical} for logical in targets],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": "*",
                            "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "EventsTopic"}}},
                        }
                    ],
                },
            },
        }
    }


def _iam(queues: list[Queue], timers: Queue) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "Timers",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
            "Resource": _arn(timers.logical),
        },
        {
            "Sid": "Consume",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            "Resource": [_arn(q.logical) for q in queues],
        },
    ]


def generate(queues: list[Queue]) -> dict[str, Any]:
    """The whole template: base.json plus the wiring of ``queues``."""
    template = json.loads(BASE.read_text())
    resources = template["Resources"]
    for queue in queues:
        resources.update(_queue(queue))
    for queue in subscribed(queues):
        resources.update(_subscription(queue))
    resources.update(_policy(queues))
    timers = next(q for q in queues if q.kind == "timers")
    role = resources["DefaultRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    role["Statement"].extend(_iam(queues, timers))
    return template


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2) + "\n"


def main(argv: list[str]) -> int:
    from chalicelib.registry import QUEUES

    text = render(generate(QUEUES))
    if "--check" in argv:
        if OUTPUT.read_text() != text:
            print("infra/resources.json is out of date: run `make infra`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
