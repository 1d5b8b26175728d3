"""gan-studio synth and sample: the headless twins of the Paint and Latent workspaces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.imageio import read_image, read_recipe
from engine.labelsets import write_color_png, write_index_png, generic
from tests.helpers import compat_root

REPO = Path(__file__).resolve().parents[1]
SPADE_SEG = compat_root() / "spade" / "seg" / "latest_net_G.pth"
ADA = compat_root() / "stylegan2_ada" / "network-snapshot-cond.pkl"


def gan_studio(*args):
    return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not SPADE_SEG.is_file(), reason="no SPADE fixture")
def test_synth_index_and_colour_maps_match_the_engine(tmp_path):
    from engine.service import Engine
    from engine.types import ModelRef, SynthesizeRequest

    labels = np.zeros((64, 64), np.int32)
    labels[:20] = 3
    labels[40:, 10:50] = 6
    write_index_png(tmp_path / "labels.png", labels)
    out = tmp_path / "out.png"
    result = gan_studio("synth", tmp_path / "labels.png", out, "--model", SPADE_SEG, "-o", "label_nc=8", "-o", "crop_size=64", "--seed", 5)
    assert result.returncode == 0, result.stderr
    engine = Engine(device="cpu")
    try:
        expected = engine.submit(SynthesizeRequest(ModelRef(str(SPADE_SEG), {"label_nc": 8, "crop_size": 64}), labels, seed=5)).result(120)
    finally:
        engine.shutdown()
    assert np.array_equal(read_image(out)[:, :, :3], expected.image)
    recipe = read_recipe(out, tool="paint")
    assert recipe["seed"] == 5 and recipe["model_options"] == {"label_nc": 8, "crop_size": 64}
    # the same map as colours of the model's palette renders the same image
    write_color_png(tmp_path / "colours.png", labels, generic(8))
    out2 = tmp_path / "out2.png"
    assert gan_studio("synth", tmp_path / "colours.png", out2, "--model", SPADE_SEG, "-o", "label_nc=8", "-o", "crop_size=64",
                      "--seed", 5).returncode == 0
    assert np.array_equal(read_image(out2), read_image(out))


@pytest.mark.skipif(not SPADE_SEG.is_file(), reason="no SPADE fixture")
def test_synth_errors_are_one_clear_line(tmp_path):
    labels = np.full((64, 64), 200, np.int32)
    write_index_png(tmp_path / "bad.png", labels)
    result = gan_studio("synth", tmp_path / "bad.png", tmp_path / "o.png", "--model", SPADE_SEG, "-o", "label_nc=8")
    assert result.returncode == 1 and "does not know (200)" in result.stderr and "Traceback" not in result.stderr
    result = gan_studio("synth", tmp_path / "bad.png", tmp_path / "o.png", "--model", SPADE_SEG)
    assert result.returncode == 1 and "label_nc" in result.stderr
    result = gan_studio("synth", tmp_path / "bad.png", tmp_path / "bad.png", "--model", SPADE_SEG, "-o", "label_nc=8")
    assert result.returncode == 1 and "input" in result.stderr
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    result = gan_studio("synth", tmp_path / "broken.png", tmp_path / "o.png", "--model", SPADE_SEG, "-o", "label_nc=8")
    assert result.returncode == 1 and "broken.png" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not ADA.is_file(), reason="no StyleGAN2-ADA fixture")
def test_sample_with_truncation_mixing_and_class(tmp_path):
    from engine.latent_types import LatentSampleRequest, StyleMix
    from engine.service import Engine
    from engine.types import ModelRef

    out = tmp_path / "s.png"
    result = gan_studio("sample", out, "--model", ADA, "--seed", 7, "--psi", 0.7, "--cutoff", 4, "--mix", "9:4-", "--class", 2)
    assert result.returncode == 0, result.stderr
    engine = Engine(device="cpu")
    try:
        expected = engine.submit(LatentSampleRequest(ModelRef(str(ADA), {}), seed=7, psi=0.7, cutoff=4, class_index=2,
                                                     mix=(StyleMix(9, 4, None),))).result(120)
    finally:
        engine.shutdown()
    assert np.array_equal(read_image(out), expected.image)
    recipe = read_recipe(out, tool="latent")
    assert recipe["seed"] == 7 and recipe["mix"] == [[9, 4, None]] and recipe["class"] == 2
    json.dumps(recipe)
    bad = gan_studio("sample", tmp_path / "x.png", "--model", ADA, "--seed", -1)
    assert bad.returncode == 1 and "seed" in bad.stderr.lower() and "Traceback" not in bad.stderr
    bad = gan_studio("sample", tmp_path / "x.png", "--model", ADA, "--mix", "nonsense")
    assert bad.returncode == 1 and "SEED:LAYERS" in bad.stderr
