"""pix2pixHD training: global G, then the local enhancer around it, instance-feature encoder,
multi-scale D, LSGAN + feature matching, fine-tuning from the official files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from engine.cli import main as cli_main
from engine.imageio import read_image
from engine.labelsets import write_index_png
from engine.models.patchgan import PatchGAN, PatchGANConfig
from engine.pipelines.paint_translate import synthesize
from engine.types import ModelRef, SynthesizeRequest
from engine.worker import JobContext
from tests.helpers import compat_root
from tests.engine.families_b_support import label_dataset
from tests.engine.image_train_support import (
    changed,
    fresh_trainer,
    notes_of,
    run_tiny,
    tiny_options,
)

GLOBAL = compat_root() / "pix2pixhd" / "global"
TINY = {"ngf": 4, "n_downsample_global": 2, "n_blocks_global": 1, "nef": 4, "n_downsample_E": 2, "ndf": 4,
        "n_layers_d": 2, "n_blocks_local": 1}


def test_global_then_local_enhancer(tmp_path):
    data = label_dataset(tmp_path / "data", count=2, size=32, label_nc=4)
    opts = tiny_options("pix2pixhd", [data], tmp_path / "global", resolution=32, steps=2,
                        extra={**TINY, "instance_feat": True})
    before = fresh_trainer(opts)
    model, records = run_tiny(opts)
    assert {"loss_g_gan", "loss_g_feat", "loss_d"} == set(records[-1]["losses"])
    assert model.family == "pix2pixhd" and set(model.networks) == {"G", "E"} and model.config.instance_feat
    assert changed(before.G, model.networks["G"]) and changed(before.E, model.networks["E"])
    labels = np.zeros((32, 32), np.int32)
    labels[4:20, 8:30] = 2
    write_index_png(tmp_path / "labels.png", labels)
    out = tmp_path / "out.png"
    assert cli_main(["synth", str(tmp_path / "labels.png"), str(out), "--model", str(tmp_path / "global" / "latest.safetensors")]) == 0
    assert read_image(out).shape == (32, 32, 3)

    local = tiny_options("pix2pixhd", [data], tmp_path / "local", resolution=32, steps=2,
                         from_ckpt=str(tmp_path / "global" / "latest.safetensors"),
                         extra={**TINY, "netG": "local", "instance_feat": True, "fix_global_steps": 1})
    trainer = fresh_trainer(local)
    inner = trainer.G.model.state_dict()
    for key, value in model.networks["G"].model.state_dict().items():
        if key in inner:  # every layer but the output head
            assert torch.equal(inner[key], value), key
    local_model, _ = run_tiny(local)
    assert local_model.config.netG == "local" and local_model.config.ngf == 2
    assert "local enhancer" in " ".join(notes_of(tmp_path / "local"))
    result = synthesize(local_model, SynthesizeRequest(model=ModelRef("run"), label_map=labels,
                                                       style_image=np.full((32, 32, 3), 90, np.uint8)), JobContext.detached())
    assert result.image.shape == (32, 32, 3)


@pytest.mark.skipif(not (GLOBAL / "latest_net_G.pth").is_file(), reason="no pix2pixHD fixture")
def test_finetunes_the_official_global_generator_with_its_encoder(tmp_path):
    config = json.loads((GLOBAL / "config.json").read_text())
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    for name in ("latest_net_G.pth", "latest_net_E.pth"):
        shutil.copy(GLOBAL / name, ckpt / name)
    size = 2 * 2 ** max(config["n_downsample_global"], config["n_downsample_E"])
    data = label_dataset(tmp_path / "data", count=2, size=size, label_nc=config["label_nc"],
                         instances=not config["no_instance"])
    opts = tiny_options("pix2pixhd", [data], tmp_path / "run", resolution=size, steps=1,
                        from_ckpt=str(ckpt / "latest_net_G.pth"),
                        extra={"ndf": 4, "n_layers_d": 2, "instance_feat": config["instance_feat"], "feat_num": config["feat_num"]})
    d_state = _official_d_file(ckpt / "latest_net_D.pth", PatchGANConfig(
        input_nc=config["label_nc"] + int(not config["no_instance"]) + config["output_nc"], ndf=4, n_layers=2,
        norm="instance", padding=2, num_d=2))
    before = fresh_trainer(opts)
    assert before.config.label_nc == config["label_nc"] and before.config.ngf == config["ngf"]
    for key, value in d_state.items():
        assert torch.equal(before.D.state_dict()[key], value), key
    model, _ = run_tiny(opts)
    assert changed(before.G, model.networks["G"])
    assert "comes from latest_net_D.pth" in " ".join(notes_of(tmp_path / "run"))


def _official_d_file(path, config: PatchGANConfig) -> dict[str, torch.Tensor]:
    """A discriminator in pix2pixHD's layout: ``scale{s}_layer{j}`` (scale num_d-1 sees full resolution)."""
    torch.manual_seed(6)
    state = PatchGAN(config).state_dict()
    official = {}
    for key, value in state.items():
        scale, block, rest = key.split(".", 2)
        official[f"scale{config.num_d - 1 - int(scale.split('_')[1])}_layer{block[5:]}.{rest}"] = value
    torch.save(official, path)
    return state


def test_image_to_image_input(tmp_path):
    from tests.engine.image_train_support import write_images

    write_images(tmp_path / "data" / "inputs", 2, 32, seed=1)
    write_images(tmp_path / "data" / "images", 2, 32, seed=2)
    opts = tiny_options("pix2pixhd", [tmp_path / "data"], tmp_path / "run", resolution=32, steps=1, augment="diffaugment",
                        extra=dict(TINY))
    model, _ = run_tiny(opts)
    assert model.config.label_nc == 0 and model.config.no_instance and model.label_set is None
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    result = synthesize(model, SynthesizeRequest(model=ModelRef("run"), label_map=image), JobContext.detached())
    assert result.image.shape == (32, 32, 3)
