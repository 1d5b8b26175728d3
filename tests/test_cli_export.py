"""`gan-studio export`: flatten a document or export a label layer, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from engine.imageio import read_png_text
from engine.labelsets import read_index_png
from engine.ora import write_ora
from tests.helpers import sample_document

REPO = Path(__file__).resolve().parents[1]


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_export_flattens_with_recipes_and_exports_label_layers(tmp_path):
    doc = sample_document()
    doc.layers[2].visible = True
    source = tmp_path / "work.ora"
    write_ora(source, doc)

    out = tmp_path / "flat.png"
    proc = _cli("export", source, out)
    assert proc.returncode == 0, proc.stderr
    assert "4 layers flattened, 1 recipe" in proc.stdout
    with Image.open(out) as image:
        np.testing.assert_array_equal(np.asarray(image.convert("RGBA")), doc.composite())
    assert json.loads(read_png_text(out)["gan_studio_recipe"]) == doc.layers[2].recipe

    labels = tmp_path / "labels.png"
    proc = _cli("export", source, labels, "--layer", "Labels")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(read_index_png(labels), doc.layers[1].pixels)

    proc = _cli("export", source, tmp_path / "x.png", "--layer", "Background")
    assert proc.returncode == 1 and "image layer" in proc.stderr


def test_export_of_a_damaged_document_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.ora"
    bad.write_bytes(b"PK\x03\x04 truncated")
    proc = _cli("export", bad, tmp_path / "out.png")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: bad.ora") and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.png").exists()
