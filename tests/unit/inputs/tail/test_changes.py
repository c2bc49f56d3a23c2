"""Truncation, rotation and deletion of open files, and closing them."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from logtide.agent.inputs.tail.watcher import Watcher
from tests.support.plugins import plugin_context
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
