"""System benchmarks: AWS calls per event, throughput against raw storage, scaling with
stored orders, contention on one order, cold start and package size.

Everything runs against the local stack's serialised moto server (one request at
a time, like the stack), through the real Chalice handlers.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.meter import READS, WRITES

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
SECRET = "bench-secret"
PIZZA = {"name": "Hawaii", "size": "large", "toppings": ["pineapple", "mango"]}
TIMER_HORIZON = timedelta(hours=6)  # longer than any timer the order chart starts
LATE_TIMERS = "timer handler, after the order is done (timeouts of states it left)"


@contextmanager
def local_aws() -> Iterator[Any]:
    """A serialised moto server with the infra resources, and the env pointing at it."""
    import boto3

    from chalicelib.runtime import clients
    from local.moto_server import MotoServer
    from local.provision import provision

    server = MotoServer().start()
    server.reset()
    env = {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": server.url,
        "JWT_SECRET": SECRET, "WEBSOCKET_ENDPOINT": "http://127.0.0.1:9",
    }  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        made = provision(boto3.session.Session(region_name=REGION), server.url)
        os.environ["TOPIC_ARN"] = made.refs["EventsTopic"]
        os.environ["TABLE_NAME"] = made.refs["OrdersTable"]
        clients.reset()
        yield made
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clients.reset()
        server.stop()


class Driver:
    """Drives orders through the real handlers: HTTP via chalice's test client, SQS
    batches Lambda-style, staff routes for the stations."""

    def __init__(self, made: Any) -> None:
        import boto3
        from chalice.test import Client

        import app
        from chalicelib.runtime import auth

        self.app = app.app
        self.client = Client(self.app, stage_name="dev")
        self.made = made
        self.sqs = boto3.client(
            "sqs", region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"]
        )
        self.customer = {"Authorization": f"Bearer {auth.issue(SECRET, 'bench-customer')}",
                         "Content-Type": "application/json"}  # fmt: skip
        self.staff = {"Authorization": f"Bearer {auth.issue(SECRET, 'bench-staff', ['staff'])}"}
        self.handler_seconds = 0.0  # time inside the app's handlers (not SQS polling)
        self.api_requests = 0
        self.batches: collections.Counter[str] = collections.Counter()  # invocations
        self.messages: collections.Counter[str] = collections.Counter()  # delivered

    def http(self, method: str, path: str, body: Any = None, staff: bool = False) -> Any:
        headers = self.staff if staff else self.customer
        data = b"" if body is None else json.dumps(body).encode()
        begin = time.perf_counter()
        self.api_requests += 1
        response = self.client.http.request(method, path, headers=headers, body=data)
        self.handler_seconds += time.perf_counter() - begin
        assert response.status_code < 300, (path, response.status_code, response.body)
        return response.json_body

    def view(self, order_id: str) -> Any:
        """The order view, read outside what the benchmarks count as API requests."""
        response = self.client.http.request("GET", f"/orders/{order_id}", headers=self.customer)
        assert response.status_code == 200, response.body
        return response.json_body

    def deliver(self, queue: str, handler: str) -> int:
        from local.sqs_lambda import deliver_once

        total = 0
        while True:
            handled, failed = deliver_once(
                self.sqs, self.made.queue_urls[queue], self.made.arns[queue],
                lambda event: self._invoke(handler, event), REGION,
            )  # fmt: skip
            assert failed == 0
            total += handled
            if not handled:
                return total
            self.batches[handler] += 1
            self.messages[queue] += handled

    def queue_empty(self, queue: str) -> bool:
        """Nothing left on the queue: visible, in flight or delayed."""
        counts = self.sqs.get_queue_attributes(
            QueueUrl=self.made.queue_urls[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]  # fmt: skip
        return not any(int(n) for n in counts.values())

    def fire_late_timers(self, step: timedelta = timedelta(minutes=1)) -> None:
        """Let the clock run on (time-machine, for the app and the embedded AWS alike)
        until every timer still queued has fired: the timeouts of states the order has
        left, each delivered to the timer handler as the event source would."""
        import time_machine

        with time_machine.travel(datetime.now(UTC), tick=True) as clock:
            for _ in range(int(TIMER_HORIZON / step)):
                self.deliver("TimersQueue", "timer_events")
                if self.queue_empty("TimersQueue"):
                    return
                clock.shift(step)
        raise AssertionError(f"timers still queued {TIMER_HORIZON} after the order")

    def _invoke(self, handler: str, event: dict[str, Any]) -> Any:
        begin = time.perf_counter()
        payload = self.client.lambda_.invoke(handler, event).payload
        self.handler_seconds += time.perf_counter() - begin
        return payload

    def order(self, steps: Callable[[str], None] | None = None, late_timers: bool = False) -> str:
        """One whole order from POST to done; ``steps(label)`` is called before each step.
        With ``late_timers``, then every timer it left running, fired when due."""
        mark = steps or (lambda label: None)
        mark("POST /orders (create + ADD_PIZZA)")
        order_id = self.http("POST", "/orders", {"pizza": PIZZA})["orderId"]
        mark("POST /orders/{id}/pizzas (ADD_PIZZA)")
        self.http("POST", f"/orders/{order_id}/pizzas", {"pizza": PIZZA})
        mark("POST /orders/{id}/confirm (CONFIRM_PIZZA + kitchen send completion)")
        self.http("POST", f"/orders/{order_id}/confirm")
        mark("kitchen handler (MAKE_PIZZA)")
        self.deliver("KitchenQueue", "kitchen_commands")
        mark("POST /kitchen/orders/{id}/ready (staff)")
        self.http("POST", f"/kitchen/orders/{order_id}/ready", staff=True)
        mark("order events handler (PIZZA_READY + delivery send completion)")
        self.deliver("OrderEventsQueue", "order_events")
        mark("delivery handler (DELIVER_PIZZA)")
        self.deliver("DeliveryQueue", "delivery_commands")
        mark("POST /delivery/orders/{id}/delivered (staff)")
        self.http("POST", f"/delivery/orders/{order_id}/delivered", staff=True)
        mark("order events handler (PIZZA_DELIVERED)")
        self.deliver("OrderEventsQueue", "order_events")
        if late_timers:
            mark(LATE_TIMERS)
            self.fire_late_timers()
        mark("end")
        return order_id


class CallCounter:
    """Counts every AWS API call the app makes (botocore's before-call event)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def attach(self) -> None:
        from chalicelib.runtime import clients

        for service in ("dynamodb", "sns", "sqs"):
            clients.client(service).meta.events.register("before-call", self._count)

    def _count(self, model: Any, **kwargs: Any) -> None:
        self.calls.append((model.service_model.service_name, model.name))


def _kinds(calls: list[tuple[str, str]]) -> collections.Counter[str]:
    return collections.Counter(
        "read" if op in READS else "write" if op in WRITES else f"{svc}:{op}" for svc, op in calls
    )


def _stored_bytes(table: str, pk: str) -> int:
    """What the order keeps stored under its key: items + DynamoDB's per-item overhead."""
    import boto3

    from bench.cost import STORAGE_OVERHEAD, item_size

    ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    pages = ddb.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}}, ConsistentRead=True,
    )  # fmt: skip
    return sum(item_size(i) + STORAGE_OVERHEAD for page in pages for i in page["Items"])


