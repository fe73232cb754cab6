"""The packaged template through the real SAM transform: what CloudFormation would create."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from infra.expand import BUCKET, UnknownManagedPolicy, expand
from infra.graph import cycle, dangling
from tests.conftest import REGION

BIN = Path(sys.executable).parent
# cfn-lint findings on the expansion that are accepted, each with why. Errors never are.
# W1028 "Fn::If ... is not reachable": the nested Fn::If of the issuer settings (UseExistingPool
# / MakeUserPool) that the transform copies from Globals into every function; harmless (the
# branch is only dead), left to the owner of the sign-in settings.
ACCEPTED_WARNINGS = {"W1028"}


def test_transform_leaves_no_serverless_resource_and_code_points_at_the_packaged_zip(
    expanded, packaged
):
    kinds = Counter(r["Type"] for r in expanded["Resources"].values())
    assert not [k for k in kinds if k.startswith("AWS::Serverless::")]
    assert "Transform" not in expanded
    functions = [r for r in expanded["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 14
    codes = {json.dumps(f["Properties"]["Code"], sort_keys=True) for f in functions}
    digest = hashlib.md5((packaged / "deployment.zip").read_bytes()).hexdigest()
    assert codes == {json.dumps({"S3Bucket": BUCKET, "S3Key": digest}, sort_keys=True)}
    # one event source mapping per SQS queue a function drains, the sweeper's schedule
    assert kinds["AWS::Lambda::EventSourceMapping"] == 8
    assert kinds["AWS::Events::Rule"] == 1


def test_expansion_passes_cfn_lint(expanded, tmp_path):
    path = tmp_path / "expanded.json"
    path.write_text(json.dumps(expanded, indent=2))
    done = subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "parseable", str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode in (0, 4), done.stdout + done.stderr  # 2: errors, 4: warnings
    rules = set(re.findall(r":([EWI]\d{4}):", done.stdout))
    assert rules <= ACCEPTED_WARNINGS, done.stdout


def test_every_reference_names_something_that_exists_and_nothing_depends_on_itself(expanded):
    assert dangling(expanded) == []
    assert cycle(expanded) is None


def test_walk_catches_a_dangling_reference_and_a_cycle(expanded):
    broken = copy.deepcopy(expanded)
    resources = broken["Resources"]
    resources["APIHandler"]["Properties"]["Description"] = {"Fn::Sub": "${NoSuchQueue.Arn}"}
    resources["OrdersTable"]["DependsOn"] = ["APIHandler"]  # the handler refers to the table
    assert dangling(broken) == ["Resources.APIHandler: att 'NoSuchQueue' does not exist"]
    found = cycle(broken)
    assert found is not None and found[0] == found[-1] and "OrdersTable" in found


def test_sub_variables_and_escapes_are_not_references():
    template = {
        "Resources": {
            "A": {
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "TopicName": {
                        "Fn::Sub": ["${Local}-${!Literal}-${AWS::Region}", {"Local": "x"}]
                    }
                },
            },
        }
    }
    assert dangling(template) == []
    template["Resources"]["A"]["Properties"]["DisplayName"] = {"Ref": "Missing"}
    assert dangling(template) == ["Resources.A: ref 'Missing' does not exist"]


def test_managed_policy_names_resolve_offline_and_an_unknown_one_is_refused():
    def template(policy: str) -> dict:
        return {
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                "Runtime": "python3.13", "Handler": "app.handler", "CodeUri": "./code.zip",
                "Policies": [policy]}}},
        }  # fmt: skip

    role = expand(template("AWSLambdaBasicExecutionRole"), region=REGION)["Resources"]["FnRole"]
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in json.dumps(
        role["Properties"]["ManagedPolicyArns"]
    )
    with pytest.raises(UnknownManagedPolicy):
        expand(template("NoSuchManagedPolicyAnywhere"), region=REGION)
