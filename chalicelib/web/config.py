"""What the pages need to know about where they run, read from the environment.

WEB_WEBSOCKET_URL   the websocket API clients connect to; unset, it is derived from
                    WEBSOCKET_ENDPOINT (API Gateway's management URL is the same
                    address over https).
WEB_SIGN_IN_URL     the identity provider's authorize URL (OAuth implicit flow: it
                    sends the browser back with ``#access_token=...`` or ``#id_token=``).
WEB_DEV_SIGN_IN_URL the local stack's development sign-in; only ``make run`` sets it,
                    and nothing answers there in a deployed stage.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict


class PageConfig(BaseModel):
    """The answer of ``GET /app/config.json``."""

    model_config = ConfigDict(frozen=True)

    websocket_url: str | None = None
    sign_in: str = "token"  # "development" (local stack) or "token" (identity provider)
    sign_in_url: str | None = None

    @classmethod
    def from_environment(cls) -> PageConfig:
        env = os.environ
        websocket = env.get("WEB_WEBSOCKET_URL") or _websocket_from_endpoint(
            env.get("WEBSOCKET_ENDPOINT")
        )
        development = env.get("WEB_DEV_SIGN_IN_URL")
        if development:
            return cls(websocket_url=websocket, sign_in="development", sign_in_url=development)
        return cls(websocket_url=websocket, sign_in_url=env.get("WEB_SIGN_IN_URL") or None)

    def to_json(self) -> dict[str, str | None]:
        return {
            "websocketUrl": self.websocket_url,
            "signIn": self.sign_in,
            "signInUrl": self.sign_in_url,
        }


def _websocket_from_endpoint(endpoint: str | None) -> str | None:
    if endpoint and endpoint.startswith("https://"):
        return "wss://" + endpoint[len("https://") :]
    return None
