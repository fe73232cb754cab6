"""K concurrent writers on one instance, each sending one event once (no client retry):
how many get through, the worst latency, and the most attempts one request needed.

Run: ``python -m bench.writers`` (16 and 64 writers, 3 rounds each), against the local
stack's serialised moto server. A lost race is retried inside the request with
full-jitter backoff for ``COMMIT_RACE_SECONDS`` (5 s); a writer that still loses gets
409 Conflict. Results go to README ("Concurrent writers on one instance").
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from typing import Any

from pydantic import BaseModel, ConfigDict

from bench.system import local_aws
from chalicelib import runtime
from chalicelib.runtime import CLIENT, Conflict, Incoming, Workflow, journal
from chalicelib.statechart import Machine, assign


class _NoPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")


def counter() -> Workflow:
    """One state taking ADD for ever: every writer's event is allowed, only races remain."""
    chart = {"id": "counter", "initial": "open", "context": {"n": 0},
             "states": {"open": {"on": {"ADD": {"actions": ["add"]}}}}}  # fmt: skip
    machine = Machine(chart, actions={"add": assign(n=lambda c, e: c["n"] + 1)})
    return Workflow(
        "counter", machine, {"ADD": _NoPayload}, {}, {},
        lambda snapshot, meta: {"n": snapshot.context["n"], "version": meta["version"]},
    )  # fmt: skip


def round_of(workflow: Workflow, instance_id: str, writers: int) -> dict[str, Any]:
    """``writers`` threads released together, each sending ADD once."""
    runtime.start(workflow, instance_id, "bench", {}, Incoming({"type": "ADD"}, "s", CLIENT))
    barrier = threading.Barrier(writers)
    took: list[float] = []
    refused: list[str] = []
    failed: list[str] = []
    attempts: list[int] = []
    real = journal.transition

    def count(**fields: Any) -> None:
        attempts.append(int(fields.get("attempt", 1)))
        real(**fields)

    journal.transition = count
    try:

        def writer(n: int) -> None:
            barrier.wait()
            started = time.perf_counter()
            try:
                runtime.send(
                    workflow,
                    instance_id,
                    Incoming({"type": "ADD"}, f"{instance_id}.w{n}", CLIENT, keyed=True),
                )
            except Conflict as error:
                refused.append(error.message)
            except Exception as error:  # noqa: BLE001 - counted and shown
                failed.append(repr(error)[:200])
            took.append(time.perf_counter() - started)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        journal.transition = real
    final = runtime.read(workflow, instance_id, None).snapshot.context["n"]
    return {
        "writers": writers, "committed": final - 1, "refused": len(refused),
        "failed": sorted(set(failed)),
        "max_seconds": round(max(took), 2), "median_seconds": round(statistics.median(took), 2),
        "max_attempts": max(attempts[1:], default=0),
    }  # fmt: skip


def main(rounds: int = 3) -> list[dict[str, Any]]:
    import logging

    logging.getLogger("workflow").setLevel(logging.ERROR)
    results = []
    with local_aws():
        workflow = counter()
        for writers in (16, 64):
            for r in range(rounds):
                results.append(round_of(workflow, f"w{writers}-{r}", writers))
                print(json.dumps(results[-1]), flush=True)
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
