"""The oven: bakes one pizza at a time for the pizza workflow.

Each bake is its own piece of work, keyed by ``bakeId`` (``<orderId>.<itemId>.<attempt>``,
so baking a burnt pizza again is new work), and reported to the pizza instance that sent
BAKE_PIZZA (the command's CloudEvent subject). Staff finish a bake (PIZZA_BAKED) or reject
it as burnt with a reason (PIZZA_BURNT) on the board, through the station routes."""

from __future__ import annotations

from .station import Station

OVEN = Station(
    "oven", "BAKE_PIZZA", "PIZZA_BAKED", reject="PIZZA_BURNT",
    key_field="bakeId", subject_field="pizzaId",
    keep=("orderId", "itemId", "pizza", "attempt"), report_fields=("bakeId", "itemId"),
    noun="pizza",
)  # fmt: skip
