"""The development issuer's OAuth 2.0 authorization code flow with PKCE (never deployed).

The same three endpoints as Cognito's user pool domain, so the web console's real
sign-in code runs locally and in the browser tests:

- ``GET /authorize``: checks the request (``response_type=code``, this issuer's client,
  a ``redirect_uri`` on this machine, a PKCE ``code_challenge`` with method ``S256``;
  RFC 7636 section 4.3), then either shows a page to pick a demo person or, given
  ``login_hint=<user>`` of one, approves at once: the browser goes back to
  ``redirect_uri?code=...&state=...``. A request whose client or redirect is wrong gets
  a page saying so (never a redirect, RFC 6749 section 4.1.2.1); any other error goes
  back to the redirect with ``error=`` and the ``state``.
- ``POST /token`` (form-encoded): a code is good once, for 60 s, for the client and
  redirect it was issued to, and only with the verifier whose SHA-256 is its challenge
  (RFC 7636 section 4.6). Answers ``access_token``, ``id_token``, ``expires_in``; errors
  as RFC 6749 section 5.2 (``invalid_grant``, ``invalid_request``...).
- ``GET /logout``: back to ``logout_uri`` (Cognito's name) or
  ``post_logout_redirect_uri`` (OIDC's) on this machine.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from local.signin import PEOPLE

CODE_SECONDS = 60
LOOPBACK = ("127.0.0.1", "localhost")
# RFC 7636 section 4.1/4.2: 43-128 characters of the unreserved set
PKCE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
MAX_PARAMETER = 2048

Answer = tuple[int, dict[str, str], bytes]


class Issuer(Protocol):
    audience: str
    codes: AuthorizationCodes
    token_seconds: int

    def mint(self, user: str, roles: Any = (), ttl_seconds: int = 3600, **claims: Any) -> str: ...


@dataclass(slots=True)
class Grant:
    """What one code stands for."""

    user: str
    roles: tuple[str, ...]
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    nonce: str | None
    expires: float


class AuthorizationCodes:
    """Codes issued and not yet used; each is taken at most once. Thread-safe."""

    def __init__(self) -> None:
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._grants = {c: g for c, g in self._grants.items() if g.expires > now}
            self._grants[code] = grant
        return code

    def take(self, code: str) -> Grant | None:
        """The grant of ``code``, removed (a second try finds nothing), or None."""
        with self._lock:
            grant = self._grants.pop(code, None)
        if grant is None or grant.expires <= time.monotonic():
            return None
        return grant


def challenge_of(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier: BASE64URL(SHA256(verifier)), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _single(query: str) -> dict[str, str]:
    """Each parameter once (a repeated one is refused, RFC 6749 section 3.1)."""
    values = parse_qs(query, keep_blank_values=True)
    repeated = sorted(name for name, found in values.items() if len(found) > 1)
    if repeated:
        raise ValueError(f"parameters sent more than once: {', '.join(repeated)}")
    if any(len(found[0]) > MAX_PARAMETER for found in values.values()):
        raise ValueError(f"a parameter is over {MAX_PARAMETER} characters")
    return {name: found[0] for name, found in values.items()}


def _on_this_machine(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in LOOPBACK and not parts.fragment


def _page(status: int, title: str, body: str) -> Answer:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"{body}</main></body></html>"
    ).encode()
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    }
    return status, headers, document


def _redirect(url: str, **parameters: str | None) -> Answer:
    query = urlencode({k: v for k, v in parameters.items() if v is not None})
    joiner = "&" if urlsplit(url).query else "?"
    return 302, {"Location": f"{url}{joiner}{query}", "Cache-Control": "no-store"}, b""


def authorize(issuer: Issuer, query: str) -> Answer:
    """Answer ``GET /authorize?<query>``: a redirect with a code, the pick page, or an error."""
    try:
        asked = _single(query)
    except ValueError as error:
        return _page(400, "Sign-in request refused", f"<p>{html.escape(str(error))}</p>")
    client_id, redirect_uri = asked.get("client_id", ""), asked.get("redirect_uri", "")
    if client_id != issuer.audience:
        message = f"unknown client_id {client_id!r}: this issuer's client is {issuer.audience!r}"
        return _page(400, "Sign-in request refused", f"<p>{html.escape(message)}</p>")
    if not _on_this_machine(redirect_uri):
        message = f"redirect_uri must be an http:// address on this machine, not {redirect_uri!r}"
        return _page(400, "Sign-in request refused", f"<p>{html.escape(message)}</p>")
    state = asked.get("state")
    problem = _problem(asked)
    if problem:
        return _redirect(redirect_uri, error=problem[0], error_description=problem[1], state=state)
    hint = asked.get("login_hint")
    person = next((p for p in PEOPLE if p["user"] == hint), None)
    if person is None:
        return _pick(asked, hint)
    grant = Grant(
        user=person["user"],
        roles=tuple(person["roles"]),
        client_id=client_id,
        redirect_uri=redirect_uri,
        challenge=asked["code_challenge"],
        scope=asked.get("scope") or "openid",
        nonce=asked.get("nonce"),
        expires=time.monotonic() + CODE_SECONDS,
    )
    return _redirect(redirect_uri, code=issuer.codes.issue(grant), state=state)


def _problem(asked: dict[str, str]) -> tuple[str, str] | None:
    """The OAuth error of an authorization request from a known client, or None."""
    if asked.get("response_type") != "code":
        return "unsupported_response_type", "only response_type=code (no implicit flow)"
    if asked.get("code_challenge_method") != "S256":
        return "invalid_request", "PKCE is required, with code_challenge_method=S256"
    if not PKCE.fullmatch(asked.get("code_challenge", "")):
        return "invalid_request", "code_challenge must be 43-128 characters [A-Za-z0-9._~-]"
    return None


def _pick(asked: dict[str, str], hint: str | None) -> Answer:
    """The page to choose a demo person: a GET form back to /authorize with a login_hint."""
    kept = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in asked.items()
        if name != "login_hint"
    )
    options = "".join(
        f'<option value="{html.escape(p["user"])}">{html.escape(p["name"])}</option>'
        for p in PEOPLE
    )
    unknown = f"<p>No demo person {html.escape(hint)!r}.</p>" if hint else ""
    form = (
        f'{unknown}<form method="get" action="/authorize">{kept}'
        f'<label>Sign in as <select name="login_hint">{options}</select></label> '
        '<button type="submit">Sign in</button></form>'
    )
    return _page(200, "Tropical Pizzas development sign-in", form)


def exchange(issuer: Issuer, form: str, length: int) -> tuple[int, bytes]:
    """Answer ``POST /token``: tokens for a valid code and verifier, or an OAuth error."""

    def error(status: int, code: str, description: str) -> tuple[int, bytes]:
        return status, json.dumps({"error": code, "error_description": description}).encode()

    if length > 4096:
        return error(413, "invalid_request", "the request is over 4096 bytes")
    try:
        asked = _single(form)
    except ValueError as problem:
        return error(400, "invalid_request", str(problem))
    if asked.get("grant_type") != "authorization_code":
        return error(400, "unsupported_grant_type", "only grant_type=authorization_code")
    missing = [n for n in ("code", "redirect_uri", "client_id", "code_verifier") if n not in asked]
    if missing:
        return error(400, "invalid_request", f"missing: {', '.join(missing)}")
    grant = issuer.codes.take(asked["code"])  # taken even when the rest is wrong: one try
    if grant is None:
        return error(400, "invalid_grant", "the code is unknown, used already or expired")
    if asked["client_id"] != grant.client_id or asked["redirect_uri"] != grant.redirect_uri:
        return error(400, "invalid_grant", "the code was issued to another client or redirect")
    verifier = asked["code_verifier"]
    if not PKCE.fullmatch(verifier) or challenge_of(verifier) != grant.challenge:
        return error(400, "invalid_grant", "the code_verifier does not match the code_challenge")
    seconds = issuer.token_seconds
    access = issuer.mint(
        grant.user, grant.roles, seconds,
        client_id=grant.client_id, scope=grant.scope, token_use="access",
    )  # fmt: skip
    identity = issuer.mint(grant.user, grant.roles, seconds, token_use="id", nonce=grant.nonce)
    body = {
        "access_token": access,
        "id_token": identity,
        "token_type": "Bearer",
        "expires_in": seconds,
        "scope": grant.scope,
    }
    return 200, json.dumps(body).encode()


def end_session(query: str) -> Answer:
    """Answer ``GET /logout``: back to the console (the development issuer keeps no session)."""
    try:
        asked = _single(query)
    except ValueError as error:
        return _page(400, "Sign-out refused", f"<p>{html.escape(str(error))}</p>")
    back = asked.get("logout_uri") or asked.get("post_logout_redirect_uri")
    if back and _on_this_machine(back):
        return 302, {"Location": back, "Cache-Control": "no-store"}, b""
    if back:
        message = f"the address to return to must be on this machine, not {back!r}"
        return _page(400, "Sign-out refused", f"<p>{html.escape(message)}</p>")
    return _page(200, "Signed out", "<p>You are signed out.</p>")
