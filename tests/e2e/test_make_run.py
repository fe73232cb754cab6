"""`make run` as a user runs it: the server starts on 127.0.0.1 and answers over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from chalicelib.runtime import auth

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, deadline: float, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_make_run_serves_the_workflow_definition():
    port = _free_port()
    chalice = Path(sys.executable).with_name("chalice")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"PORT={port}", f"CHALICE={chalice}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "JWT_SECRET": "e2e-secret"},
    )
    token = auth.issue("e2e-secret", "e2e-user")
    try:
        body = _get(f"http://127.0.0.1:{port}/workflows/order", time.monotonic() + 30, token)
        assert body["id"] == "order"
        assert body["definition"]["states"]["orderPizza"]["meta"]["message"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
