"""Errors the runtime raises, each with the HTTP status it maps to (one place)."""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    """Base class: ``status`` is the HTTP status, ``detail`` extra JSON for the body."""

    status = 500
    code = "InternalError"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.detail}


class BadRequest(WorkflowError):
    status = 400
    code = "BadRequest"


class Unauthorized(WorkflowError):
    status = 401
    code = "Unauthorized"


class Forbidden(WorkflowError):
    status = 403
    code = "Forbidden"


class NotFound(WorkflowError):
    status = 404
    code = "NotFound"


class EventNotAllowed(WorkflowError):
    """The event is valid but the instance's current state does not accept it."""

    status = 409
    code = "EventNotAllowed"


class InstanceExists(EventNotAllowed):
    """A create for an instance id that exists already (its first event is not applied to
    the existing instance)."""

    code = "InstanceExists"


class Conflict(WorkflowError):
    """Concurrent writers kept winning; retries could not settle the race."""

    status = 409
    code = "Conflict"


class IdempotencyKeyReused(WorkflowError):
    """An Idempotency-Key already answered a different request (route, body or instance)."""

    status = 422
    code = "IdempotencyKeyReused"


class PayloadTooLarge(WorkflowError):
    status = 413
    code = "PayloadTooLarge"


class Unavailable(WorkflowError):
    """A dependency (storage, bus) failed; nothing was changed, the caller may retry."""

    status = 503
    code = "ServiceUnavailable"
