"""Metrics in CloudWatch embedded metric format (EMF), written by Powertools Metrics.

An EMF document is one JSON log line; CloudWatch turns it into metrics, so nothing here
calls AWS (the local stack and the tests just print it, or with
``POWERTOOLS_METRICS_DISABLED=true`` not even that). Every metric is in the namespace
``settings().metrics_namespace`` with the dimension ``service`` (the stack's name), so
alarms can watch the whole service; a metric recorded with more dimensions (``workflow``,
``event``) is also published under that finer dimension set, in the same document.

Inside ``collected()`` (one Lambda invocation) metrics are buffered and flushed once when
it ends; outside one (a script, a test) each is written at once. Powertools is imported
on the first metric, not at cold start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..shared import settings

# one provider (one EMF document) per set of extra dimensions, for this invocation
_Batch = dict[tuple[tuple[str, str], ...], Any]
_batch: ContextVar[_Batch | None] = ContextVar("metrics_batch", default=None)


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Add ``value`` (a count) to the metric ``name``."""
    record(name, "Count", value, **dimensions)


def record(name: str, unit: str, value: float, **dimensions: str) -> None:
    """Record one value of ``name`` in ``unit`` (a CloudWatch unit: ``Count``,
    ``Milliseconds``, ``Seconds``...). Raises Powertools' MetricUnitError or
    MetricValueError for a unit or value CloudWatch would refuse."""
    key = tuple(sorted((k, str(v)) for k, v in dimensions.items()))
    batch = _batch.get()
    if batch is None:
        provider = _provider(key)
        provider.add_metric(name=name, unit=unit, value=value)
        provider.flush_metrics()
        return
    if key not in batch:
        batch[key] = _provider(key)
    batch[key].add_metric(name=name, unit=unit, value=value)


@contextmanager
def collected() -> Iterator[None]:
    """Buffer the metrics recorded inside and write them when it ends (also when it
    raises): one EMF document per set of dimensions used."""
    token = _batch.set({})
    try:
        yield
    finally:
        batch = _batch.get() or {}
        _batch.reset(token)
        for provider in batch.values():
            provider.flush_metrics()


def _provider(key: tuple[tuple[str, str], ...]) -> Any:
    from aws_lambda_powertools.metrics import EphemeralMetrics  # deferred: not at cold start

    current = settings()
    provider = EphemeralMetrics(namespace=current.metrics_namespace, service=current.service_name)
    if key:  # also under [service, <these>], beside the [service] set every document has
        provider.add_dimensions(service=current.service_name, **dict(key))
    return provider
