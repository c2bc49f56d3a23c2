"""The durable store_dir: append-only buffer files, a journal and the log of changes since.

Layout under ``<store_dir>/<bucket>[-<alias>]/``::

    journal.json        buffers (tag, key, first record time, size, upload state), $INDEX and
                        the source watermarks, as of the last compaction
    appends.log         one fsynced line per change since: each append (the buffers' sizes
                        after it, the source marks of its records, the entries of buffers it
                        wrote first), each upload step, each removal
    <id>.jsonl          the records of one future object, as JSON lines
    <id>.body           a derived upload body (compressed / parquet), rebuilt when missing
    .lock               flock held while an instance owns the directory

Every buffer's object key is fixed when the buffer is created and recorded with its first
append, so a re-upload after a crash writes the same object again instead of a second one; a
buffer whose file could not be written is never recorded. An append counts only once its line
in appends.log is on disk: on open, each buffer is cut back to the last size a line confirms,
so records whose marks were not recorded are gone from the buffers too and the source reads
them again. The marks, together with the data, tell the engine which re-read chunks this
store already holds (exactly-once into S3). The journal is rewritten (write, fsync, rename,
fsync the directory) only when appends.log is folded into it: at open and when the log grows
large, so thousands of buffers cost one line each, not one journal each. At most
:data:`MAX_OPEN_FILES` buffer files are open at once (least recently written closed first),
whatever the number of partitions. Nothing leaves this directory before S3 confirmed it.

All methods here block (file I/O, fsync); the output calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from logtide.agent.core.durable import fsync_dir, write_all, write_atomic
from logtide.agent.core.errors import PluginError
from logtide.agent.core.file_lock import LockHeld, try_lock
from logtide.sinks.s3.appends import AppendLog
from logtide.sinks.s3.buffers import Buffer, UploadState, new_buffer_id
from logtide.sinks.s3.keys import KeyFormat

__all__ = ["JOURNAL", "MAX_OPEN_FILES", "Buffer", "Store", "UploadState"]

JOURNAL = "journal.json"
# Buffer files kept open between appends; more partitions than this reopen their file.
MAX_OPEN_FILES = 64
log = logging.getLogger("logtide.s3")


class Store:
    """Owns one store_dir subdirectory: its buffers, journal and lock."""

    def __init__(
        self, root: Path, key_format: KeyFormat, *, static_file_path: bool = False
    ) -> None:
        self.root = root
        self.key_format = key_format
        self.static_file_path = static_file_path
        self.buffers: dict[str, Buffer] = {}
        self.next_index = 0
        self.total_bytes = 0
        self.max_open_files = MAX_OPEN_FILES
        self.log = AppendLog(root, {})
        self._open: dict[tuple[str, tuple[str, ...]], Buffer] = {}
        self._files: OrderedDict[str, Buffer] = OrderedDict()  # buffers with an open fd, LRU
        self._lock_fd: int | None = None
        # Flushes and uploads call in from different worker threads.
        self._mutex = threading.RLock()

    # ---- lifecycle -------------------------------------------------------------------------

    def open(self) -> list[Buffer]:
        """Take the directory, load the journal and return the leftover buffers (sealed);
        :class:`~logtide.agent.core.file_lock.LockHeld` while another process has it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = try_lock(self.root / ".lock", 0o600)
        except OSError as exc:
            raise PluginError(f"s3: cannot use store_dir {self.root}: {exc.strerror}") from None
        if fd is None:
            raise LockHeld("in use by another logtide process")
        self._lock_fd = fd
        return self._recover()

    def close(self) -> None:
        for buffer in list(self._files.values()):
            self._close_fd(buffer)
        self.log.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _recover(self) -> list[Buffer]:
        path = self.root / JOURNAL
        data: dict[str, Any] = {}
        if path.exists():
            try:
                data = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise PluginError(f"s3: {path} is corrupt ({exc}); move it aside") from None
        marks = {str(k): int(v) for k, v in (data.get("watermarks") or {}).items()}
        self.log = AppendLog(self.root, marks)
        entries: dict[str, Any] = dict(data.get("buffers") or {})
        confirmed = {bid: int(e.get("size") or 0) for bid, e in entries.items()}
        self.next_index = self.log.fold(confirmed, entries, int(data.get("next_index", 0)))
        for buffer_id, entry in entries.items():
            buffer = Buffer.from_json(buffer_id, entry)
            size = self._cut_to(self.data_path(buffer), confirmed.get(buffer_id, 0))
            if size == 0:
                self._unlink(buffer)
                continue
            buffer.size = buffer.confirmed = size
            self.buffers[buffer_id] = buffer
            self.total_bytes += size
        for stray in self.root.iterdir():
            stem, suffix = stray.stem, stray.suffix
            if stem in self.buffers:
                continue
            if suffix == ".body" or stray.name.endswith(".tmp"):
                stray.unlink(missing_ok=True)
            elif suffix == ".jsonl" and stem not in entries:
                log.warning("s3: %s is not in the journal; left in place, not uploaded", stray)
        try:
            self._compact()
        except OSError as exc:
            # A restart on a full disk must not stop the agent: the log is kept instead.
            self.log.resume()
            log.warning(
                "s3: cannot rewrite %s (%s); appending to %s as it is",
                path,
                exc.strerror or exc,
                self.log.path,
            )
        return list(self.buffers.values())

    @staticmethod
    def _cut_to(path: Path, confirmed: int) -> int:
        """Cut a buffer back to the size its last recorded append confirmed."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0
        if size <= confirmed:
            return size
        with path.open("rb+") as handle:
            handle.truncate(confirmed)
            os.fsync(handle.fileno())
        return confirmed

    def _compact(self) -> None:
        """Fold appends.log into the journal, then start the log afresh."""
        with self._mutex:
            self._save()
            self.log.restart()

    # ---- buffers ---------------------------------------------------------------------------

    def data_path(self, buffer: Buffer) -> Path:
        return self.root / f"{buffer.id}.jsonl"

    def body_path(self, buffer: Buffer) -> Path:
        return self.root / f"{buffer.id}.body"

    def open_buffer(self, tag: str, group: tuple[str, ...]) -> Buffer | None:
        return self._open.get((tag, group))

    def new_buffer(self, tag: str, group: tuple[str, ...], first_time: float) -> Buffer:
        """Create a buffer and fix its object key; it is recorded with its first append."""
        buffer_id = new_buffer_id()
        kf = self.key_format
        suffix = ""
        if not (kf.has_uuid or kf.has_index or self.static_file_path):
            suffix = "-object" + buffer_id[:8]
        with self._mutex:
            index = self.next_index
            if kf.has_index:
                self.next_index += 1
        key = kf.render(tag, group, first_time, index=index, uuid8=buffer_id[:8], suffix=suffix)
        buffer = Buffer(buffer_id, tag, group, key, first_time, time.time())
        with self._mutex:
            self.buffers[buffer_id] = buffer
            self._open[buffer.stream] = buffer
        return buffer

    def append(
        self, writes: list[tuple[Buffer, bytes]], marks: Sequence[tuple[str, int]] = ()
    ) -> None:
        """Append and fsync, then record the append (sizes, ``marks`` and the entries of new
        buffers) in appends.log; returns only when both are on disk."""
        touched: dict[str, Buffer] = {}
        before: dict[str, int] = {}
        unsynced: set[str] = set()
        try:
            for buffer, data in writes:
                before.setdefault(buffer.id, buffer.size)
                touched[buffer.id] = buffer
                fd = self._fd(buffer, unsynced)
                unsynced.add(buffer.id)
                write_all(fd, data)
                buffer.size += len(data)
                with self._mutex:
                    self.total_bytes += len(data)
            for buffer in touched.values():
                if buffer.id in unsynced and buffer.fd is not None:
                    os.fsync(buffer.fd)
            self._record_append(touched, marks)
        except OSError:
            self._roll_back(touched, before)
            raise

    def _fd(self, buffer: Buffer, unsynced: set[str]) -> int:
        """The buffer's open descriptor, opening it (and closing the least recently written
        other file, fsynced first if this append wrote to it) as needed."""
        with self._mutex:
            if buffer.fd is not None:
                self._files.move_to_end(buffer.id)
                return buffer.fd
            while len(self._files) >= self.max_open_files:
                oldest = next(iter(self._files.values()))
                if oldest.id in unsynced and oldest.fd is not None:
                    os.fsync(oldest.fd)
                    unsynced.discard(oldest.id)
                self._close_fd(oldest)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            buffer.fd = os.open(self.data_path(buffer), flags, 0o600)
            self._files[buffer.id] = buffer
            return buffer.fd

    def _roll_back(self, touched: dict[str, Buffer], before: dict[str, int]) -> None:
        """Undo a failed append. A full disk fails a write part-way and the caller retries the
        whole batch, so every buffer goes back to its size before the call: otherwise the
        retry appends again what the failed attempt left behind (duplicates, torn lines). A
        buffer this append was to create is forgotten, file and all: nothing recorded it."""
        for buffer in touched.values():
            with contextlib.suppress(OSError):
                if buffer.fd is not None:
                    os.ftruncate(buffer.fd, before[buffer.id])
                else:
                    os.truncate(self.data_path(buffer), before[buffer.id])
            with self._mutex:
                self.total_bytes -= buffer.size - before[buffer.id]
            buffer.size = before[buffer.id]
            if not buffer.journaled:
                self._forget(buffer)

    def _forget(self, buffer: Buffer) -> None:
        with self._mutex:
            self.buffers.pop(buffer.id, None)
            if self._open.get(buffer.stream) is buffer:
                del self._open[buffer.stream]
        with contextlib.suppress(OSError):
            self._unlink(buffer)

    def _record_append(self, touched: dict[str, Buffer], marks: Sequence[tuple[str, int]]) -> None:
        with self._mutex:
            new = {bid: b.to_json() for bid, b in touched.items() if not b.journaled}
            if new:
                # Their files were created by this append: their names must be as durable
                # as the line that records them.
                fsync_dir(self.root)
            self.log.record(
                {bid: b.size for bid, b in touched.items()},
                marks,
                new,
                self.next_index if new else None,
            )
            for buffer in touched.values():
                buffer.confirmed = buffer.size
                buffer.journaled = True
        self._compact_if_large()

    def _compact_if_large(self) -> None:
        if self.log.wants_compaction:
            try:
                self._compact()
            except OSError as exc:
                log.warning("s3: cannot compact %s: %s", self.log.path, exc)

    def detach(self, buffer: Buffer) -> None:
        """Route no new records to ``buffer`` (appends already planned still happen)."""
        with self._mutex:
            if self._open.get(buffer.stream) is buffer:
                del self._open[buffer.stream]

    def seal(self, buffer: Buffer) -> None:
        """No more appends: the buffer's next step is its upload."""
        self.detach(buffer)
        buffer.sealed = True
        self._close_fd(buffer)

    def open_buffers(self) -> list[Buffer]:
        with self._mutex:
            return list(self._open.values())

    def sealed_buffers(self) -> list[Buffer]:
        with self._mutex:
            return [buffer for buffer in self.buffers.values() if buffer.sealed]

    def set_upload(self, buffer: Buffer, state: UploadState | None) -> None:
        """Record the buffer's upload state (a line in appends.log)."""
        with self._mutex:
            buffer.upload = state
            self.log.record({}, (), {buffer.id: buffer.to_json()})
        self._compact_if_large()

    def remove(self, buffer: Buffer) -> None:
        """Forget a buffer S3 has confirmed: record that first, then delete its files."""
        self.seal(buffer)
        with self._mutex:
            self.log.record({}, (), {buffer.id: None})
            self.buffers.pop(buffer.id, None)
            self.total_bytes -= buffer.size
        self._unlink(buffer)
        self._compact_if_large()

    def _close_fd(self, buffer: Buffer) -> None:
        with self._mutex:
            self._files.pop(buffer.id, None)
        if buffer.fd is not None:
            with contextlib.suppress(OSError):
                os.close(buffer.fd)
            buffer.fd = None

    def _unlink(self, buffer: Buffer) -> None:
        self._close_fd(buffer)
        self.data_path(buffer).unlink(missing_ok=True)
        self.body_path(buffer).unlink(missing_ok=True)

    def _save(self) -> None:
        recorded = {bid: b.to_json() for bid, b in self.buffers.items() if b.journaled}
        payload = orjson.dumps(
            {
                "version": 1,
                "next_index": self.next_index,
                "buffers": recorded,
                "watermarks": self.log.watermarks,
            }
        )
        write_atomic(self.root / JOURNAL, payload)
