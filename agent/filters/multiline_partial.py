"""``mode partial_message`` of the ``multiline`` filter: docker's split messages joined.

Docker's fluentd log driver splits a message over 16 KiB (and a line without its newline)
into records carrying ``partial_message``, ``partial_id``, ``partial_ordinal`` and
``partial_last``. Parts of one ``partial_id`` are concatenated in arrival order; the joined
record keeps the first part's other keys, loses the ``partial_*`` ones, and comes out where
its last part arrived. Records that are not partial pass unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logtide.agent.core.events import Event

PARTIAL_KEYS = ("partial_message", "partial_id", "partial_ordinal", "partial_last")


def _true(value: Any) -> bool:
    return value is True or (type(value) is str and value.lower() == "true")


@dataclass(slots=True)
class _Parts:
    first: Event
    key: str
    pieces: list[str] = field(default_factory=list)
    start: int = 0
    touched: float = 0.0


class PartialJoiner:
    """Joins the parts of split messages of one tag (the face :class:`MultilineStream` has
    for the filter: ``feed_event``, ``held_from``, ``flush_expired``, ``flush_all``)."""

    def __init__(self, flush_ms: int) -> None:
        self._limit = flush_ms / 1000.0
        self._open: dict[Any, _Parts] = {}

    def feed_event(self, event: Event, key: str, start: int, now: float) -> list[Event]:
        record = event[1]
        content = record.get(key)
        if not _true(record.get("partial_message")) or type(content) is not str:
            return [event]
        partial_id = record.get("partial_id")
        parts = self._open.get(partial_id)
        if parts is None:
            parts = self._open[partial_id] = _Parts(event, key, start=start)
        parts.pieces.append(content)
        parts.touched = now
        if not _true(record.get("partial_last")):
            return []
        del self._open[partial_id]
        return [self._joined(parts)]

    def feed_events(self, events: list[Event], key: str, start: int, now: float) -> list[Event]:
        out: list[Event] = []
        for event in events:
            out.extend(self.feed_event(event, key, start, now))
        return out

    def held_from(self) -> int | None:
        return min((parts.start for parts in self._open.values()), default=None)

    def flush_expired(self, now: float) -> list[Event]:
        expired = [pid for pid, parts in self._open.items() if now - parts.touched >= self._limit]
        return [self._joined(self._open.pop(pid)) for pid in expired]

    def flush_all(self, now: float) -> list[Event]:
        out = [self._joined(parts) for parts in self._open.values()]
        self._open.clear()
        return out

    @staticmethod
    def _joined(parts: _Parts) -> Event:
        stamp, first = parts.first
        record = {k: v for k, v in first.items() if k not in PARTIAL_KEYS}
        record[parts.key] = "".join(parts.pieces)
        return (stamp, record)
