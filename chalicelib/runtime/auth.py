"""Bearer tokens: HS256 JWTs signed with JWT_SECRET (``sub`` = user, ``roles``, ``exp``).

Verification is strict: at most 8 KiB, segments of plain JSON (no NaN or Infinity,
shallow), only ``alg: HS256``, a constant-time signature check, ``exp`` required and
in the future, ``nbf`` honoured (both Unix times up to year 9999), ``sub`` a
non-empty string.
On AWS the same claims can come from a Cognito authorizer instead (README).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from typing import Any

from .errors import BadRequest, Unauthorized
from .requests import decode_json

STAFF = "staff"
MANAGER = "manager"
LEEWAY_SECONDS = 30
MAX_SUBJECT = 128
# far above any real token (ours are ~200 characters), far below what costs time to refuse
MAX_TOKEN_CHARS = 8 * 1024
MAX_TOKEN_DEPTH = 4
MAX_UNIX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: later is no expiry at all


class Principal:
    """Who is calling: the user id and their roles."""

    __slots__ = ("roles", "user")

    def __init__(self, user: str, roles: Iterable[str]) -> None:
        self.user = user
        self.roles = frozenset(roles)

    @property
    def is_staff(self) -> bool:
        """Staff, or a manager (a manager is also staff)."""
        return STAFF in self.roles or self.is_manager

    @property
    def is_manager(self) -> bool:
        return MANAGER in self.roles


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(secret: str, user: str, roles: Iterable[str] = (), ttl_seconds: int = 3600) -> str:
    """A signed token for ``user`` (local stack, demo and tests)."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": user, "roles": sorted(roles), "exp": int(time.time()) + ttl_seconds}
    signing_input = ".".join(
        _b64(json.dumps(p, separators=(",", ":")).encode()) for p in (header, claims)
    )
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _segment(text: str, what: str) -> Any:
    """One base64url JSON segment of a token; Unauthorized if it is not one."""
    try:
        raw = _unb64(text)
    except (ValueError, binascii.Error):
        raise Unauthorized(f"malformed token {what}: not base64url") from None
    try:
        return decode_json(raw, f"token {what}", max_depth=MAX_TOKEN_DEPTH)
    except BadRequest as error:
        raise Unauthorized(error.message) from None


def _unix_time(claims: dict[str, Any], name: str) -> int | float | None:
    """The claim as seconds since the epoch; Unauthorized unless a number in range."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unauthorized(f"token has no valid {name!r}: not a number")
    if not 0 <= value <= MAX_UNIX_TIME:
        raise Unauthorized(f"token has no valid {name!r}: not a Unix time before year 10000")
    return value


def verify(token: str | None, secret: str, now: float | None = None) -> Principal:
    """The principal of a valid token; Unauthorized saying what is wrong otherwise."""
    if not secret:
        raise Unauthorized("authentication is not configured (JWT_SECRET is empty)")
    if not token:
        raise Unauthorized("missing bearer token")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized(f"token is {len(token)} characters; the limit is {MAX_TOKEN_CHARS}")
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("malformed token")
    header = _segment(parts[0], "header")
    claims = _segment(parts[1], "claims")
    try:
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error):
        raise Unauthorized("malformed token signature: not base64url") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise Unauthorized("token must be signed with HS256")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise Unauthorized("bad token signature")
    if not isinstance(claims, dict):
        raise Unauthorized("malformed token claims")
    current = time.time() if now is None else now
    exp = _unix_time(claims, "exp")
    if exp is None:
        raise Unauthorized("token has no expiry ('exp')")
    if current > exp + LEEWAY_SECONDS:
        raise Unauthorized("token expired")
    nbf = _unix_time(claims, "nbf")
    if nbf is not None and current + LEEWAY_SECONDS < nbf:
        raise Unauthorized("token not valid yet")
    user = claims.get("sub")
    if not isinstance(user, str) or not user:
        raise Unauthorized("token has no subject ('sub')")
    if len(user) > MAX_SUBJECT or not user.isprintable():
        # the subject is part of table keys (Idempotency-Key records, owners)
        raise Unauthorized(f"token subject ('sub') must be 1-{MAX_SUBJECT} printable characters")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("token 'roles' must be a list of strings")
    return Principal(user, roles)


def from_context(context: dict[str, Any]) -> Principal:
    """The principal an authorizer put in the request context."""
    roles = context.get("roles", "")
    return Principal(context["principalId"], [r for r in roles.split(",") if r])
