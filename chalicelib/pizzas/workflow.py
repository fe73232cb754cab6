"""The pizza workflow: one pizza of an order, from its turn in the oven to baked.

An order (version 3 of its chart) starts one ``pizza`` child per item with the input
``{orderId, itemId, pizza}`` and tells it when an oven is free (OVEN_SLOT, sent with
``sendTo``): the order decides how many of its pizzas bake at once.

- ``queued`` waits for OVEN_SLOT.
- ``baking`` sends BAKE_PIZZA to the oven (an invoke of a Command, retried with backoff
  when it cannot be published, up to ``send_attempts`` times, then the pizza fails) and
  waits for the oven's report. Each bake is one piece of oven work, ``bakeId`` =
  ``<orderId>.<itemId>.<attempt>``: a station ignores a second command for work it has
  seen, so a rebake needs a new id, and a publish retried within one bake keeps its id.
- PIZZA_BAKED ends it ``baked``; PIZZA_BURNT bakes it again (a new attempt) once, and a
  second burn ends it ``failed``, as does an oven that says nothing for ``oven_timeout``.
  A report for another bake than the current one (a late duplicate) changes nothing.

Its output is what the order collects: ``{itemId, baked: True, by, at, attempts}`` or
``{itemId, baked: False, reason, attempts}``. Every state carries its message in
``meta.message``; its entry copies it into ``context.status``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from chalicelib.runtime import Command, Workflow
from chalicelib.statechart import Machine, Snapshot, assign

from .models import OvenReport

VERSION = 1
MAX_BAKES = 2  # a burnt pizza is baked again once
LOCK = Path(__file__).with_name("versions.lock.json")

Context = Mapping[str, Any]
Event = Mapping[str, Any]


def _state(message: str, entry: tuple[Any, ...] = (), **config: Any) -> dict[str, Any]:
    """A state whose entry sets the pizza's status to its meta message."""
    status = {"type": "updateStatus", "params": {"message": message}}
    return {"meta": {"message": message}, "entry": [status, *entry], **config}


def _fail(reason: str) -> dict[str, Any]:
    return {
        "target": "#pizza.failed",
        "actions": [{"type": "recordFailure", "params": {"reason": reason}}],
    }


def pizza_context(input: Any) -> dict[str, Any]:  # noqa: A002 - XState's name
    """The context a pizza starts with, from the order's input (XState's context factory)."""
    given = input if isinstance(input, Mapping) else {}
    return {
        "orderId": given.get("orderId"),
        "itemId": given.get("itemId"),
        "pizza": given.get("pizza"),
        "status": None,
        "attempts": 0,
        "sends": 0,
        "bakeId": None,
        "baked": False,
        "by": None,
        "at": None,
        "reason": None,
    }


def pizza_output(ctx: Context, event: Event) -> dict[str, Any]:
    """What the order receives in ``xstate.done.actor.<itemId>``."""
    if ctx["baked"]:
        return {"itemId": ctx["itemId"], "baked": True, "by": ctx["by"], "at": ctx["at"],
                "attempts": ctx["attempts"]}  # fmt: skip
    return {"itemId": ctx["itemId"], "baked": False, "reason": ctx["reason"],
            "attempts": ctx["attempts"]}  # fmt: skip


PIZZA_CHART: dict[str, Any] = {
    "id": "pizza",
    "description": "One pizza of an order, from its turn in the oven to baked",
    "initial": "queued",
    "context": pizza_context,
    "output": pizza_output,
    "states": {
        "queued": _state("Waiting for a free oven...", on={"OVEN_SLOT": "baking"}),
        "baking": {
            "initial": "sending",
            "entry": ["startBake"],
            "states": {
                "sending": _state(
                    "Putting the pizza in the oven...",
                    entry=("countSend",),
                    invoke={
                        "id": "bake",
                        "src": "bakeInOven",
                        "onDone": "inOven",
                        "onError": "ovenUnreachable",
                    },
                ),
                "inOven": _state(
                    "In the oven...", after={"ovenTimeout": _fail("the oven took too long")}
                ),
                "ovenUnreachable": _state(
                    "The oven did not answer; trying again...",
                    always={"guard": "sendsExhausted", **_fail("the oven could not be reached")},
                    after={"ovenRetry": "sending"},
                ),
            },
            "on": {
                "PIZZA_BAKED": {
                    "guard": "isCurrentBake",
                    "target": "baked",
                    "actions": ["recordBake"],
                },
                "PIZZA_BURNT": [
                    {
                        "guard": {"type": "and", "guards": ["isCurrentBake", "mayBakeAgain"]},
                        "target": "baking",
                        "reenter": True,
                        "actions": ["recordBurn"],
                    },
                    {"guard": "isCurrentBake", "target": "failed", "actions": ["recordBurn"]},
                ],
            },
        },
        "baked": _state("Baked.", type="final"),
        "failed": _state("Could not be baked.", entry=("explainFailure",), type="final"),
    },
}


