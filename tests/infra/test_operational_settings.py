"""Operational settings AWS documents against, or that lose data (issue 9, item 10).

Each test reads the packaged template (`chalice package --merge-template`, as `make
package` builds it); the provisioning tests check that the local stack's moto gets the
same settings from infra/resources.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import registry
from local.provision import load_template
from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]

# API Gateway waits at most 29 s for a REST or websocket integration (its default and,
# without a quota raise, its maximum): a function that may run longer answers a client
# that already got a 504.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
API_GATEWAY_INTEGRATION_SECONDS = 29
# "set the source queue's visibility timeout to at least six times the timeout that
# you configure on your function" (the extra time lets Lambda retry a throttled batch).
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
VISIBILITY_PER_FUNCTION_TIMEOUT = 6
# SQS's maximum retention; a message keeps its first enqueue time when it moves to the
# DLQ, so a source queue that keeps less than its DLQ can never be the safer one.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html
FOURTEEN_DAYS = 1_209_600
# ScalingConfig.MaximumConcurrency: 2..1000
# https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html
MIN_CONCURRENCY, MAX_CONCURRENCY = 2, 1000


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def _sqs_sources(template: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(function logical id, function properties, SQS event properties) per SQS trigger."""
    return [
        (name, function["Properties"], event["Properties"])
        for name, function in _resources(template, "AWS::Serverless::Function").items()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    ]


def _queue_named(template: dict[str, Any], arn: dict[str, Any]) -> dict[str, Any]:
    """The queue resource an event source's ``Fn::GetAtt`` queue ARN points at."""
    logical, attribute = arn["Fn::GetAtt"]
    assert attribute == "Arn"
    return template["Resources"][logical]["Properties"]


def test_queue_visibility_is_at_least_six_times_its_consumers_timeout(template):
    sources = _sqs_sources(template)
    assert len(sources) == len(registry.QUEUES)
    for name, function, event in sources:
        queue = _queue_named(template, event["Queue"])
        needed = VISIBILITY_PER_FUNCTION_TIMEOUT * function["Timeout"]
        assert queue["VisibilityTimeout"] >= needed, (
            f"{queue['QueueName']}: visibility {queue['VisibilityTimeout']} s for {name}'s "
            f"{function['Timeout']} s timeout"
        )


def test_functions_behind_api_gateway_end_within_its_29_second_limit(template):
    functions = _resources(template, "AWS::Serverless::Function")
    behind_gateway = [
        "APIHandler", "JwtAuthorizer", "WebsocketConnect", "WebsocketMessage",
        "WebsocketDisconnect",
    ]  # fmt: skip
    for name in behind_gateway:
        timeout = functions[name]["Properties"]["Timeout"]
        assert timeout <= API_GATEWAY_INTEGRATION_SECONDS, f"{name}: {timeout} s"


