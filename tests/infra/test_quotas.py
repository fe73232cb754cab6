"""AWS's quotas, each checked against the packaged (or expanded) template, with the AWS
documentation it comes from. A quota broken here is a stack AWS refuses to create.

The margins are printed (``pytest -s``) and recorded in README, Deploy to AWS.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chalicelib import registry
from chalicelib.runtime import Queue

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

# "Alarms based on metric math expressions can reference a maximum of 10 metrics. This is
# a hard limit that cannot be increased."
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html
METRICS_PER_ALARM = 10
# CloudFormation quotas: "Template body size in a request: 51,200 bytes" (to use a larger
# template, upload it to S3), "Template body size in an Amazon S3 object: 1 MB",
# "Resources: Maximum number of resources that you can declare in your template: 500".
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
TEMPLATE_IN_REQUEST = 51_200
TEMPLATE_IN_S3 = 1_000_000
RESOURCES = 500
# Lambda quotas: "Function environment variables: 4 KB, for all environment variables
# associated with the function, in aggregate"; "Deployment package (.zip file archive)
# size: 50 MB (zipped, when uploaded through the Lambda API or SDKs) ... 250 MB (unzipped)".
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
ENVIRONMENT = 4 * 1024
ZIPPED = 50 * 1024 * 1024
UNZIPPED = 250 * 1024 * 1024
# Name lengths, each from its service's API reference:
NAME_LIMITS = {
    # CreateFunction FunctionName: "The length constraint applies only to the full ARN.
    # If you specify only the function name, it is limited to 64 characters in length."
    "FunctionName": 64,
    # CreateQueue QueueName: "up to 80 characters"
    "QueueName": 80,
    # CreateTable TableName: "Length Constraints: Minimum length of 3. Maximum length of 255."
    "TableName": 255,
    # CreateLogGroup logGroupName: "Maximum length of 512"
    "LogGroupName": 512,
    # PutMetricAlarm AlarmName: "Maximum length of 255"
    "AlarmName": 255,
    # PutDashboard DashboardName: "up to 255 characters"
    "DashboardName": 255,
    # CreateTopic Name: "up to 256 characters"
    "TopicName": 256,
    # CreateUserPool PoolName: "Maximum length of 128"
    "UserPoolName": 128,
    # CreateUserPoolClient ClientName: "Maximum length of 128"
    "ClientName": 128,
    # PutResourcePolicy (X-Ray) PolicyName: "Maximum length of 128"
    "PolicyName": 128,
    # CreateRestApi name and CreateStage (no documented limit below 1024): ours are the
    # stack name itself
}
# CloudFormation: a stack name "can contain only alphanumeric characters (case-sensitive)
# and hyphens. It must start with an alphabetic character and can't be longer than 128
# characters." The README names the longest that fits every derived name.
STACK_NAME = 128


def _readme_longest_stack_name() -> int:
    found = re.search(r"stack\s+name\s+of\s+at\s+most\s+(\d+)\s+characters", README)
    assert found, "README, Deploy to AWS, must say the longest stack name that fits"
    return int(found.group(1))


def _sub_names(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(logical id, property, Fn::Sub text) of every name made from the stack's name."""
    named = []
    for logical, resource in template["Resources"].items():
        for key, value in resource.get("Properties", {}).items():
            if key in NAME_LIMITS and isinstance(value, dict) and "Fn::Sub" in value:
                text = value["Fn::Sub"]
                if isinstance(text, str) and "${AWS::StackName}" in text:
                    named.append((logical, key, text))
    return named


