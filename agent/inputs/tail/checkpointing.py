"""Acknowledgements and checkpoints: the half of the tail input that moves a file's
checkpoint only over what every output accepted, persists it, and names the source of each
chunk for outputs that deliver exactly once.

An emitted chunk's acknowledgement settles its byte range in the file's
:class:`~agent.inputs.tail.ranges.RangeTracker`; the contiguous acknowledged prefix becomes
the row's offset (with a fingerprint of the bytes before it), written to the DB as soon as
it moves. A chunk's origin names the file's content by the row and its lineage token, and a
read after a restart stops at the offsets where an output's watermark ends (cut points).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import threading
import time
from typing import Any

from agent.core.metrics import Readings
from agent.core.plugins import PluginContext
from agent.inputs.tail.checkpoint import FINGERPRINT_BYTES, CheckpointStore, Row, Snapshot
from agent.inputs.tail.ranges import RangeTracker, Span
from agent.inputs.tail.reader import TailedFile

PERSIST_INTERVAL = 1.0
# Bound of the per-file memos (lineages known durable, when a checkpoint was last logged):
# past it they start over, which costs one more DB write or log line per file.
MAX_REMEMBERED = 10_000
# A busy file moves its checkpoint with every acknowledgement: at debug level, one line per
# file per this many seconds at most.
CHECKPOINT_LOG_INTERVAL = 1.0


class Checkpointing:
    """Mixed into :class:`~agent.inputs.tail.input.TailInput`."""

    context: PluginContext
    store: CheckpointStore
    outstanding: int
    mem_limit: int
    _resume: asyncio.Event
    _moved: asyncio.Event
    _durable_lineages: set[str]
    _checkpoints_logged: dict[str, float]
    _loop: asyncio.AbstractEventLoop | None
    _loop_thread: int
    files: dict[tuple[int, int], TailedFile]
    closing: list[TailedFile]

    def _forget(self, f: TailedFile) -> None:
        raise NotImplementedError

    async def _db(self, fn: Any, *args: Any) -> Any:
        raise NotImplementedError

    # -- the source behind each chunk ----------------------------------------------------
    def _lineage(self, f: TailedFile, end: int) -> str:
        """The source name chunks of ``f`` carry: which content of which file they are.

        The first bytes are remembered with the lineage, so a restart that finds the file
        starting differently gives it a new one.
        """
        row = f.row
        if row.head_length == 0 and end > 0:
            with contextlib.suppress(OSError):
                row.set_head(os.pread(f.fd, min(FINGERPRINT_BYTES, end), 0))
                self.store.touch(row)
        return f"{self.context.instance}:{row.id}:{row.lineage}"

    async def _durable_lineage(self, f: TailedFile, end: int) -> str:
        """:meth:`_lineage`, written to the DB before the first chunk that carries it: an
        output may record a watermark under that name at once, and a restart must find the
        same name again (an unsaved lineage is replaced by a new one)."""
        name = self._lineage(f, end)
        if self.store.path and name not in self._durable_lineages:
            # The DB executor runs one write at a time: once this returns, any earlier
            # write that carried the lineage has completed too.
            await self._db(self.store.write, self.store.snapshot())
            if len(self._durable_lineages) >= MAX_REMEMBERED:
                self._durable_lineages.clear()  # forgotten ones only cost one more write
            self._durable_lineages.add(name)
        return name

    def _next_cut(self, f: TailedFile) -> int | None:
        """The next offset at which some output's watermark for this content ends.

        A chunk read again after a restart ends there, so an output that already holds the
        bytes before it recognises the whole chunk (see ``Chunk.mark``).
        """
        ends = self.context.cut_points.get(f"{self.context.instance}:{f.row.id}:{f.row.lineage}")
        if not ends:
            return None
        index = bisect.bisect_right(ends, f.pos)
        return ends[index] if index < len(ends) else None

    # -- acknowledgements ----------------------------------------------------------------
    def _acked(self, f: TailedFile, tracker: RangeTracker, span: Span, ok: bool) -> None:
        if threading.get_ident() != self._loop_thread and self._loop is not None:
            self._loop.call_soon_threadsafe(self._settled, f, tracker, span, ok)
        else:
            self._settled(f, tracker, span, ok)

    def _settled(self, f: TailedFile, tracker: RangeTracker, span: Span, ok: bool) -> None:
        if tracker is f.tracker:
            self.outstanding -= span.end - span.start
        if not ok:
            self.context.metrics.add(self.context.instance, "ack_failed")
            self.context.logger.warning(
                "tail: delivery of %s bytes %d-%d failed; its checkpoint stays at %d until restart",
                f.path,
                span.start,
                span.end,
                f.tracker.committed,
            )
        if self.mem_limit and self.outstanding <= self.mem_limit:
            self._resume.set()
        if tracker is not f.tracker:
            return  # the file was truncated since: that content is gone
        if tracker.settle(span, ok):
            self._commit(f)
        if f.closed and tracker.idle:
            self._forget(f)

    def _commit(self, f: TailedFile) -> None:
        row: Row = f.row
        row.offset = f.tracker.committed
        row.set_fingerprint(f.tracker.fingerprint)
        self.store.touch(row)
        self._moved.set()

    def _lag(self) -> Readings:
        """``offset_lag_bytes{file}``: bytes read that not every output acknowledged yet
        (a metrics probe: read on a scrape, from the scraper's thread)."""
        # Copied in C, without running Python code, so the loop cannot change them meanwhile.
        files: list[TailedFile] = [*self.files.values(), *self.closing]
        return [
            ("offset_lag_bytes", (("file", f.path),), max(0, f.emitted_to - f.tracker.committed))
            for f in files
        ]

    # -- checkpoint persistence ----------------------------------------------------------
    async def _persist_loop(self) -> None:
        # Written as soon as an acknowledgement moved a checkpoint, not on a fixed tick: what
        # an output already holds durably (s3 store_dir) but the DB does not yet cover is
        # read and sent again after a crash, so that window is kept as short as the DB
        # write itself.
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), PERSIST_INTERVAL)
            self._moved.clear()
            await self._persist()

    async def _persist(self) -> None:
        if self.store.path and self.store.pending:
            changes = self.store.snapshot()
            await self._db(self.store.write, changes)
            if self.context.logger.isEnabledFor(logging.DEBUG):
                self._log_written(changes)

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
