"""Durable writes fsync the directory too: a name just created or renamed into place is
otherwise not guaranteed to survive a power cut, whatever was fsynced of the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from logtide.agent.core.durable import append_synced, write_atomic
from logtide.agent.engine.disk_queue import DiskQueue


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
    queue.append([("a", [(1.0, {"n": 1})])])
    assert f"{tmp_path}/" in synced  # the new segment's name
    synced.clear()
    queue.commit(queue.read(10)[1])
    assert synced[-1] == f"{tmp_path}/"  # the rename of ``committed``
    assert DiskQueue(str(tmp_path)).read(10)[0] == []
