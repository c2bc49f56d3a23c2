"""The durable store_dir: append-only buffer files and a small journal describing them.

Layout under ``<store_dir>/<bucket>[-<alias>]/``::

    journal.json        buffers (tag, key, first record time, size), $INDEX, upload state,
                        and the source watermarks folded from appends.log
    appends.log         one fsynced line per append: the buffers' sizes after it and the
                        source marks (``Chunk.mark`` -> origin end) of the records it added
    <id>.jsonl          the records of one future object, as JSON lines
    <id>.body           a derived upload body (compressed / parquet), rebuilt when missing
    .lock               flock held while an instance owns the directory

Every buffer's object key is fixed when the buffer is created and saved in the journal, so a
re-upload after a crash writes the same object again instead of a second one. An append
counts only once its line in appends.log is on disk: on open, each buffer is cut back to the
last size a log line confirms, so records whose marks were not recorded are gone from the
buffers too and the source reads them again. The marks, together with the data, tell the
engine which re-read chunks this store already holds (exactly-once into S3). The journal is
replaced atomically (write, fsync, rename, fsync the directory); the buffer files are fsynced
after every append. Nothing leaves this directory before S3 confirmed the object.

All methods here block (file I/O, fsync); the output calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import string
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from agent.core.errors import PluginError
from sinks.s3.appends import AppendLog
from sinks.s3.keys import KeyFormat

JOURNAL = "journal.json"
_ID_CHARS = string.ascii_letters + string.digits
log = logging.getLogger("logtide.s3")


@dataclass(slots=True)
class UploadState:
    """How a sealed buffer is being uploaded; saved before each step so a restart resumes."""

    method: str  # "put" or "multipart"
    body_sha256: str
    body_size: int
    part_size: int
    upload_id: str | None = None
    parts: dict[int, str] = field(default_factory=dict)  # part number -> ETag

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "body_sha256": self.body_sha256,
            "body_size": self.body_size,
            "part_size": self.part_size,
            "upload_id": self.upload_id,
            "parts": {str(number): etag for number, etag in self.parts.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadState:
        return cls(
            method=data["method"],
            body_sha256=data["body_sha256"],
            body_size=int(data["body_size"]),
            part_size=int(data["part_size"]),
            upload_id=data.get("upload_id"),
            parts={int(number): etag for number, etag in (data.get("parts") or {}).items()},
        )


@dataclass(slots=True)
class Buffer:
    """The records of one future S3 object."""

    id: str
    tag: str
    group: tuple[str, ...]
    key: str
    first_time: float
    created: float
    size: int = 0
    # The size the last recorded append confirmed; only this much survives a crash.
    confirmed: int = 0
    sealed: bool = False
    upload: UploadState | None = None
    retry_after: float = 0.0
    fd: int | None = None

    @property
    def stream(self) -> tuple[str, tuple[str, ...]]:
        return (self.tag, self.group)

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "group": list(self.group),
            "key": self.key,
            "first_time": self.first_time,
            "created": self.created,
            "size": self.confirmed,
            "upload": self.upload.to_json() if self.upload else None,
        }


def new_buffer_id() -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(16))


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
        self.log = AppendLog(root, {})
        self._open: dict[tuple[str, tuple[str, ...]], Buffer] = {}
        self._lock_fd: int | None = None
        # Flushes and uploads call in from different worker threads.
        self._mutex = threading.RLock()

    # ---- lifecycle -------------------------------------------------------------------------

    def open(self) -> list[Buffer]:
        """Take the directory, load the journal and return the leftover buffers (sealed)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise PluginError(f"s3: cannot use store_dir {self.root}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise PluginError(
                f"s3: store_dir {self.root} is in use by another logtide process"
            ) from None
        self._lock_fd = fd
        return self._recover()

    def close(self) -> None:
        for buffer in self.buffers.values():
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
        self.next_index = int(data.get("next_index", 0))
        marks = {str(k): int(v) for k, v in (data.get("watermarks") or {}).items()}
        self.log = AppendLog(self.root, marks)
        confirmed = {bid: int(e.get("size") or 0) for bid, e in (data.get("buffers") or {}).items()}
        self.log.fold(confirmed)
        known: set[str] = set()
        for buffer_id, entry in (data.get("buffers") or {}).items():
            known.add(buffer_id)
            buffer = Buffer(
                id=buffer_id,
                tag=entry["tag"],
                group=tuple(entry.get("group") or ()),
                key=entry["key"],
                first_time=float(entry["first_time"]),
                created=float(entry["created"]),
                sealed=True,
                upload=UploadState.from_json(entry["upload"]) if entry.get("upload") else None,
            )
            size = self._cut_to(self.data_path(buffer), confirmed.get(buffer_id, 0))
            if size == 0:
                self._unlink(buffer)
                continue
            buffer.size = buffer.confirmed = size
            self.buffers[buffer_id] = buffer
            self.total_bytes += size
        for stray in self.root.iterdir():
            stem, suffix = stray.stem, stray.suffix
            if stem in known:
                continue
            if suffix == ".body" or stray.name.endswith(".tmp"):
                stray.unlink(missing_ok=True)
            elif suffix == ".jsonl":
                log.warning("s3: %s is not in the journal; left in place, not uploaded", stray)
        self._compact()
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
        """Create a buffer and fix its object key in the journal before any data is written."""
        buffer_id = new_buffer_id()
        kf = self.key_format
        with self._mutex:
            index = self.next_index
        suffix = ""
        if not (kf.has_uuid or kf.has_index or self.static_file_path):
            suffix = "-object" + buffer_id[:8]
        key = kf.render(tag, group, first_time, index=index, uuid8=buffer_id[:8], suffix=suffix)
        buffer = Buffer(buffer_id, tag, group, key, first_time, time.time())
        with self._mutex:
            if kf.has_index:
                self.next_index += 1
            self.buffers[buffer_id] = buffer
            self._open[buffer.stream] = buffer
            try:
                self._save()
            except OSError:
                # Not in the journal, so it must not exist: a later append would be orphaned.
                del self.buffers[buffer_id]
                del self._open[buffer.stream]
                if kf.has_index:
                    self.next_index -= 1
                raise
        return buffer

    def append(
        self, writes: list[tuple[Buffer, bytes]], marks: Sequence[tuple[str, int]] = ()
    ) -> None:
        """Append and fsync, then record the append (sizes and ``marks``) in appends.log;
        returns only when both are on disk."""
        touched: dict[str, Buffer] = {}
        before: dict[str, int] = {}
        try:
            for buffer, data in writes:
                if buffer.fd is None:
                    buffer.fd = os.open(
                        self.data_path(buffer), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
                    )
                before.setdefault(buffer.id, buffer.size)
                touched[buffer.id] = buffer
                view = memoryview(data)
                while view:
                    written = os.write(buffer.fd, view)
                    view = view[written:]
                buffer.size += len(data)
                with self._mutex:
                    self.total_bytes += len(data)
            for buffer in touched.values():
                assert buffer.fd is not None
                os.fsync(buffer.fd)
            self._record_append(touched, marks)
        except OSError:
            # A full disk fails a write part-way. The caller retries the whole batch, so
            # every buffer goes back to its size before this call: otherwise the retry
            # appends again what the failed attempt left behind (duplicates, torn lines).
            for buffer in touched.values():
                with contextlib.suppress(OSError):
                    if buffer.fd is not None:
                        os.ftruncate(buffer.fd, before[buffer.id])
                with self._mutex:
                    self.total_bytes -= buffer.size - before[buffer.id]
                buffer.size = before[buffer.id]
            raise

    def _record_append(self, touched: dict[str, Buffer], marks: Sequence[tuple[str, int]]) -> None:
        with self._mutex:
            self.log.record({bid: b.size for bid, b in touched.items()}, marks)
            for buffer in touched.values():
                buffer.confirmed = buffer.size
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
        with self._mutex:
            buffer.upload = state
            self._save()

    def save(self) -> None:
        with self._mutex:
            self._save()

    def remove(self, buffer: Buffer) -> None:
        """Forget a buffer S3 has confirmed: journal first, then its files."""
        self.seal(buffer)
        with self._mutex:
            self.buffers.pop(buffer.id, None)
            self._save()
            self.total_bytes -= buffer.size
        self._unlink(buffer)

    def _close_fd(self, buffer: Buffer) -> None:
        if buffer.fd is not None:
            with contextlib.suppress(OSError):
                os.close(buffer.fd)
            buffer.fd = None

    def _unlink(self, buffer: Buffer) -> None:
        self._close_fd(buffer)
        self.data_path(buffer).unlink(missing_ok=True)
        self.body_path(buffer).unlink(missing_ok=True)

    def _save(self) -> None:
        payload = orjson.dumps(
            {
                "version": 1,
                "next_index": self.next_index,
                "buffers": {bid: buffer.to_json() for bid, buffer in self.buffers.items()},
                "watermarks": self.log.watermarks,
            }
        )
        tmp = self.root / (JOURNAL + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.root / JOURNAL)
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
