"""moto in server mode on 127.0.0.1, with every request into it serialised.

moto's backends are not safe under concurrent requests: measured here, parallel
conditional writes on one DynamoDB item are lost. A lock around the whole WSGI
call (response body included) makes the embedded AWS behave like the real one
for conditional writes, at the cost of parallelism we do not need locally.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.serving import serve_in_thread, widen_backlog


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log: the stack prints one readable line per transition instead."""


class SerialisedApp:
    """WSGI middleware: one request at a time into the wrapped app.

    A request's body is read before it takes its turn: a client sends its headers and
    its body in separate writes, and a client thread that waits for the CPU (or for
    Python's GIL, in a process that runs the app's handlers too) between the two held
    every other request up (measured: 16% of the serialised time of a chaos run was
    spent waiting for request bodies).
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit():
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(int(length)))
        with self.lock:
            return list(self.app(environ, start_response))


def light_transaction_backups() -> None:
    """Make moto's TransactWriteItems back up only the items it can change.

    moto deep-copies every table a transaction touches, whole, before applying it
    (for rollback), once per item of the transaction: the cost of a commit grows with
    the number of stored orders, and a long ``make run`` or chaos run slows down order
    by order. Instead, the items under the transaction's keys (or their absence) are
    saved before it runs and put back if it raises; moto's own backup becomes the live
    table itself (its rollback then assigns the table to itself). Puts and Deletes
    replace or remove dict entries, Updates mutate their item in place (so those are
    deep-copied); a transaction changes nothing else of a table. Safe where requests
    into moto run one at a time: this server, and the tests' in-process moto (whose
    tests with concurrent requests use this server).
    """
    from types import SimpleNamespace

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "light_backups", False):
        return
    real_copy = models.copy

    def deepcopy(obj: Any, memo: Any = None) -> Any:
        return obj if isinstance(obj, Table) else real_copy.deepcopy(obj, memo)

    def saved_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[Any]:
        saved = []
        for entry in transact_items:
            kind, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            key = op.get("Item") if kind == "Put" else op.get("Key")
            if table is None or not isinstance(key, dict):
                continue
            try:
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError, AttributeError):
                continue  # moto refuses this item itself, before changing anything
            partition = table.items.get(hash_key)
            item = partition if range_key is None or partition is None else partition.get(range_key)
            if item is not None and kind == "Update":
                item = real_copy.deepcopy(item)
            saved.append((table, hash_key, range_key, partition is not None, item))
        return saved

    def restore(saved: list[Any]) -> None:
        for table, hash_key, range_key, had_partition, item in reversed(saved):
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
                continue
            partition = table.items[hash_key]
            if item is None:
                partition.pop(range_key, None)
            else:
                partition[range_key] = item
            if not had_partition and not partition:
                del table.items[hash_key]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = saved_items(self, transact_items)
        models.copy = SimpleNamespace(deepcopy=deepcopy, copy=real_copy.copy)
        try:
            return original(self, transact_items)
        except BaseException:
            restore(saved)
            raise
        finally:
            models.copy = real_copy

    transact_write_items.light_backups = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items


def untrack_model_instances() -> None:
    """Stop moto from keeping every model object it ever made (S3's excepted).

    moto's ``BaseModel.__new__`` appends each new instance to its class's
    ``instances_tracked`` list, emptied only by a reset; the list feeds the moto-api
    dashboard (``/moto-api/data.json``), which this project does not use, and S3's reset,
    which closes its keys' temporary files. Every DynamoDB ``Item`` (stored, projected
    for an answer, copied by an update), every SQS ``Message`` and every transaction's
    table backup stayed alive through it: a 50-order chaos run kept 124 MB of table
    backups alone, a 500-order one grew past 20 GB. Untracked, an object lives as long
    as moto's backends refer to it. Safe: only the dashboard and S3's reset read the lists.
    """
    from moto.core.common_models import BaseModel

    if getattr(BaseModel.__new__, "untracked", False):
        return

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)
        if cls.__module__.startswith("moto.s3."):
            cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
        return instance

    __new__.untracked = True  # type: ignore[attr-defined]
    BaseModel.__new__ = staticmethod(__new__)  # type: ignore[method-assign,assignment]


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
        untrack_model_instances()
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
