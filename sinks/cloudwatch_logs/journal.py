"""The cloudwatch_logs delivery journal: what was about to be put, so a crash repeats nothing.

Before a flush's first PutLogEvents, one fsynced line records its batches (group, stream,
and every ``[timestamp, message]`` as it will be sent) and its marks (``(Chunk.mark, origin
end)`` pairs). From then on the journal answers for those events: the marks become
watermarks (the engine skips the chunks when a restart reads them again), and a batch not
yet confirmed is checked against the stream and, where missing, put again by the recovery
after a restart. A confirmed batch gets a ``done`` line (not fsynced: losing it costs one
GetLogEvents check, never a duplicate).

Lines (JSON arrays)::

    ["w", {mark: end}]                                   watermarks (first line after compaction)
    ["r", id, ms, [[mark, end]], [[group, stream, [[ts, msg]]] | null], [[id, index]]]
    ["d", id, index]                                     batch confirmed (or given up)

The last list of an ``r`` line names batches of earlier records whose events the runner
handed back with an error and now sends again under this record: they are closed by it.
A torn last line (a crash in the middle of a write) is ignored: its flush never put
anything. The file is rewritten with only what is still open (compaction) on every open
and whenever it grows past :data:`COMPACT_BYTES`.

All methods block (file I/O, fsync); the output calls them from worker threads.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

COMPACT_BYTES = 4 * 1024 * 1024
# Watermarks of sources not seen for this many newer marks are forgotten (bounded memory);
# a source that old has long been checkpointed past by its input.
MAX_WATERMARKS = 100_000

StreamKey = tuple[str, str]
Sent = tuple[int, str]  # (timestamp ms, message), as put
BatchRef = tuple[int, int]  # (record id, batch index)


@dataclass(slots=True)
class OpenBatch:
    """A journaled batch not yet known to be in its stream."""

    ref: BatchRef
    key: StreamKey
    events: list[Sent]
    recorded_ms: int


@dataclass(slots=True)
class _Record:
    ms: int
    batches: list[tuple[StreamKey, list[Sent]] | None]


class Journal:
    """One output's journal file, its open batches and the watermarks it implies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.watermarks: dict[str, int] = {}
        self._records: dict[int, _Record] = {}
        self._next_id = 1
        self._fd: int | None = None
        self._size = 0
        self._compacted_size = 0
        self._lock = threading.Lock()

    # -- open, fold, compact ---------------------------------------------------------------

    def open(self) -> list[OpenBatch]:
        """Read the file (if any), compact it, and return the batches a restart must check."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fold()
            self._compact()
            return self._open_batches()

    def _fold(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        for line in raw.split(b"\n"):
            if not line:
                continue
            try:
                entry = orjson.loads(line)
                self._apply(entry)
            except (orjson.JSONDecodeError, ValueError, TypeError, IndexError, KeyError):
                break  # a torn last line: that flush never put anything

    def _apply(self, entry: list[Any]) -> None:
        kind = entry[0]
        if kind == "w":
            for mark, end in entry[1].items():
                self._raise(str(mark), int(end))
        elif kind == "r":
            rid, ms, marks, batches, closes = entry[1:6]
            parsed: list[tuple[StreamKey, list[Sent]] | None] = []
            for batch in batches:
                if batch is None:
                    parsed.append(None)
                    continue
                group, stream, events = batch
                parsed.append(((str(group), str(stream)), [(int(t), str(m)) for t, m in events]))
            self._records[int(rid)] = _Record(int(ms), parsed)
            self._next_id = max(self._next_id, int(rid) + 1)
            for mark, end in marks:
                self._raise(str(mark), int(end))
            for ref in closes:
                self._close((int(ref[0]), int(ref[1])))
        elif kind == "d":
            self._close((int(entry[1]), int(entry[2])))
        else:
            raise ValueError(kind)

    def _compact(self) -> None:
        """Rewrite the file as the watermarks plus the open records (atomically); on failure
        the old file stays in use."""
        lines = [orjson.dumps(["w", self.watermarks])]
        for rid, record in self._records.items():
            batches = [None if b is None else [b[0][0], b[0][1], b[1]] for b in record.batches]
            lines.append(orjson.dumps(["r", rid, record.ms, [], batches, []]))
        data = b"\n".join(lines) + b"\n"
        temp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, self.path)
        _fsync_dir(self.path.parent)
        self._close_fd()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = self._compacted_size = len(data)

    def _open_batches(self) -> list[OpenBatch]:
        return [
            OpenBatch((rid, index), batch[0], batch[1], record.ms)
            for rid, record in self._records.items()
            for index, batch in enumerate(record.batches)
            if batch is not None
        ]

    # -- while running -----------------------------------------------------------------------

    def record(
        self,
        batches: Sequence[tuple[StreamKey, Sequence[Sent]]],
        marks: Iterable[tuple[str, int]],
        closes: Iterable[BatchRef] = (),
    ) -> int:
        """Write and fsync one flush's line before anything of it is put; returns its id.

        On failure the file is as it was and nothing changed in memory.
        """
        marks = list(marks)
        closes = list(closes)
        with self._lock:
            rid = self._next_id
            ms = int(time.time() * 1000)
            payload = [[key[0], key[1], list(events)] for key, events in batches]
            line = orjson.dumps(["r", rid, ms, marks, payload, closes]) + b"\n"
            self._append(line, sync=True)
            self._next_id += 1
            self._records[rid] = _Record(ms, [(key, list(events)) for key, events in batches])
            for mark, end in marks:
                self._raise(mark, end)
            for ref in closes:
                self._close(ref)
            if not self._records[rid].batches:
                del self._records[rid]
            self._maybe_compact()
            return rid

    def done(self, ref: BatchRef) -> None:
        """The batch is in its stream (or was given up): no restart needs to check it."""
        with self._lock:
            if not self._close(ref) or self._fd is None:
                return  # closed by stop(): the recovery of the next start checks it
            with contextlib.suppress(OSError):
                # Best effort: a lost line only means one more check after a crash.
                self._append(orjson.dumps(["d", ref[0], ref[1]]) + b"\n", sync=False)
            self._maybe_compact()

    def is_open(self, ref: BatchRef) -> bool:
        # Read without the lock (atomic under the GIL): the event loop must not wait for
        # another thread's fsync.
        record = self._records.get(ref[0])
        return record is not None and record.batches[ref[1]] is not None

    def close(self) -> None:
        with self._lock:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- internals -------------------------------------------------------------------------

    def _append(self, line: bytes, *, sync: bool) -> None:
        assert self._fd is not None, "Journal.open() first"
        try:
            _write_all(self._fd, line)
            if sync:
                os.fsync(self._fd)
        except OSError:
            # A torn line would hide every later line from the next open: take it back.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)

    def _maybe_compact(self) -> None:
        # Open batches given up by the runner stay until a restart: when they alone fill
        # the file, compacting on every line would rewrite them over and over.
        if self._size > max(COMPACT_BYTES, 2 * self._compacted_size):
            with contextlib.suppress(OSError):
                self._compact()

    def _close(self, ref: BatchRef) -> bool:
        record = self._records.get(ref[0])
        if record is None or ref[1] >= len(record.batches) or record.batches[ref[1]] is None:
            return False
        record.batches[ref[1]] = None
        if all(batch is None for batch in record.batches):
            del self._records[ref[0]]
        return True

    def _raise(self, mark: str, end: int) -> None:
        # Re-inserted so the dict's order is recency: the oldest marks are dropped first.
        self.watermarks[mark] = max(end, self.watermarks.pop(mark, -1))
        while len(self.watermarks) > MAX_WATERMARKS:
            del self.watermarks[next(iter(self.watermarks))]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
