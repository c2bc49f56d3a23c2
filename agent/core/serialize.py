"""Record serialisation shared by every output: JSON lines via orjson, and Fluent Bit's
``json_date_format`` timestamp renderings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson

from agent.core.events import Event
from agent.core.timestamps import clamp_time

DATE_FORMATS = ("double", "epoch", "epoch_ms", "iso8601", "java_sql_timestamp")


def _fallback(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError


def dumps(record: Any) -> bytes:
    """Compact JSON of a record; falls back to the stdlib for integers beyond 64 bits."""
    try:
        return orjson.dumps(record, default=_fallback)
    except TypeError:
        return json.dumps(
            record, separators=(",", ":"), ensure_ascii=False, default=_fallback
        ).encode()


def record_lines(records: list[Any]) -> bytes:
    """Records as JSON lines. One ``orjson.dumps`` per record with no wrapper call between:
    this runs once per record for every line-oriented output."""
    try:
        return b"".join([orjson.dumps(record, default=_fallback) + b"\n" for record in records])
    except TypeError:  # an integer beyond 64 bits somewhere in the batch
        return b"".join(dumps(record) + b"\n" for record in records)


def format_date(timestamp: float, fmt: str) -> Any:
    """Render an event time as Fluent Bit's ``json_date_format`` does; a time no date can
    hold is rendered clamped to years 1..9999 (one record must never fail a batch)."""
    timestamp = clamp_time(timestamp)
    if fmt == "double":
        return round(timestamp, 6)
    if fmt == "epoch":
        return int(timestamp)
    if fmt == "epoch_ms":
        return int(timestamp * 1000)
    moment = datetime.fromtimestamp(timestamp, UTC)
    if fmt == "iso8601":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if fmt == "java_sql_timestamp":
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    raise ValueError(f"unknown date format {fmt!r}; valid: {', '.join(DATE_FORMATS)}")


def with_date(
    record: dict[str, Any], key: str | None, timestamp: float, fmt: str
) -> dict[str, Any]:
    """The record with the date key first, as Fluent Bit writes JSON outputs."""
    if not key:
        return record
    return {key: format_date(timestamp, fmt), **record}


def json_lines_size(events: list[Event]) -> int:
    """Bytes of the records as JSON lines, the ``bytes`` metrics count (Fluent Bit measures
    msgpack); one C-speed serialisation per chunk keeps it cheap."""
    if not events:
        return 0
    try:
        return len(dumps([record for _, record in events])) - 1
    except (TypeError, ValueError):
        return 0
