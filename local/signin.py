"""The local stack's development sign-in: pick a demo person, get a token.

A tiny HTTP server on 127.0.0.1, started by ``make run`` only; a deployed stage has no
such thing (the web console then takes the identity provider's token). It answers

  GET  /people               the demo people: ``[{"user", "name", "roles"}]``
  POST /token {"user": id}   ``{"token", "user", "roles"}``, a token for one of them

with CORS for the console's origin, and mints through ``mint``, the stack's one token
function (the local identity provider replaces its body, nothing else).
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.runtime import auth
from local.serving import serve_in_thread, widen_backlog

TOKEN_SECONDS = 12 * 3600
MAX_BODY = 4096
PEOPLE: tuple[dict[str, Any], ...] = (
    {"user": "customer-1", "name": "Ana (customer)", "roles": []},
    {"user": "customer-2", "name": "Ben (customer)", "roles": []},
    {"user": "staff-1", "name": "Kai (kitchen and delivery staff)", "roles": ["staff"]},
    {"user": "manager-1", "name": "Mia (manager: decides escalated complaints)",
     "roles": ["staff", "manager"]},
)  # fmt: skip


def mint(user: str, roles: list[str] | tuple[str, ...] = ()) -> str:
    """A token the running stack accepts, for ``user`` with ``roles``: from its development
    OIDC issuer, or signed with JWT_SECRET when it runs with AUTH_MODE=hs256.
    RuntimeError when the stack verifies another issuer's tokens (it cannot mint them)."""
    if os.environ.get("AUTH_MODE") == "hs256":
        return auth.issue(os.environ["JWT_SECRET"], user, roles, ttl_seconds=TOKEN_SECONDS)
    from local import oidc

    return oidc.mint(user, roles, ttl_seconds=TOKEN_SECONDS)


class DevelopmentSignIn:
    """The sign-in server; ``origins`` are the console's (the API's), allowed by CORS."""

    def __init__(self, port: int, origins: tuple[str, ...]) -> None:
        self.origins = origins
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        widen_backlog(self._server)
        self._thread = serve_in_thread(self._server, "signin")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> DevelopmentSignIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        origins = self.origins

        class SignIn(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet: the stack logs transitions, not requests."""

            def _answer(self, status: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if self.headers.get("Origin") in origins:
                    self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
                    self.send_header("Vary", "Origin")
                self.send_header("Access-Control-Allow-Methods", "GET, POST")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.send_header("Cache-Control", "no-store")
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self) -> None:
                self._answer(204)

            def do_GET(self) -> None:
                if self.path == "/people":
                    self._answer(200, list(PEOPLE))
                else:
                    self._answer(404, {"error": "NotFound", "message": "GET /people"})

            def do_POST(self) -> None:
                if self.path != "/token":
                    self._answer(404, {"error": "NotFound", "message": "POST /token"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413, {"error": "PayloadTooLarge", "message": "body too large"})
                    return
                person = _person(self.rfile.read(length))
                if person is None:
                    users = ", ".join(p["user"] for p in PEOPLE)
                    message = f'send {{"user": <one of {users}>}}'
                    self._answer(400, {"error": "BadRequest", "message": message})
                    return
                try:
                    token = mint(person["user"], person["roles"])
                except RuntimeError:
                    issuer = os.environ.get("OIDC_ISSUER", "another issuer")
                    message = f"this stack takes tokens of {issuer}; sign in there"
                    self._answer(503, {"error": "Unavailable", "message": message})
                    return
                self._answer(
                    200, {"token": token, "user": person["user"], "roles": person["roles"]}
                )

        return SignIn


def _person(raw: bytes) -> dict[str, Any] | None:
    """The demo person a request body names, or None."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    user = body.get("user") if isinstance(body, dict) else None
    return next((p for p in PEOPLE if p["user"] == user), None)
