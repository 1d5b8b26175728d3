"""A wheel carries everything under assets/ and checkpoints/, and the installed app finds it.

Builds a wheel from a copy of the source tree (with one extra file under each data folder, as
the label sets, judges and starter models others add will be), installs it into a fresh virtual
environment (``--system-site-packages``, so torch and PySide6 come from this interpreter) and
runs the installed ``gan-studio info``, from outside the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow

_SKIP = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", ".venv", "out",
                               ".pytest_cache", ".ruff_cache")


def _run(args: list, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, venv bin folder, the wheel, the copied source tree) of a fresh install."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "src"
    shutil.copytree(REPO_ROOT, source, ignore=_SKIP)
    (source / "assets" / "probe").mkdir()
    (source / "assets" / "probe" / "probe.safetensors").write_bytes(b"not really weights")
    (source / "checkpoints" / "probe.safetensors").write_bytes(b"not really weights")
    manifest = json.loads((source / "checkpoints" / "manifest.json").read_text())
    manifest["models"] = [{"file": "probe.safetensors", "workspace": "paint", "title": "Probe"}]
    (source / "checkpoints" / "manifest.json").write_text(json.dumps(manifest))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    wheels = root / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, source], root, env)
    wheel = next(wheels.glob("gan_studio-*.whl"))
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv], root, env)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q", wheel], root, env)
    return python, bin_dir, wheel, source, env, root


def test_the_wheel_carries_every_file_under_the_data_folders(installed):
    _, _, wheel, source, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (("assets", "gan_studio_assets"), ("checkpoints", "gan_studio_checkpoints")):
        files = [p.relative_to(source / folder).as_posix() for p in (source / folder).rglob("*") if p.is_file()]
        missing = [f for f in files if f"{package}/{f}" not in names]
        assert files and not missing, f"{folder}: not in the wheel: {missing}"


def test_installed_gan_studio_info_finds_the_label_sets_and_the_starter_manifest(installed):
    python, bin_dir, _, source, env, root = installed
    script = bin_dir / ("gan-studio.exe" if os.name == "nt" else "gan-studio")
    out = json.loads(_run([script, "info", "--json"], root, env).stdout)
    site = Path(_run([python, "-c", "import engine, pathlib; print(pathlib.Path(engine.__file__).parent.parent)"],
                     root, env).stdout.strip())
    assert site.is_relative_to(root / "venv"), "the test must run the installed copy, not a source tree"
    assert Path(out["label_set_dir"]).is_relative_to(site)
    for name, described in out["label_sets"].items():
        shipped = json.loads((source / "assets" / "labelsets" / f"{name}.json").read_text())
        assert described["classes"] == len(shipped["classes"]), name
    assert Path(out["starter_manifest"]).is_relative_to(site)
    assert [m["title"] for m in out["starter_models"]] == ["Probe"]
    assert Path(out["starter_models"][0]["path"]).is_file()
