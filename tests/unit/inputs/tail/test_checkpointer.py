"""The acknowledgement gate: a checkpoint moves only over ranges every output accepted, and
reaches the DB only then."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from logtide.agent.inputs.tail import checkpointer as checkpointer_module
from logtide.agent.inputs.tail.reader import TailedFile
from logtide.agent.inputs.tail.rows import digest
from tests.support.plugins import plugin_context
from tests.support.tail_db import stored_offsets
from tests.unit.inputs.tail.parts import Parts, wire

LINES = b"line0\nline1\nline2\n"


@asynccontextmanager
async def _read(
    tmp_path: Path, *, db: bool = False, limit: int = 0
) -> AsyncIterator[tuple[Parts, TailedFile]]:
    """``a.log`` holding :data:`LINES`, opened and read to its end, nothing emitted yet."""
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context, db=tmp_path / "t.db" if db else None, limit=limit)
        assert not await parts.checkpointer.open()  # a new DB: nothing resumed
        f = parts.open(log)
        assert f.read_batch(time.time()) is not None
        assert f.consumed == len(LINES)
        try:
            yield parts, f
        finally:
            parts.table.close_all()
            await parts.checkpointer.close()


async def test_checkpoint_moves_over_the_acknowledged_prefix_only(tmp_path: Path) -> None:
    log, db = tmp_path / "a.log", tmp_path / "t.db"
    async with _read(tmp_path, db=True) as (parts, f):
        first, _ = await parts.checkpointer.deliver(f, 0, 6)
        second, _ = await parts.checkpointer.deliver(f, 6, 12)
        third, _ = await parts.checkpointer.deliver(f, 12, 18)
        assert parts.inflight.bytes == 18
        second.settle(True)
        third.settle(True)
        await parts.checkpointer.persist()
        assert f.row.offset == 0 and stored_offsets(db) == {str(log): 0}
        first.settle(True)
        await parts.checkpointer.persist()
        assert f.row.offset == 18 and stored_offsets(db) == {str(log): 18}
        assert parts.inflight.bytes == 0
        # The fingerprint is of the bytes just before the checkpoint.
        assert f.row.fp_digest == digest(LINES)
        assert f.row.matches(f.fd, len(LINES))


async def test_a_failed_range_holds_the_checkpoint_at_its_start(tmp_path: Path) -> None:
    log, db = tmp_path / "a.log", tmp_path / "t.db"
    async with _read(tmp_path, db=True) as (parts, f):
        context = parts.context
        first, _ = await parts.checkpointer.deliver(f, 0, 6)
        second, _ = await parts.checkpointer.deliver(f, 6, 12)
        third, _ = await parts.checkpointer.deliver(f, 12, 18)
        first.settle(True)
        second.settle(False)
        third.settle(True)
        await parts.checkpointer.persist()
        assert context.metrics.get("test.0", "ack_failed") == 1
        assert f.row.offset == 6 and stored_offsets(db) == {str(log): 6}
        assert parts.inflight.bytes == 0


async def test_acks_of_content_truncated_since_move_nothing(tmp_path: Path) -> None:
    async with _read(tmp_path, limit=10) as (parts, f):
        old, _ = await parts.checkpointer.deliver(f, 0, 18)
        lineage = f.row.lineage
        assert parts.inflight.over
        parts.checkpointer.start_over(f)
        assert parts.inflight.bytes == 0 and f.row.offset == 0 and f.row.lineage != lineage
        f.seek(0)
        assert f.read_batch(time.time()) is not None
        new, _ = await parts.checkpointer.deliver(f, 0, 6)
        old.settle(True)
        assert f.row.offset == 0 and parts.inflight.bytes == 6
        new.settle(True)
        assert f.row.offset == 6 and parts.inflight.bytes == 0


async def test_the_lineage_is_in_the_db_before_the_chunk_leaves(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    async with _read(tmp_path, db=True) as (parts, f):
        _, origin = await parts.checkpointer.deliver(f, 0, 18)
        assert (origin.start, origin.end) == (0, 18)
        _, row_id, token = origin.source.rsplit(":", 2)
        with sqlite3.connect(db) as con:
            saved = list(
                con.execute(
                    "SELECT token, head_length FROM logtide_lineage WHERE id = ?", (row_id,)
                )
            )
        assert saved == [(token, len(LINES))]


async def test_an_ack_from_another_thread_is_settled_on_the_loop(tmp_path: Path) -> None:
    async with _read(tmp_path) as (parts, f):
        ack, _ = await parts.checkpointer.deliver(f, 0, 18)
        thread = threading.Thread(target=ack.settle, args=(True,))
        thread.start()
        thread.join()
        assert f.row.offset == 0  # not yet: the loop has not run since
        await asyncio.sleep(0.01)
        assert f.row.offset == 18


async def test_a_deleted_rotated_file_forgets_its_row_once_delivered(tmp_path: Path) -> None:
    log, db = tmp_path / "a.log", tmp_path / "t.db"
    async with _read(tmp_path, db=True) as (parts, f):
        ack, _ = await parts.checkpointer.deliver(f, 0, 18)
        os.unlink(log)
        f.rotated_at, f.deleted = time.monotonic(), True
        parts.changes.close(f)
        assert parts.table.closing == [f]
        assert parts.checkpointer.lag() == [("offset_lag_bytes", (("file", str(log)),), 18)]
        await parts.checkpointer.persist()
        assert stored_offsets(db) == {str(log): 0}  # kept while its bytes are in flight
        ack.settle(True)
        await parts.checkpointer.persist()
        assert parts.table.closing == [] and stored_offsets(db) == {}


async def test_a_rotated_file_still_there_keeps_its_row(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    async with _read(tmp_path) as (parts, f):
        parts.checkpointer.pass_over(f, 0, 18)  # nothing in flight: settled at once
        assert f.row.offset == 18 and parts.inflight.bytes == 0
        os.rename(log, tmp_path / "a.log.1")
        f.row.name = str(tmp_path / "a.log.1")
        f.rotated_at = time.monotonic()
        parts.changes.close(f)
        # A rescan that matches it again resumes at its end instead of reading it again.
        assert f.row.id in parts.store.rows and parts.table.closing == []


async def test_cut_points_end_reads_where_an_output_watermark_ends(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context)
        f = parts.open(log)
        assert parts.checkpointer.next_cut(f) is None
        source = f"test.0:{f.row.id}:{f.row.lineage}"
        parts.checkpointer.use_cut_points({source: [6, 12]})
        assert parts.checkpointer.next_cut(f) == 6
        f.pos = 6
        assert parts.checkpointer.next_cut(f) == 12
        f.pos = 12
        assert parts.checkpointer.next_cut(f) is None
        f.row.reset_lineage()  # another content: that output's watermark is not for it
        f.pos = 0
        assert parts.checkpointer.next_cut(f) is None


async def test_a_write_cancelled_while_queued_still_reaches_the_db(tmp_path: Path) -> None:
    """Stopping cancels the persist loop, possibly while its write waits for the DB thread:
    the changes it took from the store must still be written (nothing else will write
    them), before the DB closes."""
    log, db = tmp_path / "a.log", tmp_path / "t.db"
    async with _read(tmp_path, db=True) as (parts, f):
        busy = await _cancel_a_persist_queued_behind_a_busy_db(parts, f)
        busy.set()
        await parts.checkpointer.persist()  # what the input's close does
    assert stored_offsets(db) == {str(log): 18}


async def _cancel_a_persist_queued_behind_a_busy_db(
    parts: Parts, f: TailedFile, *, refused: str | None = None
) -> threading.Event:
    """Acknowledge all of ``f``, start a persist while the DB thread is busy with an earlier
    job (its write then ``refused`` with that error, if given), and cancel it once its write
    is queued; returns the event that ends the busy job."""
    ack, _ = await parts.checkpointer.deliver(f, 0, 18)
    ack.settle(True)
    if refused is not None:
        _failing_first(parts.checkpointer.store, 1, refused)
    busy = threading.Event()
    executor = parts.checkpointer._executor
    assert executor is not None
    executor.submit(busy.wait, 5)
    persist = asyncio.get_running_loop().create_task(parts.checkpointer.persist())
    await asyncio.sleep(0.05)
    assert not parts.checkpointer.store.pending  # taken by the queued write
    persist.cancel()
    await asyncio.gather(persist, return_exceptions=True)
    return busy


def _failing_first(store: object, failures: int, message: str = "database is locked") -> list[int]:
    """Make ``store.write`` raise as SQLite does for its first ``failures`` calls; returns
    the list that counts the calls."""
    real = store.write  # type: ignore[attr-defined]
    calls: list[int] = []

    def write(changes: object) -> None:
        calls.append(1)
        if len(calls) <= failures:
            raise sqlite3.OperationalError(message)
        real(changes)

    store.write = write  # type: ignore[attr-defined]
    return calls


async def test_a_refused_write_stays_pending_and_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A locked or full DB neither stops the checkpoint writer nor loses what it was to
    write: the changes stay pending and reach the DB once it takes writes again; one line
    when it starts failing, one when it works again."""
    log, db = tmp_path / "a.log", tmp_path / "t.db"
    async with _read(tmp_path, db=True) as (parts, f):
        ack, _ = await parts.checkpointer.deliver(f, 0, 18)
        ack.settle(True)
        calls = _failing_first(parts.checkpointer.store, 3)
        for _ in range(3):
            await parts.checkpointer.persist()
            assert parts.checkpointer.store.pending
        assert stored_offsets(db) == {str(log): 0}
        await parts.checkpointer.persist()
        assert not parts.checkpointer.store.pending
        assert len(calls) == 4
    assert stored_offsets(db) == {str(log): 18}
    lines = [r.getMessage() for r in caplog.records if "checkpoint DB" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "failed: database is locked; retrying every 1s" in lines[0]
    assert "read again after a restart" in lines[0]
    assert lines[1].endswith("works again")
    assert not any(r.exc_info for r in caplog.records)


async def test_a_chunk_waits_until_its_lineage_is_in_the_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An output may record a watermark under a chunk's lineage at once, so the chunk leaves
    only after a write of that lineage committed, through any write that fails."""
    monkeypatch.setattr(checkpointer_module, "PERSIST_INTERVAL", 0.01)
    db = tmp_path / "t.db"
    async with _read(tmp_path, db=True) as (parts, f):
        calls = _failing_first(parts.checkpointer.store, 2)
        _, origin = await parts.checkpointer.deliver(f, 0, 18)
        assert len(calls) == 3
        with sqlite3.connect(db) as con:
            tokens = [token for (token,) in con.execute("SELECT token FROM logtide_lineage")]
        assert tokens == [f.row.lineage]
        assert origin.source.endswith(f":{f.row.id}:{f.row.lineage}")


async def test_a_lineage_counts_as_saved_only_once_its_write_committed(tmp_path: Path) -> None:
    """A write queued before the chunk's and then refused must not count: the chunk's own
    write, taken while the first one waited, carries the lineage too."""
    async with _read(tmp_path, db=True) as (parts, f):
        store = parts.checkpointer.store
        store.touch(f.row)
        queued = store.snapshot()
        store.touch(f.row)
        own = store.snapshot()
        assert [kind for kind, _ in queued] == [kind for kind, _ in own] == ["upsert", "lineage"]
        assert not store.lineage_saved(f.row)
        store.restore(queued)  # as the checkpointer does when that write is refused
        store.write(own)
        assert store.lineage_saved(f.row)
        assert store.pending  # the refused write's row is written again


async def test_a_write_that_fails_after_its_caller_was_cancelled_is_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopping cancels the persist loop while its write waits for the DB thread; if that
    write then fails, no one awaits it: it is said in one line, not as asyncio's
    "exception was never retrieved" with a traceback."""
    async with _read(tmp_path, db=True) as (parts, f):
        busy = await _cancel_a_persist_queued_behind_a_busy_db(parts, f, refused="disk I/O error")
        busy.set()
        await asyncio.sleep(0.1)
    gc.collect()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert "failed while stopping: disk I/O error" in lines[0]
    assert not any(r.exc_info for r in caplog.records)
