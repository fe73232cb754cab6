"""The fan-out bench's figures and its BENCHMARKS.md section ("Fan-out"), from the orders
``bench.fanout`` meters and times: calls by call, write units by key pattern, the cost
per million orders against Step Functions Standard with a Map state, and the first limit
the scale model finds."""

from __future__ import annotations

import statistics
import textwrap
from collections import Counter
from collections.abc import Mapping
from typing import Any

from bench import capacity, cost
from bench.fanout import SECTION, VERSIONS
from bench.keys import TABLE
from bench.workload import API, AUTHORIZER, Usage

SUMMARY = (
    "| pizzas | chart | AWS calls | per pizza | WCU | per pizza | RCU | SNS publishes "
    "| SQS messages | Lambda invocations | API requests | committed transitions | ms "
    "| time / v1 |\n|---:|---|" + "---:|" * 12
)
COSTS = (
    "| pizzas | v1 | v3 | v3 per pizza | v3 / v1 | Step Functions transitions "
    "| Step Functions Standard | Standard / v3 |\n|" + "---:|" * 8
)
# Step Functions Standard, priced as bench/cost.py prices it ($25 per million state
# transitions). AWS's pricing page (aws.amazon.com/step-functions/pricing): "Step
# Functions counts a state transition each time a step of your workflow is executed. You
# are charged for the total number of state transitions across all your state machines,
# including retries"; "$0.025 per 1,000 state transitions" (US East (N. Virginia)). The
# developer guide ("Transitions", on the Map state): in Inline mode Step Functions does
# not charge a state transition for each iteration of the Map state itself (Distributed
# mode charges one per child workflow execution it starts); the steps inside each
# iteration are steps executed, counted as above. So the order's inline Map over its
# pizzas costs what the steps of the order and of every pizza cost: one transition per
# committed transition, plus the execution's start and end (``cost.step_functions``).


def call_name(call: Any) -> str:
    """A call as the tables name it: service, operation and, for a publish or a send,
    its message type or queue (``sns Publish BAKE_PIZZA``)."""
    detail = f" {call.detail}" if call.detail else ""
    return f"{call.service} {call.operation}{detail}"


def figures(usage: Usage, pizzas: int) -> dict[str, Any]:
    """One metered order's figures: its calls by name, units by key pattern, the usage
    the cost model prices, and its cost (ours and Step Functions Standard's), per order."""
    rows = capacity.key_rows(usage)  # UnknownPattern for a key the scale model lacks
    queried = Counter(t.partition for c in usage.calls if c.operation == "Query" for t in c.touches)
    order = capacity.per_order({usage.kind: [usage]}, {usage.kind: 1.0})
    batches = sum(n for f, n in order.invocations.items() if f not in (API, AUTHORIZER))
    invocations = sum(order.invocations.values())
    sqs = sum(order.messages.values())
    wcu = sum(r["wcu"] for r in rows.values())
    rcu = sum(r["rcu"] for r in rows.values())
    price = cost.PRICE
    items = {
        "API Gateway requests": order.api_requests * price["apigw_request"],
        "Lambda requests": invocations * price["lambda_request"],
        "Lambda GB-seconds": invocations * cost.LAMBDA_GB * cost.LAMBDA_SECONDS
        * price["lambda_gb_second"],
        "DynamoDB writes": wcu * price["wru"],
        "DynamoDB reads": rcu * price["rru"],
        "SNS publishes": order.publishes * price["sns_publish"],
        "SQS requests": (sqs + 2 * batches) * price["sqs_request"],
    }  # fmt: skip
    ours = {"items": items, "total": sum(items.values())}
    transitions = round(order.transitions)
    first = min(capacity.limits(order), key=capacity.Limit.hit_at)
    return {
        "pizzas": pizzas,
        "calls": Counter(call_name(c) for c in usage.calls),
        "queried": queried,  # Query calls by the partition key they read
        "units": rows,
        "wcu": wcu,
        "rcu": rcu,
        "publishes": order.publishes,
        "messages": sqs,
        "invocations": invocations,
        "requests": order.api_requests,
        "transitions": transitions,
        "items": items,
        "first": (first.name, first.hit_at()),
        "cost": ours["total"],
        # Standard with a Map state: (transitions + 2) state transitions, nothing stored
        "sfn": cost.step_functions(transitions, ours)["standard"],
    }


