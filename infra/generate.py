"""infra/resources.json = infra/base.json + what the registry wires.

Merged into `chalice package` (``--merge-template``). For every queue of
``chalicelib.registry.QUEUES`` (each workflow's events, each service's commands, the
timers): the queue and its dead-letter queue, the topic subscription with its filter
policy and delivery DLQ, the queue policy that lets the topic send to it, and an alarm
on its DLQ. For every function: its own name, log group (with a retention), and role
holding only the calls that function makes. Then the throttling, error and outbox-age
alarms and a dashboard. Every name is ``<stack name>-<suffix>``, so stages live side by
side. Edit base.json for the rest.

Usage: ``python -m infra.generate`` (``make infra``) writes infra/resources.json;
``--check`` exits 1 when the file is out of date (a test runs the same check).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.runtime import Queue, subscribed
from infra import alarms
from infra.alarms import METRICS_NAMESPACE

HERE = Path(__file__).resolve().parent
BASE = HERE / "base.json"
OUTPUT = HERE / "resources.json"
RETENTION_SECONDS = 14 * 86400  # the longest SQS keeps a message: room to redrive
VISIBILITY_SECONDS = 180  # six times the queue consumers' 30 s timeout (AWS's advice)
CONSUMER_TIMEOUT_SECONDS = 30
MAX_RECEIVES = 5


def _arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _named(suffix: str) -> dict[str, Any]:
    return {"Fn::Sub": f"${{AWS::StackName}}-{suffix}"}


def _camel(handler: str) -> str:
    """The logical id Chalice gives a handler's function: ``order_events`` -> ``OrderEvents``."""
    return "".join(part[:1].upper() + part[1:] for part in handler.split("_"))


@dataclass(frozen=True, slots=True)
class Function:
    """One Lambda function of the app: its logical id (Chalice's), name suffix, the
    grants its role holds and the queue it drains, if any."""

    logical: str
    suffix: str
    grants: tuple[str, ...]
    queue: Queue | None = None


# The table calls of each kind of function (tests/infra/test_iam.py records the calls
# and fails on a grant no call needs). A transaction is authorised item by item: its
# Put, Update and Delete items need PutItem, UpdateItem and DeleteItem.
TABLE_ACTIONS = {
    # commits (a transaction), reads, queries indexes, drops a gone websocket's record
    "table": ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
    # staff settling or rejecting a station's work: a transaction whose ConditionCheck
    # item is authorised as dynamodb:ConditionCheckItem
    "table-settle": ("ConditionCheckItem",),
    # a station's conditional update, the read of who settled a subject first, and the
    # work feed's listeners it announces to
    "table-station": ("GetItem", "UpdateItem", "Query"),
    # reads the instance, then records the follower (a transaction of an Update and Puts)
    "table-follow": ("GetItem", "PutItem", "UpdateItem", "Query"),
    # reads what a connection follows; forgets it (a transaction of a Delete and an Update)
    "table-unfollow": ("GetItem", "UpdateItem", "DeleteItem"),
}
COMMITS = ("table", "publish", "timers", "websockets")  # commits and sends after them
FIXED = (
    Function("APIHandler", "api", (*COMMITS, "table-settle")),
    Function("JwtAuthorizer", "authorizer", ("verify",)),
    Function("WebsocketConnect", "ws-connect", ("table-follow", "verify")),
    Function("WebsocketMessage", "ws-message", ("table-unfollow", "websockets")),
    Function("WebsocketDisconnect", "ws-disconnect", ("table-unfollow",)),
    Function("OutboxSweeper", "outbox-sweeper", COMMITS),
)


def functions(queues: list[Queue]) -> list[Function]:
    """Every function of the app: the fixed ones and one per queue it drains."""
    drains = [
        Function(
            _camel(q.handler),
            q.handler.replace("_", "-"),
            ("table-station", "publish", "websockets") if q.kind == "commands" else COMMITS,
            q,
        )
        for q in queues
    ]
    return [*FIXED, *drains]


