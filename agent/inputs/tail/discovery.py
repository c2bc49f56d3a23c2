"""Opening files: glob scans, checkpoint lookup, and recovery of rotated generations.

Files are the ``Path`` globs' matches minus ``Exclude_Path``, left out when not modified
within ``Ignore_Older``; the globs are matched again every ``Refresh_Interval`` (or when the
watcher saw entries appear or vanish). A file is opened once per (device, inode). Its start
offset comes from its checkpoint row when the fingerprint still matches, else from the head
(``Read_from_Head``, files found after start, and new files at a path we followed before) or
the end. At start, rows no live file claims are looked for beside their path, and rotated
generations we never saw (born and rotated while the agent was down) are adopted from their
head, from their ``.gz`` when they were compressed too.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from logtide.agent.core.descriptors import open_file_limit
from logtide.agent.core.plugins import PluginContext
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore
from logtide.agent.inputs.tail.copies import copy_of_open, open_copy
from logtide.agent.inputs.tail.decoder_factory import DecoderFactory
from logtide.agent.inputs.tail.file_table import FileTable
from logtide.agent.inputs.tail.gzip_recovery import GzipRecovery
from logtide.agent.inputs.tail.ranges import RangeTracker
from logtide.agent.inputs.tail.reader import LineRules, TailedFile
from logtide.agent.inputs.tail.rows import Head, Row
from logtide.agent.inputs.tail.siblings import (
    Family,
    FamilyIndex,
    Followed,
    generations_last,
    locate,
    siblings,
)
from logtide.agent.inputs.tail.tagging import TagComposer, path_text
from logtide.agent.inputs.tail.watcher import Watcher

# Descriptors a low open-file limit keeps for the rest of the agent (output connections,
# the HTTP server, DB and journal files): with none left, outputs could not connect and
# nothing read would ever be delivered.
FD_RESERVE = 256


def followed_limit() -> int:
    """How many files the tail holds open at most: the soft open-file limit less a reserve
    (a quarter of it, :data:`FD_RESERVE` at most)."""
    limit = open_file_limit()
    if limit is None:
        return sys.maxsize
    return limit - min(FD_RESERVE, limit // 4)


def _holds(row: Row, fd: int, size: int) -> bool:
    """Whether the open file ``fd`` is the content ``row`` was read from: the bytes before
    its offset, or with nothing acknowledged yet, its first bytes."""
    if not row.matches(fd, size):
        return False
    return row.offset > 0 or row.head_length == 0 or row.head_matches(fd)


def _still_holds(path: str, row: Row) -> bool:
    """:func:`_holds` for a file not open yet (False when it cannot be read): a row found
    by inode may be of a file since removed, whose inode this one reuses."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        return _holds(row, fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def expand(patterns: Iterable[str], excludes: Iterable[str]) -> list[str]:
    """Regular files (following symlinks) matching any pattern and no exclude, sorted."""
    exclude = [pattern for pattern in excludes if pattern]
    found: set[str] = set()
    for pattern in patterns:
        for path in glob.glob(pattern, recursive="**" in pattern):
            if any(
                fnmatch.fnmatch(path, ex) or fnmatch.fnmatch(os.path.basename(path), ex)
                for ex in exclude
            ):
                continue
            try:
                if os.path.isfile(path):
                    found.add(path)
            except OSError:
                continue
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which files the input follows, and where it starts reading them."""

    paths: Sequence[str]
    excludes: Sequence[str]
    ignore_older: float
    from_head: bool
    # The run reads to the end and stops: unreadable files are reported when it ends.
    to_end: bool


class Discovery:
    """Finds matching files and opens them into the :class:`FileTable`."""

    def __init__(
        self,
        selection: Selection,
        table: FileTable,
        store: CheckpointStore,
        tagger: TagComposer,
        rules: LineRules,
        decoders: DecoderFactory,
        context: PluginContext,
    ) -> None:
        self.selection = selection
        self.table = table
        self.store = store
        self.tagger = tagger
        self.rules = rules
        self.decoders = decoders
        self.context = context
        # --once/Exit_On_Eof: files that matched but could not be opened (path -> reason)
        self.unreadable: dict[str, str] = {}
        # Set once notifications run: the directory of every file opened is watched.
        self.watcher: Watcher | None = None
        # A run to the end opens every file at its start and names those it could not open
        # when it ends (exit 1): no files wait there.
        self._limit = sys.maxsize if selection.to_end else followed_limit()
        self._waiting_told = 0
        self.gzips = GzipRecovery(store, table, context, self._track_copy)

    def start(self, resumed: bool) -> None:
        """The first scan: open what matches, adopt rotated generations we never saw, and
        read what is left of files rotated while we were down."""
        known = list(self.store.rows.values())
        paths = self._scan(initial=True, resumed=resumed)
        matched = set(paths)
        for path in paths:
            self.adopt_unseen(path, self._family_since(path, known), matched)
        followed = Followed(paths)
        known_heads, anywhere = self._known_heads(known)
        self._recover_rotated(followed)
        for path in paths:
            self.gzips.read_born_unseen(path, set(known_heads.of(path)) | anywhere)

    def _known_heads(self, known: list[Row]) -> tuple[FamilyIndex[Head], set[Head]]:
        """The contents the agent knows, by their file's name, and those known by no name
        (kept by an older logtide): two paths' files may well begin alike (replicas of one
        app, ``syslog`` and ``messages``), and one path's must not stand for another's."""
        index: FamilyIndex[Head] = FamilyIndex()
        anywhere: set[Head] = set()
        for row in known:
            if row.head_length:
                index.add(row.name, (row.head_length, row.head_digest))
        for name, length, head_digest in self.store.done:
            if name is None:
                anywhere.add((length, head_digest))
            else:
                index.add(name, (length, head_digest))
        return index, anywhere

    def rescan(self) -> None:
        """Open files that match now and were not open yet (read from their head)."""
        self._scan(initial=False, resumed=False)

    def open(
        self, path: str, *, from_head: bool, rotated: bool = False, tag_as: str | None = None
    ) -> TailedFile | None:
        """Open ``path`` into the table at its checkpoint (or its head, or its end).
        ``tag_as``: the path whose tag (and ``Path_Key``) its lines carry, for a rotated
        generation of a path the globs match (its lines keep the tag they had before the
        rotation)."""
        log = self.context.logger
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None  # gone since the scan: nothing of it left to read
        except OSError as exc:
            if self.selection.to_end:
                # reported once, with every other such file, when the run ends (exit 1)
                self.unreadable[path] = exc.strerror or str(exc)
            else:
                log.warning("tail: cannot open %s: %s", path, exc)
            return None
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) in self.table:
            os.close(fd)
            return None
        row = self.store.find(st.st_ino, path)
        if (
            row is not None
            and not _holds(row, fd, st.st_size)
            and (self._went_beside(row, path) or self.gzips.went_compressed(row))
        ):
            row = None
        if row is not None and row.matches(fd, st.st_size):
            offset = row.offset
            if offset == 0 and not row.head_matches(fd):
                # Nothing acknowledged, and the file may not be what was read before: it is
                # a new content as far as outputs' watermarks are concerned.
                row.reset_lineage()
        else:
            if row is not None:
                self.context.metrics.add(self.context.instance, "checkpoint_mismatch")
                row.offset, row.fp_length, row.fp_digest = 0, 0, b""
                row.reset_lineage()
            offset = 0 if from_head else st.st_size
            if row is None:
                row = self.store.create(path, st.st_ino, offset)
            else:
                row.offset = offset
        if not rotated:
            row.name = path
        return self._track(path, fd, st, row, offset, rotated=rotated, tag_as=tag_as)

    def _went_beside(self, row: Row, path: str) -> bool:
        """Whether the content of ``row``, which its file no longer holds, lives on in a
        copy beside it (logrotate's ``copytruncate`` while we were down: the file was copied,
        then emptied in place): the copy starts with the row's first bytes and holds the
        bytes before its checkpoint. The row moves to the copy, which
        :meth:`_recover_rotated` reads from the checkpoint under the row's lineage (read
        from its head, what was delivered would go out again), and ``path`` gets a row of
        its own."""
        if row.offset == 0:
            return False
        copy = open_copy(path, row, self.table, row.matches)
        if copy is None:
            return False
        os.close(copy.fd)
        row.inode, row.name = copy.st.st_ino, copy.name
        self.store.touch(row)
        return True

    def _track(
        self,
        path: str,
        fd: int,
        st: os.stat_result,
        row: Row,
        offset: int,
        *,
        rotated: bool,
        tag_as: str | None,
    ) -> TailedFile:
        """The open file ``fd`` into the table, read from ``offset`` under ``row``."""
        row.take_head(fd, st.st_size)
        self.store.touch(row)
        f = TailedFile(
            path=path,
            fd=fd,
            dev=st.st_dev,
            inode=st.st_ino,
            tag=self.tagger(tag_as or path),
            decoder=self.decoders.new(path_text(tag_as or path)),
            rules=self.rules,
            row=row,
            real=os.path.realpath(path),
            tracker=RangeTracker(offset, b""),
        )
        f.seek(offset)
        if rotated:
            f.rotated_at = time.monotonic()
        self.table.add(f)
        self.context.metrics.add(self.context.instance, "files_opened")
        self.context.logger.debug(
            "tail: opened %s (inode %d) at offset %d%s",
            path,
            st.st_ino,
            offset,
            " (rotated)" if rotated else "",
        )
        if self.watcher is not None:
            self.watcher.watch(os.path.dirname(f.real))
        return f

    def _track_copy(
        self, path: str, fd: int, st: os.stat_result, row: Row, offset: int, tag_as: str
    ) -> TailedFile:
        """A decompressed copy of the ``.gz`` ``path`` into the table, as a rotated file."""
        f = self._track(path, fd, st, row, offset, rotated=True, tag_as=tag_as)
        # The copy is unlinked: read to its end, and its row dropped once delivered.
        f.deleted = True
        self.context.metrics.add(self.context.instance, "files_recovered")
        return f

    def _scan(self, *, initial: bool, resumed: bool) -> list[str]:
        """Open matching files not open yet; return every matching path."""
        selection = self.selection
        cutoff = time.time() - selection.ignore_older if selection.ignore_older > 0 else None
        paths = expand(selection.paths, selection.excludes)
        waiting = 0
        for path in generations_last(paths):
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in self.table:
                continue
            if cutoff is not None and st.st_mtime < cutoff:
                continue
            if not initial and copy_of_open(path, self.table):
                continue
            if len(self.table) >= self._limit:
                waiting += 1  # opened by a later scan, once a followed file has gone
                continue
            # A new file at a path we followed before (rotated while we were down) is read
            # from its head whatever Read_from_Head says: its lines are new to us. So is any
            # file a DB from an earlier run does not know (a container born while we were
            # down): Read_from_Head Off only means "skip what predates our first start".
            known = initial and (
                resumed or any(row.name == path for row in self.store.rows.values())
            )
            self.open(path, from_head=selection.from_head or not initial or known)
        self._tell_waiting(waiting)
        return paths

    def _tell_waiting(self, waiting: int) -> None:
        """One warning when files start to wait, and again only when more of them do."""
        if waiting > self._waiting_told:
            self.context.logger.warning(
                "tail: %d matching file(s) wait to be opened: %d are open, as many as the "
                "open-file limit leaves room for; raise it (ulimit -n, the container's "
                "nofile) to follow them all",
                waiting,
                len(self.table),
            )
        self._waiting_told = max(self._waiting_told, waiting) if waiting else 0

    @staticmethod
    def _family_since(path: str, rows: list[Row]) -> float | None:
        """Creation time of the newest file we knew under ``path`` or its rotated names."""
        family = Family(path)
        created = [row.created for row in rows if row.name in family]
        return float(max(created)) if created else None

    def adopt_unseen(self, path: str, since: float | None, matched: set[str]) -> None:
        """Rotated generations of ``path`` we never opened (born and rotated while we were
        down, or between two checks): younger than the newest file we knew there (created
        at ``since``), they are read from their head. ``matched``: paths the globs open
        anyway."""
        if since is None:
            return
        for sibling in siblings(path):
            if sibling in matched:
                continue
            try:
                st = os.stat(sibling)
            except OSError:
                continue
            if st.st_mtime < since or (st.st_dev, st.st_ino) in self.table:
                continue
            row = self.store.find(st.st_ino, sibling)
            if row is not None and _still_holds(sibling, row):
                continue
            if self.open(sibling, from_head=True, rotated=True, tag_as=path) is not None:
                self.context.metrics.add(self.context.instance, "files_recovered")

    def _recover_rotated(self, followed: Followed) -> None:
        """Rows no open file claimed: their file was rotated while we were down. Read what
        is left of it (from its checkpoint, from its ``.gz`` if it was compressed) before
        forgetting it; forget rows whose file is gone."""
        claimed = {f.row.id for f in self.table}
        for row in list(self.store.rows.values()):
            if row.id in claimed:
                continue
            where = locate(row.name, row.inode)
            if where is not None:
                f = self.open(where, from_head=True, rotated=True, tag_as=followed(row.name))
                if f is None:
                    continue
                self.context.metrics.add(self.context.instance, "files_recovered")
                if f.row is row:
                    continue
            # Its file is gone, or another content has its inode now.
            if not self.gzips.read_rest(row, followed(row.name)):
                self.store.retire(row)
