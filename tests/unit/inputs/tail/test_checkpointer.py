"""The acknowledgement gate: a checkpoint moves only over ranges every output accepted, and
reaches the DB only then."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from logtide.agent.inputs.tail.checkpoint_db import digest
from logtide.agent.inputs.tail.reader import TailedFile
from tests.support.plugins import plugin_context
from tests.unit.inputs.tail.parts import Parts, wire

LINES = b"line0\nline1\nline2\n"


def _db_offsets(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("SELECT name, offset FROM in_tail_files"))


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
        assert f.row.offset == 0 and _db_offsets(db) == {str(log): 0}
        first.settle(True)
        await parts.checkpointer.persist()
        assert f.row.offset == 18 and _db_offsets(db) == {str(log): 18}
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
        assert f.row.offset == 6 and _db_offsets(db) == {str(log): 6}
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
        assert _db_offsets(db) == {str(log): 0}  # kept while its bytes are in flight
        ack.settle(True)
        await parts.checkpointer.persist()
        assert parts.table.closing == [] and _db_offsets(db) == {}


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
        ack, _ = await parts.checkpointer.deliver(f, 0, 18)
        ack.settle(True)
        busy = threading.Event()
        executor = parts.checkpointer._executor
        assert executor is not None
        executor.submit(busy.wait, 5)  # the DB thread is busy with an earlier write
        persist = asyncio.get_running_loop().create_task(parts.checkpointer.persist())
        await asyncio.sleep(0.05)
        assert not parts.checkpointer.store.pending  # taken by the queued write
        persist.cancel()
        await asyncio.gather(persist, return_exceptions=True)
        busy.set()
        await parts.checkpointer.persist()  # what the input's close does
    assert _db_offsets(db) == {str(log): 18}
