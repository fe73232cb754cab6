"""A client's request as the runtime applies it: the event (payload checked, time
stamped) and its id (the caller's Idempotency-Key when given, so a retry is recognised).
Shared by every domain's use cases."""

from __future__ import annotations

import uuid
from typing import Any

from ..core import CLIENT, Incoming, validate_payload
from ..identity import auth
from ..shared import clock
from ..versions import Workflow


def client_incoming(
    principal: auth.Principal, event: dict[str, Any], key: str | None, caller: str | None
) -> Incoming:
    """A client event; with an Idempotency-Key its id is the caller's key, remembered.
    ``caller`` set restricts it to that owner's instances."""
    # keys have no "/", so no two callers' keys make the same id
    event_id = f"client.{principal.user}/{key}" if key else f"client.{uuid.uuid4().hex}"
    return Incoming(event, event_id, CLIENT, caller=caller, keyed=key is not None)


def client_event(
    workflow: Workflow, event_type: str, body: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """The event a client's body makes: BadRequest/Forbidden as ``validate_payload``;
    ``extra`` (who sent it, from the token) is added after the body was checked. The
    type and time are set last: no payload field can replace them (a Workflow refuses
    models with such fields when it is declared)."""
    payload = validate_payload(workflow, event_type, body, CLIENT)
    return {**payload, **extra, "type": event_type, "time": clock.now()}
