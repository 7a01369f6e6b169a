"""The tree shows the architecture: areas import one way, no cycles, no private names across modules, small files."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "a2i_cli"
AREAS = ["core", "data", "eval", "model", "inference", "jobs", "media"]  # lowest first
TOP = {"pipeline": len(AREAS), "commands": len(AREAS) + 1, "cli": len(AREAS) + 2}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    """{dotted name: file} for every Python module of the package."""
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def rank(module: str) -> int | None:
    """The layer of a module: its area's index, or None for the package root."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    head = parts[1]
    return AREAS.index(head) if head in AREAS else TOP.get(head)


def imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported a2i_cli module, names taken from it, line) for every import in the file, nested ones too."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "a2i_cli"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "a2i_cli":
                continue
            names = [a.name for a in node.names]
            submodules = [n for n in names if f"{target}.{n}" in MODULES]
            if submodules:  # `from . import ops`: an import of the submodule itself
                found += [(f"{target}.{n}", [], node.lineno) for n in submodules]
                names = [n for n in names if n not in submodules]
            if names:
                found.append((target, names, node.lineno))
    return found


MODULES = modules()
EDGES = {name: imports(name, path) for name, path in MODULES.items()}


def test_areas_import_one_way():
    wrong = []
    for name, edges in EDGES.items():
        for target, _, line in edges:
            r_from, r_to = rank(name), rank(target)
            if r_to is not None and r_from is not None and r_to > r_from:
                wrong.append(f"{MODULES[name].relative_to(PKG.parent)}:{line} imports {target} (a higher area)")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    graph = {n: sorted({t for t, _, _ in e if t in MODULES and t != n}) for n, e in EDGES.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (cycle := visit(m)):
                return cycle
        stack.pop()
        state[n] = 2
        return None

    for n in graph:
        if n not in state and (cycle := visit(n)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_every_module_imports():
    import torch  # noqa: F401  the C++ extension needs torch loaded first

    for name in MODULES:
        importlib.import_module(name)


def test_no_private_name_imported_across_modules():
    private = [f"{MODULES[name].relative_to(PKG.parent)}:{line} imports {n} from {target}"
               for name, edges in EDGES.items() for target, names, line in edges for n in names
               if n.startswith("_") and n != "__version__"]
    assert not private, "\n".join(private)


def test_small_files_that_say_what_they_are_for():
    problems = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_LINES:
            problems.append(f"{path.relative_to(PKG.parent)}: {len(lines)} lines (at most {MAX_LINES})")
        first = lines[0] if lines else ""
        if not (first.startswith('"""') and len(first.strip('"').split()) >= 4):
            problems.append(f"{path.relative_to(PKG.parent)}: the first line should be a docstring saying what it is for")
    assert not problems, "\n".join(problems)
