"""The scale model: the metered orders (``bench.workload``) added up at any order rate
against AWS's documented limits (``bench.quotas``); ``bench.scale`` writes the report.

The load: "N orders an hour" is the day's busiest hour (a pizza shop's day: a lunch
and a larger dinner peak, about 8 N orders a day); inside it the busiest minute runs at
``PEAK`` times the hour's mean, and every per-second figure is for that minute. An
order's calls happen within minutes of each other, so each runs at the order rate
times how many of it an order makes.

The mix (``MIX``): of every 100 orders 55 are delivered, 30 delivered while the
customer follows them over a websocket, 10 cancelled while the kitchen holds them, 5
delivered, complained about and refunded.

A key pattern spreads its load as the model knows it (``KNOWN``): over one key per
instance (or work item, connection...), which no order rate makes hot; over a number of
shards, each taking 1 / N of it (keys hash evenly over the shards); or on one key. A
pattern the meter records and ``KNOWN`` lacks stops the model (``UnknownPattern``).

Lambda time: each invocation ``INVOCATION_SECONDS`` of its own work plus, for every AWS
call it makes, the latency in ``LATENCY`` (assumed: DynamoDB's single-digit
milliseconds, a transaction's two phases more). Concurrency = rate x seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import quotas
from bench.keys import TABLE
from bench.workload import Usage

ROOT = Path(__file__).resolve().parent.parent
LOADS = (10_000, 100_000, 1_000_000, 10_000_000)
PEAK = 1.5  # the busiest minute over the busiest hour's mean
MIX = {"delivered": 0.55, "followed": 0.30, "cancelled": 0.10, "refunded": 0.05}
ORDER_SECONDS = 45 * 60  # an order open, placing to done (Step Functions' open executions)
INVOCATION_SECONDS = 0.010
LATENCY = {
    ("dynamodb", "TransactWriteItems"): 0.015,
    ("dynamodb", "*"): 0.006,
    ("sns", "Publish"): 0.015,
    ("sqs", "SendMessage"): 0.010,
    ("apigatewaymanagementapi", "PostToConnection"): 0.015,
}
TIMER_HOP_SECONDS = 900  # SQS's longest delay: a longer timer is sent again each hop


class UnknownPattern(Exception):
    """The code wrote or read a key pattern the model does not know."""


@dataclass(frozen=True, slots=True)
class Spread:
    """How a pattern's keys share its load: ``instance`` (one key per instance, work
    item or connection), ``shards`` (``count()`` keys, by hash), ``single`` (one key)."""

    kind: str
    what: str
    count: Callable[[], int] | None = None

    def keys(self) -> int | None:
        return self.count() if self.count else (1 if self.kind == "single" else None)


def _setting(name: str) -> Callable[[], int]:
    def read() -> int:
        from chalicelib.runtime import Settings

        return int(getattr(Settings.from_environment(), name))

    return read


_ONE = "one per {}"
KNOWN: dict[tuple[str, str], Spread] = {
    (TABLE, "order#<id>"): Spread("instance", _ONE.format("order")),
    (TABLE, "complaint#<id>"): Spread("instance", _ONE.format("complaint")),
    (TABLE, "idempotency#<id>"): Spread("instance", _ONE.format("Idempotency-Key")),
    (TABLE, "connection#<id>"): Spread("instance", _ONE.format("websocket connection")),
    (TABLE, "station#kitchen#<id>"): Spread("instance", _ONE.format("order")),
    (TABLE, "station#delivery#<id>"): Spread("instance", _ONE.format("order")),
    (TABLE, "station#payments#<id>"): Spread("instance", _ONE.format("refund attempt")),
    (TABLE, "station#payments!settled#<id>"): Spread("instance", _ONE.format("complaint")),
    # "My orders": a customer's orders under one key of the owner index (one per customer)
    ("owner", "order#<id>"): Spread("instance", _ONE.format("customer")),
    ("owner", "complaint#<id>"): Spread("instance", _ONE.format("customer")),
    # the staff boards listening to the work feed: one key, read by every announcement
    (TABLE, "feed#work"): Spread("single", "one for the whole system"),
    (TABLE, "inflight#order#<shard>"): Spread(
        "shards", "COUNTER_SHARDS", _setting("counter_shards")
    ),
    (TABLE, "inflight#complaint#<shard>"): Spread(
        "shards", "COUNTER_SHARDS", _setting("counter_shards")
    ),
    ("pending", "outbox#<shard>"): Spread("shards", "OUTBOX_SHARDS", _setting("outbox_shards")),
    ("pending", "kitchen#<shard>"): Spread("shards", "STATION_SHARDS", _setting("station_shards")),
    ("pending", "delivery#<shard>"): Spread("shards", "STATION_SHARDS", _setting("station_shards")),
    ("pending", "payments#<shard>"): Spread("shards", "STATION_SHARDS", _setting("station_shards")),
    ("worklist", "worklist#complaint#<shard>"): Spread(
        "shards", "WORKLIST_SHARDS", _setting("worklist_shards")
    ),
    # order chart version 3 (bench/fanout.py): one pizza child instance per item, its id
    # the order's and the item's; no pizza or oven key is written by every order. A
    # pizza's item, history, dedupe and outbox records are under its own key; each bake
    # is one piece of oven work (bakeId: order, item, attempt); a child's owner is its
    # parent's, so "my pizzas" is one key per customer, written once per pizza; the
    # counters, the oven's held work and the pizzas in the oven are spread over shards
    (TABLE, "pizza#<id>"): Spread("instance", _ONE.format("pizza")),
    (TABLE, "station#oven#<id>"): Spread("instance", _ONE.format("bake of a pizza")),
    # the bakes the oven held for one order (CANCEL_BAKES closes them): one key per order
    (TABLE, "station#oven!order#<id>"): Spread("instance", _ONE.format("order")),
    ("owner", "pizza#<id>"): Spread("instance", _ONE.format("customer")),
    (TABLE, "inflight#pizza#<shard>"): Spread(
        "shards", "COUNTER_SHARDS", _setting("counter_shards")
    ),
    ("pending", "oven#<shard>"): Spread("shards", "STATION_SHARDS", _setting("station_shards")),
    ("worklist", "worklist#pizza#<shard>"): Spread(
        "shards", "WORKLIST_SHARDS", _setting("worklist_shards")
    ),
}


# -- per order ------------------------------------------------------------------------


@dataclass(slots=True)
class PerOrder:
    """What an order of the mix uses, on average."""

    keys: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    sorts: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    publishes: float = 0.0
    messages: dict[str, float] = field(default_factory=dict)
    invocations: dict[str, float] = field(default_factory=dict)
    busy: dict[str, float] = field(default_factory=dict)  # Lambda seconds by function
    api_requests: float = 0.0  # REST requests
    routes: dict[str, float] = field(default_factory=dict)  # requests by method and route
    websocket_connects: float = 0.0
    websocket_requests: float = 0.0  # connect, disconnect, message routes
    pushes: float = 0.0  # post_to_connection
    transitions: float = 0.0  # committed transitions (history records)
    executions: float = 0.0  # workflow instances started


def _latency(service: str, operation: str) -> float:
    return LATENCY.get((service, operation), LATENCY.get((service, "*"), 0.0))


def key_rows(usage: Usage) -> dict[tuple[str, str], dict[str, float]]:
    """Per (target, partition pattern) of one order: writes, WCU, reads, RCU and
    transactional item writes. Raises UnknownPattern for a pattern KNOWN lacks."""
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for call in usage.calls:
        for touch in call.touches:
            where = (touch.target, touch.partition)
            if where not in KNOWN:
                raise UnknownPattern(
                    f"{call.function} {call.operation} {touch.kind}s {touch.target} "
                    f"{touch.partition!r} (sort key {touch.sort!r}): a key pattern the scale "
                    "model does not know; add it to bench.capacity.KNOWN with how its keys "
                    "spread, then regenerate BENCHMARKS.md (python -m bench.scale)"
                )
            row = rows.setdefault(where, dict.fromkeys(("w", "wcu", "r", "rcu", "tx"), 0.0))
            if touch.kind == "write":
                row["w"] += 1
                row["wcu"] += touch.units
                row["tx"] += touch.transactional
            else:
                row["r"] += 1
                row["rcu"] += touch.units
    return rows


def _hops(delay: float | None) -> int:
    return max(0, math.ceil((delay or 0) / TIMER_HOP_SECONDS) - 1)


def per_order(measured: Mapping[str, list[Usage]], mix: Mapping[str, float] = MIX) -> PerOrder:
    """The mix's average order from the metered orders of each kind."""
    out = PerOrder()

    def add(target: dict, key: Any, value: float) -> None:
        target[key] = target.get(key, 0.0) + value

    for kind, usages in measured.items():
        weight = mix[kind] / len(usages)
        for usage in usages:
            for where, row in key_rows(usage).items():
                for name, value in row.items():
                    add(out.keys.setdefault(where, {}), name, weight * value)
            for call in usage.calls:
                for touch in call.touches:
                    if touch.sort:
                        out.sorts.setdefault((touch.target, touch.partition), set()).add(touch.sort)
                        out.transitions += weight * (
                            touch.sort.startswith("history#") and touch.kind == "write"
                        )
                add(out.busy, call.function, weight * _latency(call.service, call.operation))
                if (call.service, call.operation) == ("sns", "Publish"):
                    out.publishes += weight
                if call.service == "apigatewaymanagementapi":
                    out.pushes += weight
                hops = _hops(call.delay)
                if hops:  # each hop: one more message and invocation, one more send
                    add(out.messages, "TimersQueue", weight * hops)
                    add(out.invocations, "timer_events", weight * hops)
                    hop = INVOCATION_SECONDS + _latency("sqs", "SendMessage")
                    add(out.busy, "timer_events", weight * hops * hop)
            for queue, count in usage.messages.items():
                add(out.messages, queue, weight * count)
            for function, count in usage.invocations.items():
                add(out.invocations, function, weight * count)
                add(out.busy, function, weight * count * INVOCATION_SECONDS)
            for route, count in usage.requests.items():
                add(out.routes, route, weight * count)
                if route.startswith("websocket"):
                    out.websocket_requests += weight * count
                    out.websocket_connects += weight * count * route.endswith("$connect")
                else:
                    out.api_requests += weight * count
            started = {p.split("#")[0] for p in _instances_written(usage)}
            out.executions += weight * len(started)
    return out


