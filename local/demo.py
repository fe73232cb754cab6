"""`make demo`: place an order with two pizzas, confirm it, and follow it live over
the websocket until it is delivered. Exit code 0 on ``done``.

The token comes from the running stack itself (its development sign-in, found through
``/app/config.json``), so the demo works whatever issuer or JWT_SECRET the stack uses;
``TOKEN`` overrides it (a deployed stage has no development sign-in)."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

API = os.environ.get("API_URL", f"http://127.0.0.1:{os.environ.get('PORT', 8000)}")
WS = os.environ.get("WS_URL", f"ws://127.0.0.1:{os.environ.get('WS_PORT', 8001)}")
STEPS = [
    "orderPizza",
    "bakePizza.sendingOrderToKitchen",
    "bakePizza.waitingForPizzaToBeBaked",
    "deliverPizza.sendingOrderToDelivery",
    "deliverPizza.waitingForDelivery",
    "done",
]
PIZZAS = [
    {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple", "coconut"]},
    {"name": "Mango tango", "size": "medium", "toppings": ["mango", "passionfruit", "kiwi"]},
]


def _state(value: Any) -> str:
    if isinstance(value, str):
        return value
    key, sub = next(iter(value.items()))
    return f"{key}.{_state(sub)}"


def _call(method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        API + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class NoToken(Exception):
    """The demo cannot get a token; the message says why and what to do."""


def _get_json(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as answer:
        return json.loads(answer.read())


def _token() -> str:
    """A customer token the running stack accepts: ``TOKEN``, or one from its sign-in."""
    if os.environ.get("TOKEN"):
        return os.environ["TOKEN"]
    try:
        config = _get_json(f"{API}/app/config.json")
    except urllib.error.HTTPError as error:
        raise NoToken(
            f"{API} answered {error.code} for /app/config.json: is it this project's stack?"
        ) from None
    except (urllib.error.URLError, ConnectionError) as error:
        raise NoToken(
            f"The stack is not running at {API} ({error}). Start it with `make run`."
        ) from None
    if config.get("signIn") != "development":
        raise NoToken(f"{API} has no development sign-in (a deployed stage?): set TOKEN=<jwt>.")
    try:
        return _get_json(config["signInUrl"] + "/token", {"user": "customer-1"})["token"]
    except (urllib.error.URLError, ConnectionError, KeyError, ValueError) as error:
        raise NoToken(f"The stack's development sign-in did not give a token ({error}).") from None


def _bar(state: str) -> str:
    step = STEPS.index(state) if state in STEPS else 0
    filled = round(24 * step / (len(STEPS) - 1))
    return "[" + "#" * filled + "." * (24 - filled) + f"] {100 * step // (len(STEPS) - 1):3d}%"


def main() -> int:
    from websockets.sync.client import connect

    try:
        token = _token()
    except NoToken as error:
        print(error)
        return 2
    try:
        order = _call("POST", "/orders", token, {"pizza": PIZZAS[0]})
    except urllib.error.HTTPError as error:
        print(f"The stack refused the order with {error.code}: {error.read().decode()}")
        return 3
    except (urllib.error.URLError, ConnectionError) as error:
        print(f"The stack is not running at {API} ({error}). Start it with `make run`.")
        return 2
    order_id = order["orderId"]
    _call("POST", f"/orders/{order_id}/pizzas", token, {"pizza": PIZZAS[1]})
    started = time.monotonic()
    print(f"order {order_id}: 2 pizzas; following it live on {WS}\n")
    with connect(f"{WS}/?orderId={order_id}&token={token}", open_timeout=10) as socket:
        _call("POST", f"/orders/{order_id}/confirm", token)
        deadline = started + float(os.environ.get("DEMO_TIMEOUT", 120))
        while time.monotonic() < deadline:
            try:
                view = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            state = _state(view["state"])
            print(
                f"{time.monotonic() - started:6.1f}s  {_bar(state)}  {state:<38} {view['status']}"
            )
            if view["done"]:
                ok = state == "done"
                print("\ndelivered. enjoy!" if ok else f"\nthe order ended in {state}")
                return 0 if ok else 1
    print("no update for too long: is the stack running with automatic stations?")
    return 1


if __name__ == "__main__":
    sys.exit(main())
