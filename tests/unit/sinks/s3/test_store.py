"""store_dir: journal, fsynced appends, recovery of partial lines, directory lock."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import orjson
import pytest

from agent.core.errors import PluginError
from sinks.s3.appends import NAME as APPENDS
from sinks.s3.keys import KeyFormat
from sinks.s3.store import JOURNAL, Store, UploadState

T0 = 1795744014.715089


def store(root: Path, fmt: str = "/l/$TAG/%Y/%m/%d") -> Store:
    s = Store(root, KeyFormat(fmt))
    s.open()
    return s


def test_key_is_fixed_in_the_journal_before_data(tmp_path: Path) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    journal = orjson.loads((tmp_path / JOURNAL).read_bytes())
    assert journal["buffers"][buffer.id]["key"] == f"l/app/2026/11/27-object{buffer.id[:8]}"
    s.append([(buffer, b'{"a":1}\n')])
    assert s.data_path(buffer).read_bytes() == b'{"a":1}\n'
    assert s.total_bytes == 8


def test_recovery_trims_a_partial_last_line_and_keeps_state(tmp_path: Path) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", ("g",), T0)
    s.append([(buffer, b'{"a":1}\n{"a":2}\n')])
    s.set_upload(buffer, UploadState("multipart", "sha", 10, 5, "up-1", {1: '"e1"'}))
    with s.data_path(buffer).open("ab") as handle:
        handle.write(b'{"a":3')  # the crash hit mid-append: never acknowledged
    s.close()
    again = store(tmp_path)
    (left,) = again.buffers.values()
    assert left.sealed and left.key == buffer.key and left.group == ("g",)
    assert again.data_path(left).read_bytes() == b'{"a":1}\n{"a":2}\n'
    assert left.upload is not None and left.upload.parts == {1: '"e1"'}
    assert left.upload.upload_id == "up-1"


def test_empty_buffers_are_dropped_on_recovery(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.new_buffer("app", (), T0)
    s.close()
    assert store(tmp_path).buffers == {}


def test_index_is_persisted(tmp_path: Path) -> None:
    s = store(tmp_path, "/l/$INDEX")
    assert s.new_buffer("a", (), T0).key == "l/0"
    assert s.new_buffer("b", (), T0).key == "l/1"
    s.close()
    assert store(tmp_path, "/l/$INDEX").new_buffer("a", (), T0).key == "l/2"


def test_remove_deletes_files_only_after_the_journal(tmp_path: Path) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    s.append([(buffer, b"x\n")])
    s.body_path(buffer).write_bytes(b"gz")
    s.remove(buffer)
    assert orjson.loads((tmp_path / JOURNAL).read_bytes())["buffers"] == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", APPENDS, JOURNAL]
    assert s.total_bytes == 0


def test_unknown_data_files_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "stray.jsonl").write_bytes(b"keep me\n")
    (tmp_path / "stray.body").write_bytes(b"derived")
    store(tmp_path)
    assert (tmp_path / "stray.jsonl").exists() and not (tmp_path / "stray.body").exists()


def test_one_owner_per_directory(tmp_path: Path) -> None:
    store(tmp_path)
    with pytest.raises(PluginError, match="in use"):
        store(tmp_path)


def test_corrupt_journal_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / JOURNAL).write_bytes(b"{not json")
    with pytest.raises(PluginError, match="corrupt"):
        store(tmp_path)


def test_a_failed_append_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    s.append([(buffer, b'{"a":1}\n')])
    real_write = os.write

    def half_then_enospc(fd: int, data: bytes | memoryview) -> int:
        if len(data) > 4:
            return real_write(fd, bytes(data)[:4])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_enospc)
    with pytest.raises(OSError):
        s.append([(buffer, b'{"a":2}\n')])
    monkeypatch.undo()
    assert s.data_path(buffer).read_bytes() == b'{"a":1}\n'
    assert buffer.size == 8 and s.total_bytes == 8
    s.append([(buffer, b'{"a":2}\n')])
    assert s.data_path(buffer).read_bytes() == b'{"a":1}\n{"a":2}\n'


def test_a_buffer_whose_journal_entry_failed_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = store(tmp_path)

    def full(self: Store) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Store, "_save", full)
    with pytest.raises(OSError):
        s.new_buffer("app", (), T0)
    assert s.buffers == {} and s.open_buffer("app", ()) is None


def test_an_append_whose_record_is_missing_is_cut_away(tmp_path: Path) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    s.append([(buffer, b'{"a":1}\n')], [("tail.0:7|in|app", 100)])
    with s.data_path(buffer).open("ab") as handle:
        handle.write(b'{"a":2}\n')  # fsynced data, but the crash came before appends.log
    s.close()
    again = store(tmp_path)
    (left,) = again.buffers.values()
    assert again.data_path(left).read_bytes() == b'{"a":1}\n'
    assert again.log.watermarks == {"tail.0:7|in|app": 100}


def test_watermarks_survive_upload_removal_and_restarts(tmp_path: Path) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    s.append([(buffer, b"x\n")], [("src|in|app", 10)])
    s.append([(buffer, b"y\n")], [("src|in|app", 20), ("other|in|app", 5)])
    s.remove(buffer)
    s.close()
    again = store(tmp_path)
    assert again.log.watermarks == {"src|in|app": 20, "other|in|app": 5}
    again.close()
    assert store(tmp_path).log.watermarks == {"src|in|app": 20, "other|in|app": 5}


def test_a_failed_append_record_leaves_no_torn_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    s.append([(buffer, b"a\n")], [("src|in|app", 2)])
    real_fsync = os.fsync
    calls = {"n": 0}

    def fail_second_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the data fsync passes, the appends.log fsync fails
            raise OSError(errno.EIO, "I/O error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fail_second_fsync)
    with pytest.raises(OSError):
        s.append([(buffer, b"b\n")], [("src|in|app", 4)])
    monkeypatch.undo()
    s.append([(buffer, b"c\n")], [("src|in|app", 6)])
    s.close()
    again = store(tmp_path)
    (left,) = again.buffers.values()
    assert again.data_path(left).read_bytes() == b"a\nc\n"
    assert again.log.watermarks == {"src|in|app": 6}
