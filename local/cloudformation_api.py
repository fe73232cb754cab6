"""Create one template resource that moto's CloudFormation cannot, through its own API.

Each creator takes the resource's resolved properties (CloudFormation's names) and
returns what ``Ref`` of it gives on AWS (from each type's "Return values" in the
CloudFormation template reference).
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from typing import Any


def _secret(session: Any, logical: str, props: dict, stack: str) -> str:
    generate = props.get("GenerateSecretString", {})
    made = session.client("secretsmanager").create_secret(
        Name=props.get("Name") or f"{logical}-{stack}",
        Description=props.get("Description", ""),
        SecretString=props.get("SecretString") or random_secret(generate.get("PasswordLength", 32)),
    )
    return made["ARN"]  # Ref: the secret's ARN


def random_secret(length: int = 64) -> str:
    """What GenerateSecretString with ExcludePunctuation makes: letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _subscription(session: Any, logical: str, props: dict, stack: str) -> str:
    attributes = {"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()}
    for name in ("FilterPolicy", "RedrivePolicy"):
        if name in props:
            attributes[name] = json.dumps(props[name])
    if "FilterPolicyScope" in props:
        attributes["FilterPolicyScope"] = props["FilterPolicyScope"]
    made = session.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )
    return made["SubscriptionArn"]


def _queue_policy(session: Any, logical: str, props: dict, stack: str) -> str:
    sqs = session.client("sqs")
    for url in props["Queues"]:
        sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
        )
    return logical


def _alarm(session: Any, logical: str, props: dict, stack: str) -> str:
    session.client("cloudwatch").put_metric_alarm(**props)
    return props["AlarmName"]


def _websocket_api(session: Any, logical: str, props: dict, stack: str) -> str:
    keys = ("Name", "ProtocolType", "RouteSelectionExpression", "Description")
    return session.client("apigatewayv2").create_api(**{k: props[k] for k in keys if k in props})[
        "ApiId"
    ]


def _integration(session: Any, logical: str, props: dict, stack: str) -> str:
    return session.client("apigatewayv2").create_integration(**props)["IntegrationId"]


def _route(session: Any, logical: str, props: dict, stack: str) -> str:
    return session.client("apigatewayv2").create_route(**props)["RouteId"]


def _v2_deployment(session: Any, logical: str, props: dict, stack: str) -> str:
    """Not created: moto's apigatewayv2 answers CreateDeployment "Not yet implemented".
    Its properties were resolved (every reference exists); the id stands in for it."""
    return f"{logical}-not-created"


def _xray_policy(session: Any, logical: str, props: dict, stack: str) -> str:
    """Not created: moto's X-Ray has no PutResourcePolicy. Its policy document was
    resolved (the topic it names exists); tests/infra/test_alarms.py checks its text."""
    return props["PolicyName"]


def _v2_stage(session: Any, logical: str, props: dict, stack: str) -> str:
    # CloudFormation gives a property a parameter's value converted to the property's type
    # (AWS::ApiGatewayV2::Stage RouteSettings: ThrottlingBurstLimit Integer,
    # ThrottlingRateLimit Double); a parameter's value arrives here as its string
    route = props.get("DefaultRouteSettings") or {}
    for name, kind in (("ThrottlingBurstLimit", int), ("ThrottlingRateLimit", float)):
        if name in route:
            route[name] = kind(route[name])
    session.client("apigatewayv2").create_stage(**props)
    return props["StageName"]