def _grant(grant: str) -> dict[str, Any]:
    table = [_arn("OrdersTable"), {"Fn::Sub": "${OrdersTable.Arn}/index/*"}]
    statements = {
        **{
            name: ([f"dynamodb:{action}" for action in actions], table)
            for name, actions in TABLE_ACTIONS.items()
        },
        "publish": ("sns:Publish", {"Ref": "EventsTopic"}),
        "timers": (["sqs:SendMessage", "sqs:GetQueueUrl"], _arn("TimersQueue")),
        "websockets": (
            "execute-api:ManageConnections",
            {
                "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}"
                ":${WebsocketAPI}/*"
            },
        ),
        # the HS256 key exists only in an hs256 stack; OIDC needs no secret at all
        "verify": ("secretsmanager:GetSecretValue", {"Ref": "JwtSecret"}),
    }
    action, resource = statements[grant]
    statement = {
        "Sid": grant.replace("-", " ").title().replace(" ", ""),
        "Effect": "Allow",
        "Action": action,
        "Resource": resource,
    }
    if grant == "verify":
        return {"Fn::If": ["UseHs256", statement, {"Ref": "AWS::NoValue"}]}
    return statement


_NOTHING = {"Ref": "AWS::NoValue"}
# the issuer and audience the functions that verify tokens trust: another OIDC issuer if
# given, else the Cognito pool given, else the one this stack makes
_ISSUER = {
    "Fn::If": [
        "UseOtherIssuer",
        {"Ref": "OidcIssuer"},
        {
            "Fn::Sub": [
                "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${Pool}",
                {
                    "Pool": {
                        "Fn::If": [
                            "UseExistingPool",
                            {"Ref": "ExistingUserPoolId"},
                            {"Fn::If": ["MakeUserPool", {"Ref": "UserPool"}, ""]},
                        ]
                    }
                },
            ]
        },
    ]
}
_AUDIENCE = {
    "Fn::If": [
        "UseOtherIssuer",
        {"Ref": "OidcAudience"},
        {
            "Fn::If": [
                "UseExistingPool",
                {"Ref": "ExistingUserPoolClientId"},
                {"Fn::If": ["MakeUserPool", {"Ref": "UserPoolClient"}, ""]},
            ]
        },
    ]
}
VERIFY_ENVIRONMENT = {
    "AUTH_MODE": {"Ref": "AuthMode"},
    "JWT_SECRET_ARN": {"Fn::If": ["UseHs256", {"Ref": "JwtSecret"}, _NOTHING]},
    "OIDC_ISSUER": {"Fn::If": ["UseHs256", _NOTHING, _ISSUER]},
    "OIDC_AUDIENCE": {"Fn::If": ["UseHs256", _NOTHING, _AUDIENCE]},
    "ROLES_CLAIM": {"Ref": "RolesClaim"},
}
# Where the web console signs in (chalicelib/web/config.py): the user pool's domain and
# client when this stack makes them; else what the SignIn* parameters say. The client's
# callback is the ConsoleUrl parameter, not the REST API's address: the API refers to the
# functions, so a client naming the API while a function names the client is a cycle
# (tests/infra/test_sign_in_template.py walks the packaged template for one).
_POOL_DOMAIN = "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"


def _sign_in_url(pool_path: str, parameter: str) -> dict[str, Any]:
    return {
        "Fn::If": [
            "OfferPoolSignIn",
            {"Fn::Sub": _POOL_DOMAIN + pool_path},
            {"Fn::If": ["MakeUserPool", "", {"Ref": parameter}]},
        ]
    }


WEB_ENVIRONMENT = {
    "WEB_SIGN_IN_URL": _sign_in_url("/oauth2/authorize", "SignInAuthorizeUrl"),
    "WEB_TOKEN_URL": _sign_in_url("/oauth2/token", "SignInTokenUrl"),
    "WEB_SIGN_OUT_URL": _sign_in_url("/logout", "SignInLogoutUrl"),
    "WEB_CLIENT_ID": {
        "Fn::If": [
            "HasSignInClientId",
            {"Ref": "SignInClientId"},
            {"Fn::If": ["UseHs256", "", _AUDIENCE]},
        ]
    },
    "WEB_SCOPES": "openid email profile",
    "WEB_REDIRECT_URL": {"Ref": "ConsoleUrl"},
    "ROLES_CLAIM": {"Ref": "RolesClaim"},
}
# Tracing is Active (base.json): segments go to X-Ray, which has no resource to scope to
_XRAY = {
    "Sid": "Traces",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}


