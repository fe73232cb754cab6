"""The stack's CloudWatch alarms, each within CloudWatch's rules however many workflows,
services and functions the registry adds.

"Alarms based on metric math expressions can reference a maximum of 10 metrics. This is
a hard limit that cannot be increased."
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html)
So no alarm sums one metric per function: each function has its own throttle alarm (one
metric each, and the alarm names the function), and the table's alarm sums a fixed set
of DynamoDB operations (``TABLE_OPERATIONS``), not a set that grows with the registry.

Every description names the README section (a ``###`` heading under "Operating") that
says what to do; tests/infra/test_alarms.py checks that the section exists.
"""

from __future__ import annotations

from typing import Any

METRICS_NAMESPACE = "TropicalPizzas"  # POWERTOOLS_METRICS_NAMESPACE in base.json
OUTBOX_AGE_ALARM_SECONDS = 300
# DynamoDB publishes ThrottledRequests per table AND operation ("Dimensions: TableName,
# Operation"), and CloudWatch does not aggregate over a dimension left out, so an alarm
# on TableName alone watches a metric that is never published
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html).
# These are the operations the functions call (tests/infra/test_iam.py records them;
# PutItem is only ever a TransactWriteItems item); Scan is the offline replay tool's.
TABLE_OPERATIONS = (
    "GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem",
    "TransactWriteItems",
)  # fmt: skip
MAX_METRICS_PER_ALARM = 10


def _named(suffix: str) -> dict[str, Any]:
    return {"Fn::Sub": f"${{AWS::StackName}}-{suffix}"}


def _see(section: str) -> str:
    return f"see README, Operating, '{section}'"


def alarm(description: str, metric: dict[str, Any], threshold: float, **extra: Any) -> dict:
    """An alarm mailed to the AlarmTopic when it fires and when it clears."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": _named(extra.pop("name")),
            "AlarmDescription": description,
            "ComparisonOperator": extra.pop("ComparisonOperator", "GreaterThanOrEqualToThreshold"),
            "Threshold": threshold,
            "EvaluationPeriods": extra.pop("periods", 1),
            "TreatMissingData": extra.pop("TreatMissingData", "notBreaching"),
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
            **({"Period": extra.pop("period", 60)} if "Metrics" not in metric else {}),
            **metric,
            **extra,
        },
    }


def dead_letter_alarms(dlqs: list[tuple[str, str]]) -> dict[str, Any]:
    """One alarm per dead-letter queue: (logical id, name suffix) pairs."""
    return {
        f"{logical}Alarm": alarm(
            f"Messages reached {suffix}: " + _see("A dead-letter queue has messages"),
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [
                    {"Name": "QueueName", "Value": {"Fn::GetAtt": [logical, "QueueName"]}}
                ],
                "Statistic": "Maximum",
            },
            1,
            name=f"dlq-{suffix}",
        )
        for logical, suffix in dlqs
    }


def outbox_alarms() -> dict[str, Any]:
    """The outbox's age, 3 minutes of 5 over the limit (one late minute does not page),
    and the sweeper that measures it not running for 5 minutes."""
    return {
        "OutboxAgeAlarm": alarm(
            "An outbox message waited over 5 minutes in 3 of the last 5 minutes: "
            + _see("Outbox is old"),
            {
                "Namespace": METRICS_NAMESPACE,
                "MetricName": "OutboxOldestAgeSeconds",
                "Dimensions": [{"Name": "service", "Value": {"Ref": "AWS::StackName"}}],
                "Statistic": "Maximum",
            },
            OUTBOX_AGE_ALARM_SECONDS,
            name="outbox-age",
            periods=5,
            DatapointsToAlarm=3,
        ),
        # Lambda publishes Invocations only for minutes with invocations: missing data
        # is the sweeper not running (its schedule disabled, the function broken)
        "SweeperIdleAlarm": alarm(
            "The outbox sweeper was not invoked for 5 minutes: " + _see("Sweeper not invoked"),
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "OutboxSweeper"}}],
                "Statistic": "Sum",
            },
            1,
            name="sweeper-idle",
            periods=5,
            DatapointsToAlarm=5,
            ComparisonOperator="LessThanThreshold",
            TreatMissingData="breaching",
        ),
    }


def api_alarm() -> dict[str, Any]:
    return {
        "Api5xxAlarm": alarm(
            "Over 5% of API requests failed with 5xx for 5 minutes: " + _see("API errors"),
            {
                "Namespace": "AWS/ApiGateway",
                "MetricName": "5XXError",
                "Dimensions": [
                    {"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}},
                    {"Name": "Stage", "Value": "api"},
                ],
                "Statistic": "Average",
            },
            0.05,
            name="api-5xx",
            periods=5,
        )
    }


def table_throttle_alarm() -> dict[str, Any]:
    """Throttled requests of the table, summed over the operations the code calls."""
    metrics = [
        {
            "Id": f"op{i}",
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/DynamoDB",
                    "MetricName": "ThrottledRequests",
                    "Dimensions": [
                        {"Name": "TableName", "Value": {"Ref": "OrdersTable"}},
                        {"Name": "Operation", "Value": operation},
                    ],
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }
        for i, operation in enumerate(TABLE_OPERATIONS)
    ]
    total = {
        "Id": "throttled",
        "Expression": "SUM(METRICS())",
        "Label": "throttled requests of the table",
        "ReturnData": True,
    }
    return {
        "TableThrottleAlarm": alarm(
            "DynamoDB throttled requests to the table: " + _see("Throttling"),
            {"Metrics": [total, *metrics]},
            1,
            name="table-throttled",
        )
    }


def function_throttle_alarms(functions: list[tuple[str, str]]) -> dict[str, Any]:
    """One alarm per function (logical id, name suffix): one metric each, and the alarm
    says which function was throttled."""
    return {
        f"{logical}ThrottleAlarm": alarm(
            f"Lambda throttled {suffix}: " + _see("Throttling"),
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "Throttles",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": logical}}],
                "Statistic": "Sum",
            },
            1,
            name=f"throttled-{suffix}",
        )
        for logical, suffix in functions
    }
