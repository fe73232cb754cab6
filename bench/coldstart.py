"""Cold start with the logs-and-metrics dependency (Powertools): what importing the app
costs against `import boto3, chalice`, and what loading Powertools adds when the first
log line or metric of an invocation needs it (it is not imported at cold start).

Usage: python -m bench.coldstart [--runs N]   (writes its own section of BENCHMARKS.md,
replacing an earlier one, leaving the other sections as they are)
"""

from __future__ import annotations

import argparse
import compileall
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.25
HEADING = "## Cold start with logs and metrics (Powertools)"
COMMANDS = {
    "bare": "pass",
    "boto3 + chalice": "import boto3, chalice",
    "app": "import app",
    "app + Powertools": (
        "import app; from chalicelib.runtime import journal, metrics; journal._logger(); "
        "import aws_lambda_powertools.metrics"
    ),
}


def measure(runs: int) -> dict[str, float]:
    """Median wall-clock ms of a fresh interpreter running each command (interleaved, so
    a busy machine slows them alike), with the bytecode compiled as a package ships it."""
    compileall.compile_dir(ROOT / "chalicelib", quiet=1)
    compileall.compile_file(ROOT / "app.py", quiet=1)
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, code in COMMANDS.items():
            begin = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            samples[name].append((time.perf_counter() - begin) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def section(ms: dict[str, float], runs: int) -> str:
    """The BENCHMARKS.md section for these medians."""
    base = ms["boto3 + chalice"]
    ratio, loaded = ms["app"] / base, ms["app + Powertools"] / base
    powertools = ms["app + Powertools"]
    verdict = "met" if ratio <= TARGET else "MISSED"
    return f"""{HEADING}

`python -c "import app"` against `python -c "import boto3, chalice"`, with
aws-lambda-powertools installed (median ms of {runs} fresh processes each, interleaved,
bytecode compiled; `python -m bench.coldstart`):

| command | ms | against boto3 + chalice |
|---|---:|---:|
| `pass` (bare Python) | {ms["bare"]:.0f} | |
| `import boto3, chalice` | {base:.0f} | 1.00 |
| `import app` | {ms["app"]:.0f} | **{ratio:.2f}** (target {TARGET}: {verdict}) |
| `import app` + Powertools Logger and Metrics loaded | {powertools:.0f} | {loaded:.2f} |

The app does not import Powertools at cold start: the journal loads the Logger with the
first line it writes, the metrics module the EMF provider with the first metric (at the
latest the invocation's `RequestLatency`, recorded as it ends). So the first invocation
of a process pays the difference between the last two rows once, after its work is done
for a request that logs nothing; the authorizer, which records no metric, never does.
"""


def write(text: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace this script's section of ``path`` (up to the next ``## ``), or append it."""
    current = path.read_text()
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current, count=1).rstrip() + "\n"
    else:
        updated = current.rstrip() + "\n\n" + text
    path.write_text(updated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart")
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args(argv)
    ms = measure(args.runs)
    write(section(ms, args.runs))
    print(", ".join(f"{name} {value:.0f} ms" for name, value in ms.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
