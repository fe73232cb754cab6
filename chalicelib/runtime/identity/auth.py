"""Bearer tokens: JWTs of an OpenID Connect issuer (RS256/ES256, keys from its JWKS) or,
for local development only, HS256 JWTs signed with JWT_SECRET.

Verification is strict: at most 8 KiB, segments of plain JSON (no NaN or Infinity,
shallow), checked before the token reaches PyJWT; then PyJWT checks the signature with
the one algorithm the mode allows (an issuer's key by the header's ``kid``), ``iss`` and
``aud`` (or Cognito's ``client_id`` on access tokens, which have no ``aud``), ``exp``
(required) and ``nbf``/``iat`` with 30 s of leeway; times are Unix times up to year 9999;
``sub`` a non-empty printable string of at most 128 characters. Roles come from the
configured claim. Every refusal is Unauthorized saying what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..shared import BadRequest, Settings, Unauthorized, decode_json
from .jwks import ALGORITHMS, SigningKeys

STAFF = "staff"
MANAGER = "manager"
LEEWAY_SECONDS = 30
MAX_SUBJECT = 128
# far above any real token (Cognito's are 1-2 KB), far below what costs time to refuse
MAX_TOKEN_CHARS = 8 * 1024
MAX_TOKEN_DEPTH = 4
MAX_UNIX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: later is no expiry at all
DEV_ALGORITHM = "HS256"


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


@dataclass(frozen=True, slots=True)
class OidcTrust:
    """Tokens of one OpenID Connect issuer, for one audience (the app's client id)."""

    issuer: str
    audience: str
    keys: SigningKeys
    roles_claim: str = "roles"


# what a deployment accepts: an issuer's tokens, or (a str) the HS256 development secret
Trust = OidcTrust | str


@lru_cache(maxsize=4)
def trusted(settings: Settings) -> Trust:
    """What ``settings`` say to accept; one key cache per process and configuration."""
    if settings.auth_mode == "hs256":
        from .secrets import jwt_secret  # JWT_SECRET, or read once from Secrets Manager

        return jwt_secret()
    keys = SigningKeys(
        settings.oidc_issuer,
        settings.oidc_jwks_url,
        max_age_seconds=settings.jwks_max_age_seconds,
        min_refresh_seconds=settings.jwks_min_refresh_seconds,
    )
    return OidcTrust(settings.oidc_issuer, settings.oidc_audience, keys, settings.roles_claim)


def issue(secret: str, user: str, roles: Iterable[str] = (), ttl_seconds: int = 3600) -> str:
    """An HS256 token for ``user`` signed with ``secret`` (development mode and tests)."""
    import jwt

    claims = {"sub": user, "roles": sorted(roles), "exp": int(time.time()) + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=DEV_ALGORITHM)


def verify(token: str | None, trust: Trust) -> Principal:
    """The principal of a valid token; Unauthorized saying what is wrong otherwise."""
    _check_configured(trust)
    token = _bare(token)
    header, unverified = _shape(token)
    if isinstance(trust, str):
        if header.get("alg") != DEV_ALGORITHM:
            raise Unauthorized("token must be signed with HS256")
        claims = _decode(token, trust, DEV_ALGORITHM, None, unverified)
        return Principal(_subject(claims), _roles(claims, "roles"))
    if header.get("alg") not in ALGORITHMS:
        raise Unauthorized(
            f"token must be signed with {' or '.join(ALGORITHMS)}, not {header.get('alg')!r}"
        )
    key = trust.keys.key(header.get("kid"))
    claims = _decode(token, key, header["alg"], trust, unverified)
    return Principal(_subject(claims), _roles(claims, trust.roles_claim))


def from_context(context: dict[str, Any]) -> Principal:
    """The principal an authorizer put in the request context."""
    roles = context.get("roles", "")
    return Principal(context["principalId"], [r for r in roles.split(",") if r])


def _check_configured(trust: Trust) -> None:
    if isinstance(trust, str):
        if not trust:
            raise Unauthorized("authentication is not configured (JWT_SECRET is empty)")
    elif not trust.issuer or not trust.audience:
        raise Unauthorized(
            "authentication is not configured (OIDC_ISSUER and OIDC_AUDIENCE must be set)"
        )


def _bare(token: str | None) -> str:
    """The token without its ``Bearer`` prefix; Unauthorized if missing or too large."""
    if not token:
        raise Unauthorized("missing bearer token")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized(f"token is {len(token)} characters; the limit is {MAX_TOKEN_CHARS}")
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    return token


def _shape(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and (unverified) claims of a well-formed token: three base64url segments,
    header and claims plain shallow JSON objects, times that are times."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("malformed token")
    header = _segment(parts[0], "header")
    claims = _segment(parts[1], "claims")
    try:
        _unb64(parts[2])
    except (ValueError, binascii.Error):
        raise Unauthorized("malformed token signature: not base64url") from None
    if not isinstance(header, dict):
        raise Unauthorized("malformed token header")
    if not isinstance(claims, dict):
        raise Unauthorized("malformed token claims")
    for name in ("exp", "nbf", "iat"):
        _check_time(claims, name)
    return header, claims


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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


def _check_time(claims: dict[str, Any], name: str) -> None:
    """Unauthorized unless the claim is absent or a number of seconds in range."""
    value = claims.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unauthorized(f"token has no valid {name!r}: not a number")
    if not 0 <= value <= MAX_UNIX_TIME:
        raise Unauthorized(f"token has no valid {name!r}: not a Unix time before year 10000")


MISSING = {
    "exp": "token has no expiry ('exp')",
    "iss": "token has no issuer ('iss')",
    "aud": "token has no audience ('aud')",
}


def _decode(
    token: str, key: Any, algorithm: str, trust: OidcTrust | None, unverified: dict[str, Any]
) -> dict[str, Any]:
    """The claims once PyJWT has checked signature, issuer, audience and times."""
    import jwt
    from jwt import exceptions as bad

    # Cognito's access tokens name the app client in client_id and have no aud
    by_client_id = trust is not None and "aud" not in unverified and "client_id" in unverified
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            leeway=LEEWAY_SECONDS,
            issuer=trust.issuer if trust else None,
            audience=trust.audience if trust and not by_client_id else None,
            options={
                "require": ["exp", "iss"] if trust else ["exp"],
                "verify_aud": not by_client_id,
            },
        )
    except bad.MissingRequiredClaimError as error:
        raise Unauthorized(MISSING.get(error.claim, f"token has no {error.claim!r}")) from None
    except bad.InvalidSignatureError:
        raise Unauthorized("bad token signature") from None
    except bad.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except bad.ImmatureSignatureError:
        raise Unauthorized("token not valid yet") from None
    except bad.InvalidIssuerError:
        raise Unauthorized(f"token was not issued by {trust.issuer}") from None
    except bad.InvalidAudienceError:
        raise Unauthorized(f"token is not meant for audience {trust.audience}") from None
    except bad.InvalidAlgorithmError as error:
        raise Unauthorized(f"token algorithm refused: {error}") from None
    except bad.InvalidSubjectError:
        raise Unauthorized("token has no subject ('sub')") from None
    except bad.PyJWTError as error:
        raise Unauthorized(f"invalid token: {error}") from None
    if by_client_id and claims.get("client_id") != trust.audience:
        raise Unauthorized(f"token is not meant for audience {trust.audience}")
    return claims


def _subject(claims: dict[str, Any]) -> str:
    user = claims.get("sub")
    if not isinstance(user, str) or not user:
        raise Unauthorized("token has no subject ('sub')")
    if len(user) > MAX_SUBJECT or not user.isprintable():
        # the subject is part of table keys (Idempotency-Key records, owners)
        raise Unauthorized(f"token subject ('sub') must be 1-{MAX_SUBJECT} printable characters")
    return user


def _roles(claims: dict[str, Any], name: str) -> list[str]:
    """The roles in claim ``name`` (or the dotted path ``a.b`` when no claim has that
    exact name): a list of strings, or one string. Roles with a comma are left out: the
    authorizer context carries roles comma-separated, and ours have none."""
    value: Any = claims.get(name)
    if name not in claims and "." in name:
        value = claims
        for step in name.split("."):
            value = value.get(step) if isinstance(value, dict) else None
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise Unauthorized(f"token {name!r} must be a list of strings")
    return [role for role in value if role and "," not in role]
