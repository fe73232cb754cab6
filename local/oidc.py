"""A development OpenID Connect issuer on 127.0.0.1 (never deployed).

It has its own signing keys (RSA, or EC P-256 after ``rotate("ES256")``), publishes
them as a JWKS, answers OIDC discovery, and mints tokens, so the local stack verifies
tokens exactly as a deployment verifies Cognito's, Auth0's or Keycloak's.

    GET  /.well-known/openid-configuration   discovery (issuer, endpoints, jwks_uri)
    GET  /jwks.json                          the public keys
    GET  /authorize   the OAuth authorization code flow with PKCE (local/authorize.py): a
                      page to pick a demo person, or ``login_hint=<user>`` to approve at once
    POST /token       exchanges a code (single use, 60 s) and its PKCE verifier for tokens
    GET  /logout      forgets nothing (there is no session) and sends the browser back
    POST /lifetime  {"seconds": int}                -> lifetime of the tokens /token issues
    POST /mint      {"user": str, "roles": [str]}   -> {"token": str}
    POST /keys      {"algorithm": "RS256"|"ES256"}  -> {"kid": str}  (rotate)
    DELETE /keys/<kid>                        drop a key: its tokens stop verifying

In the process that started it, ``mint(user, roles)`` mints without HTTP.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.authorize import AuthorizationCodes, authorize, end_session, exchange
from local.serving import serve_in_thread

AUDIENCE = "tropical-pizzas-local"
ROLES_CLAIM = "roles"
MAX_BODY = 4096

_running: DevIssuer | None = None


def _new_key(algorithm: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"algorithm must be RS256 or ES256, not {algorithm!r}")


class DevIssuer:
    """An OIDC issuer with rotating keys; ``start()`` serves it on 127.0.0.1:``port``."""

    def __init__(self, port: int = 0, audience: str = AUDIENCE) -> None:
        self.audience = audience
        self._keys: dict[str, tuple[str, Any]] = {}  # kid -> (algorithm, private key)
        self._current = ""
        self._lock = threading.Lock()
        self._serving = False
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.codes = AuthorizationCodes()
        self.token_seconds = 3600  # of the tokens /token issues (POST /lifetime changes it)
        self.rotate()

    def start(self) -> DevIssuer:
        self._serving = True
        serve_in_thread(self._server, "oidc").start()
        return self

    def stop(self) -> None:
        """Stop serving (if started) and release the port."""
        if self._serving:
            self._server.shutdown()
        self._server.server_close()

    def rotate(self, algorithm: str = "RS256") -> str:
        """Add a new key and sign new tokens with it (older keys stay published); its kid."""
        kid = f"dev-{uuid.uuid4().hex[:12]}"
        key = _new_key(algorithm)
        with self._lock:
            self._keys[kid] = (algorithm, key)
            self._current = kid
        return kid

    def drop(self, kid: str) -> None:
        """Stop publishing ``kid`` (KeyError if unknown; ValueError for the signing key)."""
        with self._lock:
            if kid == self._current:
                raise ValueError("the key new tokens are signed with cannot be dropped")
            del self._keys[kid]

    @property
    def current_kid(self) -> str:
        return self._current

    def jwks(self) -> dict[str, Any]:
        """The published public keys as a JWKS document."""
        from jwt.algorithms import ECAlgorithm, RSAAlgorithm

        with self._lock:
            keys = list(self._keys.items())
        published = []
        for kid, (algorithm, key) in keys:
            exporter = RSAAlgorithm if algorithm == "RS256" else ECAlgorithm
            jwk = exporter.to_jwk(key.public_key(), as_dict=True)
            published.append({**jwk, "kid": kid, "alg": algorithm, "use": "sig"})
        return {"keys": published}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks.json",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "subject_types_supported": ["public"],
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "end_session_endpoint": f"{self.url}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    def mint(
        self, user: str, roles: Iterable[str] = (), ttl_seconds: int = 3600, **claims: Any
    ) -> str:
        """A token for ``user`` with ``roles``, signed with the current key; ``claims``
        add to or replace the standard ones, ``None`` leaves one out (tests forge tokens
        with it)."""
        import jwt

        with self._lock:
            kid = self._current
            algorithm, key = self._keys[kid]
        now = int(time.time())
        payload = {
            "iss": self.url, "aud": self.audience, "sub": user, ROLES_CLAIM: sorted(roles),
            "iat": now, "exp": now + ttl_seconds, **claims,
        }  # fmt: skip
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def serve(port: int = 0, audience: str = AUDIENCE) -> DevIssuer:
    """Start the process's development issuer (``mint`` uses it)."""
    global _running
    _running = DevIssuer(port, audience).start()
    return _running


