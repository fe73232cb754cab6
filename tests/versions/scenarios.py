"""Orders taken along every path of the order chart through the real app on moto: the
golden histories are recorded from these, and the deploy tests stop them half way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from chalicelib.registry import WORKFLOWS
from chalicelib.runtime import Unavailable, bus, sweeper
from tests.shop import PIZZA, Shop

HAWAII = {"name": "Hawaii", "size": "small", "toppings": ["pineapple"]}


def confirmed(shop: Shop, pizza: dict = PIZZA) -> str:
    """A new order with two pizzas, one removed again, confirmed (MAKE_PIZZA pending)."""
    order_id = shop.call("POST", "/orders", body={"pizza": pizza}).json_body["orderId"]
    assert (
        shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": HAWAII}).status_code == 200
    )
    assert shop.call("DELETE", f"/orders/{order_id}/pizzas/item-2").status_code == 200
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    return order_id


def baked(shop: Shop) -> str:
    """An order the kitchen reported ready: DELIVER_PIZZA sent, waiting for delivery."""
    order_id = confirmed(shop)
    shop.deliver("KitchenQueue")
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")
    return order_id


def delivered(shop: Shop) -> str:
    order_id = baked(shop)
    shop.deliver("DeliveryQueue")
    assert shop.call("POST", f"/delivery/orders/{order_id}/delivered", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")
    return order_id


def cancelled_while_ordering(shop: Shop) -> str:
    order_id = shop.new_order()["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/cancel", body={}).status_code == 200
    return order_id


def cancelled_while_baking(shop: Shop) -> str:
    order_id = confirmed(shop)
    shop.deliver("KitchenQueue")
    assert shop.call("POST", f"/orders/{order_id}/cancel").status_code == 200
    shop.settle()
    return order_id


def rejected(shop: Shop) -> str:
    order_id = confirmed(shop, {"name": "Mango", "size": "small", "toppings": ["mango"]})
    shop.settle()
    return order_id


def kitchen_timed_out(shop: Shop) -> str:
    order_id = confirmed(shop)
    shop.deliver("KitchenQueue")
    assert shop.fire_timers() == 1  # late: escalate
    assert shop.fire_timers() == 1  # give up: compensate
    shop.settle()
    return order_id


def delivery_timed_out(shop: Shop) -> str:
    order_id = baked(shop)
    shop.deliver("DeliveryQueue")
    shop.fire_timers()  # the kitchen's timer (state left: ignored) and the delivery's
    shop.fire_timers()  # give up: cancel the delivery
    shop.settle()
    return order_id


@contextmanager
def bus_down() -> Iterator[None]:
    """Every publish fails (SNS unreachable) inside the block."""

    def down(event):
        raise Unavailable("SNS is down")

    real, bus.publish = bus.publish, down
    try:
        yield
    finally:
        bus.publish = real


def _failed_sends(shop: Shop, attempts: int) -> None:
    """Let ``attempts`` sends of the kitchen command fail (the request's publish and the
    sweeper's two more each), each retried by its backoff timer but the last."""
    for attempt in range(attempts):
        for _ in range(2):
            sweeper.sweep(WORKFLOWS, grace_seconds=0)
        if attempt < attempts - 1:
            assert shop.fire_timers() == 1


def kitchen_unreachable(shop: Shop) -> str:
    with bus_down():
        order_id = confirmed(shop)
        _failed_sends(shop, 3)
    sweeper.sweep(WORKFLOWS, grace_seconds=0)  # the cancel command (persistent) goes out
    shop.settle()
    return order_id


def kitchen_retried(shop: Shop) -> str:
    """One failed send to the kitchen, a retry that works, then the whole way to done."""
    with bus_down():
        order_id = confirmed(shop)
        _failed_sends(shop, 1)
    assert shop.fire_timers() == 1
    shop.deliver("KitchenQueue")
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")
    shop.deliver("DeliveryQueue")
    assert shop.call("POST", f"/delivery/orders/{order_id}/delivered", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")
    return order_id


SCENARIOS: dict[str, Callable[[Shop], str]] = {
    "delivered": delivered,
    "cancelled-while-ordering": cancelled_while_ordering,
    "cancelled-while-baking": cancelled_while_baking,
    "rejected": rejected,
    "kitchen-timed-out": kitchen_timed_out,
    "delivery-timed-out": delivery_timed_out,
    "kitchen-unreachable": kitchen_unreachable,
    "kitchen-retried": kitchen_retried,
}
