"""Cost per order from what one order really stores and delivers, against AWS Step
Functions for the same workflow.

What is counted comes from one whole order run through the real handlers
(``bench.system.calls_per_event``): every DynamoDB request the app made, with the size
of each item it wrote (before and after the write), of each index entry that changed
and of each item it read, all taken from the requests themselves (botocore hooks,
``bench.meter``); every SNS publish and SQS send; every Lambda invocation the event
source mappings make, including the durable timers that fire after the order is done
(the kitchen and delivery timeouts, each an SQS send, receive and delete and an
invocation per 15-minute hop). Nothing here assumes how many items a commit writes.

DynamoDB sizes and units (AWS, "Item sizes and formats" and "Read and write
operations", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
CapacityUnitCalculations.html and .../read-write-operations.html):

- an item is the sum of its attribute names' UTF-8 lengths and its values' sizes: a
  string its UTF-8 bytes, a number 1 byte per two significant digits + 1, binary its
  raw bytes, null or boolean 1, a list or map 3 + 1 per element + its elements;
- a write costs 1 WRU per KB (rounded up) of the larger of the item before and after,
  a delete the item it deletes; in a transaction 2 WRU per KB (ConditionCheck counted
  as a transactional write of the item it checks); a failed conditional write costs
  the same;
- each global secondary index entry a write adds, changes or removes is a write of the
  entry's size (keys + projected attributes); moving an entry (its index key changed)
  is two (AWS, "Provisioned throughput considerations for GSIs"), counted at 1 WRU/KB;
- a strongly consistent read 1 RRU per 4 KB of the item (1 if it is absent), eventually
  consistent half; a Query or Scan rounds the sum of the items it returns up to 4 KB.

Prices (USD, us-east-1, on-demand, AWS pricing pages; free tiers ignored): Lambda
$0.20 per million requests and $0.0000166667 per GB-second (x86); DynamoDB on-demand
$0.625 per million WRU, $0.125 per million RRU, $0.25 per GB-month stored (plus 100
bytes of overhead per item); SNS $0.50 per million publishes; SQS $0.40 per million
requests (every message that reaches a queue counted as one send, SNS's included, plus
one receive and one delete per batch a function is invoked with: an upper bound at
low volume, where batches hold one message); API Gateway REST $3.50 per million
requests; Step Functions Standard $25 per million state transitions; Express $1.00
per million requests plus $0.00001667 per GB-second in 64 MB steps.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from typing import Any

PRICE = {
    "lambda_request": 0.20e-6,
    "lambda_gb_second": 0.0000166667,
    "wru": 0.625e-6,
    "rru": 0.125e-6,
    "storage_gb_month": 0.25,
    "sns_publish": 0.50e-6,
    "sqs_request": 0.40e-6,
    "apigw_request": 3.50e-6,
    "sfn_standard_transition": 25e-6,
    "sfn_express_request": 1.00e-6,
    "sfn_express_gb_second": 0.00001667,
}
LAMBDA_GB = 0.5  # memory of every function (.chalice/config.json)
LAMBDA_SECONDS = 0.05  # billed duration per invocation, warm (1 ms granularity)
WRITE_UNIT, READ_UNIT = 1024, 4096
STORAGE_OVERHEAD = 100  # bytes DynamoDB adds per stored item for its indexing


# -- DynamoDB item sizes -----------------------------------------------------------


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one AttributeValue (wire shape, e.g. ``{"S": "x"}``), without its name."""
    [(kind, data)] = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in data.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes of a stored item by DynamoDB's rules (0 for no item)."""
    return sum(len(name.encode()) + value_size(v) for name, v in (item or {}).items())


def index_entry(
    item: Mapping[str, Any] | None, index: Mapping[str, Any], table_keys: Iterable[str]
) -> dict[str, Any] | None:
    """The entry ``item`` has in a global secondary index (``describe_table`` shape), or
    None when the item lacks an index key (a sparse index skips it)."""
    if not item:
        return None
    keys = [k["AttributeName"] for k in index["KeySchema"]]
    if any(k not in item for k in keys):
        return None
    projection = index["Projection"]
    if projection["ProjectionType"] == "ALL":
        return dict(item)
    names = {*table_keys, *keys, *projection.get("NonKeyAttributes", [])}
    return {k: v for k, v in item.items() if k in names}


# -- units from metered requests -----------------------------------------------------


