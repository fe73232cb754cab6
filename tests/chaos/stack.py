"""The system under test, as Lambda and API Gateway would run it, on the serialised
moto server: HTTP requests through Chalice's local gateway, SQS handlers invoked with
Lambda-shaped batches (partial batch failures honoured, failed messages visible again
at once, redrive to the DLQ after 5 receives), the scheduled sweeper, and the runtime's
boto3 clients hooked by the fault injector.

Concurrency is real: each thread is one concurrent Lambda invocation. Chalice keeps
the current request on the app object, so the app runs as ``LocalChalice`` (a
thread-local current request, what ``chalice local`` does), the way separate Lambda
containers would keep their requests apart.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

import boto3

from local.sqs_lambda import sqs_event
from tests.chaos.faults import Crash, FaultInjector
from tests.chaos.parents import choosing, unchoosing
from tests.conftest import BASE_ENV
from tests.shop import QUEUES, REGION

SECRET = "chaos-secret-long-enough-for-hs256-0000"
STATIONS = {
    "KitchenQueue": "kitchen", "DeliveryQueue": "delivery", "PaymentsQueue": "payments",
    "OvenQueue": "oven",
}  # fmt: skip
ENV = {
    **BASE_ENV,
    "JWT_SECRET": SECRET,
    "OUTBOX_GRACE_SECONDS": "0",  # the sweeper races the requests that own an outbox
    "KITCHEN_OUT_OF_STOCK": "lychee",  # orders with lychee are rejected by the kitchen
    # complaints: the harness's clock decides when timers fire (their delays only set
    # dueAt), so these are short like the order timings; the bank declines nothing:
    # Payments staff settle, decline or hold each attempt (tests/chaos/complaints.py)
    "COMPLAINT_ESCALATE_SECONDS": "2",
    "COMPLAINT_SILENCE_SECONDS": "5",
    "COMPLAINT_REFUND_RETRY_SECONDS": "0.1",
    "COMPLAINT_REFUND_ATTEMPTS": "3",
    "PAYMENTS_FAIL_ATTEMPTS": "0",
    # moto answers a query on a global secondary index by scanning the whole table, so
    # every shard costs a full scan: fewer shards keep runs short, the code paths the same
    "OUTBOX_SHARDS": "4",
    "STATION_SHARDS": "2",
    # the journal and the metrics are JSON lines on stdout: thousands a second here
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
QUIET = ("workflow", "tropical-pizzas", "botocore", "urllib3")


def _partition_queries() -> Any:
    """Make moto answer a Query from the items it can match instead of the whole table.

    moto's ``Table.query`` sorts every item of the table on each call, also for a query on
    one partition, so a long run slows down with every stored event. During a run, a
    query on the table reads only its partition and a query on an index only the items
    that carry the index's hash key attribute; what moto does with them is unchanged.

    The indexes are sparse (``pendingShard``, ``listShard``: only items waiting for the
    sweeper or a station carry them), and every poll of a station or the sweeper is such
    a query: finding their items by looking at every item of the table made each poll
    cost as much as the table was big (a 500-order run's schedule slowed from 3 orders a
    second to 0.5). So each table also keeps the keys of the items that carried an index
    key attribute when they were put or updated (a superset: each query looks every key
    up again, checks the attribute as before and drops the keys that lost it). An item
    gains an attribute only through a put or an update; a rollback restores items as they
    were within the same (serialised) request, whose keys are still kept.
    Safe because the server handles one request at a time. Returns the undo.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original, put_item, update_item = Table.query, Table.put_item, DynamoDBBackend.update_item
    kept: dict[int, tuple[Any, dict[tuple[Any, Any], None]]] = {}  # id(table) -> its keys

    def sparse_names(table: Any) -> set[str]:
        names = {
            k["AttributeName"]
            for index in table.global_indexes
            for k in index.schema
            if k["KeyType"] == "HASH"
        }
        return names - {table.hash_key_attr}

    def note(table: Any, item: Any) -> None:
        carriers = kept.get(id(table), (None, None))[1]
        if (
            carriers is not None
            and item is not None
            and any(item.attrs.get(n) for n in sparse_names(table))
        ):
            carriers[(item.hash_key, item.range_key)] = None

    def stored(table: Any, key: tuple[Any, Any]) -> Any:
        group = table.items.get(key[0])
        if group is None or not table.range_key_attr:
            return group
        return group.get(key[1])

    def carrying(table: Any, names: list[str]) -> list[Any]:
        carriers = kept.get(id(table), (None, None))[1]
        sparse = sparse_names(table)
        if carriers is None:  # first query: every item, once
            carriers = kept.setdefault(id(table), (table, {}))[1]
            for group in table.items.values():
                for item in group.values() if table.range_key_attr else [group]:
                    note(table, item)
        items = []
        for key in list(carriers):
            item = stored(table, key)
            if item is not None and all(item.attrs.get(n) for n in names):
                items.append(item)
            elif item is None or not any(item.attrs.get(n) for n in sparse):
                del carriers[key]
        return items

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name:
            index = next(i for i in self.all_indexes() if i.name == index_name)
            names = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            if set(names) <= sparse_names(self):
                items = carrying(self, names)
            else:
                items = [
                    item
                    for group in self.items.values()
                    for item in (group.values() if self.range_key_attr else [group])
                    if all(item.attrs.get(n) for n in names)
                ]
        elif self.range_key_attr:
            items = list(self.items.get(hash_key, {}).values())
        else:
            items = [self.items[hash_key]] if hash_key in self.items else []
        self.all_items = lambda: sorted(
            items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key
        )
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    def put(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        note(self, item)
        return item

    def update(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = update_item(self, table_name, *args, **kwargs)
        note(self.get_table(table_name), item)
        return item

    Table.query, Table.put_item, DynamoDBBackend.update_item = query, put, update

    def undo() -> None:
        Table.query, Table.put_item, DynamoDBBackend.update_item = original, put_item, update_item

    return undo


def _replace(old: Any, new: Any) -> None:
    """Every module of the app that names ``old`` at its top level names ``new``."""
    for name, module in list(sys.modules.items()):
        if name.startswith("chalicelib.") and module is not None:
            for attribute, value in list(vars(module).items()):
                if value is old:
                    setattr(module, attribute, new)


@dataclass(slots=True)
class Answer:
    status: int
    body: Any


class Stack:
    """The app on a fresh serialised moto server; ``close()`` restores the process."""

    def __init__(self, injector: FaultInjector) -> None:
        from chalice.config import Config
        from chalice.local import LocalChalice, LocalGateway

        from chalicelib.runtime import auth, clients
        from local.moto_server import MotoServer
        from local.provision import provision

        self.injector = injector
        self._environ = dict(os.environ)
        self._undo_queries = _partition_queries()
        self.moto = MotoServer().start()
        self.moto.reset()
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(ENV, AWS_ENDPOINT_URL=self.moto.url)
        session = boto3.session.Session(region_name=REGION)
        self.made = provision(session, self.moto.url)
        os.environ["TOPIC_ARN"] = self.made.refs["EventsTopic"]
        os.environ["TIMERS_QUEUE_URL"] = self.made.queue_urls["TimersQueue"]
        clients.reset()
        self._clients = clients
        for service in ("dynamodb", "sns", "sqs"):
            injector.attach(clients.client(service))

        from chalicelib.runtime import timers

        self._timers, self._max_delay = timers, timers.MAX_SQS_DELAY_SECONDS
        timers.MAX_SQS_DELAY_SECONDS = 0  # the harness holds timers and decides when they fire

        from app import app
        from chalicelib.registry import WORKFLOWS

        self._workflows, self._deployed = WORKFLOWS, WORKFLOWS["order"]
        # each order starts on the version its customer's plan names (tests/chaos/parents.py)
        choosing(WORKFLOWS["order"], start=1)

        self._levels = {name: logging.getLogger(name).level for name in QUIET}
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        self.app, self._app_class = app, app.__class__
        if not isinstance(app, LocalChalice):
            app.__class__ = type("ChaosChalice", (LocalChalice, app.__class__), {})
        config = Config.create(chalice_stage="dev", app_name="tropical-pizzas", project_dir=".")
        self.gateway = LocalGateway(app, config)
        self.sqs = session.client("sqs", endpoint_url=self.moto.url)
        self.ddb = session.client("dynamodb", endpoint_url=self.moto.url)
        self.sns = session.client("sns", endpoint_url=self.moto.url)
        self.staff_token = auth.issue(SECRET, "staff-1", roles=["staff"])
        self.manager_token = auth.issue(SECRET, "manager-1", roles=["manager"])
        self._auth = auth

    def token(self, user: str) -> str:
        return self._auth.issue(SECRET, user, ttl_seconds=6 * 3600)

    def http(
        self, method: str, path: str, token: str, body: Any = None, key: str | None = None
    ) -> Answer:
        """One HTTP request through API Gateway (local). Raises Crash when the
        invocation died: to the client, a dropped connection."""
        from chalice.local import LocalGatewayException

        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        raw = b"" if body is None else json.dumps(body).encode()
        try:
            response = self.gateway.handle_request(method, path, headers, raw)
        except LocalGatewayException as error:
            return Answer(error.CODE, error.body)
        text = response.get("body") or ""
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Answer(response["statusCode"], parsed)

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Invoke a Lambda handler of the app (Crash propagates: the invocation died)."""
        from chalice.local import LambdaContext

        return self.app.handler_map[name](event, LambdaContext(name, memory_size=512))

    def sweep(self) -> int:
        event = {
            "version": "0",
            "id": "chaos",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2000-01-01T00:00:00Z",
            "region": REGION,
            "resources": [],
            "detail": {},
        }
        result = self.invoke("outbox_sweeper", event) or {}
        return int(result.get("swept", 0)) if isinstance(result, dict) else 0

    def receive(self, queue: str, most: int = 10) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.made.queue_urls[queue],
            MaxNumberOfMessages=most,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
        ).get("Messages", [])

    def run_batch(self, queue: str, messages: list[dict[str, Any]]) -> set[str]:
        """Run the queue's handler on one batch; the ids of the messages that failed."""
        event = sqs_event(messages, self.made.arns[queue], REGION)
        try:
            result = self.invoke(QUEUES[queue], event) or {}
        except Crash:
            return {m["MessageId"] for m in messages}
        return {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}

    def settle_batch(
        self, queue: str, messages: list[dict[str, Any]], failed: set[str], backoff: bool = True
    ) -> None:
        """Delete what succeeded; make what failed visible again after a visibility
        timeout growing with its receives (``backoff``; at once without it)."""
        url = self.made.queue_urls[queue]
        again = [m for m in messages if m["MessageId"] in failed]
        done = [m for m in messages if m["MessageId"] not in failed]
        if again:  # back after a visibility timeout growing with its receives, as on AWS
            self.sqs.change_message_visibility_batch(  # (180 s each there; scaled down here)
                QueueUrl=url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": (
                            RETRY_VISIBILITY_SECONDS * _receives(m) if backoff else 0
                        ),
                    }
                    for i, m in enumerate(again)
                ],
            )
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )

    def in_flight(self) -> int:
        """Messages received and not yet deleted, on every queue (a failed one waiting out
        its visibility timeout among them)."""
        total = 0
        for url in self.made.queue_urls.values():
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            total += int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
        return total

    def visible(self, queue: str) -> int:
        """Messages on the queue that a receive would get now."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.made.queue_urls[queue], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def send(self, queue: str, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.made.queue_urls[queue], MessageBody=body)

    def delete(self, queue: str, message: dict[str, Any]) -> None:
        self.sqs.delete_message(
            QueueUrl=self.made.queue_urls[queue], ReceiptHandle=message["ReceiptHandle"]
        )

    def deploy(self, workflow: Any) -> None:
        """Deploy ``workflow`` as the order workflow, the way a stack update would: first
        the order events subscription's filter policy (the bus events the new version
        declares), then the code every new invocation runs: the registry's entry and
        every module's name for the old definition (the order routes, the complaint
        routes reading orders). Invocations already running finish on the definition
        they loaded (old containers draining)."""
        from chalicelib.registry import WORKFLOWS
        from chalicelib.runtime.shared.wiring import workflow_queue

        # what the registry subscribes the queue to: the bus events and the messages
        # other instances send orders (``@order``: a pizza's completion)
        self.sns.set_subscription_attributes(
            SubscriptionArn=self.made.arns["OrderEventsSubscription"],
            AttributeName="FilterPolicy",
            AttributeValue=json.dumps({"type": list(workflow_queue(workflow).types)}),
        )
        choosing(workflow)
        workflow.peers = WORKFLOWS
        _replace(WORKFLOWS["order"], workflow)
        WORKFLOWS["order"] = workflow

    def unhooked_clients(self) -> int:
        """Runtime clients created after the hooks were attached (their calls escaped
        the injector); 0 when the factory is still the one cached function."""
        info = getattr(self._clients.client, "cache_info", None)
        return max(0, info().currsize - 3) if info else 0

    def close(self) -> None:
        _replace(self._workflows["order"], self._deployed)
        self._workflows["order"] = self._deployed
        unchoosing(self._deployed)
        self.app.__class__ = self._app_class
        self._timers.MAX_SQS_DELAY_SECONDS = self._max_delay
        self.moto.stop()
        self._undo_queries()
        os.environ.clear()
        os.environ.update(self._environ)
        self._clients.reset()
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)


# how long a failed message stays invisible per receive so far: AWS's visibility timeout
# is 180 s (5 receives, then the DLQ: about 15 minutes); the schedule runs faster, so a
# message a handler could not take yet (a message to a child whose start is still queued)
# gets 4, 8, 12, 16 s here, not an immediate retry that spends its 5 receives at once
RETRY_VISIBILITY_SECONDS = 4


def _receives(message: dict[str, Any]) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
