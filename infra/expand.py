"""Expand the packaged SAM template into the CloudFormation that AWS would create, offline.

Runs the real SAM translator (``aws-sam-translator``, the code behind the
``AWS::Serverless-2016-10-31`` transform) on dist/<stage>/sam.json after rewriting each
local artifact as ``aws cloudformation package`` does. From AWS's CLI reference for
``aws cloudformation package``: "The command returns a copy of your template, replacing
references to local artifacts with the S3 location where the command uploaded the
artifacts", among them "``CodeUri`` property for the ``AWS::Serverless::Function``
resource". The CLI names the object by the MD5 of the file it uploads; so does this.

No AWS account is needed: the translator's managed-policy lookup (``iam:ListPolicies``)
is replaced by the map of AWS managed policies the translator itself bundles.

Usage: python -m infra.expand dist/<stage>/sam.json > expanded.json
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.parser.parser import Parser
from samtranslator.translator.arn_generator import ArnGenerator
from samtranslator.translator.translator import Translator

BUCKET = "tropical-pizzas-artifacts"
REGION = "us-east-1"
# the properties ``aws cloudformation package`` uploads, for the resource types we use
ARTIFACTS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
}


class UnknownManagedPolicy(KeyError):
    """A ``Policies`` entry names a managed policy the bundled map does not know."""


class OfflinePolicies:
    """The translator's managed-policy map without IAM: the AWS managed policies
    aws-sam-translator bundles for the partition. Unknown names raise, where the real
    transform would pass them on as they are and fail at deploy time."""

    def __init__(self, partition: str = "aws") -> None:
        self.known = get_bundled_managed_policy_map(partition) or {}

    def load(self) -> dict[str, str]:
        return _Strict(self.known)


class _Strict(dict):
    def get(self, name: Any, default: Any = None) -> Any:
        if name not in self:
            raise UnknownManagedPolicy(f"managed policy {name!r} is not an AWS managed policy")
        return self[name]


def artifact_uri(path: Path, bucket: str = BUCKET) -> str:
    """``s3://bucket/<md5 of the file>``: where ``aws cloudformation package`` puts it."""
    digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    return f"s3://{bucket}/{digest}"


def packaged_for_s3(
    template: dict[str, Any], base: Path | None = None, bucket: str = BUCKET
) -> dict[str, Any]:
    """A copy of ``template`` with each local artifact path replaced by its S3 URI.

    Paths are relative to ``base`` (the template's folder); when ``base`` is None or the file
    is not there, the key is the MD5 of the path itself (the template is checked, not the zip).
    """
    result = copy.deepcopy(template)
    for resource in result.get("Resources", {}).values():
        prop = ARTIFACTS.get(resource.get("Type"))
        properties = resource.get("Properties", {})
        local = properties.get(prop) if prop else None
        if not isinstance(local, str) or local.startswith("s3://"):
            continue
        file = (base / local) if base is not None else None
        if file is not None and file.is_file():
            properties[prop] = artifact_uri(file, bucket)
        else:
            digest = hashlib.md5(local.encode(), usedforsecurity=False).hexdigest()
            properties[prop] = f"s3://{bucket}/{digest}"
    return result


def expand(
    packaged: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    region: str = REGION,
    base: Path | None = None,
) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of ``packaged`` (not modified).

    Local ``CodeUri`` paths become ``s3://`` URIs first (``base``: the template's folder, to
    hash the real zip). Raises ``samtranslator.model.exceptions.InvalidDocumentException``
    (its ``causes`` say which resource and why) when the transform rejects the template.
    """
    template = packaged_for_s3(packaged, base)
    session = boto3.session.Session(region_name=region)
    partition = ArnGenerator.get_partition_name(region)
    translator = Translator(None, Parser(), boto_session=session)
    policies = OfflinePolicies(partition)
    expanded = translator.translate(
        template, parameter_values=dict(parameters or {}), get_managed_policy_map=policies.load
    )
    # the translator shares one Globals object among all functions: a copy of its own each
    return json.loads(json.dumps(expanded))


def main(path: str) -> None:
    source = Path(path)
    expanded = expand(json.loads(source.read_text()), base=source.parent)
    json.dump(expanded, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