def calls_per_event() -> dict[str, Any]:
    """AWS calls per step of one order (the app's calls only, not the SQS poller's), the
    capacity units DynamoDB bills for them (``bench.meter``), and what the order uses in
    all: requests, invocations, messages (``usage``, priced by ``bench.cost``)."""
    from bench.cost import storage_units
    from bench.meter import StorageMeter
    from chalicelib.runtime import clients

    with local_aws() as made:
        driver = Driver(made)
        driver.order(late_timers=True)  # warm up clients and caches; empty the timers queue
        driver.api_requests = 0
        driver.batches.clear()
        driver.messages.clear()
        counter = CallCounter()
        counter.attach()
        meter = StorageMeter(os.environ["AWS_ENDPOINT_URL"], REGION)
        meter.attach(clients.client("dynamodb"))
        steps: list[tuple[str, int, int, dict]] = []

        def mark(label: str) -> None:
            steps.append((label, len(counter.calls), len(meter.records), dict(driver.messages)))

        order_id = driver.order(mark, late_timers=True)
        rows = []
        for (label, start, first, _), (_, end, last, _) in itertools.pairwise(steps):
            units = storage_units(meter.records[first:last])
            rows.append({"step": label, **_kinds(counter.calls[start:end]), **units})
        total = _kinds(counter.calls)
        units = storage_units(meter.records)
        [late_start] = [delivered for label, *_, delivered in steps if label == LATE_TIMERS]
        late = steps[-1][3].get("TimersQueue", 0) - late_start.get("TimersQueue", 0)
        usage = {
            "api_requests": driver.api_requests,
            # every route has the token authorizer, whose results are not cached
            "lambda_invocations": 2 * driver.api_requests + sum(driver.batches.values()),
            "sqs_batches": sum(driver.batches.values()),
            "sqs_messages": sum(driver.messages.values()),
            "sns_publishes": total.get("sns:Publish", 0),
            "timer_messages": driver.messages["TimersQueue"],
            "late_timer_messages": late,
            "wru": units["wru"],
            "rru": units["rru"],
            "stored_bytes": _stored_bytes(os.environ["TABLE_NAME"], f"order#{order_id}"),
        }
        # after everything is counted: the order's version, one per committed transition
        # (counting TransactWriteItems would count the stations' transactions too)
        transitions = driver.view(order_id)["version"]
        return {"steps": rows, "total": dict(total), "transitions": transitions, "usage": usage}


