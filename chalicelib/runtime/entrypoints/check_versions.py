"""The replay check from the command line (``make check-versions``).

    python -m chalicelib.runtime.check_versions check --registry MODULE:NAME [--files DIR]
    python -m chalicelib.runtime.check_versions export --workflow order --out DIR
    python -m chalicelib.runtime.check_versions lock --registry MODULE:NAME

``check`` replays histories against the workflows of a registry (the candidate): from
exported JSON files (``--files``, any number of folders), or, without them, from the
table the environment configures (``TABLE_NAME``, ``AWS_ENDPOINT_URL``). It prints one
line per instance and exits 1 when any diverges or cannot be restored. ``export``
writes each stored instance with its history to a JSON file. ``lock`` adds the chart
hashes of newly declared versions to the workflows' lock files.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .. import store, versions
from ..versions import Workflow
from ..versions.replay import IDENTICAL, Verdict, replay


def load_registry(spec: str) -> Mapping[str, Workflow]:
    """The workflows ``MODULE:NAME`` names (a mapping of name to Workflow)."""
    module, _, name = spec.partition(":")
    registry = getattr(importlib.import_module(module), name or "WORKFLOWS")
    if not isinstance(registry, Mapping):
        raise SystemExit(f"{spec} is not a mapping of workflows")
    return registry


def exported(pk: str) -> dict[str, Any] | None:
    """One stored instance as the check reads it: snapshot, timers, invokes, history."""
    instance = store.load(pk)
    if instance is None:
        return None
    workflow, _, instance_id = pk.partition("#")
    return {
        "workflow": workflow,
        "instance": instance_id,
        "definition": instance.definition,
        "snapshot": instance.snapshot,
        "timers": sorted(instance.timers),
        "invokes": sorted(instance.invokes),
        "history": store.history(pk),
    }


def _from_table(names: list[str]) -> Iterator[dict[str, Any]]:
    for name in names:
        for pk in store.instance_keys(name):
            item = exported(pk)
            if item is not None:
                yield item


def _from_files(folders: list[str]) -> Iterator[dict[str, Any]]:
    for folder in folders:
        for path in sorted(Path(folder).glob("*.json")):
            yield json.loads(path.read_text())


def check(registry: Mapping[str, Workflow], instances: Iterator[dict[str, Any]]) -> list[Verdict]:
    """The verdict of every instance of a workflow the registry declares."""
    verdicts = []
    for item in instances:
        workflow = registry.get(item.get("workflow", ""))
        if workflow is None:
            verdicts.append(Verdict(str(item.get("workflow")), item.get("instance", "?"),
                                    "unrestorable", 0, detail="no such workflow"))  # fmt: skip
            continue
        verdicts.append(replay(workflow, item))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="check_versions", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="replay histories against a candidate")
    run.add_argument("--registry", default="chalicelib.registry:WORKFLOWS")
    run.add_argument("--files", action="append", default=[], help="a folder of exported JSON")
    run.add_argument("--workflow", action="append", default=[], help="only these workflows")
    out = commands.add_parser("export", help="write stored histories as JSON files")
    out.add_argument("--workflow", required=True)
    out.add_argument("--out", required=True)
    lock = commands.add_parser("lock", help="record the hashes of new versions")
    lock.add_argument("--registry", default="chalicelib.registry:WORKFLOWS")
    args = parser.parse_args(argv)
    if args.command == "export":
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        count = 0
        for item in _from_table([args.workflow]):
            name = f"{item['workflow']}-{item['instance']}.json"
            (folder / name).write_text(json.dumps(item, indent=1, sort_keys=True) + "\n")
            count += 1
        print(f"exported {count} {args.workflow} instances to {folder}")
        return 0
    registry = load_registry(args.registry)
    if args.command == "lock":
        for workflow in registry.values():
            if workflow.lock is not None:
                added = versions.record_lock(workflow.name, workflow.versions, workflow.lock)
                print(f"{workflow.name}: recorded versions {added or 'none (all locked)'}")
        return 0
    names = args.workflow or list(registry)
    source = _from_files(args.files) if args.files else _from_table(names)
    verdicts = check(registry, (i for i in source if i.get("workflow") in names))
    for verdict in verdicts:
        print(verdict.line())
    bad = [v for v in verdicts if v.kind != IDENTICAL]
    print(f"{len(verdicts)} instances: {len(verdicts) - len(bad)} replay identically, "
          f"{sum(v.kind == 'diverges' for v in bad)} diverge, "
          f"{sum(v.kind == 'unrestorable' for v in bad)} cannot be restored")  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
