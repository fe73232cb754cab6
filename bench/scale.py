"""How far it scales: the metered orders (``bench.workload``) added up at 10k, 100k, 1M
and 10M orders an hour against AWS's documented limits (``bench.quotas``).

Usage: ``python -m bench.scale`` meters the order mix and rewrites BENCHMARKS.md's
"Scale" section; ``--each N`` meters N orders of every kind (default 2).

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

import collections
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import quotas
from bench.keys import TABLE
from bench.workload import KINDS, Usage

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
SECTION = "## Scale: how far it goes before something throttles"


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
                    "model does not know; add it to bench.scale.KNOWN with how its keys "
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


# -- the report -----------------------------------------------------------------------


def _rate(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2g}" if value else "0"


def _hour(value: float) -> str:
    if math.isinf(value):
        return "never"
    return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:,.0f}k"


def digest(measured: Mapping[str, list[Usage]]) -> str:
    """The metered calls per order of each kind, as a markdown table: what the test
    recomputes from a short run and finds in BENCHMARKS.md."""
    lines = ["| kind | target | partition key | sort keys | writes | WCU | reads | RCU |",
             "|---|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
    other = collections.Counter()
    for kind in KINDS:
        usages = measured.get(kind, [])
        rows: dict[tuple[str, str], dict[str, float]] = {}
        sorts: dict[tuple[str, str], set[str]] = {}
        for usage in usages:
            for where, row in key_rows(usage).items():
                for name, value in row.items():
                    rows.setdefault(where, collections.Counter())[name] += value / len(usages)
            for call in usage.calls:
                for touch in call.touches:
                    sorts.setdefault((touch.target, touch.partition), set()).add(touch.sort or "")
                if not call.touches and call.service != "dynamodb":
                    detail = f" {call.detail}" if call.detail else ""
                    other[(kind, f"{call.service} {call.operation}{detail}")] += 1 / len(usages)
        for (target, partition), row in sorted(rows.items()):
            names = ", ".join(sorted(s for s in sorts[(target, partition)] if s)) or "-"
            lines.append(
                f"| {kind} | {target} | `{partition}` | {names} | {row['w']:g} | "
                f"{row['wcu']:g} | {row['r']:g} | {row['rcu']:g} |"
            )
    lines += ["", "| kind | call | per order |", "|---|---|---:|"]
    lines += [f"| {kind} | {call} | {count:g} |" for (kind, call), count in sorted(other.items())]
    return "\n".join(lines)


def report(measured: Mapping[str, list[Usage]]) -> str:
    """The BENCHMARKS.md section."""
    order = per_order(measured)
    found = limits(order)
    sfn = step_functions(order)
    headline = _headline(found)
    head = " | ".join(_hour(n) + "/h" for n in LOADS)
    rows = []
    for (target, partition), row in sorted(order.keys.items()):
        spread = KNOWN[(target, partition)]
        keys = spread.keys()
        cells = []
        for load in LOADS:
            if keys is None:
                cells.append("one instance's")
            else:
                rate = load / 3600 * PEAK / keys
                cells.append(f"{_rate(rate * row['wcu'])} / {_rate(rate * row['rcu'])}")
        spread_text = spread.what if keys is None else f"{keys} ({spread.what})"
        rows.append(
            f"| `{target}` | `{partition}` | {spread_text} | {row['wcu']:.2f} / {row['rcu']:.2f} "
            f"| {' | '.join(cells)} |"
        )
    limit_rows = [
        f"| {lim.name} | {lim.per_order:.3g} | "
        + " | ".join(_cell(lim, load) for load in LOADS)
        + f" | {lim.capacity:,.0f} {lim.unit} | {_hour(lim.hit_at())}/h |"
        for lim in sorted(found + sfn, key=Limit.hit_at)
    ]
    top = LOADS[-1]
    over_top = [lim for lim in sorted(found, key=Limit.hit_at) if lim.hit_at() <= top]
    closing = (
        f"What breaks first is {over_top[0].name} (reached at {_hour(over_top[0].hit_at())} an "
        "hour). Every limit over at this load, with how many times over it is (settings "
        "are raised as the table of settings says; quotas by a request to AWS):\n\n"
        + "\n".join(
            f"- {lim.name}: {lim.at(top):,.0f} {lim.unit} against {lim.capacity:,.0f}, "
            f"{lim.at(top) / lim.capacity:.1f}x ({_raised_by(lim)})"
            for lim in over_top
        )
        + "\n\nStep Functions Standard at this load: "
        + "; ".join(
            f"{lim.name} {lim.at(top):,.0f} against {lim.capacity:,.0f} "
            f"({lim.at(top) / lim.capacity:.1f}x)"
            for lim in sfn
        )
        + "."
    )
    knob_rows = [
        f"| {name} | {now} | " + " | ".join(f"{n:,}" for n in least) + " |"
        for name, (now, least) in knobs(order).items()
    ]
    per_load = []
    for load in LOADS:
        over = [lim for lim in sorted(found, key=Limit.hit_at) if lim.hit_at() <= load]
        ours = over[0].name if over else "nothing"
        sfn_over = [lim for lim in sorted(sfn, key=Limit.hit_at) if lim.hit_at() <= load]
        theirs = sfn_over[0].name if sfn_over else "nothing"
        per_load.append(f"| {_hour(load)}/h | {ours} ({len(over)} limits over) | {theirs} |")
    return f"""{SECTION}

