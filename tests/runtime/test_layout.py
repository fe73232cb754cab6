"""The layout holds: every module imports, the runtime's modules and its parts (its
sub-packages) import one another without a cycle, no runtime module grows past
MAX_LINES, the runtime imports no domain (nor the registry, nor app), and the engine
imports nothing but itself and the standard library.

The graph is read from the sources (``ast``): every ``import`` counts, those inside a
function or under ``TYPE_CHECKING`` included, since a deferred import in a cycle is
still a cycle. Each rule is also shown to fire on a copy of the tree with the defect
planted in it.
"""

from __future__ import annotations

import ast
import importlib
import shutil
import sys
from pathlib import Path

import pytest

import chalicelib

CHALICELIB = Path(chalicelib.__file__).parent
RUNTIME = "chalicelib.runtime"
ENGINE = "chalicelib.statechart"
OFF_LIMITS = ("chalicelib.orders", "chalicelib.complaints", "chalicelib.stations")
OFF_LIMITS += ("chalicelib.registry", "app")
MAX_LINES = 300


def modules(root: Path) -> dict[str, Path]:
    """Every module under ``root`` (the chalicelib folder) by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = ["chalicelib", *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules ``name`` imports: absolute names, relative ones resolved, and
    ``from package import module`` counted as that module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*base, node.module] if node.module else base)
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)
    return targets


def graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports (all of them, ours or not)."""
    found = modules(root)
    known = set(found)
    return {name: imported(name, path, known) for name, path in found.items()}


def part(module: str) -> str | None:
    """The runtime part (sub-package) a runtime module belongs to; None for the runtime's
    own ``__init__`` (the public API, which gathers every part) and non-runtime modules."""
    if not module.startswith(RUNTIME + "."):
        return None
    return module.split(".")[2]


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph (its nodes, the first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def parts_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Runtime part -> the other runtime parts its modules import."""
    parts: dict[str, set[str]] = {}
    for module, targets in edges.items():
        if (mine := part(module)) is None:
            continue
        parts.setdefault(mine, set())
        parts[mine] |= {p for t in targets if (p := part(t)) and p != mine}
    return parts


def problems(root: Path, max_lines: int = MAX_LINES) -> list[str]:
    """Everything wrong with the layout of the chalicelib tree at ``root``."""
    edges = graph(root)
    found = []
    runtime = {
        m: {t for t in targets if t == RUNTIME or t.startswith(RUNTIME + ".")}
        for m, targets in edges.items()
        if m == RUNTIME or m.startswith(RUNTIME + ".")
    }
    if loop := cycle(runtime):
        found.append("runtime modules import in a cycle: " + " -> ".join(loop))
    if loop := cycle(parts_graph(edges)):
        found.append("runtime parts import in a cycle: " + " -> ".join(loop))
    for module, path in modules(root).items():
        lines = len(path.read_text().splitlines())
        if module.startswith(RUNTIME) and lines > max_lines:
            found.append(f"{module} has {lines} lines, over {max_lines}")
    for module in runtime:
        for target in sorted(edges[module]):
            if any(target == o or target.startswith(o + ".") for o in OFF_LIMITS):
                found.append(f"{module} imports {target}")
    for module, targets in edges.items():
        if module == ENGINE or module.startswith(ENGINE + "."):
            for target in sorted(targets):
                top = target.split(".")[0]
                ours = target == ENGINE or target.startswith(ENGINE + ".")
                if not ours and top not in sys.stdlib_module_names:
                    found.append(f"{module} imports {target}")
    return found


@pytest.mark.parametrize("module", sorted(modules(CHALICELIB)))
def test_every_module_imports(module):
    assert importlib.import_module(module).__name__ == module


def test_the_layout_holds():
    assert problems(CHALICELIB) == []


def test_each_part_has_a_docstring_and_a_public_surface():
    for name in sorted({p for m in modules(CHALICELIB) if (p := part(m))}):
        package = importlib.import_module(f"{RUNTIME}.{name}")
        assert len((package.__doc__ or "").split()) >= 30, f"{name}: no paragraph"
        assert package.__all__, name
        assert all(hasattr(package, n) for n in package.__all__), name


def test_the_parts_stand_in_layers():
    """The parts as the runtime's docstring lists them, bottom up: each imports only
    parts below it."""
    parts = parts_graph(graph(CHALICELIB))
    order = ["versions", "shared", "ops", "store", "identity", "messaging", "live", "core"]
    order.append("entrypoints")
    assert sorted(parts) == sorted(order)
    for i, name in enumerate(order):
        assert parts[name] <= set(order[:i]), f"{name} imports {parts[name] - set(order[:i])}"


@pytest.fixture
def tree(tmp_path):
    """A copy of the chalicelib sources to plant defects in."""
    copy = tmp_path / "chalicelib"
    shutil.copytree(CHALICELIB, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    assert problems(copy) == []
    return copy


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_a_deferred_import_that_closes_a_cycle_is_caught(tree):
    # the cycle this layout removed: clients.reset imported secrets, which imports clients
    _append(
        tree / "runtime/shared/clients.py", "\n\ndef f():\n    from ..identity import secrets\n"
    )
    found = problems(tree)
    assert any(p.startswith("runtime modules import in a cycle") for p in found), found
    assert any(p.startswith("runtime parts import in a cycle") for p in found), found


def test_a_cycle_between_parts_only_is_caught(tree):
    # no module cycle (clock imports nothing), but shared -> core -> shared
    _append(tree / "runtime/shared/clock.py", "\nfrom ..core import validation\n")
    found = problems(tree)
    assert any(p.startswith("runtime parts import in a cycle: ") for p in found), found


def test_an_oversized_module_is_caught(tree):
    assert problems(tree, max_lines=200) != []  # transaction.py and others are over 200
    clock = tree / "runtime/shared/clock.py"
    _append(clock, "# line\n" * MAX_LINES)
    lines = len(clock.read_text().splitlines())
    assert problems(tree) == [
        f"chalicelib.runtime.shared.clock has {lines} lines, over {MAX_LINES}"
    ]


@pytest.mark.parametrize("target", ["chalicelib.orders.service", "chalicelib.registry", "app"])
def test_the_runtime_importing_a_domain_or_app_is_caught(tree, target):
    _append(tree / "runtime/core/decide.py", f"\nimport {target}\n")
    assert problems(tree) == [f"chalicelib.runtime.core.decide imports {target}"]


def test_the_engine_importing_anything_outside_itself_is_caught(tree):
    _append(tree / "statechart/machine.py", "\nimport boto3\nfrom chalicelib import runtime\n")
    assert problems(tree) == [
        "chalicelib.statechart.machine imports boto3",
        "chalicelib.statechart.machine imports chalicelib.runtime",
    ]
