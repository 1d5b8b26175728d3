"""StyleGAN2 training: mapping + synthesis G, residual D, G_ema, R1 / path length / ADA, fine-tuning."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.cli import main as cli_main
from engine.errors import CheckpointError, InputError
from engine.imageio import read_image
from engine.loaders.files import read_checkpoint
from engine.models.stylegan2_discriminator import (
    StyleGAN2Discriminator,
    config_from_ada,
    minibatch_stddev,
)
from engine.training.stylegan2 import read_discriminator
from tests.helpers import compat_root
from tests.engine.image_train_support import (
    changed,
    fresh_trainer,
    notes_of,
    run_tiny,
    tiny_options,
    write_images,
)

ADA = compat_root() / "stylegan2_ada"
ROSINALITY = compat_root() / "stylegan2_rosinality" / "000040.pt"
#: a 16 px generator with 16-wide layers; every regulariser runs within 2 steps
TINY = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16,
        "r1_interval": 2, "pl_weight": 2.0, "pl_interval": 2, "ada_interval": 1, "ada_kimg": 0.01}


def test_trains_from_scratch_and_samples_through_the_cli(tmp_path):
    write_images(tmp_path / "data", 4, 16)
    opts = tiny_options("stylegan2", [tmp_path / "data"], tmp_path / "run", resolution=16, steps=2, extra=dict(TINY))
    before = fresh_trainer(opts)
    model, records = run_tiny(opts)
    assert model.family == "stylegan2" and model.config.img_resolution == 16
    losses = records[-1]["losses"]
    assert {"loss_g", "loss_d", "ada_p"} <= set(losses)
    assert any("r1" in r["losses"] for r in records) and any("pl_penalty" in r["losses"] for r in records)
    assert changed(before.G_ema, model.networks["G"])
    # the mapping's running mean moved toward the mean w
    assert not torch.equal(model.networks["G"].mapping.w_avg, before.G.mapping.w_avg)
    out = tmp_path / "sample.png"
    assert cli_main(["sample", str(out), "--model", str(tmp_path / "run" / "latest.safetensors"), "--seed", "3", "--psi", "0.7"]) == 0
    assert read_image(out).shape == (16, 16, 3)


@pytest.mark.skipif(not (ADA / "network-snapshot-uncond.pkl").is_file(), reason="no StyleGAN2-ADA fixture")
def test_finetunes_an_ada_pickle_with_its_discriminator_and_frozen_blocks(tmp_path):
    pkl = ADA / "network-snapshot-uncond.pkl"
    write_images(tmp_path / "data", 4, 32)
    opts = tiny_options("stylegan2", [tmp_path / "data"], tmp_path / "run", resolution=32, steps=1, batch=2,
                        from_ckpt=str(pkl), freeze_d=1, extra={"r1_interval": 1})
    trainer = fresh_trainer(opts)
    official = read_checkpoint(pkl).obj["D"]
    state = official.state_dict()
    assert torch.equal(trainer.D.state_dict()["b32.conv0.weight"], state["b32.conv0.weight"])
    assert trainer.augment.p > 0  # the pickle's augmentation probability
    model, _ = run_tiny(opts)
    notes = " ".join(notes_of(tmp_path / "run"))
    assert "discriminator comes from" in notes and "frozen" in notes
    assert model.config.z_dim == 64 and model.config.img_resolution == 32


@pytest.mark.skipif(not ROSINALITY.is_file(), reason="no rosinality fixture")
def test_rosinality_train_checkpoint_gives_its_discriminator():
    config, state, _, where = read_discriminator(ROSINALITY)
    D = StyleGAN2Discriminator(config)
    D.load_state_dict(state, strict=True)
    assert "rosinality" in where
    with torch.no_grad():
        assert D(torch.zeros(4, 3, config.img_resolution, config.img_resolution)).shape == (4, 1)


def test_other_families_and_conditional_pickles_are_refused_by_name(tmp_path):
    write_images(tmp_path / "data", 2, 32)
    biggan = compat_root() / "biggan" / "model"
    if biggan.is_dir():
        opts = tiny_options("stylegan2", [tmp_path / "data"], tmp_path / "run", resolution=32, from_ckpt=str(biggan))
        with pytest.raises(CheckpointError, match="biggan"):
            fresh_trainer(opts)
    cond = ADA / "network-snapshot-cond.pkl"
    if cond.is_file():
        opts = tiny_options("stylegan2", [tmp_path / "data"], tmp_path / "run2", resolution=32, from_ckpt=str(cond))
        with pytest.raises(InputError, match="class-conditional"):
            fresh_trainer(opts)


def test_minibatch_stddev_feature_is_the_group_deviation():
    x = torch.randn(4, 3, 2, 2)
    y = minibatch_stddev(x, group_size=2)
    groups = x.reshape(2, 2, 3, 2, 2)  # sample i is grouped with sample i + 2
    expected = groups.std(dim=0, unbiased=False).mean(dim=[1, 2, 3])
    torch.testing.assert_close(y[:2, 3, 0, 0], expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(y[2:, 3, 0, 0], expected, atol=1e-4, rtol=1e-4)


@pytest.mark.skipif(not (ADA / "network-snapshot-cond.pkl").is_file(), reason="no StyleGAN2-ADA fixture")
def test_conditional_ada_discriminator_loads_strictly():
    ckpt = read_checkpoint(ADA / "network-snapshot-cond.pkl")
    found = read_discriminator(Path(ckpt.path))
    config, state, _, _ = found
    assert config.c_dim == 5 and config == config_from_ada(ckpt.obj["D"].init_kwargs, ckpt.obj["D"].state_dict())
    D = StyleGAN2Discriminator(config)
    D.load_state_dict(state, strict=True)
    with torch.no_grad():
        assert D(torch.zeros(4, 3, 32, 32), torch.eye(5)[:4]).shape == (4, 1)


def test_resume_is_exact_with_ada_lazy_regularisation_and_ema(tmp_path):
    from tests.engine.families_b_support import assert_exact_resume

    write_images(tmp_path / "data", 4, 16)
    opts = tiny_options("stylegan2", [tmp_path / "data"], tmp_path / "run", resolution=16, steps=2, extra=dict(TINY))
    assert_exact_resume(opts, stop_after=1)  # step 0 runs R1 and path length (their state crosses the stop)


@pytest.mark.skipif(not ROSINALITY.is_file(), reason="no rosinality fixture")
def test_finetunes_a_rosinality_train_checkpoint_with_its_discriminator(tmp_path):
    write_images(tmp_path / "data", 2, 32)
    opts = tiny_options("stylegan2", [tmp_path / "data"], tmp_path / "run", resolution=32, steps=1, batch=2,
                        from_ckpt=str(ROSINALITY), extra={"r1_interval": 1})
    trainer = fresh_trainer(opts)
    config, state, _, _ = read_discriminator(ROSINALITY)
    assert trainer.D.config.channels == config.channels
    assert torch.equal(trainer.D.state_dict()["b4.out.weight"], state["b4.out.weight"])
    model, _ = run_tiny(opts)
    assert "rosinality 'd'" in " ".join(notes_of(tmp_path / "run")) and model.family == "stylegan2"
