"""The cost model's DynamoDB rules (bench/cost.py) and its meter (bench/meter.py)."""

from __future__ import annotations

import boto3
import pytest

from bench.cost import index_entry, item_size, read_units, storage_units, value_size, write_units
from bench.meter import StorageMeter
from tests.conftest import REGION

PENDING = {
    "IndexName": "pending",
    "KeySchema": [
        {"AttributeName": "pendingShard", "KeyType": "HASH"},
        {"AttributeName": "pendingSince", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["data"]},
}


def test_item_size_is_names_plus_values_as_aws_counts_them():
    # the worked example of a public DynamoDB item-size calculator: 141 bytes
    item = {
        "itemType": {"S": "SLOT"}, "id": {"S": "abc1231"}, "hostName": {"S": "Harry Mason"},
        "timeSlot": {"S": "February 23, 1999"}, "slotStatus": {"S": "OPEN"},
        "createdAt": {"S": "February 1, 1999"}, "updatedAt": {"S": "February 1, 1999"},
        "expiresAt": {"N": "2099"},
    }  # fmt: skip
    assert item_size(item) == 141


@pytest.mark.parametrize(
    "value, size",
    [
        ({"S": "ünï"}, 5),  # UTF-8 bytes, not characters
        ({"N": "1795937433"}, 6),  # 10 significant digits: 5 + 1
        ({"N": "-0.0500"}, 2),  # leading and trailing zeros do not count
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"B": b"\x00\x01\x02"}, 3),
        ({"L": []}, 3),
        ({"L": [{"S": "ab"}, {"N": "7"}]}, 3 + (1 + 2) + (1 + 2)),
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
    ],
)
def test_value_sizes(value, size):
    assert value_size(value) == size


def test_a_transactional_write_of_an_item_over_one_kb_costs_four_units():
    write = {"transactional": True, "before": 1100, "after": 1180, "indexes": []}
    assert write_units(write) == 4
    assert write_units({**write, "transactional": False}) == 2
    assert write_units({**write, "before": 0, "after": 10}) == 2  # at least one unit each


def test_index_entries_cost_a_write_each_way_and_two_when_they_move():
    base = {"transactional": False, "before": 500, "after": 500}

    def entry(before, after, moved=False, changed=True):
        return {**base, "indexes": [{"before": before, "after": after, "moved": moved,
                                     "changed": changed}]}  # fmt: skip

    assert write_units(entry(None, None)) == 1
    assert write_units(entry(None, 80)) == 2  # added to the sparse index
    assert write_units(entry(80, None)) == 2  # removed from it
    assert write_units(entry(80, 80, changed=False)) == 1  # untouched
    assert write_units(entry(80, 90)) == 2  # a projected attribute changed
    assert write_units(entry(80, 90, moved=True)) == 3  # delete + put


def test_reads_round_per_item_or_per_query():
    get = {"sizes": [5000], "consistent": True, "per_item": True, "transactional": False}
    assert read_units(get) == 2
    assert read_units({**get, "sizes": []}) == 1  # an absent item still costs a read
    assert read_units({**get, "consistent": False}) == 1
    query = {"sizes": [3000, 3000], "consistent": False, "per_item": False, "transactional": False}
    assert read_units(query) == 1  # 6 KB -> 8 KB -> 2 units, eventually consistent
    assert read_units({**query, "per_item": True}) == 1  # 4 KB + 4 KB -> 2 units, halved


def test_index_entry_keeps_keys_and_projected_attributes_of_indexed_items_only():
    item = {"pk": {"S": "a"}, "sk": {"S": "b"}, "pendingShard": {"S": "kitchen#07"},
            "pendingSince": {"S": "t"}, "data": {"M": {}}, "other": {"S": "x"}}  # fmt: skip
    assert set(index_entry(item, PENDING, ["pk", "sk"])) == {
        "pk", "sk", "pendingShard", "pendingSince", "data"
    }  # fmt: skip
    assert index_entry({"pk": {"S": "a"}, "sk": {"S": "b"}}, PENDING, ["pk", "sk"]) is None


def test_meter_bills_what_a_commit_really_stores(aws):
    """A version-checked update of a 1.1 KB item and a history put, in one transaction:
    4 + 2 WRU, plus the sparse index entry the update adds."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = aws.refs["OrdersTable"]
    key = {"pk": {"S": "order#1"}, "sk": {"S": "instance"}}
    ddb.put_item(TableName=table, Item={**key, "snapshot": {"S": "x" * 1100}})
    meter = StorageMeter(None, REGION)
    meter.attach(ddb)
    ddb.transact_write_items(
        TransactItems=[
            {"Update": {"TableName": table, "Key": key,
                        "UpdateExpression": "SET pendingShard = :s, pendingSince = :t",
                        "ExpressionAttributeValues": {":s": {"S": "outbox#03"},
                                                      ":t": {"S": "2026"}}}},
            {"Put": {"TableName": table,
                     "Item": {"pk": {"S": "order#1"}, "sk": {"S": "history#1"}}}},
        ]
    )  # fmt: skip
    ddb.get_item(TableName=table, Key=key, ConsistentRead=True)
    [commit, read] = meter.records
    update, put = commit["writes"]
    assert update["before"] == item_size({**key, "snapshot": {"S": "x" * 1100}})
    assert update["after"] > update["before"] > 1024
    assert update["indexes"][0]["before"] is None and update["indexes"][0]["after"] > 0
    assert put["before"] == 0
    assert put["after"] == item_size({"pk": {"S": "order#1"}, "sk": {"S": "history#1"}})
    assert storage_units([commit]) == {"wru": 4 + 1 + 2, "rru": 0}
    assert read["read"]["sizes"] == [update["after"]] and storage_units([read])["rru"] == 1


def test_the_in_flight_counters_cost_two_transactional_writes_per_order(shop):
    """Counting instances per version adds one counter update when an order starts and
    one when it ends, each a transactional write of a small item (2 WRU): 4 of the 69
    WRU this order uses (README, "Changing a workflow safely"), 1 of which is the order's
    entry in the keys-only `owner` index, written once, when it is created."""
    from bench.cost import counter_units
    from chalicelib.runtime import clients
    from tests.versions.scenarios import delivered

    meter = StorageMeter(None, REGION)
    meter.attach(clients.client("dynamodb"))
    delivered(shop)
    counters, total = counter_units(meter.records), storage_units(meter.records)["wru"]
    assert counters == 4 and total == 69  # the figures README and RELIABILITY state


def test_an_order_writes_its_owner_index_entry_once_in_its_whole_life(shop):
    """The keys-only `owner` index of "My orders" is written by the commit that creates
    an order and by none of the dozen after it (its keys never change, nothing else is
    projected): 1 WRU per order, and no partition every order writes."""
    from chalicelib.runtime import clients
    from tests.versions.scenarios import delivered

    meter = StorageMeter(None, REGION)
    meter.attach(clients.client("dynamodb"))
    delivered(shop)
    owner = [
        entry
        for call in meter.records
        for write in call["writes"]
        for entry in write["indexes"]
        if entry["name"] == "owner" and entry["changed"]
    ]
    assert len(owner) == 1 and owner[0]["before"] is None  # the creating write, nothing else
    writes = sum(len(call["writes"]) for call in meter.records)
    assert writes > 10  # the order's life was metered, not just its start