def _report(ev: Event) -> Mapping[str, Any]:
    return ev.get("data") or {}


PIZZA_ACTIONS: dict[str, Any] = {
    "updateStatus": assign(lambda ctx, ev, params: {"status": params["message"]}),
    "startBake": assign(
        lambda ctx, ev: {
            "attempts": ctx["attempts"] + 1,
            "sends": 0,
            "bakeId": f"{ctx['orderId']}.{ctx['itemId']}.{ctx['attempts'] + 1}",
            "reason": None,
        }
    ),
    "countSend": assign(lambda ctx, ev: {"sends": ctx["sends"] + 1}),
    "recordBake": assign(
        lambda ctx, ev: {"baked": True, "by": _report(ev).get("by"), "at": _report(ev).get("at")}
    ),
    "recordBurn": assign(lambda ctx, ev: {"reason": _report(ev).get("reason") or "burnt"}),
    "recordFailure": assign(lambda ctx, ev, params: {"reason": params["reason"]}),
    "explainFailure": assign(lambda ctx, ev: {"status": f"Could not be baked: {ctx['reason']}."}),
}


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a pizza waits, in seconds, and how often its command is sent.

    Read from PIZZA_OVEN_TIMEOUT_SECONDS, PIZZA_RETRY_SECONDS and PIZZA_SEND_ATTEMPTS
    when set.
    """

    oven_timeout: float = 20 * 60
    retry: float = 2
    send_attempts: int = 3

    @classmethod
    def from_environment(cls) -> Timing:
        names = {
            "oven_timeout": "PIZZA_OVEN_TIMEOUT_SECONDS",
            "retry": "PIZZA_RETRY_SECONDS",
            "send_attempts": "PIZZA_SEND_ATTEMPTS",
        }
        kinds = {f.name: (int if f.type == "int" else float) for f in fields(cls)}
        return cls(**{k: kinds[k](os.environ[v]) for k, v in names.items() if os.environ.get(v)})

    def delays(self) -> dict[str, Any]:
        """Named delays in ms; a send retried backs off exponentially with its count."""
        return {
            "ovenTimeout": int(1000 * self.oven_timeout),
            "ovenRetry": lambda ctx, ev: int(1000 * self.retry * 2 ** max(0, ctx["sends"] - 1)),
        }

    def guards(self) -> dict[str, Any]:
        """The chart's guards (the send limit is this timing's)."""
        return {
            "isCurrentBake": lambda ctx, ev: _report(ev).get("bakeId") == ctx["bakeId"],
            "mayBakeAgain": lambda ctx, ev: ctx["attempts"] < MAX_BAKES,
            "sendsExhausted": lambda ctx, ev: ctx["sends"] >= self.send_attempts,
        }


def pizza_machine(timing: Timing | None = None) -> Machine:
    """The pizza workflow's machine (built once per process by its callers)."""
    timing = timing or Timing()
    return Machine(
        PIZZA_CHART, actions=PIZZA_ACTIONS, guards=timing.guards(), delays=timing.delays()
    )


def pizza_view(snapshot: Snapshot, meta: Mapping[str, Any]) -> dict[str, Any]:
    """What staff and the order's tracker see of one pizza."""
    ctx = snapshot.context
    return {
        "pizzaId": meta["id"],
        "orderId": ctx.get("orderId"),
        "itemId": ctx.get("itemId"),
        "pizza": ctx.get("pizza"),
        "state": snapshot.value,
        "status": ctx.get("status"),
        "attempts": ctx.get("attempts"),
        "bakeId": ctx.get("bakeId"),
        "done": snapshot.status == "done",
        "output": snapshot.output,
        "version": meta["version"],
        "createdAt": meta.get("createdAt"),
        "updatedAt": meta.get("updatedAt"),
    }


def in_oven(snapshot: Snapshot) -> bool:
    """Whether the pizza is on the kitchen's worklist: being baked (not queued or done)."""
    return snapshot.matches("baking")


def _bake(ctx: Context, _input: Any) -> dict[str, Any]:
    return {
        "bakeId": ctx["bakeId"],
        "orderId": ctx["orderId"],
        "itemId": ctx["itemId"],
        "pizza": ctx["pizza"],
        "attempt": ctx["attempts"],
    }


CLIENT_EVENTS: dict[str, Any] = {}  # a pizza hears from its order and the oven only
BUS_EVENTS = {"PIZZA_BAKED": OvenReport, "PIZZA_BURNT": OvenReport}
COMMANDS = {"bakeInOven": Command("BAKE_PIZZA", _bake)}


def pizza_workflow(timing: Timing | None = None) -> Workflow:
    """The pizza workflow as the runtime runs it (started by orders, never by a client)."""
    return Workflow(
        "pizza", pizza_machine(timing), CLIENT_EVENTS, BUS_EVENTS, COMMANDS, pizza_view,
        version=VERSION, lock=LOCK, worklist=in_oven,
    )  # fmt: skip
