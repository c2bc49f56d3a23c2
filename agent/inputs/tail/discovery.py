"""Opening files: glob scans, checkpoint lookup, and recovery of rotated generations.

A file is opened once per (device, inode). Its start offset comes from its checkpoint row
when the fingerprint still matches, else from the head (``Read_from_Head``, files found after
start, and new files at a path we followed before) or the end. At start, rows no live file
claims are looked for beside their path, and rotated generations we never saw (born and
rotated while the agent was down) are adopted from their head.
"""

from __future__ import annotations

import logging
import os
import time

from agent.core.options import Settings
from agent.core.plugins import PluginContext
from agent.inputs.tail.checkpoint import CheckpointStore, Row
from agent.inputs.tail.decoders import Decoder
from agent.inputs.tail.ranges import RangeTracker
from agent.inputs.tail.reader import LineRules, TailedFile
from agent.inputs.tail.rotation import is_sibling, locate, siblings
from agent.inputs.tail.tagging import TagComposer
from agent.inputs.tail.watcher import Watcher, expand


class Discovery:
    """The file-opening half of :class:`~agent.inputs.tail.input.TailInput`."""

    settings: Settings
    context: PluginContext
    store: CheckpointStore
    files: dict[tuple[int, int], TailedFile]
    tagger: TagComposer
    rules: LineRules
    resumed: bool
    to_end: bool
    from_head: bool
    unreadable: dict[str, str]
    _watcher: Watcher | None

    def _decoder(self, path: str) -> Decoder:
        raise NotImplementedError

    @property
    def _log(self) -> logging.Logger:
        return self.context.logger

    def _open(self, path: str, *, from_head: bool, rotated: bool = False) -> TailedFile | None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None  # gone since the scan: nothing of it left to read
        except OSError as exc:
            if self.to_end:
                # reported once, with every other such file, when the run ends (exit 1)
                self.unreadable[path] = exc.strerror or str(exc)
            else:
                self._log.warning("tail: cannot open %s: %s", path, exc)
            return None
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        if key in self.files:
            os.close(fd)
            return None
        row = self.store.find(st.st_ino, path)
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
        self.store.touch(row)
        f = TailedFile(
            path=path,
            fd=fd,
            dev=st.st_dev,
            inode=st.st_ino,
            tag=self.tagger(path),
            decoder=self._decoder(path),
            rules=self.rules,
            row=row,
            real=os.path.realpath(path),
            tracker=RangeTracker(offset, b""),
        )
        f.seek(offset)
        if rotated:
            f.rotated_at = time.monotonic()
        self.files[key] = f
        self.context.metrics.add(self.context.instance, "files_opened")
        self._log.debug(
            "tail: opened %s (inode %d) at offset %d%s",
            path,
            st.st_ino,
            offset,
            " (rotated)" if rotated else "",
        )
        if self._watcher is not None:
            self._watcher.watch(os.path.dirname(f.real))
        return f

    def _scan(self, *, initial: bool) -> list[str]:
        """Open matching files not open yet; return every matching path."""
        s = self.settings
        ignore_older = s["ignore_older"]
        cutoff = time.time() - ignore_older if ignore_older > 0 else None
        paths = expand(s["path"], s["exclude_path"])
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in self.files:
                continue
            if cutoff is not None and st.st_mtime < cutoff:
                continue
            # A new file at a path we followed before (rotated while we were down) is read
            # from its head whatever Read_from_Head says: its lines are new to us. So is any
            # file a DB from an earlier run does not know (a container born while we were
            # down): Read_from_Head Off only means "skip what predates our first start".
            known = initial and (
                self.resumed or any(row.name == path for row in self.store.rows.values())
            )
            self._open(path, from_head=self.from_head or not initial or known)
        return paths

    @staticmethod
    def _family_since(path: str, rows: list[Row]) -> float | None:
        """Creation time of the newest file we knew under ``path`` or its rotated names."""
        created = [row.created for row in rows if is_sibling(path, row.name)]
        return float(max(created)) if created else None

    def _adopt_unseen(self, path: str, since: float | None, matched: set[str]) -> None:
        """Rotated generations of ``path`` we never opened (born and rotated while we were
        down, or between two checks): younger than the newest file we knew there, they are
        read from their head."""
        if since is None:
            return
        for sibling in siblings(path):
            if sibling in matched:
                continue
            try:
                st = os.stat(sibling)
            except OSError:
                continue
            if st.st_mtime < since or (st.st_dev, st.st_ino) in self.files:
                continue
            if self.store.find(st.st_ino, sibling) is not None:
                continue
            if self._open(sibling, from_head=True, rotated=True) is not None:
                self.context.metrics.add(self.context.instance, "files_recovered")

    def _recover_rotated(self) -> None:
        """Rows no open file claimed: their file was rotated while we were down. Read what
        is left of it (from its checkpoint) before forgetting it; forget rows whose file is
        gone."""
        claimed = {f.row.id for f in self.files.values()}
        for row in list(self.store.rows.values()):
            if row.id in claimed:
                continue
            where = locate(row.name, row.inode)
            if where is None:
                self.store.delete(row)
                continue
            f = self._open(where, from_head=True, rotated=True)
            if f is None:
                continue
            if f.row is not row:
                self.store.delete(row)
            self.context.metrics.add(self.context.instance, "files_recovered")
