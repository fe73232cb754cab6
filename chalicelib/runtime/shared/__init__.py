"""What every part of the runtime stands on, and nothing of the runtime above it: the
settings (read from the environment once), the boto3 clients (made lazily, once), the
clock, the error family (each error with its HTTP status, mapped in one place), the
parsing of what arrives from outside, and the names of every AWS resource (``wiring``,
shared with app.py, infra/ and the local stack). Any part may import from here; this
package imports no other part but ``versions`` (for the ``Workflow`` type in ``wiring``).
"""

from __future__ import annotations

from . import clients, clock, wiring
from .clients import cached_with_clients, client
from .errors import (
    BadRequest,
    Conflict,
    EventNotAllowed,
    Forbidden,
    IdempotencyKeyReused,
    InstanceExists,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    WorkflowError,
)
from .requests import (
    MAX_BODY_BYTES,
    decode_json,
    framework_error,
    idempotency_key,
    json_object,
)
from .settings import Settings, settings

__all__ = [
    "MAX_BODY_BYTES",
    "BadRequest",
    "Conflict",
    "EventNotAllowed",
    "Forbidden",
    "IdempotencyKeyReused",
    "InstanceExists",
    "NotFound",
    "PayloadTooLarge",
    "Settings",
    "Unauthorized",
    "Unavailable",
    "WorkflowError",
    "cached_with_clients",
    "client",
    "clients",
    "clock",
    "decode_json",
    "framework_error",
    "idempotency_key",
    "json_object",
    "settings",
    "wiring",
]
