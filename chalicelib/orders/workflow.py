"""The Tropical Pizzas order workflow: the statechart as XState v5 data, plus its
actions and guards.

Order is the orchestrator: the customer fills the order, confirms it, the
kitchen is asked to bake it (MAKE_PIZZA) and reports PIZZA_READY, delivery is
asked to deliver it (DELIVER_PIZZA) and reports PIZZA_DELIVERED. Sending to a
service is an invoke, so a failure to send has its own state.

Every state carries its customer-facing message in ``meta.message``; its entry
action copies that message into ``context.status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.runtime.workflow import Command, Workflow
from chalicelib.statechart import Machine, Snapshot, assign

from .models import AddPizza, CancelOrder, NoPayload, RemovePizza, StationReport

MAX_ITEMS = 50


def _state(message: str, **config: Any) -> dict[str, Any]:
    """A state whose entry sets the order's status to its meta message."""
    entry = [{"type": "updateStatus", "params": {"message": message}}]
    return {"meta": {"message": message}, "entry": entry, **config}


ORDER_CHART: dict[str, Any] = {
    "id": "order",
    "description": "A Tropical Pizzas order, from first pizza to the customer's door",
    "initial": "orderPizza",
    "context": {
        "orderId": None,
        "customerId": None,
        "items": [],
        "nextItemNo": 1,
        "status": None,
        "createdAt": None,
        "updatedAt": None,
        "kitchen": None,
        "delivery": None,
    },
    "states": {
        "orderPizza": _state(
            "Oh, just ordering some pizza...",
            on={
                "ADD_PIZZA": {
                    "guard": "hasRoom",
                    "actions": ["addPizzaToItems", {"type": "log", "params": {"what": "added"}}],
                },
                "REMOVE_PIZZA": {
                    "guard": "hasItem",
                    "actions": [
                        "removePizzaFromItems",
                        {"type": "log", "params": {"what": "removed"}},
                    ],
                },
                "CONFIRM_PIZZA": {
                    "guard": "hasPizzas",
                    "target": "bakePizza",
                    "actions": [{"type": "log", "params": {"what": "confirmed"}}],
                },
                "CANCEL_ORDER": {
                    "target": "cancelled",
                    "actions": [{"type": "log", "params": {"what": "cancelled"}}],
                },
            },
        ),
        "bakePizza": {
            "initial": "sendingOrderToKitchen",
            "states": {
                "sendingOrderToKitchen": _state(
                    "Sending the order for the pizza...",
                    invoke={
                        "id": "sendOrderToKitchen",
                        "src": "orderPizzaFromKitchen",
                        "onDone": {
                            "target": "waitingForPizzaToBeBaked",
                            "actions": ["setKitchenReceipt"],
                        },
                        "onError": {"target": "errorInKitchen", "actions": ["setKitchenError"]},
                    },
                ),
                "waitingForPizzaToBeBaked": _state("Waiting for the pizza to be baked..."),
                "errorInKitchen": _state("Ooops! Something got burned..."),
            },
            "on": {
                "PIZZA_READY": {
                    "target": "deliverPizza",
                    "actions": ["setKitchenReport", {"type": "log", "params": {"what": "baked"}}],
                }
            },
        },
        "deliverPizza": {
            "initial": "sendingOrderToDelivery",
            "states": {
                "sendingOrderToDelivery": _state(
                    "Sending the pizza out for delivery...",
                    invoke={
                        "id": "sendOrderToDelivery",
                        "src": "orderDeliveryFromDelivery",
                        "onDone": {
                            "target": "waitingForDelivery",
                            "actions": ["setDeliveryReceipt"],
                        },
                        "onError": {"target": "errorInDelivery", "actions": ["setDeliveryError"]},
                    },
                ),
                "waitingForDelivery": _state("On its way to you..."),
                "errorInDelivery": _state("Ooops! The courier got lost..."),
            },
            "on": {
                "PIZZA_DELIVERED": {
                    "target": "done",
                    "actions": [
                        "setDeliveryReport",
                        {"type": "log", "params": {"what": "delivered"}},
                    ],
                }
            },
        },
        "done": _state("Enjoy your tropical pizza!", type="final"),
        "cancelled": _state("Order cancelled.", type="final"),
    },
}

Context = Mapping[str, Any]
Event = Mapping[str, Any]