def _rest_api(session: Any, logical: str, props: dict, stack: str) -> str:
    """The REST API with every path, method, integration and authorizer of its Swagger 2.0
    Body, one call each (moto imports OpenAPI 3 only; Chalice writes Swagger 2.0)."""
    client = session.client("apigateway")
    body = props["Body"]
    api = client.create_rest_api(
        name=body["info"]["title"],
        binaryMediaTypes=body.get("x-amazon-apigateway-binary-media-types", []),
    )["id"]
    authorizers = {}
    for name, scheme in body.get("securityDefinitions", {}).items():
        spec = scheme["x-amazon-apigateway-authorizer"]
        authorizers[name] = client.create_authorizer(
            restApiId=api, name=name, type=spec["type"].upper(),
            authorizerUri=spec["authorizerUri"],
            identitySource=f"method.request.header.{scheme['name']}",
            authorizerResultTtlInSeconds=spec.get("authorizerResultTtlInSeconds", 300),
        )["id"]  # fmt: skip
    ids = {"/": next(r["id"] for r in client.get_resources(restApiId=api)["items"])}
    for path in sorted(body["paths"]):
        parent = "/"
        for part in path.strip("/").split("/"):
            here = parent.rstrip("/") + "/" + part
            if here not in ids:
                ids[here] = client.create_resource(
                    restApiId=api, parentId=ids[parent], pathPart=part
                )["id"]
            parent = here
        for method, spec in body["paths"][path].items():
            [security] = spec.get("security") or [{}]
            [scheme] = list(security) or [None]
            client.put_method(
                restApiId=api, resourceId=ids[path], httpMethod=method.upper(),
                authorizationType="CUSTOM" if scheme else "NONE",
                **({"authorizerId": authorizers[scheme]} if scheme else {}),
            )  # fmt: skip
            integration = spec["x-amazon-apigateway-integration"]
            client.put_integration(
                restApiId=api, resourceId=ids[path], httpMethod=method.upper(),
                type=integration["type"].upper(), uri=integration["uri"],
                integrationHttpMethod=integration["httpMethod"],
            )  # fmt: skip
    return api


def _rest_deployment(session: Any, logical: str, props: dict, stack: str) -> str:
    made = session.client("apigateway").create_deployment(
        restApiId=props["RestApiId"],
        stageName=props.get("StageName", ""),
        description=props.get("Description", ""),
    )
    return made["id"]


def _rest_stage(session: Any, logical: str, props: dict, stack: str) -> str:
    session.client("apigateway").create_stage(
        restApiId=props["RestApiId"],
        stageName=props["StageName"],
        deploymentId=props["DeploymentId"],
        tracingEnabled=bool(props.get("TracingEnabled", False)),
    )
    return props["StageName"]


def _user_pool(session: Any, logical: str, props: dict, stack: str) -> str:
    args = {("PoolName" if k == "UserPoolName" else k): v for k, v in props.items()}
    return session.client("cognito-idp").create_user_pool(**args)["UserPool"]["Id"]


def _user_pool_client(session: Any, logical: str, props: dict, stack: str) -> str:
    made = session.client("cognito-idp").create_user_pool_client(**props)
    return made["UserPoolClient"]["ClientId"]


def _user_pool_domain(session: Any, logical: str, props: dict, stack: str) -> str:
    session.client("cognito-idp").create_user_pool_domain(**props)
    return props["Domain"]


def _user_pool_group(session: Any, logical: str, props: dict, stack: str) -> str:
    return session.client("cognito-idp").create_group(**props)["Group"]["GroupName"]


def _permission(session: Any, logical: str, props: dict, stack: str) -> str:
    args = {"FunctionName": props["FunctionName"], "StatementId": logical}
    for key in ("Action", "Principal", "SourceArn", "SourceAccount"):
        if key in props:
            args[key] = props[key]
    session.client("lambda").add_permission(**args)
    return logical


CREATORS: dict[str, Callable[[Any, str, dict, str], str]] = {
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::ApiGatewayV2::Api": _websocket_api,
    "AWS::ApiGatewayV2::Integration": _integration,
    "AWS::ApiGatewayV2::Route": _route,
    "AWS::ApiGatewayV2::Deployment": _v2_deployment,
    "AWS::ApiGatewayV2::Stage": _v2_stage,
    "AWS::ApiGateway::RestApi": _rest_api,
    "AWS::ApiGateway::Deployment": _rest_deployment,
    "AWS::ApiGateway::Stage": _rest_stage,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
    "AWS::Cognito::UserPoolDomain": _user_pool_domain,
    "AWS::Lambda::Permission": _permission,
    "AWS::XRay::ResourcePolicy": _xray_policy,
}
