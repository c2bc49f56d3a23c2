"""appends.log: the record of every change to the store_dir since the journal was written.

One fsynced line per change: ``[{buffer id: size after}, [[mark, origin end], ...]]`` for an
append, optionally followed by ``{buffer id: journal entry, or null once removed}`` and the
next ``$INDEX``. A buffer's entry (its key) is in the line of its first append, so creating a
buffer costs no journal rewrite, and a buffer whose file could not be written is never
recorded; upload steps and removals are lines too. An append counts only once its line is on
disk, so on open each buffer is cut back to the largest size a line confirms, and the marks
give the watermarks: per ``Chunk.mark``, how far into its source the store holds the records.
A torn last line (a crash mid-write) is ignored: that change was never acknowledged. The
store folds the log into its journal (compaction) at every open and when the log grows past
:data:`COMPACT_BYTES`.

All methods block (file I/O, fsync); the store calls them from worker threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from logtide.agent.core.durable import append_whole, open_for_append

NAME = "appends.log"
COMPACT_BYTES = 4 * 1024 * 1024
# Watermarks of sources not seen for this many newer marks are forgotten (bounded memory);
# a source that old has long been checkpointed past by its input.
MAX_WATERMARKS = 100_000


class AppendLog:
    """The log file and the watermarks it implies."""

    def __init__(self, root: Path, watermarks: dict[str, int]) -> None:
        self.path = root / NAME
        self.watermarks = dict(watermarks)
        self._fd: int | None = None
        self._size = 0

    @property
    def wants_compaction(self) -> bool:
        return self._size > COMPACT_BYTES

    def fold(self, confirmed: dict[str, int], entries: dict[str, Any], next_index: int) -> int:
        """Apply the log to the journal's ``entries`` and ``confirmed`` sizes (in place): the
        latest entry per buffer, the largest size each line confirms, the highest mark per
        key; returns the next ``$INDEX``.

        Sizes only grow between compactions (a failed append is rolled back before its line
        is written), and every entry change sets or removes a whole entry, so replaying the
        log again on top of the journal it was folded into changes nothing: a crash between a
        compaction's journal write and its truncation of the log is harmless.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return next_index
        for line in raw.split(b"\n"):
            self._size += len(line) + 1
            if not line:
                continue
            try:
                sizes, marks, *rest = orjson.loads(line)
            except (orjson.JSONDecodeError, ValueError, TypeError):
                self._size -= len(line) + 1
                break  # a torn last line: that change was never acknowledged
            for bid, entry in (rest[0] if rest else {}).items():
                if entry is None:
                    entries.pop(bid, None)
                    confirmed.pop(bid, None)
                else:
                    entries[bid] = entry
            if len(rest) > 1:
                next_index = max(next_index, int(rest[1]))
            for bid, size in sizes.items():
                confirmed[bid] = max(confirmed.get(bid, 0), int(size))
            for mark, end in marks:
                self._raise(mark, int(end))
        return next_index

    def resume(self) -> None:
        """Append to the log as :meth:`fold` read it, the bytes after its last whole line
        cut off (later lines would be hidden behind them): when the journal cannot be
        rewritten (a full disk), the log is kept instead of started afresh."""
        self.close()
        self._fd = open_for_append(self.path, self._size)
        self._size = os.fstat(self._fd).st_size

    def restart(self) -> None:
        """Start an empty log (its content is folded into the journal by the caller first)."""
        self.close()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        os.fsync(self._fd)
        self._size = 0

    def record(
        self,
        sizes: dict[str, int],
        marks: Sequence[tuple[str, int]] = (),
        entries: dict[str, Any] | None = None,
        next_index: int | None = None,
    ) -> None:
        """Write and fsync one change's line; on failure the log is as it was."""
        assert self._fd is not None, "AppendLog.restart() first"
        fields: list[Any] = [sizes, list(marks)]
        if entries or next_index is not None:
            fields.append(entries or {})
            if next_index is not None:
                fields.append(next_index)
        # A torn line would hide every later line from recovery: append_whole takes it back.
        self._size = append_whole(self._fd, self._size, (orjson.dumps(fields) + b"\n",))
        for mark, end in marks:
            self._raise(mark, end)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _raise(self, mark: str, end: int) -> None:
        # Re-inserted so the dict's order is recency: the oldest marks are dropped first.
        self.watermarks[mark] = max(end, self.watermarks.pop(mark, -1))
        while len(self.watermarks) > MAX_WATERMARKS:
            del self.watermarks[next(iter(self.watermarks))]
