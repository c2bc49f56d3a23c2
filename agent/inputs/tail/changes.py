"""What happens to an open file: truncation, rotation, deletion, and closing it.

Checked on each visit (``fstat`` of the open descriptor; a path lookup on full passes): a
file that shrank starts over at 0 with a new lineage; a file renamed away or deleted keeps
being read to its end, waits out ``Rotate_Wait`` and is closed; a rotated file's checkpoint
row is dropped once everything read from it is acknowledged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

from agent.core.events import Event
from agent.core.options import Settings
from agent.core.plugins import Emit, PluginContext
from agent.inputs.tail.checkpoint import CheckpointStore
from agent.inputs.tail.ranges import RangeTracker
from agent.inputs.tail.reader import TailedFile
from agent.inputs.tail.rotation import find_beside, locate
from agent.inputs.tail.tagging import TagComposer
from agent.inputs.tail.watcher import Watcher


class FileChanges:
    """Mixed into :class:`~agent.inputs.tail.input.TailInput`."""

    settings: Settings
    context: PluginContext
    store: CheckpointStore
    files: dict[tuple[int, int], TailedFile]
    closing: list[TailedFile]
    outstanding: int
    tagger: TagComposer
    _watcher: Watcher | None
    # Provided by the input and by Discovery (annotations, not stubs, so they stay theirs).
    _emit: Callable[[TailedFile, list[Event], Emit], Awaitable[None]]
    _adopt_unseen: Callable[[str, float | None, set[str]], None]

    async def _check(self, f: TailedFile, emit: Emit, renames: bool = True) -> bool:
        """Truncation, rotation, deletion; close a rotated file once read and waited for.
        ``renames``: also look the path up, to see whether the file was renamed away.

        Returns whether the file may have something to read.
        """
        metrics, instance = self.context.metrics, self.context.instance
        try:
            fst = os.fstat(f.fd)
        except OSError:
            return True
        f.size = fst.st_size
        if fst.st_size < f.pos:
            metrics.add(instance, "files_truncated")
            self.context.logger.debug(
                "tail: %s truncated to %d bytes at offset %d; reading it from 0",
                f.path,
                fst.st_size,
                f.pos,
            )
            self._truncated(f)
        if f.rotated_at is None:
            moved = False
            if renames:
                try:
                    st = os.stat(f.path)
                    moved = (st.st_dev, st.st_ino) != (f.dev, f.inode)
                except OSError:
                    moved = True
            if moved or fst.st_nlink == 0:
                f.rotated_at = time.monotonic()
                f.deleted = fst.st_nlink == 0
                metrics.add(instance, "files_rotated")
                new_name = None
                if not f.deleted:
                    new_name = find_beside(f.path, f.dev, f.inode)
                    if new_name is not None:
                        f.row.name = new_name
                    self._adopt_unseen(f.path, float(f.row.created), set())
                self.context.logger.debug(
                    "tail: %s (inode %d) %s at offset %d",
                    f.path,
                    f.inode,
                    "deleted" if f.deleted else f"rotated -> {new_name or '(not found)'}",
                    f.pos,
                )
                f.row.rotated = 1
                self.store.touch(f.row)
                if self._watcher is not None:
                    self._watcher.rescan = True
            return fst.st_size > f.pos or not f.eof
        waited = time.monotonic() - f.rotated_at
        if f.eof and fst.st_size <= f.pos and waited >= self.settings["rotate_wait"]:
            await self._emit(f, f.finish(time.time()), emit)
            self._close(f)
        return fst.st_size > f.pos or not f.eof

    def _truncated(self, f: TailedFile) -> None:
        """copytruncate / shrink: the old content is gone; start the new one at 0."""
        f.decoder.reset()
        f.generation += 1
        self.outstanding -= f.tracker.outstanding
        f.tracker = RangeTracker(0, b"")
        f.seek(0)
        f.row.offset, f.row.fp_length, f.row.fp_digest = 0, 0, b""
        f.row.reset_lineage()
        self.store.touch(f.row)

    def _close(self, f: TailedFile) -> None:
        if f.closed:
            return
        f.closed = True
        os.close(f.fd)
        self.files.pop((f.dev, f.inode), None)
        self.tagger.forget(f.path)
        self.context.metrics.add(self.context.instance, "files_closed")
        self.context.logger.debug(
            "tail: closed %s (inode %d) at offset %d, checkpoint %d",
            f.row.name,
            f.inode,
            f.pos,
            f.tracker.committed,
        )
        if f.rotated_at is not None:
            if f.tracker.idle:
                self._forget(f)
            else:
                self.closing.append(f)

    def _forget(self, f: TailedFile) -> None:
        """A rotated file is fully delivered: drop its row (kept if delivery failed, so the
        next start retries it; kept while the file still exists, so a rescan that matches
        it again resumes at its end instead of re-reading it)."""
        if f in self.closing:
            self.closing.remove(f)
        if f.tracker.blocked:
            return
        if f.deleted or locate(f.row.name, f.inode) is None:
            self.store.delete(f.row)
