"""How far it scales: the scale model (``bench.capacity``) at 10k, 100k, 1M and 10M
orders an hour, written as BENCHMARKS.md's "Scale" section.

Usage: ``python -m bench.scale`` (``make bench-scale``) meters the order mix
(``bench.workload``) and rewrites that section; ``--each N`` meters N orders of every
kind (default 2). The section ends with the metered calls per order of each kind
(``digest``), which tests/bench/test_scale_model.py recomputes from a short run.
"""

from __future__ import annotations

import collections
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from bench import quotas
from bench.capacity import (
    INVOCATION_SECONDS,
    KNOWN,
    LATENCY,
    LOADS,
    ORDER_SECONDS,
    PEAK,
    Limit,
    PerOrder,
    key_rows,
    knobs,
    limits,
    per_order,
    step_functions,
)
from bench.workload import KINDS, Usage

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Scale: how far it goes before something throttles"


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
    rows = _pattern_rows(order)
    limit_rows = [
        f"| {lim.name} | {lim.per_order:.3g} | "
        + " | ".join(_cell(lim, load) for load in LOADS)
        + f" | {lim.capacity:,.0f} {lim.unit} | {_hour(lim.hit_at())}/h |"
        for lim in sorted(found + sfn, key=Limit.hit_at)
    ]
    closing = _closing(found, sfn)
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
`bench/capacity.py` and `bench/quotas.py`). "N orders an hour" is the day's busiest hour;
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


def _pattern_rows(order: PerOrder) -> list[str]:
    """Per key pattern: its keys, its units per order, its busiest key at each load."""
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
    return rows


def _closing(found: list[Limit], sfn: list[Limit]) -> str:
    """What breaks first at the highest load, every limit over there, and Step Functions."""
    top = LOADS[-1]
    over_top = [lim for lim in sorted(found, key=Limit.hit_at) if lim.hit_at() <= top]
    if not over_top:
        return "Nothing the model checks is reached."
    return (
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
        "shard a minute when nothing is pending) and staff boards reading their station's "
        "work when they open or reconnect (one query per station shard; the work feed "
        "pushes the rest)."
    )
    return textwrap.fill(text, 88, break_on_hyphens=False)


def _raised_by(limit: Limit) -> str:
    return f"setting {limit.knob}" if limit.knob else "AWS quota"


def _cell(limit: Limit, load: float) -> str:
    used = limit.at(load)
    text = _rate(used)
    return f"**{text}**" if used > limit.capacity else text


def write_section(text: str, target: Path = ROOT / "BENCHMARKS.md", section: str = SECTION) -> None:
    """Replace (or append) ``section`` (the Scale section) of BENCHMARKS.md, leaving the
    rest."""
    current = target.read_text() if target.exists() else "# Benchmarks\n"
    sections = re.split(r"(?m)^(?=## )", current)
    kept = [s for s in sections if not s.startswith(section)]
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
