"""Truncation, rotation and deletion of open files, and closing them."""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from logtide.agent.inputs.tail import copies
from logtide.agent.inputs.tail.watcher import Watcher
from tests.support.plugins import plugin_context
from tests.unit.inputs.tail.harness import wait_for
from tests.unit.inputs.tail.parts import wire

LINES = b"one\ntwo\n"


async def test_a_shrunk_file_starts_over_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context)
        parts.sink.hold = True
        f = parts.open(log)
        await parts.pump.read(f, parts.emit, None)  # emitted, not acknowledged yet
        assert parts.inflight.bytes == len(LINES)
        lineage, tracker = f.row.lineage, f.tracker
        log.write_bytes(b"x\n")
        assert await parts.changes.check(f, parts.emit)
        assert (f.pos, f.generation, f.row.offset) == (0, 1, 0)
        assert f.tracker is not tracker and f.row.lineage != lineage
        assert parts.inflight.bytes == 0  # that content is gone: it holds no memory
        parts.sink.release()
        assert f.row.offset == 0
        assert context.metrics.get("test.0", "files_truncated") == 1
        parts.table.close_all()


@pytest.mark.parametrize("with_db", [True, False])
@pytest.mark.parametrize("compressed", [False, True])
async def test_a_copied_then_emptied_file_is_read_on_from_its_copy(
    tmp_path: Path, compressed: bool, with_db: bool
) -> None:
    """copytruncate (with ``compress``, the copy gzipped at once): the line the tail had not
    read before the truncation is read from the copy, and the acknowledgements in flight
    move the copy's checkpoint. Before, the file started over at 0 and that line was
    lost; without a ``DB`` a gzipped copy was not followed (it is decompressed in the
    system's temporary folder now)."""
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context, db=tmp_path / "t.db" if with_db else None)
        parts.sink.hold = True
        f = parts.open(log)
        await parts.pump.read(f, parts.emit, None)  # emitted, not acknowledged yet
        lineage, tracker, row = f.row.lineage, f.tracker, f.row
        with open(log, "ab") as fh:
            fh.write(b"three\n")
        copy = tmp_path / "a.log.1"
        shutil.copyfile(log, copy)
        os.truncate(log, 0)
        if compressed:
            copy.with_name("a.log.1.gz").write_bytes(gzip.compress(copy.read_bytes()))
            copy.unlink()
        assert await parts.changes.check(f, parts.emit)
        assert f.rotated_at is not None and f.tracker is tracker
        assert f.row is row and row.lineage == lineage and row.rotated == 1
        assert parts.inflight.bytes == len(LINES)
        if compressed:
            assert (f.deleted, row.inode, row.name) == (True, 0, str(log))
        else:
            assert (f.inode, row.inode, row.name) == (copy.stat().st_ino,) * 2 + (str(copy),)
        await parts.pump.read(f, parts.emit, None)
        assert parts.sink.logs() == ["one", "two", "three"]
        parts.sink.release()
        assert row.offset == len(LINES) + len(b"three\n")
        (emptied,) = [g for g in parts.table if g is not f]
        assert emptied.path == str(log) and emptied.inode == log.stat().st_ino
        assert emptied.row is not row and emptied.row.lineage != lineage
        assert context.metrics.get("test.0", "files_truncated") == 1
        assert context.metrics.get("test.0", "files_copytruncated") == 1
        parts.table.close_all()


async def test_a_file_not_read_yet_that_was_copied_then_emptied_is_read_from_its_copy(
    tmp_path: Path,
) -> None:
    """Opened but not read yet (the input held back at Mem_Buf_Limit), then copied and
    emptied, and written past its old size before the next check: its size does not tell,
    its first bytes do. Its old content is read from the copy; the new one from its head
    under a row of its own. Before, the old content was left to the copy (read from its
    head by the next start, past the outputs' watermarks when the row had been read from
    since) and the new one read under the old row."""
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context)
        f = parts.open(log)
        row = f.row
        shutil.copyfile(log, tmp_path / "a.log.1")
        log.write_bytes(b"four\nfive\nsix\n")
        assert await parts.changes.check(f, parts.emit)
        assert f.row is row and row.name == str(tmp_path / "a.log.1")
        await parts.pump.read(f, parts.emit, None)
        (emptied,) = [g for g in parts.table if g is not f]
        assert emptied.row is not row
        await parts.pump.read(emptied, parts.emit, None)
        assert parts.sink.logs() == ["one", "two", "four", "five", "six"]
        parts.table.close_all()


async def test_a_copy_that_does_not_hold_what_was_read_is_not_followed(tmp_path: Path) -> None:
    """A generation beside the file that starts the same but holds other bytes where the
    tail last read (an older copy, a file emptied by hand) is not the content: the file
    starts over at 0."""
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context)
        f = parts.open(log)
        await parts.pump.read(f, parts.emit, None)
        (tmp_path / "a.log.1").write_bytes(b"one\ntwi\nthree\n")
        (tmp_path / "a.log.2").write_bytes(b"one\n")
        os.truncate(log, 0)
        assert not await parts.changes.check(f, parts.emit)
        assert (f.pos, f.rotated_at, f.inode) == (0, None, log.stat().st_ino)
        assert context.metrics.get("test.0", "files_copytruncated") == 0
        parts.table.close_all()


