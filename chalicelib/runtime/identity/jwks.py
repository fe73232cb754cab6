"""An OpenID Connect issuer's signing keys (its JWKS), fetched over HTTPS and cached.

The set is fetched on first use and again once it is ``max_age_seconds`` old (so a key
the issuer dropped stops working by then); a token signed with a key id the cache does
not know triggers an early fetch (the issuer rotated), but at most one fetch per
``min_refresh_seconds``, so forged key ids cannot hammer the issuer. When a fetch fails
the keys already held stay in use. Where the set is comes from OIDC discovery
(``<issuer>/.well-known/openid-configuration``) unless it is given.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..shared import Unauthorized

# the algorithms an issuer's key may sign with: asymmetric only (a JWKS is public, so an
# HMAC key in it would let anyone sign)
ALGORITHMS = ("RS256", "ES256")
FETCH_TIMEOUT_SECONDS = 3.0
MAX_DOCUMENT_BYTES = 256 * 1024
LOOPBACK = ("127.0.0.1", "localhost", "::1")

Fetch = Callable[[str], Any]


def fetch_json(url: str) -> Any:
    """The JSON document at ``url`` (at most 256 KiB, 3 s); OSError or ValueError if not."""
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"over {MAX_DOCUMENT_BYTES} bytes")
    return json.loads(body)


def check_url(url: str, what: str) -> str:
    """``url`` if it is HTTPS (plain HTTP only on this machine); ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return url
    raise ValueError(f"{what} must be an https:// URL (http:// only on 127.0.0.1): {url!r}")


class SigningKeys:
    """The verification keys of one issuer, by key id (``kid``). Thread-safe."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        max_age_seconds: float = 3600,
        min_refresh_seconds: float = 30,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.max_age_seconds = max_age_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.fetches = 0  # documents fetched (discovery and key sets), for tests and bench
        self._fetch, self._clock = fetch, clock
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._tried_at: float | None = None
        self._failure = ""
        self._lock = threading.Lock()

    def key(self, kid: Any) -> Any:
        """The ``jwt.PyJWK`` for ``kid``; Unauthorized when the issuer has no such key (after
        one fetch, if the rate limit allows) or its keys could not be fetched."""
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token header has no key id ('kid')")
        with self._lock:
            now = self._clock()
            if self._keys is None or now - self._fetched_at >= self.max_age_seconds:
                self._refresh(now)
            if self._keys is not None and kid not in self._keys:
                self._refresh(now)
            if self._keys is None:
                raise Unauthorized(
                    f"the issuer's signing keys could not be fetched: {self._failure}"
                )
            found = self._keys.get(kid)
        if found is None:
            raise Unauthorized(f"token signing key {kid!r} is not one of the issuer's keys")
        return found

    def _refresh(self, now: float) -> None:
        """Fetch the key set unless a fetch was tried within ``min_refresh_seconds``."""
        if self._tried_at is not None and now - self._tried_at < self.min_refresh_seconds:
            return
        self._tried_at = now
        self.fetches += 1
        try:
            keys = _signing_keys(self._fetch(self._jwks_url()))
        except (OSError, ValueError, http.client.HTTPException) as error:
            self._failure = str(error) or type(error).__name__
            return
        self._keys, self._fetched_at, self._failure = keys, now, ""

    def _jwks_url(self) -> str:
        if self.jwks_url is None:
            self.fetches += 1
            self.jwks_url = _discover(self.issuer, self._fetch)
        return check_url(self.jwks_url, "the JWKS URL")


def _discover(issuer: str, fetch: Fetch) -> str:
    """The ``jwks_uri`` of the issuer's discovery document (which must name the issuer)."""
    document = fetch(
        check_url(issuer, "OIDC_ISSUER").rstrip("/") + "/.well-known/openid-configuration"
    )
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise ValueError(f"the discovery document at {issuer!r} is not that issuer's")
    uri = document.get("jwks_uri")
    if not isinstance(uri, str):
        raise ValueError("the discovery document has no 'jwks_uri'")
    return uri


def _signing_keys(document: Any) -> dict[str, Any]:
    """The usable signature keys of a JWKS document, by key id; ValueError if none."""
    from jwt import PyJWK
    from jwt.exceptions import PyJWTError

    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the JWKS document has no 'keys' list")
    keys = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue  # encryption keys share the set with signing keys (Keycloak)
        if entry.get("kty") not in ("RSA", "EC") or not isinstance(entry.get("kid"), str):
            continue
        try:
            key = PyJWK(entry)
        except PyJWTError:
            continue  # a key type or curve we do not verify with
        if key.algorithm_name in ALGORITHMS:
            keys[entry["kid"]] = key
    if not keys:
        raise ValueError(f"the JWKS document has no {' or '.join(ALGORITHMS)} signing keys")
    return keys
