"""The generic workflow runtime: runs any registered statechart on DynamoDB, SNS and SQS.

A domain describes a workflow (``Workflow``: machine, the events clients and the bus may
send, the ``Command`` each invoke publishes, a view) and calls ``start``/``send``/
``read``/``history``/``worklist``/``owned`` (with ``client_event``/``client_incoming`` to turn a
client's request into an event); the entry points (``intake.receive``,
``intake.fire_timer``, ``sweeper.sweep``, ``follow``) take the registry of workflows by
name. Errors are ``WorkflowError`` subclasses carrying their HTTP status.

Its parts, each a sub-package with its own public surface, from the bottom up (each
imports only parts listed before it; tests/runtime/test_layout.py keeps it so):

- ``versions``: what a workflow is, its versions, migrations and the replay check (pure);
- ``shared``: settings, boto3 clients, clock, errors, request parsing, resource names;
- ``ops``: structured logs, metrics, one invocation's ids;
- ``store``: the DynamoDB adapter;
- ``identity``: tokens, signing keys, secrets, who may do what;
- ``messaging``: the SNS/SQS bus, durable timers, the outbox;
- ``live``: websocket connections and broadcast;
- ``core``: handle one event: load, decide, commit, dispatch;
- ``entrypoints``: intake, sweeper, follow, callers, inspection, definitions, the
  offline replay check.

This module is the runtime's public API: app.py, the domains and the tools import from
here (or, for what is not listed, from a part's package).
"""

from . import store, versions
from .core import (
    BUS,
    CLIENT,
    RUNTIME,
    TIMER,
    Incoming,
    Outcome,
    answered,
    client_next_events,
    history,
    orchestrator,
    owned,
    read,
    send,
    start,
    validate_model,
    validate_payload,
    worklist,
)
from .entrypoints import (
    client_event,
    client_incoming,
    definitions,
    follow,
    inspection,
    intake,
    sweeper,
)
from .identity import Principal, auth, jwks
from .live import broadcast, connections, feeds
from .messaging import bus, outbox, timers
from .ops import invocation, journal, metrics
from .shared import (
    BadRequest,
    Conflict,
    EventNotAllowed,
    Forbidden,
    IdempotencyKeyReused,
    InstanceExists,
    NotFound,
    PayloadTooLarge,
    Settings,
    Unauthorized,
    Unavailable,
    WorkflowError,
    client,
    clients,
    clock,
    framework_error,
    idempotency_key,
    json_object,
    load,
    settings,
    wiring,
)
from .shared.clock import now
from .shared.wiring import PREFIX, Queue, Service, queues, subscribed
from .versions import Command, Version, Workflow, is_instance_id, link, state_key

__all__ = [
    "BUS",
    "CLIENT",
    "PREFIX",
    "RUNTIME",
    "TIMER",
    "BadRequest",
    "Command",
    "Conflict",
    "EventNotAllowed",
    "Forbidden",
    "IdempotencyKeyReused",
    "Incoming",
    "InstanceExists",
    "NotFound",
    "Outcome",
    "PayloadTooLarge",
    "Principal",
    "Queue",
    "Service",
    "Settings",
    "Unauthorized",
    "Unavailable",
    "Version",
    "Workflow",
    "WorkflowError",
    "answered",
    "auth",
    "broadcast",
    "bus",
    "client",
    "client_event",
    "client_incoming",
    "client_next_events",
    "clients",
    "clock",
    "connections",
    "definitions",
    "feeds",
    "follow",
    "framework_error",
    "history",
    "idempotency_key",
    "inspection",
    "intake",
    "invocation",
    "is_instance_id",
    "journal",
    "json_object",
    "jwks",
    "link",
    "load",
    "metrics",
    "now",
    "orchestrator",
    "outbox",
    "owned",
    "queues",
    "read",
    "send",
    "settings",
    "start",
    "state_key",
    "store",
    "subscribed",
    "sweeper",
    "timers",
    "validate_model",
    "validate_payload",
    "versions",
    "wiring",
    "worklist",
]
