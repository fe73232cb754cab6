"""What a CloudFormation template's resources refer to: dangling names and dependency cycles.

CloudFormation refuses a template whose ``Ref`` / ``Fn::GetAtt`` / ``Fn::Sub`` /
``DependsOn`` names no resource, parameter or pseudo parameter ("Template format error:
Unresolved resource dependencies ... in the Resources block of the template") and one whose
resources depend on each other in a circle ("Circular dependency between resources").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html
PSEUDO = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}
_SUB = re.compile(r"\$\{([^!}][^}]*)\}")


def references(value: Any, local: frozenset[str] = frozenset()) -> Iterator[tuple[str, str]]:
    """Every (kind, name) ``value`` refers to: ``("ref", name)`` for Ref and for Sub's
    ``${name}``, ``("att", logical)`` for GetAtt and Sub's ``${logical.attribute}``,
    ``("condition", name)`` for Fn::If. Names bound by Sub's variable map are skipped."""
    if isinstance(value, list):
        for item in value:
            yield from references(item, local)
        return
    if not isinstance(value, dict):
        return
    for key, inner in value.items():
        if key == "Ref" and isinstance(inner, str):
            yield "ref", inner
        elif key == "Fn::GetAtt":
            logical = inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
            yield "att", logical
            if isinstance(inner, list):
                yield from references(inner[1:], local)
        elif key == "Fn::Sub":
            text, variables = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
            yield from references(variables, local)
            bound = local | frozenset(variables)
            for name in _SUB.findall(text):
                if name in bound:
                    continue
                yield ("att", name.split(".", 1)[0]) if "." in name else ("ref", name)
        elif key == "Fn::If":
            yield "condition", inner[0]
            yield from references(inner[1:], local)
        elif key == "Condition" and isinstance(inner, str):
            yield "condition", inner
        else:
            yield from references(inner, local)


def dangling(template: dict[str, Any]) -> list[str]:
    """One line per reference to a name that does not exist, with where it is."""
    resources = template.get("Resources", {})
    parameters = set(template.get("Parameters", {}))
    conditions = set(template.get("Conditions", {}))
    known = {
        "ref": set(resources) | parameters | PSEUDO,
        "att": set(resources),
        "condition": conditions,
    }
    problems = []
    places = [("Resources", resources), ("Outputs", template.get("Outputs", {}))]
    places.append(("Conditions", template.get("Conditions", {})))
    for section, entries in places:
        for name, entry in entries.items():
            for kind, target in references(entry):
                if target not in known[kind]:
                    problems.append(f"{section}.{name}: {kind} {target!r} does not exist")
            for target in _depends_on(entry):
                if target not in resources:
                    problems.append(f"{section}.{name}: DependsOn {target!r} does not exist")
    return problems


def dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource's logical id -> the resources it needs created first."""
    resources = template.get("Resources", {})
    graph = {}
    for name, resource in resources.items():
        named = {t for kind, t in references(resource) if kind in ("ref", "att")}
        graph[name] = (named | set(_depends_on(resource))) & set(resources)
    return graph


def cycle(template: dict[str, Any]) -> list[str] | None:
    """A dependency cycle among the resources (its logical ids, first repeated at the end),
    or None when there is none."""
    graph = dependencies(template)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for needed in sorted(graph[node]):
            if state.get(needed) == 1:
                return [*path[path.index(needed) :], needed]
            if needed not in state and (found := visit(needed)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _depends_on(entry: Any) -> list[str]:
    depends = entry.get("DependsOn", []) if isinstance(entry, dict) else []
    return [depends] if isinstance(depends, str) else list(depends)