def throughput(orders: int = 200) -> dict[str, float]:
    """N whole orders through the handlers against the raw storage calls they need."""
    import boto3

    with local_aws() as made:
        driver = Driver(made)
        driver.order()
        counter = CallCounter()
        counter.attach()
        driver.handler_seconds = 0.0
        started = time.perf_counter()
        for _ in range(orders):
            driver.order()
        ours = time.perf_counter() - started
        handlers = driver.handler_seconds
        reads = sum(1 for _, op in counter.calls if op in READS)
        writes = sum(1 for _, op in counter.calls if op in WRITES)
        transactions = sum(1 for _, op in counter.calls if op == "TransactWriteItems")
        ddb = boto3.client(
            "dynamodb", region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"]
        )
        table = os.environ["TABLE_NAME"]
        started = time.perf_counter()
        # the same operations: strongly consistent reads, version-checked transactions
        # of an update and a put (a commit), and plain writes
        for i in range(max(reads, writes)):
            key = {"pk": {"S": f"raw#{i % 50}"}, "sk": {"S": "instance"}}
            if i < reads:
                ddb.get_item(TableName=table, Key=key, ConsistentRead=True)
            if i < transactions:
                ddb.transact_write_items(TransactItems=[
                    {"Update": {"TableName": table, "Key": key, "UpdateExpression": "SET #v = :v",
                                "ConditionExpression": "attribute_not_exists(#v) OR #v < :v",
                                "ExpressionAttributeNames": {"#v": "version"},
                                "ExpressionAttributeValues": {":v": {"N": str(i)}}}},
                    {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(sk)",
                             "Item": {"pk": key["pk"], "sk": {"S": f"history#{i:010d}"}}}},
                ])  # fmt: skip
            elif i < writes:
                ddb.put_item(TableName=table, Item={**key, "sk": {"S": f"other#{i}"}})
        raw = time.perf_counter() - started
        return {
            "orders": orders,
            "seconds": ours,
            "orders_per_second": orders / ours,
            "ddb_reads": reads,
            "ddb_writes": writes,
            "ddb_transactions": transactions,
            "raw_seconds": raw,
            "ratio": raw / ours,
            "handler_seconds": handlers,
            "handler_ratio": raw / handlers,
        }


def scaling(
    sizes: tuple[int, ...] = (100, 10_000), events: int = 40
) -> dict[int, dict[str, float]]:
    """Median ms per ADD_PIZZA with ``size`` orders stored, beside a raw TransactWriteItems
    of the same shape at the same size (moto copies the whole table per transaction)."""
    import boto3

    from chalicelib import runtime
    from chalicelib.orders.service import ORDERS

    result = {}
    for size in sizes:
        with local_aws():
            table = os.environ["TABLE_NAME"]
            ddb = boto3.client(
                "dynamodb", region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"]
            )
            add = {"type": "ADD_PIZZA", "pizza": PIZZA, "time": "t"}
            runtime.start(
                ORDERS, "seed", "bench", {"orderId": "seed", "customerId": "bench"},
                runtime.Incoming(add, "s", runtime.CLIENT),
            )  # fmt: skip
            key = {"pk": {"S": "order#seed"}, "sk": {"S": "instance"}}
            item = ddb.get_item(TableName=table, Key=key)["Item"]
            for start in range(0, size, 25):
                requests = [
                    {"PutRequest": {"Item": {**item, "pk": {"S": f"order#filler-{n}"}}}}
                    for n in range(start, min(size, start + 25))
                ]
                ddb.batch_write_item(RequestItems={table: requests})
            ours, raw = [], []
            for n in range(events):
                order_id = f"filler-{n * (size // events)}"
                begin = time.perf_counter()
                runtime.send(ORDERS, order_id, runtime.Incoming(add, f"e-{n}", runtime.CLIENT))
                ours.append((time.perf_counter() - begin) * 1000)
                begin = time.perf_counter()
                ddb.get_item(TableName=table, Key=key, ConsistentRead=True)
                ddb.transact_write_items(TransactItems=[
                    {"Update": {"TableName": table, "Key": key, "UpdateExpression": "SET #u = :u",
                                "ExpressionAttributeNames": {"#u": "raw"},
                                "ExpressionAttributeValues": {":u": {"N": str(n)}}}},
                    {"Put": {"TableName": table,
                             "Item": {"pk": {"S": "raw"}, "sk": {"S": f"h{n}"}}}},
                ])  # fmt: skip
                raw.append((time.perf_counter() - begin) * 1000)
            result[size] = {
                "ours_ms": statistics.median(ours),
                "raw_ms": statistics.median(raw),
                "overhead_ms": statistics.median(ours) - statistics.median(raw),
            }
    return result


