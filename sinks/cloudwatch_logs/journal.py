"""The cloudwatch_logs delivery journal: what was about to be put, so a crash repeats nothing.

Before a flush's first PutLogEvents, one fsynced line records its batches (group, stream,
and the events as they will be sent) and its marks (``(Chunk.mark, origin end)`` pairs).
From then on the journal answers for those events: the marks become watermarks (the engine
skips the chunks when a restart reads them again), and a batch not yet confirmed is checked
against the stream and, where missing, put again by the recovery after a restart. A
confirmed batch gets a ``done`` line (not fsynced: losing it costs one GetLogEvents check,
never a duplicate).

Lines (JSON arrays)::

    ["w", {mark: end}]                                   watermarks (first line after compaction)
    ["r", id, ms, [[mark, end]], [[group, stream, events] | null], [[id, index]]]
    ["d", id, index]                                     batch confirmed (or given up)

``events`` is the batch's ``logEvents`` array exactly as the request carries it
(``[{"timestamp": ts, "message": msg}]``: the output encodes a batch once, for both); lines
written before that hold ``[ts, msg]`` pairs, which are read as well.
The last list of an ``r`` line names batches of earlier records whose events the runner
handed back with an error and now sends again under this record: they are closed by it.
A torn last line (a crash in the middle of a write) is ignored: its flush never put
anything. The file is rewritten with only what is still open (compaction) on every open
and whenever it grows past :data:`COMPACT_BYTES`; an open record's line is copied as it
stands, followed by ``d`` lines for its batches already closed. In memory the journal
keeps only where each open record's line is and which of its batches are open; the events
stay on disk.

The journal is one process's: :meth:`Journal.open` holds ``<journal>.lock`` (``flock``) until
:meth:`Journal.close`. A second agent on the same state folder (a DaemonSet rolled with
``maxSurge``, an agent started by hand) would otherwise compact the file under the first
one's appends, which then go to an unlinked file, and put the first one's open batches again.
:meth:`Journal.open` raises :class:`~logtide.agent.core.file_lock.LockHeld` then; the output
waits for the first one to exit.

All methods block (file I/O, fsync); the output calls them from worker threads.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from logtide.agent.core.durable import append_whole, open_for_append, write_atomic
from logtide.agent.core.file_lock import LockHeld, try_lock

# A compaction copies the open records' lines (the flush in flight: up to a few MiB), so
# it must be rare against what is written between two (at 4 MiB it was ~a third of the
# journal thread's CPU in bench scenario eks-cw).
COMPACT_BYTES = 32 * 1024 * 1024
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
    """An ``r`` line with batches still open: where the line is in the file and which of its
    batches are open. The events stay on disk; a compaction reads them back."""

    ms: int
    open: list[bool]
    offset: int
    length: int


@dataclass(slots=True)
class Prepared:
    """One flush's ``r`` line, encoded, with what writing it changes."""

    rid: int
    ms: int
    pieces: list[bytes]
    batches: int
    marks: list[tuple[str, int]]
    closes: list[BatchRef]


# Batches as they are in an ``r`` line: [group, stream, [[ts, msg], ...]] or null.
RawBatches = list[Any]
_NL = orjson.OPT_APPEND_NEWLINE


