"""The expanded template as a stack in the embedded AWS, and whole workflows through the
real handlers configured as that stack configured them (tests/infra/deployed.py)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib.orders.menu import order_total_cents
from chalicelib.runtime import broadcast
from local.cloudformation import OUTSIDE, UNSUPPORTED
from tests.infra.deployed import (
    DeployedShop,
    authorizer_configured_as,
    embedded_stack,
    read_wiring,
)
from tests.shop import PIZZA, FakeSender

STACK = "pizzas-deployed"
# hs256 is a development stage's sign-in (a template rule refuses it on production)
PARAMETERS = {"AuthMode": "hs256", "Environment": "development", "RolesClaim": "roles"}
# what the stack makes that moto's CloudFormation could not, created through each service's
# API instead (local/cloudformation.py), with AuthMode=hs256 and no AlarmEmail: the Cognito
# pool and the alarm e-mail subscription are not made by such a stack
MADE_BY_API = {
    # 9 dead-letter queues, outbox age, sweeper idle, API 5xx, table, 14 functions' throttles
    "AWS::CloudWatch::Alarm": 27,
    "AWS::SNS::Subscription": 7,
    "AWS::ApiGatewayV2::Integration": 3,
    "AWS::ApiGatewayV2::Route": 3,
    "AWS::Lambda::Permission": 2,  # the REST API's: they follow it out of the stack
    "AWS::SecretsManager::Secret": 1,
    "AWS::ApiGatewayV2::Api": 1,
    "AWS::SQS::QueuePolicy": 1,
    "AWS::ApiGateway::RestApi": 1,
    "AWS::ApiGateway::Deployment": 1,
    "AWS::ApiGateway::Stage": 1,
    "AWS::ApiGatewayV2::Deployment": 1,  # resolved only: moto has no CreateDeployment
    "AWS::ApiGatewayV2::Stage": 1,
    "AWS::XRay::ResourcePolicy": 1,  # resolved only: moto's X-Ray has no resource policies
}


@pytest.fixture(scope="module")
def stack(expanded, packaged):
    """The stack in moto (in-process), its wiring read back, and the app's test client."""
    from chalice.test import Client

    with embedded_stack(expanded, packaged, STACK, PARAMETERS) as (deployed, session):
        wiring = read_wiring(session, STACK)
        secret = session.client("secretsmanager").get_secret_value(
            SecretId=deployed.outputs["JwtSecretArn"]
        )["SecretString"]
        from app import app, jwt_authorizer

        sender = FakeSender()
        broadcast.use_sender(sender)
        try:
            with (
                Client(app, stage_name="dev") as client,
                authorizer_configured_as(jwt_authorizer, wiring.functions["jwt_authorizer"]),
            ):
                yield deployed, wiring, DeployedShop(client, wiring, sender, secret), session
        finally:
            broadcast.use_sender(broadcast.Sender())


def test_what_moto_cloudformation_cannot_create_is_named_and_made_another_way(stack, expanded):
    from moto.cloudformation.parsing import get_model_map

    deployed, *_ = stack
    types = {r["Type"] for r in expanded["Resources"].values()}
    no_model = {t for t in types if t not in get_model_map()}
    assert no_model == {t for t, why in OUTSIDE.items() if why.startswith(UNSUPPORTED)}
    assert Counter(deployed.by_api.values()) == MADE_BY_API
    # with the REST API's access log group; each queue adds 6 (queue, DLQ, function, role,
    # log group, event source mapping): the pizza events and oven commands 12
    assert len(deployed.by_stack) == 77
    assert not set(deployed.by_stack) & set(deployed.by_api)


def test_handlers_are_wired_as_the_stack_wired_them(stack):
    deployed, wiring, _, session = stack
    table, topic = deployed.outputs["TableName"], deployed.outputs["TopicArn"]
    assert table == f"{STACK}-pizzas" and session.client("dynamodb").list_tables()[
        "TableNames"
    ] == [table]  # fmt: skip
    assert {f.environment["TABLE_NAME"] for f in wiring.functions.values()} == {table}
    assert {f.environment["TOPIC_ARN"] for f in wiring.functions.values()} == {topic}
    assert (
        wiring.functions["jwt_authorizer"].environment["JWT_SECRET_ARN"]
        == (deployed.outputs["JwtSecretArn"])
    )
    assert "JWT_SECRET_ARN" not in wiring.functions["order_events"].environment  # needs no key
    assert sorted(wiring.sources) == [
        "complaint_events", "delivery_commands", "kitchen_commands", "order_events",
        "oven_commands", "payments_commands", "pizza_events", "timer_events",
    ]  # fmt: skip
    for source in wiring.sources.values():
        assert source.response_types == ["ReportBatchItemFailures"]
        assert source.queue_url.rsplit("/", 1)[1].startswith(f"{STACK}-")
        assert source.dead_letter["maxReceiveCount"] == 5
        assert source.dead_letter["deadLetterTargetArn"].endswith("-dlq")
    by_queue = {
        s["Endpoint"]: json.loads(s.get("FilterPolicy", "{}")) for s in wiring.subscriptions
    }
    kitchen = wiring.sources["kitchen_commands"].queue_arn
    assert "MAKE_PIZZA" in by_queue[kitchen]["type"]
    assert set(by_queue) == {
        wiring.sources[h].queue_arn
        for h in ("complaint_events", "delivery_commands", "kitchen_commands", "order_events",
                  "oven_commands", "payments_commands", "pizza_events")
    }  # fmt: skip


def test_an_order_reaches_done_and_a_complaint_refunded_through_the_stack(stack):
    _, _, shop, _ = stack
    order_id = shop.new_order()["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    assert shop.deliver("kitchen_commands") == (1, 0)
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    assert shop.deliver("order_events")[0] == 1
    assert shop.deliver("delivery_commands") == (1, 0)
    done = shop.call("POST", f"/delivery/orders/{order_id}/delivered", "staff")
    assert done.status_code == 200, done.body
    shop.deliver("order_events")
    assert shop.view(order_id)["state"] == "done"

    opened = shop.call("POST", f"/orders/{order_id}/complaint", body={"reason": "cold pizza"})
    assert opened.status_code == 201, opened.body
    decided = shop.call(
        "POST", f"/complaints/{order_id}/decision", "staff", {"decision": "approve"}
    )
    assert decided.status_code == 200, decided.body
    assert shop.deliver("payments_commands") == (1, 0)
    settled = shop.call("POST", f"/payments/refunds/{order_id}.1/settled", "staff")
    assert settled.status_code == 200, settled.body
    shop.deliver("complaint_events")
    complaint = shop.call("GET", f"/orders/{order_id}/complaint").json_body
    assert complaint["state"] == "refunded"
    assert complaint["refund"]["amount"] == order_total_cents([PIZZA])


def test_a_token_not_signed_with_the_stacks_key_is_refused(stack):
    from chalicelib.runtime import auth

    _, _, shop, _ = stack
    forged = auth.issue("test-secret", "alice")  # the tests' usual key, not the stack's
    assert shop.call("POST", "/orders", forged, {"pizza": PIZZA}).status_code == 401
