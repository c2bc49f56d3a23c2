"""Time windows of aggregate queries, and the acknowledgements they hold.

A window keeps a reference on the acknowledgement of every chunk it absorbed records from and
lets go only when the aggregate built from them has been delivered: each emission carries a
fresh :class:`Ack` whose callback settles the held ones with the delivery result. So a
source checkpoint never passes records whose aggregate is still in flight.

Tumbling windows emit every ``size`` seconds from start. Hopping windows emit first at
``size`` and then every ``advance`` seconds, each emission covering the records of the last
``size`` seconds, kept as slots of ``advance`` seconds.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from logtide.agent.core.events import Ack, Chunk, Origin
from logtide.streamsql.aggregate import Aggregator, Group, Row
from logtide.streamsql.codegen import Event

Clock = Callable[[], float]


@dataclass(slots=True)
class Emission:
    """Records a task emits, the acknowledgement they hold, the source bytes they stand
    for (0: unknown, the engine measures them), and the source range when they come from one
    chunk (aggregates span many, and have none)."""

    events: list[Event]
    ack: Ack
    size: int = 0
    origin: Origin | None = None


def settle_all(acks: list[Ack]) -> Callable[[bool], None]:
    def callback(ok: bool) -> None:
        for ack in acks:
            ack.settle(ok)

    return callback


class Window(Protocol):
    """What the processor needs from a window."""

    def absorb(self, chunk: Chunk) -> None: ...

    def due(self, now: float) -> list[Emission]: ...

    def flush(self, now: float) -> list[Emission]: ...

    def next_deadline(self) -> float: ...


class TumblingWindow:
    def __init__(self, aggregator: Aggregator, size: int, start: float, keep_tag: bool) -> None:
        self.aggregator = aggregator
        self.size = size
        self.deadline = start + size
        self.keep_tag = keep_tag
        self.tag = ""
        self.groups: dict[tuple[Any, ...], Group] = {}
        self.held: list[Ack] = []

    def absorb(self, chunk: Chunk) -> None:
        rows = self.aggregator.extract(chunk.tag, chunk.events)
        if not rows:
            return
        chunk.ack.retain()
        self.held.append(chunk.ack)
        self.aggregator.fold(self.groups, rows)
        if self.keep_tag:
            self.tag = chunk.tag

    def due(self, now: float) -> list[Emission]:
        if now < self.deadline:
            return []
        periods = math.floor((now - self.deadline) / self.size) + 1
        self.deadline += periods * self.size
        return self.flush(now)

    def flush(self, now: float) -> list[Emission]:
        if not self.groups:
            return []
        events = self.aggregator.package(self.groups, self.tag, now)
        held, self.held, self.groups = self.held, [], {}
        return [Emission(events, Ack(settle_all(held)))]

    def next_deadline(self) -> float:
        return self.deadline


@dataclass(slots=True)
class _Slot:
    start: float
    ack: Ack
    parents: list[Ack] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


class HoppingWindow:
    def __init__(
        self,
        aggregator: Aggregator,
        size: int,
        advance: int,
        start: float,
        keep_tag: bool,
        clock: Clock,
    ) -> None:
        self.aggregator = aggregator
        self.size = size
        self.advance = advance
        self.start = start
        self.next_emit = start + size
        self.keep_tag = keep_tag
        self.clock = clock
        self.tag = ""
        self.slots: deque[_Slot] = deque()

    def absorb(self, chunk: Chunk) -> None:
        rows = self.aggregator.extract(chunk.tag, chunk.events)
        if not rows:
            return
        index = math.floor((self.clock() - self.start) / self.advance)
        slot_start = self.start + index * self.advance
        if not self.slots or self.slots[-1].start != slot_start:
            parents: list[Ack] = []
            # The slot holds its own reference until it leaves the last window covering it.
            self.slots.append(_Slot(slot_start, Ack(settle_all(parents)), parents))
        slot = self.slots[-1]
        chunk.ack.retain()
        slot.parents.append(chunk.ack)
        slot.rows.extend(rows)
        if self.keep_tag:
            self.tag = chunk.tag

    def _emit(self, slots: list[_Slot], now: float) -> list[Emission]:
        groups: dict[tuple[Any, ...], Group] = {}
        for slot in slots:
            self.aggregator.fold(groups, slot.rows)
        if not groups:
            return []
        for slot in slots:
            slot.ack.retain()
        events = self.aggregator.package(groups, self.tag, now)
        return [Emission(events, Ack(settle_all([slot.ack for slot in slots])))]

    def due(self, now: float) -> list[Emission]:
        emissions: list[Emission] = []
        while now >= self.next_emit:
            end = self.next_emit
            covered = [s for s in self.slots if end - self.size <= s.start < end]
            emissions.extend(self._emit(covered, now))
            self.next_emit += self.advance
            while self.slots and self.slots[0].start < self.next_emit - self.size:
                self.slots.popleft().ack.settle(True)
            if not self.slots and now >= self.next_emit:
                skipped = math.floor((now - self.next_emit) / self.advance) + 1
                self.next_emit += skipped * self.advance
        return emissions

    def flush(self, now: float) -> list[Emission]:
        slots = list(self.slots)
        emissions = self._emit(slots, now)
        self.slots.clear()
        for slot in slots:
            slot.ack.settle(True)
        return emissions

    def next_deadline(self) -> float:
        return self.next_emit
