"""The one registry of workflows and services, by name, assembled here from the domains
and handed to the runtime's entry points (bus intake, timers, the sweeper, websockets)
by app.py, and to infra/generate.py for the template. The runtime never imports a
domain, and no domain imports this module.

Adding a workflow: add it to ``WORKFLOWS``; a service: to ``SERVICES``. Their queues,
handlers, subscriptions and IAM follow (``make infra`` regenerates the template; a
test fails while it is out of date)."""

from __future__ import annotations

from chalicelib.complaints.service import COMPLAINTS
from chalicelib.orders.service import ORDERS
from chalicelib.runtime import Queue, Service, Workflow, queues
from chalicelib.stations import STATIONS

# The most Lambda invocations the SQS event sources together may start (each queue's
# concurrency, declared by its workflow or service: 5 and 2 by default, timers 2). An
# account has 1,000 concurrent executions by default, shared with the API; a new
# account's quota can be far smaller. Raise it with the account's quota: the registry
# refuses wiring over it, and tests/infra/test_operational_settings.py checks the template.
SQS_CONCURRENCY_BUDGET = 50

WORKFLOWS: dict[str, Workflow] = {workflow.name: workflow for workflow in (ORDERS, COMPLAINTS)}
SERVICES: dict[str, Service] = dict(STATIONS)
QUEUES: list[Queue] = queues(WORKFLOWS, SERVICES, budget=SQS_CONCURRENCY_BUDGET)

__all__ = ["QUEUES", "SERVICES", "SQS_CONCURRENCY_BUDGET", "WORKFLOWS"]