async def test_a_copy_shorter_than_what_was_read_is_not_followed(tmp_path: Path) -> None:
    """The app wrote a line between the copy and the truncation, and the tail read it: the
    copy lacks it, holds nothing unread, and is not taken (nothing is lost)."""
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context)
        f = parts.open(log)
        shutil.copyfile(log, tmp_path / "a.log.1")
        with open(log, "ab") as fh:
            fh.write(b"three\n")
        await parts.pump.read(f, parts.emit, None)
        os.truncate(log, 0)
        assert not await parts.changes.check(f, parts.emit)
        assert (f.pos, f.rotated_at) == (0, None)
        assert parts.sink.logs() == ["one", "two", "three"]
        parts.table.close_all()


async def test_a_damaged_gzip_copy_is_not_followed_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context, db=tmp_path / "t.db")
        f = parts.open(log)
        await parts.pump.read(f, parts.emit, None)
        whole = gzip.compress(LINES + b"three\n")
        (tmp_path / "a.log.1.gz").write_bytes(whole[: len(whole) - 12])
        os.truncate(log, 0)
        assert not await parts.changes.check(f, parts.emit)
        assert (f.pos, f.rotated_at) == (0, None)
        parts.table.close_all()
    (line,) = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert line.startswith(f"tail: {tmp_path}/a.log.1.gz is damaged (")
    assert line.endswith(f"not read as the copy of {log}")


async def test_an_input_stopped_while_a_gz_copy_is_decompressed_closes_that_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decompression runs in a thread the stop cannot interrupt: the copy it makes
    afterwards is closed, so its unlinked file does not hold disk space for the rest of a
    process the engine runs in."""
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    started, release = threading.Event(), threading.Event()
    made: list[tuple[int, int]] = []
    decompress = copies.decompressed_copy

    def held(*args: object) -> tuple[int, str | None]:
        started.set()
        release.wait(5)
        fd, damage = decompress(*args)  # type: ignore[arg-type]
        made.append((fd, os.fstat(fd).st_ino))
        return fd, damage

    monkeypatch.setattr(copies, "decompressed_copy", held)
    async with plugin_context() as context:
        parts = wire(context, db=tmp_path / "t.db")
        f = parts.open(log)
        await parts.pump.read(f, parts.emit, None)
        (tmp_path / "a.log.1.gz").write_bytes(gzip.compress(LINES + b"three\n"))
        os.truncate(log, 0)
        check = asyncio.ensure_future(parts.changes.check(f, parts.emit))
        assert await asyncio.to_thread(started.wait, 5)
        check.cancel()
        with pytest.raises(asyncio.CancelledError):
            await check
        release.set()
        await wait_for(lambda: bool(made))
        fd, inode = made[0]

        def closed() -> bool:
            try:
                return os.fstat(fd).st_ino != inode  # the number was taken again
            except OSError:
                return True

        await wait_for(closed)
        parts.table.close_all()


async def test_a_rename_is_seen_only_when_the_path_is_looked_up(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context)
        watcher = Watcher(asyncio.get_running_loop(), context.logger)
        parts.changes.watcher = watcher
        f = parts.open(log)
        os.rename(log, tmp_path / "a.log.1")
        await parts.changes.check(f, parts.emit, renames=False)
        assert f.rotated_at is None
        await parts.changes.check(f, parts.emit, renames=True)
        assert f.rotated_at is not None and not f.deleted
        assert f.row.name == str(tmp_path / "a.log.1") and f.row.rotated == 1
        assert watcher.rescan  # the path may hold a new file already
        assert context.metrics.get("test.0", "files_rotated") == 1
        parts.table.close_all()


async def test_a_rotated_file_is_read_to_its_end_then_closed_after_rotate_wait(
    tmp_path: Path,
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context, rotate_wait=0.2)
        f = parts.open(log)
        await parts.pump.read(f, parts.emit, None)
        with open(log, "ab") as fh:
            fh.write(b"three")  # no newline: the last line is ended by the close
        os.unlink(log)
        assert await parts.changes.check(f, parts.emit)  # deleted, with bytes to read
        assert f.deleted and not f.closed
        await parts.pump.read(f, parts.emit, None)
        assert not await parts.changes.check(f, parts.emit)
        assert not f.closed  # Rotate_Wait not over yet
        await asyncio.sleep(0.25)
        await parts.changes.check(f, parts.emit)
        assert f.closed and len(parts.table) == 0
        assert parts.sink.logs() == ["one", "two", "three"]
        assert context.metrics.get("test.0", "files_closed") == 1
        # Delivered and deleted: its checkpoint row is dropped.
        assert parts.store.rows == {}


async def test_a_rotation_adopts_generations_never_seen(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context)
        f = parts.open(log)
        f.row.created = int(time.time()) - 10
        os.rename(log, tmp_path / "a.log.2")
        # Born and rotated between two checks: never opened by us.
        (tmp_path / "a.log.1").write_bytes(b"missed\n")
        await parts.changes.check(f, parts.emit)
        assert {g.path for g in parts.table} == {str(log), str(tmp_path / "a.log.1")}
        assert context.metrics.get("test.0", "files_recovered") == 1
        parts.table.close_all()