def mint(user: str, roles: Iterable[str] = (), ttl_seconds: int = 12 * 3600) -> str:
    """A token for ``user`` with ``roles`` from the issuer this process serves (the local
    stack's); RuntimeError when it serves none."""
    if _running is None:
        raise RuntimeError("no development OIDC issuer runs in this process (local.oidc.serve)")
    return _running.mint(user, roles, ttl_seconds)


def _handler(issuer: DevIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
            pass  # the stack's output is for transitions, not key fetches

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ValueError(f"send a JSON object of at most {MAX_BODY} bytes")
            if length == 0:
                return {}
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            return body

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/.well-known/openid-configuration":
                self._answer(200, issuer.discovery())
            elif path == "/jwks.json":
                self._answer(200, issuer.jwks())
            elif path == "/authorize":
                self._send(*authorize(issuer, query))
            elif path == "/logout":
                self._send(*end_session(query))
            else:
                self._answer(404, {"error": "NotFound", "message": self.path})

        def do_OPTIONS(self) -> None:
            self._send(204, _cors(self.headers.get("Origin")), b"")

        def do_POST(self) -> None:
            if self.path == "/token":
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, MAX_BODY + 1))
                status, body = exchange(issuer, raw.decode("utf-8", "replace"), length)
                headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
                self._send(status, {**headers, **_cors(self.headers.get("Origin"))}, body)
                return
            try:
                body = self._body()
                if self.path == "/lifetime":
                    issuer.token_seconds = _lifetime(body)
                    self._answer(200, {"seconds": issuer.token_seconds})
                elif self.path == "/mint":
                    self._answer(200, {"token": issuer.mint(*_mint_arguments(body))})
                elif self.path == "/keys":
                    self._answer(200, {"kid": issuer.rotate(body.get("algorithm", "RS256"))})
                else:
                    self._answer(404, {"error": "NotFound", "message": self.path})
            except (ValueError, TypeError) as error:
                self._answer(400, {"error": "BadRequest", "message": str(error)})

        def do_DELETE(self) -> None:
            kid = self.path.removeprefix("/keys/")
            try:
                issuer.drop(kid)
            except KeyError:
                self._answer(404, {"error": "NotFound", "message": f"no key {kid!r}"})
            except ValueError as error:
                self._answer(409, {"error": "Conflict", "message": str(error)})
            else:
                self._answer(200, {"dropped": kid})

    return Handler


def _cors(origin: str | None) -> dict[str, str]:
    """CORS for the console on this machine (the token endpoint is called from the page)."""
    if not origin or urlsplit(origin).hostname not in ("127.0.0.1", "localhost"):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Vary": "Origin",
    }


def _lifetime(body: dict[str, Any]) -> int:
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not -86400 <= seconds <= 86400:
        raise ValueError("'seconds' must be a whole number from -86400 to 86400")
    return seconds


def _mint_arguments(body: dict[str, Any]) -> tuple[str, list[str]]:
    user, roles = body.get("user"), body.get("roles", [])
    if not isinstance(user, str) or not 0 < len(user) <= 128:
        raise ValueError("'user' must be a string of 1-128 characters")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ValueError("'roles' must be a list of strings")
    return user, roles
