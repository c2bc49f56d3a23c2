"""The acknowledgement gate: a file's checkpoint moves only over what every output accepted.

Each range handed to the pipeline is added to the file's
:class:`~logtide.agent.inputs.tail.ranges.RangeTracker` and carries an :class:`Ack`; when
acknowledgements settle the contiguous prefix, the row's offset (with a fingerprint of the
bytes before it) moves and the DB is written as soon as it can be, from the DB's own thread.
A chunk's origin names the file's content by the row and its lineage token, written to the DB
before the first chunk that carries it; a read after a restart stops at the offsets where an
output's watermark ends (cut points). A rotated file's row is dropped once everything read
from it is acknowledged.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from logtide.agent.core.events import Ack, Origin
from logtide.agent.core.metrics import Readings
from logtide.agent.core.notices import FailureNotice
from logtide.agent.core.plugins import PluginContext
from logtide.agent.inputs.state_db import open_when_possible
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore, Snapshot
from logtide.agent.inputs.tail.file_table import FileTable
from logtide.agent.inputs.tail.inflight import InFlight
from logtide.agent.inputs.tail.ranges import RangeTracker, Span
from logtide.agent.inputs.tail.reader import TailedFile
from logtide.agent.inputs.tail.siblings import locate

PERSIST_INTERVAL = 1.0
# Bound of the per-file memo of when a checkpoint was last logged: past it it starts over,
# which costs one more log line per file.
MAX_REMEMBERED = 10_000
# A busy file moves its checkpoint with every acknowledgement: at debug level, one line per
# file per this many seconds at most.
CHECKPOINT_LOG_INTERVAL = 1.0

# What a checkpoint write that failed means to a user.
_STAYS = "checkpoints stay where the DB has them: lines after them are read again after a restart"

P = ParamSpec("P")
R = TypeVar("R")


class Checkpointer:
    """Owns the checkpoint DB (and the thread that writes it) and every file's range
    tracker; the only place a checkpoint row's offset moves."""

    def __init__(
        self,
        store: CheckpointStore,
        table: FileTable,
        inflight: InFlight,
        context: PluginContext,
        source: str,
    ) -> None:
        self.store = store
        self.table = table
        self.inflight = inflight
        self.context = context
        self.source = source
        self._moved = asyncio.Event()
        # Rows of rotated files read and delivered to their end, kept while the file exists.
        self._kept: set[int] = set()
        self._checkpoints_logged: dict[str, float] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._cut_points: Mapping[str, Sequence[int]] = {}
        self._write_notice = FailureNotice(
            context.logger, f"tail: writing checkpoint DB {store.path}", _STAYS
        )
        self._open_notice = FailureNotice(
            context.logger,
            f"tail: opening checkpoint DB {store.path}",
            "no file is read until it opens",
        )

    # -- the DB --------------------------------------------------------------------------
    async def open(self) -> bool:
        """Open the DB (on the loop that will receive acknowledgements); True when it
        already existed, i.e. this run resumes an earlier one."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        if self.store.path:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"{self.source}-db")
        resumed = bool(self.store.path) and os.path.exists(str(self.store.path))
        await open_when_possible(
            functools.partial(self._db, self.store.open), self._open_notice, PERSIST_INTERVAL
        )
        return resumed

    async def close(self) -> None:
        await self._db(self.store.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _db(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self._executor is None:
            return fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        # Shielded: a write cancelled while it waits for the DB thread would drop the changes
        # it took from the store (nothing writes them again); once handed over, a job runs.
        job = loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))
        try:
            return await asyncio.shield(job)
        except asyncio.CancelledError:
            job.add_done_callback(self._report_orphaned)
            raise

    def _report_orphaned(self, job: asyncio.Future[Any]) -> None:
        # The job of a caller that was cancelled (the input stopping): no one awaits it, so
        # its failure is said here, in one line.
        error = None if job.cancelled() else job.exception()
        if error is not None:
            self.context.logger.warning(
                "tail: writing checkpoint DB %s failed while stopping: %s (%s)",
                self.store.path,
                error,
                _STAYS,
            )

    async def _write(self, changes: Snapshot) -> bool:
        """Write ``changes``; False when the DB refused them (they are pending again)."""
        try:
            await self._db(self.store.write, changes)
        except sqlite3.Error as exc:
            self.store.restore(changes)
            self._write_notice.failed(exc, PERSIST_INTERVAL)
            return False
        self._write_notice.succeeded()
        return True

    async def persist(self) -> None:
        """Write every pending row change now (what the DB refuses stays pending)."""
        if self.store.path and self.store.pending:
            changes = self.store.snapshot()
            if await self._write(changes) and self.context.logger.isEnabledFor(logging.DEBUG):
                self._log_written(changes)

    async def persist_loop(self) -> None:
        # Written as soon as an acknowledgement moved a checkpoint, not on a fixed tick: what
        # an output already holds durably (s3 store_dir) but the DB does not yet cover is
        # read and sent again after a crash, so that window is kept as short as the DB
        # write itself.
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), PERSIST_INTERVAL)
            self._moved.clear()
            await self.persist()

    def _log_written(self, changes: Snapshot) -> None:
        now = time.monotonic()
        logged = self._checkpoints_logged
        if len(logged) > MAX_REMEMBERED:
            logged.clear()
        for kind, values in changes:
            if kind != "upsert":
                continue
            name, offset = values[1], values[2]
            if now - logged.get(str(name), -CHECKPOINT_LOG_INTERVAL) >= CHECKPOINT_LOG_INTERVAL:
                logged[str(name)] = now
                self.context.logger.debug("tail: checkpoint written: %s at offset %s", name, offset)

    # -- ranges handed to the pipeline ---------------------------------------------------
    def pass_over(self, f: TailedFile, start: int, end: int) -> None:
        """Bytes ``[start, end)`` of ``f`` produced no event (skipped lines): nothing to
        wait for, but the checkpoint may only cross them in order."""
        if end <= start:
            return
        tracker = f.tracker
        span = tracker.add(start, end, f.fingerprint_at(end))
        f.emitted_to = end
        if tracker.settle(span, True):
            self._commit(f)

    async def deliver(self, f: TailedFile, start: int, end: int) -> tuple[Ack, Origin]:
        """Bytes ``[start, end)`` of ``f`` leave as one chunk: the acknowledgement that
        settles them and the origin that names them."""
        tracker = f.tracker
        span = tracker.add(start, end, f.fingerprint_at(end))
        f.emitted_to = end
        self.inflight.sent(end - start)
        ack = Ack(lambda ok: self._acked(f, tracker, span, ok))
        return ack, Origin(await self._durable_lineage(f, end), start, end)

    def use_cut_points(self, cut_points: Mapping[str, Sequence[int]]) -> None:
        """Per source name, the sorted offsets where outputs' watermarks end (the engine
        learns them from the outputs before inputs run)."""
        self._cut_points = cut_points

    def next_cut(self, f: TailedFile) -> int | None:
        """The next offset at which some output's watermark for this content ends.

        A chunk read again after a restart ends there, so an output that already holds the
        bytes before it recognises the whole chunk (see ``Chunk.mark``).
        """
        cuts = self._cut_points
        if not cuts:
            return None
        ends = cuts.get(f"{self.context.instance}:{f.row.id}:{f.row.lineage}")
        if not ends:
            return None
        index = bisect.bisect_right(ends, f.pos)
        return ends[index] if index < len(ends) else None

    def _lineage(self, f: TailedFile, end: int) -> str:
        """The source name chunks of ``f`` carry: which content of which file they are.

        The first bytes are remembered with the lineage, so a restart that finds the file
        starting differently gives it a new one.
        """
        row = f.row
        if row.take_head(f.fd, end):
            self.store.touch(row)
        return f"{self.context.instance}:{row.id}:{row.lineage}"

    async def _durable_lineage(self, f: TailedFile, end: int) -> str:
        """:meth:`_lineage`, written to the DB before the first chunk that carries it: an
        output may record a watermark under that name at once, and a restart must find the
        same name again (an unsaved lineage is replaced by a new one)."""
        name = self._lineage(f, end)
        if self.store.path:
            # Saved means a write of it committed (the DB thread records that), not only
            # queued: a write that fails leaves the chunk waiting here and trying again.
            row = f.row
            while not self.store.lineage_saved(row):
                self.store.touch(row)
                if not await self._write(self.store.snapshot()):
                    await asyncio.sleep(PERSIST_INTERVAL)
        return name

    # -- acknowledgements ----------------------------------------------------------------
    def _acked(self, f: TailedFile, tracker: RangeTracker, span: Span, ok: bool) -> None:
        if threading.get_ident() != self._loop_thread and self._loop is not None:
            self._loop.call_soon_threadsafe(self._settled, f, tracker, span, ok)
        else:
            self._settled(f, tracker, span, ok)

    def _settled(self, f: TailedFile, tracker: RangeTracker, span: Span, ok: bool) -> None:
        current = tracker is f.tracker
        self.inflight.acknowledged(span.end - span.start if current else 0)
        if not ok:
            self.context.metrics.add(self.context.instance, "ack_failed")
            self.context.logger.warning(
                "tail: delivery of %s bytes %d-%d failed; its checkpoint stays at %d until restart",
                f.path,
                span.start,
                span.end,
                f.tracker.committed,
            )
        if not current:
            return  # the file was truncated since: that content is gone
        if tracker.settle(span, ok):
            self._commit(f)
        if f.closed and tracker.idle:
            self._forget(f)

    def _commit(self, f: TailedFile) -> None:
        row = f.row
        row.offset = f.tracker.committed
        row.set_fingerprint(f.tracker.fingerprint)
        self.store.touch(row)
        self._moved.set()

    # -- a file's content or life changes ------------------------------------------------
    def start_over(self, f: TailedFile) -> None:
        """``f`` was truncated: what was in flight no longer counts, and its checkpoint,
        fingerprint and lineage start again at 0 (a new content for outputs' watermarks)."""
        self.inflight.dropped(f.tracker.outstanding)
        f.tracker = RangeTracker(0, b"")
        f.row.offset, f.row.fp_length, f.row.fp_digest = 0, 0, b""
        f.row.reset_lineage()
        self.store.touch(f.row)

    def closed_after_rotation(self, f: TailedFile) -> None:
        """``f`` was closed after a rotation: drop its row once all it read is delivered."""
        if f.tracker.idle:
            self._forget(f)
        else:
            self.table.park(f)

    def _forget(self, f: TailedFile) -> None:
        """A rotated file is fully delivered: drop its row (kept if delivery failed, so the
        next start retries it; kept while the file still exists, so a rescan that matches
        it again resumes at its end instead of re-reading it)."""
        self.table.unpark(f)
        if f.tracker.blocked:
            return
        if f.deleted or locate(f.row.name, f.inode) is None:
            self.store.retire(f.row)
        else:
            self._kept.add(f.row.id)

    def drop_gone(self) -> None:
        """Drop the rows kept for rotated files that no longer exist (kubelet removes or
        gzips its older generations): without this they stayed until the next start, one
        more per rotation, in memory, in the DB and in every lookup by inode."""
        open_rows = {f.row.id for f in self.table}
        for row_id in list(self._kept):
            row = self.store.rows.get(row_id)
            if row is None or row_id in open_rows:
                self._kept.discard(row_id)
                continue
            where = locate(row.name, row.inode)
            if where is None:
                self.store.retire(row)
                self._kept.discard(row_id)
            elif where != row.name:
                row.name = where
                self.store.touch(row)

    def lag(self) -> Readings:
        """``offset_lag_bytes{file}``: bytes read that not every output acknowledged yet
        (a metrics probe: read on a scrape, from the scraper's thread)."""
        return [
            ("offset_lag_bytes", (("file", f.path),), max(0, f.emitted_to - f.tracker.committed))
            for f in self.table.tracked()
        ]
