"""CycleGAN training: two ResNet G, two PatchGAN D, LSGAN + cycle + identity, 50-image history."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.models.patchgan import PatchGAN, PatchGANConfig
from engine.pipelines.paint_translate import synthesize
from engine.training.losses import ImageHistory
from engine.training.rundir import RunDir
from engine.types import ModelRef, SynthesizeRequest
from engine.worker import JobContext
from tests.engine.image_train_support import (
    assert_resume_is_exact, changed, fresh_trainer, notes_of, run_tiny, tiny_options, write_images,
)
from tests.engine.test_train_pix2pix import official_d_state

COMPAT = Path("/work/shared/compat/pix2pix_cyclegan/cyclegan_resnet")
TINY = {"ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2}


def domains(root: Path, size: int = 32) -> list[Path]:
    write_images(root / "A", 3, size, seed=1)
    write_images(root / "B", 4, size, seed=2)
    return [root / "A", root / "B"]


def test_trains_both_directions_and_translates(tmp_path):
    opts = tiny_options("cyclegan", domains(tmp_path / "data"), tmp_path / "run", resolution=32, extra=dict(TINY))
    before = fresh_trainer(opts)
    model, records = run_tiny(opts)
    assert model.family == "cyclegan_resnet" and set(model.networks) == {"G_A", "G_B"}
    assert set(records[-1]["losses"]) == {"loss_g_gan", "loss_cycle", "loss_idt", "loss_d_a", "loss_d_b"}
    assert changed(before.G_A, model.networks["G_A"]) and changed(before.G_B, model.networks["G_B"])
    _, state = RunDir(tmp_path / "run").load_latest_state()
    assert state["extra"]["pool_fake_B"].shape == (6, 3, 32, 32)  # 3 steps x batch 2, below the 50 limit
    image = np.random.default_rng(0).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    result = synthesize(model, SynthesizeRequest(model=ModelRef("run"), label_map=image), JobContext.detached())
    assert result.image.shape == (32, 40, 3)


def test_history_buffer_swaps_once_full_and_round_trips():
    torch.manual_seed(0)
    pool = ImageHistory(4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: the new images come back
    later = torch.full((64, 1, 1, 1), 100.0)
    out = pool.query(later)
    swapped = (out != 100.0).sum().item()
    assert 0 < swapped <= 4  # some come from the history, never more than it held
    restored = ImageHistory(4)
    restored.load_state(pool.state(), torch.device("cpu"))
    assert torch.equal(restored.state(), pool.state())


def test_resume_continues_with_the_same_history(tmp_path):
    opts = tiny_options("cyclegan", domains(tmp_path / "data"), tmp_path / "runs", resolution=32, steps=4,
                        extra=dict(TINY, pool_size=3))
    state = assert_resume_is_exact(opts, stop_at=2)
    assert state["extra"]["pool_fake_A"].shape[0] == 3  # full: later fakes swapped in through the torch RNG


def test_fine_tunes_official_generators_with_discriminators_beside_them(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in ("latest_net_G_A.pth", "latest_net_G_B.pth"):
        shutil.copy(COMPAT / name, folder / name)
    config = PatchGANConfig(input_nc=3, ndf=4, n_layers=2, norm="instance")
    torch.save(official_d_state(config, PatchGAN(config)), folder / "latest_net_D_A.pth")
    opts = tiny_options("cyclegan", domains(tmp_path / "data"), tmp_path / "run", resolution=32, steps=1, batch=1,
                        from_ckpt=str(folder / "latest_net_G_A.pth"), extra={"ndf": 4, "n_layers_d": 2})
    model, _ = run_tiny(opts)
    assert model.config.ngf == 6 and model.config.n_blocks == 9
    notes = notes_of(tmp_path / "run")
    assert any("latest_net_D_A.pth" in n for n in notes), notes
    assert any("D_B" in n and "fresh" in n for n in notes), notes


def test_domains_whose_files_share_names_stay_apart(tmp_path):
    from engine.training.data import TrainData

    a, b = domains(tmp_path / "data")  # both folders hold img00.png, img01.png, ...
    data = TrainData.from_folders("unpaired", [a, b], 32)
    fixed = data.fixed_batch(2)
    assert not torch.equal(fixed["A"][0], fixed["B"][0])
    batch = data.batch(0, 2)
    assert not torch.equal(batch["A"], batch["B"])


def test_diffaugment_on_both_discriminators(tmp_path):
    opts = tiny_options("cyclegan", domains(tmp_path / "data"), tmp_path / "run", resolution=32, steps=1,
                        augment="diffaugment", extra=dict(TINY))
    _, records = run_tiny(opts)
    assert "ada_p" not in records[-1]["losses"]


def test_options_that_make_no_valid_model_are_said_so(tmp_path):
    from engine.errors import InputError

    opts = tiny_options("cyclegan", domains(tmp_path / "data"), tmp_path / "run", resolution=32,
                        extra=dict(TINY, norm="layer"))
    with pytest.raises(InputError, match="cyclegan options do not make a valid model.*norm"):
        fresh_trainer(opts)
    with pytest.raises(InputError, match="cyclegan options"):
        fresh_trainer(opts.replace(extra=dict(TINY, ngf="wide")))
