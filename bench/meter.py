"""What each DynamoDB request of the app is billed by, measured as it happens.

Hooked on the app's own client (botocore's ``before-parameter-build`` and
``after-call`` events): before a write, the items it names are read as they are
stored; after it, again. So an item's size before and after, and its entries in the
table's global secondary indexes, come from the run itself, whatever the request
writes (a commit's transaction grows with its dedupe, history and outbox records
without any change here). Reads record the size of every item they return, read in
full (DynamoDB bills the item, not the projection asked for). The extra reads go
through an unhooked client and are not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.cost import index_entry, item_size

WRITE_ACTIONS = ("Put", "Update", "Delete", "ConditionCheck")
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


class StorageMeter:
    """Records one entry per DynamoDB request (``records``): ``op``, ``writes`` (per
    item: ``before``/``after`` bytes, ``transactional``, ``indexes``) and ``read``
    (``sizes`` of the items returned, ``consistent``, ``per_item``, ``transactional``)."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        import boto3

        self.raw = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
        self.records: list[dict[str, Any]] = []
        self._tables: dict[str, dict[str, Any]] = {}

    def attach(self, ddb: Any) -> None:
        ddb.meta.events.register("before-parameter-build.dynamodb", self._before)
        ddb.meta.events.register("after-call.dynamodb", self._after)

    # -- the table as stored -------------------------------------------------------

    def _table(self, name: str) -> dict[str, Any]:
        if name not in self._tables:
            self._tables[name] = self.raw.describe_table(TableName=name)["Table"]
        return self._tables[name]

    def _key(self, table: str, item: Mapping[str, Any]) -> dict[str, Any]:
        names = [k["AttributeName"] for k in self._table(table)["KeySchema"]]
        return {k: item[k] for k in names}

    def _stored(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.raw.get_item(TableName=table, Key=dict(key), ConsistentRead=True).get("Item")

    # -- hooks ---------------------------------------------------------------------

    def _targets(self, op: str, params: Mapping[str, Any]) -> list[tuple[str, str, dict]]:
        """(table, action, key) of every item a write request names."""
        if op == "TransactWriteItems":
            targets = []
            for entry in params["TransactItems"]:
                [(action, body)] = entry.items()
                key = body.get("Key") or self._key(body["TableName"], body["Item"])
                targets.append((body["TableName"], action, key))
            return targets
        if op == "BatchWriteItem":
            return [
                (table, "Put" if "PutRequest" in r else "Delete",
                 self._key(table, r["PutRequest"]["Item"]) if "PutRequest" in r
                 else r["DeleteRequest"]["Key"])
                for table, requests in params["RequestItems"].items()
                for r in requests
            ]  # fmt: skip
        table = params["TableName"]
        action = op.removesuffix("Item")
        return [(table, action, params.get("Key") or self._key(table, params["Item"]))]

    def _before(self, params: Mapping[str, Any], model: Any, context: dict, **_: Any) -> None:
        op = model.name
        if op in WRITES:
            targets = self._targets(op, params)
            context["bench.meter"] = (op, targets, [self._stored(t, k) for t, _, k in targets])
        elif op in READS:
            context["bench.meter"] = (op, params, None)

    def _after(self, parsed: Mapping[str, Any], model: Any, context: dict, **_: Any) -> None:
        if "bench.meter" not in context:
            return
        op, targets, befores = context.pop("bench.meter")
        if op in WRITES:
            writes = [
                self._write(table, action, before, op == "TransactWriteItems", key)
                for (table, action, key), before in zip(targets, befores, strict=True)
            ]
            self.records.append({"op": op, "writes": writes, "read": None})
        else:
            self.records.append({"op": op, "writes": [], "read": self._read(op, targets, parsed)})

    def _write(self, table: str, action: str, before: Any, transactional: bool, key: Any) -> dict:
        after = None if action == "Delete" else self._stored(table, key)
        description = self._table(table)
        table_keys = [k["AttributeName"] for k in description["KeySchema"]]
        indexes = []
        for index in description.get("GlobalSecondaryIndexes", []):
            old = index_entry(before, index, table_keys)
            new = index_entry(after, index, table_keys)
            index_keys = [k["AttributeName"] for k in index["KeySchema"]]
            indexes.append({
                "name": index["IndexName"],
                "before": None if old is None else item_size(old),
                "after": None if new is None else item_size(new),
                "moved": bool(old and new) and any(old[k] != new[k] for k in index_keys),
                "changed": old != new,
            })  # fmt: skip
        return {
            "action": action,
            "pk": key.get("pk", {}).get("S"),
            "transactional": transactional,
            "before": item_size(before),
            "after": item_size(after) if action != "ConditionCheck" else item_size(before),
            "indexes": indexes,
        }

    def _read(self, op: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> dict:
        if op == "GetItem":
            stored = self._stored(params["TableName"], params["Key"])
            sizes = [item_size(stored)] if stored else []
            return self._reading(sizes, params.get("ConsistentRead", False), True, False)
        if op in ("Query", "Scan"):
            table = params["TableName"]
            index = params.get("IndexName")
            sizes = [self._returned_size(table, index, item) for item in parsed.get("Items", [])]
            consistent = params.get("ConsistentRead", False) and index is None
            return self._reading(sizes, consistent, False, False)
        if op == "BatchGetItem":
            sizes = [
                item_size(self._stored(table, key))
                for table, request in params["RequestItems"].items()
                for key in request["Keys"]
            ]
            requests = params["RequestItems"].values()
            consistent = all(r.get("ConsistentRead", False) for r in requests)
            return self._reading(sizes, consistent, True, False)
        sizes = [
            item_size(self._stored(entry["Get"]["TableName"], entry["Get"]["Key"]))
            for entry in params["TransactItems"]
        ]
        return self._reading(sizes, True, True, True)

    def _returned_size(self, table: str, index: str | None, item: Mapping[str, Any]) -> int:
        stored = self._stored(table, self._key(table, item))
        if index is None:
            return item_size(stored)
        description = self._table(table)
        [definition] = [i for i in description["GlobalSecondaryIndexes"] if i["IndexName"] == index]
        table_keys = [k["AttributeName"] for k in description["KeySchema"]]
        return item_size(index_entry(stored, definition, table_keys))

    @staticmethod
    def _reading(sizes: list[int], consistent: bool, per_item: bool, transactional: bool) -> dict:
        return {
            "sizes": sizes,
            "consistent": consistent,
            "per_item": per_item,
            "transactional": transactional,
        }
