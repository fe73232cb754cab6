"""Create the expanded template (infra/expand.py) as a stack in the embedded AWS.

moto's CloudFormation creates what it supports. What it cannot create (``OUTSIDE``, each
with the reason) is created through its own service's API from the same properties: the
resources the stack refers to first (their values are written into the template the stack
is created from), the rest after the stack, their references resolved against what the
stack created (its physical ids, and the ARNs the services describe).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from infra.graph import dependencies, references
from local.cloudformation_api import CREATORS

UNSUPPORTED = "moto's CloudFormation has no model for it"
OUTSIDE = {
    "AWS::SecretsManager::Secret": UNSUPPORTED,
    "AWS::SNS::Subscription": UNSUPPORTED,
    "AWS::SQS::QueuePolicy": UNSUPPORTED,
    "AWS::CloudWatch::Alarm": UNSUPPORTED,
    "AWS::ApiGatewayV2::Api": UNSUPPORTED,
    "AWS::ApiGatewayV2::Integration": UNSUPPORTED,
    "AWS::ApiGatewayV2::Route": UNSUPPORTED,
    "AWS::ApiGatewayV2::Deployment": UNSUPPORTED
    + "; and moto has no CreateDeployment (resolved only)",
    "AWS::ApiGatewayV2::Stage": UNSUPPORTED,
    "AWS::ApiGateway::Stage": UNSUPPORTED,
    "AWS::XRay::ResourcePolicy": UNSUPPORTED
    + "; and moto's X-Ray has no resource policies"
    + " (resolved only)",
    "AWS::Cognito::UserPool": UNSUPPORTED,
    "AWS::Cognito::UserPoolClient": UNSUPPORTED,
    "AWS::Cognito::UserPoolGroup": UNSUPPORTED,
    "AWS::Cognito::UserPoolDomain": UNSUPPORTED,
    # moto makes the API without its Body (the routes), so the Deployment that follows
    # fails "The REST API doesn't contain any methods"
    "AWS::ApiGateway::RestApi": "moto's CloudFormation ignores the Body",
    "AWS::ApiGateway::Deployment": "needs the RestApi's routes",
}
# a stack resource that refers to one created after the stack follows it there
FOLLOWERS = {"AWS::Lambda::Permission"}
PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


class StackFailed(RuntimeError):
    """The embedded CloudFormation did not create the stack (the message says why)."""


@dataclass(slots=True)
class Deployed:
    """A stack in the embedded AWS: each logical id's ``Ref`` value, where it was made."""

    name: str
    refs: dict[str, str] = field(default_factory=dict)
    by_stack: set[str] = field(default_factory=set)
    by_api: dict[str, str] = field(default_factory=dict)  # logical id -> type
    outputs: dict[str, str] = field(default_factory=dict)