def test_every_alarm_references_at_most_10_metrics(expanded):
    alarms = [r for r in expanded["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms
    for alarm in alarms:
        queries = alarm["Properties"].get("Metrics", [])
        metrics = [q for q in queries if "MetricStat" in q]
        name = alarm["Properties"]["AlarmName"]
        assert len(metrics) <= METRICS_PER_ALARM, f"{name}: {len(metrics)} metrics"


def test_alarms_stay_within_10_metrics_however_many_functions_the_registry_adds():
    """A registry with 30 more workflows (30 more functions) still makes no alarm over 10."""
    from infra.generate import generate

    extra = [
        Queue("events", f"flow{i}", f"Flow{i}EventsQueue", f"tropical-flow{i}-events",
              f"flow{i}_events", (f"FLOW{i}_DONE",), 2)
        for i in range(30)
    ]  # fmt: skip
    template = generate([*registry.QUEUES, *extra])
    resources = template["Resources"].values()
    alarms = [r for r in resources if r.get("Type") == "AWS::CloudWatch::Alarm"]
    for alarm in alarms:
        metrics = [q for q in alarm["Properties"].get("Metrics", []) if "MetricStat" in q]
        assert len(metrics) <= METRICS_PER_ALARM, alarm["Properties"]["AlarmName"]
    functions = [r for r in resources if r.get("Type") == "AWS::Serverless::Function"]
    assert len(functions) > 40  # the extra queues did make functions


def test_template_goes_through_s3_and_fits_there(packaged):
    size = (packaged / "sam.json").stat().st_size
    compact = len(json.dumps(json.loads((packaged / "sam.json").read_text())).encode())
    print(f"template: {size} bytes ({compact} compact); S3 limit {TEMPLATE_IN_S3}")
    assert size < TEMPLATE_IN_S3
    assert compact > TEMPLATE_IN_REQUEST  # so the README must deploy through S3
    deploys = re.findall(r"aws cloudformation deploy(?:[^\n]*\\\n)*[^\n]*", README)
    assert deploys, "README must show the deploy command"
    for command in deploys:
        assert "--s3-bucket" in command, f"over {TEMPLATE_IN_REQUEST} bytes: {command}"


def test_stack_has_at_most_500_resources_after_the_sam_transform(expanded):
    count = len(expanded["Resources"])
    print(f"resources after the SAM transform: {count} of {RESOURCES}")
    assert count <= RESOURCES


def test_every_derived_name_fits_its_service_for_the_longest_stack_name_allowed(template):
    longest = _readme_longest_stack_name()
    assert longest <= STACK_NAME
    named = _sub_names(template)
    assert {key for _, key, _ in named} >= {
        "FunctionName", "QueueName", "TableName", "LogGroupName", "AlarmName", "TopicName",
    }  # fmt: skip
    stack = "s" * longest
    tightest = None
    for logical, key, text in named:
        name = text.replace("${AWS::StackName}", stack)
        assert "${" not in name, f"{logical}.{key}: {text}"
        margin = NAME_LIMITS[key] - len(name)
        assert margin >= 0, f"{logical}.{key} is {len(name)} long with a {longest}-char stack"
        tightest = min(tightest or (margin, logical, key), (margin, logical, key))
    print(f"tightest name with a {longest}-char stack: {tightest}")
    assert tightest[0] == 0, "the README's longest stack name is not the longest that fits"


# the longest each kind of reference resolves to: pseudo parameters at their longest
# (a 46-character stack name: README), a template parameter at 256 characters (a URL or
# id a person gives), a resource's id at 64 and its ARN or URL at 160 (a queue's URL with
# an 80-character name is 140)
_PSEUDO = {"AWS::StackName": 46, "AWS::Region": 14, "AWS::AccountId": 12,
           "AWS::URLSuffix": 16, "AWS::Partition": 10}  # fmt: skip
_PARAMETER, _ID, _ARN = 256, 64, 160


def _longest(value: Any, parameters: set[str]) -> int:
    """The most characters ``value`` (a template value, intrinsics included) resolves to."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, (int, float, bool)):
        return len(str(value))
    [(function, argument)] = value.items()
    if function == "Ref":
        return _PSEUDO.get(argument) or (_PARAMETER if argument in parameters else _ARN)
    if function == "Fn::GetAtt":
        return _ARN
    if function == "Fn::If":
        return max(_longest(argument[1], parameters), _longest(argument[2], parameters))
    if function == "Fn::Sub":
        text, names = (argument, {}) if isinstance(argument, str) else argument
        total = len(re.sub(r"\$\{[^}]+\}", "", text).encode())
        for name in re.findall(r"\$\{([^}]+)\}", text):
            if name in names:
                total += _longest(names[name], parameters)
            elif name in _PSEUDO:
                total += _PSEUDO[name]
            else:
                total += _PARAMETER if name in parameters else _ARN if "." in name else _ID
        return total
    if function == "Fn::Join":
        separator, parts = argument
        return sum(_longest(p, parameters) for p in parts) + len(separator) * len(parts)
    raise ValueError(f"no worst case for {function}")


def test_each_function_environment_is_under_4_kb(expanded):
    functions = {k: r for k, r in expanded["Resources"].items()
                 if r["Type"] == "AWS::Lambda::Function"}  # fmt: skip
    parameters = set(expanded["Parameters"])
    assert functions
    worst = (0, "")
    for name, function in functions.items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        size = sum(len(k) + _longest(v, parameters) for k, v in variables.items())
        worst = max(worst, (size, name))
        assert size < ENVIRONMENT, f"{name}: environment up to {size} bytes"
    print(f"largest environment, worst case: {worst} of {ENVIRONMENT} bytes")


def test_package_fits_lambdas_zip_limits(lambda_package):
    archive, code = lambda_package
    zipped = archive.stat().st_size
    unzipped = sum(p.stat().st_size for p in code.rglob("*") if p.is_file())
    print(f"package: {zipped} bytes zipped of {ZIPPED}; {unzipped} unzipped of {UNZIPPED}")
    assert zipped < ZIPPED
    assert unzipped < UNZIPPED
