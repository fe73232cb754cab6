"""The pizza workflow as the app runs it (its timing from the environment). Pizzas are
started by their orders, so no route creates one; staff read them as any instance."""

from __future__ import annotations

from .workflow import Timing, pizza_workflow

PIZZAS = pizza_workflow(Timing.from_environment())
