"""Atomic writes keep the previous file when writing fails."""

import pytest

from engine.fileutil import atomic_write


def test_success_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "doc.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.bin"]


def test_failure_keeps_the_previous_file(tmp_path):
    target = tmp_path / "doc.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.bin"]
