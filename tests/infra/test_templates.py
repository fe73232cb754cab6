"""infra/resources.json: the packaged template, its wiring, and the app that uses it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import app
from chalicelib import registry
from local.provision import load_template
from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_packaged_template_passes_cfn_lint(packaged):
    done = subprocess.run(
        [str(BIN / "cfn-lint"), str(packaged / "sam.json")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (packaged / "deployment.zip").stat().st_size > 0


def test_every_sqs_source_reports_batch_item_failures(packaged):
    template = json.loads((packaged / "sam.json").read_text())
    sources = [
        event["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    ]
    assert len(sources) == len(registry.QUEUES)  # one event source per queue
    assert all(s["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for s in sources)


def test_each_function_has_a_role_of_its_own_with_no_wildcard_and_no_shared_secret(packaged):
    template = json.loads((packaged / "sam.json").read_text())
    resources = template["Resources"]
    functions = {
        name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"
    }
    roles = {name: f["Properties"]["Role"]["Fn::GetAtt"][0] for name, f in functions.items()}
    assert len(set(roles.values())) == len(functions)  # one role per function
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"
                and r not in [resources[role] for role in roles.values()]]  # fmt: skip
    for name, role in roles.items():
        [policy] = resources[role]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:  # granted in some stacks only (the HS256 key)
                condition, statement, _ = statement["Fn::If"]
                assert condition == "UseHs256", name
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                assert not action.endswith(":*") and action != "*", f"{name}: {action}"
            if statement["Resource"] == "*":  # X-Ray has no resources to scope a grant to
                assert all(a.startswith("xray:Put") for a in statement["Action"]), name
        logs = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "Logs"]
        assert logs[0]["Resource"] == {"Fn::GetAtt": [f"{name}Logs", "Arn"]}, name
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(variables) >= {"TABLE_NAME", "TOPIC_ARN", "WEBSOCKET_ENDPOINT", "TIMERS_QUEUE_URL"}
    assert '"JWT_SECRET"' not in json.dumps(template)  # no plain-text secret anywhere
    verifiers = {
        name for name, f in functions.items()
        if "AUTH_MODE" in f["Properties"].get("Environment", {}).get("Variables", {})
    }  # fmt: skip
    assert verifiers == {"JwtAuthorizer", "WebsocketConnect"}
    assert resources["JwtSecret"]["Condition"] == "UseHs256"  # OIDC stacks keep no secret
    assert "amazonaws.com" not in json.dumps(variables["WEBSOCKET_ENDPOINT"])


def test_names_come_from_the_stack_so_stages_live_side_by_side(packaged):
    template = json.loads((packaged / "sam.json").read_text())
    named = [
        (name, r["Properties"].get(key))
        for name, r in template["Resources"].items()
        if r["Type"] != "AWS::Lambda::Permission"  # refers to a function, names none
        for key in ("TableName", "TopicName", "QueueName", "FunctionName", "LogGroupName",
                    "AlarmName", "DashboardName")
        if key in r.get("Properties", {})
    ]  # fmt: skip
    assert len(named) > 30
    for name, value in named:
        assert "${AWS::StackName}" in value["Fn::Sub"], name
    assert template["Resources"]["RestAPI"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}


def test_event_sources_read_the_queues_this_stack_made(packaged):
    template = json.loads((packaged / "sam.json").read_text())
    for queue in registry.QUEUES:
        function = template["Resources"][_chalice_id(queue.handler)]["Properties"]
        [event] = function["Events"].values()
        assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue.logical, "Arn"]}


def test_the_websocket_deployment_changes_with_its_routes(packaged):
    from infra.finish import finish

    template = json.loads((packaged / "sam.json").read_text())
    [deployment] = [k for k in template["Resources"] if k.startswith("WebsocketAPIDeployment")]
    stage = template["Resources"]["WebsocketAPIStage"]["Properties"]
    assert stage["DeploymentId"] == {"Ref": deployment}
    changed = json.loads((packaged / "sam.json").read_text())
    changed["Resources"][deployment.replace(deployment, "WebsocketAPIDeployment")] = changed[
        "Resources"
    ].pop(deployment)
    changed["Resources"]["WebsocketAPIStage"]["Properties"]["DeploymentId"] = {
        "Ref": "WebsocketAPIDeployment"
    }
    changed["Resources"]["WebsocketMessageRoute"]["Properties"]["RouteKey"] = "other"
    [moved] = [k for k in finish(changed)["Resources"] if k.startswith("WebsocketAPIDeployment")]
    assert moved != deployment


def test_alarms_cover_every_dead_letter_queue_the_outbox_errors_and_throttling(packaged):
    template = json.loads((packaged / "sam.json").read_text())
    resources = template["Resources"]
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {
        d["Value"]["Fn::GetAtt"][0]
        for a in alarms
        for d in a.get("Dimensions", [])
        if d["Name"] == "QueueName"
    }
    dlqs = {k for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue" and k.endswith("DLQ")}
    assert watched == dlqs
    metrics = {a.get("MetricName") for a in alarms}
    assert {"OutboxOldestAgeSeconds", "5XXError", "Invocations"} <= metrics
    functions = {k for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    counted = {
        a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a.get("MetricName") == "Throttles"
    }
    assert counted == functions  # one throttle alarm per function
    [table] = [a for a in alarms if a["AlarmName"]["Fn::Sub"].endswith("-table-throttled")]
    assert {
        m["MetricStat"]["Metric"]["MetricName"] for m in table["Metrics"] if "MetricStat" in m
    } == {"ThrottledRequests"}
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)
    assert any(r["Type"] == "AWS::CloudWatch::Dashboard" for r in resources.values())
    for group in (r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"):
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def _chalice_id(handler: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in handler.split("_"))


def test_template_is_generated_from_the_registry():
    """infra/resources.json is exactly what `make infra` makes of base.json and the registry:
    a workflow or service added without regenerating it fails here."""
    from infra.generate import OUTPUT, generate, render

    assert OUTPUT.read_text() == render(generate(registry.QUEUES)), "run `make infra`"


def test_every_registered_queue_is_drained_by_the_app_and_wired_in_the_template():
    from chalice.app import SQSEventConfig

    drained = {s.queue: s.name for s in app.app.event_sources if isinstance(s, SQSEventConfig)}
    assert drained == {q.name: q.handler for q in registry.QUEUES}
    resources = load_template()["Resources"]
    for queue in registry.QUEUES:
        stacked = f"${{AWS::StackName}}-{queue.suffix}"
        assert resources[queue.logical]["Properties"]["QueueName"] == {"Fn::Sub": stacked}
        dlq = resources[f"{queue.logical}DLQ"]["Properties"]["QueueName"]
        assert dlq == {"Fn::Sub": f"{stacked}-dlq"}
        assert hasattr(app, queue.handler)  # Chalice packages the function as app.<handler>
    subscriptions = {
        r["Properties"]["Endpoint"]["Fn::GetAtt"][0]: r["Properties"]["FilterPolicy"]["type"]
        for r in resources.values()
        if r.get("Type") == "AWS::SNS::Subscription" and r["Properties"]["Protocol"] == "sqs"
    }
    assert subscriptions == {q.logical: list(q.types) for q in registry.QUEUES if q.types}


def test_the_wiring_refuses_what_would_lose_messages():
    from chalicelib.runtime import Command, Workflow, wiring

    orders = registry.WORKFLOWS["order"]
    lonely = Workflow(
        "lonely", orders.machine, orders.client_events, {},
        {**orders.commands, "x": Command("NOBODY_TAKES_THIS", lambda c, i: {})}, orders.view,
    )  # fmt: skip
    with pytest.raises(ValueError, match="no registered service takes"):
        wiring.queues({"lonely": lonely}, registry.SERVICES)
    with pytest.raises(ValueError, match="would reach both"):
        wiring.queues({"order": orders, "twin": _renamed(orders, "twin")}, registry.SERVICES)
    with pytest.raises(ValueError, match="lowercase"):
        wiring.workflow_queue(_renamed(orders, "Bad-Name"))


def test_each_workflow_and_service_declares_its_concurrency_within_the_budget():
    """A new workflow takes its queue's concurrency from its declaration (5 unless it says
    otherwise, 2 for a station), and the registry refuses what AWS would, and what goes
    over the documented budget, when it is declared rather than in a test of the template."""
    from chalicelib.runtime import wiring
    from chalicelib.stations import Station

    orders = registry.WORKFLOWS["order"]
    assert wiring.workflow_queue(_renamed(orders, "quiet")).concurrency == 5
    assert wiring.workflow_queue(_renamed(orders, "busy", concurrency=12)).concurrency == 12
    probe = Station("probe", "PROBE_THE_BUDGET", "BUDGET_PROBED")  # a name no one registers
    assert wiring.service_queue(probe).concurrency == 2
    assert wiring.service_queue(Station("bar", "POUR", "POURED", concurrency=3)).concurrency == 3
    with pytest.raises(ValueError, match="outside the 2-1000"):
        wiring.workflow_queue(_renamed(orders, "tiny", concurrency=1))
    with pytest.raises(ValueError, match="outside the 2-1000"):
        wiring.service_queue(Station("huge", "X", "Y", concurrency=1001))
    # as declared, before the registry sizes some for the load (tests/infra/test_sqs_concurrency.py)
    declared = sum(q.concurrency for q in wiring.queues(registry.WORKFLOWS, registry.SERVICES))
    assert declared <= registry.SQS_CONCURRENCY_BUDGET
    services = {**registry.SERVICES, "probe": probe}
    assert wiring.queues(registry.WORKFLOWS, services, budget=declared + 2)
    with pytest.raises(ValueError, match=f"up to {declared + 2} .* budget of {declared + 1}"):
        wiring.queues(registry.WORKFLOWS, services, budget=declared + 1)


def _renamed(workflow, name, **options):
    from chalicelib.runtime import Workflow

    return Workflow(
        name, workflow.machine, workflow.client_events, workflow.bus_events,
        workflow.commands, workflow.view, **options,
    )  # fmt: skip


def test_cloudformation_creates_the_storage_and_queues(aws_env):
    """moto's CloudFormation has no SNS subscriptions: the rest is deployed through it."""
    template = load_template()
    supported = {"AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::SQS::Queue"}
    body = {
        "AWSTemplateFormatVersion": template["AWSTemplateFormatVersion"],
        "Parameters": template["Parameters"],
        "Resources": {k: v for k, v in template["Resources"].items() if v.get("Type") in supported},
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(StackName="tropical", TemplateBody=json.dumps(body))
        stack = cloudformation.describe_stacks(StackName="tropical")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        table = boto3.client("dynamodb", region_name=REGION).describe_table(
            TableName="tropical-pizzas"
        )
        assert [i["IndexName"] for i in table["Table"]["GlobalSecondaryIndexes"]] == [
            "pending",
            "worklist",
            "owner",
        ]
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.get_queue_url(QueueName="tropical-kitchen-commands")["QueueUrl"]
        redrive = json.loads(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"][
                "RedrivePolicy"
            ]
        )
        assert redrive["maxReceiveCount"] == 5
        assert redrive["deadLetterTargetArn"].endswith("tropical-kitchen-commands-dlq")


