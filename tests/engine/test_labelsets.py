"""Label sets: the shipped sets, the JSON format, lookups, and index/color PNG import/export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import ImageReadError, InputError
from engine.labelsets import (
    ASSETS_DIR, LabelClass, LabelSet, builtin, check_label_range, for_label_nc, generic, read_color_png,
    read_index_png, voc_color, write_color_png, write_index_png,
)

REPO = Path(__file__).resolve().parents[2]


def _tiny() -> LabelSet:
    return LabelSet(name="tiny", title="Tiny", classes=(
        LabelClass(0, "sky", (0, 0, 255)),
        LabelClass(1, "grass", (0, 200, 0), short_name="grass"),
        LabelClass(2, "tree, bush", (0, 100, 0)),
        LabelClass(3, "meadow", (0, 200, 0), unused=True),  # shares grass's color
    ), label_nc=4)


def test_builtin_sets_have_the_official_indices():
    ade, coco, city = builtin("ade20k"), builtin("cocostuff"), builtin("cityscapes")
    assert (ade.num_indices, coco.num_indices, city.num_indices) == (151, 183, 35)
    assert ade.by_index(3).name == "sky" and ade.by_index(0).dontcare and ade.by_index(150).name == "flag"
    assert coco.by_index(0).name == "person" and coco.by_index(182).dontcare and coco.by_index(181).name == "wood"
    assert coco.by_index(11).unused  # street sign never occurs in COCO-Stuff annotations
    assert city.by_index(26).name == "car" and city.by_index(7).color == (128, 64, 128)
    for s in (ade, coco, city):
        assert s.source and s.to_dict()["format"] == "gan-studio-labelset"
    assert builtin("COCO-Stuff") is coco
    with pytest.raises(KeyError, match="built-in"):
        builtin("pascal")


def test_for_label_nc_guesses_the_official_sets():
    assert for_label_nc(150).name == "ade20k"
    assert for_label_nc(182).name == "cocostuff"
    assert for_label_nc(35).name == "cityscapes"
    unknown = for_label_nc(7)
    assert unknown.num_indices == 7 and unknown.name_of(6) == "class 6"


def test_generic_colors_are_distinct():
    s = generic(300)
    colors = {c.color for c in s.classes}
    assert len(colors) == 300
    assert voc_color(1) == (128, 0, 0) and voc_color(0) == (0, 0, 0)


def test_json_round_trip_and_errors(tmp_path):
    s = builtin("cocostuff")
    path = s.save(tmp_path / "coco.json")
    again = LabelSet.load(path)
    assert again == s
    assert again.by_index(5).extra == s.by_index(5).extra
    (tmp_path / "bad.json").write_text(json.dumps({"name": "x", "classes": [{"index": 0, "name": "a", "color": [0, 0, 300]}]}))
    with pytest.raises(InputError, match="bad.json"):
        LabelSet.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="more than one"):
        LabelSet(name="dup", classes=(LabelClass(0, "a", (0, 0, 0)), LabelClass(0, "b", (1, 1, 1))))


def test_lookup_and_search():
    s = builtin("ade20k")
    assert s.by_name("Tree").index == 5
    assert s.by_name("edifice").index == 2  # one of the comma-separated names
    assert [c.name for c in s.search("tree")][0] == "tree"
    assert "palm, palm tree" in [c.name for c in s.search("tree")]
    with pytest.raises(KeyError, match="Did you mean"):
        s.by_name("tre")
    assert s.color_of(3) == (6, 230, 230)
    assert s.name_of(999) == "unnamed 999" and s.color_of(999) == voc_color(999)


def test_check_label_range_names_pixels_and_values():
    labels = np.zeros((4, 4), np.int32)
    labels[0, 0] = 7
    labels[1, :2] = -2
    with pytest.raises(InputError) as info:
        check_label_range(labels, 4)
    assert "3 pixels" in str(info.value) and "-2 (2 px)" in str(info.value) and "7 (1 px)" in str(info.value)
    check_label_range(np.full((2, 2), 3), 4)


def test_index_png_round_trip_8_and_16_bit(tmp_path):
    labels = np.random.default_rng(0).integers(0, 151, (20, 30)).astype(np.int32)
    path = write_index_png(tmp_path / "a.png", labels, builtin("ade20k"))
    with Image.open(path) as img:
        assert img.mode == "P"
        assert tuple(img.getpalette()[9:12]) == (6, 230, 230)  # viewers show index 3 as sky
    assert np.array_equal(read_index_png(path), labels)
    big = labels * 3  # up to 450: needs 16 bits
    path16 = write_index_png(tmp_path / "b.png", big)
    with Image.open(path16) as img:
        assert img.mode.startswith("I")
    assert np.array_equal(read_index_png(path16), big)
    Image.fromarray(labels.astype(np.uint8), mode="L").save(tmp_path / "gray.png")
    assert np.array_equal(read_index_png(tmp_path / "gray.png"), labels)


def test_index_png_refuses_color_images_and_negatives(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "rgb.png")
    with pytest.raises(ImageReadError, match="color label image"):
        read_index_png(tmp_path / "rgb.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageReadError):
        read_index_png(tmp_path / "broken.png")
    with pytest.raises(InputError, match="negative"):
        write_index_png(tmp_path / "neg.png", np.full((2, 2), -1))


def test_color_png_round_trip(tmp_path):
    s = builtin("cocostuff")
    labels = np.random.default_rng(1).integers(0, 183, (16, 16)).astype(np.int32)
    labels[labels == 11] = 0  # unused classes have their own colors, but keep the test about used ones
    path = write_color_png(tmp_path / "c.png", labels, s)
    read, report = read_color_png(path, s)
    assert report.ok and np.array_equal(read, labels)


def test_unknown_colors_are_reported_and_can_map_to_nearest():
    s = _tiny()
    image = np.zeros((4, 4, 3), np.uint8)
    image[...] = (0, 0, 255)
    image[0, :3] = (10, 190, 5)  # close to grass
    image[3, 3] = (250, 0, 0)  # nothing like it
    labels, report = s.labels_from_colors(image)
    assert not report.ok and report.unknown_pixels == 4
    assert report.unknown_colors[0] == ((10, 190, 5), 3) and report.unknown_colors[1] == ((250, 0, 0), 1)
    assert labels[0, 0] == -1 and labels[1, 1] == 0
    assert "4 of 16 pixels" in report.message() and "nearest" in report.message()
    mapped, report = s.labels_from_colors(image, nearest=True)
    assert report.mapped_to_nearest and mapped[0, 0] == 1 and mapped.min() >= 0


def test_shared_colors_read_as_the_preferred_class():
    s = _tiny()
    image = np.zeros((2, 2, 3), np.uint8)
    image[...] = (0, 200, 0)
    labels, report = s.labels_from_colors(image)
    assert (labels == 1).all()  # grass, not the unused meadow
    assert report.ok and report.ambiguous_colors == (((0, 200, 0), (1, 3)),)
    assert "shared" in report.message()


def test_labelsets_module_does_not_import_torch():
    code = "import sys, engine.labelsets; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_shipped_assets_match_the_converter(tmp_path):
    source = REPO.parent / "shared" / "labelsets"
    if not source.is_dir():
        pytest.skip("no research label sets next to the repository")
    subprocess.run([sys.executable, str(REPO / "tools" / "convert_labelsets.py"), str(source), str(tmp_path)],
                   check=True, capture_output=True)
    for name in ("ade20k", "cocostuff", "cityscapes"):
        assert json.loads((tmp_path / f"{name}.json").read_text()) == json.loads((ASSETS_DIR / f"{name}.json").read_text())


def test_model_label_set_covers_every_index_the_model_takes():
    from engine.labelsets import model_label_set

    assert model_label_set(0) is None
    ade = model_label_set(150, contain_dontcare_label=True)
    assert ade["name"] == builtin("ade20k").name
    small = model_label_set(8, contain_dontcare_label=True)
    assert len(small["classes"]) == 9


def test_label_set_option_overrides_the_guess(tmp_path):
    import pytest

    from tests.helpers import compat_root

    path = compat_root() / "spade" / "seg" / "latest_net_G.pth"
    if not path.is_file():
        pytest.skip("no SPADE fixture")
    from engine.errors import CheckpointError
    from engine.loaders import load_model

    model = load_model(path, {"label_nc": 8, "label_set": "cityscapes"})
    assert model.label_set["name"] == builtin("cityscapes").name
    custom = generic(8, name="my-classes")
    custom.save(tmp_path / "classes.json")
    assert load_model(path, {"label_nc": 8, "label_set": str(tmp_path / "classes.json")}).label_set["name"] == "my-classes"
    with pytest.raises(CheckpointError, match="neither a built-in label set"):
        load_model(path, {"label_nc": 8, "label_set": str(tmp_path / "missing.json")})
