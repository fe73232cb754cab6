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

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chalicelib.runtime import Command, Workflow
from chalicelib.statechart import Machine, Snapshot, assign

from .menu import order_total_cents, priced
from .models import AddPizza, CancelOrder, NoPayload, RemovePizza, StationReport

MAX_ITEMS = 50
MAX_ATTEMPTS = 3
# the chart version new orders start on, and the lock file recording the hash of every
# version that shipped (an edit under a recorded number fails at start-up)
VERSION = 1
LOCK = Path(__file__).with_name("versions.lock.json")
log = logging.getLogger("workflow")


def _state(message: str, entry: tuple[Any, ...] = (), **config: Any) -> dict[str, Any]:
    """A state whose entry sets the order's status to its meta message."""
    status = {"type": "updateStatus", "params": {"message": message}}
    return {"meta": {"message": message}, "entry": [status, *entry], **config}


def _log(what: str) -> dict[str, Any]:
    return {"type": "log", "params": {"what": what}}


def _compensate(reason: str, target: str = "#order.compensating") -> dict[str, Any]:
    """Leave for compensation, recording why (the customer's status will say it)."""
    return {"target": target, "actions": [{"type": "setReason", "params": {"reason": reason}}]}


def _station_stage(
    station: str,
    sending: str,
    waiting: str,
    late: str,
    error: str,
    service: dict[str, Any],
    compensation: str = "#order.compensating",
) -> dict[str, Any]:
    """Send a command (retried with backoff), wait for the report, escalate, give up."""
    key = f"{station}Attempts"
    retry, timeout, give_up = f"{station}Retry", f"{station}Timeout", f"{station}GiveUp"
    return {
        "entry": [{"type": "resetAttempts", "params": {"key": key}}],
        "states": {
            sending: _state(
                service["sending"],
                entry=({"type": "countAttempt", "params": {"key": key}},),
                invoke={**service["invoke"], "onDone": waiting, "onError": error},
            ),
            waiting: _state(service["waiting"], after={timeout: late}),
            late: _state(
                service["late"],
                entry=({"type": "escalate", "params": {"station": station}},),
                after={give_up: _compensate(f"the {station} took too long", compensation)},
            ),
            error: _state(
                service["error"],
                always={
                    "guard": {"type": "attemptsExhausted", "params": {"key": key}},
                    **_compensate(f"the {station} could not be reached", compensation),
                },
                after={retry: sending},
            ),
        },
    }


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
        "kitchenAttempts": 0,
        "deliveryAttempts": 0,
        "cancelReason": None,
    },
    "states": {
        "orderPizza": _state(
            "Oh, just ordering some pizza...",
            on={
                "ADD_PIZZA": {"guard": "hasRoom", "actions": ["addPizzaToItems", _log("added")]},
                "REMOVE_PIZZA": {
                    "guard": "hasItem",
                    "actions": ["removePizzaFromItems", _log("removed")],
                },
                "CONFIRM_PIZZA": {
                    "guard": "hasPizzas",
                    "target": "bakePizza",
                    "actions": [_log("confirmed")],
                },
                "CANCEL_ORDER": {
                    "target": "cancelled",
                    "actions": [{"type": "setReason", "params": {"reason": "cancelled by you"}}],
                },
            },
        ),
        "bakePizza": {
            "initial": "sendingOrderToKitchen",
            **_station_stage(
                "kitchen",
                "sendingOrderToKitchen",
                "waitingForPizzaToBeBaked",
                "runningLate",
                "errorInKitchen",
                {
                    "sending": "Sending the order for the pizza...",
                    "waiting": "Waiting for the pizza to be baked...",
                    "late": "The kitchen is running late, we are on it...",
                    "error": "Ooops! Something got burned... trying again",
                    "invoke": {"id": "sendOrderToKitchen", "src": "orderPizzaFromKitchen"},
                },
            ),
            "on": {
                "PIZZA_READY": {
                    "target": "deliverPizza",
                    "actions": ["setKitchenReport", _log("baked")],
                },
                "PIZZA_REJECTED": {
                    "target": "compensating",
                    "actions": ["setKitchenReport", "setReasonFromReport"],
                },
                "CANCEL_ORDER": _compensate("cancelled by you"),
            },
        },
        "deliverPizza": {
            "initial": "sendingOrderToDelivery",
            **_station_stage(
                "delivery",
                "sendingOrderToDelivery",
                "waitingForDelivery",
                "deliveryRunningLate",
                "errorInDelivery",
                {
                    "sending": "Sending the pizza out for delivery...",
                    "waiting": "On its way to you...",
                    "late": "The courier is running late, we are on it...",
                    "error": "Ooops! The courier got lost... trying again",
                    "invoke": {"id": "sendOrderToDelivery", "src": "orderDeliveryFromDelivery"},
                },
                compensation="#order.cancellingDelivery",
            ),
            "on": {
                "PIZZA_DELIVERED": {
                    "target": "done",
                    "actions": ["setDeliveryReport", _log("delivered")],
                }
            },
        },
        "compensating": _state(
            "Cancelling your order...",
            invoke={
                "id": "cancelAtKitchen",
                "src": "cancelPizzaAtKitchen",
                "onDone": "cancelled",
                "onError": "cancelled",
            },
        ),
        "cancellingDelivery": _state(
            "Cancelling your order...",
            invoke={
                "id": "cancelAtDelivery",
                "src": "cancelDeliveryAtDelivery",
                "onDone": "cancelled",
                "onError": "cancelled",
            },
        ),
        "done": _state("Enjoy your tropical pizza!", type="final"),
        "cancelled": _state("Order cancelled.", entry=("explainCancellation",), type="final"),
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


def _log_effect(ctx: Context, ev: Event, params: Any) -> None:
    """A business note (``added``, ``confirmed``, ``baked``...) as a structured line."""
    note = {"kind": "note", "order": ctx.get("orderId"), "what": params["what"]}
    log.info(json.dumps(note, separators=(",", ":")))


def _escalate(ctx: Context, ev: Event, params: Any) -> None:
    """Runs after the commit: a structured line operators alert on."""
    log.warning(
        json.dumps({"kind": "escalation", "order": ctx["orderId"], "station": params["station"]})
    )


ORDER_ACTIONS: dict[str, Any] = {
    "addPizzaToItems": assign(_add_pizza),
    "removePizzaFromItems": assign(_remove_pizza),
    "updateStatus": assign(lambda ctx, ev, params: {"status": params["message"]}),
    "setKitchenReport": assign(_record("kitchen", "data")),
    "setDeliveryReport": assign(_record("delivery", "data")),
    "resetAttempts": assign(lambda ctx, ev, params: {params["key"]: 0}),
    "countAttempt": assign(lambda ctx, ev, params: {params["key"]: ctx[params["key"]] + 1}),
    "setReason": assign(lambda ctx, ev, params: {"cancelReason": params["reason"]}),
    "setReasonFromReport": assign(
        lambda ctx, ev: {"cancelReason": (ev.get("data") or {}).get("reason") or "rejected"}
    ),
    "explainCancellation": assign(
        lambda ctx, ev: (
            {"status": f"Order cancelled: {ctx['cancelReason']}."}
            if ctx.get("cancelReason")
            else {}
        )
    ),
    "escalate": _escalate,
    "log": _log_effect,
}

ORDER_GUARDS: dict[str, Any] = {
    "hasPizzas": lambda ctx, ev: len(ctx["items"]) > 0,
    "hasRoom": lambda ctx, ev: len(ctx["items"]) < MAX_ITEMS,
    "hasItem": lambda ctx, ev: any(i["itemId"] == ev.get("itemId") for i in ctx["items"]),
    "attemptsExhausted": lambda ctx, ev, params: ctx[params["key"]] >= MAX_ATTEMPTS,
}


class Timing:
    """How long the order waits: retry backoff base, then timeouts per station (seconds).

    Read from ORDER_RETRY_SECONDS, ORDER_KITCHEN_TIMEOUT_SECONDS,
    ORDER_KITCHEN_GIVE_UP_SECONDS, ORDER_DELIVERY_TIMEOUT_SECONDS and
    ORDER_DELIVERY_GIVE_UP_SECONDS when set.
    """

    def __init__(
        self,
        retry: float = 2,
        kitchen_timeout: float = 15 * 60,
        kitchen_give_up: float = 15 * 60,
        delivery_timeout: float = 45 * 60,
        delivery_give_up: float = 30 * 60,
    ) -> None:
        self.retry = retry
        self.kitchen_timeout = kitchen_timeout
        self.kitchen_give_up = kitchen_give_up
        self.delivery_timeout = delivery_timeout
        self.delivery_give_up = delivery_give_up

    @classmethod
    def from_environment(cls) -> Timing:
        names = {
            "retry": "ORDER_RETRY_SECONDS",
            "kitchen_timeout": "ORDER_KITCHEN_TIMEOUT_SECONDS",
            "kitchen_give_up": "ORDER_KITCHEN_GIVE_UP_SECONDS",
            "delivery_timeout": "ORDER_DELIVERY_TIMEOUT_SECONDS",
            "delivery_give_up": "ORDER_DELIVERY_GIVE_UP_SECONDS",
        }
        return cls(**{k: float(os.environ[v]) for k, v in names.items() if os.environ.get(v)})

    def delays(self) -> dict[str, Any]:
        """Named delays in ms; retries back off exponentially with the attempt count."""

        def backoff(key: str):
            return lambda ctx, ev: int(1000 * self.retry * 2 ** max(0, ctx[key] - 1))

        return {
            "kitchenRetry": backoff("kitchenAttempts"),
            "deliveryRetry": backoff("deliveryAttempts"),
            "kitchenTimeout": int(1000 * self.kitchen_timeout),
            "kitchenGiveUp": int(1000 * self.kitchen_give_up),
            "deliveryTimeout": int(1000 * self.delivery_timeout),
            "deliveryGiveUp": int(1000 * self.delivery_give_up),
        }


def order_machine(timing: Timing | None = None) -> Machine:
    """The order workflow's machine (built once per process by its callers)."""
    delays = (timing or Timing()).delays()
    return Machine(ORDER_CHART, actions=ORDER_ACTIONS, guards=ORDER_GUARDS, delays=delays)


def order_view(snapshot: Snapshot, meta: Mapping[str, Any]) -> dict[str, Any]:
    """What a customer sees of an order."""
    ctx = snapshot.context
    return {
        "orderId": meta["id"],
        "customerId": ctx.get("customerId"),
        "items": priced(ctx["items"]),
        "totalCents": order_total_cents(ctx["items"]),
        "state": snapshot.value,
        "status": ctx.get("status"),
        "done": snapshot.status == "done",
        "nextEvents": [e for e in snapshot.next_events if e in CLIENT_EVENTS],
        "kitchen": ctx.get("kitchen"),
        "delivery": ctx.get("delivery"),
        "version": meta["version"],
        "createdAt": meta.get("createdAt"),
        "updatedAt": meta.get("updatedAt"),
        # version 3 (``fanout``): each pizza's state (queued, inOven, baked, failed,
        # stopped) and output
        **({"pizzas": ctx["pizzas"]} if "pizzas" in ctx else {}),
    }


CLIENT_EVENTS = {
    "ADD_PIZZA": AddPizza,
    "REMOVE_PIZZA": RemovePizza,
    "CONFIRM_PIZZA": NoPayload,
    "CANCEL_ORDER": CancelOrder,
}
BUS_EVENTS = {
    "PIZZA_READY": StationReport,
    "PIZZA_DELIVERED": StationReport,
    "PIZZA_REJECTED": StationReport,
}


def _work_order(ctx: Mapping[str, Any], _input: Any) -> dict[str, Any]:
    """The order for a station; with each pizza's output once pizzas were baked one by
    one (version 3: ``fanout``)."""
    work = {"orderId": ctx["orderId"], "customerId": ctx["customerId"], "items": ctx["items"]}
    if ctx.get("pizzas"):
        work["pizzas"] = [p["output"] for p in ctx["pizzas"]]
    return work


COMMANDS = {
    "orderPizzaFromKitchen": Command("MAKE_PIZZA", _work_order),
    "orderDeliveryFromDelivery": Command("DELIVER_PIZZA", _work_order),
    "cancelDeliveryAtDelivery": Command(
        "CANCEL_DELIVERY",
        lambda ctx, _input: {"orderId": ctx["orderId"], "reason": ctx["cancelReason"]},
        persistent=True,
    ),
    "cancelPizzaAtKitchen": Command(
        "CANCEL_PIZZA",
        lambda ctx, _input: {"orderId": ctx["orderId"], "reason": ctx["cancelReason"]},
        persistent=True,
    ),
}


def order_workflow(timing: Timing | None = None) -> Workflow:
    """The order workflow as the runtime runs it."""
    machine = order_machine(timing)
    return Workflow(
        "order", machine, CLIENT_EVENTS, BUS_EVENTS, COMMANDS, order_view,
        version=VERSION, lock=LOCK,
    )  # fmt: skip