def _touch(ctx: Context, ev: Event) -> dict[str, Any]:
    time = ev.get("time") or ctx.get("updatedAt")
    return {"updatedAt": time, "createdAt": ctx.get("createdAt") or time}


def _add_pizza(ctx: Context, ev: Event) -> dict[str, Any]:
    item = {"itemId": f"item-{ctx['nextItemNo']}", **ev["pizza"]}
    return {"items": [*ctx["items"], item], "nextItemNo": ctx["nextItemNo"] + 1, **_touch(ctx, ev)}


def _remove_pizza(ctx: Context, ev: Event) -> dict[str, Any]:
    items = [i for i in ctx["items"] if i["itemId"] != ev["itemId"]]
    return {"items": items, **_touch(ctx, ev)}


def _record(key: str, field: str):
    def update(ctx: Context, ev: Event) -> dict[str, Any]:
        return {key: ev.get(field), **_touch(ctx, ev)}

    return update


def _log(ctx: Context, ev: Event, params: Any = None) -> None:
    """Runs as an effect; the runtime writes the structured log line."""


ORDER_ACTIONS: dict[str, Any] = {
    "addPizzaToItems": assign(_add_pizza),
    "removePizzaFromItems": assign(_remove_pizza),
    "updateStatus": assign(lambda ctx, ev, params: {"status": params["message"]}),
    "setKitchenReceipt": assign(_record("kitchen", "output")),
    "setKitchenError": assign(_record("kitchen", "error")),
    "setKitchenReport": assign(_record("kitchen", "data")),
    "setDeliveryReceipt": assign(_record("delivery", "output")),
    "setDeliveryError": assign(_record("delivery", "error")),
    "setDeliveryReport": assign(_record("delivery", "data")),
    "log": _log,
}

ORDER_GUARDS: dict[str, Any] = {
    "hasPizzas": lambda ctx, ev: len(ctx["items"]) > 0,
    "hasRoom": lambda ctx, ev: len(ctx["items"]) < MAX_ITEMS,
    "hasItem": lambda ctx, ev: any(i["itemId"] == ev.get("itemId") for i in ctx["items"]),
}


def order_machine() -> Machine:
    """The order workflow's machine (built once per process by its callers)."""
    return Machine(ORDER_CHART, actions=ORDER_ACTIONS, guards=ORDER_GUARDS)


def order_view(snapshot: Snapshot, meta: Mapping[str, Any]) -> dict[str, Any]:
    """What a customer sees of an order."""
    ctx = snapshot.context
    return {
        "orderId": meta["id"],
        "customerId": ctx.get("customerId"),
        "items": ctx["items"],
        "state": snapshot.value,
        "status": ctx.get("status"),
        "done": snapshot.status == "done",
        "nextEvents": [e for e in snapshot.next_events if e in CLIENT_EVENTS],
        "kitchen": ctx.get("kitchen"),
        "delivery": ctx.get("delivery"),
        "version": meta["version"],
        "createdAt": meta.get("createdAt"),
        "updatedAt": meta.get("updatedAt"),
    }


CLIENT_EVENTS = {
    "ADD_PIZZA": AddPizza,
    "REMOVE_PIZZA": RemovePizza,
    "CONFIRM_PIZZA": NoPayload,
    "CANCEL_ORDER": CancelOrder,
}
BUS_EVENTS = {"PIZZA_READY": StationReport, "PIZZA_DELIVERED": StationReport}


def _work_order(ctx: Mapping[str, Any], _input: Any) -> dict[str, Any]:
    return {"orderId": ctx["orderId"], "customerId": ctx["customerId"], "items": ctx["items"]}


COMMANDS = {
    "orderPizzaFromKitchen": Command("MAKE_PIZZA", _work_order),
    "orderDeliveryFromDelivery": Command("DELIVER_PIZZA", _work_order),
}


def order_workflow() -> Workflow:
    """The order workflow as the runtime runs it."""
    return Workflow("order", order_machine(), CLIENT_EVENTS, BUS_EVENTS, COMMANDS, order_view)


def describe(machine: Machine) -> dict[str, Any]:
    """The workflow as clients see it: XState JSON definition and Mermaid diagram."""
    return {"id": machine.id, "definition": machine.to_dict(), "mermaid": machine.to_mermaid()}