Written by `python -m bench.scale` (no AWS account: the orders run through the real
handlers on the embedded AWS, every call metered by `bench/keys.py`; the model, its
assumptions and the quotas it checks, each quoted from AWS's documentation, are in
`bench/scale.py` and `bench/quotas.py`). "N orders an hour" is the day's busiest hour;
every per-second figure is its busiest minute, {PEAK}x the hour's mean. The mix: 55%
delivered, 30% delivered while followed over a websocket, 10% cancelled at the
kitchen, 5% refunded after a complaint.

{_assumptions()}

{headline}

Busiest partition of each key pattern, WCU / RCU per second (per order: units of the
whole pattern), against DynamoDB's 1,000 WCU / 3,000 RCU per partition key (table and
each global secondary index alike):

| target | partition key | keys | per order WCU / RCU | {head} |
|---|---|---|---|{"---|" * len(LOADS)}
{chr(10).join(rows)}

Every limit, first reached first (per order: its use per order per second, divided over
the keys that share it; cells: use at the busiest minute, **bold** when over):

| limit | per order | {head} | limit | reached at |
|---|---:|{"---:|" * len(LOADS)}---:|---:|
{chr(10).join(limit_rows)}

The settings that must grow with the load (README, "Scale"): the value now, and the
least each load needs at its busiest minute (shards: every key under its partition
limits and at most {quotas.TRANSACTIONS_PER_ITEM:g} overlapping commits per second on a shared item;
event sources: the invocations running at once):

| setting | now | {head} |
|---|---:|{"---:|" * len(LOADS)}
{chr(10).join(knob_rows)}

What each load hits first, here and on Step Functions Standard (same orders):

| load | this project | Step Functions Standard |
|---|---|---|
{chr(10).join(per_load)}

Per order of the mix: {order.api_requests:.2f} REST requests, {order.websocket_requests:.2f}
websocket requests and {order.pushes:.2f} websocket pushes, {order.publishes:.2f} SNS publishes,
{sum(order.messages.values()):.2f} SQS messages, {sum(order.invocations.values()):.2f} Lambda
invocations ({sum(order.busy.values()) * 1000:.0f} ms of Lambda time as modelled),
{order.transitions:.2f} committed transitions of {order.executions:.2f} workflow instances.

### At {_hour(LOADS[-1])} orders an hour

{closing}

### Key patterns per order, as metered

The test (`tests/bench/test_scale_model.py`) meters one order of each kind and fails
unless these rows are what it finds: a new key pattern, or a pattern written or read a
different number of times or units per order, means this section must be regenerated.

