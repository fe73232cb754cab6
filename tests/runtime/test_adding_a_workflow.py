"""Adding a workflow and a service through the registry only (issue 20, "Done when"): a
throwaway table reservation (nested states, a named 10-minute timer, a new Tables
station) is wired, templated, granted, served by the runtime, the real station, the
local stack's automatic stations and the chart export, with no other edit."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from chalicelib import registry
from chalicelib.runtime import Command, Workflow, queues, state_key
from chalicelib.statechart import Machine, assign
from chalicelib.statechart.diagram import mermaid
from chalicelib.stations import Station
from infra.generate import functions, generate
from local.stack import finish_due
from tests.infra.grants import grants_of
from tests.statechart.diagram_hierarchy import drawn_parents, expected_parents

TABLES = Station(
    "tables", "HOLD_TABLE", "TABLE_HELD", key_field="reservationId",
    subject_field="reservationId", keep=("guests",), noun="reservation",
)  # fmt: skip


class Reserve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    guests: int = Field(ge=1, le=12)


class Nothing(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Held(BaseModel):
    station: str
    by: str
    at: str


CHART = {
    "id": "reservation",
    "initial": "new",
    "context": {"reservationId": None, "guests": None},
    "states": {
        "new": {"on": {"RESERVE": {"target": "requested", "actions": ["rememberGuests"]}}},
        "requested": {
            "initial": "holding",
            "states": {
                "holding": {"invoke": {"id": "hold", "src": "holdTable", "onDone": "waiting"}},
                # a named delay: its timer event is xstate.after.holdTimeout.<state id>
                "waiting": {"after": {"holdTimeout": "#reservation.failed"}},
            },
            "on": {"TABLE_HELD": "confirmed", "CANCEL": "cancelled"},
        },
        "confirmed": {
            "initial": "booked",
            "states": {"booked": {"on": {"ARRIVE": "seated"}}, "seated": {"type": "final"}},
            "onDone": "done",
        },
        "failed": {"type": "final"},
        "cancelled": {"type": "final"},
        "done": {"type": "final"},
    },
}


def reservation() -> Workflow:
    machine = Machine(
        CHART,
        actions={"rememberGuests": assign(guests=lambda c, e: e["guests"])},
        delays={"holdTimeout": 10 * 60 * 1000},
    )
    return Workflow(
        "reservation", machine,
        client_events={"RESERVE": Reserve, "ARRIVE": Nothing, "CANCEL": Nothing},
        bus_events={"TABLE_HELD": Held},
        commands={
            "holdTable": Command("HOLD_TABLE", lambda c, _: {"reservationId": c["reservationId"],
                                                            "guests": c["guests"]}),
        },
        view=lambda s, meta: {"state": state_key(s.value), "version": meta["version"], **s.context},
    )  # fmt: skip


def _registered() -> tuple[dict[str, Workflow], dict]:
    workflows = {**registry.WORKFLOWS, "reservation": reservation()}
    return workflows, {**registry.SERVICES, "tables": TABLES}


def test_the_registry_wires_it_within_the_concurrency_budget():
    made = queues(*_registered(), budget=registry.SQS_CONCURRENCY_BUDGET)
    by_owner = {q.owner: q for q in made}
    assert by_owner["reservation"].types == (
        "@reservation",
        "TABLE_HELD",
    )  # its bus events and messages from instances
    assert by_owner["tables"].types == ("HOLD_TABLE",)
    assert sum(q.concurrency for q in made) <= registry.SQS_CONCURRENCY_BUDGET


def test_the_template_makes_its_queues_subscriptions_roles_and_alarms():
    made = queues(*_registered(), budget=registry.SQS_CONCURRENCY_BUDGET)
    resources = generate(made)["Resources"]
    for logical in ("ReservationEventsQueue", "TablesQueue"):
        assert logical in resources and f"{logical}DLQ" in resources
    policies = {
        r["Properties"]["Endpoint"]["Fn::GetAtt"][0]: r["Properties"]["FilterPolicy"]["type"]
        for r in resources.values()
        if r.get("Type") == "AWS::SNS::Subscription" and r["Properties"]["Protocol"] == "sqs"
    }
    assert policies["ReservationEventsQueue"] == ["@reservation", "TABLE_HELD"]
    assert policies["TablesQueue"] == ["HOLD_TABLE"]
    # each new consumer is granted what the same kind of consumer is proven to call
    granted = grants_of(resources, functions(made))
    assert granted["ReservationEvents"] == granted["OrderEvents"]
    assert granted["TablesCommands"] == granted["KitchenCommands"]
    alarmed = str([r for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"])
    assert "tables-commands-dlq" in alarmed and "reservation-events-dlq" in alarmed


def test_the_runtime_and_the_real_station_serve_it(workflow_kit):
    kit = workflow_kit(reservation())
    kit.start("t1", "RESERVE", {"guests": 4}, context={"reservationId": "t1"})
    assert kit.state("t1") == {"requested": "waiting"}
    assert kit.command("HOLD_TABLE", "t1")["data"] == {"reservationId": "t1", "guests": 4}
    (held,) = kit.station(TABLES)  # the real Tables station took the command and answered
    assert held.view()["state"] == "confirmed.booked"
    kit.send("t1", "ARRIVE")
    assert kit.read("t1").snapshot.status == "done"

    kit.start("t2", "RESERVE", {"guests": 2}, context={"reservationId": "t2"})
    assert kit.advance(minutes=9, seconds=59) == 0
    assert kit.advance(seconds=1) == 1  # no table held in 10 minutes: the timer fails it
    assert kit.state("t2") == "failed"
    fired = kit.history("t2")[-1]["eventType"]
    assert fired == "xstate.after.holdTimeout.reservation.requested.waiting"
    assert kit.station(TABLES, "") == []  # the station took t2's command; nothing reported

    # `make run` (--stations auto) finishes held work after its default 2 seconds
    assert finish_due([TABLES], {"kitchen": 3}, 2, kit.now + timedelta(seconds=1)) == []
    assert finish_due([TABLES], {"kitchen": 3}, 2, kit.now + timedelta(seconds=2)) == ["tables:t2"]


def test_its_chart_draws_every_state_inside_its_own_parent():
    definition = reservation().machine.definition
    assert drawn_parents(mermaid(definition, set())) == expected_parents(definition)
