"""One Lambda invocation as an operator sees it: its ids on every log line, its metrics
written once when it ends, and how long it took.

``observed(event)`` takes the event object Chalice hands a handler (an API Gateway
``Request``, or an SQS, scheduled or websocket event) and reads what it needs by duck
typing, so the runtime does not import Chalice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..shared import settings
from . import journal, metrics

_cold = True  # the first invocation in this process is the cold start


@contextmanager
def observed(event: Any) -> Iterator[None]:
    """Handle one invocation: lines logged inside carry its ids (``function_request_id``,
    ``cold_start``, API Gateway's ``requestId``, a websocket's ``connectionId``); its
    metrics are written when it ends (also when it raises), with ``RequestLatency``
    (milliseconds, dimension ``handler``: ``GET /orders/{order_id}``, ``$connect``, or the
    function's handler name)."""
    global _cold
    handler, ids = _describe(event)
    cold, _cold = _cold, False
    started = time.perf_counter()
    with journal.correlated(cold_start=cold, **ids), metrics.collected():
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            metrics.record("RequestLatency", "Milliseconds", elapsed, handler=handler)


def _describe(event: Any) -> tuple[str, dict[str, Any]]:
    """The handler's name for the latency metric, and the invocation's ids."""
    context = getattr(event, "context", None)
    if isinstance(context, dict):  # an API Gateway request: ``context`` is its requestContext
        lambda_context = getattr(event, "lambda_context", None)
        request = context
        handler = f"{context.get('httpMethod', '')} {context.get('resourcePath', '')}".strip()
    else:  # an event source's event: ``context`` is the Lambda context
        lambda_context = context
        raw = event.to_dict() if hasattr(event, "to_dict") else None
        request = (raw.get("requestContext") if isinstance(raw, dict) else None) or {}
        name = str(getattr(lambda_context, "function_name", "") or "")
        handler = request.get("routeKey") or _handler_named(name) or type(event).__name__
    ids = {
        "function_request_id": getattr(lambda_context, "aws_request_id", None),
        "requestId": request.get("requestId"),
        "connectionId": request.get("connectionId"),
    }
    return handler, ids


def _handler_named(function_name: str) -> str:
    """The handler a function runs: deployed, its name is ``<stack>-<handler with dashes>``
    (infra/generate.py; the stack is the service's name), locally the handler's name."""
    prefix = f"{settings().service_name}-"
    return function_name.removeprefix(prefix).replace("-", "_")
