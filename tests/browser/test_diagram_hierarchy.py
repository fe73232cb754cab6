"""Mermaid itself (the console's vendored copy, in Chromium) places every state of our
charts inside exactly its own parent: the order and complaint charts and random
machines (issue 20, item 4). It also checks the rule tests/statechart/diagram_hierarchy.py
applies without a browser."""

from __future__ import annotations

from pathlib import Path

from chalicelib.registry import WORKFLOWS
from chalicelib.statechart.diagram import _mid, mermaid
from tests.statechart.diagram_hierarchy import drawn_parents, expected_parents
from tests.statechart.generator import random_case
from tests.statechart.vocabulary import build

VENDOR = Path(__file__).resolve().parents[2] / "chalicelib" / "web" / "static" / "vendor"
PARENTS = """async (texts) => {
    mermaid.initialize({startOnLoad: false});
    const results = [];
    for (const text of texts) {
        const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
        results.push(diagram.db.getData().nodes.map(n => [n.id, n.parentId ?? null]));
    }
    return results;
}"""


def _state_parents(nodes: list[list], ours: set[str]) -> dict[str, str | None]:
    """Each state -> the state Mermaid nests it in. Our ids start ``s_``; Mermaid adds
    ``<block>_start``/``_end`` for ``[*]`` and a divider group per parallel region, both
    skipped (a state Mermaid made up of a line that named an unknown id is kept)."""
    parent_of = dict(map(tuple, nodes))
    placed = {}
    for node, parent in parent_of.items():
        pseudo = node.endswith(("_start", "_end")) and node not in ours
        if not node.startswith("s_") or pseudo:
            continue
        while parent is not None and not parent.startswith("s_"):
            parent = parent_of.get(parent)
        placed[node] = parent
    return placed


def test_mermaid_draws_every_state_inside_its_own_parent(browser):
    definitions = [WORKFLOWS[name].machine.definition for name in sorted(WORKFLOWS)]
    definitions += [build(random_case(seed)["config"]).definition for seed in range(40)]
    texts = [mermaid(definition, set()) for definition in definitions]
    page = browser.new_page()
    try:
        page.set_content("<html><body></body></html>")
        (script,) = VENDOR.glob("mermaid-*.min.js")
        page.add_script_tag(path=str(script))
        drawn = page.evaluate(PARENTS, texts)
    finally:
        page.close()
    for definition, text, nodes in zip(definitions, texts, drawn, strict=True):
        expected = expected_parents(definition)
        placed = _state_parents(nodes, set(expected))
        placed.pop(_mid(definition.root), None)
        assert placed == expected, text
        assert drawn_parents(text, _mid(definition.root)) == placed  # the pure tests' rule
