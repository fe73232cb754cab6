"""Alarms that can fire, tracing that is on, and parameters CloudFormation refuses when
they disagree: the packaged template against AWS's documented behaviour."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.alarms import TABLE_OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        k: r["Properties"]
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def _operating_sections() -> set[str]:
    operating = README.split("\n## Operating\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^### (.+)$", operating, re.M))


def test_every_alarm_description_points_at_a_readme_section_that_exists(template):
    sections = _operating_sections()
    for name, alarm in _alarms(template).items():
        cited = re.findall(r"see README, Operating, '([^']+)'", alarm["AlarmDescription"])
        assert cited, f"{name} cites no README section: {alarm['AlarmDescription']}"
        assert set(cited) <= sections, f"{name} cites {cited}; Operating has {sorted(sections)}"


def test_operating_names_every_alarm(template):
    for alarm in _alarms(template).values():
        suffix = alarm["AlarmName"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
        generic = re.sub(r"^(dlq|throttled)-.+$", r"\1-", suffix)
        assert f"`{suffix}`" in README or f"`{generic}" in README, suffix


def _called_table_operations() -> set[str]:
    """The DynamoDB operations the deployed code calls (its boto3 method names)."""
    source = "\n".join(p.read_text() for p in (ROOT / "chalicelib").rglob("*.py"))
    source += (ROOT / "app.py").read_text()
    names = set(re.findall(
        r"\.(get_item|put_item|update_item|delete_item|query|scan|transact_write_items"
        r"|transact_get_items|batch_get_item|batch_write_item|execute_statement)\b", source,
    ))  # fmt: skip
    return {"".join(part.title() for part in n.split("_")) for n in names}


def test_table_alarm_watches_throttling_of_each_operation_the_code_calls(template):
    """DynamoDB publishes ThrottledRequests under TableName AND Operation; an alarm on
    TableName alone watches a metric that does not exist and never fires.
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html"""
    [table] = [a for a in _alarms(template).values() if "table-throttled" in json.dumps(a)]
    watched = set()
    for query in table["Metrics"]:
        if "MetricStat" not in query:
            assert query["Expression"] == "SUM(METRICS())" and query["ReturnData"] is True
            continue
        metric = query["MetricStat"]["Metric"]
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert metric["MetricName"] == "ThrottledRequests"
        assert dimensions["TableName"] == {"Ref": "OrdersTable"}
        watched.add(dimensions["Operation"])
    # Scan: only the offline replay tool (store.instance_keys) scans, never a function
    assert watched == set(TABLE_OPERATIONS) == _called_table_operations() - {"Scan"}


def test_outbox_age_pages_on_3_of_5_minutes_and_a_stopped_sweeper_has_its_own_alarm(template):
    alarms = {a["AlarmName"]["Fn::Sub"].split("-", 1)[1]: a for a in _alarms(template).values()}
    age = alarms["outbox-age"]
    assert (age["DatapointsToAlarm"], age["EvaluationPeriods"]) == (3, 5)
    assert age["TreatMissingData"] == "notBreaching"  # silence is the other alarm's
    idle = alarms["sweeper-idle"]
    assert idle["MetricName"] == "Invocations" and idle["Namespace"] == "AWS/Lambda"
    assert idle["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "OutboxSweeper"}}]
    assert idle["ComparisonOperator"] == "LessThanThreshold" and idle["Threshold"] == 1
    assert idle["TreatMissingData"] == "breaching"  # no data: not invoked at all


def test_every_function_traces_actively_and_sns_may_send_its_segments(template):
    """Chalice writes ``Tracing`` on each function, which overrides the Globals; SNS's
    active tracing needs an X-Ray resource policy allowing sns.amazonaws.com.
    https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sns.html"""
    resources = template["Resources"]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    for name, function in functions.items():
        assert function["Properties"].get("Tracing", "Active") == "Active", name
    assert resources["EventsTopic"]["Properties"]["TracingConfig"] == "Active"
    [policy] = [r for r in resources.values() if r["Type"] == "AWS::XRay::ResourcePolicy"]
    document = json.loads(policy["Properties"]["PolicyDocument"]["Fn::Sub"])
    [statement] = document["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert "xray:PutTraceSegments" in statement["Action"]
    assert statement["Condition"]["StringLike"]["aws:SourceArn"] == "${EventsTopic}"
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "${AWS::AccountId}"


def _value(expression: Any, parameters: dict[str, str]) -> Any:
    """A rule's condition or assertion evaluated for ``parameters`` (the rule functions
    this template uses: Ref, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Contains)."""
    if not isinstance(expression, dict):
        return expression
    [(function, argument)] = expression.items()
    if function == "Ref":
        return parameters[argument]
    values = [_value(a, parameters) for a in argument]
    if function == "Fn::Equals":
        return values[0] == values[1]
    if function == "Fn::Not":
        return not values[0]
    if function == "Fn::And":
        return all(values)
    if function == "Fn::Or":
        return any(values)
    if function == "Fn::Contains":
        return values[1] in values[0]
    raise ValueError(function)


def _refused(template: dict[str, Any], **given: str) -> list[str]:
    parameters = {k: str(p.get("Default", "")) for k, p in template["Parameters"].items()}
    parameters.update(given)
    refused = []
    for rule in template["Rules"].values():
        if _value(rule.get("RuleCondition", True), parameters):
            refused += [a["AssertDescription"] for a in rule["Assertions"]
                        if not _value(a["Assert"], parameters)]  # fmt: skip
    return refused


@pytest.mark.parametrize(
    "given, refusal",
    [
        ({}, None),
        ({"OidcIssuer": "https://issuer.example.com"}, "OidcAudience"),
        ({"OidcIssuer": "https://issuer.example.com", "OidcAudience": "client"}, None),
        ({"ExistingUserPoolId": "us-east-1_abc"}, "ExistingUserPoolClientId"),
        ({"AuthMode": "hs256"}, "development stages only"),
        ({"AuthMode": "hs256", "Environment": "development"}, None),
    ],
)
def test_rules_refuse_inconsistent_sign_in_parameters(template, given, refusal):
    """CloudFormation checks ``Rules`` before it creates or changes anything.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html"""
    refused = _refused(template, **given)
    if refusal is None:
        assert refused == []
    else:
        assert len(refused) == 1 and refusal in refused[0]


def test_no_log_of_either_api_holds_the_websocket_token_or_a_header(template):
    """The console's token travels in the websocket's $connect query string: no stage
    may log query strings (execution logs with data trace do) or headers."""
    resources = template["Resources"]
    stage = resources["WebsocketAPIStage"]["Properties"]
    assert "AccessLogSettings" not in stage
    assert not stage.get("DefaultRouteSettings", {}).get("DataTraceEnabled")
    assert "LoggingLevel" not in stage.get("DefaultRouteSettings", {})
    rest = resources["RestAPI"]["Properties"]
    assert all(not m.get("DataTraceEnabled") for m in rest["MethodSettings"])
    log_format = rest["AccessLogSetting"]["Format"]
    assert json.loads(log_format)["resource"] == "$context.resourcePath"
    assert not re.search(r"querystring|header|\$input|\$context\.path", log_format, re.I)
    assert rest["MinimumCompressionSize"] == 1024  # the 3.6 MB Mermaid bundle is gzipped
    throttle = rest["MethodSettings"][0]
    defaults = {k: p.get("Default") for k, p in template["Parameters"].items()}
    for name in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
        assert defaults[throttle[name]["Ref"]] > 0
        assert stage["DefaultRouteSettings"][name] == throttle[name]
