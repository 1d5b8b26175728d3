"""pix2pix training: U-Net G + conditional PatchGAN D, cGAN + lambda L1, image-to-image and label maps."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError, InputError
from engine.labelsets import write_index_png
from engine.models.patchgan import PatchGAN, PatchGANConfig, block_sizes
from engine.pipelines.paint_translate import synthesize
from engine.training import losses
from engine.training.gan_helpers import one_hot
from engine.types import ModelRef, SynthesizeRequest
from engine.worker import JobContext
from tests.engine.image_train_support import (
    assert_resume_is_exact, changed, fresh_trainer, notes_of, run_tiny, tiny_options, write_images,
)

COMPAT = Path("/work/shared/compat/pix2pix_cyclegan/pix2pix_unet")
TINY = {"ngf": 4, "ndf": 4, "n_layers_d": 2}


def image_pairs(root: Path, count: int = 4, size: int = 32) -> Path:
    inputs = write_images(root / "inputs", count, size, seed=1)
    targets = root / "images"
    targets.mkdir()
    from engine.imageio import write_png

    for i, image in enumerate(inputs):  # the target: colours swapped and inverted
        write_png(targets / f"img{i:02d}.png", 255 - image[..., ::-1])
    return root


def label_pairs(root: Path, count: int = 4, size: int = 32, label_nc: int = 5) -> Path:
    write_images(root / "images", count, size, seed=2)
    (root / "labels").mkdir()
    rng = np.random.default_rng(3)
    for i in range(count):
        labels = np.zeros((size, size), np.uint8)
        for value in range(1, label_nc):
            top, left = rng.integers(0, size - 8, size=2)
            labels[top:top + 8, left:left + 8] = value
        write_index_png(root / "labels" / f"img{i:02d}.png", labels)
    return root


def test_image_to_image_trains_and_translates(tmp_path):
    opts = tiny_options("pix2pix", [image_pairs(tmp_path / "data")], tmp_path / "run", resolution=32, extra=dict(TINY))
    before = fresh_trainer(opts)
    model, records = run_tiny(opts)
    assert model.family == "pix2pix_unet" and model.config.input_nc == 3 and model.config.num_downs == 5
    assert set(records[-1]["losses"]) == {"loss_d", "loss_g_gan", "loss_l1"}
    assert changed(before.G, model.networks["G"])
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    result = synthesize(model, SynthesizeRequest(model=ModelRef("run"), label_map=image), JobContext.detached())
    assert result.image.shape == (32, 32, 3) and result.image.dtype == np.uint8


def test_label_maps_go_in_one_hot(tmp_path):
    opts = tiny_options("pix2pix", [label_pairs(tmp_path / "data")], tmp_path / "run", resolution=32, steps=2,
                        extra=dict(TINY, label_input="onehot"))
    model, _ = run_tiny(opts)
    assert model.config.input_nc == 5 and model.label_set is not None
    labels = torch.zeros(1, 32, 32, dtype=torch.int64)
    labels[:, 8:20, 4:30] = 3
    with torch.no_grad():
        out = model.networks["G"](one_hot(labels, 5))
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()


def test_wgan_gp_loss_and_frozen_discriminator_layers(tmp_path):
    opts = tiny_options("pix2pix", [image_pairs(tmp_path / "data")], tmp_path / "run", resolution=32, steps=2,
                        loss="wgan-gp", freeze_d=1, extra=dict(TINY))
    before = fresh_trainer(opts)
    run_tiny(opts)
    from engine.training.rundir import RunDir

    _, state = RunDir(tmp_path / "run").load_latest_state()
    d_after = state["networks"]["D"]
    d_before = before.D.state_dict()
    assert torch.equal(d_after["discriminator_0.model0.0.weight"], d_before["discriminator_0.model0.0.weight"])
    assert not torch.equal(d_after["discriminator_0.model1.0.weight"], d_before["discriminator_0.model1.0.weight"])


def official_d_state(config: PatchGANConfig, net: PatchGAN) -> dict[str, torch.Tensor]:
    """Our PatchGAN's state under the official pix2pix key names (one flat Sequential ``model``)."""
    offsets = np.cumsum([0] + block_sizes(config))
    out = {}
    for key, value in net.state_dict().items():
        _, block, index, rest = key.split(".", 3)
        out[f"model.{offsets[int(block[5:])] + int(index)}.{rest}"] = value
    return out


def test_official_discriminator_keys_follow_the_pix2pix_layout():
    config = PatchGANConfig(input_nc=6, ndf=8, n_layers=3, norm="batch")
    keys = official_d_state(config, PatchGAN(config))
    convs = sorted({int(k.split(".")[1]) for k in keys if k.endswith("weight") and keys[k].dim() == 4})
    norms = sorted({int(k.split(".")[1]) for k in keys if k.endswith("running_mean")})
    assert convs == [0, 2, 5, 8, 11] and norms == [3, 6, 9]  # NLayerDiscriminator(n_layers=3), batch norm


