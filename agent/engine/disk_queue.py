"""A durable FIFO of batches on disk, one per output, under ``[SERVICE] storage.path``.

Layout: ``<dir>/<segment>.q`` files of length-prefixed orjson frames, one per chunk:
``[tag, [[t, rec]...], mark, end]``, or ``[tag, [[t, rec]...]]`` for a chunk without a source
range (and as queues written before the mark was kept hold every chunk), and
``<dir>/committed`` holding ``"<segment> <offset>"``, the first frame not yet delivered. The
mark and end are the chunk's :attr:`~logtide.agent.core.events.Chunk.progress`: delivered
from the queue, the chunk still counts towards an exactly-once output's watermarks, and a
chunk a restart finds below them is not delivered again.
Appends are fsynced (with the directory when they start a segment) before they return,
whatever ``storage.sync`` says, and ``committed`` is replaced atomically, directory fsync
included; a torn frame at the end of the last segment (a crash mid-write) is ignored on
open. Segments wholly before the committed position are deleted.

With ``storage.checksum`` a frame carries the CRC32 of its payload: the high bit of its
length word says so, so a queue written with and without checksums reads either way. A
frame whose CRC does not match, or whose payload does not decode, is reported in one line
and skipped; so is the rest of a sealed segment whose frame lengths no longer add up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from logtide.agent.core.durable import append_synced, write_atomic
from logtide.agent.core.errors import PluginError
from logtide.agent.core.events import Event, Progress
from logtide.agent.core.serialize import dumps

_WORD = struct.Struct(">I")
# Set in the length word of a frame whose payload is preceded by its CRC32.
_CHECKED = 0x8000_0000
SEGMENT_BYTES = 8 * 1024 * 1024

log = logging.getLogger("logtide")

# One queued chunk: its tag, its events and its progress (None without a source range).
Batch = tuple[str, list[Event], Progress | None]


@dataclass(frozen=True, slots=True)
class Position:
    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class _Frame:
    span: int  # bytes on disk, header included
    payload: bytes
    crc_ok: bool  # True when the frame carries no CRC


def _read_frame(handle: BinaryIO) -> _Frame | None:
    """The frame at ``handle``'s position, read piece by piece (memory holds one frame, not
    the segment), or None when the file ends before a whole frame."""
    head = handle.read(_WORD.size)
    if len(head) < _WORD.size:
        return None
    (word,) = _WORD.unpack(head)
    span = _WORD.size + (word & ~_CHECKED)
    expected = None
    if word & _CHECKED:
        crc = handle.read(_WORD.size)
        if len(crc) < _WORD.size:
            return None
        (expected,) = _WORD.unpack(crc)
        span += _WORD.size
    payload = handle.read(word & ~_CHECKED)
    if len(payload) < word & ~_CHECKED:
        return None
    return _Frame(span, payload, expected is None or zlib.crc32(payload) == expected)


def _decode(payload: bytes) -> Batch:
    tag, raw_events, *kept = orjson.loads(payload)
    if not isinstance(tag, str):
        raise TypeError("the tag is not a string")
    progress: Progress | None = None
    if kept:
        mark, end = kept
        if not isinstance(mark, str) or type(end) is not int:
            raise TypeError("the mark is not a string and an offset")
        progress = (mark, end)
    return tag, [(float(ts), record) for ts, record in raw_events], progress


class DiskQueue:
    """Append-and-commit queue. Not thread-safe: callers serialise access (one thread)."""

    def __init__(
        self, folder: str, *, checksum: bool = False, backlog_limit: int = SEGMENT_BYTES
    ) -> None:
        self.folder = folder
        self.checksum = checksum
        #: ``storage.backlog.mem_limit``: the most frame bytes one :meth:`read` returns.
        self.backlog_limit = backlog_limit
        self.skipped_frames = 0
        try:
            os.makedirs(folder, exist_ok=True)
            self.committed = self._read_committed()
            segments = self._segments()
        except OSError as exc:
            # A storage.path that is a file, read-only or full: one line, not a traceback.
            raise PluginError(
                f"[SERVICE] storage.path: cannot keep a queue in {folder}: {exc.strerror or exc}"
            ) from None
        self._write_segment = max(segments, default=self.committed.segment)
        self._write_segment = max(self._write_segment, self.committed.segment)
        self._drop_torn_tail()

    def _path(self, segment: int) -> str:
        return os.path.join(self.folder, f"{segment:012d}.q")

    def _segments(self) -> list[int]:
        return sorted(int(name[:-2]) for name in os.listdir(self.folder) if name.endswith(".q"))

    def _read_committed(self) -> Position:
        try:
            with open(os.path.join(self.folder, "committed"), encoding="ascii") as handle:
                segment, offset = handle.read().split()
            return Position(int(segment), int(offset))
        except (FileNotFoundError, ValueError):
            return Position(0, 0)

    def _drop_torn_tail(self) -> None:
        path = self._path(self._write_segment)
        if not os.path.exists(path):
            return
        valid = 0
        with open(path, "rb") as handle:
            while (frame := _read_frame(handle)) is not None:
                valid += frame.span
            length = os.fstat(handle.fileno()).st_size
        if valid != length:
            with open(path, "r+b") as handle:
                handle.truncate(valid)
                os.fsync(handle.fileno())

    @property
    def pending_bytes(self) -> int:
        total = 0
        for segment in self._segments():
            size = os.path.getsize(self._path(segment))
            total += size - (self.committed.offset if segment == self.committed.segment else 0)
        return total

    def held(self) -> dict[str, int]:
        """Per mark, the furthest end among the chunks queued and not yet delivered. They
        are delivered from here, so a source read again after a crash (its checkpoint had
        not reached the DB) must not queue them a second time. Reads every pending frame:
        call it once, at start."""
        held: dict[str, int] = {}
        segment, offset = self.committed.segment, self.committed.offset
        while segment <= self._write_segment:
            with contextlib.suppress(FileNotFoundError), open(self._path(segment), "rb") as handle:
                handle.seek(offset)
                while (frame := _read_frame(handle)) is not None:
                    try:
                        progress = _decode(frame.payload)[2]
                    except (orjson.JSONDecodeError, TypeError, ValueError):
                        continue  # reported when it is read for delivery
                    if progress is not None and progress[1] > held.get(progress[0], -1):
                        held[progress[0]] = progress[1]
            segment, offset = segment + 1, 0
        return held

    def append(self, batches: list[Batch]) -> None:
        """Write and fsync ``batches``; on return they survive a crash."""
        path = self._path(self._write_segment)
        if os.path.exists(path) and os.path.getsize(path) >= SEGMENT_BYTES:
            self._write_segment += 1
            path = self._path(self._write_segment)
        frames = []
        for tag, events, progress in batches:
            frame = [tag, [[ts, record] for ts, record in events], *(progress or ())]
            payload = dumps(frame)
            if self.checksum:
                head = _WORD.pack(len(payload) | _CHECKED) + _WORD.pack(zlib.crc32(payload))
            else:
                head = _WORD.pack(len(payload))
            frames.append(head + payload)
        append_synced(path, b"".join(frames))

    def read(self, max_events: int, max_bytes: int = SEGMENT_BYTES) -> tuple[list[Batch], Position]:
        """Frames from the committed position on, up to about ``max_events`` events or
        ``max_bytes`` (and ``backlog_limit``) bytes of frames (at least one frame), and the
        position just after them (pass it to :meth:`commit` once they are delivered).

        Damaged frames are reported and passed over; when nothing but damaged frames was
        found, the position past them is committed here (nothing before it is deliverable).
        """
        max_bytes = min(max_bytes, self.backlog_limit)
        out: list[Batch] = []
        count = size = 0
        skipped = self.skipped_frames
        segment, offset = self.committed.segment, self.committed.offset
        while count < max_events and size < max_bytes and segment <= self._write_segment:
            path = self._path(segment)
            if not os.path.exists(path):
                segment, offset = segment + 1, 0
                continue
            with open(path, "rb") as handle:
                handle.seek(offset)
                while count < max_events and size < max_bytes:
                    frame = _read_frame(handle)
                    if frame is None:
                        rest = os.fstat(handle.fileno()).st_size - offset
                        if segment < self._write_segment and rest > 0:
                            self._skip(
                                path,
                                offset,
                                "frame lengths run past the segment's end",
                                f"its last {rest} bytes",
                            )
                            offset += rest
                        break
                    batch = self._batch(frame, path, offset)
                    if batch is not None:
                        out.append(batch)
                        count += len(batch[1])
                        size += len(frame.payload)
                    offset += frame.span
            if count >= max_events or size >= max_bytes or segment == self._write_segment:
                break
            segment, offset = segment + 1, 0
        # Past a write segment not created yet: its start, where the next append goes.
        end = (
            Position(segment, offset)
            if segment <= self._write_segment
            else Position(self._write_segment, 0)
        )
        if not out and self.skipped_frames != skipped:
            self.commit(end)
        return out, end

    def _batch(self, frame: _Frame, path: str, offset: int) -> Batch | None:
        if not frame.crc_ok:
            self._skip(path, offset, "its CRC32 does not match (storage.checksum)")
            return None
        try:
            return _decode(frame.payload)
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            self._skip(path, offset, f"it does not decode ({exc})")
            return None

    def _skip(self, path: str, offset: int, why: str, what: str = "a chunk") -> None:
        self.skipped_frames += 1
        log.error("[disk queue] %s at byte %d: %s skipped, %s", path, offset, what, why)

    def commit(self, position: Position) -> None:
        """Everything before ``position`` is delivered: persist that, delete spent segments."""
        committed = f"{position.segment} {position.offset}".encode("ascii")
        write_atomic(os.path.join(self.folder, "committed"), committed)
        self.committed = position
        for segment in self._segments():
            if segment < position.segment:
                os.unlink(self._path(segment))
