"""The oven station on moto: one piece of work per bake (a rebake is new work), held
until staff finish it (PIZZA_BAKED) or reject it as burnt (PIZZA_BURNT), each report
sent to the pizza instance that asked (the command's subject), in the shape the pizza
workflow accepts; staff do it through the generic station routes. CANCEL_BAKES from a
cancelled order closes its bakes, held or still on their way."""

from __future__ import annotations

import json

import pytest

from chalicelib.pizzas.service import PIZZAS
from chalicelib.runtime import BadRequest, NotFound, bus
from chalicelib.runtime.core import BUS, validate_payload
from chalicelib.stations import OVEN, STATIONS, Station

PIZZA_INSTANCE = "o1.item-2.3"  # the runtime names a child instance; the oven just answers
TIME = "2026-01-01T12:00:00Z"


def _bake(
    attempt: int = 1, item: str = "item-2", command_id: str | None = None, order: str = "o1"
) -> str:
    data = {
        "bakeId": f"{order}.{item}.{attempt}", "orderId": order, "itemId": item,
        "pizza": {"name": "Mango", "size": "large", "toppings": ["mango"]}, "attempt": attempt,
    }  # fmt: skip
    event_id = command_id or f"pizza.{PIZZA_INSTANCE}.v{attempt}.1"
    return json.dumps(bus.cloud_event(event_id, "BAKE_PIZZA", PIZZA_INSTANCE, data, TIME))


def test_each_bake_is_held_once_and_a_rebake_is_new_work(aws):
    assert OVEN.accept(_bake(1)) is True
    assert OVEN.accept(_bake(1, command_id="another-id")) is False  # the same bake again
    assert OVEN.accept(_bake(2)) is True
    held = OVEN.orders()
    assert [w["bakeId"] for w in held] == ["o1.item-2.1", "o1.item-2.2"]
    assert held[0]["pizza"]["name"] == "Mango" and held[0]["itemId"] == "item-2"
    assert held[0]["pizzaId"] == PIZZA_INSTANCE  # where its report goes


def test_finishing_a_bake_reports_pizza_baked_to_the_pizza(shop):
    OVEN.accept(_bake(1))
    done = shop.call("POST", "/stations/oven/work/o1.item-2.1/finished", "staff", {"by": "ana"})
    assert done.status_code == 200, done.body
    assert done.json_body["reported"] == "PIZZA_BAKED"
    [report] = shop.waiting("PizzaEventsQueue")
    assert (report["type"], report["subject"]) == ("PIZZA_BAKED", PIZZA_INSTANCE)
    assert report["id"] == "oven.o1.item-2.1.PIZZA_BAKED"
    data = validate_payload(PIZZAS, "PIZZA_BAKED", report["data"], BUS)
    assert (data["bakeId"], data["itemId"], data["by"]) == ("o1.item-2.1", "item-2", "ana")
    assert OVEN.accept(_bake(1)) is False  # a late repeat never brings a finished bake back
    with pytest.raises(NotFound, match=r"the oven does not hold pizza 'o1\.item-2\.1'"):
        OVEN.finish("o1.item-2.1")


def test_staff_reject_a_burnt_pizza_with_a_reason(shop):
    OVEN.accept(_bake(1))
    burnt = shop.call(
        "POST", "/stations/oven/work/o1.item-2.1/rejected", "staff", {"reason": "charcoal"}
    )
    assert burnt.status_code == 200, burnt.body
    assert (burnt.json_body["reported"], burnt.json_body["reason"]) == ("PIZZA_BURNT", "charcoal")
    [report] = shop.waiting("PizzaEventsQueue")
    assert (report["type"], report["subject"]) == ("PIZZA_BURNT", PIZZA_INSTANCE)
    data = validate_payload(PIZZAS, "PIZZA_BURNT", report["data"], BUS)
    assert (data["bakeId"], data["reason"], data["by"]) == ("o1.item-2.1", "charcoal", "sam")
    assert OVEN.held("o1.item-2.1") is None
    assert OVEN.accept(_bake(2)) is True  # the pizza's second bake is new work
    assert [w["bakeId"] for w in OVEN.orders()] == ["o1.item-2.2"]


