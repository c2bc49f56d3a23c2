"""One open file: read big blocks, split lines, apply the long/empty-line rules, decode.

The hot path is :meth:`TailedFile.read_batch`: one ``os.read`` of up to a few hundred KB,
``bytes.split`` into lines, one decoder call for the whole batch. Offsets:

- ``pos``: where the next ``os.read`` starts;
- ``consumed``: end of the last complete line handed to the decoder (``pos`` minus the
  partial line kept in ``tail``);
- ``safe``: how far a checkpoint may go now — ``consumed``, or the start of the oldest line
  the decoder still holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from logtide.agent.core.events import Event
from logtide.agent.inputs.tail.decoders import Decoder
from logtide.agent.inputs.tail.ranges import RangeTracker
from logtide.agent.inputs.tail.rows import FINGERPRINT_BYTES, Row

READ_BLOCK = 256 * 1024


def _utf8_cut(data: bytes, limit: int) -> int:
    """Largest cut <= limit that does not split a UTF-8 sequence."""
    if len(data) <= limit:
        return len(data)
    cut = limit
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


class LineStarts:
    """Start offsets of consecutive lines (each followed by one newline), worked out only
    for the lines asked about: most decoders ask for none, or for a held line now and then.
    Cheapest when asked in increasing order."""

    __slots__ = ("_base", "_index", "_lines", "_offset")

    def __init__(self, lines: list[bytes], base: int) -> None:
        self._lines = lines
        self._base = self._offset = base
        self._index = 0

    def __getitem__(self, index: int) -> int:
        if index < self._index:
            self._index, self._offset = 0, self._base
        offset = self._offset
        for line in self._lines[self._index : index]:
            offset += len(line) + 1
        self._index, self._offset = index, offset
        return offset


@dataclass(slots=True)
class LineRules:
    """The per-input line options, shared by every file."""

    max_line: int
    skip_long: bool
    truncate_long: bool
    skip_empty: bool


@dataclass(eq=False)
class TailedFile:
    """State of one tailed file (identified by device and inode, not by name)."""

    path: str
    fd: int
    dev: int
    inode: int
    tag: str
    decoder: Decoder
    rules: LineRules
    row: Row
    # Resolved path (symlinks followed), as file notifications name it.
    real: str = ""
    pos: int = 0
    # The file's size at the last fstat: how much to read next, when it is ahead of pos.
    size: int = 0
    tail: bytes = b""
    skip_next: bool = False
    rotated_at: float | None = None
    deleted: bool = False
    closed: bool = False
    eof: bool = False
    emitted_to: int = 0
    generation: int = 0
    tracker: RangeTracker = field(default_factory=lambda: RangeTracker(0))
    # Bytes just before ``consumed`` (for the checkpoint fingerprint).
    recent: bytes = b""
    long_lines_skipped: int = 0
    long_lines_truncated: int = 0
    empty_lines_skipped: int = 0
    # A file's first long line is logged (as Fluent Bit does); the rest are only counted.
    long_lines_told: bool = False

    @property
    def consumed(self) -> int:
        return self.pos - len(self.tail)

    @property
    def safe(self) -> int:
        held = self.decoder.held_from()
        return self.consumed if held is None else min(held, self.consumed)

    def fingerprint_at(self, offset: int) -> bytes:
        """Up to 256 bytes ending at ``offset`` from what was read (no I/O)."""
        back = self.consumed - offset
        if back < 0 or back > len(self.recent):
            return b""
        end = len(self.recent) - back
        return self.recent[max(0, end - FINGERPRINT_BYTES) : end]

    def seek(self, offset: int) -> None:
        os.lseek(self.fd, offset, os.SEEK_SET)
        self.pos = offset
        self.tail = b""
        self.skip_next = False
        self.recent = b""
        self.emitted_to = offset

    def read_batch(self, now: float, block: int = READ_BLOCK) -> list[Event] | None:
        """Read one block and decode its complete lines; None at end of file."""
        data = os.read(self.fd, block)
        if not data:
            self.eof = True
            return None
        # A short read of a regular file ends at its end: no second read to learn that.
        self.eof = len(data) < block
        tail = self.tail
        start = self.pos - len(tail)
        self.pos += len(data)
        lines = data.split(b"\n")
        rest = lines.pop()
        # The partial line left by the last read joins the first line only: gluing it in
        # front of the whole block would copy the block once more.
        if tail:
            if lines:
                lines[0] = tail + lines[0]
            else:
                rest = tail + rest
        consumed_len = len(tail) + len(data) - len(rest)
        if lines:
            end = len(data) - len(rest)
            self._remember(
                data[end - FINGERPRINT_BYTES : end]
                if end >= FINGERPRINT_BYTES
                else tail + data[:end]
            )
        limit = self.rules.max_line - 1
        special = (
            self.skip_next
            or self.rules.skip_empty
            or b"\0" in data
            or b"\0" in tail
            or (consumed_len > limit and max(map(len, lines), default=0) >= limit)
        )
        events = self._decode(lines, start, now, special) if lines else []
        if len(rest) >= limit:
            events.extend(self._long_rest(rest, start + consumed_len, now))
            self._remember(rest)
            rest = b""
        self.tail = rest
        return events

    def _remember(self, data: bytes) -> None:
        if len(data) >= FINGERPRINT_BYTES:
            self.recent = data[-FINGERPRINT_BYTES:]
        else:
            self.recent = (self.recent + data)[-FINGERPRINT_BYTES:]

    def finish(self, now: float) -> list[Event]:
        """End of input (``--once``, or a rotated file being closed): the unterminated last
        line counts as a line, and held records are flushed."""
        events: list[Event] = []
        if self.tail:
            rest, start = self.tail, self.consumed
            self.tail = b""
            self._remember(rest)
            events.extend(self._decode([rest], start, now, True))
        self.skip_next = False
        events.extend(self.decoder.flush_all(now))
        return events

    def _long_rest(self, rest: bytes, start: int, now: float) -> list[Event]:
        """An unterminated remainder already too long for Buffer_Max_Size: skip it (or emit
        its head with Truncate_Long_Lines) and drop the rest of that line as it arrives."""
        if self.skip_next:
            return []
        self.skip_next = True
        if not self.rules.truncate_long:
            self.long_lines_skipped += 1
            return []
        self.long_lines_truncated += 1
        head = rest[: _utf8_cut(rest, self.rules.max_line - 1)]
        return self.decoder.decode([head], [start], now)

    def _decode(self, lines: list[bytes], start: int, now: float, special: bool) -> list[Event]:
        decoder = self.decoder
        needs_offsets = decoder.needs_offsets
        if not special and not needs_offsets:
            return decoder.decode(lines, LineStarts(lines, start), now)
        rules = self.rules
        limit = rules.max_line - 1
        kept: list[bytes] = []
        starts: list[int] = []
        offset = start
        for line in lines:
            line_start = offset
            offset += len(line) + 1
            if special:
                if self.skip_next:
                    # The end of a long line whose head was skipped or truncated.
                    self.skip_next = False
                    continue
                if line[:1] == b"\0":
                    stripped = line.lstrip(b"\0")
                    line_start += len(line) - len(stripped)
                    line = stripped
                if rules.skip_empty and (not line or line == b"\r"):
                    self.empty_lines_skipped += 1
                    continue
                if len(line) >= limit:
                    if rules.truncate_long:
                        line = line[: _utf8_cut(line, limit)]
                        self.long_lines_truncated += 1
                    else:
                        self.long_lines_skipped += 1
                        continue
            kept.append(line)
            starts.append(line_start)
        if not kept:
            return []
        return decoder.decode(kept, starts, now)
