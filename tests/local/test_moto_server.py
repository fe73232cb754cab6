"""The embedded AWS keeps conditional writes under concurrency (the lock works)."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.config import Config

WRITERS, INCREMENTS = 16, 6


def _increment(table, endpoint, done):
    ddb = boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, config=Config(max_pool_connections=4)
    )
    for _ in range(INCREMENTS):
        while True:
            item = ddb.get_item(TableName=table, Key={"pk": {"S": "n"}}, ConsistentRead=True)[
                "Item"
            ]
            current = int(item["n"]["N"])
            try:
                ddb.put_item(
                    TableName=table,
                    Item={"pk": {"S": "n"}, "n": {"N": str(current + 1)}},
                    ConditionExpression="n = :n",
                    ExpressionAttributeValues={":n": {"N": str(current)}},
                )
                done.append(1)
                break
            except ddb.exceptions.ConditionalCheckFailedException:
                continue


def test_concurrent_conditional_increments_lose_nothing(moto_server):
    ddb = boto3.client("dynamodb", endpoint_url=moto_server.url)
    ddb.create_table(
        TableName="counter",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="counter", Item={"pk": {"S": "n"}, "n": {"N": "0"}})
    done: list[int] = []
    threads = [
        threading.Thread(target=_increment, args=("counter", moto_server.url, done))
        for _ in range(WRITERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    item = ddb.get_item(TableName="counter", Key={"pk": {"S": "n"}}, ConsistentRead=True)["Item"]
    assert len(done) == WRITERS * INCREMENTS
    assert int(item["n"]["N"]) == WRITERS * INCREMENTS


def test_a_failed_transaction_rolls_back_the_items_it_updated(moto_server):
    ddb = boto3.client("dynamodb", endpoint_url=moto_server.url)
    ddb.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    a = {"pk": {"S": "a"}, "sk": {"S": "x"}}
    ddb.put_item(TableName="t", Item={**a, "v": {"N": "1"}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "b"}, "sk": {"S": "y"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Update": {"TableName": "t", "Key": a, "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"N": "2"}}}},
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "c"}, "sk": {"S": "z"}}}},
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}, "sk": {"S": "y"}},
                         "ConditionExpression": "attribute_not_exists(sk)"}},
            ]
        )  # fmt: skip
    assert ddb.get_item(TableName="t", Key=a)["Item"]["v"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "c"}, "sk": {"S": "z"}})
    ddb.transact_write_items(
        TransactItems=[
            {"Update": {"TableName": "t", "Key": a, "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "3"}}}},
        ]
    )  # fmt: skip
    assert ddb.get_item(TableName="t", Key=a)["Item"]["v"] == {"N": "3"}
