"""A workflow's definition as clients see it (``GET /workflows/{name}``): its chart, the
versions still declared, which one new instances get, and how many instances are in
flight on each, read from the sharded counters (one query per shard; no scan)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import store
from ..versions import Workflow
from .inspection import workflow_named


def describe(workflows: Mapping[str, Workflow], name: str) -> dict[str, Any]:
    """The latest chart (XState JSON and Mermaid) with every declared version, the one new
    instances start on (``startsOn``: the latest unless a deploy pins an older one) and
    the instances in flight per version; NotFound for an unknown
    name. Counts of versions no longer declared are listed too (instances stranded there
    cannot run until their version is declared again)."""
    workflow = workflow_named(workflows, name)
    counts = store.in_flight(workflow.name)
    declared = workflow.versions.describe()
    versions = [
        {**v, "latest": v["version"] == workflow.versions.latest.number,
         "startsOn": v["version"] == workflow.starting.number,
         "inFlight": counts.get(v["version"], 0)}
        for v in declared
    ]  # fmt: skip
    known = {v["version"] for v in declared}
    versions += [
        {"version": n, "declared": False, "inFlight": c}
        for n, c in sorted(counts.items())
        if n not in known and c
    ]
    machine = workflow.machine
    return {
        "name": workflow.name,
        "id": machine.id,
        "latest": workflow.versions.latest.number,
        "startsOn": workflow.starting.number,
        "versions": versions,
        "inFlight": sum(counts.values()),
        "definition": machine.to_dict(),
        "mermaid": machine.to_mermaid(),
    }