def write_units(write: Mapping[str, Any]) -> int:
    """WRUs of one metered item write (``bench.meter`` shape), index writes included."""
    factor = 2 if write["transactional"] else 1
    units = factor * max(1, math.ceil(max(write["before"], write["after"]) / WRITE_UNIT))
    for entry in write["indexes"]:
        before, after = entry["before"], entry["after"]
        if before is None and after is None:
            continue
        if before is None or after is None:
            units += math.ceil((before or after) / WRITE_UNIT)
        elif entry["moved"]:
            units += math.ceil(before / WRITE_UNIT) + math.ceil(after / WRITE_UNIT)
        elif entry["changed"]:
            units += math.ceil(max(before, after) / WRITE_UNIT)
    return units


def read_units(read: Mapping[str, Any]) -> float:
    """RRUs of one metered read request (``bench.meter`` shape)."""
    if read["per_item"]:  # GetItem, BatchGetItem, TransactGetItems: each item rounded
        units = sum(max(1, math.ceil(size / READ_UNIT)) for size in read["sizes"]) or 1
    else:  # Query, Scan: the sum of what they return, rounded
        units = max(1, math.ceil(sum(read["sizes"]) / READ_UNIT))
    if read["transactional"]:
        return 2 * units
    return units if read["consistent"] else units / 2


def storage_units(calls: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """WRU and RRU of metered DynamoDB calls (``bench.meter`` records)."""
    calls = list(calls)
    return {
        "wru": sum(write_units(w) for c in calls for w in c["writes"]),
        "rru": sum(read_units(c["read"]) for c in calls if c["read"]),
    }


def counter_units(calls: Iterable[Mapping[str, Any]]) -> int:
    """WRU spent on the in-flight counters (items under ``inflight#``): what counting
    instances per definition version adds to the metered calls."""
    return sum(
        write_units(w)
        for c in calls
        for w in c["writes"]
        if (w.get("pk") or "").startswith("inflight#")
    )


# -- cost ----------------------------------------------------------------------------


def per_order(calls: Mapping[str, Any]) -> dict[str, Any]:
    """Our cost per order from ``bench.system.calls_per_event()``."""
    usage = calls.get("usage")
    if usage is None:
        raise SystemExit("results without metered usage: run `make bench` again")
    invocations = usage["lambda_invocations"]
    sqs_requests = usage["sqs_messages"] + 2 * usage["sqs_batches"]
    gb_month = usage["stored_bytes"] / 1e9
    items = {
        "API Gateway requests": usage["api_requests"] * PRICE["apigw_request"],
        "Lambda requests": invocations * PRICE["lambda_request"],
        "Lambda GB-seconds": invocations * LAMBDA_GB * LAMBDA_SECONDS * PRICE["lambda_gb_second"],
        "DynamoDB writes": usage["wru"] * PRICE["wru"],
        "DynamoDB reads": usage["rru"] * PRICE["rru"],
        "SNS publishes": usage["sns_publishes"] * PRICE["sns_publish"],
        "SQS requests": sqs_requests * PRICE["sqs_request"],
    }
    return {
        "items": items,
        "total": sum(items.values()),
        "storage_month": gb_month * PRICE["storage_gb_month"],
        "sqs_requests": sqs_requests,
    }


def step_functions(transitions: int, ours: Mapping[str, Any]) -> dict[str, float]:
    """The same order on Step Functions, the API, functions and queues unchanged.

    Standard: the orchestration state lives in Step Functions, one state transition per
    committed transition plus start and end. Express: an execution lasts at most five
    minutes, so it cannot wait for a customer or a kitchen; one execution per event
    (~100 ms at 64 MB), and the order must still be stored between events -- the same
    DynamoDB reads and writes as here.
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


def main() -> None:
    """Measure one order and print what it uses and costs (``python -m bench.cost``)."""
    import logging

    from bench import system

    logging.getLogger("workflow").setLevel(logging.ERROR)
    calls = system.calls_per_event()
    usage, ours = calls["usage"], per_order(calls)
    sfn = step_functions(calls["transitions"], ours)
    print("per order:")
    for key in ("api_requests", "lambda_invocations", "sqs_batches", "sqs_messages",
                "sns_publishes", "timer_messages", "late_timer_messages", "wru", "rru",
                "stored_bytes"):  # fmt: skip
        print(f"  {key:<22} {usage[key]:g}")
    print("USD per million orders:")
    for name, value in ours["items"].items():
        print(f"  {name:<22} {value * 1e6:9.2f}")
    print(f"  {'total':<22} {ours['total'] * 1e6:9.2f}")
    print(f"  {'storage, per month':<22} {ours['storage_month'] * 1e6:9.2f}")
    print(f"  {'Step Functions Std':<22} {sfn['standard'] * 1e6:9.2f}")
    print(f"  {'Step Functions Expr':<22} {sfn['express'] * 1e6:9.2f}")


if __name__ == "__main__":
    sys.exit(main())
