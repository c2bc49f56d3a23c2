"""The unit of work: a chunk of events under one tag, with its acknowledgement.

An event is ``(timestamp, record)``: seconds since the epoch as a float, and a dict.
Chunks, not single events, cross every stage boundary, so per-event cost stays plain Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]
Event = tuple[float, Record]


class Ack:
    """Reference-counted acknowledgement of the source data behind a chunk.

    The producer holds one reference from creation. Every destination a chunk (or a chunk
    derived from it) is handed to calls :meth:`retain` first and :meth:`settle` once it has
    accepted or finally failed it. When the count reaches zero the callback fires once with
    ``True`` if every destination accepted, so an input advances its checkpoint only over
    data that is durable everywhere it was routed.

    ``awaited`` says a peer waits for the settlement before it sends more (a forward
    client's ``chunk`` ack): outputs then flush such a chunk as soon as nothing else is
    queued instead of at the end of their ``Flush`` interval.
    """

    __slots__ = ("_callback", "_failed", "_pending", "awaited")

    def __init__(
        self, callback: Callable[[bool], None] | None = None, *, awaited: bool = False
    ) -> None:
        self._pending = 1
        self._failed = False
        self._callback = callback
        self.awaited = awaited

    @property
    def done(self) -> bool:
        return self._pending == 0

    @property
    def failed(self) -> bool:
        return self._failed

    def retain(self, count: int = 1) -> None:
        if self._pending <= 0:
            raise RuntimeError("retain() on an acknowledgement that already fired")
        self._pending += count

    def settle(self, ok: bool = True) -> None:
        if self._pending <= 0:
            raise RuntimeError("settle() called more often than retain()")
        if not ok:
            self._failed = True
        self._pending -= 1
        if self._pending == 0 and self._callback is not None:
            callback, self._callback = self._callback, None
            callback(not self._failed)


def noop_ack() -> Ack:
    """An acknowledgement nobody waits for (records pushed by tests, dummy input)."""
    return Ack(None)


# (Chunk.mark, Origin.end): an exactly-once output's watermark for one chunk.
Progress = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a chunk's events came from: bytes ``[start, end)`` of source ``source``.

    ``source`` names one file's content across renames (the tail input's checkpoint row), so
    an output that records how far it got per source can recognise a chunk it already holds
    when a restart reads the same bytes again.
    """

    source: str
    start: int
    end: int


@dataclass(slots=True)
class Chunk:
    """Events that share a tag, the acknowledgement of their source, and their origin.

    ``source`` names the input instance (its Alias, or ``name.N``) so stream tasks can select
    ``FROM STREAM:<source>``; derived chunks carry the stream's name. ``size`` is the bytes
    the events came from, when the input knows it (0: the engine estimates it once).
    ``origin`` is the source range behind the events, when the input has one; chunks derived
    from it by stream tasks keep it. ``continues`` names the stream whose chunks these events
    carry on (records a filter joined from lines of that stream's chunks, re-emitted under
    its emitter's name): exactly-once outputs count them under that stream's mark, in line
    with the chunks they were joined from.
    """

    tag: str
    events: list[Event]
    ack: Ack = field(default_factory=noop_ack)
    source: str = ""
    size: int = 0
    origin: Origin | None = None
    continues: str | None = None

    @property
    def mark(self) -> str | None:
        """The key an exactly-once output records progress under: the source, and the stream
        and tag that shaped these events (one parent can feed several streams and tags)."""
        if self.origin is None:
            return None
        return f"{self.origin.source}|{self.continues or self.source}|{self.tag}"

    @property
    def progress(self) -> Progress | None:
        """``(mark, end of the origin)``: how far an exactly-once output that holds these
        events has got in their source; ``None`` for events without a source range."""
        mark = self.mark
        if mark is None or self.origin is None:
            return None
        return (mark, self.origin.end)
