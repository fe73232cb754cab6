"""`make demo`: place an order with three pizzas, confirm it, and follow it live over
the websocket until it is delivered: on the order chart's version 3 (``make run``'s) the
order fans out one ``pizza`` child workflow per pizza, at most ORDER_OVEN_SLOTS in the
oven at once, and joins them before delivery. Then a second order is cancelled while its
pizzas bake, and every pizza still running is stopped. Last, the customer complains
about the first order, staff approve a refund, and the demo follows the complaint until
Payments has refunded it. Exit code 0 when the first order is ``done``, the second
``cancelled`` with no pizza left running, and the complaint ``refunded`` (the stack's
automatic stations bake, deliver and settle; with ``--stations manual`` finish the work
on the staff board).

The tokens come from the running stack itself (its development sign-in, found through
``/app/config.json``), so the demo works whatever issuer or JWT_SECRET the stack uses;
``TOKEN`` and ``STAFF_TOKEN`` override them (a deployed stage has no development
sign-in)."""

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
    "bakePizza.sendingOrderToKitchen",  # version 1: the kitchen bakes the whole order
    "bakePizza.waitingForPizzaToBeBaked",
    "bakePizza",  # version 3: each pizza a child workflow
    "deliverPizza.sendingOrderToDelivery",
    "deliverPizza.waitingForDelivery",
    "done",
]
PIZZAS = [
    {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple", "coconut"]},
    {"name": "Mango tango", "size": "medium", "toppings": ["mango", "passionfruit", "kiwi"]},
    {"name": "Papaya punch", "size": "small", "toppings": ["papaya", "starfruit"]},
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


def _token(user: str = "customer-1", override: str = "TOKEN") -> str:
    """A token for ``user`` the running stack accepts: ``$override``, or one from its
    sign-in (which knows the customer ``customer-1`` and the staff member ``staff-1``)."""
    if os.environ.get(override):
        return os.environ[override]
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
    if not config.get("peopleUrl"):
        raise NoToken(f"{API} has no development sign-in (a deployed stage?): set TOKEN=<jwt>.")
    try:
        return _get_json(config["peopleUrl"] + "/token", {"user": user})["token"]
    except (urllib.error.URLError, ConnectionError, KeyError, ValueError) as error:
        raise NoToken(f"The stack's development sign-in did not give a token ({error}).") from None


def _bar(state: str) -> str:
    step = STEPS.index(state) if state in STEPS else 0
    filled = round(24 * step / (len(STEPS) - 1))
    return "[" + "#" * filled + "." * (24 - filled) + f"] {100 * step // (len(STEPS) - 1):3d}%"


def _pizzas(view: dict[str, Any]) -> str:
    """Each child pizza's state, as the order's view lists its children."""
    return ", ".join(
        f"{child['actor']} {child.get('value') or 'starting'}"
        + ("" if child["status"] == "active" else f" ({child['status']})")
        for child in view.get("children", [])
    )


def _follow(
    socket: Any, started: float, deadline: float, bar: Any, until: Any = None
) -> dict[str, Any] | None:
    """Print each view the websocket pushes (and its pizzas when they change) until the
    instance is done (or ``until(view)``); its last view, or None when nothing came for
    too long."""
    said = ""
    while time.monotonic() < deadline:
        try:
            view = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            return None
        state = _state(view["state"])
        print(f"{time.monotonic() - started:6.1f}s  {bar(state)}  {state:<38} {view['status']}")
        if _pizzas(view) and _pizzas(view) != said:
            said = _pizzas(view)
            print(f"{'':8}{'':32}  pizzas: {said}")
        if view["done"] or (until is not None and until(view)):
            return view
    return None


def _complain(order_id: str, token: str, staff: str, started: float) -> int:
    """Open a complaint about the delivered order, approve it as staff, follow the refund."""
    from websockets.sync.client import connect

    print("\nthe mango was frozen: the customer complains, staff approve a refund\n")
    _call("POST", f"/orders/{order_id}/complaint", token, {"reason": "frozen mango"})
    url = f"{WS}/?workflow=complaint&id={order_id}&token={token}"
    with connect(url, open_timeout=10) as socket:
        _call("POST", f"/complaints/{order_id}/decision", staff, {"decision": "approve"})
        deadline = time.monotonic() + float(os.environ.get("DEMO_TIMEOUT", 120))
        view = _follow(socket, started, deadline, lambda state: " " * 31)
    if view is None:
        print("no update for too long: do the stations settle refunds by themselves?")
        return 1
    if view["state"] != "refunded":
        print(f"\nthe complaint ended in {_state(view['state'])}")
        return 1
    print(f"\n{view['status']}")
    return 0


def _order(token: str, pizzas: list[dict[str, Any]]) -> str:
    """A new order with ``pizzas``; its id."""
    order = _call("POST", "/orders", token, {"pizza": pizzas[0]})
    for pizza in pizzas[1:]:
        _call("POST", f"/orders/{order['orderId']}/pizzas", token, {"pizza": pizza})
    return order["orderId"]


def _cancel_while_baking(token: str, started: float) -> int:
    """A second order, cancelled once a pizza is in the oven: every pizza still running
    is stopped (version 3), read back from the order's children."""
    from websockets.sync.client import connect

    order_id = _order(token, PIZZAS)
    print(f"\norder {order_id}: 3 pizzas, cancelled while they bake\n")
    in_oven = lambda view: any(  # noqa: E731 - a test on one pushed view
        "inOven" in (child.get("value") or "") for child in view.get("children", [])
    )
    with connect(f"{WS}/?orderId={order_id}&token={token}", open_timeout=10) as socket:
        _call("POST", f"/orders/{order_id}/confirm", token)
        deadline = time.monotonic() + float(os.environ.get("DEMO_TIMEOUT", 120))
        if _follow(socket, started, deadline, _bar, until=in_oven) is None:
            print("no pizza reached the oven in time")
            return 1
        _call("POST", f"/orders/{order_id}/cancel", token, {"reason": "changed my mind"})
        view = _follow(socket, started, deadline, _bar)
    if view is None or view["state"] != "cancelled":
        print(f"\nthe order did not end cancelled: {view and _state(view['state'])}")
        return 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the stops are messages: they arrive in moments
        view = _call("GET", f"/orders/{order_id}", token)
        if not any(child["status"] == "active" for child in view.get("children", [])):
            print(f"\n{view['status']}  pizzas: {_pizzas(view)}")
            return 0
        time.sleep(0.5)
    print(f"\npizzas still running after the cancel: {_pizzas(view)}")
    return 1


def main() -> int:
    from websockets.sync.client import connect

    try:
        token = _token()
        staff = _token("staff-1", "STAFF_TOKEN")
    except NoToken as error:
        print(error)
        return 2
    try:
        order_id = _order(token, PIZZAS)
    except urllib.error.HTTPError as error:
        print(f"The stack refused the order with {error.code}: {error.read().decode()}")
        return 3
    except (urllib.error.URLError, ConnectionError) as error:
        print(f"The stack is not running at {API} ({error}). Start it with `make run`.")
        return 2
    started = time.monotonic()
    print(f"order {order_id}: {len(PIZZAS)} pizzas; following it live on {WS}\n")
    with connect(f"{WS}/?orderId={order_id}&token={token}", open_timeout=10) as socket:
        _call("POST", f"/orders/{order_id}/confirm", token)
        deadline = started + float(os.environ.get("DEMO_TIMEOUT", 120))
        view = _follow(socket, started, deadline, _bar)
    if view is None:
        print("no update for too long: is the stack running with automatic stations?")
        return 1
    if view["state"] != "done":
        print(f"\nthe order ended in {_state(view['state'])}")
        return 1
    print("\ndelivered. enjoy!")
    if "children" in _call("GET", f"/orders/{order_id}", token):
        failed = _cancel_while_baking(token, started)
        if failed:
            return failed
    return _complain(order_id, token, staff, started)


if __name__ == "__main__":
    sys.exit(main())
