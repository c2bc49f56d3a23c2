"""The Forward protocol's messages, both ways.

A message is a msgpack array whose second element tells its mode:

- Message: ``[tag, time, record, option?]``, one event;
- Forward: ``[tag, [[time, record], ...], option?]``;
- PackedForward: ``[tag, bin(entries), option?]``, the entries as one msgpack stream;
- CompressedPackedForward: the same with the stream gzipped and ``option.compressed``
  ``"gzip"`` (gzip members may follow each other, as Fluentd sends them).

A time is an integer (seconds), a float, or the EventTime extension (type 0: seconds and
nanoseconds, two big-endian uint32). Fluent Bit 2+ may send an entry's time as
``[time, metadata]``; the metadata is dropped. The option map's ``chunk`` asks the receiver
for ``{"ack": chunk}`` once it has taken the events; ``size`` counts them; other keys are
ignored. Events are logtide's ``(float seconds, record)``.

Records are decoded with invalid UTF-8 kept as surrogate escapes (so a PackedForward
stream some sender wrote as a msgpack string is still read back byte for byte); the
shared serialiser writes such characters as ``?``.
"""

from __future__ import annotations

import base64
import gzip
import math
import os
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import msgpack

from logtide.agent.core.events import Event

EVENT_TIME = 0
_EVENT_TIME = struct.Struct(">II")
_UINT32 = 0xFFFFFFFF
Mode = Literal["message", "forward", "packed", "compressed"]
MODES: tuple[Mode, ...] = ("message", "forward", "packed", "compressed")


class ProtocolError(ValueError):
    """Bytes or a message that do not follow the protocol; the text is one log line."""


@dataclass(slots=True)
class Incoming:
    """A decoded message: its tag, events, the ``chunk`` id it wants acknowledged, and
    whether its entries came gzipped (so its wire size says little of its weight)."""

    tag: str
    events: list[Event]
    chunk: str | None = None
    compressed: bool = False


def _ext_hook(code: int, data: bytes) -> Any:
    if code == EVENT_TIME and len(data) == _EVENT_TIME.size:
        seconds, nanos = _EVENT_TIME.unpack(data)
        return seconds + nanos / 1e9
    return msgpack.ExtType(code, data)


def unpacker(max_buffer_size: int) -> msgpack.Unpacker:
    """A streaming decoder for messages of at most ``max_buffer_size`` bytes."""
    return msgpack.Unpacker(
        raw=False,
        ext_hook=_ext_hook,
        timestamp=1,  # msgpack's own timestamp (ext -1) as float seconds
        strict_map_key=False,
        unicode_errors="surrogateescape",
        max_buffer_size=max_buffer_size,
        # Not msgpack's default, min(max_buffer_size, 1 MiB) allocated up front: one decoder
        # a connection, and the allocator kept ~20 KB of each (TCP probes' connections add
        # up). The buffer grows to any message up to max_buffer_size.
        read_size=min(max_buffer_size, 64 * 1024),
    )


def event_time(timestamp: float) -> msgpack.ExtType:
    """EventTime of ``timestamp`` (clamped into what two uint32 can hold)."""
    seconds = math.floor(timestamp)
    nanos = round((timestamp - seconds) * 1e9)
    if nanos >= 1_000_000_000:
        seconds, nanos = seconds + 1, nanos - 1_000_000_000
    if seconds < 0:
        seconds, nanos = 0, 0
    seconds = min(seconds, _UINT32)
    return msgpack.ExtType(EVENT_TIME, _EVENT_TIME.pack(seconds, nanos))


