"""Atomic writes keep the previous file when writing fails; leftovers of killed saves are cleaned up."""

import os
import time

import pytest

from engine.fileutil import atomic_write, cleanup_stale_temps


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


def _plant(folder, name, age_s):
    path = folder / name
    path.write_bytes(b"half a save")
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def test_cleanup_removes_only_old_leftovers_of_that_target(tmp_path):
    target = tmp_path / "doc.ora"
    target.write_bytes(b"the document")
    stale = _plant(tmp_path, ".doc.ora.ab_c1234.tmp", age_s=7200)
    young = _plant(tmp_path, ".doc.ora.zz9zz9zz.tmp", age_s=60)  # a save may still be running
    keep = [_plant(tmp_path, name, age_s=7200) for name in (
        ".other.ora.abcd1234.tmp",     # another file's temp
        ".doc.ora.abcd123.tmp",        # not the 8 random characters of mkstemp
        ".doc.ora.ABCD1234.tmp",       # mkstemp never uses capitals
        ".doc.ora.abcd1234.tmp.bak",   # not exactly the pattern
        "doc.ora.abcd1234.tmp",        # not hidden
        ".doc.ora.abcd1234.tmp~",
        ".xdoc.ora.abcd1234.tmp",
    )]
    (tmp_path / ".doc.ora.dir12345.tmp").mkdir()  # folders are never touched
    os.utime(tmp_path / ".doc.ora.dir12345.tmp", (time.time() - 7200,) * 2)

    assert cleanup_stale_temps(target) == [stale]
    assert not stale.exists() and young.exists() and all(p.exists() for p in keep)
    assert target.read_bytes() == b"the document" and (tmp_path / ".doc.ora.dir12345.tmp").is_dir()
    assert cleanup_stale_temps(target, older_than_s=0) == [young]


def test_cleanup_matches_the_names_atomic_write_really_uses(tmp_path, monkeypatch):
    target = tmp_path / "a.b [1].ora"  # dots and brackets in the name are literal, not regex
    names = []
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        names.append(tmp.name)
        tmp.write_bytes(b"x")
        os.link(tmp, tmp_path / "survivor")  # what a killed save leaves: the temp stays
        raise RuntimeError("killed")
    os.rename(tmp_path / "survivor", tmp_path / names[0])
    assert cleanup_stale_temps(target, older_than_s=0) == [tmp_path / names[0]]
    assert list(tmp_path.iterdir()) == []


def test_cleanup_of_a_missing_folder_does_nothing(tmp_path):
    assert cleanup_stale_temps(tmp_path / "nowhere" / "doc.ora") == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_new_files_get_the_umask_mode_not_the_private_temp_mode(tmp_path):
    old_mask = os.umask(0o022)
    try:
        target = tmp_path / "export.png"
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"png")
        assert target.stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        other = tmp_path / "private.png"
        with atomic_write(other) as tmp:
            tmp.write_bytes(b"png")
        assert other.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old_mask)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "doc.ora"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with atomic_write(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640
