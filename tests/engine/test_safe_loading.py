"""Checkpoint reading is safe by construction and bad files get clear messages."""

from __future__ import annotations

import collections
import io
import os
import pickle
import sys

import pytest
import torch

from engine.errors import CheckpointError, UnknownFormatError, UnsafePickleError
from engine.loaders import load_model
from engine.loaders.files import parse_opt_txt, read_checkpoint
from engine.loaders.safe_pickle import PersistentObject, loads


class _WritesFile:
    """Unpickling this calls os.system / builtins.exec — if anything ever ran it, the marker file appears."""

    def __init__(self, marker, how):
        self.marker = str(marker)
        self.how = how

    def __reduce__(self):
        if self.how == "system":
            return (os.system, (f"touch {self.marker}",))
        if self.how == "exec":
            return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("how", ["system", "exec", "open"])
def test_malicious_network_pickle_is_refused_and_runs_nothing(tmp_path, how):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "network-snapshot.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _WritesFile(marker, how)}))
    with pytest.raises(UnsafePickleError) as info:
        load_model(path)
    assert not marker.exists()
    assert "never runs code" in str(info.value)


def test_persistent_object_source_is_never_executed(tmp_path):
    """A StyleGAN-style persistent object whose embedded module source would write a file."""
    marker = tmp_path / "from_module_src.txt"
    source = f"open({str(marker)!r}, 'w').write('pwned')\nclass Generator: pass\n"

    class Persistent:
        def __reduce__(self):
            meta = {"type": "class", "version": 6, "module_src": source, "class_name": "Generator",
                    "state": {"_parameters": collections.OrderedDict(w=torch.ones(2)), "_buffers": {}, "_modules": {}}}
            return (_fake_reconstruct, (meta,))

    data = pickle.dumps({"G_ema": Persistent()})
    obj = loads(data)
    assert not marker.exists()
    assert isinstance(obj["G_ema"], PersistentObject)
    assert obj["G_ema"].class_name == "Generator"
    assert torch.equal(obj["G_ema"].state_dict()["w"], torch.ones(2))


def _fake_reconstruct(meta):  # pragma: no cover - only its pickled name matters
    raise AssertionError("never called while pickling")


_fake_reconstruct.__module__ = "torch_utils.persistence"
_fake_reconstruct.__qualname__ = "_reconstruct_persistent_obj"
_fake_reconstruct.__name__ = "_reconstruct_persistent_obj"


@pytest.fixture(autouse=True)
def _fake_persistence_module(monkeypatch):
    """pickle needs to find torch_utils.persistence._reconstruct_persistent_obj while *writing* the test file."""
    import types

    module = types.ModuleType("torch_utils.persistence")
    module._reconstruct_persistent_obj = _fake_reconstruct
    package = types.ModuleType("torch_utils")
    package.persistence = module
    monkeypatch.setitem(sys.modules, "torch_utils", package)
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", module)


def test_malicious_torch_file_is_refused(tmp_path):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "model.pth"
    torch.save({"weight": torch.zeros(1), "evil": _WritesFile(marker, "system")}, path)
    with pytest.raises(UnsafePickleError) as info:
        read_checkpoint(path)
    assert not marker.exists()
    assert "state_dict" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope.pth")


def test_truncated_torch_file(tmp_path):
    path = tmp_path / "model.pth"
    buffer = io.BytesIO()
    torch.save({"w": torch.randn(64, 64)}, buffer)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(path)


def test_truncated_pickle(tmp_path):
    path = tmp_path / "net.pkl"
    data = pickle.dumps({"a": [1, 2, 3] * 100})
    path.write_bytes(data[:20])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(path)


def test_image_renamed_to_pth(tmp_path):
    from PIL import Image

    path = tmp_path / "photo.pth"
    Image.new("RGB", (8, 8)).save(path, format="PNG")
    with pytest.raises(CheckpointError, match="not a checkpoint at all: it is a PNG image"):
        load_model(path)


@pytest.mark.parametrize("content, what", [(b"just some notes\n", "a text file"), (b"", "an empty file"),
                                           (b"<html><body>Not found</body></html>", "an HTML")])
def test_non_checkpoint_renamed_to_pth_is_called_that(tmp_path, content, what):
    path = tmp_path / "latest_net_G.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    assert isinstance(info.value, CheckpointError) and not isinstance(info.value, UnsafePickleError)
    assert f"not a checkpoint at all: it is {what}" in str(info.value)
    assert "Python objects" not in str(info.value)


def test_unknown_extension(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"\x89HDF")
    with pytest.raises(CheckpointError, match="does not know files ending in '.h5'"):
        load_model(path)


def test_unknown_state_dict_names_what_it_saw(tmp_path):
    path = tmp_path / "mystery.pth"
    torch.save({"encoder.layer0.weight": torch.zeros(3, 3), "head.bias": torch.zeros(3)}, path)
    with pytest.raises(UnknownFormatError) as info:
        load_model(path)
    message = str(info.value)
    assert "mystery.pth" in message and "encoder.layer0.weight" in message and "2 tensors" in message


def test_unknown_nested_dict_names_its_keys(tmp_path):
    path = tmp_path / "train_state.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "step": 3}, path)
    with pytest.raises(UnknownFormatError, match="'model': dict of 1.*'step': int"):
        load_model(path)


def test_folder_without_model(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(UnknownFormatError, match="folder holding"):
        load_model(tmp_path)


def test_unknown_forced_format(tmp_path):
    path = tmp_path / "x.pth"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="Unknown format 'nope'"):
        load_model(path, {"format": "nope"})


def test_bad_sidecar_json_is_reported(tmp_path):
    path = tmp_path / "x.pth"
    torch.save({"w": torch.zeros(1)}, path)
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(path)


def test_opt_txt_is_parsed(tmp_path):
    (tmp_path / "opt.txt").write_text(
        "----------------- Options ---------------\n"
        "             aspect_ratio: 2.0                           \n"
        "                 label_nc: 35                            \t[default: 182]\n"
        "               no_instance: False                         \n"
        "                   norm_G: spectralspadesyncbatch3x3     \n"
        "----------------- End -------------------\n"
    )
    options = parse_opt_txt(tmp_path / "opt.txt")
    assert options == {"aspect_ratio": 2.0, "label_nc": 35, "no_instance": False, "norm_G": "spectralspadesyncbatch3x3"}
