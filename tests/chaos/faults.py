"""Faults at every adapter call, injected through botocore's event hooks.

The runtime creates its boto3 clients in one factory (``chalicelib.runtime.shared.clients``);
the injector registers on each client's ``meta.events``:

- ``before-parameter-build``: fail before applying (a ClientError or a lost
  connection), throttle, or crash the invocation before the call;
- ``after-call``: for a call that succeeded, apply-then-fail (the write happened,
  the caller sees a read timeout: an *ambiguous* outcome), or crash after it.

A crash is ``Crash``, a BaseException no handler catches, so the whole Lambda
invocation dies between two calls: an HTTP client sees a dropped connection, an SQS
batch comes back. Faults are drawn only inside a ``Scope`` that allows them (the
harness opens one around every handler invocation) from that scope's own seeded RNG.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

WRITES = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
    "Publish",
    "PublishBatch",
    "SendMessage",
    "SendMessageBatch",
    "DeleteMessage",
}
COMMANDS = {
    "MAKE_PIZZA", "DELIVER_PIZZA", "CANCEL_PIZZA", "CANCEL_DELIVERY", "REFUND", "CANCEL_REFUNDS",
    "BAKE_PIZZA", "CANCEL_BAKES",
}  # fmt: skip


_SERIALS = itertools.count(1)


class Crash(BaseException):
    """The Lambda invocation dies here (no ``except Exception`` catches it)."""


@dataclass(slots=True)
class Rates:
    """Probability of each fault kind per adapter call (apply-then-fail: per write)."""

    fail_before: float = 0.05
    throttle: float = 0.035
    apply_then_fail: float = 0.04
    crash_before: float = 0.015
    crash_after: float = 0.015
    outage: float = 0.03  # a command's first 3 publishes fail (SNS down for it)
    # a REFUND's first 3 publishes reach SNS, then answer with an error: given up while
    # Payments holds it (issue 19: held attempts, late settles, givingUp)
    ambiguous_refund: float = 0.5

    @classmethod
    def off(cls) -> Rates:
        return cls(0, 0, 0, 0, 0, 0, 0)


@dataclass(slots=True)
class Fault:
    """One injected fault: kind, the call, the order it touched, the scope it hit."""

    kind: str
    service: str
    operation: str
    order: str | None
    scope: str
    at: float


@dataclass(slots=True)
class Scope:
    """One handler invocation as seen by the injector."""

    name: str
    rng: random.Random
    allow: bool = True
    faults: list[Fault] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    serial: int = field(default_factory=lambda: next(_SERIALS))


def _order_of(service: str, params: dict[str, Any]) -> str | None:
    """The order id an adapter call touches, when its parameters say."""
    try:
        if service == "sns":
            return json.loads(params.get("Message", "{}")).get("subject")
        if service == "sqs" and "MessageBody" in params:
            return json.loads(params["MessageBody"]).get("instance")
        if service == "dynamodb":
            items = params.get("TransactItems") or [params]
            for entry in items:
                op = next(iter(entry.values())) if "TransactItems" in params else entry
                key = op.get("Key") or op.get("Item") or {}
                pk, sk = key.get("pk", {}).get("S", ""), key.get("sk", {}).get("S", "")
                if pk.startswith(("order#", "complaint#", "pizza#")):
                    return pk.partition("#")[2]
                if pk.startswith("station#") and sk and not pk.endswith("#seen"):
                    return sk
    except (ValueError, AttributeError, StopIteration, TypeError):
        return None
    return None


@dataclass(slots=True)
class Published:
    """A message SNS accepted (the publish log)."""

    at: float
    id: str
    type: str
    subject: str | None
    scope: str
    scope_started: float  # when the invocation that published it began
    invocation: int  # which invocation published it (unique per scope)
    data: Any = None  # the message's data


class FaultInjector:
    """Decides and records faults; also logs every message SNS accepted."""

    def __init__(self, seed: int, rates: Rates) -> None:
        self.seed = seed
        self.rates = rates
        self.enabled = True
        self.faults: list[Fault] = []
        self.published: list[Published] = []
        self.calls = Counter[str]()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._outage: Counter[str] = Counter()
        self.ambiguous_refunds = 0  # REFUND publishes applied, then answered with an error
        self.ambiguous_refund_ids: set[str] = set()  # the REFUND commands they published

    # scopes -------------------------------------------------------------
    def scope(self, name: str, rng: random.Random, allow: bool = True) -> _ScopeContext:
        return _ScopeContext(self, Scope(name, rng, allow))

    @property
    def current(self) -> Scope | None:
        return getattr(self._local, "scope", None)

    # hooks --------------------------------------------------------------
    def attach(self, client: Any) -> None:
        """Register the hooks on one boto3 client (once)."""
        if getattr(client.meta, "chaos_attached", False):
            return
        client.meta.events.register("before-parameter-build", self._before)
        client.meta.events.register("after-call", self._after)
        client.meta.chaos_attached = True

    def _record(self, scope: Scope, kind: str, service: str, op: str, order: str | None) -> None:
        fault = Fault(kind, service, op, order, scope.name, time.time())
        scope.faults.append(fault)
        with self._lock:
            self.faults.append(fault)

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        service = model.service_model.service_id.hyphenize()
        op = model.name
        order = _order_of(service, params)
        context["chaos"] = (service, op, order, params)
        with self._lock:
            self.calls[service] += 1
        scope = self.current
        if scope is None or not scope.allow or not self.enabled:
            return
        if op == "Publish" and self._outage_hits(params):
            self._record(scope, "outage", service, op, order)
            raise _client_error("InternalError", op)
        r, rates = scope.rng.random(), self.rates
        edge = rates.fail_before
        if r < edge:
            self._record(scope, "fail_before", service, op, order)
            if scope.rng.random() < 0.3:
                raise EndpointConnectionError(endpoint_url=f"https://{service}.invalid")
            raise _client_error(scope.rng.choice(["InternalServerError", "ServiceUnavailable"]), op)
        edge += rates.throttle
        if r < edge:
            self._record(scope, "throttle", service, op, order)
            code = (
                "ProvisionedThroughputExceededException" if service == "dynamodb" else "Throttling"
            )
            raise _client_error(code, op)
        edge += rates.crash_before
        if r < edge:
            self._record(scope, "crash", service, op, order)
            raise Crash(f"crash before {service}.{op}")

    def _outage_hits(self, params: dict[str, Any]) -> bool:
        try:
            message = json.loads(params.get("Message", "{}"))
        except ValueError:
            return False
        if message.get("type") not in COMMANDS:
            return False
        message_id = str(message.get("id"))
        if random.Random(f"{self.seed}:outage:{message_id}").random() >= self.rates.outage:
            return False
        with self._lock:
            self._outage[message_id] += 1
            return self._outage[message_id] <= 3

    def _ambiguous_refund(self, params: dict[str, Any]) -> bool:
        """A REFUND picked (seeded by its id) has its first 3 publishes applied-then-failed."""
        try:
            message = json.loads(params.get("Message", "{}"))
        except ValueError:
            return False
        if message.get("type") != "REFUND":
            return False
        message_id = str(message.get("id"))
        rng = random.Random(f"{self.seed}:ambiguous:{message_id}")
        if rng.random() >= self.rates.ambiguous_refund:
            return False
        with self._lock:
            self._outage[f"ambiguous:{message_id}"] += 1
            if self._outage[f"ambiguous:{message_id}"] > 3:
                return False
            self.ambiguous_refunds += 1
            self.ambiguous_refund_ids.add(message_id)
            return True

    def _after(self, http_response: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
        service, op, order, params = context.get("chaos", ("?", "?", None, {}))
        if http_response is None or http_response.status_code >= 300:
            return
        if op == "Publish":
            self._log_publish(params)
            # part of the plan, not a random fault: also while the run quiesces (refunds
            # come late, after delivery), and it ends after three publishes of a REFUND
            if self._ambiguous_refund(params):
                raise ReadTimeoutError(endpoint_url=f"https://{service}.invalid")
        scope = self.current
        if scope is None or not scope.allow or not self.enabled:
            return
        r = scope.rng.random()
        if op in WRITES and r < self.rates.apply_then_fail:
            self._record(scope, "apply_then_fail", service, op, order)
            raise ReadTimeoutError(endpoint_url=f"https://{service}.invalid")
        if r > 1 - self.rates.crash_after:
            self._record(scope, "crash", service, op, order)
            raise Crash(f"crash after {service}.{op}")

    def _log_publish(self, params: dict[str, Any]) -> None:
        try:
            message = json.loads(params.get("Message", "{}"))
        except ValueError:
            return
        scope = self.current
        entry = Published(
            time.time(),
            str(message.get("id")),
            str(message.get("type")),
            message.get("subject"),
            scope.name if scope else "-",
            scope.started if scope else 0.0,
            scope.serial if scope else 0,
            message.get("data"),
        )
        with self._lock:
            self.published.append(entry)


class _ScopeContext:
    def __init__(self, injector: FaultInjector, scope: Scope) -> None:
        self.injector = injector
        self.scope = scope

    def __enter__(self) -> Scope:
        self.previous = self.injector.current
        self.injector._local.scope = self.scope
        return self.scope

    def __exit__(self, *exc: Any) -> None:
        self.injector._local.scope = self.previous


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)
