"""What happens to an open file: truncation, rotation, deletion, and closing it.

Checked on each visit (``fstat`` of the open descriptor; a path lookup on full passes): a
file that shrank is read on from a copy of it beside it (``copytruncate``: see
:mod:`~logtide.agent.inputs.tail.copies`), else starts over at 0 with a new lineage; a file
renamed away or deleted keeps being read to its end, waits out ``Rotate_Wait`` and is
closed; a rotated file's checkpoint row is dropped once everything read from it is
acknowledged.
"""

from __future__ import annotations

import os
import time

from logtide.agent.core.plugins import Emit, PluginContext
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore
from logtide.agent.inputs.tail.checkpointer import Checkpointer
from logtide.agent.inputs.tail.copies import Copy, find_copy
from logtide.agent.inputs.tail.discovery import Discovery
from logtide.agent.inputs.tail.file_table import FileTable
from logtide.agent.inputs.tail.pump import Pump
from logtide.agent.inputs.tail.reader import TailedFile
from logtide.agent.inputs.tail.siblings import find_beside
from logtide.agent.inputs.tail.tagging import TagComposer
from logtide.agent.inputs.tail.watcher import Watcher


def _cut(f: TailedFile, size: int) -> bool:
    """Whether ``f``'s content was cut: it is shorter than what was read or, not read past
    its first bytes yet (held back by Mem_Buf_Limit, or just opened), it no longer starts
    with them. Then its size cannot tell: the new content may be longer already."""
    if size < f.pos:
        return True
    row = f.row
    return f.rotated_at is None and f.pos < row.head_length and not row.head_matches(f.fd)


class FileChanges:
    """Notices truncation, rotation and deletion of open files, and closes them."""

    def __init__(
        self,
        rotate_wait: float,
        table: FileTable,
        store: CheckpointStore,
        checkpointer: Checkpointer,
        discovery: Discovery,
        pump: Pump,
        tagger: TagComposer,
        context: PluginContext,
    ) -> None:
        self.rotate_wait = rotate_wait
        self.table = table
        self.store = store
        self.checkpointer = checkpointer
        self.discovery = discovery
        self.pump = pump
        self.tagger = tagger
        self.context = context
        # Set once notifications run: a rotation asks it for a rescan.
        self.watcher: Watcher | None = None

    async def check(self, f: TailedFile, emit: Emit, renames: bool = True) -> bool:
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
        if f.row.take_head(f.fd, fst.st_size):
            self.store.touch(f.row)
        if _cut(f, fst.st_size):
            metrics.add(instance, "files_truncated")
            copy = None
            if f.rotated_at is None:
                scratch = self.discovery.gzips.scratch
                copy = await find_copy(f, self.table, scratch, self.context.logger)
            if copy is not None:
                self._read_on_from(f, copy)
                return True
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
                self._rotated(f, deleted=fst.st_nlink == 0)
            return fst.st_size > f.pos or not f.eof
        waited = time.monotonic() - f.rotated_at
        if f.eof and fst.st_size <= f.pos and waited >= self.rotate_wait:
            await self.pump.emit(f, f.finish(time.time()), emit)
            self.close(f)
        return fst.st_size > f.pos or not f.eof

    def _truncated(self, f: TailedFile) -> None:
        """copytruncate / shrink: the old content is gone; start the new one at 0."""
        f.decoder.reset()
        f.generation += 1
        self.checkpointer.start_over(f)
        f.seek(0)

    def _read_on_from(self, f: TailedFile, copy: Copy) -> None:
        """``f`` was copied, then emptied (``copytruncate``): it is read on from ``copy`` at
        the same offset, as a rotated file. Its row, range tracker, lineage and decoder go
        with it, so acknowledgements in flight still move its checkpoint and a restart
        reads the copy from there; the emptied file is opened as a new one."""
        self.table.remove(f)
        os.close(f.fd)
        f.fd, f.dev, f.inode, f.size = copy.fd, copy.st.st_dev, copy.st.st_ino, copy.st.st_size
        os.lseek(f.fd, f.pos, os.SEEK_SET)
        f.eof = False
        f.rotated_at = time.monotonic()
        row = f.row
        row.rotated = 1
        if copy.compressed:
            # The decompressed copy is unlinked: its row is dropped once delivered, and
            # found by its head in the ``.gz`` at the next start (inode 0 matches no file).
            f.deleted = True
            row.inode = 0
        else:
            row.inode, row.name = copy.st.st_ino, copy.name
        self.store.touch(row)
        self.table.add(f)
        self.context.metrics.add(self.context.instance, "files_copytruncated")
        self.context.logger.info(
            "tail: %s was copied to %s and emptied (copytruncate); reading the rest of it "
            "from the copy at offset %d",
            f.path,
            copy.name,
            f.pos,
        )
        self.discovery.open(f.path, from_head=True)
        if self.watcher is not None:
            self.watcher.rescan = True

    def _rotated(self, f: TailedFile, *, deleted: bool) -> None:
        """``f`` was renamed away or deleted: it is read to its end from here on, and its
        path may hold a new file already (so may rotated names we never saw)."""
        f.rotated_at = time.monotonic()
        f.deleted = deleted
        self.context.metrics.add(self.context.instance, "files_rotated")
        new_name = None
        if not deleted:
            new_name = find_beside(f.path, f.dev, f.inode)
            if new_name is not None:
                f.row.name = new_name
            self.discovery.adopt_unseen(f.path, float(f.row.created), set())
        self.context.logger.debug(
            "tail: %s (inode %d) %s at offset %d",
            f.path,
            f.inode,
            "deleted" if deleted else f"rotated -> {new_name or '(not found)'}",
            f.pos,
        )
        f.row.rotated = 1
        self.store.touch(f.row)
        if self.watcher is not None:
            self.watcher.rescan = True

    def close(self, f: TailedFile) -> None:
        if f.closed:
            return
        f.closed = True
        os.close(f.fd)
        self.table.remove(f)
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
            self.checkpointer.closed_after_rotation(f)
