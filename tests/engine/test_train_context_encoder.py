"""The context encoder's trainer on the shared loop: run folder, free-form masks, fine-tuning, inpainting with the result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import InputError
from engine.inpaint_types import InpaintRequest
from engine.pipelines.inpaint import inpaint
from engine.types import ModelRef
from engine.worker import JobContext
from tests.engine.image_train_support import (
    assert_resume_is_exact, changed, fresh_trainer, notes_of, run_tiny, tiny_options, write_images,
)

TINY = {"base_width": 8, "max_width": 16, "disc_base_width": 8}


def test_trains_on_the_loop_and_inpaints(tmp_path):
    write_images(tmp_path / "pictures", 3, 40)
    opts = tiny_options("context_encoder", [tmp_path / "pictures"], tmp_path / "run", resolution=32,
                        extra=dict(TINY, masks="strokes"))
    before = fresh_trainer(opts)
    model, records = run_tiny(opts)
    assert model.family == "context_encoder" and set(model.networks) == {"G", "D"}
    assert model.config.resolution == 32 and model.config.overlap == 1
    assert set(records[-1]["losses"]) == {"masked_l2", "loss_rec", "loss_adv", "loss_d"}
    assert changed(before.G, model.networks["G"]) and changed(before.D, model.networks["D"])
    image = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    mask = np.zeros((40, 48), bool)
    mask[12:20, 20:30] = True
    result = inpaint(model, InpaintRequest(model=ModelRef("run"), image=image, mask=mask), JobContext.detached())
    assert np.array_equal(result.image[~mask], image[~mask])  # only the hole changes


def test_masks_are_stateless_per_step_and_free_form_only_when_asked(tmp_path):
    write_images(tmp_path / "pictures", 2, 32)
    opts = tiny_options("context_encoder", [tmp_path / "pictures"], tmp_path / "run", resolution=32,
                        extra=dict(TINY, masks="strokes"))
    trainer = fresh_trainer(opts)
    a = trainer.masks(4, np.random.default_rng([0, 0, 7]))
    b = trainer.masks(4, np.random.default_rng([0, 0, 7]))
    assert torch.equal(a, b) and a.shape == (4, 1, 32, 32)
    center = fresh_trainer(opts.replace(extra=dict(TINY, masks="center", variant="center")))
    square = center.masks(2, np.random.default_rng(1))
    start, stop = center.config.fill_box
    assert square[:, 0, start:stop, start:stop].all() and square.sum() == 2 * (stop - start) ** 2
    with pytest.raises(InputError, match="mask kinds"):
        fresh_trainer(opts.replace(extra=dict(TINY, masks="blobs")))


def test_fine_tunes_its_own_file_and_refuses_another_window_size(tmp_path):
    write_images(tmp_path / "pictures", 2, 32)
    first = tiny_options("context_encoder", [tmp_path / "pictures"], tmp_path / "run", resolution=32, steps=1,
                         extra=dict(TINY))
    model, _ = run_tiny(first)
    latest = tmp_path / "run" / "latest.safetensors"
    again = first.replace(out=str(tmp_path / "again"), from_ckpt=str(latest), extra={})
    tuned, _ = run_tiny(again)
    assert tuned.config == model.config
    assert any("fine-tuning from latest.safetensors" in n for n in notes_of(tmp_path / "again"))
    with pytest.raises(InputError, match="--resolution 32"):
        fresh_trainer(again.replace(resolution=64))


def test_resume_is_exact(tmp_path):
    write_images(tmp_path / "pictures", 3, 32)
    opts = tiny_options("context_encoder", [tmp_path / "pictures"], tmp_path / "runs", resolution=32, steps=4,
                        extra=dict(TINY))
    assert_resume_is_exact(opts, stop_at=3)


def test_adaptive_augmentation_of_the_discriminator(tmp_path):
    write_images(tmp_path / "pictures", 2, 32)
    opts = tiny_options("context_encoder", [tmp_path / "pictures"], tmp_path / "run", resolution=32, steps=2,
                        augment="ada", extra=dict(TINY))
    _, records = run_tiny(opts)
    assert "ada_p" in records[-1]["losses"]
