"""Payload validation at the runtime's edge: who may send an event, and its pydantic model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ..shared import BadRequest, Forbidden
from ..versions import Workflow

CLIENT, BUS, RUNTIME, TIMER = "client", "bus", "runtime", "timer"


def validate_model(model: type[BaseModel], payload: Any, what: str | None = None) -> BaseModel:
    """``payload`` checked by ``model``; BadRequest carrying pydantic's detail if not."""
    try:
        return model.model_validate(payload if payload is not None else {})
    except ValidationError as error:
        details = error.errors(include_url=False, include_context=False, include_input=False)
        raise BadRequest(f"invalid {what or model.__name__}", details=details) from None


def validate_payload(workflow: Workflow, event_type: str, payload: Any, source: str) -> dict:
    """The event's payload as JSON data after its model checked it.

    Forbidden when the event exists but may not come from ``source`` (a client sending
    a bus event); BadRequest when it is unknown or its payload is invalid.
    """
    allowed = workflow.client_events if source == CLIENT else workflow.bus_events
    if event_type not in allowed:
        other = workflow.bus_events if source == CLIENT else workflow.client_events
        if event_type in other:
            raise Forbidden(f"event {event_type!r} may not come from a {source}")
        raise BadRequest(f"unknown event type {event_type!r}", accepted=sorted(allowed))
    model = validate_model(allowed[event_type], payload, f"{event_type} payload")
    return model.model_dump(mode="json", exclude_none=True)
