"""API Gateway's stage throttling is a template parameter, raised with the load."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _template() -> dict:
    return json.loads((ROOT / "infra" / "resources.json").read_text())


def test_both_stages_take_the_per_method_rate_and_burst_from_parameters():
    template = _template()
    rest = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"][0]
    websocket = template["Resources"]["WebsocketAPIStage"]["Properties"]["DefaultRouteSettings"]
    for settings in (rest, websocket):
        assert settings["ThrottlingRateLimit"] == {"Ref": "ApiRatePerMethod"}
        assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiBurstPerMethod"}


def test_the_parameters_stay_within_the_account_quota():
    """A stage's limits "can't be higher than the AWS throttling limits": the account's
    10,000 requests per second with a bucket of 5,000 (API Gateway quotas)."""
    parameters = _template()["Parameters"]
    rate, burst = parameters["ApiRatePerMethod"], parameters["ApiBurstPerMethod"]
    assert rate["MinValue"] >= 1 and rate["MaxValue"] <= 10_000
    assert burst["MinValue"] >= 1 and burst["MaxValue"] <= 5_000
    assert rate["MinValue"] <= rate["Default"] <= rate["MaxValue"]
    assert burst["Default"] >= rate["Default"]  # a second's requests fit the bucket
