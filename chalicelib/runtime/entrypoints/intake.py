"""What arrives from outside a request: events from the bus and durable timers."""

from __future__ import annotations

from collections.abc import Mapping

from ..core import BUS, TIMER, Incoming, Outcome, send, validate_payload
from ..messaging import bus
from ..messaging import timers as durable
from ..ops import journal, metrics
from ..shared import BadRequest, EventNotAllowed, NotFound, clock
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
