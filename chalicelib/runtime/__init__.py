"""The generic workflow runtime: runs any registered statechart on DynamoDB, SNS and SQS.

A domain describes a workflow (``Workflow``: machine, the events clients and the bus may
send, the ``Command`` each invoke publishes, a view) and calls ``start``/``send``/
``read``/``history``/``worklist`` (with ``client_event``/``client_incoming`` to turn a
client's request into an event); the entry points (``intake.receive``,
``intake.fire_timer``, ``sweeper.sweep``, ``follow``) take the registry of workflows by
name. Errors are ``WorkflowError`` subclasses carrying their HTTP status.
"""

from . import auth, follow, inspection, intake, sweeper, wiring
from .callers import client_event, client_incoming
from .errors import (
    BadRequest,
    Conflict,
    EventNotAllowed,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    WorkflowError,
)
from .orchestrator import (
    BUS,
    CLIENT,
    RUNTIME,
    TIMER,
    Incoming,
    Outcome,
    answered,
    client_next_events,
    history,
    read,
    send,
    start,
    state_key,
    validate_model,
    validate_payload,
    worklist,
)
from .wiring import Queue, Service
from .workflow import Command, Workflow

__all__ = [
    "BUS",
    "CLIENT",
    "RUNTIME",
    "TIMER",
    "BadRequest",
    "Command",
    "Conflict",
    "EventNotAllowed",
    "Forbidden",
    "IdempotencyKeyReused",
    "Incoming",
    "NotFound",
    "Outcome",
    "PayloadTooLarge",
    "Queue",
    "Service",
    "Unauthorized",
    "Unavailable",
    "Workflow",
    "WorkflowError",
    "answered",
    "auth",
    "client_event",
    "client_incoming",
    "client_next_events",
    "follow",
    "history",
    "inspection",
    "intake",
    "read",
    "send",
    "start",
    "state_key",
    "sweeper",
    "validate_model",
    "validate_payload",
    "wiring",
    "worklist",
]
