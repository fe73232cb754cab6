"""The deployment package as Lambda runs it: unpacked with each entry's mode, imported by
a user that does not own the files (Lambda's runtime user does not own /var/task)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# "Lambda requires read permissions for all files in the deployment package"
# (files 644, folders 755): https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-deployment.html
WORLD_READABLE = 0o004


@pytest.fixture(scope="session")
def interpreter_for_nobody() -> Iterator[Path]:
    """This Python (the version the bytecode is built for) where user nobody may run it:
    its installation hard-linked (or copied) into a world-readable folder."""
    if shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs root and runuser to import as another user")
    base = Path(sys.base_prefix)
    home = Path(tempfile.mkdtemp(prefix="python-"))
    home.chmod(0o755)
    for part in ("bin", "lib"):
        done = subprocess.run(["cp", "-al", str(base / part), str(home / part)])
        if done.returncode != 0:
            shutil.copytree(base / part, home / part, symlinks=True, dirs_exist_ok=True)
    for folder in [home.parent, *home.parents]:
        if folder == Path("/"):
            break
        if not folder.stat().st_mode & 0o001:
            pytest.skip(f"{folder} is not searchable by other users")
    yield home / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    shutil.rmtree(home, ignore_errors=True)


def test_every_entry_of_the_package_is_readable_by_any_user(lambda_package):
    archive, _ = lambda_package
    with zipfile.ZipFile(archive) as z:
        unreadable = [
            i.filename
            for i in z.infolist()
            if not i.is_dir() and not (i.external_attr >> 16) & WORLD_READABLE
        ]
    assert not unreadable, f"{len(unreadable)} entries others cannot read: {unreadable[:3]}"


def test_an_unprivileged_user_imports_the_app_from_bytecode(lambda_package, interpreter_for_nobody):
    _, code = lambda_package
    libraries = f"LD_LIBRARY_PATH={interpreter_for_nobody.parent.parent / 'lib'}"
    done = subprocess.run(
        ["runuser", "-u", "nobody", "--", "env", "-i", libraries,
         str(interpreter_for_nobody), "-S", "-v", "-c", "import app"],
        cwd=code, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    ours = re.escape(str(code))
    from_bytecode = re.findall(rf"# code object from '?{ours}/(\S+?\.pyc)'?$", done.stderr, re.M)
    from_source = re.findall(rf"# code object from '?{ours}/(\S+?\.py)'?$", done.stderr, re.M)
    tag = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
    assert f"__pycache__/app.{tag}.pyc" in from_bytecode
    assert any(m.startswith("chalicelib/runtime/__pycache__/") for m in from_bytecode)
    assert any(m.startswith("chalice/__pycache__/") for m in from_bytecode)  # a dependency's
    assert not from_source, f"compiled at import: {from_source[:5]}"


def test_bytecode_the_package_already_holds_is_replaced(tmp_path):
    """chalice zips chalicelib/__pycache__ as the working tree has it: timestamp-checked
    .pyc files that a zip's 2-second mtimes make stale, so Lambda would compile again."""
    import importlib.util

    from infra.precompile import precompile

    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("chalicelib/mod.py", "X = 1\n")
        z.writestr(importlib.util.cache_from_source("chalicelib/mod.py"), b"stale")
    assert precompile(archive) == 1
    with zipfile.ZipFile(archive) as z:
        [cached] = [n for n in z.namelist() if n.endswith(".pyc")]
        data = z.read(cached)
    assert data != b"stale"
    assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, unchecked (PEP 552)
