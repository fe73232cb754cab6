"""What the pages need to know about where they run, read from the environment.

WEB_WEBSOCKET_URL   the websocket API clients connect to; unset, it is derived from
                    WEBSOCKET_ENDPOINT (API Gateway's management URL is the same
                    address over https).
WEB_SIGN_IN_URL     the identity provider's authorization endpoint; with WEB_TOKEN_URL and
                    WEB_CLIENT_ID the console signs in with the OAuth authorization code
                    flow with PKCE (RFC 7636, S256; no implicit flow, which OAuth 2.0
                    Security Best Current Practice, RFC 9700, retires).
WEB_TOKEN_URL       the provider's token endpoint (the browser exchanges the code there).
WEB_SIGN_OUT_URL    optional: where signing out sends the browser (Cognito's /logout, an
                    OIDC end_session_endpoint).
WEB_CLIENT_ID       the public client (no secret) the console signs in as.
WEB_SCOPES          the scopes it asks for (default ``openid email profile``).
WEB_REDIRECT_URL    optional: the callback registered with the provider (the stack's
                    ConsoleUrl); unset, the console's own ``/app`` address.
ROLES_CLAIM         the claim the console reads roles from, to show staff their pages.
WEB_DEV_SIGN_IN_URL the local stack's list of demo people (and, under AUTH_MODE=hs256, its
                    token minting); only ``make run`` sets it, nothing answers there in a
                    deployed stage.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict

DEFAULT_SCOPES = "openid email profile"


class PageConfig(BaseModel):
    """The answer of ``GET /app/config.json``."""

    model_config = ConfigDict(frozen=True)

    websocket_url: str | None = None
    # "code": the identity provider's sign-in (authorization code + PKCE); "development":
    # the local stack mints tokens itself (AUTH_MODE=hs256); "none": not configured
    sign_in: str = "none"
    authorize_url: str | None = None
    token_url: str | None = None
    sign_out_url: str | None = None
    client_id: str | None = None
    scope: str = DEFAULT_SCOPES
    redirect_url: str | None = None
    roles_claim: str = "roles"
    people_url: str | None = None

    @classmethod
    def from_environment(cls) -> PageConfig:
        env = {name: value for name, value in os.environ.items() if value}
        websocket = env.get("WEB_WEBSOCKET_URL") or _websocket_from_endpoint(
            env.get("WEBSOCKET_ENDPOINT")
        )
        code = all(env.get(n) for n in ("WEB_SIGN_IN_URL", "WEB_TOKEN_URL", "WEB_CLIENT_ID"))
        people = env.get("WEB_DEV_SIGN_IN_URL")
        return cls(
            websocket_url=websocket,
            sign_in="code" if code else "development" if people else "none",
            authorize_url=env.get("WEB_SIGN_IN_URL") if code else None,
            token_url=env.get("WEB_TOKEN_URL") if code else None,
            sign_out_url=env.get("WEB_SIGN_OUT_URL") if code else None,
            client_id=env.get("WEB_CLIENT_ID") if code else None,
            scope=env.get("WEB_SCOPES", DEFAULT_SCOPES),
            redirect_url=env.get("WEB_REDIRECT_URL"),
            roles_claim=env.get("ROLES_CLAIM", "roles"),
            people_url=people,
        )

    def connects_to(self) -> tuple[str, ...]:
        """The addresses the pages fetch from besides the app (for the CSP)."""
        return tuple(u for u in (self.websocket_url, self.token_url, self.people_url) if u)

    def to_json(self) -> dict[str, str | None]:
        return {
            "websocketUrl": self.websocket_url,
            "signIn": self.sign_in,
            "authorizeUrl": self.authorize_url,
            "tokenUrl": self.token_url,
            "signOutUrl": self.sign_out_url,
            "clientId": self.client_id,
            "scope": self.scope,
            "redirectUrl": self.redirect_url,
            "rolesClaim": self.roles_claim,
            "peopleUrl": self.people_url,
        }


def _websocket_from_endpoint(endpoint: str | None) -> str | None:
    if endpoint and endpoint.startswith("https://"):
        return "wss://" + endpoint[len("https://") :]
    return None
