"""The long comparison of random parent + children systems with XState's actor system.

``make conformance-actors`` runs it (ACTOR_SYSTEMS, ACTOR_COMMANDS, ACTOR_SEED and
ACTOR_MINUTES set its size, first seed and time budget). Systems go to XState in
chunks, one Node process per chunk, on one core; it stops after the given number
of systems or minutes, prints the first differences with their seeds, and exits 1
if any differ. Systems whose only difference is the documented one where a step
throws (see systems.thrown_alike) are counted apart, not as differences.

    python -m tests.statechart.actor_long_run --systems 5000 --minutes 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from .actor_generator import random_system
from .conformance import xstate_available
from .systems import first_system_difference, run_python_system, run_xstate_systems, thrown_alike

CHUNK = 25
SLOW_SECONDS = 20


def _with_xstate(cases: list[dict], slow: list[str]) -> list[tuple[dict, dict]]:
    """Each case with XState's result; a chunk that runs too long is run case by case,
    and a case XState takes over SLOW_SECONDS on is left out (named in ``slow``)."""
    try:
        return list(
            zip(cases, run_xstate_systems(cases, timeout=CHUNK * SLOW_SECONDS), strict=True)
        )
    except subprocess.TimeoutExpired:
        pass
    paired = []
    for case in cases:
        try:
            paired.append((case, run_xstate_systems([case], timeout=SLOW_SECONDS)[0]))
        except subprocess.TimeoutExpired:
            slow.append(case["name"])
    return paired


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; 0 when every system matched XState, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=5000)
    parser.add_argument("--commands", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--minutes", type=float, default=20.0)
    args = parser.parse_args(argv)
    missing = xstate_available()
    if missing:
        print(f"the actor comparison needs Node and xstate@5: {missing}", file=sys.stderr)
        return 2
    start = time.monotonic()
    compared = thrown = actors = events = 0
    differences: list[str] = []
    seed = args.seed
    end = args.seed + args.systems
    slow: list[str] = []
    while seed < end and time.monotonic() - start < args.minutes * 60:
        cases = [random_system(s, args.commands) for s in range(seed, min(seed + CHUNK, end))]
        seed += len(cases)
        for case, theirs in _with_xstate(cases, slow):
            compared += 1
            if compared % 500 == 0:
                print(f"... {compared} systems, {len(differences)} differ", flush=True)
            for step in theirs.get("steps", []):
                events += len(step["trace"])
            actors += len({a["path"] for s in theirs.get("steps", []) for a in s["tree"]})
            ours = run_python_system(case)
            if ours == theirs:
                continue
            if thrown_alike(ours, theirs):
                thrown += 1
                continue
            where = first_system_difference(ours, theirs, case["commands"])
            differences.append(f"{case['name']}: {where}")
    seconds = time.monotonic() - start
    print(
        f"{compared} systems x {args.commands} commands (seeds {args.seed}..{seed - 1}; "
        f"{actors} actors, {events} traced events) in {seconds:.0f} s: "
        f"{len(differences)} differ from XState, {thrown} differ only where a step threw, "
        f"{len(slow)} left out as too slow in XState ({', '.join(slow) or 'none'})"
    )
    for line in differences[:5]:
        print(line)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
