"""Parsing what arrives over HTTP: size-bounded JSON bodies and idempotency keys."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import BadRequest, PayloadTooLarge

MAX_BODY_BYTES = 16 * 1024
_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def json_object(raw: bytes | None, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; 413 when too large, 400 when not a JSON object."""
    raw = raw or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    if not raw.strip():
        if required:
            raise BadRequest("a JSON object body is required")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"malformed JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def idempotency_key(headers: dict[str, str]) -> str | None:
    """The Idempotency-Key header, checked; None when absent."""
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    if key is None:
        return None
    if not _KEY.match(key):
        raise BadRequest("Idempotency-Key must be 1-100 characters of A-Z a-z 0-9 . _ : -")
    return key
