"""Create the resources of infra/resources.json against any AWS-compatible endpoint.

The local stack and the tests use this instead of CloudFormation (moto's
CloudFormation cannot create SNS subscriptions), so infra/resources.json stays
the single definition of the table, topic, queues and subscriptions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chalicelib.runtime import PREFIX

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "resources.json"
ORDER = (
    "AWS::DynamoDB::Table",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
)


class Provisioned:
    """What was created: ``refs`` (Ref values) and ``arns`` by logical id, in a stack
    named ``stack`` (the names the runtime uses locally: see
    chalicelib/runtime/shared/wiring.py)."""

    def __init__(self, stack: str = PREFIX) -> None:
        self.stack = stack
        self.refs: dict[str, str] = {}
        self.arns: dict[str, str] = {}
        self.queue_urls: dict[str, str] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                return self.refs[value["Ref"]]
            if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
                return self._substitute(value["Fn::Sub"])
            if set(value) == {"Fn::GetAtt"}:
                logical, attribute = value["Fn::GetAtt"]
                if attribute != "Arn":
                    raise ValueError(f"unsupported attribute {attribute}")
                return self.arns[logical]
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _substitute(self, text: str) -> str:
        """``Fn::Sub``: ``${AWS::StackName}``, ``${Logical}`` and ``${Logical.Arn}``."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "AWS::StackName":
                return self.stack
            if name.endswith(".Arn"):
                return self.arns[name.removesuffix(".Arn")]
            return self.refs[name]

        return re.sub(r"\$\{([^}]+)\}", value, text)


def load_template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text())


def provision(session: Any, endpoint_url: str | None = None) -> Provisioned:
    """Create every resource of the template (idempotent on a fresh endpoint)."""
    template = load_template()
    made = Provisioned()
    # parameters take their defaults, as a stack created without overrides
    made.refs.update({k: p["Default"] for k, p in template.get("Parameters", {}).items()})
    resources = template["Resources"]
    clients = {
        name: session.client(name, endpoint_url=endpoint_url) for name in ("dynamodb", "sns", "sqs")
    }
    pending = dict(resources)
    for kind in ORDER:
        batch = {k: v for k, v in pending.items() if v.get("Type") == kind and "Condition" not in v}
        while batch:
            progressed = False
            for logical, resource in list(batch.items()):
                try:
                    props = made.resolve(resource.get("Properties", {}))
                except KeyError:
                    continue  # depends on something not created yet (a DLQ)
                _create(kind, logical, props, made, clients)
                del batch[logical]
                progressed = True
            if not progressed:
                raise ValueError(f"unresolvable references among {sorted(batch)}")
    return made


def _create(kind: str, logical: str, props: dict[str, Any], made: Provisioned, c: dict) -> None:
    if kind == "AWS::DynamoDB::Table":
        args = {
            k: props[k] for k in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode")
        }
        if "GlobalSecondaryIndexes" in props:
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "DeletionProtectionEnabled" in props:  # a Boolean, or a parameter's "true"/"false"
            args["DeletionProtectionEnabled"] = (
                str(props["DeletionProtectionEnabled"]).lower() == "true"
            )
        table = c["dynamodb"].create_table(**args)["TableDescription"]
        if "TimeToLiveSpecification" in props:
            c["dynamodb"].update_time_to_live(
                TableName=props["TableName"],
                TimeToLiveSpecification=props["TimeToLiveSpecification"],
            )
        made.refs[logical] = props["TableName"]
        made.arns[logical] = table["TableArn"]
    elif kind == "AWS::SNS::Topic":
        arn = c["sns"].create_topic(Name=props["TopicName"])["TopicArn"]
        made.refs[logical] = made.arns[logical] = arn
    elif kind == "AWS::SQS::Queue":
        attributes = {
            k: json.dumps(v) if isinstance(v, dict) else str(v)
            for k, v in props.items()
            if k != "QueueName"
        }
        url = c["sqs"].create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = c["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        made.refs[logical] = made.queue_urls[logical] = url
        made.arns[logical] = arn["Attributes"]["QueueArn"]
    elif kind == "AWS::SNS::Subscription":
        attributes = {"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()}
        for optional in ("FilterPolicy", "RedrivePolicy"):
            if optional in props:
                attributes[optional] = json.dumps(props[optional])
        sub = c["sns"].subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
        made.refs[logical] = made.arns[logical] = sub["SubscriptionArn"]
    elif kind == "AWS::SQS::QueuePolicy":
        for url in props["Queues"]:
            c["sqs"].set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
            )
