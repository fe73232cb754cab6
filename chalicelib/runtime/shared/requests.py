"""Parsing what arrives from outside (HTTP bodies and headers, tokens, queue messages).

Every JSON document from outside is decoded by ``decode_json``: bounded in size and
nesting depth before the decoder sees it (Python's decoder recurses once per level,
so a few kilobytes of ``[[[[`` would raise RecursionError), and with no NaN,
Infinity or overflowing numbers (Python accepts them; JSON does not, and NaN
compares false with everything, so an ``exp`` of NaN would never expire).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import BadRequest, PayloadTooLarge

MAX_BODY_BYTES = 16 * 1024
MAX_DEPTH = 32
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def _nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (brackets in strings ignored)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # the usual case, without a scan
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _STRUCTURE.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range")
    return value


def decode_json(raw: bytes | str, what: str = "JSON", max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``raw`` (UTF-8 when bytes); BadRequest "malformed <what>: why".

    Refuses invalid UTF-8, nesting deeper than ``max_depth``, NaN and Infinity, and
    numbers outside the float range. The caller bounds the size first.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        where = f"{error.reason} at byte {error.start}"
        raise BadRequest(f"malformed {what}: not UTF-8 ({where})") from None
    if _nesting_exceeds(text, max_depth):
        raise BadRequest(f"malformed {what}: nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as error:
        raise BadRequest(f"malformed {what}: {error}") from None


def json_object(raw: bytes | None, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; 413 when too large, 400 when not a JSON object."""
    raw = raw or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    if not raw.strip():
        if required:
            raise BadRequest("a JSON object body is required")
        return {}
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def idempotency_key(headers: dict[str, str]) -> str | None:
    """The Idempotency-Key header, checked; None when absent."""
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise BadRequest("Idempotency-Key must be 1-100 characters of A-Z a-z 0-9 . _ : -")
    return key


def framework_error(body: Any) -> dict[str, str] | None:
    """Chalice's own refusal (``{"Code", "Message"}``: 415 for a body not sent as
    application/json, 405 for a method a path lacks) in the API's ``{"error", "message"}``
    shape; None for any other body."""
    if not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return None
    message = str(body["Message"])
    if body["Code"] == "UnsupportedMediaType":
        message += "; send the body as JSON with Content-Type: application/json"
    return {"error": str(body["Code"]), "message": message}
