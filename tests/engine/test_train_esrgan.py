"""ESRGAN training: RRDBNet / SRVGGNetCompact, L1 stage then relativistic GAN (+ perceptual), on-the-fly degradations."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError, InputError
from engine.models.unet_discriminator import UNetDiscriminatorConfig, UNetDiscriminatorSN
from engine.models.vgg19 import VGG19Features, layer_indices
from engine.pipelines.upscale import upscale_image
from engine.training import degradations as dg
from engine.training.rundir import RunDir
from engine.worker import JobContext
from tests.engine.image_train_support import (
    assert_resume_is_exact, changed, fresh_trainer, notes_of, run_tiny, tiny_options, write_images,
)

COMPAT = Path("/work/shared/compat/esrgan")
TINY_RRDB = {"arch": "rrdb", "scale": 2, "num_feat": 8, "num_block": 1, "num_grow_ch": 4, "d_feat": 4, "psnr_steps": 1}


def test_rrdb_x2_trains_both_stages_and_upscales(tmp_path):
    opts = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=32, extra=dict(TINY_RRDB))
    write_images(tmp_path / "hr", 3, 40)
    before = fresh_trainer(opts)
    model, records = run_tiny(opts)
    assert model.family == "esrgan" and model.config.scale == 2 and model.config.num_block == 1
    assert set(records[0]["losses"]) == {"loss_l1"}  # step 1: the PSNR stage
    assert {"loss_g_gan", "loss_d", "loss_percep"} <= set(records[-1]["losses"])
    assert changed(before.G, model.networks["G"])
    nets = RunDir(tmp_path / "run").load_latest_state()[1]["networks"]
    assert any(not torch.equal(v, nets["D"][k]) for k, v in before.D.state_dict().items())  # D trained in stage 2
    exported = model.networks["G"].state_dict()  # the moving average is what is exported
    assert all(torch.equal(v, nets["G_ema"][k]) for k, v in exported.items())
    assert any(not torch.equal(v, nets["G"][k]) for k, v in exported.items())
    assert any("VGG19" in n for n in notes_of(tmp_path / "run"))  # no weights here: said, and trained without
    image = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    out, _, _ = upscale_image(model, image, JobContext.detached(), tile=0)
    assert out.shape == (40, 48, 3) and out.dtype == np.uint8


def test_srvgg_x4_with_vgg_discriminator_and_perceptual_loss(tmp_path):
    torch.manual_seed(1)
    vgg = VGG19Features("conv1_2")  # a stand-in weights file: only the layers used are needed
    torch.save({f"features.{k}": v for k, v in vgg.features.state_dict().items()}, tmp_path / "vgg19.pth")
    extra = {"arch": "srvgg", "scale": 4, "num_feat": 8, "num_conv": 2, "discriminator": "vgg", "d_feat": 4,
             "psnr_steps": 0, "perceptual_layer": "conv1_2", "vgg19_weights": str(tmp_path / "vgg19.pth"),
             "degradations": "bicubic", "ema": 0}
    write_images(tmp_path / "hr", 3, 32)
    opts = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=32, steps=2, loss="nonsaturating",
                        extra=extra)
    model, records = run_tiny(opts)
    assert model.family == "srvgg" and model.config.upscale == 4
    assert records[-1]["losses"]["loss_percep"] > 0
    nets = RunDir(tmp_path / "run").load_latest_state()[1]["networks"]
    assert "G_ema" not in nets and all(torch.equal(v, nets["G"][k]) for k, v in model.networks["G"].state_dict().items())
    out, _, _ = upscale_image(model, np.zeros((8, 8, 3), np.uint8), JobContext.detached(), tile=0)
    assert out.shape == (32, 32, 3)


def test_fine_tunes_a_basicsr_file_with_a_real_esrgan_discriminator_beside_it(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    shutil.copy(COMPAT / "RRDBNet_x4_params_ema.pth", folder / "RRDBNet_x4_params_ema.pth")
    torch.save({"params": UNetDiscriminatorSN(UNetDiscriminatorConfig(num_feat=4)).state_dict()},
               folder / "RRDBNet_x4_params_ema_netD.pth")
    write_images(tmp_path / "hr", 2, 32)
    opts = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=32, steps=1, batch=1,
                        from_ckpt=str(folder / "RRDBNet_x4_params_ema.pth"), extra={"perceptual_weight": 0})
    model, records = run_tiny(opts)
    assert model.config.num_feat == 16 and model.config.scale == 4
    assert "loss_d" in records[-1]["losses"]  # fine-tuning goes straight to the GAN stage
    assert any("RRDBNet_x4_params_ema_netD.pth" in n for n in notes_of(tmp_path / "run"))


def test_bad_settings_are_refused(tmp_path):
    write_images(tmp_path / "hr", 2, 32)
    bad_crop = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=36, extra=dict(TINY_RRDB))
    with pytest.raises(InputError, match="multiple of 8"):
        fresh_trainer(bad_crop)
    missing = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=32,
                           extra=dict(TINY_RRDB, vgg19_weights=str(tmp_path / "nowhere.pth")))
    with pytest.raises(InputError, match="VGG19"):
        fresh_trainer(missing)
    wrong = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=32,
                         from_ckpt="/work/shared/compat/pix2pix_cyclegan/cyclegan_resnet/latest_net_G_A.pth")
    with pytest.raises(CheckpointError, match="cyclegan_resnet"):
        fresh_trainer(wrong)


def test_degradations_follow_torch_rng_and_keep_sizes():
    hr = torch.rand(3, 3, 24, 24)
    torch.manual_seed(3)
    a = dg.degrade(hr, 4, dg.DegradationSettings())
    torch.manual_seed(3)
    b = dg.degrade(hr, 4, dg.DegradationSettings())
    assert torch.equal(a, b) and a.shape == (3, 3, 6, 6)
    assert a.min() >= 0 and a.max() <= 1 and torch.equal(a, (a * 255).round() / 255)
    torch.manual_seed(4)
    assert not torch.equal(a, dg.degrade(hr, 4, dg.DegradationSettings()))
    flat = torch.full((1, 3, 8, 8), 0.5)
    plain = dg.degrade(flat, 2, dg.DegradationSettings.none())
    assert torch.allclose(plain, torch.full((1, 3, 4, 4), 0.5), atol=1 / 255)  # no noise, no blur: a flat image stays flat


def test_gaussian_kernel_is_normalised_and_oriented():
    k = dg.gaussian_kernel(9, 3.0, 0.5, 0.0)
    assert torch.isclose(k.sum(), torch.tensor(1.0))
    assert k[4, :].sum() > k[:, 4].sum()  # wide along x, narrow along y
    rotated = dg.gaussian_kernel(9, 3.0, 0.5, np.pi / 2)
    assert torch.allclose(rotated, k.T, atol=1e-6)


def test_vgg19_layout_matches_torchvision_indices():
    names = layer_indices()
    assert names["conv5_4"] == 34 and names["pool5"] == 36 and names["relu2_1"] == 6
    net = VGG19Features("conv5_4")
    convs = [i for i, m in enumerate(net.features) if isinstance(m, torch.nn.Conv2d)]
    assert convs == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]


def test_freezing_the_first_discriminator_layers(tmp_path):
    write_images(tmp_path / "hr", 2, 32)
    opts = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=32, steps=2, freeze_d=2,
                        extra=dict(TINY_RRDB, psnr_steps=0))
    before = fresh_trainer(opts).D.state_dict()
    run_tiny(opts)
    after = RunDir(tmp_path / "run").load_latest_state()[1]["networks"]["D"]
    assert torch.equal(before["conv0.weight"], after["conv0.weight"])
    assert torch.equal(before["conv1.weight_orig"], after["conv1.weight_orig"])
    assert not torch.equal(before["conv2.weight_orig"], after["conv2.weight_orig"])
    with pytest.raises(InputError, match="freeze-d 10"):
        fresh_trainer(opts.replace(freeze_d=10))


def test_resume_is_exact_with_degradations_and_the_moving_average(tmp_path):
    write_images(tmp_path / "hr", 3, 32)
    opts = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "runs", resolution=32, steps=4, extra=dict(TINY_RRDB))
    state = assert_resume_is_exact(opts, stop_at=2)  # the split falls in the GAN stage (psnr_steps 1)
    assert "G_ema" in state["networks"]


def test_adaptive_augmentation_of_the_discriminator(tmp_path):
    write_images(tmp_path / "hr", 2, 32)
    opts = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=32, steps=2, augment="ada",
                        extra=dict(TINY_RRDB, psnr_steps=0))
    _, records = run_tiny(opts)
    assert "ada_p" in records[-1]["losses"]


def test_srresnet_trains_and_fine_tunes_from_basicsr(tmp_path):
    write_images(tmp_path / "hr", 2, 32)
    fresh = tiny_options("esrgan", [tmp_path / "hr"], tmp_path / "run", resolution=32, steps=2,
                         extra={"arch": "srresnet", "scale": 2, "num_feat": 8, "num_block": 1, "d_feat": 4, "psnr_steps": 1})
    model, _ = run_tiny(fresh)
    assert model.family == "srresnet" and model.config.upscale == 2
    tuned = fresh.replace(out=str(tmp_path / "tuned"), steps=1, from_ckpt=str(COMPAT / "MSRResNet_x4_params.pth"), extra={})
    model, _ = run_tiny(tuned)
    assert model.family == "srresnet" and model.config.upscale == 4
    out, _, _ = upscale_image(model, np.zeros((8, 8, 3), np.uint8), JobContext.detached(), tile=0)
    assert out.shape == (32, 32, 3)
