"""moto in server mode on 127.0.0.1, with every request into it serialised.

moto's backends are not safe under concurrent requests: measured here, parallel
conditional writes on one DynamoDB item are lost. A lock around the whole WSGI
call (response body included) makes the embedded AWS behave like the real one
for conditional writes, at the cost of parallelism we do not need locally.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.serving import serve_in_thread, widen_backlog


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log: the stack prints one readable line per transition instead."""


class SerialisedApp:
    """WSGI middleware: one request at a time into the wrapped app."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


def light_transaction_backups() -> None:
    """Make moto's TransactWriteItems back up only what it can change.

    moto deep-copies every table a transaction touches, whole, before applying it
    (for rollback): the cost of a commit grows with the number of stored orders, and
    a long ``make run`` slows down order by order. Puts and Deletes only replace dict
    entries, Updates mutate their item in place; so a clone that shares unchanged
    items and deep-copies the updated ones restores the same state on rollback.
    Safe where requests into moto run one at a time: this server, and the tests' in-process
    moto (whose tests with concurrent requests use this server).
    """
    from collections import defaultdict
    from types import SimpleNamespace

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "light_backups", False):
        return
    real_copy = models.copy

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        updated: dict[str, list[dict[str, Any]]] = {}
        for entry in transact_items:
            kind, op = next(iter(entry.items()))
            if kind == "Update" and isinstance(op.get("Key"), dict):
                updated.setdefault(op.get("TableName"), []).append(op["Key"])

        def deepcopy(obj: Any, memo: Any = None) -> Any:
            if not isinstance(obj, Table):
                return real_copy.deepcopy(obj, memo)
            clone = real_copy.copy(obj)
            clone.items = defaultdict(
                dict, {h: dict(v) if isinstance(v, dict) else v for h, v in obj.items.items()}
            )
            for key in updated.get(obj.name, []):
                hash_key = DynamoType(key[obj.hash_key_attr])
                range_key = DynamoType(key[obj.range_key_attr]) if obj.range_key_attr else None
                item = obj.get_item(hash_key, range_key)
                if item is None:
                    continue
                if range_key is None:
                    clone.items[hash_key] = real_copy.deepcopy(item)
                else:
                    clone.items[hash_key][range_key] = real_copy.deepcopy(item)
            return clone

        models.copy = SimpleNamespace(deepcopy=deepcopy, copy=real_copy.copy)
        try:
            return original(self, transact_items)
        finally:
            models.copy = real_copy

    transact_write_items.light_backups = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items


def _list_moto_modules_once() -> None:
    """moto's dispatcher lists its own package folder (listdir + isdir on ~150 entries) on
    every request to decide which service a host names; the list never changes while the
    process runs, so read it once (measured: a third of the server's time in a chaos run)."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "listed_once", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules.listed_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


class MotoServer:
    """A running serialised moto server; ``url`` is its endpoint."""

    def __init__(self, port: int = 0) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        light_transaction_backups()
        _list_moto_modules_once()

        app = SerialisedApp(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler
        )
        widen_backlog(self._server)  # werkzeug listens with 128; every app thread may call
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = serve_in_thread(self._server, "moto")

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def reset(self) -> None:
        """Forget every resource (moto's state is per process, not per server)."""
        import urllib.request

        urllib.request.urlopen(
            urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10
        ).close()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
