"""Record serialisation shared by every output: JSON lines via orjson, and Fluent Bit's
``json_date_format`` timestamp renderings."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import orjson

from logtide.agent.core.events import Event
from logtide.agent.core.timestamps import clamp_time

DATE_FORMATS = ("double", "epoch", "epoch_ms", "iso8601", "java_sql_timestamp")


# Keys that are not strings (ints from a Lua filter, say) are written as their text.
_NON_STR = orjson.OPT_NON_STR_KEYS


def _fallback(value: Any) -> Any:
    """Types JSON has no spelling for: raw bytes become text, sets lists, anything else its
    ``str`` (one odd value must never fail the batch it is in)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _key_text(key: Any) -> str:
    """A dict key as JSON writes it: ``1``, ``true`` and ``null`` as their JSON text, bytes
    decoded, anything else (a tuple, which a python filter can set) its ``str``."""
    if isinstance(key, str):
        return key
    if isinstance(key, int | float | None):
        return json.dumps(key)
    if isinstance(key, bytes | bytearray | memoryview):
        return str(_fallback(key))
    return str(key)


def _plain_keys(value: Any) -> Any:
    """``value`` with every dict key, at any depth, as the text JSON writes for it (what
    ``json`` does itself for the keys it takes; it refuses a tuple or bytes key, which a
    python filter can set, and cannot sort int keys among str ones), and NaN and the
    infinities as null."""
    if isinstance(value, dict):
        return {_key_text(key): _plain_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_keys(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # as orjson writes them: JSON has no NaN or infinity
    return value


def _stdlib(value: Any, sort_keys: bool) -> bytes:
    # What orjson refuses without asking ``_fallback``: integers beyond 64 bits, strings
    # with lone surrogates (written as U+FFFD's stand-in, "?") and keys of other types.
    text = json.dumps(
        _plain_keys(value),
        separators=(",", ":"),
        ensure_ascii=False,
        default=_fallback,
        sort_keys=sort_keys,
    )
    return text.encode("utf-8", "replace")


def dumps(value: Any, *, sort_keys: bool = False, newline: bool = False) -> bytes:
    """Compact JSON of a record or value, keys in record order (or sorted), UTF-8
    unescaped, as Fluent Bit writes records; every output's one serialiser. Never fails on
    a record's data: what orjson refuses (an integer beyond 64 bits) goes through the stdlib.
    ``newline`` ends it with ``\\n`` (a JSON line) in bytes of its own size: a line is what
    callers hold (a flush's S3 lines, a bulk request's items), and the bytes orjson returns
    keep the buffer it wrote them in, 4 KiB at least. ``OPT_NON_STR_KEYS`` is asked for only
    when a key needs it: it costs every dict (~0.4 us a 750-byte record).
    """
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    try:
        data = orjson.dumps(value, default=_fallback, option=option)
    except TypeError:
        try:
            data = orjson.dumps(value, default=_fallback, option=option | _NON_STR)
        except TypeError:
            data = _stdlib(value, sort_keys)
    return data + b"\n" if newline else data


def record_lines(records: list[Any]) -> bytes:
    """Records as JSON lines, each as :func:`dumps` writes it. One ``orjson.dumps`` per record
    with no wrapper call between (this runs once per record for every line-oriented output);
    without ``OPT_NON_STR_KEYS``, which costs every record, since a key that needs it makes
    orjson raise and the batch take the :func:`dumps` path."""
    try:
        return b"".join([orjson.dumps(record, default=_fallback) + b"\n" for record in records])
    except TypeError:  # an integer beyond 64 bits, a non-string key somewhere in the batch
        return b"".join([dumps(record, newline=True) for record in records])


def record_texts(records: list[Any]) -> list[str]:
    """Each record's JSON as :func:`dumps` writes it, as text: one ``orjson.dumps`` per
    record with no wrapper call between; a record orjson refuses sends the list through
    :func:`dumps`. Text, because the bytes orjson returns keep the whole buffer it wrote
    them in (4 KiB at least): a flush of records held as bytes cost 12 MiB more peak RSS
    in bench scenario b."""
    try:
        return [orjson.dumps(record, default=_fallback).decode() for record in records]
    except TypeError:
        return [dumps(record).decode() for record in records]


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
