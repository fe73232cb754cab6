"""Deferred imports under concurrency: the local stack's first concurrent requests made the
Powertools Logger and the first metric at once, in threads, and Python handed one thread
Powertools half initialised ("cannot import name 'Metrics' from partially initialized
module"): a 500 after the commit (make chaos, seed 20261203)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# each process starts cold: twelve threads make their first log line or first metric at
# about the same moment, as twelve concurrent requests to a fresh local stack do
FIRST_USE = textwrap.dedent(
    """
    import random, threading, time
    from chalicelib.runtime import journal, metrics
    errors, gate = [], threading.Barrier(12)
    def first(i):
        gate.wait()
        time.sleep(random.random() * 0.03)
        try:
            journal.problem("first") if i % 2 else metrics.count("First", 1)
        except Exception as error:
            errors.append(repr(error))
    threads = [threading.Thread(target=first, args=(i,)) for i in range(12)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(len(errors), errors[:1])
    """
)

HEAVY = ("boto3", "botocore", "aws_lambda_powertools", "jwt")


def test_first_log_lines_and_metrics_made_by_many_threads_at_once_all_succeed():
    # before the fix about half such processes failed; eight all passing by luck: < 1%
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(8)
    ]
    results = [run.communicate(timeout=120)[0].strip().splitlines()[-1] for run in runs]
    assert all(r.startswith("0 ") for r in results), results


def test_every_deferred_import_of_a_heavy_package_goes_through_load():
    """A function-level ``import boto3`` (or Powertools, PyJWT) bypasses the lock."""
    bypass = []
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                names = (
                    [a.name for a in inner.names]
                    if isinstance(inner, ast.Import)
                    else [inner.module or ""]
                    if isinstance(inner, ast.ImportFrom) and not inner.level
                    else []
                )
                bypass += [
                    f"{path.relative_to(ROOT)}:{inner.lineno} {name}"
                    for name in names
                    if name.split(".")[0] in HEAVY
                ]
    assert not bypass, bypass
