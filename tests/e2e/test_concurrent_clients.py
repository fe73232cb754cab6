"""The local stack under many clients at once (issue 9, item 12): a browser alone opens
several connections, a demo room opens dozens. Every connection gets its answer, and
every POST that was answered created exactly one order."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any

import boto3

CLIENTS = 64
BURSTS = 2
PIZZA = {"name": "Rush hour", "size": "medium", "toppings": ["mango", "kiwi"]}


def _request(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    """One request on its own connection, as a fresh browser tab or curl opens it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method, path, body=None if body is None else json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def _orders_stored(stack: Any) -> int:
    """Order instances in the stack's table (a fresh embedded AWS per stack)."""
    ddb = boto3.client(
        "dynamodb", endpoint_url=stack.moto, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    pages = ddb.get_paginator("scan").paginate(
        TableName="tropical-pizzas",
        FilterExpression="sk = :instance AND begins_with(pk, :order)",
        ExpressionAttributeValues={":instance": {"S": "instance"}, ":order": {"S": "order#"}},
    )
    return sum(page["Count"] for page in pages)


def test_64_concurrent_clients_each_get_an_answer_and_no_order_is_lost(manual_stack):
    stack = manual_stack
    token = stack.mint("e2e-rush-hour")
    status, first = stack.call("POST", "/orders", token, {"pizza": PIZZA})
    assert status == 201
    errors: list[str] = []
    created: list[str] = []
    lock = threading.Lock()

    def client(barrier: threading.Barrier, method: str) -> None:
        barrier.wait()
        try:
            if method == "GET":
                status, body = _request(stack.port, "GET", f"/orders/{first['orderId']}", token)
                expected = 200
            else:
                status, body = _request(stack.port, "POST", "/orders", token, {"pizza": PIZZA})
                expected = 201
        except OSError as error:  # reset, refused, timed out
            with lock:
                errors.append(f"{method}: {error!r}")
            return
        with lock:
            if status != expected:
                errors.append(f"{method}: {status} {body}")
            elif method == "POST":
                created.append(body["orderId"])

    for _ in range(BURSTS):
        # every client sends a GET and a POST at the same moment: 2 x CLIENTS connections
        barrier = threading.Barrier(2 * CLIENTS)
        threads = [
            threading.Thread(target=client, args=(barrier, method))
            for _ in range(CLIENTS)
            for method in ("GET", "POST")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a client is still waiting"
    assert errors == [], f"{len(errors)} of {2 * CLIENTS * BURSTS} requests failed: {errors[:5]}"
    assert len(created) == len(set(created)) == CLIENTS * BURSTS
    assert _orders_stored(stack) == 1 + CLIENTS * BURSTS
