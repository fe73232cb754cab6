"""An order (chart version 3) and its pizzas run by the in-memory ActorSystem, with the
helpers the fan-out tests share: bake or burn a pizza as the oven would report it, and
read from the trace how many pizzas of the order were in the oven at once."""

from __future__ import annotations

from typing import Any

from chalicelib.orders.fanout import FanOut, order_machine_v3
from chalicelib.pizzas.workflow import Timing, pizza_machine
from chalicelib.statechart import Machine
from chalicelib.statechart.system import ActorSystem

ORDER_ID = "o1"
# A Command's invoke as the runtime runs it: the command is published, the invoke is
# done at once (xstate.done.actor.<id>). In the system it is a child that starts final,
# so the trace shows each command sent as that child's xstate.init.
SENT = Machine({"id": "sent", "initial": "out", "states": {"out": {"type": "final"}}})
FINISHED = ("xstate.done.actor.", "xstate.error.actor.")
COMMAND_SRCS = (
    "bakeInOven",
    "orderDeliveryFromDelivery",
    "cancelDeliveryAtDelivery",
    "cancelBakesAtOven",
)


def with_context(machine: Machine, **context: Any) -> Machine:
    """``machine`` with ``context`` over its chart's (the runtime creates an order with
    its id and customer; the system's root takes no context of its own)."""
    config = {**machine.config, "context": {**machine.config["context"], **context}}
    return Machine(config, actions=machine.actions, guards=machine.guards, delays=machine.delays)


def machines(slots: int = 2, pizza: Machine | None = None) -> dict[str, Machine]:
    order = with_context(
        order_machine_v3(fan_out=FanOut(oven_slots=slots)), orderId=ORDER_ID, customerId="c1"
    )
    return {
        "order": order,
        "pizza": pizza or pizza_machine(Timing()),
        **dict.fromkeys(COMMAND_SRCS, SENT),
    }


def confirmed(count: int, slots: int = 2, pizza: Machine | None = None) -> ActorSystem:
    """An order of ``count`` pizzas (item-1 ... item-<count>), confirmed."""
    system = ActorSystem(machines(slots, pizza), "order", root_id=ORDER_ID)
    for n in range(count):
        pizza_data = {"name": f"Pizza {n + 1}", "size": "small", "toppings": ["mango"]}
        system.send({"type": "ADD_PIZZA", "pizza": pizza_data, "time": "2026-01-01T12:00:00Z"})
    system.send({"type": "CONFIRM_PIZZA", "time": "2026-01-01T12:01:00Z"})
    return system


def path(item: str) -> str:
    return f"{ORDER_ID}/{item}"


def bake_id(item: str, attempt: int = 1) -> str:
    return f"{ORDER_ID}.{item}.{attempt}"


def report(system: ActorSystem, item: str, kind: str, attempt: int = 1, **data: Any) -> None:
    """The oven's PIZZA_BAKED / PIZZA_BURNT for bake ``attempt`` of ``item``, as the
    runtime gives it to the pizza (CloudEvent data under ``data``)."""
    body = {"station": "oven", "bakeId": bake_id(item, attempt), "itemId": item, **data}
    system.send({"type": kind, "data": body, "time": "2026-01-01T12:30:00Z"}, path(item))


def bake(system: ActorSystem, item: str, attempt: int = 1, by: str = "sam") -> None:
    report(system, item, "PIZZA_BAKED", attempt, by=by, at="2026-01-01T12:30:00Z")


def burn(system: ActorSystem, item: str, attempt: int = 1, reason: str = "burnt") -> None:
    report(system, item, "PIZZA_BURNT", attempt, reason=reason, by="sam")


def pizzas(system: ActorSystem) -> dict[str, dict[str, Any]]:
    """Each pizza actor of the order, by item id: status, value, context, output."""
    return {a["path"].split("/")[1]: a for a in system.tree() if a["src"] == "pizza"}


def in_oven(system: ActorSystem) -> list[str]:
    """The pizzas the order's context says are in the oven now."""
    return [p["itemId"] for p in system.root.snapshot.context["pizzas"] if p["state"] == "inOven"]


def bakes_sent(system: ActorSystem) -> list[str]:
    """The pizza of each BAKE_PIZZA command, in the order they were sent."""
    return [
        t[1].split("/")[1]
        for t in system.trace
        if t[0] == "event" and t[3] == "xstate.init" and t[2].endswith("/bake")
    ]


def most_in_oven(system: ActorSystem) -> int:
    """The most pizzas of the order in the oven at any point of the trace: a pizza is in
    from the OVEN_SLOT the order sends it until the order hears it finished (done or
    error) or the pizza is stopped."""
    inside: set[str] = set()
    most = 0
    for kind, where, what, status in system.trace:
        if kind == "event" and where == ORDER_ID and status == "OVEN_SLOT":
            inside.add(what.split("/")[1])
        elif kind == "event" and what == ORDER_ID and status.startswith(FINISHED):
            inside.discard(status.split(".actor.", 1)[1])
        elif kind == "snapshot" and what == "xstate.stop" and where.count("/") == 1:
            inside.discard(where.split("/")[1])
        most = max(most, len(inside))
    return most


def bake_everything(system: ActorSystem) -> None:
    """Bake whatever is in the oven, first in first out, until the order leaves baking."""
    while system.root.snapshot.matches("bakePizza"):
        oven = in_oven(system)
        assert oven, "the order is baking but no pizza is in the oven"
        item = oven[0]
        bake(system, item, pizzas(system)[item]["context"]["attempts"])
