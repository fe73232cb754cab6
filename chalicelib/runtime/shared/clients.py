"""Every boto3 client the runtime uses, created lazily and once, in one place.

Nothing is created at import time: a Lambda cold start pays only for the
clients the invoked handler really uses. All clients share what botocore has
parsed, so the service models and the endpoint rules (JSON files of several
hundred KB) are read and parsed once per process, not once per client.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .settings import settings

# what botocore has parsed (service models, endpoint rules), shared by every loader made
# here: each session keeps a loader of its own (boto3 appends to a loader's search paths,
# which must not change under another thread reading them), all filling this one cache
_parsed: dict[Any, Any] = {}
# cache_clear of each value cached with the clients (``cached_with_clients``)
_forget: list[Callable[[], None]] = []


def session(region: str | None = None) -> Any:
    """A new boto3 Session (credentials and config read afresh) that reuses the parsed
    service models of every other session made here."""
    import boto3  # deferred: boto3's import is most of a cold start
    import botocore.session
    from botocore.loaders import create_loader

    loader = create_loader()
    loader._cache = _parsed  # botocore's instance_cache keeps its results in _cache
    core = botocore.session.get_session()
    core.register_component("data_loader", loader)
    return boto3.session.Session(botocore_session=core, region_name=region)


@lru_cache(maxsize=8)
def client(service: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client for ``service``; ``endpoint_url`` defaults to AWS_ENDPOINT_URL."""
    from botocore.config import Config

    current = settings()
    return session().client(
        service,
        region_name=current.region,
        endpoint_url=endpoint_url or current.endpoint_url,
        # bounded waits: a request must end well inside API Gateway's 29 s even when a
        # service hangs (4 attempts x (2 s + 5 s) at worst)
        config=Config(
            retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5
        ),
    )


def cached_with_clients(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` computed once per process (``functools.lru_cache``) and forgotten by ``reset``
    with the clients: for what is read through a client (a queue URL, a secret). Each such
    cache registers here, so this module imports none of its users."""
    once = lru_cache(maxsize=1)(fn)
    _forget.append(once.cache_clear)
    return once


def reset() -> None:
    """Forget every client, the settings and what was read through them (tests, after
    changing the environment).

    The parsed service models stay: they do not depend on the environment."""
    client.cache_clear()
    settings.cache_clear()
    for forget in _forget:
        forget()