def _function(function: Function) -> dict[str, Any]:
    """The function's overrides, log group and role."""
    logs = f"{function.logical}Logs"
    statements = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": _arn(logs),
        },
        _XRAY,
        *(_grant(g) for g in function.grants),
    ]
    properties: dict[str, Any] = {
        "FunctionName": _named(function.suffix),
        "Role": _arn(f"{function.logical}Role"),
    }
    if "verify" in function.grants:
        properties["Environment"] = {"Variables": VERIFY_ENVIRONMENT}
    if function.logical == "APIHandler":  # the function that serves the web console
        properties["Environment"] = {"Variables": WEB_ENVIRONMENT}
    if function.queue is not None:
        queue = function.queue
        statements.append(
            {
                "Sid": "Consume",
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ChangeMessageVisibility",
                ],
                "Resource": _arn(queue.logical),
            }
        )
        properties["Timeout"] = CONSUMER_TIMEOUT_SECONDS
        properties["Events"] = {
            f"{function.logical}SqsEventSource": {
                "Type": "SQS",
                # infra/finish.py points ``Queue`` at the queue this stack made
                "Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]},
            }
        }
    return {
        function.logical: {"Type": "AWS::Serverless::Function", "Properties": properties},
        logs: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{function.suffix}"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        },
        f"{function.logical}Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": f"{function.logical}Calls",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                    }
                ],
            },
        },
    }


def _queue(queue: Queue) -> dict[str, Any]:
    return {
        f"{queue.logical}DLQ": {
            "Type": "AWS::SQS::Queue",
            # what failed is kept when the stack is deleted, not when a first create fails
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "QueueName": _named(f"{queue.suffix}-dlq"),
                "MessageRetentionPeriod": RETENTION_SECONDS,
            },
        },
        queue.logical: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": _named(queue.suffix),
                "VisibilityTimeout": VISIBILITY_SECONDS,
                "MessageRetentionPeriod": RETENTION_SECONDS,
                "RedrivePolicy": {
                    "deadLetterTargetArn": _arn(f"{queue.logical}DLQ"),
                    "maxReceiveCount": MAX_RECEIVES,
                },
            },
        },
    }


def _subscription(queue: Queue) -> dict[str, Any]:
    return {
        f"{queue.logical.removesuffix('Queue')}Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "sqs",
                "TopicArn": {"Ref": "EventsTopic"},
                "Endpoint": _arn(queue.logical),
                "RawMessageDelivery": True,
                "FilterPolicy": {"type": list(queue.types)},
                "RedrivePolicy": {"deadLetterTargetArn": _arn("EventsDeliveryDLQ")},
            },
        }
    }


def _policy(queues: list[Queue]) -> dict[str, Any]:
    targets = [*(q.logical for q in subscribed(queues)), "EventsDeliveryDLQ"]
    return {
        "QueuesPolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": logical} for logical in targets],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": [_arn(logical) for logical in targets],
                            "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "EventsTopic"}}},
                        }
                    ],
                },
            },
        }
    }


def _alarms(queues: list[Queue], made: list[Function]) -> dict[str, Any]:
    dlqs = [(f"{q.logical}DLQ", f"{q.suffix}-dlq") for q in queues]
    return {
        **alarms.dead_letter_alarms([*dlqs, ("EventsDeliveryDLQ", "events-delivery-dlq")]),
        **alarms.outbox_alarms(),
        **alarms.api_alarm(),
        **alarms.table_throttle_alarm(),
        **alarms.function_throttle_alarms([(f.logical, f.suffix) for f in made]),
    }


def _dashboard(queues: list[Queue]) -> dict[str, Any]:
    def widget(title: str, metrics: list[list[Any]], stat: str) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": "${AWS::Region}",
                "stat": stat,
                "period": 60,
                "metrics": metrics,
            },
        }

    dlq_names = [f"${{AWS::StackName}}-{q.suffix}-dlq" for q in queues]
    body = {
        "widgets": [
            widget(
                "Transitions committed",
                [[METRICS_NAMESPACE, "TransitionsCommitted", "service", "${AWS::StackName}"]],
                "Sum",
            ),
            widget(
                "Oldest pending outbox message (s)",
                [[METRICS_NAMESPACE, "OutboxOldestAgeSeconds", "service", "${AWS::StackName}"]],
                "Maximum",
            ),
            widget(
                "Lost races retried, publish failures",
                [
                    [METRICS_NAMESPACE, name, "service", "${AWS::StackName}"]
                    for name in ("LostRacesRetried", "PublishFailures")
                ],
                "Sum",
            ),
            widget(
                "Request latency (ms, p99)",
                [[METRICS_NAMESPACE, "RequestLatency", "service", "${AWS::StackName}"]],
                "p99",
            ),
            widget(
                "Dead-letter queues",
                [
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name]
                    for name in [*dlq_names, "${AWS::StackName}-events-delivery-dlq"]
                ],
                "Maximum",
            ),
            widget(
                "API errors and latency",
                [
                    ["AWS/ApiGateway", "5XXError", "ApiName", "${AWS::StackName}", "Stage", "api"],
                    ["AWS/ApiGateway", "Latency", "ApiName", "${AWS::StackName}", "Stage", "api"],
                ],
                "Average",
            ),
        ]
    }
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": _named("operations"),
                "DashboardBody": {"Fn::Sub": json.dumps(body, separators=(",", ":"))},
            },
        }
    }