def test_staff_see_and_finish_pizzas_one_by_one_on_the_board(shop):
    for item in ("item-1", "item-2", "item-3"):
        OVEN.accept(_bake(1, item))
    listed = shop.call("GET", "/stations/oven/work", "staff").json_body["work"]
    assert [w["itemId"] for w in listed] == ["item-1", "item-2", "item-3"]
    assert shop.call("GET", "/stations/oven/work", "customer").status_code == 403
    first = shop.call("POST", "/stations/oven/work/next/finished", "staff")
    assert first.status_code == 200 and first.json_body["bakeId"] == "o1.item-1.1"
    left = shop.call("GET", "/stations/oven/work", "staff").json_body["work"]
    assert [w["itemId"] for w in left] == ["item-2", "item-3"]
    bad = shop.call("POST", "/stations/oven/work/o1.item-2.1/rejected", "staff", {})
    assert bad.status_code == 400  # a burnt pizza needs its reason
    assert OVEN.held("o1.item-2.1") is not None


def test_the_oven_takes_only_bake_commands_with_a_work_id(aws):
    make = bus.cloud_event("x", "MAKE_PIZZA", "o1", {"orderId": "o1"}, TIME)
    with pytest.raises(BadRequest, match="oven takes BAKE_PIZZA"):
        OVEN.accept(json.dumps(make))
    nameless = bus.cloud_event("y", "BAKE_PIZZA", "", {"bakeId": 7}, TIME)
    with pytest.raises(BadRequest, match="bakeId"):
        OVEN.accept(json.dumps(nameless))
    assert OVEN.orders() == []


def _cancel(order: str = "o1") -> str:
    data = {"orderId": order, "reason": "cancelled by you"}
    return json.dumps(bus.cloud_event(f"order.{order}.v9.1", "CANCEL_BAKES", order, data, TIME))


def test_cancel_bakes_closes_every_bake_of_the_order_and_no_other(aws):
    for item in ("item-1", "item-2"):
        OVEN.accept(_bake(1, item))
    OVEN.accept(_bake(1, "item-1", order="o2"))
    assert OVEN.accept(_cancel("o1")) is False
    assert [w["bakeId"] for w in OVEN.orders()] == ["o2.item-1.1"]
    with pytest.raises(NotFound):
        OVEN.finish("o1.item-1.1")
    assert OVEN.cancel_order("o1") == ["o1.item-1.1", "o1.item-2.1"]  # again: nothing more
    assert [w["bakeId"] for w in OVEN.orders()] == ["o2.item-1.1"]


def test_a_bake_arriving_after_its_order_was_cancelled_is_never_held(aws):
    OVEN.accept(_cancel("o1"))  # the order stopped its pizza while BAKE_PIZZA was on its way
    assert OVEN.accept(_bake(2, "item-3")) is False
    assert OVEN.orders() == []
    assert OVEN.accept(_bake(2, "item-3", command_id="redelivered")) is False


def test_a_bake_listed_but_not_yet_held_when_the_cancel_came_is_never_held(aws, monkeypatch):
    """The bake is listed under its order before it is held: a cancel in between closes
    the work id, so the hold that follows finds it closed."""
    hold = Station._hold

    def cancel_in_between(self, key, work):
        OVEN.cancel_order("o1")
        return hold(self, key, work)

    monkeypatch.setattr(Station, "_hold", cancel_in_between)
    assert OVEN.accept(_bake(1, "item-1")) is False
    monkeypatch.undo()
    assert OVEN.orders() == [] and OVEN.held("o1.item-1.1") is None


def test_a_cancel_without_an_order_id_is_refused(aws):
    bad = bus.cloud_event("z", "CANCEL_BAKES", "o1", {"reason": "x"}, TIME)
    with pytest.raises(BadRequest, match="CANCEL_BAKES without a valid orderId"):
        OVEN.accept(json.dumps(bad))


def test_the_oven_is_a_registered_station():
    assert STATIONS["oven"] is OVEN
    assert OVEN.commands == ("BAKE_PIZZA", "CANCEL_BAKES")