{digest(measured)}
"""


# what the model found first before this section's settings were raised (issue 24)
FOUND = (
    'Found by this model and raised since (README, "Scale"): the timers queue\'s event '
    "source concurrency of 2 (throttled from 74k orders an hour), 16 in-flight counter "
    "shards (77k), order events' concurrency of 5 (99k), the API stages' 200 requests a "
    "second per method (400k), kitchen's and delivery's concurrency of 2 (273k, 333k)."
)


def _headline(found: list[Limit]) -> str:
    import textwrap

    first = min(found, key=Limit.hit_at)
    quotas_in_order = sorted((lim for lim in found if lim.knob is None), key=Limit.hit_at)
    quota = quotas_in_order[0]
    over = [lim for lim in quotas_in_order if lim.hit_at() <= LOADS[-1]]
    text = (
        f"**First limit: {first.name}, at {_hour(first.hit_at())} orders an hour.** With "
        "every setting that must grow with the load raised as the table of settings below "
        f"says, the first limit left is an AWS account quota: {quota.name}, at "
        f"{_hour(quota.hit_at())} orders an hour"
    )
    if over:
        text += f"; at {_hour(LOADS[-1])} an hour {len(over)} quotas are over: " + "; ".join(
            f"{lim.name} ({_hour(lim.hit_at())}/h)" for lim in over
        )
    return (
        textwrap.fill(text + ".", 88, break_on_hyphens=False)
        + "\n\n"
        + textwrap.fill(FOUND, 88, break_on_hyphens=False)
    )


def _assumptions() -> str:
    import textwrap

    ms = {key: f"{value * 1000:.0f} ms" for key, value in LATENCY.items()}
    text = (
        "Assumed, not measured (the embedded AWS has no latency of AWS's): a Lambda "
        f"invocation's own work {INVOCATION_SECONDS * 1000:.0f} ms plus, per call it makes, "
        f"{ms['dynamodb', '*']} for DynamoDB, {ms['dynamodb', 'TransactWriteItems']} for a "
        f"transaction, {ms['sns', 'Publish']} for an SNS publish, {ms['sqs', 'SendMessage']} "
        "for an SQS send (batches of one message, as metered: at load an event source fills "
        "batches of up to 10, so its concurrency here is an upper bound); a commit's "
        f"transaction holds the items it writes {quotas.TRANSACTION_SECONDS * 1000:.0f} ms, "
        f"so a shared item takes {quotas.TRANSACTIONS_PER_ITEM:g} commits a second before one "
        f"in {1 / quotas.COLLISION_SHARE:.0f} collides (cancelled and retried); an order is "
        f"open {ORDER_SECONDS // 60} minutes (Step Functions' open executions). Not "
        "counted, as they do not grow with orders: the outbox sweeper (two queries per outbox "
        "shard a minute when nothing is pending) and staff boards polling their station's "
        "work (one query per station shard per poll, per open board)."
    )
    return textwrap.fill(text, 88, break_on_hyphens=False)


def _raised_by(limit: Limit) -> str:
    return f"setting {limit.knob}" if limit.knob else "AWS quota"


def _cell(limit: Limit, load: float) -> str:
    used = limit.at(load)
    text = _rate(used)
    return f"**{text}**" if used > limit.capacity else text


def write_section(text: str, target: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace (or append) the Scale section of BENCHMARKS.md, leaving the rest."""
    current = target.read_text() if target.exists() else "# Benchmarks\n"
    sections = re.split(r"(?m)^(?=## )", current)
    kept = [s for s in sections if not s.startswith(SECTION)]
    target.write_text("".join(kept).rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")


def main(argv: Iterable[str]) -> None:
    import logging

    from bench.workload import measure

    args = list(argv)
    each = int(args[args.index("--each") + 1]) if "--each" in args else 2
    logging.getLogger("workflow").setLevel(logging.ERROR)
    text = report(measure(each=each))
    write_section(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