# API Gateway's stage throttling, per method ("Per-API, per-stage throttling limits are
# applied at the API method level for a stage", API Gateway developer guide, "Throttle
# requests to your REST APIs"): the parameters ApiRatePerMethod / ApiBurstPerMethod,
# below the account's 10,000 rps / 5,000 burst, raised with the load without anything
# stored changing (README, Deploy to AWS; BENCHMARKS.md, Scale)
STAGE_THROTTLE = {
    "ThrottlingRateLimit": {"Ref": "ApiRatePerMethod"},
    "ThrottlingBurstLimit": {"Ref": "ApiBurstPerMethod"},
}
# responses of at least 1 KiB are gzipped for clients that accept it (the Mermaid bundle
# is 3.6 MB); "MinimumCompressionSize: A nullable integer that is used to enable
# compression (with non-negative between 0 and 10485760 (10M) bytes, inclusive)"
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gzip-compression-decompression.html
COMPRESS_FROM_BYTES = 1024
# one JSON line per request; neither query strings nor headers (tokens) are logged
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "bytes": "$context.responseLength",
    "ms": "$context.responseLatency",
    "principal": "$context.authorizer.principalId",
    "error": "$context.error.message",
}


def _gateways() -> dict[str, Any]:
    """The REST API's name, tracing, access log, throttling and compression; the
    websocket stage's throttling. API Gateway's metrics carry the API's name: one per
    stack; its traces join the functions' (and, through SNS and SQS, the consumers')."""
    throttle = STAGE_THROTTLE
    return {
        "RestAPI": {
            "Properties": {
                "Name": {"Ref": "AWS::StackName"},
                "TracingEnabled": True,
                "MinimumCompressionSize": COMPRESS_FROM_BYTES,
                "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", **throttle}],
                "AccessLogSetting": {
                    # the group's ARN without the ":*" that its GetAtt Arn ends with
                    "DestinationArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                        ":log-group:${ApiAccessLogs}"
                    },
                    "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
                },
            }
        },
        "ApiAccessLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        },
        "WebsocketAPIStage": {"Properties": {"DefaultRouteSettings": throttle}},
    }


def generate(queues: list[Queue]) -> dict[str, Any]:
    """The whole merge template: base.json plus the wiring of ``queues``."""
    template = json.loads(BASE.read_text())
    resources = template["Resources"]
    made = functions(queues)
    for queue in queues:
        resources.update(_queue(queue))
    for queue in subscribed(queues):
        resources.update(_subscription(queue))
    resources.update(_policy(queues))
    for function in made:
        resources.update(_function(function))
    resources.update(_gateways())
    resources.update(_alarms(queues, made))
    resources.update(_dashboard(queues))
    return template


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2) + "\n"


def main(argv: list[str]) -> int:
    from chalicelib.registry import QUEUES

    text = render(generate(QUEUES))
    if "--check" in argv:
        if OUTPUT.read_text() != text:
            print("infra/resources.json is out of date: run `make infra`", file=sys.stderr)
            return 1
        return 0
    before = json.loads(OUTPUT.read_text())["Resources"] if OUTPUT.exists() else {}
    OUTPUT.write_text(text)
    print(changes(before, json.loads(text)["Resources"]))
    return 0


def changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What regenerating changed, by logical id, for the author who ran `make infra`."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(after) & set(before) if after[k] != before[k])
    if not (added or removed or changed):
        return f"{OUTPUT.name}: up to date ({len(after)} resources)"
    lines = [f"{OUTPUT.name}: {len(after)} resources"]
    for what, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            lines.append(f"  {what} {len(names)}: {', '.join(names)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
