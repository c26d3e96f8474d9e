"""The house plan holds (issue 21): no module imports one above its layer, and the import graph
(lazy imports inside functions included) has no cycle between modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "archive"

# Lower layers never import higher ones; a module may import its own layer (no cycle: see below).
LAYERS: list[tuple[str, ...]] = [
    ("archive", "archive.fields", "archive.errors", "archive.redaction", "archive.procs"),
    ("archive.models", "archive.domains"),
    ("archive.config", "archive.logsetup", "archive.validation", "archive.parsing", "archive.search",
     "archive.stories"),
    ("archive.store",),
    ("archive.ingest", "archive.parsepool", "archive.forkserver_preload", "archive.export", "archive.backup"),
    ("archive.watch",),
    ("archive.cli", "archive.web"),
    ("archive.__main__",),
]


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(mod: str) -> int:
    best, depth = -1, -1
    for i, names in enumerate(LAYERS):
        for n in names:
            if (mod == n or mod.startswith(n + ".")) and len(n) > depth:
                best, depth = i, len(n)
    assert best >= 0, f"{mod} is in no layer: add it to LAYERS"
    return best


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for n in names:
                if n in modules and n != mod:
                    graph[mod].add(n)
    return graph


def test_no_module_imports_one_above_its_layer() -> None:
    wrong = [(m, n) for m, deps in _graph().items() for n in deps
             if _layer(n) > _layer(m) and not m.startswith(n + ".") and n != "archive"]
    assert not wrong, wrong


def test_the_import_graph_has_no_cycle() -> None:
    graph = _graph()
    # A package's __init__ importing its own modules is the package, not a cycle.
    for m, deps in graph.items():
        deps -= {d for d in deps if m.startswith(d + ".") or d == "archive"}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d):], d] if d in stack else [m, d])
            elif d not in state:
                visit(d, [*stack, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles
