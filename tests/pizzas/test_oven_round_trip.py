"""A pizza instance run by the runtime on moto with the oven station, through the real
handlers: the pizza's BAKE_PIZZA reaches the oven's queue, staff finish or burn the bake
on the board, and the oven's report, delivered from the pizza's events queue, moves the
pizza on. The instance is started here as the order's spawn will start it (its id
derived from the order's, the input in its context, OVEN_SLOT its first event)."""

from __future__ import annotations

from typing import Any

from chalicelib.pizzas.service import PIZZAS
from chalicelib.runtime import BUS, Incoming, read, start, worklist

ORDER_ID = "0123456789abcdef0123456789abcdef"
PIZZA = {"name": "Mango Tango", "size": "large", "toppings": ["mango"]}


def start_pizza(item: str) -> str:
    """A pizza of ORDER_ID given its oven slot; returns its instance id."""
    instance = f"{ORDER_ID}.{item}.2"
    context = {"orderId": ORDER_ID, "itemId": item, "pizza": PIZZA}
    slot = Incoming({"type": "OVEN_SLOT"}, f"slot.{instance}", BUS)
    start(PIZZAS, instance, "customer", context, slot)
    return instance


def _pizza(instance: str) -> dict[str, Any]:
    return read(PIZZAS, instance, None).view()


def test_a_pizza_is_baked_on_the_board_and_hears_it(shop):
    instance = start_pizza("item-1")
    # BAKE_PIZZA was published after the commit, which completed the invoke
    assert _pizza(instance)["state"] == {"baking": "inOven"}
    [command] = shop.waiting("OvenQueue")
    assert (command["type"], command["subject"]) == ("BAKE_PIZZA", instance)
    shop.settle()
    [work] = shop.call("GET", "/stations/oven/work", "staff").json_body["work"]
    assert (work["bakeId"], work["pizzaId"]) == (f"{ORDER_ID}.item-1.1", instance)
    assert [o.view()["pizzaId"] for o in worklist(PIZZAS)] == [instance]  # in the oven
    assert work["pizza"] == PIZZA
    done = shop.call("POST", f"/stations/oven/work/{work['bakeId']}/finished", "staff")
    assert done.status_code == 200, done.body
    shop.settle()
    view = _pizza(instance)
    assert (view["state"], view["done"], view["status"]) == ("baked", True, "Baked.")
    assert view["output"]["baked"] is True and view["output"]["by"] == "sam"
    assert worklist(PIZZAS) == []  # a baked pizza leaves the kitchen's worklist


def test_a_burnt_pizza_is_baked_again_then_a_second_burn_fails_it(shop):
    instance = start_pizza("item-2")
    shop.settle()
    first = f"{ORDER_ID}.item-2.1"
    burnt = shop.call("POST", f"/stations/oven/work/{first}/rejected", "staff",
                      {"reason": "too dark"})  # fmt: skip
    assert burnt.status_code == 200, burnt.body
    shop.settle()  # PIZZA_BURNT applied, the second BAKE_PIZZA held as new work
    view = _pizza(instance)
    assert (view["state"], view["attempts"]) == ({"baking": "inOven"}, 2)
    [work] = shop.call("GET", "/stations/oven/work", "staff").json_body["work"]
    assert work["bakeId"] == f"{ORDER_ID}.item-2.2"
    again = shop.call("POST", f"/stations/oven/work/{work['bakeId']}/rejected", "staff",
                      {"reason": "charcoal"})  # fmt: skip
    assert again.status_code == 200
    shop.settle()
    view = _pizza(instance)
    assert (view["state"], view["status"]) == ("failed", "Could not be baked: charcoal.")
    assert view["output"] == {"itemId": "item-2", "baked": False, "reason": "charcoal",
                              "attempts": 2}  # fmt: skip
    assert shop.call("GET", "/stations/oven/work", "staff").json_body["work"] == []
