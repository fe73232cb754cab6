"""Guards: XState's ``evaluateGuard`` over a step's context, event and active states."""

from __future__ import annotations

from collections.abc import Mapping

from .definition import GuardRef
from .tree import matches_state, shared_value

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from typing import Any


def evaluate_guard(guard: GuardRef, work: Any, event: Mapping[str, Any]) -> bool:
    """Whether ``guard`` holds for ``work`` (an ``algorithm.Work``) and ``event``."""
    kind = guard.kind
    if kind == "named":
        if guard.params is None:
            return bool(guard.impl(work.context, event))
        params = guard.params(work.context, event) if callable(guard.params) else guard.params
        return bool(guard.impl(work.context, event, params))
    if kind == "and":
        return all(evaluate_guard(g, work, event) for g in guard.children)
    if kind == "or":
        return any(evaluate_guard(g, work, event) for g in guard.children)
    if kind == "not":
        return not evaluate_guard(guard.children[0], work, event)
    state = guard.state
    if isinstance(state, str) and state.startswith("#"):
        return work.definition.node_by_id(state) in work.nodes
    definition = work.definition
    return matches_state(state, shared_value(definition.root, work.nodes, definition.values))
