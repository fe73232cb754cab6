"""Pydantic models of what enters the pizza workflow: the oven's reports."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OvenReport(BaseModel):
    """Data of PIZZA_BAKED / PIZZA_BURNT from the oven: which bake, who, when, why."""

    model_config = ConfigDict(extra="forbid")

    station: str = Field(min_length=1, max_length=40)
    bakeId: str = Field(min_length=1, max_length=160)
    itemId: str | None = Field(default=None, max_length=40)
    by: str | None = Field(default=None, max_length=80)
    at: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=200)
