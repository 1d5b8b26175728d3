"""Device selection, model cache, native format, the document model, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.cache import ModelCache
from engine.device import select_device
from engine.document import Document, Layer
from engine.errors import DeviceError
from engine.models.loaded import LoadedModel
from engine.types import ModelRef

REPO = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- device


def test_cpu_can_always_be_forced(monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_DEVICE", "cpu")
    choice = select_device()
    assert choice.device.type == "cpu" and choice.dtype == torch.float32
    assert "CPU" in choice.description


def test_explicit_choice_beats_environment(monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_DEVICE", "not-a-device")
    assert select_device("cpu").device.type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_cuda_is_a_clear_error():
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        select_device("cuda")


def test_half_precision_is_refused_on_cpu():
    with pytest.raises(DeviceError, match="only offered on CUDA"):
        select_device("cpu", "fp16")


def test_bad_device_name():
    with pytest.raises(DeviceError, match="not a device name"):
        select_device("quantum")


# ----------------------------------------------------------------------------- cache


def _fake_loader(sizes):
    calls = []

    def load(path, options):
        calls.append(path)
        net = torch.nn.Linear(sizes[path], 1, bias=False)
        return LoadedModel(path=path, family="test", source_format="test", config=None, networks={"G": net})

    return load, calls


def test_cache_reuses_and_bounds_memory(tmp_path):
    sizes = {str(tmp_path / n): 1000 for n in "abc"}  # 4000 bytes each
    for p in sizes:
        Path(p).write_bytes(b"x")
    load, calls = _fake_loader(sizes)
    cache = ModelCache("cpu", max_bytes=9000, loader=load)
    a, b = (ModelRef(str(tmp_path / n)) for n in "ab")
    assert cache.get(a) is cache.get(a)
    cache.get(b)
    assert len(calls) == 2 and len(cache) == 2
    cache.get(a)  # a is now the most recent
    cache.get(ModelRef(str(tmp_path / "c")))  # over the bound: b (least recent) goes
    assert len(cache) == 2 and a in cache and b not in cache
    assert cache.total_bytes() <= 9000


def test_cache_key_includes_options_and_file_changes(tmp_path):
    path = tmp_path / "m"
    path.write_bytes(b"1")
    load, calls = _fake_loader({str(path): 4})
    cache = ModelCache("cpu", loader=load)
    cache.get(ModelRef(str(path)))
    cache.get(ModelRef(str(path), {"label_nc": 3}))
    assert len(calls) == 2
    path.write_bytes(b"22")  # the file changed on disk: reload
    cache.get(ModelRef(str(path)))
    assert len(calls) == 3


def test_single_model_larger_than_bound_is_kept(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"x")
    load, _ = _fake_loader({str(path): 10_000})
    cache = ModelCache("cpu", max_bytes=10, loader=load)
    model = cache.get(ModelRef(str(path)))
    assert len(cache) == 1 and model.nbytes() == 40_000


# ----------------------------------------------------------------------------- document


def test_document_layers_and_composite():
    base = np.zeros((4, 6, 3), np.uint8)
    base[:] = (200, 0, 0)
    doc = Document.from_image(base)
    top = np.zeros((4, 6, 4), np.uint8)
    top[:, :3] = (0, 0, 255, 255)
    layer = doc.insert(Layer("Top", "image", top, opacity=0.5))
    out = doc.composite()
    assert out.shape == (4, 6, 4)
    assert tuple(out[0, 0]) == (100, 0, 128, 255)
    assert tuple(out[0, 5]) == (200, 0, 0, 255)
    layer.visible = False
    assert tuple(doc.composite()[0, 0]) == (200, 0, 0, 255)
    doc.move(layer.id, 0)
    assert doc.layers[0] is layer


def test_document_refuses_layers_of_another_size_or_kind():
    doc = Document(width=4, height=4)
    with pytest.raises(ValueError, match="document is 4x4"):
        doc.insert(Layer("labels", "labels", np.zeros((5, 4), np.int32)))
    with pytest.raises(ValueError, match="int32"):
        Layer("labels", "labels", np.zeros((4, 4), np.float32))
    dup = doc.insert(Layer("mask", "mask", np.zeros((4, 4), bool))).copy()
    doc.insert(dup)
    assert len(doc.layers) == 2 and doc.layers[0].id != doc.layers[1].id


# ----------------------------------------------------------------------------- CLI


def _run(*args, cwd=REPO):
    return subprocess.run([sys.executable, "main.py", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_info_on_a_missing_file_is_one_clear_line(tmp_path):
    result = _run("info", str(tmp_path / "missing.pth"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error:") and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_info_on_a_directory_with_no_model(tmp_path):
    result = _run("info", str(tmp_path))
    assert result.returncode == 1 and "not a model GAN Studio knows" in result.stderr


def test_cli_bad_option_syntax(tmp_path):
    path = tmp_path / "x.pth"
    torch.save({"w": torch.zeros(1)}, path)
    result = _run("info", str(path), "--option", "label_nc")
    assert result.returncode == 1 and "KEY=VALUE" in result.stderr


# ----------------------------------------------------------------------------- starter models


def test_starter_manifest_lists_existing_files_only(tmp_path):
    import json

    from engine.starter import starter_models

    (tmp_path / "a.safetensors").write_bytes(b"x")
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [
        {"file": "a.safetensors", "workspace": "paint", "title": "Landscapes"},
        {"file": "missing.safetensors"},
        {"file": "a.safetensors", "workspace": "nowhere"},
    ]}))
    models = starter_models(tmp_path)
    assert [(m.title, m.workspace) for m in models] == [("Landscapes", "paint")]
    (tmp_path / "manifest.json").write_text("{broken")
    assert starter_models(tmp_path) == []


def test_shipped_manifest_is_valid():
    from engine.starter import CHECKPOINT_DIR, starter_models

    assert (CHECKPOINT_DIR / "manifest.json").is_file()
    starter_models()  # must not raise
