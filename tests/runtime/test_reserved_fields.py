"""A client event's payload cannot carry a field the runtime sets beside it (issue 20,
item 3): such a model is refused when the workflow is declared, and the event type a
client's event is applied as is always the one that was validated."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.runtime import Workflow, WorkflowError
from chalicelib.runtime.versions import RESERVED_FIELDS
from tests.runtime.test_generic_runtime import Nothing, Unlocked, rental


class Typed(BaseModel):
    bike: str
    type: str = "city"


class Timed(BaseModel):
    bike: str
    time: str


class Aliased(BaseModel):
    bike: str
    kind: str = Field("city", alias="type")


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")
    bike: str


def _declare(model: type[BaseModel]) -> Workflow:
    base = rental()
    return Workflow(
        "rental", base.machine, {"RENT": model, "RETURN_BIKE": Nothing},
        {"BIKE_UNLOCKED": Unlocked}, base.commands, base.view,
    )  # fmt: skip


def test_the_runtime_sets_type_and_time():
    assert set(RESERVED_FIELDS) == {"type", "time"}


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Typed, "Typed has a field named type"),
        (Timed, "Timed has a field named time"),
        (Aliased, "Aliased has a field named type"),
        (Open, "Open allows extra fields"),
    ],
)
def test_a_client_model_with_a_reserved_field_is_refused_when_declared(model, message):
    with pytest.raises(ValueError, match=f"rental RENT: {message}"):
        _declare(model)


def test_bus_event_models_may_name_fields_type_or_time():
    """A bus event's payload is nested under ``data``: nothing of it is overwritten."""
    base = rental()
    Workflow(
        "rental", base.machine, base.client_events, {"BIKE_UNLOCKED": Typed},
        base.commands, base.view,
    )  # fmt: skip


def test_a_type_field_in_a_client_body_cannot_apply_another_event(workflow_kit):
    """Even with the declaration check bypassed, the type applied is the validated one:
    a RENT whose body says type=BIKE_UNLOCKED (a bus-only event) is applied as RENT,
    and a client's time is replaced by the request's."""
    wf = rental()
    wf.client_events["RENT"] = Typed  # what the declaration refuses, planted afterwards
    kit = workflow_kit(wf)
    started = kit.start("r1", "RENT", {"bike": "b7", "type": "BIKE_UNLOCKED"})
    assert started.view()["state"] == "unlocking"
    (rent,) = [h for h in kit.history("r1") if h["source"] == "client"]
    assert rent["eventType"] == "RENT" and rent["event"]["type"] == "RENT"
    kit.reply(kit.command("UNLOCK_BIKE", "r1"), "BIKE_UNLOCKED", {"dock": 3})
    with pytest.raises(WorkflowError):  # riding takes no RENT, whatever its body says
        kit.send("r1", "RENT", {"bike": "b8", "type": "RETURN_BIKE"})
    assert kit.state("r1") == "riding"