class Journal:
    """One output's journal file, its open batches and the watermarks it implies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.watermarks: dict[str, int] = {}
        self._records: dict[int, _Record] = {}
        self._next_id = 1
        self._ids = itertools.count(1)
        self._fd: int | None = None
        self._held: int | None = None
        self._size = 0
        self._compacted_size = 0
        self._lock = threading.Lock()
        self.compaction_error: OSError | None = None

    # -- open, fold, compact ---------------------------------------------------------------

    def open(self) -> list[OpenBatch]:
        """Read the file (if any), compact it, and return the batches a restart must check.

        A compaction that fails (a full disk: it writes a whole new file) leaves the file in
        use as it is, cut back to its last whole line, and its error in
        :attr:`compaction_error`: a restart on a full disk must not stop the agent."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            held = try_lock(self.path.with_name(self.path.name + ".lock"), 0o600)
            if held is None:
                raise LockHeld("in use by another logtide process")
            self._held = held
            try:
                return self._load()
            except BaseException:
                self._held = None
                os.close(held)
                raise

    def _load(self) -> list[OpenBatch]:
        raw = self._fold()
        self._ids = itertools.count(self._next_id)
        try:
            self._compact()
        except OSError as exc:
            self._resume()
            self.compaction_error = exc
        return [
            OpenBatch((rid, index), (str(b[0]), str(b[1])), sent_events(b[2]), record.ms)
            for rid, record in self._records.items()
            for index, b in enumerate(raw[rid])
            if record.open[index]
        ]

    def _fold(self) -> dict[int, RawBatches]:
        """Apply the file line by line; returns the batches of the records still open. A
        record's events are dropped as soon as it closes: the file can hold
        :data:`COMPACT_BYTES` of them, which must not all be in memory at once."""
        batches: dict[int, RawBatches] = {}
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return batches
        with handle:
            offset = 0
            for line in handle:
                length = len(line) if line.endswith(b"\n") else len(line) + 1
                text = line.rstrip(b"\n")
                if text:
                    try:
                        self._apply(orjson.loads(text), offset, length, batches)
                    except (orjson.JSONDecodeError, ValueError, TypeError, IndexError, KeyError):
                        break  # a torn last line: that flush never put anything
                offset += length
        self._size = offset
        return {rid: batches[rid] for rid in self._records}

    def _apply(
        self, entry: list[Any], offset: int, length: int, batches: dict[int, RawBatches]
    ) -> None:
        kind = entry[0]
        if kind == "w":
            for mark, end in entry[1].items():
                self._raise(str(mark), int(end))
        elif kind == "r":
            rid, ms, marks, raw, closes = entry[1:6]
            rid = int(rid)
            if any(batch is not None for batch in raw):
                self._records[rid] = _Record(
                    int(ms), [batch is not None for batch in raw], offset, length
                )
                batches[rid] = raw
            self._next_id = max(self._next_id, rid + 1)
            for mark, end in marks:
                self._raise(str(mark), int(end))
            for ref in closes:
                self._close_folded((int(ref[0]), int(ref[1])), batches)
        elif kind == "d":
            self._close_folded((int(entry[1]), int(entry[2])), batches)
        else:
            raise ValueError(kind)

    def _close_folded(self, ref: BatchRef, batches: dict[int, RawBatches]) -> None:
        if self._close(ref) and ref[0] not in self._records:
            del batches[ref[0]]

    def _compact(self) -> None:
        """Rewrite the file as the watermarks plus the open records (atomically); on failure
        the old file stays in use. Each open record's line is copied from the current file
        as it stands (its marks and closes were applied already; applying them again on the
        next open changes nothing), then a ``d`` line for each of its batches closed since."""
        lines = [orjson.dumps(["w", self.watermarks], option=_NL)]
        places: list[tuple[_Record, int, int]] = []
        size = len(lines[0])
        with contextlib.ExitStack() as stack:
            current = stack.enter_context(self.path.open("rb")) if self._records else None
            for rid, record in self._records.items():
                assert current is not None
                current.seek(record.offset)
                line = current.read(record.length)
                if not line.endswith(b"\n"):
                    line += b"\n"  # the file's last line, its newline never written
                places.append((record, size, len(line)))
                lines.append(line)
                size += len(line)
                for index, is_open in enumerate(record.open):
                    if not is_open:
                        done = orjson.dumps(["d", rid, index], option=_NL)
                        lines.append(done)
                        size += len(done)
        write_atomic(self.path, b"".join(lines))
        self._size = self._compacted_size = size
        for record, offset, length in places:
            record.offset, record.length = offset, length
        self._close_fd()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def _resume(self) -> None:
        """Append to the file as :meth:`_fold` read it."""
        fd = open_for_append(self.path, self._size)
        self._close_fd()
        self._fd = fd
        self._size = os.fstat(fd).st_size
        self._compacted_size = 0

    # -- while running -----------------------------------------------------------------------

    def prepare(
        self,
        batches: Sequence[tuple[StreamKey, bytes]],
        marks: Iterable[tuple[str, int]],
        closes: Iterable[BatchRef] = (),
    ) -> Prepared:
        """One flush's line around its batches' encoded ``logEvents`` arrays (no I/O, no
        copy of the events: the line is written piece by piece)."""
        rid = next(self._ids)
        ms = int(time.time() * 1000)
        marks = list(marks)
        closes = list(closes)
        pieces: list[bytes] = [b'["r",%d,%d,%b,[' % (rid, ms, orjson.dumps(marks))]
        for index, (key, events) in enumerate(batches):
            pieces.append(b"%b[%b," % (b"," if index else b"", orjson.dumps(key)[1:-1]))
            pieces.extend((events, b"]"))
        pieces.append(b"],%b]\n" % orjson.dumps(closes))
        return Prepared(rid, ms, pieces, len(batches), marks, closes)

    def write(self, prepared: Prepared) -> None:
        """Write and fsync a prepared line before anything of its flush is put.

        On failure the file is as it was and nothing changed in memory.
        """
        with self._lock:
            offset = self._size
            self._append(prepared.pieces, sync=True)
            if prepared.batches:
                self._records[prepared.rid] = _Record(
                    prepared.ms, [True] * prepared.batches, offset, self._size - offset
                )
            for mark, end in prepared.marks:
                self._raise(mark, end)
            for ref in prepared.closes:
                self._close(ref)
            self._maybe_compact()

    def done(self, ref: BatchRef) -> None:
        """The batch is in its stream (or was given up): no restart needs to check it."""
        with self._lock:
            if not self._close(ref) or self._fd is None:
                return  # closed by stop(): the recovery of the next start checks it
            with contextlib.suppress(OSError):
                # Best effort: a lost line only means one more check after a crash.
                self._append([orjson.dumps(["d", ref[0], ref[1]], option=_NL)], sync=False)
            self._maybe_compact()

    def is_open(self, ref: BatchRef) -> bool:
        # Read without the lock (atomic under the GIL): the event loop must not wait for
        # another thread's fsync.
        record = self._records.get(ref[0])
        return record is not None and record.open[ref[1]]

    def close(self) -> None:
        with self._lock:
            self._close_fd()
            if self._held is not None:
                os.close(self._held)
                self._held = None

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- internals -------------------------------------------------------------------------

    def _append(self, pieces: list[bytes], *, sync: bool) -> None:
        assert self._fd is not None, "Journal.open() first"
        # A torn line would hide every later line from the next open: append_whole takes
        # it back.
        self._size = append_whole(self._fd, self._size, pieces, sync=sync)

    def _maybe_compact(self) -> None:
        # Open batches given up by the runner stay until a restart: when they alone fill
        # the file, compacting on every line would rewrite them over and over.
        if self._size > max(COMPACT_BYTES, 2 * self._compacted_size):
            with contextlib.suppress(OSError):
                self._compact()

    def _close(self, ref: BatchRef) -> bool:
        record = self._records.get(ref[0])
        if record is None or ref[1] >= len(record.open) or not record.open[ref[1]]:
            return False
        record.open[ref[1]] = False
        if not any(record.open):
            del self._records[ref[0]]
        return True

    def _raise(self, mark: str, end: int) -> None:
        # Re-inserted so the dict's order is recency: the oldest marks are dropped first.
        self.watermarks[mark] = max(end, self.watermarks.pop(mark, -1))
        while len(self.watermarks) > MAX_WATERMARKS:
            del self.watermarks[next(iter(self.watermarks))]


def sent_events(events: list[Any]) -> list[Sent]:
    """A decoded ``logEvents`` array (or an older journal's ``[ts, msg]`` pairs) as
    ``(timestamp, message)`` pairs."""
    return [
        (int(e["timestamp"]), str(e["message"])) if isinstance(e, dict) else (int(e[0]), str(e[1]))
        for e in events
    ]
