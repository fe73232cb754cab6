"""The chaos stack's faster moto queries answer what moto's own would."""

from __future__ import annotations

import boto3
import pytest

from tests.chaos.stack import _partition_queries


def _both(ddb, **query):
    """The query's items with the chaos stack's patch and with moto's own query."""
    undo = _partition_queries()
    try:
        fast = ddb.query(**query)["Items"]
    finally:
        undo()
    return fast, ddb.query(**query)["Items"]


def test_index_queries_see_items_as_they_gain_and_lose_the_index_key(aws):
    ddb = boto3.client("dynamodb")
    table = aws.refs["OrdersTable"]
    pending = {
        "TableName": table,
        "IndexName": "pending",
        "KeyConditionExpression": "pendingShard = :s",
        "ExpressionAttributeValues": {":s": {"S": "1"}},
    }

    def key(n):
        return {"pk": {"S": f"order#{n}"}, "sk": {"S": "instance"}}

    def mark(n):
        return {
            "TableName": table,
            "Key": key(n),
            "UpdateExpression": "SET pendingShard = :s, pendingSince = :t",
            "ExpressionAttributeValues": {":s": {"S": "1"}, ":t": {"S": f"t{n}"}},
        }

    undo = _partition_queries()  # installed before the writes, as the stack does
    try:
        ddb.query(**pending)  # the first query reads every item once
        for n in range(4):
            ddb.put_item(TableName=table, Item={**key(n), "v": {"N": "1"}})
        ddb.update_item(**mark(0))
        ddb.update_item(**mark(1))
        ddb.put_item(TableName=table, Item={**key(2), "pendingShard": {"S": "1"},
                                             "pendingSince": {"S": "t2"}})  # fmt: skip
        ddb.update_item(
            TableName=table, Key=key(1), UpdateExpression="REMOVE pendingShard, pendingSince"
        )
        ddb.delete_item(TableName=table, Key=key(2))
        with pytest.raises(ddb.exceptions.TransactionCanceledException):
            ddb.transact_write_items(
                TransactItems=[
                    {"Update": mark(3)},
                    {"Update": {**mark(1), "ConditionExpression": "attribute_not_exists(pk)"}},
                ]
            )
        fast = ddb.query(**pending)["Items"]
    finally:
        undo()
    assert fast == ddb.query(**pending)["Items"]
    assert [i["pk"]["S"] for i in fast] == ["order#0"]
    ddb.update_item(**mark(1))  # written without the patch: found by a first query
    fast, moto = _both(ddb, **pending)
    assert fast == moto and len(fast) == 2
