"""Structured JSON log lines, written by Powertools' Logger: one per committed transition,
one per notable failure, each with the correlation ids of what is being handled.

Every line is one JSON object on stdout: ``level``, ``message``, ``timestamp``,
``service`` (the stack's name), ``xray_trace_id`` (deployed), ``kind`` (``transition``
or ``problem``), the fields given, and the ids ``correlated`` holds at that moment
(Lambda request, workflow, instance, event, CloudEvent). The records go through the stdlib
logger ``workflow`` (the domain's own notes use it too, and the local stack's console
reads it); Powertools is imported with the first line written, not at cold start.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from ..shared import settings

LOGGER = "workflow"
# names a LogRecord or Powertools' formatter owns: a field by one of them is renamed
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message", "asctime", "level", "location", "timestamp", "service",
}  # fmt: skip
_ids: ContextVar[Mapping[str, Any]] = ContextVar("journal_ids", default=MappingProxyType({}))


@contextmanager
def correlated(**ids: Any) -> Iterator[None]:
    """Put these ids (those not None) on every line logged inside, in this thread or
    task; an id given again inside replaces the outer one until it ends."""
    given = {_field(k): v for k, v in ids.items() if v is not None}
    token = _ids.set(MappingProxyType({**_ids.get(), **given}))
    try:
        yield
    finally:
        _ids.reset(token)


def current_ids() -> Mapping[str, Any]:
    """The correlation ids lines logged now would carry."""
    return _ids.get()


def transition(**fields: Any) -> None:
    """Log one committed transition (workflow, instance, event, from, to, version, ms)."""
    _logger().info("transition committed", extra=_extra("transition", fields), stacklevel=3)


def problem(message: str, **fields: Any) -> None:
    """Log something that went wrong but was handled (and what was done about it)."""
    _logger().warning(message, extra=_extra("problem", fields), stacklevel=3)


def show_with(handler: logging.Handler) -> None:
    """Send the journal's records to ``handler`` alone instead of JSON on stdout (the
    local stack's console); the handler gets Powertools' JSON formatter."""
    log = _logger()
    handler.setFormatter(log.registered_handler.formatter)
    logging.getLogger(LOGGER).handlers[:] = [handler]
    logging.getLogger(LOGGER).propagate = False


def _field(key: str) -> str:
    return f"{key}_" if key in _RESERVED else key


def _extra(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": kind, **{_field(k): v for k, v in fields.items()}}


class _Correlation(logging.Filter):
    """Adds the current correlation ids to each record (a field logged explicitly wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _ids.get().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class _Stdout(logging.StreamHandler):
    """Writes to ``sys.stdout`` as it is when a line is written (a test may capture it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


logging.getLogger(LOGGER).addFilter(_Correlation())  # the domain's notes get the ids too


_making = threading.Lock()
_made: Any = None


def _logger() -> Any:
    """The one Powertools Logger, made by the first caller. Made under a lock: a second
    Logger of the same service finds the stdlib logger configured and gets no formatter,
    so two threads making it at once (the local stack's first concurrent requests) left
    one of them a broken Logger, and its request answered 500 after its commit."""
    global _made
    with _making:
        if _made is None:
            _made = _new_logger()
        return _made


def _new_logger() -> Any:
    from aws_lambda_powertools import Logger  # deferred: not at cold start

    # Powertools names the stdlib logger after ``service``: keep it ``workflow`` and
    # put the stack's name in the lines' ``service`` key instead
    log = Logger(service=LOGGER, logger_handler=_Stdout(), utc=True, use_rfc3339=True)
    log.append_keys(service=settings().service_name)
    return log
