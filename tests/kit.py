"""A test kit for workflow authors: a registered workflow run through the real runtime
on moto, with a simulated clock that fires due timers when advanced, and helpers that
play the bus (reply to a command, duplicate a reply, drop one) and follow instances
over a websocket.

Example (the ``workflow_kit`` fixture of tests/conftest.py; ``RENTAL`` is a Workflow)::

    def test_an_unanswered_unlock_is_abandoned_after_an_hour(workflow_kit):
        kit = workflow_kit(RENTAL)                   # the workflows the runtime serves
        kit.start("r1", "RENT", {"bike": "b7"})      # a client event creates r1
        unlock = kit.command("UNLOCK_BIKE", "r1")    # the command it published
        kit.drop(unlock, "BIKE_UNLOCKED")            # the bike's answer is lost
        kit.advance(minutes=59)
        assert kit.state("r1") == "unlocking"
        kit.advance(minutes=1)                       # the durable timer fires
        assert kit.state("r1") == "abandoned"

    kit.reply(unlock, "BIKE_UNLOCKED", {"dock": 3})  # a reply through the bus intake
    kit.station(BIKES)                               # or the real Station answers it
    kit.sweep()                                      # the outbox sweeper, grace 0
    conn = kit.follow("r1"); kit.pushes(conn)        # websocket views pushed to it

Time stands still unless advanced. Timers are taken at ``timers.send`` into a simulated
delay queue (at most 15 minutes per hop, like SQS, so long timers chain) and delivered
by ``advance`` through ``intake.fire_timer``. Unlike SQS the kit does not round delays up
to whole seconds: a timer is delivered at its due time exactly.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import runtime
from chalicelib.runtime import (
    CLIENT,
    Incoming,
    Outcome,
    Unavailable,
    Workflow,
    auth,
    broadcast,
    bus,
    client,
    clock,
    follow,
    intake,
    settings,
    sweeper,
)
from chalicelib.runtime import timers as durable
from chalicelib.runtime.entrypoints import callers
from chalicelib.runtime.identity import secrets as keys
from tests.shop import FakeSender

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday morning
CAPTURE_QUEUE = "workflow-kit-bus"


class SimulatedClock:
    """A clock that moves only when told (``clock.use`` takes it as its source)."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment


@dataclass(order=True, slots=True)
class _Delayed:
    visible_at: datetime
    seq: int
    body: dict[str, Any] = field(compare=False)


