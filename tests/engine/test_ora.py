"""OpenRaster documents: exact round trips, files from other programs, bad input, atomic saves."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.document import Document
from engine.errors import DocumentError, EngineError
from engine.imageio import read_png_text
from engine.labelsets import read_index_png
from engine.ora import (MIMETYPE, OraLimits, export_label_map, export_png, read_ora, write_ora)
from tests.helpers import assert_documents_equal, big_document, sample_document

ROOT = Path(__file__).resolve().parents[2]


def zip_bytes(members: list[tuple[str, bytes]], stored_first: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, (name, data) in enumerate(members):
            kind = zipfile.ZIP_STORED if (i == 0 and stored_first) else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=kind)
    return buffer.getvalue()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# round trips


def test_round_trip_restores_everything_exactly(tmp_path):
    doc = sample_document()
    path = tmp_path / "work.ora"
    write_ora(path, doc)
    back, warnings = read_ora(path)
    assert warnings == []
    assert_documents_equal(doc, back)


def test_archive_follows_openraster(tmp_path):
    doc = sample_document()
    path = tmp_path / "work.ora"
    write_ora(path, doc)
    with zipfile.ZipFile(path) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == MIMETYPE.encode()
        names = archive.namelist()
        assert {"stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png", "gan-studio/document.json"} <= set(names)
        import xml.etree.ElementTree as ET

        root = ET.fromstring(archive.read("stack.xml"))
        assert (root.get("w"), root.get("h")) == ("40", "24")
        layers = root.find("stack").findall("layer")
        assert [l.get("name") for l in layers] == ["Hole", "Render ✨", "Labels", "Background"]  # top first
        assert all(l.get("composite-op") == "svg:src-over" for l in layers)
        # label and mask layers are hidden for other programs; image layers keep their visibility
        assert [l.get("visibility") for l in layers] == ["hidden", "hidden", "hidden", "visible"]
        for layer in layers:  # every layer is a full-size PNG another program can show
            with Image.open(io.BytesIO(archive.read(layer.get("src")))) as image:
                assert image.size == (40, 24)
        merged = np.asarray(Image.open(io.BytesIO(archive.read("mergedimage.png"))))
        np.testing.assert_array_equal(merged, doc.composite())
        thumb = Image.open(io.BytesIO(archive.read("Thumbnails/thumbnail.png")))
        assert max(thumb.size) <= 256


def test_empty_document_round_trips(tmp_path):
    doc = Document(width=3, height=2)
    write_ora(tmp_path / "e.ora", doc)
    back, warnings = read_ora(tmp_path / "e.ora")
    assert warnings == [] and back.layers == [] and (back.width, back.height) == (3, 2)


def test_unsaveable_state_fails_before_touching_the_file(tmp_path):
    path = tmp_path / "work.ora"
    write_ora(path, sample_document())
    before = path.read_bytes()
    doc = sample_document()
    doc.state["oops"] = object()
    with pytest.raises(DocumentError, match="cannot be saved"):
        write_ora(path, doc)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["work.ora"]


def test_successful_save_leaves_no_temporary_files(tmp_path):
    for seed in range(3):
        write_ora(tmp_path / "work.ora", sample_document(seed=seed))
    assert os.listdir(tmp_path) == ["work.ora"]


def test_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DocumentError, match="could not be saved"):
        write_ora(blocker / "sub" / "work.ora", sample_document())


# ---------------------------------------------------------------------------------------------
# files from other programs


def test_minimal_ora_from_another_program_imports_image_layers(tmp_path):
    red = np.zeros((4, 6, 4), np.uint8)
    red[..., 0], red[..., 3] = 255, 255
    small = np.full((2, 2, 4), 77, np.uint8)
    stack = (b'<?xml version="1.0" encoding="UTF-8"?>\n<image w="8" h="5"><stack>'
             b'<layer name="Ink" src="data/ink.png" x="3" y="2" opacity="0.5" composite-op="svg:multiply"/>'
             b'<stack name="Group" visibility="hidden"><layer name="Inside" src="data/in.png"/></stack>'
             b'<layer name="Paper" src="data/paper.png" visibility="visible"/>'
             b'</stack></image>')
    data = zip_bytes([("mimetype", b"image/openraster"), ("stack.xml", stack), ("data/ink.png", png(small)),
                      ("data/in.png", png(small)), ("data/paper.png", png(red))])
    path = tmp_path / "krita.ora"
    path.write_bytes(data)
    doc, warnings = read_ora(path)
    assert (doc.width, doc.height) == (8, 5)
    assert [l.name for l in doc.layers] == ["Paper", "Inside", "Ink"]  # bottom first
    paper, inside, ink = doc.layers
    assert paper.kind == "image" and paper.pixels.shape == (5, 8, 4)
    assert np.array_equal(paper.pixels[:4, :6], red) and paper.pixels[4:, :].sum() == 0
    assert ink.opacity == 0.5 and np.array_equal(ink.pixels[2:4, 3:5], small) and ink.pixels[:2].sum() == 0
    assert not inside.visible  # its group was hidden
    assert any("multiply" in w for w in warnings) and any("groups" in w for w in warnings)


def test_missing_extra_data_opens_image_layers_and_says_what_is_lost(tmp_path):
    path = tmp_path / "work.ora"
    doc = sample_document()
    write_ora(path, doc)
    stripped = tmp_path / "stripped.ora"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(stripped, "w") as dst:
        for info in src.infolist():
            if info.filename != "gan-studio/document.json":
                dst.writestr(info, src.read(info))
    back, warnings = read_ora(stripped)
    assert any("document.json" in w and "recipes" in w for w in warnings)
    assert [l.kind for l in back.layers] == ["image"] * 4
    assert np.array_equal(back.layers[0].pixels, doc.layers[0].pixels)


def test_missing_label_data_is_rebuilt_from_its_colours(tmp_path):
    path = tmp_path / "work.ora"
    doc = sample_document()
    write_ora(path, doc)
    damaged = tmp_path / "damaged.ora"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            if not (info.filename.startswith("gan-studio/layers/") or info.filename.startswith("gan-studio/arrays/0000")):
                dst.writestr(info, src.read(info))
    back, warnings = read_ora(damaged)
    labels, mask = back.layers[1], back.layers[3]
    assert labels.kind == "labels" and np.array_equal(labels.pixels, doc.layers[1].pixels)
    assert mask.kind == "mask" and np.array_equal(mask.pixels, doc.layers[3].pixels)
    assert back.layers[2].recipe == doc.layers[2].recipe and back.state == doc.state
    assert "latent/b1/w" not in back.arrays and "direction 0" in back.arrays
    text = " ".join(warnings)
    assert "'Labels'" in text and "'Hole'" in text and "instance map" in text and "latent/b1/w" in text


def test_damaged_json_opens_image_layers_with_a_warning(tmp_path):
    path = tmp_path / "work.ora"
    write_ora(path, sample_document())
    damaged = tmp_path / "damaged.ora"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data[: len(data) // 2] if info.filename.endswith("document.json") else data)
    back, warnings = read_ora(damaged)
    assert len(back.layers) == 4 and any("damaged" in w for w in warnings)


# ---------------------------------------------------------------------------------------------
# bad input: a clear DocumentError, never a crash


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "work.ora"
    write_ora(path, sample_document())
    data = path.read_bytes()
    cut = tmp_path / "cut.ora"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DocumentError, match="damaged or truncated"):
        read_ora(cut)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage" * 10])
def test_garbage_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.ora"
    path.write_bytes(content)
    with pytest.raises(EngineError, match="bad.ora"):
        read_ora(path)


def test_corrupt_layer_data_skips_that_layer_with_a_warning(tmp_path):
    path = tmp_path / "work.ora"
    doc = sample_document()
    write_ora(path, doc)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(next(n for n in archive.namelist() if n.startswith("data/000")))
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 100
    data[start:start + 50] = b"\x00" * 50  # stored PNG: CRC of the member no longer matches
    broken = tmp_path / "broken.ora"
    broken.write_bytes(bytes(data))
    back, warnings = read_ora(broken)
    assert [l.name for l in back.layers] == ["Labels", "Render ✨", "Hole"]
    assert any("'Background'" in w and "damaged" in w for w in warnings)


def test_other_zip_types_and_missing_stack_are_refused(tmp_path):
    path = tmp_path / "doc.ora"
    path.write_bytes(zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.text")]))
    with pytest.raises(DocumentError, match="not an OpenRaster"):
        read_ora(path)
    path.write_bytes(zip_bytes([("mimetype", MIMETYPE.encode())]))
    with pytest.raises(DocumentError, match="no stack.xml"):
        read_ora(path)


def test_xml_entities_are_refused(tmp_path):
    stack = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><image w="1" h="1"><stack/></image>'
    path = tmp_path / "doc.ora"
    path.write_bytes(zip_bytes([("mimetype", MIMETYPE.encode()), ("stack.xml", stack)]))
    with pytest.raises(DocumentError, match="DOCTYPE"):
        read_ora(path)


def test_zip_bomb_is_refused_from_its_headers(tmp_path):
    stack = b'<image w="8" h="8"><stack><layer name="bomb" src="data/bomb.png"/></stack></image>'
    bomb = tmp_path / "bomb.ora"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("stack.xml", stack)
        archive.writestr("data/bomb.png", b"\x00" * (64 << 20))  # 64 MB of zeros: ~64 KB compressed
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(DocumentError, match="zip bomb|safety limit"):
        read_ora(bomb, limits=OraLimits(max_total_bytes=16 << 20))


def test_zip_bomb_with_lying_headers_is_stopped_while_decompressing(tmp_path):
    stack = b'<image w="8" h="8"><stack><layer name="bomb" src="data/bomb.png"/></stack></image>'
    bomb = tmp_path / "bomb.ora"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("stack.xml", stack)
        archive.writestr("data/bomb.png", b"\x00" * (8 << 20))
    # rewrite the declared sizes (local header and central directory) to claim 100 bytes
    data = bytearray(bomb.read_bytes())
    real = (8 << 20).to_bytes(4, "little")
    fake = (100).to_bytes(4, "little")
    count = data.count(real)
    assert count == 2
    bomb.write_bytes(bytes(data).replace(real, fake))
    # zipfile stops at the declared size, the CRC then fails: the layer is damaged, nothing is inflated
    with pytest.raises(DocumentError, match="None of the 1 layers.*damaged"):
        read_ora(bomb)


def test_absurd_layer_size_is_refused_with_a_clear_message(tmp_path):
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    # a PNG header claiming 20000x20000 (400 MP); the data after it does not matter
    giant = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20_000, 20_000, 8, 0, 0, 0, 0))
             + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    stack = b'<image w="100" h="100"><stack><layer name="giant" src="data/giant.png"/></stack></image>'
    path = tmp_path / "giant.ora"
    path.write_bytes(zip_bytes([("mimetype", MIMETYPE.encode()), ("stack.xml", stack),
                                ("data/giant.png", giant)]))
    with pytest.raises(DocumentError, match="megapixels"):
        read_ora(path)
    stack = b'<image w="90000" h="90000"><stack/></image>'
    path.write_bytes(zip_bytes([("mimetype", MIMETYPE.encode()), ("stack.xml", stack)]))
    with pytest.raises(DocumentError, match="megapixels"):
        read_ora(path)


# ---------------------------------------------------------------------------------------------
# atomic saves


CHILD = """
import sys
sys.path.insert(0, {root!r})
from tests.helpers import big_document
from engine.ora import write_ora
doc = big_document()
print("ready", flush=True)
while True:
    print("begin", flush=True)
    write_ora({path!r}, doc)
    print("end", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killing_a_saving_process_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "work.ora"
    doc = big_document()
    write_ora(path, doc)
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path))],
                             stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    try:
        assert child.stdout.readline().strip() == "ready"
        assert child.stdout.readline().strip() == "begin"
        started = time.perf_counter()
        assert child.stdout.readline().strip() == "end"
        duration = time.perf_counter() - started
        assert child.stdout.readline().strip() == "begin"
        time.sleep(duration * 0.5)  # half way through the second save
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    leftovers = [name for name in os.listdir(tmp_path) if name != "work.ora"]
    assert all(name.startswith(".work.ora.") and name.endswith(".tmp") for name in leftovers), leftovers
    back, warnings = read_ora(path)
    assert warnings == []
    assert_documents_equal(doc, back)

    an_hour_ago = time.time() - 3601
    for name in leftovers:
        os.utime(tmp_path / name, (an_hour_ago, an_hour_ago))
    write_ora(path, Document(width=4, height=4))  # the next save of that file sweeps them away
    assert os.listdir(tmp_path) == ["work.ora"]


