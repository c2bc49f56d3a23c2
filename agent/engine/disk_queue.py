"""A durable FIFO of batches on disk, one per output, under ``[SERVICE] storage.path``.

Layout: ``<dir>/<segment>.q`` files of length-prefixed orjson frames ``[tag, [[t, rec]...]]``
and ``<dir>/committed`` holding ``"<segment> <offset>"``, the first frame not yet delivered.
Appends are fsynced (with the directory when they start a segment) before they return, and
``committed`` is replaced atomically, directory fsync included; a torn frame at the end of
the last segment (a crash mid-write) is ignored on open. Segments wholly before the
committed position are deleted.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import orjson

from logtide.agent.core.durable import append_synced, write_atomic
from logtide.agent.core.events import Event
from logtide.agent.core.serialize import dumps

_HEADER = struct.Struct(">I")
SEGMENT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Position:
    segment: int
    offset: int


class DiskQueue:
    """Append-and-commit queue. Not thread-safe: callers serialise access (one thread)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.committed = self._read_committed()
        segments = self._segments()
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
            data = handle.read()
        while valid + _HEADER.size <= len(data):
            (length,) = _HEADER.unpack_from(data, valid)
            if valid + _HEADER.size + length > len(data):
                break
            valid += _HEADER.size + length
        if valid != len(data):
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

    def append(self, batches: list[tuple[str, list[Event]]]) -> None:
        """Write and fsync ``batches``; on return they survive a crash."""
        path = self._path(self._write_segment)
        if os.path.exists(path) and os.path.getsize(path) >= SEGMENT_BYTES:
            self._write_segment += 1
            path = self._path(self._write_segment)
        frames = []
        for tag, events in batches:
            payload = dumps([tag, [[ts, record] for ts, record in events]])
            frames.append(_HEADER.pack(len(payload)) + payload)
        append_synced(path, b"".join(frames))

    def read(
        self, max_events: int, max_bytes: int = SEGMENT_BYTES
    ) -> tuple[list[tuple[str, list[Event]]], Position]:
        """Frames from the committed position on, up to about ``max_events`` events or
        ``max_bytes`` bytes of frames (at least one frame), and the position just after
        them (pass it to :meth:`commit` once they are delivered)."""
        out: list[tuple[str, list[Event]]] = []
        count = size = 0
        segment, offset = self.committed.segment, self.committed.offset
        while count < max_events and size < max_bytes and segment <= self._write_segment:
            path = self._path(segment)
            if not os.path.exists(path):
                segment, offset = segment + 1, 0
                continue
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
            position = 0
            while position + _HEADER.size <= len(data) and count < max_events and size < max_bytes:
                (length,) = _HEADER.unpack_from(data, position)
                end = position + _HEADER.size + length
                if end > len(data):
                    break
                tag, raw_events = orjson.loads(data[position + _HEADER.size : end])
                events: list[Event] = [(float(ts), record) for ts, record in raw_events]
                out.append((tag, events))
                count += len(events)
                size += length
                position = end
            offset += position
            if count >= max_events or size >= max_bytes or segment == self._write_segment:
                break
            segment, offset = segment + 1, 0
        return out, Position(segment, offset)

    def commit(self, position: Position) -> None:
        """Everything before ``position`` is delivered: persist that, delete spent segments."""
        committed = f"{position.segment} {position.offset}".encode("ascii")
        write_atomic(os.path.join(self.folder, "committed"), committed)
        self.committed = position
        for segment in self._segments():
            if segment < position.segment:
                os.unlink(self._path(segment))