def _instances_written(usage: Usage) -> set[str]:
    """The instances (their key patterns) an order committed transitions of."""
    return {
        t.partition
        for c in usage.calls
        for t in c.touches
        if t.kind == "write" and (t.sort or "").startswith("history#")
    }


# -- limits ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limit:
    """One documented limit: ``per_order`` of it used by each order per second of
    orders (already divided over the keys that share it), against ``capacity``."""

    name: str
    per_order: float
    capacity: float
    unit: str
    knob: str | None = None  # the setting that raises it (None: an AWS quota)

    def at(self, orders_per_hour: float) -> float:
        """Use per second at the busiest minute of a load."""
        return orders_per_hour / 3600 * PEAK * self.per_order

    def hit_at(self) -> float:
        """Orders an hour at which the busiest minute reaches the limit."""
        return math.inf if self.per_order <= 0 else self.capacity / self.per_order / PEAK * 3600


def limits(order: PerOrder) -> list[Limit]:
    """Every limit the mix's orders use, busiest partition by busiest partition."""
    from chalicelib.registry import QUEUES

    found = []
    for (target, partition), row in sorted(order.keys.items()):
        spread = KNOWN[(target, partition)]
        keys = spread.keys()
        if keys is None:
            continue  # one key per instance: no order rate makes it hot
        where = f"`{target}` `{partition}` ({keys} key{'s' * (keys > 1)})"
        knob = spread.what if spread.kind == "shards" else None
        found.append(Limit(f"{where}: WCU", row["wcu"] / keys, quotas.PARTITION_WCU, "WCU/s", knob))
        if row["rcu"]:
            found.append(
                Limit(f"{where}: RCU", row["rcu"] / keys, quotas.PARTITION_RCU, "RCU/s", knob)
            )
        if row["tx"]:
            found.append(
                Limit(f"{where}: overlapping transactions per item", row["tx"] / keys,
                      quotas.TRANSACTIONS_PER_ITEM, "commits/s", knob)
            )  # fmt: skip
    wcu = sum(r["wcu"] for r in order.keys.values())
    rcu = sum(r["rcu"] for r in order.keys.values())
    api = order.api_requests + order.websocket_requests + order.pushes
    found += [
        Limit("table and its indexes: WRU (on-demand table quota)", wcu, quotas.TABLE_WRU, "WRU/s"),
        Limit("table and its indexes: RRU (on-demand table quota)", rcu, quotas.TABLE_RRU, "RRU/s"),
        Limit("SNS Publish (account, us-east-1)", order.publishes, quotas.SNS_PUBLISH, "/s"),
        Limit("API Gateway requests (REST, websocket and pushes)", api, quotas.APIGW_RPS, "rps"),
    ]
    route, busiest = max(order.routes.items(), key=lambda item: item[1])
    found.append(
        Limit(f"API Gateway stage throttle per method (busiest: `{route}`)", busiest,
              stage_rate(), "rps", knob="ApiRatePerMethod")
    )  # fmt: skip
    found.append(
        Limit("API Gateway new websocket connections", order.websocket_connects,
              quotas.WEBSOCKET_CONNECTS, "/s")
    )  # fmt: skip
    found.append(
        Limit("Lambda concurrency, all functions (account)", sum(order.busy.values()),
              quotas.LAMBDA_CONCURRENCY, "concurrent")
    )  # fmt: skip
    for queue in QUEUES:
        busy = order.busy.get(queue.handler, 0.0)
        if busy:
            found.append(
                Limit(f"`{queue.handler}` event source MaximumConcurrency", busy,
                      queue.concurrency, "concurrent", f"SQS_CONCURRENCY {queue.handler}")
            )  # fmt: skip
    return found