def deploy(
    template: dict[str, Any], session: Any, name: str, parameters: dict[str, str]
) -> Deployed:
    """Create ``template`` (expanded, no transform left) as stack ``name``; StackFailed
    when the embedded CloudFormation refuses it."""
    session = _Clients(session)
    region = session.region_name
    account = session.client("sts").get_caller_identity()["Account"]
    context = _Context(template, parameters, name, region, account, session)
    resources = template["Resources"]
    active = {k for k, r in resources.items() if context.holds(r.get("Condition"))}
    graph = {k: v & active for k, v in dependencies(template).items() if k in active}
    outside = {k for k in active if resources[k]["Type"] in OUTSIDE}
    before = {k for k in outside if not _needs(k, graph, active - outside)}
    after = outside - before
    moved = True
    while moved:
        moved = False
        for k in sorted(active - outside - after):
            if resources[k]["Type"] in FOLLOWERS and graph[k] & after:
                after.add(k)
                moved = True
    stranded = sorted(k for k in active - outside - after if graph[k] & after)
    if stranded:  # the stack would be given "" where these name something made after it
        raise StackFailed(f"{stranded} refer to resources created after the stack")
    deployed = Deployed(name)
    context.refs = deployed.refs
    for logical in _ordered(before, graph):
        deployed.refs[logical] = context.create(logical, resources[logical])
        deployed.by_api[logical] = resources[logical]["Type"]
    stack = _stack_template(template, active, outside | after, before, context)
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(stack),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    [described] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    if described["StackStatus"] != "CREATE_COMPLETE":
        raise StackFailed(
            f"{name}: {described['StackStatus']} {described.get('StackStatusReason')}"
        )
    for summary in cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]:
        deployed.refs[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        deployed.by_stack.add(summary["LogicalResourceId"])
    for logical in _ordered(after, graph):
        deployed.refs[logical] = context.create(logical, resources[logical])
        deployed.by_api[logical] = resources[logical]["Type"]
    for output in described.get("Outputs", []):
        deployed.outputs[output["OutputKey"]] = output["OutputValue"]
    for key, output in template.get("Outputs", {}).items():
        if key not in deployed.outputs and context.holds(output.get("Condition")):
            deployed.outputs[key] = context.resolve(output["Value"])
    return deployed


def _needs(logical: str, graph: dict[str, set[str]], targets: set[str]) -> bool:
    seen, todo = set(), [logical]
    while todo:
        for needed in graph[todo.pop()] - seen:
            if needed in targets:
                return True
            seen.add(needed)
            todo.append(needed)
    return False


def _ordered(chosen: set[str], graph: dict[str, set[str]]) -> list[str]:
    done: list[str] = []
    while len(done) < len(chosen):
        ready = sorted(k for k in chosen - set(done) if graph[k] & chosen <= set(done))
        if not ready:
            raise StackFailed(f"circular dependency among {sorted(chosen - set(done))}")
        done.extend(ready)
    return done


def _stack_template(
    template: dict[str, Any], active: set[str], left: set[str], before: set[str], context: Any
) -> dict[str, Any]:
    """The template moto's CloudFormation is given: without ``left``, with each reference
    to a resource made before written as its value."""
    resources = template["Resources"]
    dropped = (set(resources) - active) | left
    known = {k: context.refs[k] for k in before} | {k: "" for k in dropped - before}
    stack = {k: v for k, v in template.items() if k not in ("Resources", "Outputs")}
    stack["Resources"] = {
        k: _inline(r, known) for k, r in resources.items() if k not in dropped | before
    }
    stack["Outputs"] = {
        k: o
        for k, o in template.get("Outputs", {}).items()
        if not {name for _, name in references(o)} & (dropped | before)
    }
    return stack


def _inline(value: Any, known: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_inline(v, known) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in known:
        return known[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        text, variables = (
            (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        )
        for name, literal in known.items():
            text = text.replace("${" + name + "}", literal)
        variables = _inline(variables, known)
        return {"Fn::Sub": [text, variables] if variables else text}
    return {k: _inline(v, known) for k, v in value.items()}


class _Clients:
    """One client per service for the whole deployment (a client costs its service model)."""

    def __init__(self, session: Any) -> None:
        self.session, self.region_name, self.made = session, session.region_name, {}

    def client(self, name: str) -> Any:
        if name not in self.made:
            self.made[name] = self.session.client(name)
        return self.made[name]


class _Context:
    """Resolves intrinsic functions against parameters, conditions and created resources,
    and creates one resource through its service's API."""

    def __init__(self, template, parameters, stack, region, account, session) -> None:
        declared = template.get("Parameters", {})
        self.parameters = {k: str(v.get("Default", "")) for k, v in declared.items()}
        self.parameters.update(parameters)
        self.conditions = template.get("Conditions", {})
        self.resources = template["Resources"]
        self.pseudo = PSEUDO | {
            "AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": stack,
        }  # fmt: skip
        self.session = session
        self.refs: dict[str, str] = {}

    def holds(self, condition: str | None) -> bool:
        return condition is None or bool(self.resolve(self.conditions[condition]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, arg)] = value.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return _NO_VALUE
                for known in (self.pseudo, self.parameters, self.refs):
                    if arg in known:
                        return known[arg]
                raise KeyError(f"Ref {arg}: nothing of that name was created")
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._attribute(logical, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                return self.resolve(arg[1] if self.holds(arg[0]) else arg[2])
            if key == "Fn::Join":
                return arg[0].join(self.resolve(arg[1]))
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.holds(arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self._attribute(*name.split(".", 1)))
            return str(self.resolve({"Ref": name}))

        return re.sub(r"\$\{([^}]+)\}", value, text)

    def _attribute(self, logical: str, attribute: str) -> str:
        kind, ref = self.resources[logical]["Type"], self.refs[logical]
        if kind == "AWS::SQS::Queue":
            if attribute == "Arn":
                described = self.session.client("sqs").get_queue_attributes(
                    QueueUrl=ref, AttributeNames=["QueueArn"]
                )
                return described["Attributes"]["QueueArn"]
            return {"QueueName": ref.rsplit("/", 1)[-1], "QueueUrl": ref}[attribute]
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return self.session.client("lambda").get_function(FunctionName=ref)["Configuration"][
                "FunctionArn"
            ]
        if kind == "AWS::SNS::Topic" and attribute == "TopicArn":
            return ref
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return self.session.client("dynamodb").describe_table(TableName=ref)["Table"][
                "TableArn"
            ]
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return self.session.client("iam").get_role(RoleName=ref)["Role"]["Arn"]
        raise NotImplementedError(f"Fn::GetAtt {logical}.{attribute} ({kind})")

    def create(self, logical: str, resource: dict[str, Any]) -> str:
        """Create one resource through its API; its ``Ref`` value."""
        props = self.resolve(resource.get("Properties", {}))
        make = CREATORS.get(resource["Type"])
        if make is None:
            raise NotImplementedError(f"{logical}: no way to create {resource['Type']}")
        return make(self.session, logical, props, self.pseudo["AWS::StackName"])


_NO_VALUE = object()
