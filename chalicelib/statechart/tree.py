"""Shape of an active configuration: ancestry, state values, node sets (XState's helpers)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .definition import StateNode

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from typing import Any


def is_descendant(child: StateNode, parent: StateNode | None) -> bool:
    """Strict descendant; every node descends from ``None`` (XState's ``undefined``)."""
    return parent is None or parent in child.ancestors


def children_of(node: StateNode) -> list[StateNode]:
    return [c for c in node.states.values() if c.type != "history"]


def in_final_state(nodes: Mapping[StateNode, Any], node: StateNode) -> bool:
    if node.type == "compound":
        return any(c.type == "final" and c in nodes for c in children_of(node))
    if node.type == "parallel":
        return all(in_final_state(nodes, c) for c in children_of(node))
    return node.type == "final"


_MEMO_LIMIT = 4096
_adjacency_memo: dict[tuple[StateNode, ...], dict[StateNode, list[StateNode]]] = {}


def adjacency(nodes: Iterable[StateNode]) -> dict[StateNode, list[StateNode]]:
    """Children lists of a node set, in set order. Memoised: do not mutate the result."""
    key = tuple(nodes)
    adj = _adjacency_memo.get(key)
    if adj is None:
        adj = {}
        for node in key:
            adj.setdefault(node, [])
            if node.parent is not None:
                adj.setdefault(node.parent, []).append(node)
        if len(_adjacency_memo) < _MEMO_LIMIT:
            _adjacency_memo[key] = adj
    return adj


def copy_value(value: Any) -> Any:
    """A fresh copy of a state value (values are shared by memo tables)."""
    return {k: copy_value(v) for k, v in value.items()} if type(value) is dict else value


def shared_value(root: StateNode, nodes: Iterable[StateNode], memo: dict[Any, Any]) -> Any:
    """XState's ``getStateValue``: the value of the completed node set, memoised in
    ``memo`` (one per machine) and shared: copy it (``copy_value``) before handing out."""
    key = tuple(nodes)
    value = memo.get(key)
    if value is None:
        value = _value_from_adj(root, adjacency(complete_nodes(key)))
        if len(memo) < _MEMO_LIMIT:
            memo[key] = value
    return value


def complete_nodes(nodes: Iterable[StateNode]) -> dict[StateNode, None]:
    """XState's ``getAllStateNodes``: add missing initial descendants, then ancestors."""
    listed = dict.fromkeys(nodes)
    adj = adjacency(listed)
    for node in list(listed):
        if node.type == "compound" and not adj.get(node):
            listed.update(_initial_with_ancestors(node))
        elif node.type == "parallel":
            for child in children_of(node):
                if child not in listed:
                    listed.update(_initial_with_ancestors(child))
    for node in list(listed):
        for anc in node.ancestors:
            listed[anc] = None
    return listed


def _value_from_adj(node: StateNode, adj: Mapping[StateNode, list[StateNode]]) -> Any:
    kids = adj.get(node)
    if not kids:
        return {}
    if node.type == "compound" and kids[0].atomic:
        return kids[0].key
    return {kid.key: _value_from_adj(kid, adj) for kid in kids}


def initial_nodes(node: StateNode) -> dict[StateNode, None]:
    found: dict[StateNode, None] = {}

    def visit(n: StateNode) -> None:
        if n in found:
            return
        found[n] = None
        if n.type == "compound":
            visit(n.initial.target[0])
        elif n.type == "parallel":
            for c in children_of(n):
                visit(c)

    visit(node)
    return found


def _initial_with_ancestors(node: StateNode) -> dict[StateNode, None]:
    found = initial_nodes(node)
    for n in list(found):
        for anc in n.ancestors:
            if anc is node:
                break
            found[anc] = None
    return found


def nodes_from_value(root: StateNode, value: Any) -> tuple[StateNode, ...]:
    """XState's ``getAllStateNodes(getStateNodes(root, value))``; KeyError on a bad value."""
    listed: dict[StateNode, None] = {}
    _state_nodes(root, root, value, listed)
    return tuple(complete_nodes(listed))


def _state_nodes(root: StateNode, node: StateNode, value: Any, out: dict[StateNode, None]) -> None:
    if isinstance(value, str):
        if value not in node.states:
            raise KeyError(f"state '{value}' does not exist on '#{node.id}'")
        out[node] = None
        out[node.states[value]] = None
        return
    if not isinstance(value, Mapping):
        raise KeyError(f"bad state value {value!r} under '#{node.id}'")
    for key in value:
        if key not in node.states:
            raise KeyError(f"state '{key}' does not exist on '#{node.id}'")
    out[root] = None
    out[node] = None
    for key in value:
        out[node.states[key]] = None
    for key in value:
        _state_nodes(root, node.states[key], value[key], out)


def matches_state(test: Any, value: Any) -> bool:
    """XState's ``matchesState``: ``test`` is a value or a dotted path string."""
    test = to_state_value(test)
    if isinstance(value, str):
        return isinstance(test, str) and test == value
    if isinstance(test, str):
        return test in value
    return all(k in value and matches_state(v, value[k]) for k, v in test.items())


def to_state_value(value: Any) -> Any:
    if isinstance(value, str) and "." in value:
        *head, last = value.split(".")
        result: Any = last
        for key in reversed(head):
            result = {key: result}
        return result
    return value
