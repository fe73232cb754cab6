"""The packaged template, built once per test session as `make package` builds it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    """`chalice package` with the merge template, offline (no credentials), as make package."""
    out = tmp_path_factory.mktemp("package") / "dev"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_DEFAULT_REGION"] = REGION
    work = tmp_path_factory.mktemp("project")
    for name in ("app.py", "requirements.txt", "chalicelib", ".chalice", "infra"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    shutil.rmtree(work / ".chalice" / "deployments", ignore_errors=True)
    subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", "dev", "--merge-template",
         "infra/resources.json", str(out)],
        cwd=work, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "infra/finish.py", str(out / "sam.json")], cwd=work, check=True, timeout=60
    )
    return out


@pytest.fixture(scope="session")
def template(packaged) -> dict[str, Any]:
    """The packaged SAM template (dist/<stage>/sam.json), parsed."""
    return json.loads((packaged / "sam.json").read_text())


@pytest.fixture(scope="session")
def expanded(packaged, template) -> dict[str, Any]:
    """The packaged template through the real SAM transform (infra/expand.py), as
    CloudFormation would create it, with CodeUri as `aws cloudformation package` writes it."""
    from infra.expand import expand

    return expand(template, region=REGION, base=packaged)


@pytest.fixture(scope="session")
def lambda_package(packaged, tmp_path_factory) -> tuple[Path, Path]:
    """(the zip as `make package` finishes it, with bytecode; the code unpacked as Lambda
    unpacks it: each file with the mode its zip entry records) in a folder any user may
    read, as Lambda's runtime user reads /var/task."""
    import tempfile
    import zipfile

    from infra.precompile import precompile

    archive = tmp_path_factory.mktemp("zip") / "deployment.zip"
    shutil.copy(packaged / "deployment.zip", archive)
    precompile(archive)
    code = Path(tempfile.mkdtemp(prefix="task-"))
    code.chmod(0o755)
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            path = Path(z.extract(info, code))
            mode = (info.external_attr >> 16) & 0o777
            if not info.is_dir() and mode:
                path.chmod(mode)
    for folder in [code, *(p for p in code.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    yield archive, code
    shutil.rmtree(code, ignore_errors=True)
