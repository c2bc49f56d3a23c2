"""Request bodies of the ``http`` output, one per format, and their Content-Type.

``json`` is one array, ``json_lines`` one object per line, ``json_stream`` the objects back
to back; all three carry the event time under ``json_date_key`` (first) in
``json_date_format``. ``msgpack`` is Fluent Bit's event format, the body Fluent Bit itself
sends: one ``[[time, {}], record]`` array per event, the time as the EventTime extension
(type 0: seconds and nanoseconds, 32 bits each). ``gelf`` is one GELF object per line
(``gelf.py``); a record with no GELF form is left out and reported, never failing the rest.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import msgpack

from logtide.agent.core.events import Event
from logtide.agent.core.serialize import dumps, with_date
from logtide.agent.core.timestamps import clamp_time
from logtide.sinks.formats import json_array, json_lines
from logtide.sinks.http.gelf import GelfError, GelfKeys, gelf_record

CONTENT_TYPES = {
    "json": "application/json",
    "json_stream": "application/json",
    "gelf": "application/json",
    "json_lines": "application/x-ndjson",
    "msgpack": "application/msgpack",
}
_UINT32 = 2**32 - 1
_INT64 = range(-(2**63), 2**64)


@dataclass(slots=True)
class Body:
    data: bytes
    #: Records that have no form in this format, and the first one's reason.
    skipped: int = 0
    reason: str = ""


def event_time(timestamp: float) -> msgpack.ExtType:
    """Fluent's EventTime for ``timestamp`` (clamped into what 32-bit seconds can hold)."""
    moment = min(max(clamp_time(timestamp), 0.0), float(_UINT32))
    seconds = int(moment)
    nanos = min(round((moment - seconds) * 1e9), 999_999_999)
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanos))


def _packable(value: Any) -> Any:
    """``value`` with what msgpack has no spelling for (integers past 64 bits, other
    types) turned into text, so one odd value never fails its batch."""
    if isinstance(value, dict):
        return {_packable(k): _packable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_packable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, float | str | bytes):
        return value
    if isinstance(value, int):
        return value if value in _INT64 else str(value)
    return str(value)


def msgpack_events(events: list[Event]) -> bytes:
    packer = msgpack.Packer(autoreset=True, use_bin_type=True)
    out = []
    for timestamp, record in events:
        header = [event_time(timestamp), {}]
        try:
            out.append(packer.pack([header, record]))
        except (OverflowError, TypeError, ValueError):
            out.append(packer.pack([header, _packable(record)]))
    return b"".join(out)


def gelf_lines(events: list[Event], keys: GelfKeys) -> Body:
    lines: list[bytes] = []
    body = Body(b"")
    for timestamp, record in events:
        try:
            lines.append(gelf_record(record, timestamp, keys) + b"\n")
        except GelfError as exc:
            body.skipped += 1
            body.reason = body.reason or str(exc)
    body.data = b"".join(lines)
    return body


def build_body(
    fmt: str, events: list[Event], date_key: str | None, date_format: str, keys: GelfKeys
) -> Body:
    if fmt == "json":
        return Body(json_array(events, date_key, date_format))
    if fmt == "json_lines":
        return Body(json_lines(events, date_key, date_format))
    if fmt == "json_stream":
        return Body(
            b"".join(dumps(with_date(record, date_key, ts, date_format)) for ts, record in events)
        )
    if fmt == "msgpack":
        return Body(msgpack_events(events))
    if fmt == "gelf":
        return gelf_lines(events, keys)
    raise ValueError(f"unknown format {fmt!r}")
