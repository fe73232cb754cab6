"""Cost per order from counted requests and public AWS on-demand prices (us-east-1),
against AWS Step Functions for the same workflow.

Prices (USD, us-east-1, on-demand, as published on the AWS pricing pages; free tiers
ignored): Lambda $0.20 per million requests and $0.0000166667 per GB-second (x86);
DynamoDB on-demand $0.625 per million write request units and $0.125 per million read
request units (a transactional write costs 2 WRU per KB per item, a strongly
consistent read 1 RRU per 4 KB); SNS $0.50 per million publishes (SQS deliveries are
free); SQS $0.40 per million requests; API Gateway REST $3.50 per million requests;
Step Functions Standard $25 per million state transitions; Express $1.00 per million
requests plus $0.00001667 per GB-second in 64 MB steps.
"""

from __future__ import annotations

from typing import Any

PRICE = {
    "lambda_request": 0.20e-6,
    "lambda_gb_second": 0.0000166667,
    "wru": 0.625e-6,
    "rru": 0.125e-6,
    "sns_publish": 0.50e-6,
    "sqs_request": 0.40e-6,
    "apigw_request": 3.50e-6,
    "sfn_standard_transition": 25e-6,
    "sfn_express_request": 1.00e-6,
    "sfn_express_gb_second": 0.00001667,
}
LAMBDA_GB = 0.5  # memory of every function (.chalice/config.json)
LAMBDA_SECONDS = 0.05  # billed duration per invocation, warm (1 ms granularity)


def per_order(calls: dict[str, Any], transitions: int) -> dict[str, Any]:
    """Our cost per order from ``bench.system.calls_per_event()`` and its transitions."""
    total = calls["total"]
    reads, writes = total.get("read", 0), total.get("write", 0)
    transact = transitions  # one TransactWriteItems per committed transition, 2 items
    plain_writes = writes - transact
    api_requests = sum(1 for s in calls["steps"] if s["step"].startswith("POST"))
    # every SQS-delivered message: the poller's receive + delete, and the SQS send itself
    sqs_messages = total.get("sns:Publish", 0) + total.get("sqs:SendMessage", 0)
    invocations = api_requests + sqs_messages + 1  # + authorizer (cached per token)
    items = {
        "API Gateway requests": api_requests * PRICE["apigw_request"],
        "Lambda requests": invocations * PRICE["lambda_request"],
        "Lambda GB-seconds": invocations * LAMBDA_GB * LAMBDA_SECONDS * PRICE["lambda_gb_second"],
        "DynamoDB writes": (transact * 2 * 2 + plain_writes) * PRICE["wru"],
        "DynamoDB reads": reads * PRICE["rru"],
        "SNS publishes": total.get("sns:Publish", 0) * PRICE["sns_publish"],
        "SQS requests": (sqs_messages * 2 + total.get("sqs:SendMessage", 0)) * PRICE["sqs_request"],
    }
    return {"items": items, "total": sum(items.values())}


def step_functions(transitions: int, ours: dict[str, Any]) -> dict[str, float]:
    """The same order on Step Functions, the API, functions and queues unchanged.

    Standard: the orchestration state lives in Step Functions, one state transition per
    committed transition plus start and end. Express: an execution lasts at most five
    minutes, so it cannot wait for a customer or a kitchen; one execution per event
    (~100 ms at 64 MB), and the order must still be stored between events -- the same
    DynamoDB read and write per event as here.
    """
    services = ours["items"]
    shared = (
        services["API Gateway requests"] + services["Lambda requests"]
        + services["Lambda GB-seconds"] + services["SNS publishes"] + services["SQS requests"]
    )  # fmt: skip
    storage = services["DynamoDB writes"] + services["DynamoDB reads"]
    standard = (transitions + 2) * PRICE["sfn_standard_transition"]
    express = transitions * (
        PRICE["sfn_express_request"] + 0.1 * 0.0625 * PRICE["sfn_express_gb_second"]
    )
    return {"standard": shared + standard, "express": shared + storage + express}
