"""Identity: who is calling and what they may do. ``auth`` verifies bearer tokens (JWTs of
an OpenID Connect issuer, RS256/ES256 with keys from its JWKS, or the development
HS256 key) into a ``Principal`` with its roles; ``jwks`` fetches and caches an issuer's
signing keys over HTTPS; ``secrets`` reads the HS256 key from Secrets Manager once per
process (imported on first use, not at a cold start). Depends only on ``shared``.
"""

from __future__ import annotations

from . import auth, jwks
from .auth import Principal
from .jwks import SigningKeys, check_url

__all__ = ["Principal", "SigningKeys", "auth", "check_url", "jwks"]
