"""store_dir: journal, fsynced appends, recovery of partial lines, directory lock."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import orjson
import pytest

from logtide.agent.core.errors import PluginError
from logtide.agent.core.file_lock import LockHeld
from logtide.sinks.s3 import store as store_module
from logtide.sinks.s3.appends import NAME as APPENDS
from logtide.sinks.s3.appends import AppendLog
from logtide.sinks.s3.keys import KeyFormat
from logtide.sinks.s3.store import JOURNAL, Store, UploadState
from tests.support.flock_holder import other_gets_it
from tests.support.full_disk import refuse

T0 = 1795744014.715089


def store(root: Path, fmt: str = "/l/$TAG/%Y/%m/%d") -> Store:
    s = Store(root, KeyFormat(fmt))
    s.open()
    return s


def test_key_is_recorded_with_the_first_append(tmp_path: Path) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    assert buffer.key == f"l/app/2026/11/27-object{buffer.id[:8]}"
    s.append([(buffer, b'{"a":1}\n')])
    assert s.data_path(buffer).read_bytes() == b'{"a":1}\n'
    assert s.total_bytes == 8
    (line,) = (tmp_path / APPENDS).read_bytes().splitlines()
    sizes, _marks, entries, _next_index = orjson.loads(line)
    assert sizes == {buffer.id: 8} and entries[buffer.id]["key"] == buffer.key
    s.close()
    (left,) = store(tmp_path).buffers.values()
    assert left.key == buffer.key and left.size == 8


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
    for name, key in (("a", "l/0"), ("b", "l/1")):
        buffer = s.new_buffer(name, (), T0)
        assert buffer.key == key
        s.append([(buffer, b"x\n")])
    s.close()
    assert store(tmp_path, "/l/$INDEX").new_buffer("a", (), T0).key == "l/2"


def test_remove_deletes_files_only_after_recording_it(tmp_path: Path) -> None:
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    s.append([(buffer, b"x\n")])
    s.body_path(buffer).write_bytes(b"gz")
    s.remove(buffer)
    assert orjson.loads((tmp_path / APPENDS).read_bytes().splitlines()[-1]) == [
        {},
        [],
        {buffer.id: None},
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", APPENDS, JOURNAL]
    assert s.total_bytes == 0
    s.close()
    assert store(tmp_path).buffers == {}
    assert orjson.loads((tmp_path / JOURNAL).read_bytes())["buffers"] == {}


def test_unknown_data_files_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "stray.jsonl").write_bytes(b"keep me\n")
    (tmp_path / "stray.body").write_bytes(b"derived")
    store(tmp_path)
    assert (tmp_path / "stray.jsonl").exists() and not (tmp_path / "stray.body").exists()


def test_one_owner_per_directory(tmp_path: Path) -> None:
    store(tmp_path)
    with pytest.raises(LockHeld, match="in use by another logtide process"):
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


def test_a_buffer_whose_first_append_was_not_recorded_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = store(tmp_path)

    def full(self: AppendLog, *args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(AppendLog, "record", full)
    buffer = s.new_buffer("app", (), T0)
    with pytest.raises(OSError):
        s.append([(buffer, b"x\n")])
    assert s.buffers == {} and s.open_buffer("app", ()) is None and s.total_bytes == 0
    assert not s.data_path(buffer).exists()


def test_an_open_failure_is_not_journaled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = store(tmp_path)
    old = s.new_buffer("old", (), T0)
    s.append([(old, b"o\n")])
    real_open = os.open

    def no_more_files(path: str | Path, flags: int, mode: int = 0o777) -> int:
        if str(path).endswith(".jsonl"):
            raise OSError(errno.EMFILE, "Too many open files")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", no_more_files)
    s.seal(old)
    new = s.new_buffer("app", (), T0)
    with pytest.raises(OSError):
        s.append([(new, b"x\n")])
    monkeypatch.undo()
    assert list(s.buffers) == [old.id] and s.open_buffer("app", ()) is None
    assert new.id.encode() not in (tmp_path / APPENDS).read_bytes()
    s.close()
    assert list(store(tmp_path).buffers) == [old.id]


def test_new_buffers_append_to_the_log_instead_of_rewriting_the_journal(tmp_path: Path) -> None:
    s = store(tmp_path, "/l/$TAG/$INDEX")
    journal = (tmp_path / JOURNAL).stat()
    for n in range(50):
        buffer = s.new_buffer(f"t{n}", (), T0)
        s.append([(buffer, b"x\n")])
    after = (tmp_path / JOURNAL).stat()
    assert (after.st_ino, after.st_mtime_ns) == (journal.st_ino, journal.st_mtime_ns)
    assert len((tmp_path / APPENDS).read_bytes().splitlines()) == 50
    s.close()
    again = store(tmp_path, "/l/$TAG/$INDEX")
    assert sorted(b.key for b in again.buffers.values()) == sorted(f"l/t{n}/{n}" for n in range(50))
    assert again.next_index == 50


def test_open_files_stay_bounded_with_many_buffers(tmp_path: Path) -> None:
    s = store(tmp_path, "/l/$TAG/$UUID")
    s.max_open_files = 4
    fds_before = len(os.listdir("/proc/self/fd"))
    buffers = [s.new_buffer(f"t{n}", (), T0) for n in range(40)]
    s.append([(b, b"a\n") for b in buffers])  # one append touching all forty
    s.append([(b, b"b\n") for b in reversed(buffers)])
    assert len(os.listdir("/proc/self/fd")) - fds_before <= 4
    assert all(s.data_path(b).read_bytes() == b"a\nb\n" for b in buffers)
    s.close()
    assert {b.size for b in store(tmp_path, "/l/$TAG/$UUID").buffers.values()} == {4}


def test_a_torn_last_line_and_a_replayed_log_are_tolerated(tmp_path: Path) -> None:
    s = store(tmp_path)
    kept = s.new_buffer("kept", (), T0)
    gone = s.new_buffer("gone", (), T0)
    s.append([(kept, b"k\n"), (gone, b"g\n")], [("src", 4)])
    s.remove(gone)
    s.set_upload(kept, UploadState("put", "sha", 2, 2))
    log_text = (tmp_path / APPENDS).read_bytes()
    s.close()
    # A crash between a compaction's journal write and its truncation of the log leaves the
    # old lines to be replayed on top of the journal they were folded into.
    store(tmp_path).close()
    (tmp_path / APPENDS).write_bytes(log_text + b'[{"' + kept.id.encode() + b'": 9')
    again = store(tmp_path)
    (left,) = again.buffers.values()
    assert left.id == kept.id and left.size == 2 and left.upload is not None
    assert again.log.watermarks == {"src": 4}


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


def test_a_new_buffer_file_is_durable_before_its_append_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append acknowledges records: the buffer file it created must survive a power cut
    too, so store_dir is fsynced before appends.log records the new buffer."""
    s = store(tmp_path)
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    buffer = s.new_buffer("app", (), T0)
    s.append([(buffer, b'{"a":1}\n')])
    assert synced == [str(s.data_path(buffer)), str(tmp_path), str(tmp_path / APPENDS)]
    synced.clear()
    s.append([(buffer, b'{"a":2}\n')])
    assert str(tmp_path) not in synced


