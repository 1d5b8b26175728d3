"""Import layering: gui/ never imports torch; engine/ never imports Qt; no import cycles.

Checks: a static scan of every source file's imports (fails with file and line); a fresh
interpreter that imports every gui module and then must not have torch loaded (this catches
torch arriving through an engine module too); and the graph of import statements between the
project's modules (module-level and inside functions alike) has no cycle.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
QT_PACKAGES = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "qasync", "pytestqt")
TORCH_PACKAGES = ("torch", "torchvision", "torchaudio")
# engine modules the GUI may import at module level (plain numpy/PIL data; no torch inside)
GUI_ALLOWED_ENGINE_MODULES = ("engine", "engine.types", "engine.errors", "engine.version", "engine.document",
                              "engine.latent_types", "engine.inpaint_types", "engine.starter",
                              "engine.imageio", "engine.labelsets", "engine.ora", "engine.resources",
                              # the torch-free side of training: run files, options, the families table
                              "engine.training.runfiles", "engine.training.options", "engine.training.families",
                              # the options a checkpoint leaves open, as plain dataclasses (the options dialog)
                              "engine.open_options")


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imports_of(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, at module level?) for every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name, top_level) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.lineno, child.module, top_level))
                # `from engine import imageio` imports the module engine.imageio
                found.extend((child.lineno, f"{child.module}.{alias.name}", top_level) for alias in child.names
                             if child.module == "engine")
            nested = top_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, nested)

    visit(tree, True)
    return found


def roots(name: str) -> str:
    return name.split(".")[0]


def test_gui_never_imports_torch_or_torch_engine_modules():
    problems = []
    for path in python_files("gui"):
        for line, module, top_level in imports_of(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if roots(module) in TORCH_PACKAGES:
                problems.append(f"{where} imports {module}")
            elif top_level and roots(module) == "engine" and module not in GUI_ALLOWED_ENGINE_MODULES:
                problems.append(f"{where} imports {module} at module level (may pull in torch; "
                                f"allowed: {', '.join(GUI_ALLOWED_ENGINE_MODULES[1:])})")
    assert not problems, "gui/ must not import torch:\n" + "\n".join(problems)


def test_engine_never_imports_qt():
    problems = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files("engine")
        for line, module, _top in imports_of(path)
        if roots(module) in QT_PACKAGES
    ]
    assert not problems, "engine/ must not import Qt:\n" + "\n".join(problems)


def test_scanner_sees_nested_and_from_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom engine import service\n\ndef f():\n    import torch.nn\n")
    found = imports_of(sample)
    assert (1, "os", True) in found and (2, "engine.service", True) in found and (5, "torch.nn", False) in found


def test_importing_every_gui_module_does_not_load_torch():
    code = (
        "import importlib, pkgutil, sys\n"
        "import gui\n"
        "names = sorted(m.name for m in pkgutil.walk_packages(gui.__path__, 'gui.'))\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision'))\n"
        "print(len(names), 'modules')\n"
        "assert not loaded, f'importing gui loaded {loaded[:5]}'\n"
        "assert 'gui.main_window' in names and 'gui.engine_bridge' in names, names\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------------------------
# no cycles between modules


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, known: set[str]) -> set[str]:
    """The project modules that the import statements of ``path`` name (anywhere in the file).

    ``from a.b import c`` names module ``a.b.c`` when that is a module, else ``a.b``; relative
    imports are resolved against the file's package."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                target = f"{module}.{alias.name}"
                if target in known:
                    found.add(target)
                elif module in known:
                    found.add(module)
    found.discard(name)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks (imports there never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def import_graph(packages: tuple[str, ...] = ("engine", "gui")) -> dict[str, set[str]]:
    paths = {module_name(p): p for package in packages for p in python_files(package)}
    known = set(paths)
    return {name: project_imports(path, known) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component]
    return f"{', '.join(component)} ({'; '.join(edges)})"


def test_no_import_cycles_between_modules():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles (move the shared part into a module both can import):\n" + "\n".join(
        _describe(c, graph) for c in found)


def test_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path, monkeypatch):
    package = tmp_path / "engine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from engine import b\n")
    (package / "b.py").write_text("def f():\n    from engine.c import g\n")
    (package / "c.py").write_text("from . import a\nimport engine.d\n")
    (package / "d.py").write_text("import os\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    graph = import_graph(("engine",))
    assert graph["engine.b"] == {"engine.c"} and graph["engine.c"] == {"engine.a", "engine.d"}
    assert cycles(graph) == [["engine.a", "engine.b", "engine.c"]]
