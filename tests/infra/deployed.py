"""The app's handlers configured exactly as a stack in the embedded AWS configured them.

Everything is read back from what the stack created: each function's handler and
environment (Lambda GetFunctionConfiguration), which queue feeds which function and how
(the event source mappings), the queues' dead-letter queues (their RedrivePolicy) and the
topic's subscriptions with their filter policies (SNS).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.runtime import auth, clients
from local.cloudformation import Deployed, deploy
from local.sqs_lambda import deliver_once
from tests.shop import REGION, FakeSender, Shop


@dataclass(slots=True)
class Function:
    name: str
    handler: str  # the app's function, as the Lambda's Handler names it: app.<handler>
    environment: dict[str, str]


@dataclass(slots=True)
class Source:
    """One event source mapping: the queue, the function it invokes, and how."""

    queue_url: str
    queue_arn: str
    function: Function
    batch_size: int
    response_types: list[str]
    dead_letter: dict[str, Any]  # the queue's RedrivePolicy


@dataclass(slots=True)
class Wiring:
    functions: dict[str, Function] = field(default_factory=dict)  # by handler
    sources: dict[str, Source] = field(default_factory=dict)  # by handler
    subscriptions: list[dict[str, Any]] = field(default_factory=list)


def read_wiring(session: Any, stack: str) -> Wiring:
    """How the stack ``stack`` wired the app, as the services describe it."""
    lam, sqs, sns = (session.client(s) for s in ("lambda", "sqs", "sns"))
    names = [
        r["PhysicalResourceId"]
        for r in session.client("cloudformation").list_stack_resources(StackName=stack)[
            "StackResourceSummaries"
        ]
        if r["ResourceType"] == "AWS::Lambda::Function"
    ]
    wiring = Wiring()
    by_arn = {}
    for name in names:
        config = lam.get_function_configuration(FunctionName=name)
        function = Function(
            name,
            config["Handler"].removeprefix("app."),
            config.get("Environment", {}).get("Variables", {}),
        )
        wiring.functions[function.handler] = function
        by_arn[config["FunctionArn"]] = function
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        function = by_arn[mapping["FunctionArn"]]
        url = sqs.get_queue_url(QueueName=mapping["EventSourceArn"].rsplit(":", 1)[1])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        wiring.sources[function.handler] = Source(
            url,
            mapping["EventSourceArn"],
            function,
            mapping["BatchSize"],
            mapping.get("FunctionResponseTypes", []),
            json.loads(attributes.get("RedrivePolicy", "{}")),
        )
    for subscription in sns.list_subscriptions()["Subscriptions"]:
        arn = subscription["SubscriptionArn"]
        attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        wiring.subscriptions.append({**subscription, **attributes})
    return wiring


@contextmanager
def configured_as(function: Function):
    """The process environment of ``function`` (as Lambda would start it) for the block."""
    keys = {k for k in os.environ if k not in _PROCESS}
    saved = {k: os.environ.pop(k) for k in keys}
    os.environ.update(function.environment)
    clients.reset()
    try:
        yield
    finally:
        for key in function.environment:
            os.environ.pop(key, None)
        os.environ.update(saved)
        clients.reset()


# what Lambda itself sets (credentials, region): kept while a function's environment is on
_PROCESS = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
    "AWS_DEFAULT_REGION", "PATH", "HOME", "PYTHONPATH", "TMPDIR", "LANG", "TZ",
}  # fmt: skip


class DeployedShop(Shop):
    """tests.shop.Shop whose HTTP calls, authorizer and queue deliveries each run with the
    environment of the stack's function that serves them; queues are named by handler."""

    def __init__(self, client: Any, wiring: Wiring, sender: FakeSender, secret: str) -> None:
        super().__init__(client, None, sender)
        self.wiring = wiring
        self.customer = auth.issue(secret, "alice")
        self.other = auth.issue(secret, "bob")
        self.staff = auth.issue(secret, "sam", roles=["staff"])
        self.manager = auth.issue(secret, "maya", roles=["manager"])

    def call(self, *args: Any, **kwargs: Any) -> Any:
        with configured_as(self.wiring.functions["app"]):
            return super().call(*args, **kwargs)

    def deliver_batch(self, handler: str) -> tuple[int, int]:
        source = self.wiring.sources[handler]

        def invoke(event: dict[str, Any]) -> Any:
            with configured_as(source.function):
                return self.client.lambda_.invoke(handler, event).payload

        return deliver_once(
            self.sqs, source.queue_url, source.queue_arn, invoke, REGION, source.batch_size
        )


@contextmanager
def authorizer_configured_as(authorizer: Any, function: Function):
    """Run the app's Lambda authorizer with its own function's environment."""
    original = authorizer.func

    def configured(request: Any) -> Any:
        with configured_as(function):
            return original(request)

    authorizer.func = configured
    try:
        yield
    finally:
        authorizer.func = original


# what the test process may hold that a deployed function would not have
ENVIRONMENT_CLEARED = (
    "AWS_ENDPOINT_URL", "AWS_PROFILE", "TABLE_NAME", "TOPIC_ARN", "JWT_SECRET", "JWT_SECRET_ARN",
    "WEBSOCKET_ENDPOINT", "TIMERS_QUEUE_URL", "AUTH_MODE", "OIDC_ISSUER", "OIDC_AUDIENCE",
    "ROLES_CLAIM", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE",
)  # fmt: skip


@contextmanager
def embedded_stack(
    expanded: dict[str, Any], package: Path, name: str, parameters: dict[str, str]
) -> Iterator[tuple[Deployed, Any]]:
    """``expanded`` as stack ``name`` in in-process moto, its code uploaded where the
    template says: (what was made, the boto3 session), with the test process's own
    configuration taken out of the environment for the block."""
    from moto import mock_aws

    from local.moto_server import light_transaction_backups

    light_transaction_backups()  # as the local stack: a commit does not copy whole tables
    with pytest.MonkeyPatch.context() as patch:
        for key in ENVIRONMENT_CLEARED:
            patch.delenv(key, raising=False)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(key, "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        clients.reset()
        with mock_aws(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # moto warns of each type it cannot create
            logging.getLogger("moto").setLevel(logging.ERROR)
            session = boto3.DEFAULT_SESSION = clients.session(REGION)
            code = next(
                r["Properties"]["Code"]
                for r in expanded["Resources"].values()
                if r["Type"] == "AWS::Lambda::Function"
            )
            s3 = session.client("s3")
            s3.create_bucket(Bucket=code["S3Bucket"])
            zipped = (package / "deployment.zip").read_bytes()
            s3.put_object(Bucket=code["S3Bucket"], Key=code["S3Key"], Body=zipped)
            yield deploy(expanded, session, name, parameters), session
        clients.reset()
