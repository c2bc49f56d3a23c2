"""Turning records into the bytes AWS APIs carry: JSON bodies, ``log_key`` values, times."""

from __future__ import annotations

import math
from typing import Any

from logtide.agent.core.events import Record
from logtide.agent.core.serialize import dumps


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
    return math.floor(round(timestamp * 1_000_000) / 1000)


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
