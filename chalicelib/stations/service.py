"""Staff use cases of a station: list the work it holds, finish or reject one piece of it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.runtime import Forbidden, NotFound, auth, validate_model

from .payments import STATIONS
from .station import Station


class FinishWork(BaseModel):
    """Body of the staff routes that finish a station's work (optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str | None = Field(default=None, max_length=80)


class RejectWork(BaseModel):
    """Body of the staff routes that reject a station's work: why, for the customer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=200)


def _station(principal: auth.Principal, name: str) -> Station:
    if not principal.is_staff:
        raise Forbidden(f"the {name} routes need the 'staff' role")
    if name not in STATIONS:
        raise NotFound(f"no station {name!r} (stations: {', '.join(sorted(STATIONS))})")
    return STATIONS[name]


def held_work(principal: auth.Principal, name: str) -> list[dict[str, Any]]:
    """The work the station holds, oldest first (staff only: Forbidden otherwise)."""
    return _station(principal, name).orders()


def finish_work(
    principal: auth.Principal, name: str, work_id: str | None, body: dict[str, Any]
) -> dict[str, Any]:
    """Finish ``work_id`` (or the oldest held work): the station reports it done.
    Forbidden for customers, BadRequest for a bad body, NotFound when not held."""
    station = _station(principal, name)
    request = validate_model(FinishWork, body, "body")
    return station.finish(work_id, by=request.by or principal.user)


def reject_work(
    principal: auth.Principal, name: str, work_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Reject ``work_id`` with the body's ``reason``: the station reports it rejected and
    closes it. Forbidden for customers, BadRequest for a bad body, NotFound when the
    station does not hold it."""
    station = _station(principal, name)
    request = validate_model(RejectWork, body, "body")
    return station.reject(work_id, request.reason, by=principal.user)
