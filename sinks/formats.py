"""Text renderings of events shared by the ``stdout`` and ``file`` outputs."""

from __future__ import annotations

import re
from typing import Any

from logtide.agent.core.events import Event
from logtide.agent.core.serialize import dumps, record_lines, with_date
from logtide.agent.core.timestamps import MAX_TIME, MIN_TIME, clamp_time


def _time_text(timestamp: float) -> str:
    timestamp = clamp_time(timestamp)
    seconds = int(timestamp)
    nanos = round((timestamp - seconds) * 1e9)
    if nanos >= 1_000_000_000:
        seconds, nanos = seconds + 1, nanos - 1_000_000_000
    return f"{seconds}.{nanos:09d}"


def _time_texts(stamps: list[float]) -> list[str]:
    """:func:`_time_text` of each time, a chunk at a time: a time to clamp (NaN, infinite or
    beyond years 1..9999) or whose nanoseconds round up to a second sends the chunk through
    :func:`_time_text`."""
    try:
        seconds = list(map(int, stamps))
    except (ValueError, OverflowError):
        return list(map(_time_text, stamps))
    if stamps and (min(stamps) < MIN_TIME or max(stamps) > MAX_TIME):
        return list(map(_time_text, stamps))
    nanos = [round((ts - whole) * 1e9) for ts, whole in zip(stamps, seconds, strict=True)]
    if nanos and max(nanos) >= 1_000_000_000:
        return list(map(_time_text, stamps))
    return [f"{whole}.{part:09d}" for whole, part in zip(seconds, nanos, strict=True)]


def _msgpack_text(value: Any) -> str:
    """Fluent Bit's human-readable msgpack print: maps as ``{"k"=>v}``."""
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{_msgpack_text(k)}=>{_msgpack_text(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_msgpack_text(v) for v in value) + "]"
    if isinstance(value, str):
        return dumps(value).decode()
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:f}"
    return str(value)


def msgpack_lines(tag: str, events: list[Event]) -> list[str]:
    return [
        f"[{index}] {tag}: [[{_time_text(ts)}, {{}}], {_msgpack_text(record)}]\n"
        for index, (ts, record) in enumerate(events)
    ]


def json_lines(events: list[Event], date_key: str | None, date_format: str) -> bytes:
    return record_lines([with_date(record, date_key, ts, date_format) for ts, record in events])


def json_array(events: list[Event], date_key: str | None, date_format: str) -> bytes:
    return (
        b"["
        + b",".join(dumps(with_date(record, date_key, ts, date_format)) for ts, record in events)
        + b"]"
    )


def out_file_lines(tag: str, events: list[Event]) -> bytes:
    """``tag: [time, record]`` lines: the default format of the file output, so it runs
    once per record of every such pipeline (the times a chunk at a time)."""
    times = _time_texts([ts for ts, _ in events])
    return b"".join(
        [
            f"{tag}: [{time}, ".encode() + dumps(record) + b"]\n"
            for time, (_, record) in zip(times, events, strict=True)
        ]
    )


def plain_lines(events: list[Event]) -> bytes:
    return record_lines([record for _, record in events])


def _flat(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value).decode()


def csv_lines(events: list[Event], delimiter: str, columns: bool) -> bytes:
    rows: list[str] = []
    if columns and events:
        rows.append(delimiter.join(["timestamp", *events[0][1].keys()]))
    for ts, record in events:
        cells = [_time_text(ts)]
        cells.extend('"' + _flat(v).replace('"', '""') + '"' for v in record.values())
        rows.append(delimiter.join(cells))
    return ("\n".join(rows) + "\n").encode() if rows else b""


def ltsv_lines(events: list[Event], delimiter: str, label_delimiter: str) -> bytes:
    rows = []
    for ts, record in events:
        fields = [f"time{label_delimiter}{_time_text(ts)}"]
        fields.extend(f"{k}{label_delimiter}{_flat(v)}" for k, v in record.items())
        rows.append(delimiter.join(fields))
    return ("\n".join(rows) + "\n").encode() if rows else b""


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def template_lines(events: list[Event], template: str) -> bytes:
    """Fluent Bit's ``Format template``: ``{time}`` is the event time (``%f`` seconds), any
    other ``{key}`` the record's value (strings raw, other values in msgpack's print form);
    a placeholder whose key the record lacks stays as written."""
    out = []
    for ts, record in events:

        def fill(match: re.Match[str], ts: float = ts, record: dict[str, Any] = record) -> str:
            key = match.group(1)
            if key == "time":
                return f"{clamp_time(ts):f}"
            if key not in record:
                return match.group(0)
            value = record[key]
            return value if isinstance(value, str) else _msgpack_text(value)

        out.append(_PLACEHOLDER.sub(fill, template) + "\n")
    return "".join(out).encode()
