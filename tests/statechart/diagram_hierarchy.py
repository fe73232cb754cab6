"""Where Mermaid draws each state of a ``stateDiagram-v2`` we export, and where it should.

Mermaid 11 (the console's vendored copy; tests/browser/test_diagram_hierarchy.py asks it
directly) puts a state in the ``state X { ... }`` block of the last line inside a block
that names it; a line at the top level leaves the state where it was. ``drawn_parents``
applies that rule to the text, so the pure tests check any number of random machines
without a browser.
"""

from __future__ import annotations

import re

from chalicelib.statechart.definition import Definition
from chalicelib.statechart.diagram import _mid

_DECLARE = re.compile(r'state "[^"]*" as (\S+)$')
_OPEN = re.compile(r"state (\S+) \{$")
_ARROW = re.compile(r"(\S+) --> (\S+)(?: : .*)?$")


def drawn_parents(text: str, root: str | None = None) -> dict[str, str | None]:
    """Each state id named in ``text`` -> the id of the block Mermaid draws it in (None:
    the top level); ``root`` (the machine's own id, which a transition re-entering the
    whole machine names) is left out."""
    parents: dict[str, str | None] = {}
    blocks: list[str] = []

    def named(state: str) -> None:
        if state == "[*]":
            return
        if blocks or state not in parents:
            parents[state] = blocks[-1] if blocks else None

    for raw in text.splitlines()[1:]:
        line = raw.strip()
        if line == "}":
            blocks.pop()
        elif opened := _OPEN.match(line):
            named(opened.group(1))
            blocks.append(opened.group(1))
        elif declared := _DECLARE.match(line):
            named(declared.group(1))
        elif arrow := _ARROW.match(line):
            named(arrow.group(1))
            named(arrow.group(2))
    assert not blocks, "unbalanced state blocks"
    parents.pop(root, None)
    return parents


def expected_parents(definition: Definition) -> dict[str, str | None]:
    """Each state's id in the diagram -> its parent's (None: a child of a compound root;
    a parallel root is drawn as a state of its own, holding its regions)."""
    drawn_root = definition.root.type == "parallel"
    return {
        _mid(node): (_mid(node.parent) if node.parent.parent is not None or drawn_root else None)
        for node in definition.nodes
        if node.parent is not None
    }