@pytest.mark.parametrize(
    "event_type, queue",
    [
        ("MAKE_PIZZA", "KitchenQueue"),
        ("DELIVER_PIZZA", "DeliveryQueue"),
        ("PIZZA_READY", "OrderEventsQueue"),
        ("PIZZA_DELIVERED", "OrderEventsQueue"),
        ("SOMETHING_ELSE", None),
    ],
)
def test_each_message_type_reaches_its_queue_and_no_other(aws, event_type, queue):
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    sns.publish(
        TopicArn=aws.refs["EventsTopic"],
        Message=json.dumps({"type": event_type}),
        MessageAttributes={"type": {"DataType": "String", "StringValue": event_type}},
    )
    for logical, url in aws.queue_urls.items():
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        expected = 1 if logical == queue else 0
        assert len(got) == expected, f"{event_type} in {logical}"
        if got:
            assert json.loads(got[0]["Body"]) == {"type": event_type}  # raw delivery


@pytest.fixture
def aws_env(monkeypatch):
    from tests.conftest import BASE_ENV

    for key, value in BASE_ENV.items():
        monkeypatch.setenv(key, value)


def test_provisioner_creates_what_the_template_lists(aws):
    kinds = {r.get("Type") for r in load_template()["Resources"].values()}
    assert {
        "AWS::DynamoDB::Table",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
        "AWS::SNS::Subscription",
    } <= kinds
    queues = [
        r for r in load_template()["Resources"].values() if r.get("Type") == "AWS::SQS::Queue"
    ]
    # each queue, its dead-letter queue, and the topic's delivery DLQ
    assert len(aws.queue_urls) == len(queues) == 2 * len(registry.QUEUES) + 1


