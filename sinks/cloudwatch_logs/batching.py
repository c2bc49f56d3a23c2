"""Records -> CloudWatch log events -> PutLogEvents batches that AWS accepts, each encoded
once (:func:`encode_events`) for both the journal and the request.

Most flushes are one stream's whole records, none empty or too large or too old:
:func:`whole_record_batches` orders, cuts and encodes those a column at a time, with no
object per event. Anything else takes the per-event path (:func:`build_event`,
:func:`split_batches`), which decides each event on its own.

AWS's rules for one PutLogEvents call: at most 10,000 events; at most 1,048,576 bytes,
counted as each message's UTF-8 bytes plus 26; events in chronological order; the newest
minus the oldest under 24 hours; no event older than 14 days or more than 2 hours ahead.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from operator import attrgetter

import orjson

from logtide.agent.core.events import Event
from logtide.agent.core.serialize import dumps, record_texts
from logtide.sinks.aws.records import epoch_ms, log_key_value, truncate_utf8, value_bytes

MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
# Fluent Bit 5.1.1 caps one message at 1,000,000 bytes (AWS's event limit is 1 MiB).
MAX_EVENT_BYTES = 1_000_000
MAX_SPAN_MS = 24 * 3600 * 1000
MAX_AGE_MS = 14 * 24 * 3600 * 1000
MAX_AHEAD_MS = 2 * 3600 * 1000


@dataclass(slots=True)
class LogEvent:
    """One CloudWatch event and the pipeline event it came from (for ``remaining=``)."""

    timestamp: int
    message: str
    size: int
    source: Event


@dataclass(slots=True)
class BuildStats:
    empty: int = 0
    missing_key: int = 0
    truncated: int = 0


@dataclass(slots=True)
class SplitResult:
    batches: list[list[LogEvent]] = field(default_factory=list)
    too_old: list[LogEvent] = field(default_factory=list)
    too_new: list[LogEvent] = field(default_factory=list)


def build_event(event: Event, log_key: str | None, stats: BuildStats) -> LogEvent | None:
    """The CloudWatch event for one record, or ``None`` when Fluent Bit would skip it."""
    timestamp, record = event
    if log_key is None:
        data = dumps(record)
    else:
        found, value = log_key_value(record, log_key)
        if not found:
            stats.missing_key += 1
            return None
        data = value_bytes(value)
    # Fluent Bit drops messages that serialise to nothing ({} or an empty log_key value).
    if not data or data == b"{}":
        stats.empty += 1
        return None
    if len(data) > MAX_EVENT_BYTES:
        data = truncate_utf8(data, MAX_EVENT_BYTES)
        stats.truncated += 1
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError:
        message = data.decode("utf-8", "replace")
        data = message.encode("utf-8")
    return LogEvent(epoch_ms(timestamp), message, len(data), event)


def split_batches(events: list[LogEvent], now_ms: int) -> SplitResult:
    """Sort (stably) by time, set aside what AWS would reject, and cut batches at every limit."""
    result = SplitResult()
    oldest_ok = now_ms - MAX_AGE_MS
    newest_ok = now_ms + MAX_AHEAD_MS
    batch: list[LogEvent] = []
    batch_bytes = 0
    for item in sorted(events, key=_BY_TIME):
        if item.timestamp < oldest_ok:
            result.too_old.append(item)
            continue
        if item.timestamp > newest_ok:
            result.too_new.append(item)
            continue
        cost = item.size + EVENT_OVERHEAD
        if batch and (
            len(batch) >= MAX_BATCH_EVENTS
            or batch_bytes + cost > MAX_BATCH_BYTES
            or item.timestamp - batch[0].timestamp >= MAX_SPAN_MS
        ):
            result.batches.append(batch)
            batch, batch_bytes = [], 0
        batch.append(item)
        batch_bytes += cost
    if batch:
        result.batches.append(batch)
    return result


_BY_TIME = attrgetter("timestamp")


def encode_events(batch: list[LogEvent]) -> bytes:
    """A batch as PutLogEvents' ``logEvents`` JSON array: written once, it is both the
    journal's copy of the batch and the request's (encoding it twice cost ~1 us an event)."""
    return orjson.dumps([{"timestamp": item.timestamp, "message": item.message} for item in batch])


@dataclass(slots=True)
class EncodedBatch:
    """A batch ready to put: its pipeline events (for ``remaining=``) and its ``logEvents``."""

    sources: list[Event]
    encoded: bytes


def whole_record_batches(events: list[Event], now_ms: int) -> list[EncodedBatch] | None:
    """``events`` as batches of their whole records in time order, or ``None`` when any
    event needs a decision of its own (dropped as empty, truncated, set aside for its age,
    or a batch cut at the 24-hour span): :func:`build_event` and :func:`split_batches`
    then."""
    if not events:
        return []
    messages = record_texts([record for _, record in events])
    if all(map(str.isascii, messages)):
        sizes = list(map(len, messages))
    else:
        sizes = [len(message.encode()) for message in messages]
    if "{}" in messages or max(sizes) > MAX_EVENT_BYTES:
        return None
    # epoch_ms, inlined: a call per event is what this path saves.
    stamps = [round(ts * 1_000_000) // 1000 for ts, _ in events]
    if stamps != sorted(stamps):
        # Several files under one tag: ordered as split_batches orders them (stably).
        order = sorted(range(len(stamps)), key=stamps.__getitem__)
        stamps = [stamps[i] for i in order]
        messages = [messages[i] for i in order]
        sizes = [sizes[i] for i in order]
        events = [events[i] for i in order]
    oldest, newest = stamps[0], stamps[-1]
    if (
        oldest < now_ms - MAX_AGE_MS
        or newest > now_ms + MAX_AHEAD_MS
        or newest - oldest >= MAX_SPAN_MS
    ):
        return None
    # ends[i]: the bytes AWS counts for events 0..i, so a batch from ``start`` takes every
    # event whose end is within MAX_BATCH_BYTES of the end before ``start``.
    ends = list(itertools.accumulate(map(EVENT_OVERHEAD.__add__, sizes)))
    batches: list[EncodedBatch] = []
    start, before = 0, 0
    while start < len(events):
        stop = bisect.bisect_right(ends, before + MAX_BATCH_BYTES, start)
        stop = min(stop, start + MAX_BATCH_EVENTS)
        encoded = orjson.dumps(
            [
                {"timestamp": stamp, "message": message}
                for stamp, message in zip(stamps[start:stop], messages[start:stop], strict=True)
            ]
        )
        batches.append(EncodedBatch(events[start:stop], encoded))
        start, before = stop, ends[stop - 1]
    return batches


def batch_bytes(batch: list[LogEvent]) -> int:
    """The size AWS counts for a batch."""
    return sum(item.size + EVENT_OVERHEAD for item in batch)
