"""How registered workflows and services meet AWS: one source for every resource name.

app.py generates its SQS handlers from these, infra/generate.py the template's queues,
dead-letter queues, subscriptions (with their filter policies) and IAM, and the local
stack and the tests find the queues by them. Adding a workflow or a service adds its
queue everywhere at once.

- a workflow ``<name>`` receives the bus events it declares (``Workflow.bus_events``)
  and the messages its instances get from other instances (type ``@<name>``) on
  ``tropical-<name>-events``, drained by the handler ``<name>_events``;
- a service ``<name>`` receives its commands on ``tropical-<name>-commands``, drained by
  ``<name>_commands``;
- durable timers of every workflow share ``tropical-timers`` (``timer_events``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # settings import the names above; keep them free of the engine
    from ..versions import Workflow

# Deployed, every name is ``<stack name>-<suffix>`` (so stages live side by side and the
# functions read the names from their environment); the local stack and the tests stand
# for a stack named PREFIX.
PREFIX = "tropical"
TABLE = f"{PREFIX}-pizzas"
TOPIC = f"{PREFIX}-pizzas-events"
TIMERS_QUEUE = f"{PREFIX}-timers"
EVENT_SOURCE = "tropical-pizzas"
_NAME = re.compile(r"[a-z][a-z0-9]{0,29}")
# ScalingConfig.MaximumConcurrency, "Valid Range: Minimum value of 2. Maximum value of 1000."
# https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html
MIN_CONCURRENCY, MAX_CONCURRENCY = 2, 1000
WORKFLOW_CONCURRENCY, SERVICE_CONCURRENCY = 5, 2  # the defaults a declaration may change


class Service(Protocol):
    """A service on the bus: it takes the command types it lists from its own queue."""

    name: str
    concurrency: int  # the most concurrent invocations its queue's event source starts

    @property
    def commands(self) -> tuple[str, ...]: ...

    def accept(self, body: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Queue:
    """One SQS queue a handler of the app drains.

    ``kind`` is ``events`` (a workflow's bus events), ``commands`` (a service's) or
    ``timers``; ``owner`` the workflow or service it serves. ``logical`` is its
    CloudFormation logical id (its DLQ is ``<logical>DLQ``), ``types`` the message types
    it subscribes to on the topic (empty: not subscribed), ``concurrency`` the most
    concurrent Lambda invocations its event source starts.
    """

    kind: str
    owner: str
    logical: str
    name: str
    handler: str
    types: tuple[str, ...]
    concurrency: int

    @property
    def dlq(self) -> str:
        return f"{self.name}-dlq"

    @property
    def suffix(self) -> str:
        """The name without the stack's prefix (deployed: ``<stack name>-<suffix>``)."""
        return self.name.removeprefix(f"{PREFIX}-")


def _camel(name: str) -> str:
    return name[:1].upper() + name[1:]


def _checked(name: str, what: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{what} name {name!r}: 1-30 lowercase letters or digits, a letter first")
    return name


def _concurrency(declared: int, owner: str) -> int:
    if isinstance(declared, bool) or not isinstance(declared, int):
        raise ValueError(f"{owner}: concurrency must be a whole number, not {declared!r}")
    if not MIN_CONCURRENCY <= declared <= MAX_CONCURRENCY:
        raise ValueError(
            f"{owner}: concurrency {declared} is outside the {MIN_CONCURRENCY}-{MAX_CONCURRENCY}"
            " an SQS event source's MaximumConcurrency takes"
        )
    return declared


def actor_route(workflow: str) -> str:
    """The message type that reaches ``workflow``'s events queue for a message from
    another instance (messaging/actors.py): no event type starts with ``@``."""
    return f"@{workflow}"


def workflow_queue(workflow: Workflow) -> Queue:
    """The queue the workflow's bus events arrive on, and the messages other instances
    send its instances (starts, stops, events: ``actor_route``)."""
    name = _checked(workflow.name, "workflow")
    types = tuple(sorted([*workflow.bus_events, actor_route(name)]))
    return Queue(
        kind="events",
        owner=name,
        logical=f"{_camel(name)}EventsQueue",
        name=f"{PREFIX}-{name}-events",
        handler=f"{name}_events",
        types=types,
        concurrency=_concurrency(workflow.concurrency, f"workflow {name}"),
    )


def service_queue(service: Service) -> Queue:
    """The queue a service's commands arrive on."""
    name = _checked(service.name, "service")
    types = tuple(sorted(service.commands))
    return Queue(
        kind="commands",
        owner=name,
        logical=f"{_camel(name)}Queue",
        name=f"{PREFIX}-{name}-commands",
        handler=f"{name}_commands",
        types=types,
        concurrency=_concurrency(
            getattr(service, "concurrency", SERVICE_CONCURRENCY), f"service {name}"
        ),
    )


TIMERS = Queue("timers", "", "TimersQueue", TIMERS_QUEUE, "timer_events", (), 2)


def queues(
    workflows: Mapping[str, Workflow],
    services: Mapping[str, Service],
    budget: int | None = None,
) -> list[Queue]:
    """Every queue the app drains: each workflow's events, each service's commands, timers.

    Raises ValueError when the wiring would lose messages: a command no service takes,
    a message type two queues would both receive, or two queues with one name; or when
    the queues' concurrency together exceeds ``budget`` (None: no budget).
    """
    made = [
        *(workflow_queue(w) for w in workflows.values()),
        *(service_queue(s) for s in services.values()),
        TIMERS,
    ]
    owners: dict[str, str] = {}
    for queue in made:
        for type_ in queue.types:
            if type_ in owners:
                raise ValueError(f"{type_} would reach both {owners[type_]} and {queue.name}")
            owners[type_] = queue.name
    if len({q.name for q in made}) != len(made):
        raise ValueError(f"two queues share a name: {sorted(q.name for q in made)}")
    for workflow in workflows.values():
        for child in getattr(workflow, "children", ()):
            if child not in workflows:
                raise ValueError(
                    f"{workflow.name} starts {child!r}, which is no registered workflow"
                )
        for command in workflow.commands.values():
            if command.type not in owners:
                raise ValueError(
                    f"{workflow.name} sends {command.type}, which no registered service takes"
                )
    total = sum(q.concurrency for q in made)
    if budget is not None and total > budget:
        raise ValueError(
            f"the SQS event sources would start up to {total} concurrent invocations, over the"
            f" budget of {budget}: lower a workflow's or service's concurrency, or raise"
            " SQS_CONCURRENCY_BUDGET in chalicelib/registry.py"
        )
    return made


def subscribed(made: Iterable[Queue]) -> list[Queue]:
    """The queues that subscribe to the topic (all but the timers queue)."""
    return [q for q in made if q.types]