def test_the_package_is_self_contained_and_ships_bytecode(packaged, tmp_path):
    import zipfile

    from infra.precompile import precompile

    archive = tmp_path / "deployment.zip"
    shutil.copy(packaged / "deployment.zip", archive)
    assert precompile(archive) > 50
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "code")
    for module in ("app.py", "chalicelib/statechart/machine.py", "pydantic/main.py"):
        cached = module.replace(".py", "").rsplit("/", 1)
        folder = f"{cached[0]}/__pycache__/" if len(cached) == 2 else "__pycache__/"
        assert any(n.startswith(folder + cached[-1] + ".") and n.endswith(".pyc") for n in names)
    # as on Lambda: only the package (no site-packages), nothing written at import
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import app, pydantic; print(pydantic.__file__)"],
        cwd=tmp_path / "code", env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ["PATH"]},
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(tmp_path / "code"))


def test_make_infra_says_what_it_added_removed_and_changed():
    from infra.generate import changes

    before = {"A": {"Type": "x"}, "B": {"Type": "y"}, "C": {"Type": "z"}}
    after = {"A": {"Type": "x"}, "C": {"Type": "z2"}, "D": {"Type": "w"}, "E": {"Type": "v"}}
    assert changes(before, after).splitlines() == [
        "resources.json: 4 resources", "  added 2: D, E", "  removed 1: B", "  changed 1: C",
    ]  # fmt: skip
    assert changes(after, after) == "resources.json: up to date (4 resources)"


@pytest.mark.parametrize("name", ["base.json", "resources.json"])
def test_template_files_have_no_key_twice(name):
    """JSON keeps the last of two equal keys: two branches that each add a top-level
    section (``Rules``) merge without a conflict and one silently disappears."""

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), (
            f"{name}: {sorted(k for k in keys if keys.count(k) > 1)}"
        )
        return dict(pairs)

    json.loads((ROOT / "infra" / name).read_text(), object_pairs_hook=unique)
