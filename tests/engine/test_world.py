"""The procedural starter world: determinism, resolution independence, faithful labels, the
dataset writer's layouts and its errors."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
from PIL import Image

from engine.data.world import (
    BIOME_NAMES,
    CLASS,
    CLASS_NAMES,
    HELD_OUT_START,
    MIN_SIZE,
    label_set,
    render,
    render_batch,
)
from engine.data.world import writer as world_writer
from engine.errors import EngineError, InputError
from engine.labelsets import LabelSet, builtin, read_index_png

SMALL = 48


@pytest.fixture(scope="module")
def scenes():
    """280 scenes at the smallest size (40 per biome): labels and images."""
    labels, images, biomes = render_batch(range(280), MIN_SIZE)
    return labels, images, biomes


def test_same_seed_gives_the_same_bytes():
    a = render(4242, SMALL)
    b = render(4242, SMALL)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
    other = render(4243, SMALL)
    assert other[1].tobytes() != a[1].tobytes()


def test_render_returns_label_image_and_instance_maps():
    labels, image, instances = render(7, SMALL)
    assert labels.shape == (SMALL, SMALL) and labels.dtype == np.int32
    assert image.shape == (SMALL, SMALL, 3) and image.dtype == np.uint8
    assert instances.shape == (SMALL, SMALL) and instances.dtype == np.int32
    lab, img, biomes = render_batch([7], SMALL)
    assert (lab[0] == labels).all() and (img[0] == image).all() and biomes[0] == 7 % len(BIOME_NAMES)


def _area_down(image: np.ndarray, factor: int) -> np.ndarray:
    h, w = image.shape[0] // factor, image.shape[1] // factor
    return image.reshape(h, factor, w, factor, -1).mean(axis=(1, 3))


def test_the_same_seed_at_two_sizes_is_the_same_scene():
    for seed in (3, 11, 26):
        small_labels, small, _ = render(seed, 64)
        big_labels, big, _ = render(seed, 128)
        other = render(seed + 1, 64)[1]
        same = np.abs(_area_down(big.astype(float), 2) - small).mean()
        different = np.abs(other.astype(float) - small).mean()
        assert same < 0.5 * different
        # the 128 px pixel nearest to each 64 px pixel centre shows the same class, except near edges
        agreement = (big_labels[1::2, 1::2] == small_labels).mean()
        assert agreement > 0.85


def test_label_set_world_is_a_builtin_a_model_can_be_given(tmp_path):
    from engine.loaders import load_model, native
    from tests.engine.test_paint_spade import tiny_model

    path = native.save(tiny_model(label_nc=len(CLASS_NAMES), contain_dontcare_label=False), tmp_path / "m.safetensors")
    model = load_model(path, {"label_set": "world"})
    assert model.label_set["name"] == "world"
    assert [c["name"] for c in model.label_set["classes"]] == list(CLASS_NAMES)


def test_labels_are_world_label_set_indices(scenes):
    labels, _, _ = scenes
    world = label_set()
    assert world is builtin("world")
    assert [c.name for c in world.classes] == list(CLASS_NAMES)
    assert world.num_indices == len(CLASS_NAMES) >= 12
    assert labels.min() >= 0 and labels.max() < world.num_indices


def test_every_class_occurs_over_a_few_hundred_seeds(scenes):
    labels, _, _ = scenes
    counts = np.bincount(labels.ravel(), minlength=len(CLASS_NAMES))
    missing = [CLASS_NAMES[i] for i in np.flatnonzero(counts == 0)]
    assert not missing, f"classes never rendered: {missing}"


def test_every_biome_renders_with_its_own_look(scenes):
    labels, images, biomes = scenes
    assert len(BIOME_NAMES) >= 6
    share = {}
    for b, name in enumerate(BIOME_NAMES):
        sel = biomes == b
        assert sel.sum() == 40
        share[name] = np.bincount(labels[sel].ravel(), minlength=len(CLASS_NAMES)) / labels[sel].size
    assert share["desert"][CLASS["sand"]] > max(share[n][CLASS["sand"]] for n in ("alpine", "forest", "tundra"))
    assert share["coast"][CLASS["sea"]] > 0 and all(share[n][CLASS["sea"]] == 0 for n in BIOME_NAMES if n != "coast")
    assert share["tundra"][CLASS["snow"]] == max(s[CLASS["snow"]] for s in share.values())
    assert share["forest"][CLASS["tree"]] + share["forest"][CLASS["forest"]] == max(
        s[CLASS["tree"]] + s[CLASS["forest"]] for s in share.values())
    assert share["dusk"][CLASS["building"]] == max(s[CLASS["building"]] for s in share.values())
    assert share["lake"][CLASS["water"]] == max(s[CLASS["water"]] for s in share.values())
    # palettes differ: the mean colour of each biome is distinct from every other
    means = np.array([images[biomes == b].reshape(-1, 3).mean(0) for b in range(len(BIOME_NAMES))])
    gaps = np.linalg.norm(means[:, None] - means[None], axis=-1) + np.eye(len(means)) * 1e9
    assert gaps.min() > 3.0


def test_a_biome_can_be_asked_for_by_name_or_index():
    by_name = render(5, SMALL, "coast")
    by_index = render(5, SMALL, BIOME_NAMES.index("coast"))
    assert by_name[1].tobytes() == by_index[1].tobytes()
    assert (by_name[0] == CLASS["sea"]).any()
    with pytest.raises(ValueError, match="no biome named"):
        render(5, SMALL, "moon")


def test_image_statistics_differ_by_class(scenes):
    labels, images, _ = scenes
    pixels = images.reshape(-1, 3).astype(float)
    flat = labels.ravel()

    def mean(name):
        return pixels[flat == CLASS[name]].mean(0)

    sky, grass, snow, rock, sand = mean("sky"), mean("grass"), mean("snow"), mean("rock"), mean("sand")
    assert sky[2] > sky[1] > sky[0]                 # blue sky
    assert grass[1] > grass[0] and grass[1] > grass[2]  # green grass
    assert snow.mean() > rock.mean() + 40           # snow is bright, rock dark
    assert sand[0] > sand[2] + 20                   # sand is warm


def test_the_image_has_texture_the_labels_cannot_predict():
    labels, image, _ = render(21, 128)
    grey = image.astype(float).mean(axis=2)
    for index in np.unique(labels):
        region = labels == index
        if region.sum() > 400:
            assert grey[region].std() > 2.0, f"{CLASS_NAMES[index]} is flat colour"


def test_instances_number_objects_only():
    for seed in range(0, 28, 3):
        labels, _, instances = render(seed, 96)
        objects = np.isin(labels, [CLASS["tree"], CLASS["rock"], CLASS["building"]])
        assert not (instances[~objects]).any()
        for inst in np.unique(instances[instances > 0]):
            assert len(np.unique(labels[instances == inst])) == 1


@pytest.mark.parametrize("size", [0, MIN_SIZE - 1, 100_000])
def test_sizes_out_of_range_are_refused(size):
    with pytest.raises(ValueError, match="px"):
        render(1, size)


def test_negative_seed_is_refused():
    with pytest.raises(ValueError, match="seed"):
        render(-1, SMALL)


# --------------------------------------------------------------------------------------------
# the dataset writer


def test_paired_layout_reads_back(tmp_path):
    out = tmp_path / "paired"
    report = world_writer.write_dataset(out, 3, SMALL, "paired", first_seed=10)
    assert report.written == 3 and report.skipped == 0
    assert sorted(p.name for p in out.iterdir()) == ["images", "instances", "labels", "labelset.json"]
    for seed in (10, 11, 12):
        labels, image, instances = render(seed, SMALL)
        name = f"{seed:06d}.png"
        with Image.open(out / "labels" / name) as img:
            assert img.mode == "L"
        assert (read_index_png(out / "labels" / name) == labels).all()
        assert (np.asarray(Image.open(out / "images" / name).convert("RGB")) == image).all()
        with Image.open(out / "instances" / name) as img:
            assert img.mode.startswith("I")
            assert (np.asarray(img).astype(np.int32) == instances).all()
    stored = LabelSet.from_dict(json.loads((out / "labelset.json").read_text()))
    assert [c.name for c in stored.classes] == list(CLASS_NAMES)


def test_flat_and_classes_layouts(tmp_path):
    world_writer.write_dataset(tmp_path / "flat", 2, SMALL, "flat")
    assert sorted(p.name for p in (tmp_path / "flat").iterdir()) == ["000000.png", "000001.png"]
    report = world_writer.write_dataset(tmp_path / "classes", 9, SMALL, "classes", first_seed=HELD_OUT_START)
    assert report.first_seed == HELD_OUT_START
    folders = sorted(p.name for p in (tmp_path / "classes").iterdir())
    assert folders == sorted(BIOME_NAMES)
    for seed in range(HELD_OUT_START, HELD_OUT_START + 9):
        biome = BIOME_NAMES[seed % len(BIOME_NAMES)]
        path = tmp_path / "classes" / biome / f"{seed:06d}.png"
        assert (np.asarray(Image.open(path).convert("RGB")) == render(seed, SMALL)[1]).all()


def test_a_non_empty_folder_is_refused_unless_appending(tmp_path):
    out = tmp_path / "d"
    world_writer.write_dataset(out, 2, SMALL, "flat")
    before = (out / "000000.png").read_bytes()
    with pytest.raises(InputError, match="not empty.*--append"):
        world_writer.write_dataset(out, 2, SMALL, "flat")
    report = world_writer.write_dataset(out, 3, SMALL, "flat", append=True)
    assert (report.written, report.skipped) == (1, 2)
    assert (out / "000000.png").read_bytes() == before


@pytest.mark.parametrize("kwargs, message", [
    ({"resolution": 8}, "out of range"),
    ({"resolution": 9000}, "out of range"),
    ({"count": 0}, "--count"),
    ({"first_seed": HELD_OUT_START - 1, "count": 2}, "held-out"),
    ({"layout": "mosaic"}, "layout"),
])
def test_bad_requests_are_refused_before_writing(tmp_path, kwargs, message):
    args = dict(count=2, resolution=SMALL, layout="flat", first_seed=0)
    args.update(kwargs)
    with pytest.raises(InputError, match=message):
        world_writer.write_dataset(tmp_path / "x", **args)
    assert not (tmp_path / "x").exists()


def test_too_little_free_space_is_a_clear_error(tmp_path, monkeypatch):
    class Usage:
        free = 1000

    monkeypatch.setattr(world_writer.shutil, "disk_usage", lambda path: Usage())
    with pytest.raises(InputError, match="Not enough free disk space"):
        world_writer.write_dataset(tmp_path / "x", 100, 256, "paired")


def test_a_disk_that_fills_up_midway_keeps_written_scenes(tmp_path, monkeypatch):
    saved = []
    original = Image.Image.save

    def save(self, path, *args, **kwargs):
        if len(saved) >= 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        saved.append(path)
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    with pytest.raises(EngineError, match="disk is full: 1 scenes were written.*--append"):
        world_writer.write_dataset(tmp_path / "p", 3, SMALL, "paired")
    monkeypatch.undo()
    leftovers = sorted(p.relative_to(tmp_path / "p").as_posix() for p in (tmp_path / "p").rglob("*.png"))
    assert leftovers == ["images/000000.png", "instances/000000.png", "labels/000000.png"]  # complete scenes only
    report = world_writer.write_dataset(tmp_path / "p", 3, SMALL, "paired", append=True)
    assert (report.written, report.skipped) == (2, 1)


def test_world_command(tmp_path, capsys):
    from engine.cli import main

    assert main(["world", str(tmp_path / "w"), "--count", "2", "--resolution", "32", "--layout", "flat"]) == 0
    assert "wrote 2 scenes" in capsys.readouterr().out
    assert main(["world", str(tmp_path / "w"), "--count", "2", "--resolution", "32"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["world", str(tmp_path / "v"), "--count", "2", "--resolution", "4"]) == 1
    assert "out of range" in capsys.readouterr().err


def test_the_world_renders_without_torch():
    """The GUI and data-loader workers render scenes without importing torch."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; import engine.data.world as w; from engine.data.world import writer; w.render(1, 32); "
            "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules, sorted(sys.modules)")
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, env={"PYTHONPATH": str(root), "PATH": ""})
