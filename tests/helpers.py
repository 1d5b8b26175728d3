"""What tests share: the repository and compat roots, tiny model savers, sample documents.

Import from here (``from tests.helpers import ...``), not from another test module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.document import Document, Layer
from engine.labelsets import generic

REPO_ROOT = Path(__file__).resolve().parents[1]


def compat_root() -> Path:
    """Folder of the official-format fixture sets: ``GAN_STUDIO_COMPAT_DIR``, default ``../shared/compat``."""
    return Path(os.environ.get("GAN_STUDIO_COMPAT_DIR", REPO_ROOT.parent / "shared" / "compat")).resolve()


def family_dir(name: str) -> Path:
    """The fixture folder of one family, or skip the test when it is absent."""
    path = compat_root() / name
    if not path.is_dir():
        pytest.skip(f"no {name} fixtures under {compat_root()}")
    return path


def fixture_sets(name: str) -> list[Path]:
    """Every sub-folder of a family folder that holds a config.json (or the folder itself)."""
    path = compat_root() / name
    if not path.is_dir():
        return []
    if (path / "config.json").is_file():
        return [path]
    return sorted(p for p in path.iterdir() if (p / "config.json").is_file())


def load_cases(folder: Path, separator: str = "__") -> dict:
    """``cases.npz`` grouped by case: ``<case><separator><array>`` -> ``{case: {array: value}}``
    (an array name missing after the separator is called ``"value"``). Loaded without pickles."""
    import numpy as np

    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(folder / "cases.npz", allow_pickle=False) as data:
        for key in data.files:
            case, _, array = key.partition(separator)
            out.setdefault(case, {})[array or "value"] = data[key]
    return out


# --------------------------------------------------------------------------------------------
# tiny models in GAN Studio's own format (random weights)


def save_tiny_model(path: Path, family: str, config: Any, seed: int = 0) -> Path:
    """A random-weight model of ``family`` built from ``config``, saved as GAN Studio safetensors
    at ``path`` (what the GUI, the CLI and the engine load like any other model)."""
    import torch

    from engine.loaders.native import save
    from engine.models import family_module
    from engine.models.loaded import LoadedModel

    torch.manual_seed(seed)
    networks = family_module(family).build_networks(config)
    return save(LoadedModel(path=str(path), family=family, source_format="test", config=config, networks=networks),
                Path(path))


def tiny_srvgg_config(upscale: int = 2):
    """A 4-feature, 1-conv SRVGGNetCompact: the smallest upscaler."""
    from engine.models import srvgg

    return srvgg.SRVGGConfig(num_feat=4, num_conv=1, upscale=upscale)


def tiny_context_encoder_config(**overrides):
    """A 32 px context encoder (variant "full" unless overridden)."""
    from engine.models import context_encoder

    values = dict(resolution=32, variant="full", base_width=8, max_width=32, overlap=2, disc_base_width=8)
    values.update(overrides)
    return context_encoder.ContextEncoderConfig(**values)


def save_tiny_upscaler(path: Path, seed: int = 0, upscale: int = 2) -> Path:
    return save_tiny_model(path, "srvgg", tiny_srvgg_config(upscale), seed)


def save_tiny_inpainter(path: Path, seed: int = 0, **overrides) -> Path:
    return save_tiny_model(path, "context_encoder", tiny_context_encoder_config(**overrides), seed)


def tiny_generator(c_dim: int = 0, seed: int = 0, **overrides):
    """A 32 px StyleGAN2 generator (eval mode) whose noise strengths, biases and w_avg are non-zero."""
    import torch

    from engine.models.stylegan2 import StyleGAN2Config, build_networks

    torch.manual_seed(seed)
    config = StyleGAN2Config(z_dim=16, w_dim=16, c_dim=c_dim, img_resolution=32, mapping_layers=2,
                             channels=(16, 16, 8, 8), conv_clamp=overrides.pop("conv_clamp", None), **overrides)
    G = build_networks(config)["G"].eval()
    with torch.no_grad():  # make the parameters that start at zero matter
        for conv in G.synthesis.convs:
            conv.noise_strength.fill_(0.3)
            conv.bias.normal_(0, 0.2)
        G.mapping.w_avg.normal_()
    return G


# --------------------------------------------------------------------------------------------
# sample documents


def sample_document(width: int = 40, height: int = 24, seed: int = 0) -> Document:
    """Every layer kind and attribute, state, arrays, label sets and recipes."""
    rng = np.random.default_rng(seed)
    doc = Document(width=width, height=height)
    background = rng.integers(0, 256, (height, width, 4)).astype(np.uint8)
    background[:4, :4, 3] = 0  # fully transparent pixels keep their colour values too
    doc.insert(Layer(name="Background", kind="image", pixels=background))
    labels = rng.integers(0, 7, (height, width)).astype(np.int32)
    doc.insert(Layer(name="Labels", kind="labels", pixels=labels, label_set="generic-7", locked=True,
                     instances=rng.integers(0, 5, (height, width)).astype(np.int32)))
    render = rng.integers(0, 256, (height, width, 4)).astype(np.uint8)
    doc.insert(Layer(name="Render ✨", kind="image", pixels=render, opacity=0.3719, visible=False,
                     recipe={"tool": "paint", "seed": 1234, "model": "/m/spade.pth", "model_options": {"label_nc": 6},
                             "style": "image", "weights": [0.25, 1e-9]}))
    doc.insert(Layer(name="Hole", kind="mask", pixels=rng.random((height, width)) > 0.7, opacity=0.5))
    doc.label_sets["generic-7"] = generic(7, "generic-7").to_dict()
    doc.state = {"paint": {"model": "/m/spade.pth", "seed": 1234, "style_path": None},
                 "latent": {"bookmarks": [{"id": "b1", "name": "nice", "truncation": 0.7}]}}
    for number, layer in enumerate(doc.layers):  # fixed ids: the same document in another process
        layer.id = f"layer{number}"
    doc.arrays = {"latent/b1/w": rng.standard_normal((14, 512)).astype(np.float32),
                  "direction 0": np.arange(12, dtype=np.int64).reshape(3, 4)}
    return doc


def assert_documents_equal(a: Document, b: Document) -> None:
    assert (a.width, a.height) == (b.width, b.height)
    assert len(a.layers) == len(b.layers)
    for x, y in zip(a.layers, b.layers):
        for attr in ("id", "name", "kind", "visible", "opacity", "blend_mode", "locked", "label_set", "recipe"):
            assert getattr(x, attr) == getattr(y, attr), (x.name, attr)
        assert x.pixels.dtype == y.pixels.dtype and np.array_equal(x.pixels, y.pixels), x.name
        assert (x.instances is None) == (y.instances is None)
        if x.instances is not None:
            assert np.array_equal(x.instances, y.instances)
    assert a.state == b.state and a.label_sets == b.label_sets
    assert set(a.arrays) == set(b.arrays)
    for key in a.arrays:
        assert a.arrays[key].dtype == b.arrays[key].dtype and np.array_equal(a.arrays[key], b.arrays[key]), key


def big_document() -> Document:
    """Big enough that one save takes a while (incompressible pixels)."""
    doc = sample_document(width=1024, height=768, seed=5)
    rng = np.random.default_rng(9)
    for i in range(2):
        doc.insert(Layer(name=f"Noise {i}", kind="image", id=f"noise{i}", pixels=rng.integers(0, 256, (768, 1024, 4)).astype(np.uint8)))
    return doc
