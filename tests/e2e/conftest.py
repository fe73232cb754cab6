"""Start the local stack as `make run` does (a subprocess on free ports) and stop it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports free now (held open together, so none repeats). Another
    process may still take one before the stack binds it: ``_start`` then tries again."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def call(url: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    """One JSON request to the API at ``url``: (status, decoded body), errors included."""
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Stack:
    def __init__(
        self, stations: str, extra: list[str] = (), env: dict[str, str] | None = None
    ) -> None:
        # the API, websockets, their management API, the embedded AWS (for tests that look
        # behind the API) and the stack's development sign-in (OIDC) issuer
        self.port, self.ws_port, self.manage_port, self.moto_port, self.oidc_port = _free_ports(5)
        self.api = f"http://127.0.0.1:{self.port}"
        self.moto = f"http://127.0.0.1:{self.moto_port}"
        self.oidc = f"http://127.0.0.1:{self.oidc_port}"
        self.ws = f"ws://127.0.0.1:{self.ws_port}"
        self.customer = self.staff = ""  # minted by the stack's issuer once it is up
        self.output: list[str] = []
        self.ready = threading.Event()
        self.exited = threading.Event()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "local.stack", "--port", str(self.port),
                "--ws-port", str(self.ws_port), "--manage-port", str(self.manage_port),
                "--moto-port", str(self.moto_port), "--oidc-port", str(self.oidc_port),
                "--stations", stations, "--bake-seconds", "0.5", "--deliver-seconds", "0.5",
                *extra,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            if line.strip() == "READY":
                self.ready.set()
        self.exited.set()

    def wait_ready(self, timeout: float) -> bool:
        """True once the stack says READY; False if it exits or times out first."""
        deadline = time.monotonic() + timeout
        while not self.ready.is_set() and not self.exited.is_set():
            if time.monotonic() > deadline:
                return False
            self.ready.wait(0.05)
        return self.ready.is_set()

    def mint(self, user: str, roles: list[str] = ()) -> str:
        """A token for ``user`` from the stack's development issuer (RS256, as on AWS)."""
        body = json.dumps({"user": user, "roles": list(roles)}).encode()
        with urllib.request.urlopen(f"{self.oidc}/mint", body, timeout=10) as response:
            return json.loads(response.read())["token"]

    def call(self, method: str, path: str, token: str | None = None, body: Any = None):
        return call(self.api, method, path, token or self.customer, body)

    def wait_for(self, check, timeout: float = 20.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}; stack said:\n" + "\n".join(self.output[-30:])
        )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)  # generous: CI machines run suites side by side
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _start(stations: str, extra: list[str] = (), env: dict[str, str] | None = None):
    for _ in range(3):  # a port taken between choosing it and binding it: choose again
        stack = Stack(stations, extra, env)
        if stack.wait_ready(30):
            break
        stack.stop()
        if not any("Address already in use" in line for line in stack.output):
            break
    else:
        pytest.fail("the local stack found no free ports:\n" + "\n".join(stack.output))
    if not stack.ready.is_set():
        pytest.fail("the local stack did not start:\n" + "\n".join(stack.output))
    stack.customer, stack.staff = stack.mint("e2e-customer"), stack.mint("e2e-staff", ["staff"])
    return stack


@pytest.fixture
def auto_stack():
    stack = _start("auto")
    yield stack
    assert stack.stop() == 0, "\n".join(stack.output[-20:])
    assert stack.output[-1] == "stopped."


@pytest.fixture
def manual_stack():
    stack = _start("manual")
    yield stack
    assert stack.stop() == 0


@pytest.fixture
def external_stack():
    """The stack with nothing embedded, pointed at an AWS-compatible endpoint it did not start."""
    from local.moto_server import MotoServer

    endpoint = MotoServer().start()
    endpoint.reset()
    env = {
        "AWS_ENDPOINT_URL": endpoint.url, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    }  # fmt: skip
    stack = _start("auto", ["--aws", "external", "--provision"], env)
    yield stack, endpoint
    assert stack.stop() == 0
    endpoint.stop()


@pytest.fixture
def fanout_stack():
    """The stack as `make run` starts it: new orders on the order chart's version 3."""
    stack = _start("auto", env={"ORDER_START_VERSION": "3", "ORDER_OVEN_SLOTS": "2"})
    yield stack
    assert stack.stop() == 0, "\n".join(stack.output[-20:])