def test_open_on_a_full_disk_keeps_appending_to_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Folding the log into a new journal needs space a full disk does not have: the agent
    # used to stop at start. The log is kept instead, cut back to its last whole line.
    s = store(tmp_path)
    buffer = s.new_buffer("app", (), T0)
    s.append([(buffer, b"a\n")], [("src", 2)])
    s.close()
    with (tmp_path / APPENDS).open("ab") as handle:
        handle.write(b'[{"torn')

    with monkeypatch.context() as patch:
        patch.setattr(store_module, "write_atomic", refuse)
        again = store(tmp_path)
    (left,) = again.buffers.values()
    assert left.id == buffer.id and left.size == 2
    later = again.new_buffer("app", ("g",), T0)
    again.append([(later, b"b\n")], [("src", 4)])
    again.close()
    final = store(tmp_path)
    assert sorted(b.size for b in final.buffers.values()) == [2, 2]
    assert final.log.watermarks == {"src": 4}


def test_a_store_dir_another_process_holds_is_refused(tmp_path: Path) -> None:
    """A second agent on the same ``store_dir``: :class:`LockHeld` (its output waits for the
    first to exit), and the folder's files are left as they are; once the first closes, the
    lock is free."""
    first = store(tmp_path)
    with pytest.raises(LockHeld, match="in use by another logtide process"):
        store(tmp_path)
    first.close()
    assert other_gets_it(tmp_path / ".lock")
