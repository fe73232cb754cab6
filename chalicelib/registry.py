"""The one registry of workflows and services, by name, assembled here from the domains
and handed to the runtime's entry points (bus intake, timers, the sweeper, websockets)
by app.py, and to infra/generate.py for the template. The runtime never imports a
domain, and no domain imports this module.

Adding a workflow: add it to ``WORKFLOWS``; a service: to ``SERVICES``. Their queues,
handlers, subscriptions and IAM follow (``make infra`` regenerates the template; a
test fails while it is out of date)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

from chalicelib.complaints.service import COMPLAINTS
from chalicelib.orders.service import ORDERS
from chalicelib.pizzas.service import PIZZAS
from chalicelib.runtime import Queue, Service, Workflow, link, queues
from chalicelib.runtime.shared.wiring import MAX_CONCURRENCY, MIN_CONCURRENCY
from chalicelib.stations import STATIONS

# The most Lambda invocations the SQS event sources together may start (each queue's
# concurrency, declared by its workflow or service: 5 and 2 by default, timers 2, or set
# below). An account has 1,000 concurrent executions by default, shared with the API; a
# new account's quota can be far smaller. Raise it with the account's quota: the registry
# refuses wiring over it, and tests/infra/test_operational_settings.py checks the template.
SQS_CONCURRENCY_BUDGET = 150

# Each queue's event source MaximumConcurrency, by handler, where it is not what the
# workflow or service declares: what bench/scale.py finds 1M orders an hour needs at its
# busiest minute, with room (BENCHMARKS.md "Scale": the timers queue at 2 throttled from
# 74k orders an hour, order events at 5 from 99k). It is a cap, not a reservation: an
# idle queue holds none of it. A deploy raises them without a code change by setting
# SQS_CONCURRENCY (e.g. "order_events=120,timer_events=80") and SQS_CONCURRENCY_BUDGET
# for `make package`; nothing stored changes.
SQS_CONCURRENCY = {
    "order_events": 60,
    "timer_events": 40,
    "kitchen_commands": 12,
    "delivery_commands": 12,
}


def concurrency_settings(
    environ: Mapping[str, str], defaults: Mapping[str, int], budget: int
) -> tuple[dict[str, int], int]:
    """The per-handler concurrency and the budget: ``defaults`` and ``budget`` with
    SQS_CONCURRENCY (``handler=n,...``) and SQS_CONCURRENCY_BUDGET from ``environ`` over
    them. ValueError naming the variable for a value that is not ``handler=number``."""
    chosen = dict(defaults)
    for part in filter(None, (p.strip() for p in environ.get("SQS_CONCURRENCY", "").split(","))):
        handler, _, value = part.partition("=")
        if not handler.strip() or not value.strip().isdigit():
            raise ValueError(f"SQS_CONCURRENCY: {part!r} is not handler=number")
        chosen[handler.strip()] = int(value)
    raw = environ.get("SQS_CONCURRENCY_BUDGET", "").strip()
    if raw and not raw.isdigit():
        raise ValueError(f"SQS_CONCURRENCY_BUDGET: {raw!r} is not a number")
    return chosen, int(raw) if raw else budget


def scaled(made: list[Queue], concurrency: Mapping[str, int], budget: int) -> list[Queue]:
    """``made`` with each queue's concurrency set from ``concurrency`` (by handler).
    ValueError for a handler no queue has, a value outside what an SQS event source takes
    (2-1000), or a total over ``budget``."""
    handlers = {q.handler for q in made}
    unknown = sorted(set(concurrency) - handlers)
    if unknown:
        raise ValueError(f"SQS_CONCURRENCY names {unknown}; the handlers are {sorted(handlers)}")
    out = [replace(q, concurrency=concurrency.get(q.handler, q.concurrency)) for q in made]
    for queue in out:
        if not MIN_CONCURRENCY <= queue.concurrency <= MAX_CONCURRENCY:
            raise ValueError(
                f"{queue.handler}: concurrency {queue.concurrency} is outside the "
                f"{MIN_CONCURRENCY}-{MAX_CONCURRENCY} an SQS event source's "
                "MaximumConcurrency takes"
            )
    total = sum(q.concurrency for q in out)
    if total > budget:
        raise ValueError(
            f"the SQS event sources would start up to {total} concurrent invocations, over the"
            f" budget of {budget}: lower SQS_CONCURRENCY or raise SQS_CONCURRENCY_BUDGET"
        )
    return out


WORKFLOWS: dict[str, Workflow] = dict(link({w.name: w for w in (ORDERS, COMPLAINTS, PIZZAS)}))
SERVICES: dict[str, Service] = dict(STATIONS)
_CONCURRENCY, SQS_CONCURRENCY_BUDGET = concurrency_settings(
    os.environ, SQS_CONCURRENCY, SQS_CONCURRENCY_BUDGET
)
QUEUES: list[Queue] = scaled(
    queues(WORKFLOWS, SERVICES, budget=SQS_CONCURRENCY_BUDGET), _CONCURRENCY, SQS_CONCURRENCY_BUDGET
)

__all__ = [
    "QUEUES",
    "SERVICES",
    "SQS_CONCURRENCY",
    "SQS_CONCURRENCY_BUDGET",
    "WORKFLOWS",
    "concurrency_settings",
    "scaled",
]