def test_saving_removes_stale_temporary_files_of_that_document_only(tmp_path):
    path = tmp_path / "work.ora"
    an_hour_ago = time.time() - 3601
    planted = {}
    for name in (".work.ora.k1ll3d_1.tmp", ".work.ora.running1.tmp", ".other.ora.k1ll3d_1.tmp"):
        planted[name] = tmp_path / name
        planted[name].write_bytes(b"PK half a zip")
    os.utime(planted[".work.ora.k1ll3d_1.tmp"], (an_hour_ago, an_hour_ago))
    os.utime(planted[".other.ora.k1ll3d_1.tmp"], (an_hour_ago, an_hour_ago))
    write_ora(path, Document(width=4, height=4))
    # the old leftover of work.ora goes; a young one (a save may be running) and another file's stay
    assert sorted(os.listdir(tmp_path)) == [".other.ora.k1ll3d_1.tmp", ".work.ora.running1.tmp", "work.ora"]


# ---------------------------------------------------------------------------------------------
# exports


def test_export_png_flattens_with_recipes(tmp_path):
    doc = sample_document()
    doc.layers[2].visible = True
    out = export_png(doc, tmp_path / "flat.png")
    with Image.open(out) as image:
        pixels = np.asarray(image.convert("RGBA"))
    np.testing.assert_array_equal(pixels, doc.composite())
    text = read_png_text(out)
    assert json.loads(text["gan_studio_recipe"]) == doc.layers[2].recipe
    recipes = json.loads(text["gan_studio_recipes"])
    assert recipes == [{"layer": "Render ✨", "id": doc.layers[2].id, "recipe": doc.layers[2].recipe}]


def test_export_label_map_as_index_png(tmp_path):
    doc = sample_document()
    out = export_label_map(doc, tmp_path / "labels.png", "Labels")
    np.testing.assert_array_equal(read_index_png(out), doc.layers[1].pixels)
    with pytest.raises(DocumentError, match="no labels layer called 'Nope'.*'Labels'"):
        export_label_map(doc, tmp_path / "x.png", "Nope")
    assert sorted(os.listdir(tmp_path)) == ["labels.png"]