def contention(levels: tuple[int, ...] = (1, 4, 16), total: int = 48) -> list[dict[str, Any]]:
    """K writers share ``total`` ADD_PIZZA events on one order (an order holds 50 pizzas):
    events per second, lost races that were retried, updates lost."""
    return [_contend(k, total // k) for k in levels]


def _contend(k: int, events_each: int) -> dict[str, Any]:
    from chalicelib import runtime
    from chalicelib.orders.service import ORDERS
    from chalicelib.runtime import Conflict, store

    with local_aws():
        add = {"type": "ADD_PIZZA", "pizza": PIZZA, "time": "t"}
        runtime.start(
            ORDERS, "hot", "bench", {"orderId": "hot", "customerId": "bench"},
            runtime.Incoming(add, "s", runtime.CLIENT),
        )  # fmt: skip
        races = [0]
        real_commit = store.commit
        lock = threading.Lock()

        def commit(*args: Any, **kwargs: Any) -> int:
            try:
                return real_commit(*args, **kwargs)
            except store.ConflictError:
                with lock:
                    races[0] += 1
                raise

        barrier = threading.Barrier(k)

        def writer(w: int) -> None:
            barrier.wait()
            for e in range(events_each):
                while True:
                    try:
                        incoming = runtime.Incoming(add, f"w{w}-{e}", runtime.CLIENT)
                        runtime.send(ORDERS, "hot", incoming)
                        break
                    except Conflict:
                        continue

        store.commit = commit
        try:
            threads = [threading.Thread(target=writer, args=(w,)) for w in range(k)]
            begin = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - begin
        finally:
            store.commit = real_commit
        instance = store.load(ORDERS.key("hot"))
        total = k * events_each
        return {
            "writers": k, "events": total, "events_per_second": total / seconds,
            "lost_races_retried": races[0],
            "lost_updates": total + 1 - len(instance.snapshot["context"]["items"]),
        }  # fmt: skip


def cold_start(runs: int = 25) -> dict[str, float]:
    """Median ms of a fresh interpreter importing the app against boto3 + chalice."""
    import compileall

    compileall.compile_dir(ROOT / "chalicelib", quiet=1)
    compileall.compile_file(ROOT / "app.py", quiet=1)
    commands = {"boto3 + chalice": "import boto3, chalice", "app": "import app", "bare": "pass"}
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, code in commands.items():
            begin = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            samples[name].append((time.perf_counter() - begin) * 1000)
    return {k: statistics.median(v) for k, v in samples.items()}


def package_size(runs: int = 15) -> dict[str, float]:
    """The deployment package `make package` builds: size, and the cold import of the app
    from it as Lambda does (only the package on the path, nothing written), without and
    with the precompiled bytecode `make package` adds."""
    from infra.precompile import precompile

    with tempfile.TemporaryDirectory() as out:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_DEFAULT_REGION"] = REGION
        chalice = Path(sys.executable).with_name("chalice")
        subprocess.run(
            [str(chalice), "package", "--stage", "dev",
             "--merge-template", "infra/resources.json", out],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        archive = Path(out) / "deployment.zip"
        plain = Path(out) / "plain"
        with zipfile.ZipFile(archive) as z:
            z.extractall(plain)
        result = {"zip_mb": archive.stat().st_size / 1e6}
        precompile(archive)
        compiled = Path(out) / "compiled"
        with zipfile.ZipFile(archive) as z:
            z.extractall(compiled)
            result["unpacked_mb"] = sum(i.file_size for i in z.infolist()) / 1e6
        result["precompiled_zip_mb"] = archive.stat().st_size / 1e6
        lambda_env = {"PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")}
        for name, folder in (("import_ms_source", plain), ("import_ms_bytecode", compiled)):
            samples = []
            for _ in range(runs):
                begin = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-S", "-c", "import app"],
                    cwd=folder,
                    env=lambda_env,
                    check=True,
                )
                samples.append((time.perf_counter() - begin) * 1000)
            result[name] = statistics.median(samples)
        return result
