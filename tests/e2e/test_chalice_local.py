"""`chalice local --stage local` against the embedded AWS of a running `make run`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, _free_ports, call
from tests.shop import PIZZA

BIN = Path(sys.executable).parent
# the ports of `make run` that the local stage names, and which option moves each
PORTS = {"8004": "moto_port", "8003": "oidc_port", "8002": "manage_port"}


@pytest.fixture
def chalice_local(manual_stack, tmp_path):
    """chalice local on a free port, its `local` stage pointed at the stack's free ports
    (the project copied, the port numbers in the stage's environment replaced)."""
    for name in ("app.py", "chalicelib", ".chalice", "requirements.txt"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = config["stages"]["local"]["environment_variables"]
    for key, value in env.items():
        for port, option in PORTS.items():
            value = value.replace(f"127.0.0.1:{port}", f"127.0.0.1:{getattr(manual_stack, option)}")
        env[key] = value
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    [port] = _free_ports(1)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OIDC_", "JWT_"))}
    process = subprocess.Popen(
        [str(BIN / "chalice"), "--project-dir", str(tmp_path), "local", "--stage", "local",
         "--port", str(port), "--no-autoreload"],
        env={**clean, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/app", timeout=2).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
        print(output[-3000:])


def test_chalice_local_places_an_order_that_the_running_stack_carries_on(
    chalice_local, manual_stack
):
    token = manual_stack.mint("local-customer")
    status, order = call(chalice_local, "POST", "/orders", token, {"pizza": PIZZA})
    assert status == 201, order
    order_id = order["orderId"]
    status, confirmed = call(chalice_local, "POST", f"/orders/{order_id}/confirm", token)
    assert status == 200, confirmed
    # the stack's kitchen poller took MAKE_PIZZA from the queue chalice local's commit fed
    manual_stack.wait_for(
        lambda: any(
            o["orderId"] == order_id
            for o in manual_stack.call("GET", "/kitchen/orders", manual_stack.staff)[1]["orders"]
        ),
        what="the order on the kitchen's list",
    )
    status, seen = manual_stack.call("GET", f"/orders/{order_id}", token)
    assert status == 200 and seen["orderId"] == order_id  # one store behind both
    status, refused = call(chalice_local, "GET", f"/orders/{order_id}", "not-a-token")
    assert status == 401, refused


def test_the_local_stage_names_make_runs_default_ports_and_settings(monkeypatch):
    from local.stack import _arguments

    for name in ("MOTO_PORT", "OIDC_PORT", "MANAGE_PORT"):
        monkeypatch.delenv(name, raising=False)
    defaults = vars(_arguments([]))
    env = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["local"][
        "environment_variables"
    ]
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{defaults['moto_port']}"
    assert env["OIDC_ISSUER"] == f"http://127.0.0.1:{defaults['oidc_port']}"
    assert env["WEBSOCKET_ENDPOINT"] == f"http://127.0.0.1:{defaults['manage_port']}"
    # the sweeper and the staff boards of make run walk these shards: the same, or items
    # written by chalice local sit in shards nobody reads
    assert (env["OUTBOX_SHARDS"], env["STATION_SHARDS"]) == ("4", "1")