def test_fine_tunes_an_official_generator_with_the_discriminator_beside_it(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    shutil.copy(COMPAT / "latest_net_G.pth", folder / "latest_net_G.pth")
    config = PatchGANConfig(input_nc=6, ndf=4, n_layers=2, norm="batch")
    torch.manual_seed(5)
    d = PatchGAN(config)
    torch.save(official_d_state(config, d), folder / "latest_net_D.pth")
    data = image_pairs(tmp_path / "data", count=2, size=256)
    opts = tiny_options("pix2pix", [data], tmp_path / "run", resolution=256, steps=1, batch=1,
                        from_ckpt=str(folder / "latest_net_G.pth"))
    model, _ = run_tiny(opts)
    assert model.config.ngf == 4 and model.config.norm == "batch" and model.config.num_downs == 8
    notes = notes_of(tmp_path / "run")
    assert any("latest_net_D.pth" in n for n in notes), notes

    (folder / "latest_net_D.pth").unlink()
    opts = opts.replace(out=str(tmp_path / "run2"))
    run_tiny(opts)
    assert any("fresh" in n for n in notes_of(tmp_path / "run2"))


def test_another_family_is_refused_by_name(tmp_path):
    data = image_pairs(tmp_path / "data")
    cyclegan = Path("/work/shared/compat/pix2pix_cyclegan/cyclegan_resnet/latest_net_G_A.pth")
    opts = tiny_options("pix2pix", [data], tmp_path / "run", resolution=32, from_ckpt=str(cyclegan), extra=dict(TINY))
    with pytest.raises(CheckpointError, match="cyclegan_resnet"):
        fresh_trainer(opts)


def test_halved_discriminator_loss_matches_the_paper():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expected = 0.5 * (torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean())
    assert torch.allclose(0.5 * losses.d_loss("nonsaturating", real, fake), expected)


def test_label_maps_as_colours_translate_in_the_paint_pipeline(tmp_path):
    from engine.labelsets import LabelSet

    opts = tiny_options("pix2pix", [label_pairs(tmp_path / "data")], tmp_path / "run", resolution=32, steps=2,
                        extra=dict(TINY))  # label_input="color" is the default
    model, _ = run_tiny(opts)
    assert model.config.input_nc == 3 and model.label_set is not None
    labels = np.zeros((32, 32), np.int64)
    labels[4:20, 6:26] = 2
    painted = LabelSet.from_dict(model.label_set).colorize(labels)  # what the user paints with the palette
    result = synthesize(model, SynthesizeRequest(model=ModelRef("run"), label_map=painted), JobContext.detached())
    assert result.image.shape == (32, 32, 3)


def test_a_generator_that_does_not_fit_the_dataset_is_refused(tmp_path):
    labels = label_pairs(tmp_path / "labels", size=256, count=1)
    opts = tiny_options("pix2pix", [labels], tmp_path / "run", resolution=256, from_ckpt=str(COMPAT / "latest_net_G.pth"),
                        extra={"label_input": "onehot"})
    with pytest.raises(CheckpointError, match="5 one-hot label channels"):
        fresh_trainer(opts)
    pairs = image_pairs(tmp_path / "pairs", count=1, size=128)
    with pytest.raises(InputError, match="multiple of 256"):
        fresh_trainer(opts.replace(data=(str(pairs),), resolution=128))


def test_resume_is_exact_with_dropout(tmp_path):
    opts = tiny_options("pix2pix", [image_pairs(tmp_path / "data", size=64)], tmp_path / "runs", resolution=64, steps=4,
                        extra=dict(TINY, norm="batch"))  # 6 levels: one with dropout; batch-norm statistics too
    trainer = fresh_trainer(opts)
    assert any(isinstance(m, torch.nn.Dropout) for m in trainer.G.modules())
    assert_resume_is_exact(opts, stop_at=2)


def test_adaptive_augmentation_of_the_discriminator(tmp_path):
    opts = tiny_options("pix2pix", [image_pairs(tmp_path / "data")], tmp_path / "run", resolution=32, steps=2,
                        augment="ada", extra=dict(TINY))
    _, records = run_tiny(opts)
    assert "ada_p" in records[-1]["losses"]
    from engine.training.rundir import RunDir

    assert "ada" in RunDir(tmp_path / "run").load_latest_state()[1]["extra"]


def test_learning_rates_decay_linearly_in_the_second_half():
    from engine.training.gan_helpers import linear_decay

    factors = [linear_decay(step, 10, 0.5) for step in range(10)]
    assert factors[:5] == [1.0] * 5
    assert all(a > b for a, b in zip(factors[4:], factors[5:])) and factors[-1] > 0
    assert linear_decay(9, 10, 1.0) == 1.0


def test_the_schedule_sets_the_optimizers_from_the_step(tmp_path):
    opts = tiny_options("pix2pix", [image_pairs(tmp_path / "data")], tmp_path / "run", resolution=32, steps=4,
                        lr_g=1e-3, lr_d=4e-3, extra=dict(TINY))
    trainer = fresh_trainer(opts)
    trainer._schedule(3)
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(1e-3 / 3)  # steps 2, 3 decay: 2/3, 1/3
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(4e-3 / 3)


def test_fine_tunes_its_own_file_with_a_fresh_discriminator(tmp_path):
    data = image_pairs(tmp_path / "data")
    first = tiny_options("pix2pix", [data], tmp_path / "run", resolution=32, steps=1, extra=dict(TINY))
    model, _ = run_tiny(first)
    again = first.replace(out=str(tmp_path / "again"), from_ckpt=str(tmp_path / "run" / "latest.safetensors"))
    tuned, _ = run_tiny(again)
    assert tuned.config == model.config
    assert any("fresh" in n for n in notes_of(tmp_path / "again"))