def _time(value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # Fluent Bit 2+: [time, metadata]
    if isinstance(value, list) and len(value) == 2 and not isinstance(value[0], list):
        return _time(value[0])
    raise ProtocolError(f"an event time must be a number or EventTime, got {_kind(value)}")


def _kind(value: Any) -> str:
    if isinstance(value, msgpack.ExtType):
        return f"ext type {value.code}"
    names: dict[type, str] = {dict: "map", list: "array", str: "string", bytes: "binary"}
    return names.get(type(value), type(value).__name__)


def _entry(entry: Any) -> Event:
    if not isinstance(entry, list) or len(entry) != 2:
        raise ProtocolError(f"an entry must be [time, record], got {_kind(entry)}")
    record = entry[1]
    if not isinstance(record, dict):
        raise ProtocolError(f"a record must be a map, got {_kind(record)}")
    return (_time(entry[0]), record)


def _option(message: list[Any], index: int) -> dict[Any, Any]:
    if len(message) <= index:
        return {}
    option = message[index]
    if option is None:
        return {}
    if not isinstance(option, dict):
        raise ProtocolError(f"the option must be a map, got {_kind(option)}")
    return option


def _binary(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def _packed_entries(data: bytes, compressed: Any) -> list[Event]:
    if compressed == "gzip":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ProtocolError(f"compressed entries are not valid gzip: {exc}") from None
    elif compressed not in (None, "text"):
        raise ProtocolError(f"unknown compression {compressed!r}")
    stream = unpacker(max(len(data), 1))
    stream.feed(data)
    try:
        events = [_entry(entry) for entry in stream]
    except (msgpack.UnpackException, ValueError) as exc:
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError(f"packed entries are not valid msgpack: {exc}") from None
    return events


def decode(message: Any) -> Incoming:
    """The events of one message, in any of the four modes; :class:`ProtocolError` if it
    does not follow the protocol."""
    if not isinstance(message, list) or len(message) < 2:
        raise ProtocolError(f"a message must be an array [tag, ...], got {_kind(message)}")
    tag = message[0]
    if not isinstance(tag, str):
        raise ProtocolError(f"the tag must be a string, got {_kind(tag)}")
    second = message[1]
    if isinstance(second, list):
        if len(message) > 3:
            raise ProtocolError(f"a Forward message has 2 or 3 elements, got {len(message)}")
        option = _option(message, 2)
        events = [_entry(entry) for entry in second]
    elif isinstance(second, bytes | str):
        if len(message) > 3:
            raise ProtocolError(f"a PackedForward message has 2 or 3 elements, got {len(message)}")
        option = _option(message, 2)
        events = _packed_entries(_binary(second), option.get("compressed"))
    else:
        if len(message) not in (3, 4):
            raise ProtocolError(f"a Message has 3 or 4 elements, got {len(message)}")
        option = _option(message, 3)
        events = [_entry(message[1:3])]
    compressed = option.get("compressed") == "gzip"
    chunk = option.get("chunk")
    if chunk is not None and not isinstance(chunk, str | bytes):
        raise ProtocolError(f"option chunk must be a string, got {_kind(chunk)}")
    if isinstance(chunk, bytes):
        chunk = chunk.decode("utf-8", "surrogateescape")
    return Incoming(tag, events, chunk, compressed)


# -- encoding ----------------------------------------------------------------------------


def _fallback(value: Any) -> Any:
    """What msgpack has no type for: sets and tuples as arrays, anything else its text."""
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _packer() -> msgpack.Packer:
    return msgpack.Packer(use_bin_type=True, default=_fallback)


def _safe(value: Any) -> Any:
    """``value`` with integers msgpack cannot hold (beyond 64 bits) as their text."""
    if isinstance(value, dict):
        return {key: _safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(item) for item in value]
    big = isinstance(value, int) and not -(2**63) <= value < 2**64
    return str(value) if big else value


def _entry_time(timestamp: float, as_integer: bool) -> Any:
    return int(timestamp) if as_integer else event_time(timestamp)


def _pack_entry(packer: msgpack.Packer, timestamp: float, record: Any, as_integer: bool) -> bytes:
    entry = [_entry_time(timestamp, as_integer), record]
    try:
        return bytes(packer.pack(entry))
    except OverflowError:
        return bytes(packer.pack(_safe(entry)))


def pack_entries(events: Iterable[Event], time_as_integer: bool = False) -> bytes:
    """The entries ``[time, record]`` as one msgpack stream (PackedForward's payload)."""
    packer = _packer()
    return b"".join([_pack_entry(packer, t, r, time_as_integer) for t, r in events])


def split_entries(
    events: list[Event], max_bytes: int, time_as_integer: bool = False
) -> list[tuple[list[Event], bytes]]:
    """The events as PackedForward payloads of at most ``max_bytes`` each (a single larger
    entry goes alone), with the events each carries."""
    packer = _packer()
    out: list[tuple[list[Event], bytes]] = []
    group: list[Event] = []
    parts: list[bytes] = []
    size = 0
    for event in events:
        data = _pack_entry(packer, event[0], event[1], time_as_integer)
        if parts and size + len(data) > max_bytes:
            out.append((group, b"".join(parts)))
            group, parts, size = [], [], 0
        group.append(event)
        parts.append(data)
        size += len(data)
    if parts:
        out.append((group, b"".join(parts)))
    return out


def new_chunk_id() -> str:
    """A unique ``chunk`` id (16 random bytes, base64), as Fluentd and Fluent Bit make."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def _option_map(
    count: int, chunk: str | None, options: bool, extra: dict[str, Any] | None
) -> dict[str, Any]:
    option: dict[str, Any] = {}
    if chunk is not None or options:
        option["size"] = count
    if chunk is not None:
        option["chunk"] = chunk
    if options and extra:
        option.update(extra)
    return option


def packed_message(
    tag: str,
    entries: bytes,
    count: int,
    *,
    compress: bool = False,
    chunk: str | None = None,
    options: bool = False,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """A PackedForward message (CompressedPackedForward with ``compress``) of ``count``
    packed entries; the option map when asked for (``options``, or a ``chunk`` to ack)."""
    option = _option_map(count, chunk, options or compress, extra)
    if compress:
        entries = gzip.compress(entries, compresslevel=6)
        option["compressed"] = "gzip"
    body: list[Any] = [tag, entries]
    if option:
        body.append(option)
    return bytes(_packer().pack(body))


def encode(
    tag: str,
    events: list[Event],
    mode: Mode = "packed",
    *,
    time_as_integer: bool = False,
    chunk: str | None = None,
    options: bool = False,
) -> bytes:
    """One message carrying ``events`` in ``mode``; with ``chunk`` (or ``options``) it
    carries the option map (``size``, ``chunk``, ``compressed``)."""
    if mode in ("packed", "compressed"):
        entries = pack_entries(events, time_as_integer)
        return packed_message(
            tag, entries, len(events), compress=mode == "compressed", chunk=chunk, options=options
        )
    if mode == "message":
        if len(events) != 1:
            raise ValueError("Message mode carries exactly one event")
        timestamp, record = events[0]
        body: list[Any] = [tag, _entry_time(timestamp, time_as_integer), record]
    else:
        body = [tag, [[_entry_time(t, time_as_integer), r] for t, r in events]]
    option = _option_map(len(events), chunk, options, None)
    if option:
        body.append(option)
    packer = _packer()
    try:
        return bytes(packer.pack(body))
    except OverflowError:
        return bytes(packer.pack(_safe(body)))


def ack_for(chunk: str) -> bytes:
    """The receiver's answer to a message whose option held ``chunk``."""
    return bytes(_packer().pack({"ack": chunk}))


def read_ack(answer: Any) -> str:
    """The chunk id an ack answer names; :class:`ProtocolError` if it is not one."""
    if not isinstance(answer, dict) or not isinstance(answer.get("ack"), str | bytes):
        raise ProtocolError(f"expected an ack {{'ack': chunk}}, got {_kind(answer)}")
    chunk = answer["ack"]
    return chunk if isinstance(chunk, str) else chunk.decode("utf-8", "surrogateescape")
