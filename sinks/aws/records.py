"""Turning records into the bytes AWS APIs carry: JSON bodies, ``log_key`` values, times."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from logtide.agent.core.events import Event, Record
from logtide.agent.core.serialize import dumps
from logtide.agent.core.timestamps import clamp_time


def value_bytes(value: Any) -> bytes:
    """The bytes of one value for ``log_key``: strings raw, anything else as JSON."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return dumps(value)


def epoch_ms(timestamp: float) -> int:
    """Seconds (float) -> whole milliseconds, truncated as Fluent Bit truncates nanoseconds.

    The float is first rounded to microseconds so 1.714 (stored as 1.71399999...) gives
    1714 rather than 1713.
    """
    return round(timestamp * 1_000_000) // 1000


def truncate_utf8(data: bytes, limit: int) -> bytes:
    """Cut ``data`` to at most ``limit`` bytes without splitting a UTF-8 character."""
    if len(data) <= limit:
        return data
    cut = limit
    # Step back over continuation bytes (10xxxxxx) to the start of the cut character.
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return data[:cut]


def log_key_value(record: Record, key: str) -> tuple[bool, Any]:
    """``(found, value)`` of ``key`` at the top level of ``record``."""
    if key in record:
        return True, record[key]
    return False, None


def format_time(timestamp: float, fmt: str) -> str:
    """strftime in UTC plus Fluent Bit's ``%3N`` (ms), ``%9N`` and ``%L`` (ns); a time no date
    can show is clamped, so one record never fails its batch."""
    timestamp = clamp_time(timestamp)
    seconds = int(timestamp // 1)
    nanos = round((timestamp - seconds) * 1_000_000) * 1000
    fmt = fmt.replace("%3N", f"{nanos // 1_000_000:03d}")
    fmt = fmt.replace("%9N", f"{nanos:09d}").replace("%L", f"{nanos:09d}")
    return time.strftime(fmt, time.gmtime(seconds))


@dataclass(slots=True)
class BuildStats:
    """What turning a flush's events into records left out or changed, for the metrics."""

    empty: int = 0
    missing_key: int = 0
    too_large: int = 0
    truncated: int = 0


@dataclass(slots=True)
class RecordBuilder:
    """One event -> the newline-terminated bytes Firehose and Kinesis Data Streams carry
    (Fluent Bit's shared ``process_event``): the record as JSON or its ``log_key`` value,
    with ``time_key`` added to a map. Size limits are the caller's: they differ per API."""

    log_key: str | None
    time_key: str | None
    time_key_format: str

    def line(self, event: Event, stats: BuildStats) -> bytes | None:
        """The bytes for one event, or ``None`` if it is skipped (counted in ``stats``)."""
        timestamp, record = event
        value: Any = record
        if self.log_key is not None:
            found, value = log_key_value(record, self.log_key)
            if not found:
                stats.missing_key += 1
                return None
        if self.time_key is not None and isinstance(value, dict):
            value = {**value, self.time_key: format_time(timestamp, self.time_key_format)}
        data = dumps(value) if isinstance(value, dict) else value_bytes(value)
        if not data or data == b"{}":
            stats.empty += 1
            return None
        return data + b"\n"