class WorkflowKit:
    """The runtime serving ``workflows`` (by name) on moto; see the module docstring.

    ``workflow`` arguments name a workflow; by default the first one given.
    """

    def __init__(self, workflows: Mapping[str, Workflow], start: datetime) -> None:
        self.workflows = dict(workflows)
        self.default = next(iter(self.workflows))
        self.clock = SimulatedClock(start)
        self.sender = FakeSender()
        self.dropped: list[dict[str, Any]] = []
        self._queue: list[_Delayed] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._published: list[dict[str, Any]] = []
        self._capture = _subscribe_capture_queue()
        self._handed: set[str] = set()  # event ids a station took, or a workflow was given

    # --- time -------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The simulated time."""
        return self.clock.moment

    def advance(self, delta: timedelta | float = 0, **parts: float) -> int:
        """Move the clock on by ``delta`` (a timedelta or seconds) plus ``parts``
        (``timedelta`` keywords: ``hours=2``), delivering every timer message that becomes
        visible on the way, in order, with the clock at its time. Returns how many timer
        events were applied (early hops that are sent again do not count)."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        step += timedelta(**parts)
        if step < timedelta(0):
            raise ValueError("the clock does not run backwards")
        target = self.clock.moment + step
        applied = 0
        while self._queue and self._queue[0].visible_at <= target:
            message = heapq.heappop(self._queue)
            self.clock.moment = max(self.clock.moment, message.visible_at)
            outcome = intake.fire_timer(self.workflows, json.dumps(message.body))
            applied += outcome is not None and not outcome.duplicate
        self.clock.moment = target
        return applied

    @property
    def timers(self) -> list[dict[str, Any]]:
        """The timer messages waiting in the simulated queue, soonest visible first."""
        return [message.body for message in sorted(self._queue)]

    def _schedule(self, body: Mapping[str, Any]) -> None:
        """``timers.send`` for the kit: hold the timer for what remains, at most 15 minutes."""
        wait = min(durable.MAX_SQS_DELAY_SECONDS, max(0.0, durable.due_in(body)))
        visible_at = self.clock.moment + timedelta(seconds=wait)
        held = json.loads(json.dumps(body))  # a copy, as a queue holds it
        heapq.heappush(self._queue, _Delayed(visible_at, next(self._seq), held))

    # --- clients ----------------------------------------------------------------------

    def workflow(self, name: str | None = None) -> Workflow:
        """A registered workflow (the first one given by default)."""
        return self.workflows[name or self.default]

    def start(
        self,
        instance_id: str,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        owner: str = "alice",
        workflow: str | None = None,
    ) -> Outcome:
        """Create an instance owned by ``owner`` with a client event (validated like a
        client's) and ``context`` merged into the chart's initial context."""
        wf = self.workflow(workflow)
        incoming = self._client(wf, event_type, data, owner)
        return runtime.start(wf, instance_id, owner, context or {}, incoming)

    def send(
        self,
        instance_id: str,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        *,
        caller: str | None = None,
        workflow: str | None = None,
    ) -> Outcome:
        """Apply a client event (``caller`` set means owner-only access)."""
        wf = self.workflow(workflow)
        return runtime.send(wf, instance_id, self._client(wf, event_type, data, caller))

    def _client(
        self, wf: Workflow, event_type: str, data: Mapping[str, Any] | None, caller: str | None
    ) -> Incoming:
        event = callers.client_event(wf, event_type, dict(data or {}))  # as the routes make it
        return Incoming(event, f"client.kit.{next(self._ids)}", CLIENT, caller=caller)

    def read(self, instance_id: str, workflow: str | None = None) -> Outcome:
        """The instance as stored."""
        return runtime.read(self.workflow(workflow), instance_id, None)

    def state(self, instance_id: str, workflow: str | None = None) -> Any:
        """The instance's state value (XState-shaped)."""
        return self.read(instance_id, workflow).snapshot.value

    def history(self, instance_id: str, workflow: str | None = None) -> list[dict[str, Any]]:
        """Every committed transition, oldest first."""
        return runtime.history(self.workflow(workflow), instance_id, None)

    # --- the bus ----------------------------------------------------------------------

    def commands(self, type_: str | None = None, instance_id: str | None = None) -> list[dict]:
        """Every CloudEvent published to the topic so far, oldest first, optionally only
        of one type and for one instance (its ``subject``)."""
        self._drain()
        return [
            event
            for event in self._published
            if type_ in (None, event["type"]) and instance_id in (None, event.get("subject"))
        ]

    def command(self, type_: str, instance_id: str | None = None) -> dict[str, Any]:
        """The latest published command of ``type_`` (for ``instance_id``); AssertionError
        when there is none."""
        found = self.commands(type_, instance_id)
        assert found, f"no {type_} was published (published: {self._types()})"
        return found[-1]

    def reply(
        self,
        command: Mapping[str, Any],
        type_: str,
        data: Mapping[str, Any] | None = None,
        *,
        workflow: str | None = None,
    ) -> Outcome | None:
        """Deliver a service's reply to ``command`` through the bus intake. Its id is
        derived from the command's, so the same reply again is a redelivery. None when
        the intake acknowledges it without applying it (stale or unknown instance)."""
        event = self._reply_event(command, type_, data)
        name = workflow or self._workflow_of(command)
        return intake.receive(self.workflows, name, json.dumps(event))

    def duplicate(
        self,
        command: Mapping[str, Any],
        type_: str,
        data: Mapping[str, Any] | None = None,
        *,
        workflow: str | None = None,
    ) -> tuple[Outcome | None, Outcome | None]:
        """Deliver the same reply twice (an at-least-once bus); returns both outcomes. The
        second is the instance as the first left it, marked ``duplicate`` (None only when
        the first was not applied either: stale, or for no instance)."""
        first = self.reply(command, type_, data, workflow=workflow)
        return first, self.reply(command, type_, data, workflow=workflow)

    def drop(
        self, command: Mapping[str, Any], type_: str, data: Mapping[str, Any] | None = None
    ) -> None:
        """Lose the reply: it never reaches the workflow (kept in ``dropped``)."""
        self.dropped.append(self._reply_event(command, type_, data))

    @contextmanager
    def bus_outage(self) -> Iterator[None]:
        """Within it every publish to the topic fails (Unavailable), as when SNS is down."""
        real = bus.publish

        def down(event: Mapping[str, Any]) -> str:
            raise Unavailable(f"publishing {event['type']} failed: the bus is down (kit)")

        bus.publish = down
        try:
            yield
        finally:
            bus.publish = real

    def sweep(self) -> int:
        """Run the outbox sweeper with no grace period, a millisecond on (so everything
        pending until now is older than its cutoff); returns how many it swept."""
        self.advance(timedelta(milliseconds=1))
        return sweeper.sweep(self.workflows, grace_seconds=0)

    def station(
        self, station: Any, work_id: str | None = None, *, reject: str | None = None
    ) -> list[Outcome | None]:
        """Run the real ``station`` (a chalicelib.stations.Station) on what was published:
        it takes every command of its types not handed to it yet, as its queue would,
        then finishes ``work_id`` (None: its oldest held work; "" finishes nothing) or
        rejects it with the reason ``reject``; what the station reported is delivered to
        the workflows through the bus intake. Returns their outcomes, oldest first."""
        for event in self.commands():
            if event["type"] in station.commands and event["id"] not in self._handed:
                self._handed.add(event["id"])
                station.accept(json.dumps(event))
        if reject is not None:
            station.reject(work_id or station.orders()[0][station.key_field], reject, by="kit")
        elif work_id != "":
            station.finish(work_id, by="kit")
        outcomes = []
        for event in self.commands():
            if event["id"].startswith(f"{station.name}.") and event["id"] not in self._handed:
                self._handed.add(event["id"])
                name = next(n for n, w in self.workflows.items() if event["type"] in w.bus_events)
                outcomes.append(intake.receive(self.workflows, name, json.dumps(event)))
        return outcomes

    def deliver(
        self, arrange: Any = None, *, twice: bool = False, rounds: int = 100
    ) -> list[Outcome | None]:
        """Deliver the messages instances sent each other (starts, stops, events) through
        the bus intake until none is left, as each target's queue would; ``arrange``
        reorders each round's batch (e.g. ``reversed``), ``twice`` delivers each message
        twice. A message refused as early (``Early``) stays for the next round. Returns
        the outcomes, in delivery order."""
        from chalicelib.runtime.core import Early
        from chalicelib.runtime.messaging import actors

        outcomes: list[Outcome | None] = []
        waiting: list[dict[str, Any]] = []
        for _ in range(rounds):
            fresh = [
                e for e in self.commands()
                if e["type"] in actors.MESSAGE_TYPES and e["id"] not in self._handed
            ]  # fmt: skip
            self._handed.update(e["id"] for e in fresh)
            batch = [*waiting, *fresh]
            if not batch:
                return outcomes
            batch = list(arrange(batch)) if arrange else batch
            waiting = []
            for event in batch:
                for _ in range(2 if twice else 1):
                    try:
                        outcomes.append(
                            intake.receive(self.workflows, event["workflow"], json.dumps(event))
                        )
                    except Early:
                        waiting.append(event)
                        break
        raise AssertionError(f"messages still undelivered after {rounds} rounds: {waiting}")

    def _reply_event(
        self, command: Mapping[str, Any], type_: str, data: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return bus.cloud_event(
            f"{command['id']}.{type_}", type_, command["subject"], dict(data or {}),
            clock.now(), source="workflow-kit",
        )  # fmt: skip

    def _workflow_of(self, command: Mapping[str, Any]) -> str:
        # an outbox message id is "<workflow>.<instance>.v<version>.<index>"
        for name in self.workflows:
            if str(command["id"]).startswith(f"{name}.{command['subject']}.v"):
                return name
        raise ValueError(f"cannot tell the workflow of {command['id']!r}: pass workflow=")

    def _drain(self) -> None:
        sqs = client("sqs")
        while True:
            messages = sqs.receive_message(
                QueueUrl=self._capture, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                self._published.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self._capture, ReceiptHandle=message["ReceiptHandle"])

    def _types(self) -> list[str]:
        return [event["type"] for event in self._published]

    # --- websockets -------------------------------------------------------------------

    def follow(
        self, instance_id: str, user: str = "alice", *, staff: bool = False,
        workflow: str | None = None,
    ) -> str:  # fmt: skip
        """Connect a websocket following the instance as ``user``; returns its id."""
        connection_id = f"kit-connection-{next(self._ids)}"
        token = auth.issue(keys.jwt_secret(), user, roles=["staff"] if staff else [])
        trust = auth.trusted(settings())  # the development (HS256) trust the tests run with
        follow.connect(
            self.workflows, connection_id, token, trust, workflow or self.default, instance_id
        )
        return connection_id

    def ask(self, connection_id: str) -> None:
        """Send a message on the connection: the runtime answers with the current view."""
        follow.push_current_view(self.workflows, connection_id)

    def pushes(self, connection_id: str) -> list[dict[str, Any]]:
        """Every view pushed to the connection, oldest first."""
        return list(self.sender.sent.get(connection_id, []))


def _subscribe_capture_queue() -> str:
    """A queue on the topic with no filter policy and raw delivery: it sees every
    published CloudEvent as is."""
    sqs, sns = client("sqs"), client("sns")
    url = sqs.create_queue(QueueName=CAPTURE_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=settings().topic_arn, Protocol="sqs", Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )  # fmt: skip
    return url


@contextmanager
def kit_factory(monkeypatch: Any) -> Iterator[Any]:
    """Yields ``make(*workflows, start=START) -> WorkflowKit`` (once per test), with the
    runtime's clock, timer sends and websocket sender pointed at the kit; all restored
    after. Needs the runtime's AWS (the ``aws`` fixture) in place."""
    made: list[WorkflowKit] = []

    def make(*workflows: Workflow, start: datetime = START) -> WorkflowKit:
        if made:
            raise RuntimeError("one workflow kit per test: pass every workflow at once")
        if not workflows:
            raise ValueError("give the kit the workflow(s) to run")
        kit = WorkflowKit(runtime.link({wf.name: wf for wf in workflows}), start)
        clock.use(kit.clock)
        monkeypatch.setattr(durable, "send", kit._schedule)
        broadcast.use_sender(kit.sender)
        made.append(kit)
        return kit

    try:
        yield make
    finally:
        clock.use(None)
        broadcast.use_sender(broadcast.Sender())
