"""local/cloudformation.py on small templates: what moto's CloudFormation cannot create is
made before the stack (values written into it) or after it (references resolved)."""

from __future__ import annotations

import json
import warnings

import boto3
import pytest
from moto import mock_aws

from local.cloudformation import StackFailed, deploy

REGION = "us-east-1"
TEMPLATE = {
    "Resources": {
        "Key": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "k"}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}},
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::Sub": "${AWS::StackName}-q"},
                "Tags": [{"Key": "key", "Value": {"Ref": "Key"}}],
            },
        },
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "sqs",
                "TopicArn": {"Ref": "Topic"},
                "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                "FilterPolicy": {"type": ["A"]},
                "RawMessageDelivery": True,
            },
        },
    }
}


@pytest.fixture
def session(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield boto3.session.Session(region_name=REGION)


def test_a_resource_the_stack_refers_to_is_made_first_one_that_refers_to_it_after(session):
    deployed = deploy(TEMPLATE, session, "small", {})
    assert deployed.by_api == {
        "Key": "AWS::SecretsManager::Secret", "Subscription": "AWS::SNS::Subscription",
    }  # fmt: skip
    assert deployed.by_stack == {"Topic", "Queue"}
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName="small-q")["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"key": deployed.refs["Key"]}
    [subscription] = session.client("sns").list_subscriptions()["Subscriptions"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    assert subscription["Endpoint"] == arn["QueueArn"]
    attributes = session.client("sns").get_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"]
    )["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"type": ["A"]}


def test_a_stack_resource_that_needs_one_made_after_the_stack_is_refused(session):
    template = json.loads(json.dumps(TEMPLATE))
    template["Resources"]["Queue"]["Properties"]["Tags"].append(
        {"Key": "sub", "Value": {"Ref": "Subscription"}}
    )
    # the subscription still needs the topic (so it comes after the stack), not the queue
    template["Resources"]["Subscription"]["Properties"]["Endpoint"] = "arn:aws:sqs:x"
    with pytest.raises(StackFailed, match=r"\['Queue'\] refer to resources created after"):
        deploy(template, session, "small", {})
    assert session.client("cloudformation").list_stacks()["StackSummaries"] == []
