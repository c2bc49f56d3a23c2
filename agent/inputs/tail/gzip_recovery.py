"""At start, rotated generations only a ``.gz`` holds: the unread rest of a row's file
(compressed while the agent was down), and whole generations born and compressed while it
was down. :mod:`~logtide.agent.inputs.tail.compressed` reads the gzips; this decides which
to read, and from where, and hands each decompressed copy to the table.

A generation born while the agent was down has no row. Its ``.gz`` is told from one the
agent read by order: kubelet (and logrotate) compress a path's generations in turn, so the
``.gz`` compressed after the newest one whose content the agent knows (by its first bytes:
a row's head, or a content read to its end, ``CheckpointStore.done``, of that path's own
files) and whose own content it does not know were born after it stopped. Without a known
one (a first start, a Fluent Bit DB) there is no telling, and none is read.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from tempfile import gettempdir

from logtide.agent.core.plugins import PluginContext
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore
from logtide.agent.inputs.tail.compressed import (
    SUFFIX,
    decompressed_copy,
    find_compressed,
    first_bytes,
    read_to,
)
from logtide.agent.inputs.tail.file_table import FileTable
from logtide.agent.inputs.tail.rows import (
    FINGERPRINT_BYTES,
    HEAD_MAX_BYTES,
    Head,
    Row,
    digest,
    head_of,
)
from logtide.agent.inputs.tail.siblings import generations_of

# (name, descriptor of the copy, its stat, row, offset, path whose tag it carries): the copy
# tracked as a rotated, unlinked file.
TrackCopy = Callable[[str, int, os.stat_result, Row, int, str], object]


class GzipRecovery:
    """The ``.gz`` side of :class:`~logtide.agent.inputs.tail.discovery.Discovery`'s start."""

    def __init__(
        self,
        store: CheckpointStore,
        table: FileTable,
        context: PluginContext,
        track_copy: TrackCopy,
    ) -> None:
        self.store = store
        self.table = table
        self.context = context
        self.track_copy = track_copy
        # Copies go beside the DB, the agent's own writable folder. Without one there is
        # nothing to recover at start, but a copytruncate while running may still leave its
        # copy gzipped: that one goes to the system's temporary folder.
        db = store.path
        self.scratch = (
            os.path.dirname(os.path.abspath(db)) if db and db != ":memory:" else gettempdir()
        )

    def went_compressed(self, row: Row) -> bool:
        """Whether the file of ``row``, whose inode a new file has now, lives on in a ``.gz``
        (compressed and removed while we were down, its inode reused at once). The row goes
        with it (inode 0 matches no file) and :meth:`read_rest` reads it from there; the
        new file gets a row of its own."""
        if find_compressed(row, ()) is None:
            return False
        row.inode = 0
        self.store.touch(row)
        return True

    def read_rest(self, row: Row, tag_as: str) -> bool:
        """Read the rest of ``row``'s file from the ``.gz`` it was compressed into, if there
        is one; whether the row is still needed (being read, or to try at the next start)."""
        compressed = find_compressed(row, {f.path for f in self.table})
        if compressed is None or read_to(compressed, row.offset):
            return False
        fd = self._copy(compressed, max(0, row.offset - FINGERPRINT_BYTES), self.scratch)
        if fd is None:
            return True
        st = os.fstat(fd)
        if not row.matches(fd, st.st_size):
            os.close(fd)
            self.context.logger.warning(
                "tail: %s does not hold what was read of %s up to offset %d; not read",
                compressed,
                row.name,
                row.offset,
            )
            return False
        # Its inode may be another file's by now: the row is found by its name's gzip only.
        row.inode = 0
        self.track_copy(compressed, fd, st, row, row.offset, tag_as)
        self.context.logger.info(
            "tail: %s was compressed into %s while the agent was down; reading the rest of "
            "it from offset %d",
            row.name,
            compressed,
            row.offset,
        )
        return True

    def read_born_unseen(self, path: str, heads: set[Head]) -> None:
        """Read from their head the ``.gz`` generations of ``path`` born and compressed
        while we were down (kubelet rotated the container's log twice or more, or once just
        after the agent opened the new log empty): those compressed after the newest one
        whose content ``heads`` knows, whose own content it does not know."""
        if not heads:  # nothing known to tell the generations born while down by
            return
        generations = []
        for candidate in generations_of(path, SUFFIX):
            with contextlib.suppress(OSError):
                generations.append((os.stat(candidate).st_mtime_ns, candidate))
        generations.sort()
        # A head up to 256 bytes may have been taken while its content was shorter (or, by
        # an older logtide, of a longer first line): it is matched by prefix. A longer one
        # is a whole first line, which the candidate's own head is then too.
        lengths = sorted({length for length, _ in heads if length <= FINGERPRINT_BYTES})
        unknown: list[str] = []
        anchored = False
        for _, candidate in generations:
            head = first_bytes(candidate, FINGERPRINT_BYTES)
            known = False
            if len(head) == FINGERPRINT_BYTES and b"\n" not in head:
                head = first_bytes(candidate, HEAD_MAX_BYTES)
                whole = head_of(head)
                known = (len(whole), digest(whole)) in heads
            if known or any((n, digest(head[:n])) in heads for n in lengths if n <= len(head)):
                anchored = True
                unknown.clear()
            elif head:
                unknown.append(candidate)
        if not anchored:
            return
        taken = {f.path for f in self.table}
        for candidate in unknown:
            if candidate in taken:
                continue
            fd = self._copy(candidate, 0, self.scratch)
            if fd is None:
                continue
            row = self.store.create(candidate.removesuffix(SUFFIX), 0, 0)
            self.track_copy(candidate, fd, os.fstat(fd), row, 0, path)
            self.context.logger.info(
                "tail: %s was rotated and compressed while the agent was down; reading it "
                "from its head",
                candidate,
            )

    def _copy(self, compressed: str, keep_from: int, scratch: str) -> int | None:
        """A descriptor of ``compressed`` decompressed into an unlinked file in ``scratch``,
        bytes before ``keep_from`` left out (:func:`decompressed_copy`); None, with a
        warning, when it cannot be written now (the next start tries again)."""
        try:
            fd, damage = decompressed_copy(compressed, scratch, keep_from)
        except OSError as exc:
            self.context.logger.warning(
                "tail: cannot decompress %s to read it: %s; trying again at the next start",
                compressed,
                exc.strerror or exc,
            )
            return None
        if damage is not None:
            self.context.logger.warning(
                "tail: %s is damaged after %d bytes (%s); reading what comes before",
                compressed,
                os.fstat(fd).st_size,
                damage,
            )
        return fd
