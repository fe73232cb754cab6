"""The embedded AWS keeps conditional writes under concurrency (the lock works)."""

from __future__ import annotations

import gc
import threading
import tracemalloc

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


def _table(ddb, name, range_key=True):
    names = ("pk", "sk") if range_key else ("pk",)
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in names],
        KeySchema=[
            {"AttributeName": n, "KeyType": kind}
            for n, kind in zip(names, ("HASH", "RANGE"), strict=False)
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def test_a_failed_transaction_puts_back_deleted_items_and_removes_new_ones(moto_server):
    ddb = boto3.client("dynamodb", endpoint_url=moto_server.url)
    _table(ddb, "t")
    _table(ddb, "h", range_key=False)
    gone = {"pk": {"S": "a"}, "sk": {"S": "x"}}
    ddb.put_item(TableName="t", Item={**gone, "v": {"N": "1"}})
    ddb.put_item(TableName="h", Item={"pk": {"S": "k"}, "v": {"N": "1"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": "t", "Key": gone}},
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}, "sk": {"S": "z"}}}},
                {"Update": {"TableName": "h", "Key": {"pk": {"S": "k"}},
                            "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"N": "2"}}}},
                {"Put": {"TableName": "h", "Item": {"pk": {"S": "fresh"}}}},
                {"ConditionCheck": {"TableName": "h", "Key": {"pk": {"S": "nobody"}},
                                    "ConditionExpression": "attribute_exists(pk)"}},
            ]
        )  # fmt: skip
    assert ddb.get_item(TableName="t", Key=gone)["Item"]["v"] == {"N": "1"}
    assert ddb.get_item(TableName="h", Key={"pk": {"S": "k"}})["Item"]["v"] == {"N": "1"}
    assert ddb.scan(TableName="t")["Count"] == 1
    assert ddb.scan(TableName="h")["Count"] == 1
    assert (
        ddb.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "new"}},
        )["Items"]
        == []
    )


def test_a_transaction_copies_the_items_it_touches_not_the_table(moto_server):
    """moto backed up every table a transaction touched, whole: a commit cost as much
    as the table was big (a long chaos run slowed down order by order)."""
    from moto.dynamodb import dynamodb_backends

    ddb = boto3.client("dynamodb", endpoint_url=moto_server.url)
    _table(ddb, "big")
    backend = dynamodb_backends["123456789012"][ddb.meta.region_name]
    for i in range(3000):
        backend.put_item("big", {"pk": {"S": f"p{i}"}, "sk": {"S": "s"}, "v": {"N": "1"}})
    update = {
        "Update": {
            "TableName": "big",
            "Key": {"pk": {"S": "p1"}, "sk": {"S": "s"}},
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"N": "2"}},
        }
    }
    tracemalloc.start()
    try:
        backend.transact_write_items([update])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000, f"{peak} bytes allocated for a one-item commit"


def test_the_server_keeps_no_copy_of_items_it_replaced(moto_server):
    """moto kept every model object it ever made (for its dashboard): every Item stored,
    projected or copied, every transaction's backup, until a reset; a 500-order chaos
    run grew past 20 GB."""
    from moto.dynamodb.models.dynamo_type import Item

    ddb = boto3.client("dynamodb", endpoint_url=moto_server.url)
    _table(ddb, "t", range_key=False)
    for n in range(200):
        ddb.put_item(TableName="t", Item={"pk": {"S": "kept-once"}, "n": {"N": str(n)}})
        ddb.get_item(TableName="t", Key={"pk": {"S": "kept-once"}})
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, Item)]
    assert len([i for i in alive if i.hash_key.value == "kept-once"]) == 1


def test_a_client_slow_to_send_its_body_holds_up_no_other_request(moto_server):
    """The body is read before the request takes its turn; it was read inside it, so
    one client descheduled between its headers and its body stalled every request."""
    import socket

    slow = socket.create_connection(("127.0.0.1", moto_server.port), timeout=10)
    body = b"Action=ListQueues&Version=2012-11-05"
    slow.sendall(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/sqs/aws4_request,"
        b" SignedHeaders=host, Signature=x\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    try:
        quick = Config(read_timeout=3, retries={"max_attempts": 1})
        sqs = boto3.client("sqs", endpoint_url=moto_server.url, config=quick)
        assert "QueueUrls" not in sqs.list_queues()  # before the fix: ReadTimeoutError
    finally:
        slow.sendall(body)
        assert slow.recv(12).startswith(b"HTTP/1.1")
        slow.close()
