"""A third, throwaway workflow registered in a few lines, served by the runtime as it
is: bus intake, durable timers, the outbox sweeper and websocket follow/push."""

from __future__ import annotations

from pydantic import BaseModel

from chalicelib.runtime import Command, Workflow, state_key
from chalicelib.statechart import Machine, assign


class Rent(BaseModel):
    bike: str


class Unlocked(BaseModel):
    dock: int


class Nothing(BaseModel):
    pass


def rental(hold_ms: int = 3_600_000) -> Workflow:
    """A bike rental: RENT asks the bike to unlock (a command on the bus), waits for
    BIKE_UNLOCKED, and is abandoned when no answer comes within ``hold_ms``."""
    chart = {
        "id": "rental",
        "initial": "idle",
        "context": {"bike": None, "dock": None},
        "states": {
            "idle": {"on": {"RENT": {"target": "unlocking", "actions": ["rememberBike"]}}},
            "unlocking": {
                "invoke": {"id": "unlock", "src": "unlockBike", "onDone": "waitingForBike"}
            },
            "waitingForBike": {
                "on": {"BIKE_UNLOCKED": {"target": "riding", "actions": ["rememberDock"]}},
                "after": {str(hold_ms): "abandoned"},
            },
            "riding": {"on": {"RETURN_BIKE": "returned"}},
            "returned": {"type": "final"},
            "abandoned": {"type": "final"},
        },
    }
    machine = Machine(
        chart,
        actions={
            "rememberBike": assign(bike=lambda c, e: e["bike"]),
            "rememberDock": assign(dock=lambda c, e: e["data"]["dock"]),
        },
    )
    return Workflow(
        "rental",
        machine,
        client_events={"RENT": Rent, "RETURN_BIKE": Nothing},
        bus_events={"BIKE_UNLOCKED": Unlocked},
        commands={"unlockBike": Command("UNLOCK_BIKE", lambda c, _: {"bike": c["bike"]})},
        view=lambda s, meta: {"state": state_key(s.value), "version": meta["version"], **s.context},
    )


def test_a_new_workflow_runs_end_to_end_over_the_bus(workflow_kit):
    kit = workflow_kit(rental())
    kit.start("r1", "RENT", {"bike": "b7"})
    unlock = kit.command("UNLOCK_BIKE", "r1")
    assert unlock["data"] == {"bike": "b7"}
    assert kit.state("r1") == "waitingForBike"  # the runtime fed the invoke's completion back
    riding = kit.reply(unlock, "BIKE_UNLOCKED", {"dock": 3})
    assert riding.view()["state"] == "riding" and riding.view()["dock"] == 3
    kit.send("r1", "RETURN_BIKE")
    assert kit.read("r1").snapshot.status == "done"
    assert [h["eventType"] for h in kit.history("r1")] == [
        "RENT", "xstate.done.actor.unlock", "BIKE_UNLOCKED", "RETURN_BIKE",
    ]  # fmt: skip
    assert [h["source"] for h in kit.history("r1")][2] == "bus"


def test_the_sweeper_sends_what_a_failed_publish_left_pending(workflow_kit):
    kit = workflow_kit(rental())
    with kit.bus_outage():
        kit.start("r1", "RENT", {"bike": "b7"})
    assert kit.commands("UNLOCK_BIKE") == []
    assert kit.state("r1") == "unlocking"  # committed; its command waits in the outbox
    assert kit.sweep() == 1
    assert kit.command("UNLOCK_BIKE", "r1")["data"] == {"bike": "b7"}
    assert kit.state("r1") == "waitingForBike"
    assert kit.sweep() == 0  # nothing is left pending


def test_its_durable_timer_abandons_a_rental_nobody_answered(workflow_kit):
    kit = workflow_kit(rental())
    kit.start("r1", "RENT", {"bike": "b7"})
    assert kit.advance(minutes=59) == 0
    assert kit.state("r1") == "waitingForBike"
    assert kit.advance(minutes=1) == 1
    assert kit.state("r1") == "abandoned"
    assert kit.history("r1")[-1]["eventType"].startswith("xstate.after.3600000.")
    late = kit.reply(kit.command("UNLOCK_BIKE", "r1"), "BIKE_UNLOCKED", {"dock": 1})
    assert late is None  # the bus intake acknowledges a reply the state no longer takes
    assert kit.state("r1") == "abandoned"


def test_a_websocket_follower_is_pushed_every_new_view(workflow_kit):
    kit = workflow_kit(rental())
    kit.start("r1", "RENT", {"bike": "b7"})
    connection = kit.follow("r1")
    kit.reply(kit.command("UNLOCK_BIKE", "r1"), "BIKE_UNLOCKED", {"dock": 3})
    kit.send("r1", "RETURN_BIKE")
    assert [v["state"] for v in kit.pushes(connection)] == ["riding", "returned"]
    kit.ask(connection)
    assert kit.pushes(connection)[-1] == kit.read("r1").view()
