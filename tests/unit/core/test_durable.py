"""Durable writes fsync the directory too: a name just created or renamed into place is
otherwise not guaranteed to survive a power cut, whatever was fsynced of the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from logtide.agent.core import durable
from logtide.agent.core.durable import append_synced, open_for_append, write_atomic
from logtide.agent.engine.disk_queue import DiskQueue
from tests.support.full_disk import half_then_full


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every fsync from now on, as the path it synced (a directory ends with ``/``)."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        synced.append(path + "/" if stat.S_ISDIR(os.fstat(fd).st_mode) else path)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_write_atomic_fsyncs_the_file_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state"
    target.write_bytes(b"old")
    synced = _record_fsyncs(monkeypatch)
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert synced == [f"{target}.tmp", f"{tmp_path}/"]
    assert sorted(os.listdir(tmp_path)) == ["state"]


def test_append_synced_fsyncs_the_directory_only_when_it_creates_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.log"
    synced = _record_fsyncs(monkeypatch)
    append_synced(target, b"a\n")
    append_synced(target, b"b\n")
    assert target.read_bytes() == b"a\nb\n"
    assert synced == [str(target), f"{tmp_path}/", str(target)]


def test_disk_queue_makes_new_segments_and_commits_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = DiskQueue(str(tmp_path))
    synced = _record_fsyncs(monkeypatch)
    queue.append([("a", [(1.0, {"n": 1})], None)])
    assert f"{tmp_path}/" in synced  # the new segment's name
    synced.clear()
    queue.commit(queue.read(10)[1])
    assert synced[-1] == f"{tmp_path}/"  # the rename of ``committed``
    assert DiskQueue(str(tmp_path)).read(10)[0] == []


def test_an_append_the_disk_cut_short_is_taken_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Left in place, the half would sit in front of the next append's bytes.
    target = tmp_path / "log"
    append_synced(target, b"one\n")
    with monkeypatch.context() as patch:
        patch.setattr(durable, "write_all", half_then_full(durable.write_all))
        with pytest.raises(OSError, match="No space"):
            append_synced(target, b"two two two\n")
    append_synced(target, b"three\n")
    assert target.read_bytes() == b"one\nthree\n"


def test_a_replacement_the_disk_cut_short_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state"
    target.write_bytes(b"old")
    monkeypatch.setattr(durable, "write_all", half_then_full(durable.write_all))
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"new content")
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["state"]


@pytest.mark.parametrize(
    ("content", "whole", "kept"),
    [
        (b"a\nb\n", 4, b"a\nb\n"),
        (b"a\nb\n{torn", 4, b"a\nb\n"),
        (b"a\nb", 4, b"a\nb\n"),  # the last line whole but for its newline
        (b"", 0, b""),
    ],
)
def test_open_for_append_keeps_the_whole_lines_and_ends_them(
    tmp_path: Path, content: bytes, whole: int, kept: bytes
) -> None:
    target = tmp_path / "log"
    target.write_bytes(content)
    fd = open_for_append(target, whole)
    try:
        os.write(fd, b"next\n")
    finally:
        os.close(fd)
    assert target.read_bytes() == kept + b"next\n"


def test_open_for_append_creates_the_file(tmp_path: Path) -> None:
    os.close(open_for_append(tmp_path / "log", 0))
    assert (tmp_path / "log").read_bytes() == b""
