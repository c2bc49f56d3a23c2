"""appends.log: the record of every append to the store_dir buffers.

One fsynced line per append: ``[{buffer id: size after}, [[mark, origin end], ...]]``. An
append counts only once its line is on disk, so on open each buffer is cut back to the
largest size a line confirms, and the marks give the watermarks: per ``Chunk.mark``, how far
into its source the store holds the records. The store folds the log into its journal
(compaction) at every open and when the log grows past :data:`COMPACT_BYTES`.

All methods block (file I/O, fsync); the store calls them from worker threads.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

import orjson

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

    def fold(self, confirmed: dict[str, int]) -> None:
        """Apply the log: the largest size each line confirms, the highest mark per key.

        Sizes only grow between compactions (a failed append is rolled back before its line
        is written), so the maximum is right even when old lines survived a crash between a
        compaction's journal write and its truncation of the log.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        for line in raw.split(b"\n"):
            if not line:
                continue
            try:
                sizes, marks = orjson.loads(line)
            except (orjson.JSONDecodeError, ValueError):
                break  # a torn last line: that append was never acknowledged
            for bid, size in sizes.items():
                confirmed[bid] = max(confirmed.get(bid, 0), int(size))
            for mark, end in marks:
                self._raise(mark, int(end))

    def restart(self) -> None:
        """Start an empty log (its content is folded into the journal by the caller first)."""
        self.close()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        os.fsync(self._fd)
        self._size = 0

    def record(self, sizes: dict[str, int], marks: Sequence[tuple[str, int]]) -> None:
        """Write and fsync one append's line; on failure the log is as it was."""
        assert self._fd is not None, "AppendLog.restart() first"
        line = orjson.dumps([sizes, list(marks)]) + b"\n"
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError:
            # A torn line would hide every later line from recovery: take it back.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)
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
