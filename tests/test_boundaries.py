"""The one seam: gui/ never imports torch; engine/ never imports Qt.

Two checks: a static scan of every source file's imports (fails with file and line), and a
fresh interpreter that imports every gui module and then must not have torch loaded (this
catches torch arriving through an engine module too).
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
                              "engine.imageio", "engine.labelsets", "engine.ora",
                              # the torch-free side of training: run files, options, the families table
                              "engine.training.runfiles", "engine.training.options", "engine.training.families")


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
