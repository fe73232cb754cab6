"""Every boto3 client the runtime uses, created lazily and once, in one place.

Nothing is created at import time: a Lambda cold start pays only for the
clients the invoked handler really uses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .settings import settings


@lru_cache(maxsize=8)
def client(service: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client for ``service``; ``endpoint_url`` defaults to AWS_ENDPOINT_URL."""
    import boto3  # deferred: boto3's import is most of a cold start
    from botocore.config import Config

    current = settings()
    return boto3.session.Session().client(
        service,
        region_name=current.region,
        endpoint_url=endpoint_url or current.endpoint_url,
        # bounded waits: a request must end well inside API Gateway's 29 s even when a
        # service hangs (4 attempts x (2 s + 5 s) at worst)
        config=Config(
            retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5
        ),
    )


def reset() -> None:
    """Forget every client and the settings (tests, after changing the environment)."""
    from . import secrets, timers

    client.cache_clear()
    settings.cache_clear()
    timers._queue_url.cache_clear()
    secrets.jwt_secret.cache_clear()
