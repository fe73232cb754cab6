"""Add compiled bytecode to a Lambda deployment package.

Lambda's code directory is read-only, so without ``__pycache__`` in the zip every
cold start compiles every module it imports (ours and pydantic's). The .pyc files
use unchecked-hash invalidation, so zip timestamps cannot make them stale. They
must be built with the Python version of the Lambda runtime (chalice package
targets the version it runs under).

Usage: python infra/precompile.py dist/<stage>/deployment.zip
"""

from __future__ import annotations

import importlib.util
import py_compile
import stat
import sys
import tempfile
import zipfile
from pathlib import Path


def precompile(archive: Path) -> int:
    """Rewrite ``archive`` with an unchecked-hash .pyc beside every .py (replacing any it
    held); returns how many were written."""
    added = 0
    with tempfile.TemporaryDirectory() as work:
        staged = Path(work) / "staged.zip"
        with (
            zipfile.ZipFile(archive) as source,
            zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as target,
        ):
            # A .pyc the package already holds (chalice zips chalicelib/__pycache__ from
            # the working tree) is timestamp-checked against its source's mtime, which
            # the zip keeps to 2 s: stale about half the time, so it is replaced.
            ours = {
                importlib.util.cache_from_source(n) for n in source.namelist() if n.endswith(".py")
            }
            for info in source.infolist():
                if info.filename in ours:
                    continue
                data = source.read(info)
                target.writestr(info, data)
                if not info.filename.endswith(".py"):
                    continue
                cached = importlib.util.cache_from_source(info.filename)
                module = Path(work) / "module.py"
                module.write_bytes(data)
                compiled = Path(work) / "module.pyc"
                try:
                    py_compile.compile(
                        str(module), cfile=str(compiled), dfile=info.filename, doraise=True,
                        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                    )  # fmt: skip
                except py_compile.PyCompileError:
                    continue  # e.g. a template or test file with other syntax: leave as is
                target.writestr(_readable(cached, info), compiled.read_bytes())
                added += 1
        staged.replace(archive)
    return added


def _readable(name: str, source: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """An entry for ``name`` dated as its source, mode 0644. ``writestr`` with a bare
    name writes 0600: Lambda runs the code as another user than the files' owner, who
    then cannot read the bytecode and compiles every module at each cold start."""
    entry = zipfile.ZipInfo(name, date_time=source.date_time)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # unix: the mode below is read
    entry.external_attr = (stat.S_IFREG | 0o644) << 16
    return entry


if __name__ == "__main__":
    count = precompile(Path(sys.argv[1]))
    print(f"{sys.argv[1]}: added bytecode for {count} modules")
