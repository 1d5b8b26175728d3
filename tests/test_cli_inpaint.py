"""`gan-studio inpaint IMAGE MASK OUT.png --model CKPT`: through the real entry point (a
subprocess) for a fill and an unreadable image, and through the same CLI function in-process for the
other refusals (each exits 1 with one clear line and leaves the user's files alone)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.imageio import read_image, write_png
from tests.helpers import save_tiny_inpainter, save_tiny_upscaler

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    inpainter = save_tiny_inpainter(folder / "ce.safetensors", max_width=16, overlap=4)
    return {"inpaint": inpainter, "upscale": save_tiny_upscaler(folder / "sr.safetensors")}


@pytest.fixture()
def files(tmp_path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (45, 61, 4)).astype(np.uint8)
    mask = np.zeros((45, 61), dtype=np.uint8)
    mask[10:20, 30:45] = 255
    mask[40:, :5] = 255
    return {"image": write_png(tmp_path / "photo.png", image), "mask": write_png(tmp_path / "mask.png", mask)}


def gan_studio(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_fills_the_mask_and_keeps_everything_else(models, files, tmp_path):
    out = tmp_path / "filled.png"
    done = gan_studio("inpaint", files["image"], files["mask"], out, "--model", models["inpaint"], "--seed", "3",
                      "--feather", "2")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "2 regions filled" in done.stdout
    image, mask, result = read_image(files["image"]), read_image(files["mask"]) > 0, read_image(out)
    assert result.shape == image.shape
    assert np.array_equal(result[~mask], image[~mask])
    assert np.array_equal(result[..., 3], image[..., 3])
    assert not np.array_equal(result[mask], image[mask])


def test_unreadable_image_exits_1_with_one_line(models, files, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    done = gan_studio("inpaint", broken, files["mask"], tmp_path / "out.png", "--model", models["inpaint"])
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: broken.png could not be read")
    assert not (tmp_path / "out.png").exists()


def _cli(capsys, *args) -> tuple[int, str]:
    from engine.cli import main

    code = main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    return code, err


def test_mask_of_another_size_is_refused(models, files, tmp_path, capsys):
    small = write_png(tmp_path / "small_mask.png", np.full((20, 20), 255, np.uint8))
    code, err = _cli(capsys, "inpaint", files["image"], small, tmp_path / "out.png", "--model", models["inpaint"])
    assert code == 1 and len(err.splitlines()) == 1
    assert "20x20" in err and "61x45" in err
    assert not (tmp_path / "out.png").exists()


def test_empty_mask_says_so(models, files, tmp_path, capsys):
    empty = write_png(tmp_path / "empty.png", np.zeros((45, 61), np.uint8))
    code, err = _cli(capsys, "inpaint", files["image"], empty, tmp_path / "out.png", "--model", models["inpaint"])
    assert code == 1 and "nothing to inpaint" in err and len(err.splitlines()) == 1


def test_model_of_another_family_is_refused(models, files, tmp_path, capsys):
    code, err = _cli(capsys, "inpaint", files["image"], files["mask"], tmp_path / "out.png", "--model", models["upscale"])
    assert code == 1 and "srvgg" in err and "inpainting model" in err and len(err.splitlines()) == 1


def test_never_overwrites_the_input(models, files, capsys):
    before = files["image"].read_bytes()
    code, err = _cli(capsys, "inpaint", files["image"], files["mask"], files["image"], "--model", models["inpaint"])
    assert code == 1 and "another name" in err and "photo-inpainted.png" in err
    assert files["image"].read_bytes() == before


def test_output_must_be_png(models, files, tmp_path, capsys):
    code, err = _cli(capsys, "inpaint", files["image"], files["mask"], tmp_path / "out.jpg", "--model", models["inpaint"])
    assert code == 1 and ".png" in err