def stage_rate() -> int:
    """Requests per second each method of the API's stages takes (its throttling): the
    template's ApiRatePerMethod, as deployed by default."""
    import json

    base = json.loads((ROOT / "infra" / "base.json").read_text())
    return int(base["Parameters"]["ApiRatePerMethod"]["Default"])


def step_functions(order: PerOrder) -> list[Limit]:
    """The same orders on Step Functions Standard: one state transition per committed
    transition plus start and end per execution, one StartExecution per instance, each
    open for ``ORDER_SECONDS`` (counted at the hour's mean)."""
    transitions = order.transitions + 2 * order.executions
    return [
        Limit("Step Functions Standard state transitions", transitions,
              quotas.SFN_TRANSITIONS, "/s"),
        Limit("Step Functions StartExecution", order.executions, quotas.SFN_STARTS, "/s"),
        Limit("Step Functions open executions", order.executions * ORDER_SECONDS / PEAK,
              quotas.SFN_OPEN, "open"),
    ]  # fmt: skip


def knobs(order: PerOrder) -> dict[str, tuple[int, list[int]]]:
    """Each setting the load needs raised: its value now and, for every load, the least
    value that keeps what it governs under its limit at the busiest minute."""
    from chalicelib.registry import QUEUES

    need: dict[str, tuple[int, list[int]]] = {}
    for (target, partition), row in order.keys.items():
        spread = KNOWN[(target, partition)]
        if spread.kind != "shards":
            continue
        now, least = need.get(spread.what, (spread.keys() or 1, [1] * len(LOADS)))
        for i, load in enumerate(LOADS):
            rate = load / 3600 * PEAK
            keys = max(
                rate * row["wcu"] / quotas.PARTITION_WCU,
                rate * row["rcu"] / quotas.PARTITION_RCU,
                rate * row["tx"] / quotas.TRANSACTIONS_PER_ITEM,
            )
            least[i] = max(least[i], math.ceil(keys))
        need[spread.what] = (now, least)
    budget = [0] * len(LOADS)
    for queue in QUEUES:
        busy = order.busy.get(queue.handler, 0.0)
        least = [max(2, math.ceil(load / 3600 * PEAK * busy)) for load in LOADS]
        need[f"SQS_CONCURRENCY {queue.handler}"] = (queue.concurrency, least)
        budget = [b + n for b, n in zip(budget, least, strict=True)]
    from chalicelib.registry import SQS_CONCURRENCY_BUDGET

    need["SQS_CONCURRENCY_BUDGET"] = (SQS_CONCURRENCY_BUDGET, budget)
    busiest = max(order.routes.values(), default=0.0)
    need["ApiRatePerMethod (template parameter)"] = (
        stage_rate(),
        [math.ceil(load / 3600 * PEAK * busiest) for load in LOADS],
    )
    return need
