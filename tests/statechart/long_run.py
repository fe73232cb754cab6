"""The long conformance run: many random machines, each step compared with XState.

``make conformance`` runs it (CONFORMANCE_MACHINES, CONFORMANCE_EVENTS and
CONFORMANCE_SEED set the size and the first seed). Machines are handled in
chunks, one XState process per chunk, spread over the CPUs; the first
differences are printed with their seeds, and the exit status is 1 if any.

    python -m tests.statechart.long_run --machines 20000 --events 25
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from .conformance import first_difference, run_python, run_xstate, xstate_available
from .generator import random_case

CHUNK = 250


def check_chunk(first_seed: int, count: int, events: int) -> tuple[int, list[str]]:
    """Compare machines ``first_seed ..`` with XState; (machines compared, differences)."""
    cases = [random_case(seed, events) for seed in range(first_seed, first_seed + count)]
    differences = []
    for case, theirs in zip(cases, run_xstate(cases), strict=True):
        ours = run_python(case)
        if ours != theirs:
            mode = "restored" if case["restore"] else "in memory"
            where = first_difference(ours, theirs, case["events"])
            differences.append(f"{case['name']} ({mode}): {where}")
    return len(cases), differences


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; 0 when every machine matched XState, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    missing = xstate_available()
    if missing:
        print(f"conformance needs Node and xstate@5: {missing}", file=sys.stderr)
        return 2
    start = time.monotonic()
    end = args.seed + args.machines
    chunks = [(s, min(CHUNK, end - s), args.events) for s in range(args.seed, end, CHUNK)]
    compared = 0
    differences: list[str] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for done, found in pool.map(check_chunk, *zip(*chunks, strict=True)):
            compared += done
            differences += found
            if compared % 2000 < CHUNK:
                print(f"... {compared} machines, {len(differences)} differ", flush=True)
    seconds = time.monotonic() - start
    print(
        f"{compared} machines x {args.events} events (seeds {args.seed}..{end - 1}, even "
        f"seeds restored from JSON, odd in memory) in {seconds:.0f} s: "
        f"{len(differences)} differ from XState"
    )
    for line in differences[:5]:
        print(line)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