def counted(f: Mapping[str, Any], version: int) -> str:
    """The start of an order's row in the first table: what was metered, no time
    (what tests/bench/test_fanout.py finds in BENCHMARKS.md for one pizza)."""
    n = f["pizzas"]
    calls = sum(f["calls"].values())
    return (
        f"| {n} | v{version} | {calls} | {_per(calls, n)} | {f['wcu']:g} | "
        f"{_per(f['wcu'], n)} | {f['rcu']:g} | {f['publishes']:g} | {f['messages']:g} | "
        f"{f['invocations']:g} | {f['requests']:g} | {f['transitions']} |"
    )


def _per(value: float, pizzas: int) -> str:
    share = value / pizzas
    return f"{share:.0f}" if share >= 100 else f"{share:.3g}"


def _median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def report(
    measured: Mapping[tuple[int, int], Usage],
    took: Mapping[tuple[int, int], list[float]],
    slots: int,
    when: str,
) -> str:
    """The BENCHMARKS.md section."""
    sizes = sorted({n for _, n in measured})
    fig = {key: figures(usage, key[1]) for key, usage in measured.items()}
    rounds = min((len(t) for t in took.values()), default=0)
    summary = []
    for n in sizes:
        for v in VERSIONS:
            f = fig[(v, n)]
            ms = _median_ms(took[(v, n)]) if (v, n) in took else float("nan")
            ratio = ms / _median_ms(took[(1, n)]) if (1, n) in took else float("nan")
            summary.append(f"{counted(f, v)} {ms:,.0f} | {ratio:.2f} |")
    head = " | ".join(f"v{v} x{n}" for n in sizes for v in VERSIONS)
    rule = "---:|" * (len(sizes) * len(VERSIONS))
    names = sorted({name for f in fig.values() for name in f["calls"]})
    by_call = [
        f"| {name} | "
        + " | ".join(_per(fig[(v, n)]["calls"][name], n) for n in sizes for v in VERSIONS)
        + " |"
        for name in names
    ]
    patterns = sorted({w for f in fig.values() for w, row in f["units"].items() if row["wcu"]})
    by_key = [
        f"| `{target}` | `{partition}` | "
        + " | ".join(
            _per(fig[(v, n)]["units"].get((target, partition), {}).get("wcu", 0), n)
            for n in sizes
            for v in VERSIONS
        )
        + " |"
        for target, partition in patterns
    ]
    costs = []
    for n in sizes:
        v1, v3 = fig[(1, n)], fig[(3, n)]
        costs.append(
            f"| {n} | ${v1['cost'] * 1e6:,.2f} | ${v3['cost'] * 1e6:,.2f} | "
            f"${v3['cost'] * 1e6 / n:,.2f} | {v3['cost'] / v1['cost']:.2f} | "
            f"{v3['transitions'] + 2} | ${v3['sfn'] * 1e6:,.2f} | {v3['sfn'] / v3['cost']:.2f} |"
        )
    listed = ", ".join(map(str, sizes))
    first = [
        f"| {n} | v{v} | {fig[(v, n)]['first'][0]} | {fig[(v, n)]['first'][1]:,.0f} |"
        for n in sizes
        for v in VERSIONS
    ]
    small, big = fig[(3, sizes[0])], fig[(3, sizes[-1])]
    order_key = (TABLE, "order#<id>")
    grows = (
        f"AWS calls per pizza stay flat ({_per(sum(small['calls'].values()), sizes[0])} at "
        f"{sizes[0]} pizza, {_per(sum(big['calls'].values()), sizes[-1])} at {sizes[-1]}); "
        f"write units per pizza do not ({_per(small['wcu'], sizes[0])} and "
        f"{_per(big['wcu'], sizes[-1])}), because of the order's own item: each pizza's done "
        "event is one commit of the order, which rewrites the whole item (every item and "
        "every pizza's output so far) in a transaction, so the order's write units grow with "
        "the square of its pizzas: `order#<id>` "
        f"{_per(small['units'][order_key]['wcu'], sizes[0])} WCU per pizza at {sizes[0]}, "
        f"{_per(big['units'][order_key]['wcu'], sizes[-1])} at {sizes[-1]}."
    )
    n = sizes[-1]
    queries = ", ".join(f"`{key}` {_per(count, n)}" for key, count in big["queried"].most_common())
    grows += (
        f" The Queries per pizza, by the key they read (at {n}): {queries}; a pizza's "
        "commits each read the order's followers (`order#<id>`: a child's commit pushes its "
        "parent's view, one strongly consistent query when nobody follows), and each change "
        "of the pizza worklist or of the oven's held work reads the work feed's listeners "
        "(`feed#work`)."
    )
    return f"""{SECTION}

Written by `make bench-fanout` (`python -m bench.fanout`) on {when}: an order of
{listed} pizzas (each the same Hawaii) on order chart version 3, one `pizza` child
workflow per pizza and ORDER_OVEN_SLOTS = {slots} of them in the oven at once, from the
request that confirms it to the commit that takes it to `deliverPizza` (every pizza
baked), beside the version 1 order of the same pizzas, in which the kitchen bakes the
whole order as one piece of work. Stations are automatic: each piece of work the
kitchen or the oven holds is finished at once by one staff request (a cook's click on
AWS). Counted too: every timer the order and its pizzas left running, fired when due
(the pizzas' 20-minute oven timeouts, each one more hop; the order's kitchen timeout).
Not counted: placing the order, the driver's reads of the order and of the stations'
work. How it is measured and priced: `bench/fanout.py`.

Per order (per pizza: divided by the pizzas). Wall time: median of {rounds} rounds on the
local stack's serialised moto server, v1 and v3 alternating in one run, every queue
delivered to its handler in process one batch after another, with none of the stack's
polling waits (so what the fan-out adds in work; on AWS a pizza's messages run in
invocations of their own, in parallel); the last column is v3's time over v1's. Do not
compare the milliseconds across machines; compare the ratios.

{SUMMARY}
{chr(10).join(summary)}

AWS calls per pizza, by call (v1 xN: the version 1 order of N pizzas):

| call | {head} |
|---|{rule}
{chr(10).join(by_call)}

{textwrap.fill(grows, 88, break_on_hyphens=False)}

DynamoDB write units per pizza, by key pattern (the table's and each global secondary
index's; every pattern is one `bench/capacity.py` knows: none is written by every order):

| target | partition key | {head} |
|---|---|{rule}
{chr(10).join(by_key)}

Cost per million orders (confirm to all baked, timers included), priced as "Cost per
order against Step Functions" prices a whole order (`bench/cost.py`: AWS's on-demand
prices in us-east-1), against Step Functions Standard doing the same with a Map state
over the pizzas (MaxConcurrency = {slots}): one state transition per committed transition of
the order and of every pizza, plus the execution's start and end, at $25 per million
("$0.025 per 1,000 state transitions", AWS Step Functions pricing); the API, functions
and queues unchanged, nothing in DynamoDB:

{COSTS}
{chr(10).join(costs)}

The scale model (`bench/capacity.py`, as shipped) on these orders alone, as if every
order of the hour were this one from confirm to baked (the rest of an order not
counted): the first limit it reaches, and at how many orders an hour. A pizza's
messages go through the `pizza_events` queue and its bakes through `oven_commands`,
each at the concurrency its workflow or station declares unless `SQS_CONCURRENCY`
(chalicelib/registry.py) raises it:

| pizzas | chart | first limit | orders an hour |
|---:|---|---|---:|
{chr(10).join(first)}
"""
