"""What a pizza costs: a base price by size plus one price per topping, in cents.

The order workflow does not charge anything itself; the price list lives here, in the
order domain, so that whatever needs the value of an order (a refund's upper bound)
computes it from the order's own items the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SIZE_CENTS = {"small": 900, "medium": 1200, "large": 1500}
TOPPING_CENTS = 150


def pizza_cents(pizza: Mapping[str, Any]) -> int:
    """The price of one pizza in cents; KeyError for a size the menu does not have."""
    return SIZE_CENTS[pizza["size"]] + TOPPING_CENTS * len(pizza.get("toppings") or ())


def order_total_cents(items: Iterable[Mapping[str, Any]]) -> int:
    """What an order's items cost together, in cents."""
    return sum(pizza_cents(item) for item in items)


def priced(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The items, each with its price (``priceCents``), for a view."""
    return [{**item, "priceCents": pizza_cents(item)} for item in items]


def menu(toppings: Iterable[str]) -> dict[str, Any]:
    """The price list as the menu form shows it (``GET /menu``): each size's base price
    and the price of one topping, in cents, and the toppings on offer."""
    return {
        "sizes": [{"size": size, "cents": cents} for size, cents in SIZE_CENTS.items()],
        "toppingCents": TOPPING_CENTS,
        "toppings": list(toppings),
    }