def test_source_queues_keep_messages_as_long_as_their_dead_letter_queues(template):
    queues = _resources(template, "AWS::SQS::Queue")
    sources = {k: q["Properties"] for k, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    assert len(sources) == len(registry.QUEUES)
    for name, queue in sources.items():
        dlq = queues[queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Properties"]
        assert queue.get("MessageRetentionPeriod") == FOURTEEN_DAYS, name
        assert dlq["MessageRetentionPeriod"] == FOURTEEN_DAYS, name
    for name, queue in queues.items():  # every DLQ, SNS's included
        assert queue["Properties"].get("MessageRetentionPeriod") == FOURTEEN_DAYS, name


def test_every_subscription_has_a_dead_letter_queue_its_topic_may_send_to(template):
    """Without a redrive policy SNS drops a message it cannot deliver to a queue, after
    its retries; the DLQ's policy must let the topic send, or the redrive fails too.
    https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html"""
    policies = _resources(template, "AWS::SQS::QueuePolicy").values()
    subscriptions = {
        name: s
        for name, s in _resources(template, "AWS::SNS::Subscription").items()
        if s["Properties"]["Protocol"] == "sqs"
    }
    assert len(subscriptions) == len([q for q in registry.QUEUES if q.types])
    for name, subscription in subscriptions.items():
        props = subscription["Properties"]
        assert "RedrivePolicy" in props, f"{name} drops what it cannot deliver"
        dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert template["Resources"][dlq]["Type"] == "AWS::SQS::Queue"
        allowed = [
            statement
            for policy in policies
            if {"Ref": dlq} in policy["Properties"]["Queues"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Allow"
            and statement["Principal"] == {"Service": "sns.amazonaws.com"}
            and statement["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
            and statement["Condition"]["ArnEquals"]["aws:SourceArn"] == props["TopicArn"]
        ]
        assert allowed, f"the topic may not send to {name}'s dead-letter queue {dlq}"


def test_provisioned_subscriptions_redrive_to_the_dead_letter_queue(aws):
    sns = boto3.client("sns", region_name=REGION)
    subscriptions = sns.list_subscriptions()["Subscriptions"]
    assert len(subscriptions) == len([q for q in registry.QUEUES if q.types])
    for subscription in subscriptions:
        attributes = sns.get_subscription_attributes(
            SubscriptionArn=subscription["SubscriptionArn"]
        )["Attributes"]
        target = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
        assert target == aws.arns["EventsDeliveryDLQ"]


def test_every_sqs_trigger_has_a_maximum_concurrency_and_reports_item_failures(template):
    """Unbounded, four SQS triggers can take an account's whole concurrency (a new
    account's quota can be small) and throttle the API."""
    sources = _sqs_sources(template)
    assert len(sources) == len(registry.QUEUES)
    for name, _, event in sources:
        limit = event.get("ScalingConfig", {}).get("MaximumConcurrency")
        assert limit is not None, f"{name} scales without a limit"
        assert MIN_CONCURRENCY <= limit <= MAX_CONCURRENCY, name
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
    total = sum(e["ScalingConfig"]["MaximumConcurrency"] for _, _, e in sources)
    assert total == sum(q.concurrency for q in registry.QUEUES)
    assert total <= registry.SQS_CONCURRENCY_BUDGET


def test_authorizer_results_are_not_cached(template):
    """A cached Allow outlives the token: with API Gateway's default 300 s an expired
    token keeps working up to five minutes. 0 disables the cache.
    https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html"""
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    authorizers = [
        scheme["x-amazon-apigateway-authorizer"]
        for scheme in api["securityDefinitions"].values()
        if "x-amazon-apigateway-authorizer" in scheme
    ]
    assert authorizers
    for authorizer in authorizers:
        assert authorizer.get("authorizerResultTtlInSeconds") == 0, authorizer


def declared_defaults() -> dict[str, Any]:
    return {k: p["Default"] for k, p in load_template()["Parameters"].items()}


def _table(template: dict[str, Any]) -> dict[str, Any]:
    [table] = _resources(template, "AWS::DynamoDB::Table").values()
    return table


def test_table_expires_records_by_their_expires_at_attribute(template):
    assert _table(template)["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiresAt",
        "Enabled": True,
    }


def test_provisioned_table_has_the_same_time_to_live(aws):
    ttl = boto3.client("dynamodb", region_name=REGION).describe_time_to_live(
        TableName=aws.refs["OrdersTable"]
    )["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_table_is_kept_once_created_and_a_failed_first_create_leaves_nothing(template):
    """RetainExceptOnCreate "behaves like Retain for stack operations, except for the stack
    operation that initially created the resource": a failed first create deletes the
    table, so the retry does not fail with "already exists". Deletion protection ("the
    table cannot be deleted by any user or process") would stop that delete too, so it
    is a parameter, off by default, that README's deploy turns on after the first create.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html"""
    table = _table(template)
    assert table.get("DeletionPolicy") == "RetainExceptOnCreate"
    assert table.get("UpdateReplacePolicy") == "Retain"  # RetainExceptOnCreate is not one
    protection = table["Properties"]["DeletionProtectionEnabled"]
    assert protection == {"Ref": "TableDeletionProtection"}
    assert template["Parameters"]["TableDeletionProtection"]["Default"] == "false"
    assert "TableDeletionProtection=true" in (ROOT / "README.md").read_text()


def test_every_store_of_data_but_the_user_pool_is_retained_except_on_create(template):
    """The signing key and every dead-letter queue hold what a deleted stack must not
    lose; none of them may block retrying a failed first create. (Cognito's user pool
    is configured with sign-in.)"""
    resources = template["Resources"]
    queues = {k: r for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    kept = {k: r for k, r in queues.items() if k.endswith("DLQ")} | {
        "JwtSecret": resources["JwtSecret"]
    }
    assert len(kept) == len(registry.QUEUES) + 2  # each queue's DLQ, the delivery DLQ, the key
    for name, resource in kept.items():
        assert resource.get("DeletionPolicy") == "RetainExceptOnCreate", name
        assert resource.get("UpdateReplacePolicy") == "Retain", name
    retained = [k for k, r in resources.items() if r.get("DeletionPolicy") == "Retain"]
    assert not set(retained) - {"UserPool"}, retained


def test_pending_index_is_a_sparse_work_queue_that_carries_the_data(template):
    indexes = {i["IndexName"]: i for i in _table(template)["Properties"]["GlobalSecondaryIndexes"]}
    index = indexes["pending"]
    assert index["KeySchema"] == [
        {"AttributeName": "pendingShard", "KeyType": "HASH"},
        {"AttributeName": "pendingSince", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["data"]}


def test_worklist_index_carries_what_a_listed_instance_is_rendered_from(template):
    indexes = {i["IndexName"]: i for i in _table(template)["Properties"]["GlobalSecondaryIndexes"]}
    index = indexes["worklist"]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["listShard", "listedSince"]
    # store.Instance.from_item needs these; nothing else is copied into the index
    assert set(index["Projection"]["NonKeyAttributes"]) == {
        "snapshot", "version", "owner", "createdAt", "updatedAt", "definition",
    }  # fmt: skip


def test_an_instance_listed_from_the_worklist_keeps_its_workflow_version(aws):
    """Without ``definition`` in the index a listed instance reads as pre-versions, and
    a complaint on version 2 would be restored on the wrong machine."""
    from chalicelib.runtime.store import Instance

    ddb = boto3.client("dynamodb", region_name=REGION)
    table = aws.refs["OrdersTable"]
    ddb.put_item(
        TableName=table,
        Item={"pk": {"S": "complaint#c1"}, "sk": {"S": "instance"}, "version": {"N": "3"},
              "snapshot": {"S": "{}"}, "definition": {"N": "2"},
              "listShard": {"S": "complaint#00"}, "listedSince": {"S": "2026-01-01T00:00:00Z"}},
    )  # fmt: skip
    [listed] = ddb.query(
        TableName=table,
        IndexName="worklist",
        KeyConditionExpression="listShard = :s",
        ExpressionAttributeValues={":s": {"S": "complaint#00"}},
    )["Items"]
    assert Instance.from_item(listed).definition == 2


def test_provisioned_table_matches_the_template(aws):
    declared = _table(load_template())["Properties"]
    table = boto3.client("dynamodb", region_name=REGION).describe_table(
        TableName=aws.refs["OrdersTable"]
    )["Table"]
    default = declared_defaults()["TableDeletionProtection"]
    assert table["DeletionProtectionEnabled"] is (default == "true")
    made = [
        {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        for index in table["GlobalSecondaryIndexes"]
    ]
    assert sorted(made, key=str) == sorted(declared["GlobalSecondaryIndexes"], key=str)


def test_provisioned_pending_index_returns_work_items_with_their_data(aws):
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = aws.refs["OrdersTable"]
    work = {"pendingShard": {"S": "kitchen#07"}, "pendingSince": {"S": "2026-01-01T00:00:00Z"}}
    ddb.put_item(
        TableName=table,
        Item={"pk": {"S": "station#kitchen"}, "sk": {"S": "order#1"}, **work,
              "data": {"M": {"orderId": {"S": "1"}}}, "secret": {"S": "not projected"}},
    )  # fmt: skip
    ddb.put_item(TableName=table, Item={"pk": {"S": "order#2"}, "sk": {"S": "instance"}})
    found = ddb.query(
        TableName=table,
        IndexName="pending",
        KeyConditionExpression="pendingShard = :s",
        ExpressionAttributeValues={":s": {"S": "kitchen#07"}},
    )["Items"]
    assert len(found) == 1
    assert found[0]["data"] == {"M": {"orderId": {"S": "1"}}}
    assert "secret" not in found[0]


def test_the_order_chart_rollout_is_a_stack_parameter_every_function_reads(template):
    from chalicelib.orders.fanout import FanOut

    parameters = template["Parameters"]
    assert parameters["OrderStartVersion"]["AllowedValues"] == ["1", "3"]
    assert parameters["OrderStartVersion"]["Default"] == "1"
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["ORDER_START_VERSION"] == {"Ref": "OrderStartVersion"}
    assert variables["ORDER_OVEN_SLOTS"] == {"Ref": "OrderOvenSlots"}
    # what a function makes of the values the parameters allow (CloudFormation passes a
    # parameter to an environment variable as a string)
    for value in parameters["OrderStartVersion"]["AllowedValues"]:
        environ = {"ORDER_START_VERSION": value, "ORDER_OVEN_SLOTS": "4"}
        with pytest.MonkeyPatch.context() as patch:
            for key, text in environ.items():
                patch.setenv(key, text)
            chosen = FanOut.from_environment()
        assert (chosen.start_version, chosen.oven_slots) == (int(value), 4)
