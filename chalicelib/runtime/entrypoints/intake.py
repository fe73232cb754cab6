"""What arrives from outside a request: events from the bus and durable timers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import BUS, TIMER, Early, Incoming, Outcome, send, start, validate_payload
from ..messaging import actors, bus
from ..messaging import timers as durable
from ..ops import journal, metrics
from ..shared import BadRequest, EventNotAllowed, InstanceExists, NotFound, clock
from ..versions import Workflow


def receive(workflows: Mapping[str, Workflow], workflow_name: str, body: str) -> Outcome | None:
    """Apply a CloudEvent from the bus; None when it is stale or unknown (acknowledged).

    Raises for what must be retried (storage or bus unavailable, lost races) and for
    malformed messages (so they reach the dead-letter queue). A redelivered event id
    changes nothing.
    """
    event = bus.parse(body)
    workflow = workflows[workflow_name]
    subject = event.get("subject")
    if not isinstance(subject, str) or not subject:
        raise BadRequest("CloudEvent has no subject (the instance id)")
    if event["type"] in actors.MESSAGE_TYPES:
        return _message(workflow, subject, event)
    data = validate_payload(workflow, event["type"], event.get("data"), BUS)
    machine_event = {"type": event["type"], "data": data, "time": event.get("time") or clock.now()}
    with journal.correlated(workflow=workflow.name, instance=subject, cloudEventId=event["id"]):
        try:
            outcome = send(workflow, subject, Incoming(machine_event, event["id"], BUS))
        except (EventNotAllowed, NotFound) as stale:
            journal.problem(
                "bus event not applied", event=event["type"], id=event["id"], why=str(stale)
            )
            metrics.count("BusEventsIgnored", workflow=workflow.name)
            return None
    if outcome.duplicate:
        metrics.count("BusEventsDuplicate", workflow=workflow.name)
    return outcome


def _message(workflow: Workflow, subject: str, event: Mapping[str, Any]) -> Outcome | None:
    """Apply a message from another instance: start the child it names, stop it, or
    deliver an event to it, in its sender's order (``actors.order``). A start sent
    twice starts one instance; a message to an instance that is not there yet (its
    start has not arrived) is raised, for the queue to deliver again."""
    data = actors.parse(event)
    if event["workflow"] != workflow.name:
        raise BadRequest(f"{event['type']} for {event['workflow']!r} reached {workflow.name!r}")
    kind = event["type"]
    if kind == actors.START:
        _started_by_its_parent(workflow, subject, data)
    sent = data["event"] if kind == actors.SEND else {"type": kind}
    if kind == actors.START:  # kept in the history: a replay starts the child from it
        sent["input"] = data["input"]
    incoming = Incoming(sent, event["id"], BUS, message=data)
    with journal.correlated(workflow=workflow.name, instance=subject, cloudEventId=event["id"]):
        try:
            if kind == actors.START:
                return start(workflow, subject, data.get("owner") or "", {}, incoming)
            return send(workflow, subject, incoming)
        except InstanceExists:
            metrics.count("BusEventsDuplicate", workflow=workflow.name)
            return None
        except NotFound:
            raise Early(f"{workflow.name} {subject!r} is not started yet ({kind} waits)") from None
        except EventNotAllowed as stale:
            journal.problem(
                "message not applied", event=sent["type"], id=event["id"], why=str(stale)
            )
            metrics.count("BusEventsIgnored", workflow=workflow.name)
            return None


def _started_by_its_parent(workflow: Workflow, subject: str, data: Mapping[str, Any]) -> None:
    """BadRequest (the dead-letter queue) for a start not sent by the parent it names, for
    an id not derived from it, or from a workflow that does not declare this one."""
    parent = data["parent"]
    if data["from"] != actors.key(parent["workflow"], parent["id"]):
        raise BadRequest(f"xstate.start of {subject!r} not sent by the parent it names")
    if subject != actors.child_id(parent["id"], parent["actor"], data["seq"][0]):
        raise BadRequest(f"xstate.start of {subject!r}: not the id its parent's step derives")
    starter = workflow.peers.get(parent["workflow"])
    if workflow.peers and (starter is None or workflow.name not in starter.children):
        raise BadRequest(f"{parent['workflow']} does not declare {workflow.name} a child")


def fire_timer(workflows: Mapping[str, Workflow], body: str) -> Outcome | None:
    """Deliver a due timer's event; re-send one that is early (delays past 15 minutes).

    A timer whose token the instance no longer holds (its state was left), or that
    fired before, changes nothing.
    """
    timer = durable.parse(body)
    if durable.due_in(timer) > 1:
        durable.send(timer)
        return None
    workflow = workflows.get(timer["workflow"])
    if workflow is None:
        raise BadRequest(f"timer for unknown workflow {timer['workflow']!r}")
    incoming = Incoming(
        timer["event"], f"timer.{timer['token']}", TIMER,
        timer=(timer["scheduleId"], timer["token"]),
    )  # fmt: skip
    try:
        outcome = send(workflow, timer["instance"], incoming)
    except (EventNotAllowed, NotFound) as stale:
        journal.problem(
            "timer not applied", workflow=workflow.name, instance=timer["instance"],
            timer=timer["scheduleId"], why=str(stale),
        )  # fmt: skip
        outcome = None
    # a duplicate is a timer whose state was left (or one that fired before): stale
    fired = outcome is not None and not outcome.duplicate
    metrics.count("TimersFired" if fired else "TimersIgnored", workflow=workflow.name)
    return outcome
