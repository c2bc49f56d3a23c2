"""Records to JSON lines exactly as Fluent Bit's s3 output writes them.

One object per line, the time key first (``date``, ISO-8601 UTC with microseconds by
default), then the record's keys in order. With ``log_key`` only that key's value is written:
a string as-is, anything else as JSON; records without the key are skipped (and counted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from logtide.agent.core.events import Record
from logtide.agent.core.serialize import dumps


def _split(ts: float) -> tuple[int, int]:
    seconds = int(ts // 1)
    micros = round((ts - seconds) * 1_000_000)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    return seconds, micros


def date_formatter(fmt: str) -> Callable[[float], Any]:
    """The function turning an event time into the value of the date key."""
    if fmt == "double":
        return float
    if fmt == "epoch":
        return lambda ts: int(ts // 1)
    if fmt == "epoch_ms":
        return lambda ts: int(ts * 1000)
    pattern = "%Y-%m-%dT%H:%M:%S" if fmt == "iso8601" else "%Y-%m-%d %H:%M:%S"
    tail = "Z" if fmt == "iso8601" else ""
    cache: dict[int, str] = {}

    def formatted(ts: float) -> str:
        seconds, micros = _split(ts)
        prefix = cache.get(seconds)
        if prefix is None:
            if len(cache) > 4096:
                cache.clear()
            prefix = cache[seconds] = time.strftime(pattern, time.gmtime(seconds))
        return f"{prefix}.{micros:06d}{tail}"

    return formatted


class LineWriter:
    """Serializes events to newline-terminated JSON lines."""

    def __init__(self, date_key: str | None, date_format: str, log_key: str | None) -> None:
        self.date_key = date_key
        self.log_key = log_key
        self._date = date_formatter(date_format)
        self.missing_log_key = 0

    def line(self, ts: float, record: Record) -> bytes | None:
        if self.log_key is not None:
            if self.log_key not in record:
                self.missing_log_key += 1
                return None
            value = record[self.log_key]
            if isinstance(value, str):
                return value.encode("utf-8", "replace") + b"\n"
            if isinstance(value, bytes):
                return value + b"\n"
            return dumps(value, newline=True)
        if self.date_key is not None:
            record = {self.date_key: self._date(ts), **record}
        return dumps(record, newline=True)
