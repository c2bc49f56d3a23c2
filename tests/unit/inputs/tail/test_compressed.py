"""Finding a file's ``.gz`` by its first bytes, and reading it through a decompressed copy."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from logtide.agent.inputs.tail.compressed import decompressed_copy, find_compressed, read_to
from logtide.agent.inputs.tail.rows import Row

CONTENT = b"".join(b"line %d\n" % n for n in range(20_000))


def _row(name: Path, content: bytes, offset: int = 100) -> Row:
    row = Row(1, str(name), offset, 1234, 0)
    row.set_head(content[:256])
    return row


def _read_all(fd: int) -> bytes:
    data = b""
    while block := os.read(fd, 1 << 20):
        data += block
    return data


def test_the_gzip_whose_head_is_the_files_is_found(tmp_path: Path) -> None:
    other = b"".join(b"other %d\n" % n for n in range(100))
    (tmp_path / "0.log.20261127-101400.gz").write_bytes(gzip.compress(other))
    (tmp_path / "0.log.20261127-101500.gz").write_bytes(gzip.compress(CONTENT))
    (tmp_path / "0.log.20261127-101600.gz").write_bytes(b"not a gzip at all")
    row = _row(tmp_path / "0.log", CONTENT)
    found = str(tmp_path / "0.log.20261127-101500.gz")
    assert find_compressed(row, ()) == found
    assert find_compressed(row, {found}) is None
    row.head_length, row.head_digest = 0, b""
    assert find_compressed(row, ()) is None  # nothing to recognise it by


def test_the_copy_holds_the_content_and_leaves_nothing_behind(tmp_path: Path) -> None:
    gz = tmp_path / "0.log.1.gz"
    gz.write_bytes(gzip.compress(CONTENT))
    state = tmp_path / "state"
    state.mkdir()
    fd, damage = decompressed_copy(str(gz), str(state), 0)
    try:
        assert damage is None
        assert os.listdir(state) == []
        assert os.fstat(fd).st_nlink == 0
        assert _read_all(fd) == CONTENT
    finally:
        os.close(fd)


def test_a_damaged_gzip_gives_what_comes_before_the_damage(tmp_path: Path) -> None:
    gz = tmp_path / "0.log.1.gz"
    gz.write_bytes(gzip.compress(CONTENT)[:-4000])
    fd, damage = decompressed_copy(str(gz), str(tmp_path), 0)
    try:
        assert damage is not None
        copied = _read_all(fd)
        assert 0 < len(copied) < len(CONTENT)
        assert CONTENT.startswith(copied)
    finally:
        os.close(fd)


def test_a_folder_that_cannot_hold_the_copy_is_an_oserror(tmp_path: Path) -> None:
    gz = tmp_path / "0.log.1.gz"
    gz.write_bytes(gzip.compress(CONTENT))
    with pytest.raises(OSError):
        decompressed_copy(str(gz), str(tmp_path / "missing"), 0)


def test_every_member_of_a_gzip_is_read(tmp_path: Path) -> None:
    """``cat a.gz b.gz`` is a valid gzip of both: the copy holds both."""
    half = len(CONTENT) // 2
    gz = tmp_path / "app.log.1.gz"
    gz.write_bytes(gzip.compress(CONTENT[:half]) + gzip.compress(CONTENT[half:]))
    fd, damage = decompressed_copy(str(gz), str(tmp_path), 0)
    try:
        assert damage is None
        assert _read_all(fd) == CONTENT
    finally:
        os.close(fd)


def test_what_was_read_before_is_a_hole_in_the_copy(tmp_path: Path) -> None:
    """Only the unread end takes disk: the copy holds the bytes from ``keep_from`` on at
    their offsets, and reads as zeros before them."""
    big = CONTENT * 20
    gz = tmp_path / "0.log.1.gz"
    gz.write_bytes(gzip.compress(big))
    keep_from = len(big) - 5000
    fd, damage = decompressed_copy(str(gz), str(tmp_path), keep_from)
    try:
        assert damage is None
        st = os.fstat(fd)
        assert st.st_size == len(big)
        assert st.st_blocks * 512 < 64 * 1024  # ~5 KB written of 3.8 MB
        assert os.pread(fd, 5000, keep_from) == big[keep_from:]
        assert os.pread(fd, 16, 0) == bytes(16)
    finally:
        os.close(fd)


def test_the_trailer_tells_a_gzip_read_to_its_end(tmp_path: Path) -> None:
    gz = tmp_path / "0.log.1.gz"
    gz.write_bytes(gzip.compress(CONTENT))
    assert read_to(str(gz), len(CONTENT))
    assert not read_to(str(gz), len(CONTENT) - 1)
    assert not read_to(str(tmp_path / "gone.gz"), 0)
