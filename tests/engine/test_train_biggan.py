"""BigGAN training: BigGAN-deep G (shared embedding, conditional BN, self-attention, SN), projection
D, hinge, orthogonal regularisation, TTUR, G_ema, standing statistics, fine-tuning."""

from __future__ import annotations

import json

import pytest
import torch

from engine.cli import main as cli_main
from engine.errors import CheckpointError, InputError
from engine.imageio import read_image
from engine.models.biggan import (
    BigGANConfig,
    BigGANGenerator,
    collect_standing_statistics,
)
from engine.models.biggan_discriminator import (
    BigGANDiscriminator,
    BigGANDiscriminatorConfig,
)
from engine.models.layers import SNConv2d
from engine.training.biggan import deep_layers, orthogonal_penalty
from tests.helpers import compat_root
from tests.engine.image_train_support import (
    changed,
    fresh_trainer,
    notes_of,
    run_tiny,
    tiny_options,
    write_images,
)

HF = compat_root() / "biggan" / "model"
TINY = {"channel_width": 4, "z_dim": 8, "d_channel_width": 4, "n_stats": 3, "standing_batches": 1}


def class_folders(root, classes=("cats", "dogs"), per_class=2, size=32):
    for index, name in enumerate(classes):
        write_images(root / name, per_class, size, seed=index)
    return root


def test_trains_and_samples_a_class_through_the_cli(tmp_path):
    data = class_folders(tmp_path / "data")
    opts = tiny_options("biggan", [data], tmp_path / "run", resolution=32, steps=2, augment="diffaugment", extra=dict(TINY))
    before = fresh_trainer(opts)
    assert before.opt_G.param_groups[0]["lr"] == 1e-4 and before.opt_D.param_groups[0]["lr"] == 4e-4
    assert before.config.has_attention and before.config.num_classes == 2
    model, records = run_tiny(opts)
    assert {"loss_g", "loss_d", "ortho"} == set(records[-1]["losses"])
    assert model.family == "biggan" and changed(before.G_ema, model.networks["G"])
    norm = model.networks["G"].generator.bn
    assert not torch.equal(norm.running_means, torch.zeros_like(norm.running_means))  # standing statistics were gathered
    out = tmp_path / "s.png"
    assert cli_main(["sample", str(out), "--model", str(tmp_path / "run" / "latest.safetensors"), "--seed", "2",
                     "--class", "1", "--psi", "0.5"]) == 0
    assert read_image(out).shape == (32, 32, 3)


@pytest.mark.skipif(not HF.is_dir(), reason="no BigGAN fixture")
def test_finetunes_the_hugging_face_model_with_a_class_map(tmp_path):
    config = json.loads((HF / "config.json").read_text())
    data = class_folders(tmp_path / "data", size=config["output_dim"])
    chosen = [config["num_classes"] - 1, 0]
    opts = tiny_options("biggan", [data], tmp_path / "run", resolution=config["output_dim"], steps=1,
                        from_ckpt=str(HF), extra={"d_channel_width": 4, "standing_batches": 1, "class_indices": chosen})
    before = fresh_trainer(opts)
    assert before.class_map.tolist() == chosen
    model, _ = run_tiny(opts)
    assert model.config.num_classes == config["num_classes"] and changed(before.G, model.networks["G"])
    assert "no discriminator" in " ".join(notes_of(tmp_path / "run"))
    bad = tiny_options("biggan", [data], tmp_path / "bad", resolution=config["output_dim"], from_ckpt=str(HF), extra={"class_indices": [0, 99999]})
    with pytest.raises(InputError, match="class_indices"):
        fresh_trainer(bad)


def test_another_family_is_refused_by_name(tmp_path):
    pkl = compat_root() / "stylegan2_ada" / "network-snapshot-uncond.pkl"
    if not pkl.is_file():
        pytest.skip("no StyleGAN2-ADA fixture")
    data = class_folders(tmp_path / "data")
    with pytest.raises(CheckpointError, match="stylegan2"):
        fresh_trainer(tiny_options("biggan", [data], tmp_path / "run", resolution=32, from_ckpt=str(pkl)))


def test_layer_table_matches_the_official_128px_model():
    assert deep_layers(128) == BigGANConfig().layers


def test_orthogonal_penalty_is_zero_for_orthogonal_rows_only():
    conv = SNConv2d(4, 3, 1)
    with torch.no_grad():
        conv.weight_orig.copy_(torch.eye(4)[:3, :, None, None] * 2.0)
        assert float(orthogonal_penalty(conv)) == 0.0
        conv.weight_orig[1, 0] = 1.0
        assert float(orthogonal_penalty(conv)) > 0.0


def test_standing_statistics_are_gathered_per_truncation_without_touching_the_rng():
    config = BigGANConfig(output_dim=8, z_dim=4, class_embed_dim=4, channel_width=4, num_classes=3,
                          layers=deep_layers(8), attention_layer_position=-1, n_stats=2)
    torch.manual_seed(0)
    G = BigGANGenerator(config).eval()
    collect_standing_statistics(G, [0, 2], batch=4, batches=1, seed=3)
    rows = G.generator.bn.running_vars
    assert rows.shape == (2, config.last_channels) and not torch.equal(rows[0], rows[1])
    state = torch.get_rng_state()
    collect_standing_statistics(G, [0, 2], batch=4, batches=1, seed=3)
    assert torch.equal(state, torch.get_rng_state()) and torch.equal(rows, G.generator.bn.running_vars)


def test_projection_discriminator_depends_on_the_class():
    torch.manual_seed(0)
    D = BigGANDiscriminator(BigGANDiscriminatorConfig(resolution=32, channel_width=4, num_classes=3, attention_resolution=16))
    D.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(D(x, torch.tensor([0, 0])), D(x, torch.tensor([1, 1])))


def test_resume_is_exact(tmp_path):
    from tests.engine.families_b_support import assert_exact_resume

    data = class_folders(tmp_path / "data")
    opts = tiny_options("biggan", [data], tmp_path / "run", resolution=32, steps=2, augment="ada",
                        extra={**TINY, "ada_interval": 1, "ada_kimg": 0.01})
    assert_exact_resume(opts, stop_after=1)  # G_ema, ADA p and the exports' standing statistics across a stop
