"""Finish the template `chalice package` wrote (dist/<stage>/sam.json), in place.

What a merge template cannot say, because merging adds keys and never replaces a value:

- each SQS event source reads the queue this stack made (``Fn::GetAtt``), not the ARN
  Chalice built from the decorator's queue name (the local stack's name);
- the websocket API's deployment gets a logical id that changes with its routes, so
  CloudFormation deploys the API again when a route changes (a fixed id is created once
  and never updated).

Usage: python infra/finish.py dist/<stage>/sam.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.registry import QUEUES


def finish(template: dict[str, Any]) -> dict[str, Any]:
    """The template with its event sources and websocket deployment fixed."""
    resources = template["Resources"]
    by_handler = {q.handler: q for q in QUEUES}
    for resource in resources.values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        handler = resource["Properties"]["Handler"].removeprefix("app.")
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                event["Properties"]["Queue"] = {"Fn::GetAtt": [by_handler[handler].logical, "Arn"]}
    deployment = resources.pop("WebsocketAPIDeployment", None)
    if deployment is not None:
        routes = {k: v for k, v in resources.items() if v["Type"].startswith("AWS::ApiGatewayV2")}
        digest = hashlib.sha256(json.dumps(routes, sort_keys=True).encode()).hexdigest()[:10]
        logical = f"WebsocketAPIDeployment{digest}"
        resources[logical] = deployment
        for resource in resources.values():
            properties = resource.get("Properties", {})
            if properties.get("DeploymentId") == {"Ref": "WebsocketAPIDeployment"}:
                properties["DeploymentId"] = {"Ref": logical}
    return template


def main(path: str) -> None:
    target = Path(path)
    target.write_text(json.dumps(finish(json.loads(target.read_text())), indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
