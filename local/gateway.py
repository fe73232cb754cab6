"""An API Gateway websocket API on 127.0.0.1, calling the app's handlers unchanged.

Clients connect to ``ws://127.0.0.1:<port>/?orderId=..&token=..``; the gateway
calls the app's ``$connect`` handler with an API Gateway-shaped event (a non-200
answer refuses the handshake with that status), ``$default`` for each message and
``$disconnect`` when the socket closes. The app pushes with
``apigatewaymanagementapi.post_to_connection``: the management endpoint here
(``http://127.0.0.1:<manage_port>``) delivers to the live socket, or answers 410
``GoneException`` for one that is closed, as API Gateway does.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from local.serving import BACKLOG, serve_in_thread, widen_backlog

Handler = Callable[[dict[str, Any]], Any]


class WebsocketGateway:
    def __init__(self, handlers: dict[str, Handler], port: int, manage_port: int) -> None:
        self.handlers = handlers  # route key -> handler(event)
        self.port = port
        self.manage_port = manage_port
        self.connections: dict[str, ServerConnection] = {}
        self._ids: dict[int, str] = {}
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._manager = ThreadingHTTPServer(("127.0.0.1", manage_port), self._management_handler())
        widen_backlog(self._manager)  # every commit posts here, as many at once as requests
        self._manager_thread = serve_in_thread(self._manager, "ws-manage")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.manage_port}"

    def start(self) -> WebsocketGateway:
        self._thread.start()
        self._manager_thread.start()
        if not self._started.wait(10):
            raise RuntimeError("websocket gateway did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=5)
        self._manager.shutdown()

    # -- the websocket side ---------------------------------------------------

    def _event(self, route: str, connection_id: str, **extra: Any) -> dict[str, Any]:
        kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
        return {
            "requestContext": {
                "routeKey": route,
                "eventType": kind,
                "connectionId": connection_id,
                "domainName": f"127.0.0.1:{self.port}",
                "stage": "api",
                "apiId": "local",
            },
            "isBase64Encoded": False,
            **extra,
        }

    async def _call(self, route: str, event: dict[str, Any]) -> dict[str, Any]:
        result = await asyncio.to_thread(self.handlers[route], event)
        return result if isinstance(result, dict) else {"statusCode": 200}

    async def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = uuid.uuid4().hex[:16]
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        event = self._event("$connect", connection_id, queryStringParameters=query or None)
        result = await self._call("$connect", event)
        status = int(result.get("statusCode", 200))
        if status != 200:
            body = (
                result.get("body") or json.dumps({"message": HTTPStatus(status).phrase})
            ).encode()
            headers = Headers([("Content-Type", "application/json")])
            return Response(status, HTTPStatus(status).phrase, headers, body)
        self._ids[id(connection)] = connection_id
        return None

    async def _session(self, connection: ServerConnection) -> None:
        connection_id = self._ids.pop(id(connection))
        self.connections[connection_id] = connection
        try:
            async for message in connection:
                body = message if isinstance(message, str) else message.decode()
                await self._call("$default", self._event("$default", connection_id, body=body))
        except Exception:  # noqa: BLE001 - a broken socket ends the session like a close
            pass
        finally:
            self.connections.pop(connection_id, None)
            await self._call("$disconnect", self._event("$disconnect", connection_id))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with serve(
            self._session, "127.0.0.1", self.port, process_request=self._connect, backlog=BACKLOG
        ):
            self._started.set()
            await self._stop.wait()

    def post(self, connection_id: str, data: bytes) -> bool:
        connection = self.connections.get(connection_id)
        if connection is None:
            return False
        future = asyncio.run_coroutine_threadsafe(connection.send(data.decode()), self._loop)
        try:
            future.result(timeout=5)
        except Exception:  # noqa: BLE001 - closed mid-send: gone
            return False
        return True

    # -- the management API (what post_to_connection calls) --------------------

    def _management_handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Management(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet: the stack logs transitions, not requests."""

            def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status == 410:
                    self.send_header("x-amzn-ErrorType", "GoneException")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _connection_id(self) -> str | None:
                path = urlsplit(self.path).path
                prefix = "/@connections/"
                return path[len(prefix) :] if path.startswith(prefix) else None

            def do_POST(self) -> None:
                connection_id = self._connection_id()
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if connection_id and gateway.post(connection_id, data):
                    self._answer(200)
                else:
                    self._answer(410, {"message": f"connection {connection_id} is gone"})

            def do_GET(self) -> None:
                connection_id = self._connection_id()
                if connection_id in gateway.connections:
                    self._answer(200, {"connectionId": connection_id})
                else:
                    self._answer(410, {"message": "gone"})

            def do_DELETE(self) -> None:
                connection = gateway.connections.get(self._connection_id() or "")
                if connection is None:
                    self._answer(410, {"message": "gone"})
                    return
                asyncio.run_coroutine_threadsafe(connection.close(), gateway._loop)
                self._answer(204)

        return Management
