"""The one registry of workflows, by name: assembled here from the domains, handed to
the runtime's entry points (bus intake, timers, the sweeper) by app.py. The runtime
never imports a domain, and no domain imports another."""

from __future__ import annotations

from chalicelib.complaints.service import COMPLAINTS
from chalicelib.orders.service import ORDERS
from chalicelib.runtime.workflow import Workflow

WORKFLOWS: dict[str, Workflow] = {workflow.name: workflow for workflow in (ORDERS, COMPLAINTS)}

__all__ = ["WORKFLOWS"]
