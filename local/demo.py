"""`make demo`: place an order with two pizzas, confirm it, and follow it live over
the websocket until it is delivered. Exit code 0 on ``done``."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from chalicelib.runtime import auth

API = os.environ.get("API_URL", f"http://127.0.0.1:{os.environ.get('PORT', 8000)}")
WS = os.environ.get("WS_URL", f"ws://127.0.0.1:{os.environ.get('WS_PORT', 8001)}")
OIDC = os.environ.get("OIDC_URL", f"http://127.0.0.1:{os.environ.get('OIDC_PORT', 8003)}")
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


def _bar(state: str) -> str:
    step = STEPS.index(state) if state in STEPS else 0
    filled = round(24 * step / (len(STEPS) - 1))
    return "[" + "#" * filled + "." * (24 - filled) + f"] {100 * step // (len(STEPS) - 1):3d}%"


def _token(user: str) -> str:
    """A token from the stack's development issuer (or signed with JWT_SECRET when the
    stack runs with AUTH_MODE=hs256)."""
    if os.environ.get("AUTH_MODE") == "hs256":
        return auth.issue(os.environ.get("JWT_SECRET", "local-development-secret"), user)
    body = json.dumps({"user": user}).encode()
    with urllib.request.urlopen(f"{OIDC}/mint", body, timeout=10) as response:
        return json.loads(response.read())["token"]


def main() -> int:
    from websockets.sync.client import connect

    try:
        token = _token("demo-customer")
        order = _call("POST", "/orders", token, {"pizza": PIZZAS[0]})
    except (urllib.error.URLError, ConnectionError) as error:
        print(f"The stack is not running at {API} ({error}). Start it with `make run`.")
        return 2
    except urllib.error.HTTPError as error:
        print(f"The stack answered {error.code}: {error.read().decode()}")
        return 3
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
