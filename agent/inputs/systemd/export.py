"""Journal export format (what ``journalctl --output=export`` writes) into records.

An entry is a run of fields ended by an empty line. A field is ``NAME=value\\n`` when the value
is printable UTF-8, else ``NAME\\n`` then its length as 8 little-endian bytes, the raw value
and ``\\n``. Address fields (``__CURSOR``, ``__REALTIME_TIMESTAMP``, ...) start with ``__``:
they give the entry's cursor and time and are not part of the record, as in Fluent Bit, whose
record holds the entry's data fields only.

Records follow Fluent Bit's in_systemd: a field that repeats becomes an array (moved to the
end, where Fluent Bit re-inserts it), ``Strip_Underscores`` removes one leading ``_``,
``Lowercase`` lower-cases names, at most ``Max_Fields`` fields are kept, and bytes that are not
UTF-8 are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Shape:
    """How field names become record keys (the input's options)."""

    strip_underscores: bool = False
    lowercase: bool = False
    max_fields: int = 8000


@dataclass(slots=True)
class Entry:
    """One journal entry: its cursor, time (seconds), record and raw ``_SYSTEMD_UNIT``."""

    cursor: str
    time: float
    record: dict[str, Any]
    unit: str | None
    #: The raw (field, value) pairs, for filters that check the entry as written.
    fields: list[tuple[str, str]]


class ExportParser:
    """Feeds on blocks of export text as they arrive; yields whole entries."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self._pending = b""

    @property
    def pending(self) -> int:
        """Bytes of an entry not complete yet."""
        return len(self._pending)

    def feed(self, block: bytes) -> list[Entry]:
        buf = self._pending + block if self._pending else block
        entries: list[Entry] = []
        pos = 0
        size = len(buf)
        while pos < size:
            end = buf.find(b"\n\n", pos)
            if end < 0:
                break
            try:
                lines = buf[pos:end].decode().split("\n")
                fields = _text_fields(lines)
            except (UnicodeDecodeError, _Binary):
                parsed = _binary_entry(buf, pos)
                if parsed is None:
                    break
                fields, end = parsed
            entry = self._entry(fields)
            if entry is not None:
                entries.append(entry)
            pos = end + 2
        self._pending = buf[pos:]
        return entries

    def _entry(self, fields: list[tuple[str, str]]) -> Entry | None:
        shape = self.shape
        strip, lower, limit = shape.strip_underscores, shape.lowercase, shape.max_fields
        record: dict[str, Any] = {}
        cursor = ""
        usec = ""
        unit: str | None = None
        kept = 0
        for name, value in fields:
            if name.startswith("__"):
                if name == "__CURSOR":
                    cursor = value
                elif name == "__REALTIME_TIMESTAMP":
                    usec = value
                continue
            if unit is None and name == "_SYSTEMD_UNIT":
                unit = value
            if kept >= limit:
                continue
            kept += 1
            key = name[1:] if strip and name[0] == "_" else name
            if lower:
                key = key.lower()
            old = record.get(key)
            if old is None:
                record[key] = value
            elif isinstance(old, list):
                old.append(value)
            else:
                del record[key]
                record[key] = [old, value]
        if not cursor:
            return None
        try:
            seconds = int(usec) / 1_000_000
        except ValueError:
            seconds = 0.0
        return Entry(cursor, seconds, record, unit, fields)


class _Binary(Exception):
    """A field in binary form: the entry needs the slow path."""


def _text_fields(lines: list[str]) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep:
            raise _Binary
        fields.append((name, value))
    return fields


def _binary_entry(buf: bytes, pos: int) -> tuple[list[tuple[str, str]], int] | None:
    """Parse the entry at ``pos`` field by field; ``None`` when ``buf`` ends inside it.
    Returns the fields and the offset of the empty line's first ``\\n``."""
    fields: list[tuple[str, str]] = []
    size = len(buf)
    while True:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            return None
        if nl == pos:
            return fields, pos - 1
        eq = buf.find(b"=", pos, nl)
        if eq >= 0:
            fields.append(
                (buf[pos:eq].decode(errors="ignore"), buf[eq + 1 : nl].decode(errors="ignore"))
            )
            pos = nl + 1
            continue
        start = nl + 9
        if start > size:
            return None
        length = int.from_bytes(buf[nl + 1 : start], "little")
        stop = start + length
        if stop + 1 > size:
            return None
        name = buf[pos:nl].decode(errors="ignore")
        fields.append((name, buf[start:stop].decode(errors="replace")))
        pos = stop + 1
