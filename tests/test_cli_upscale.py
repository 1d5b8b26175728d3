"""`gan-studio upscale`: one image or a folder, through the real entry point (a subprocess), on
tiny random-weight SRVGG models saved in GAN Studio's own format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.imageio import read_image, write_png
from tests.helpers import save_tiny_upscaler

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("models")
    return save_tiny_upscaler(folder / "sr_a.safetensors", 0), save_tiny_upscaler(folder / "sr_b.safetensors", 1)


def _image(h: int, w: int, channels: int | None = 3, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = 65535 if dtype == np.uint16 else 255
    shape = (h, w) if channels is None else (h, w, channels)
    return rng.integers(0, top + 1, shape).astype(dtype)


def gan_studio(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_one_image_keeps_alpha_and_16_bit_and_scales(models, tmp_path):
    source = write_png(tmp_path / "photo.png", _image(9, 7, channels=4, dtype=np.uint16))
    done = gan_studio("upscale", source, tmp_path / "big.png", "--model", models[0], "--tile", "4", "--tile-pad", "2")
    assert done.returncode == 0, done.stderr
    out = read_image(tmp_path / "big.png")
    assert out.shape == (18, 14, 4) and out.dtype == np.uint16
    assert "wrote" in done.stdout and "18" in done.stdout

    # --scale resizes after the network; a blend with alpha 1 is the second model
    gray = write_png(tmp_path / "gray.png", _image(6, 8, channels=None))
    done = gan_studio("upscale", gray, tmp_path / "gray3.png", "--model", models[0], "--scale", "3",
                      "--blend", models[1], "--alpha", "1")
    assert done.returncode == 0, done.stderr
    assert read_image(tmp_path / "gray3.png").shape == (18, 24)


def test_folder_upscales_readable_images_and_reports_the_bad_one(models, tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_png(source / "a.png", _image(5, 6))
    from PIL import Image

    Image.fromarray(_image(4, 4, seed=2)).save(source / "b.jpg")
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    (source / "notes.txt").write_text("not an image")
    before = {p.name: p.read_bytes() for p in source.iterdir()}

    done = gan_studio("upscale", source, target, "--model", models[0])
    assert done.returncode == 1  # something was skipped
    assert sorted(p.name for p in target.iterdir()) == ["a.png", "b.png"]
    assert read_image(target / "a.png").shape == (10, 12, 3)
    assert read_image(target / "b.png").shape == (8, 8, 3)
    assert "skipped broken.png" in done.stderr and "could not be read" in done.stderr
    assert done.stderr.count("broken.png could not be read") == 1  # reported once, not also as a log warning
    assert "upscaled 2 of 3 images" in done.stdout
    assert "a.png (1/3)" in done.stderr  # progress per file
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before  # inputs untouched


def test_errors_are_one_clear_line_and_never_touch_the_input(models, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    original = write_png(source / "a.png", _image(4, 4)).read_bytes()

    same_folder = gan_studio("upscale", source, source, "--model", models[0])
    assert same_folder.returncode == 1
    assert same_folder.stderr.strip().count("\n") == 0 and "input folder" in same_folder.stderr
    same_file = gan_studio("upscale", source / "a.png", source / "a.png", "--model", models[0])
    assert same_file.returncode == 1 and "input image" in same_file.stderr
    assert (source / "a.png").read_bytes() == original and len(list(source.iterdir())) == 1

    missing = gan_studio("upscale", source / "a.png", tmp_path / "x.png", "--model", tmp_path / "nope.pth")
    assert missing.returncode == 1 and missing.stderr.startswith("error:") and "Traceback" not in missing.stderr
    not_png = gan_studio("upscale", source / "a.png", tmp_path / "x.jpg", "--model", models[0])
    assert not_png.returncode == 1 and "PNG" in not_png.stderr
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.jpg").exists()
