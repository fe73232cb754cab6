"""Pydantic models of everything that enters the order workflow: requests and payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FRUIT_TOPPINGS = (
    "banana", "coconut", "dragonfruit", "guava", "kiwi", "lychee",
    "mango", "papaya", "passionfruit", "pineapple", "starfruit", "strawberry",
)  # fmt: skip
Topping = Literal[FRUIT_TOPPINGS]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Pizza(Strict):
    """One pizza as the customer orders it."""

    name: str = Field(min_length=1, max_length=60)
    size: Literal["small", "medium", "large"]
    toppings: list[Topping] = Field(default_factory=list, max_length=8)

    @field_validator("toppings")
    @classmethod
    def _no_repeats(cls, toppings: list[str]) -> list[str]:
        if len(set(toppings)) != len(toppings):
            raise ValueError("a topping may appear only once")
        return toppings


class AddPizza(Strict):
    """Body of POST /orders and POST /orders/{id}/pizzas; payload of ADD_PIZZA."""

    pizza: Pizza


class RemovePizza(Strict):
    """Payload of REMOVE_PIZZA."""

    itemId: str = Field(min_length=1, max_length=40)


class NoPayload(Strict):
    """Payload of CONFIRM_PIZZA."""


class CancelOrder(Strict):
    """Body of POST /orders/{id}/cancel; payload of CANCEL_ORDER."""

    reason: str | None = Field(default=None, max_length=200)


class StationReport(BaseModel):
    """Data of PIZZA_READY / PIZZA_DELIVERED / PIZZA_REJECTED: which station, who, when, why."""

    model_config = ConfigDict(extra="forbid")

    station: str = Field(min_length=1, max_length=40)
    by: str | None = Field(default=None, max_length=80)
    at: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=200)


class CompleteWork(Strict):
    """Body of the staff routes that mark an order ready or delivered."""

    by: str | None = Field(default=None, max_length=80)


class OrdersPage(Strict):
    """The query of GET /orders: how many orders (1-50) and where the page starts (the
    ``next`` of the page before)."""

    limit: int = Field(default=20, ge=1, le=50)
    next: str | None = Field(default=None, min_length=1, max_length=400)
