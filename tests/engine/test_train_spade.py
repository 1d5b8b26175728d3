"""SPADE training: spectral-norm SPADE G (+ VAE encoder), multi-scale SN PatchGAN, hinge + feature
matching (+ KL), fine-tuning from official files with a discriminator beside them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from engine.cli import main as cli_main
from engine.errors import InputError
from engine.imageio import read_image, write_png
from engine.labelsets import write_index_png
from engine.models.patchgan import PatchGAN, PatchGANConfig
from tests.helpers import compat_root
from tests.engine.families_b_support import label_dataset
from tests.engine.image_train_support import (
    changed,
    fresh_trainer,
    notes_of,
    run_tiny,
    tiny_options,
)

SEG = compat_root() / "spade" / "seg"
TINY = {"ngf": 2, "ndf": 4, "n_layers_d": 2, "num_d": 2}


def test_trains_with_instances_and_renders_through_synth(tmp_path):
    data = label_dataset(tmp_path / "data", label_nc=5)
    opts = tiny_options("spade", [data], tmp_path / "run", resolution=64, steps=2, augment="diffaugment",
                        extra=dict(TINY))
    before = fresh_trainer(opts)
    assert before.opt_D.param_groups[0]["lr"] == 4e-4 and before.opt_G.param_groups[0]["lr"] == 1e-4
    assert before.opt_G.param_groups[0]["betas"] == (0.0, 0.9)
    model, records = run_tiny(opts)
    assert {"loss_g_gan", "loss_g_feat", "loss_d"} == set(records[-1]["losses"])
    assert model.family == "spade" and model.config.label_nc == 5 and not model.config.no_instance
    assert changed(before.G, model.networks["G"])
    labels = np.zeros((64, 64), np.int32)
    labels[10:40, 5:50] = 3
    write_index_png(tmp_path / "labels.png", labels)
    out = tmp_path / "out.png"
    assert cli_main(["synth", str(tmp_path / "labels.png"), str(out), "--model", str(tmp_path / "run" / "latest.safetensors")]) == 0
    assert read_image(out).shape == (64, 64, 3)


def test_vae_encoder_learns_with_kl(tmp_path):
    data = label_dataset(tmp_path / "data", count=2, label_nc=4, instances=False)
    opts = tiny_options("spade", [data], tmp_path / "run", resolution=64, steps=1, augment="ada",
                        extra={**TINY, "vae": True})
    before = fresh_trainer(opts)
    model, records = run_tiny(opts)
    assert "loss_kld" in records[-1]["losses"] and records[-1]["losses"]["loss_kld"] >= 0
    assert "ada_p" in records[-1]["losses"]
    assert set(model.networks) == {"G", "E"} and model.config.use_vae and model.config.no_instance
    assert changed(before.E, model.networks["E"])
    from engine.pipelines.paint_spade import synthesize
    from engine.types import ModelRef, SynthesizeRequest
    from engine.worker import JobContext

    style = np.full((64, 64, 3), 120, np.uint8)
    result = synthesize(model, SynthesizeRequest(model=ModelRef("run"), label_map=np.zeros((64, 64), np.int32), style_image=style),
                        JobContext.detached())
    assert result.image.shape == (64, 64, 3)


def _official_d_file(path, config: PatchGANConfig) -> dict[str, torch.Tensor]:
    """A discriminator written in SPADE's official key layout (normalised convs one level deeper)."""
    torch.manual_seed(5)
    state = PatchGAN(config).state_dict()
    official = {}
    for key, value in state.items():
        parts = key.split(".")
        block = int(parts[1][5:])
        if 1 <= block <= config.n_layers and parts[2] == "0":
            key = ".".join(parts[:3] + ["0"] + parts[3:])
        official[key] = value
    torch.save(official, path)
    return state


@pytest.mark.skipif(not (SEG / "latest_net_G.pth").is_file(), reason="no SPADE fixture")
def test_finetunes_the_official_generator_with_its_discriminator(tmp_path):
    config = json.loads((SEG / "config.json").read_text())
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    shutil.copy(SEG / "latest_net_G.pth", ckpt / "latest_net_G.pth")
    size = config["crop_size"]
    data = label_dataset(tmp_path / "data", count=2, size=size, label_nc=config["label_nc"], instances=not config["no_instance"])
    d_config = PatchGANConfig(input_nc=config["semantic_nc"] + 3, ndf=4, n_layers=2, norm="instance", spectral_norm=True,
                              padding=2, num_d=2)
    d_state = _official_d_file(ckpt / "latest_net_D.pth", d_config)
    opts = tiny_options("spade", [data], tmp_path / "run", resolution=size, steps=1, freeze_d=1,
                        from_ckpt=str(ckpt / "latest_net_G.pth"))
    trainer = fresh_trainer(opts)  # label_nc etc. come from the dataset: the official file does not tell them
    assert trainer.config.label_nc == config["label_nc"] and trainer.config.semantic_nc == config["semantic_nc"]
    for key, value in d_state.items():
        assert torch.equal(trainer.D.state_dict()[key], value), key
    run_tiny(opts)
    notes = " ".join(notes_of(tmp_path / "run"))
    assert "latest_net_D.pth" in notes and "options from the dataset" in notes


def test_training_input_is_the_input_the_app_renders_from():
    from engine.models.spade import SpadeConfig
    from engine.pipelines.paint_spade import semantic_onehot
    from engine.training.spade import check_label_range, semantic_input

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, (1, 16, 16))
    instances = rng.integers(0, 3, (1, 16, 16))
    config = SpadeConfig(label_nc=4, no_instance=False, ngf=1, crop_size=32)
    ours = semantic_input(torch.from_numpy(labels), torch.from_numpy(instances), config.onehot_nc, True)
    torch.testing.assert_close(ours, semantic_onehot(labels[0].astype(np.int32), instances[0].astype(np.int32), config))
    with pytest.raises(InputError, match="label channels"):
        check_label_range(torch.from_numpy(labels), 3, "the model")


def test_needs_label_maps(tmp_path):
    (tmp_path / "data" / "inputs").mkdir(parents=True)
    (tmp_path / "data" / "images").mkdir()
    for name in ("a", "b"):
        write_png(tmp_path / "data" / "inputs" / f"{name}.png", np.zeros((64, 64, 3), np.uint8))
        write_png(tmp_path / "data" / "images" / f"{name}.png", np.zeros((64, 64, 3), np.uint8))
    opts = tiny_options("spade", [tmp_path / "data"], tmp_path / "run", resolution=64, extra=dict(TINY))
    with pytest.raises(InputError, match="label maps"):
        fresh_trainer(opts)


def test_a_resolution_the_generator_cannot_render_is_refused(tmp_path):
    data = label_dataset(tmp_path / "data", count=2, size=64, label_nc=3)
    opts = tiny_options("spade", [data], tmp_path / "run", resolution=48, extra=dict(TINY))
    with pytest.raises(InputError, match="--resolution 32"):
        fresh_trainer(opts)
    tiny = tiny_options("spade", [data], tmp_path / "run2", resolution=32, batch=1, extra=dict(TINY))
    with pytest.raises(InputError, match="1x1"):
        fresh_trainer(tiny)
