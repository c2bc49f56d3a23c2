"""``CREATE SNAPSHOT`` / ``FLUSH SNAPSHOT``: keep recent records, release them on a trigger.

As in flb_sp_snapshot.c, a snapshot keeps whole records (with their timestamps) and evicts
from the oldest end while it holds more than ``LIMIT`` records or while the oldest record is
more than ``seconds`` older (in whole seconds of record time) than the one just added.

Every kept record holds a reference on its chunk's acknowledgement. Eviction releases it
(the record was consumed as designed, like a filter drop); a flush hands the references to
the emitted chunk's acknowledgement, so the source waits for the flushed records' delivery.
"""

from __future__ import annotations

import math
from collections import deque

from logtide.agent.core.events import Ack, Chunk
from logtide.streamsql.codegen import Event
from logtide.streamsql.windows import Emission, settle_all


class Snapshot:
    def __init__(self, limit: int, seconds: int) -> None:
        self.limit = limit
        self.seconds = seconds
        self.kept: deque[tuple[Event, Ack]] = deque()

    def absorb(self, chunk: Chunk) -> None:
        for when, record in chunk.events:
            chunk.ack.retain()
            # A copy: the chunk's own records travel on and may be changed downstream.
            self.kept.append(((when, dict(record)), chunk.ack))
            self._evict(math.floor(when))

    def _evict(self, newest: int) -> None:
        kept = self.kept
        while kept:
            over_limit = self.limit > 0 and len(kept) > self.limit
            too_old = self.seconds > 0 and newest - math.floor(kept[0][0][0]) > self.seconds
            if over_limit or too_old:
                kept.popleft()[1].settle(True)
            else:
                break

    def take(self) -> Emission | None:
        """Everything kept, as one emission; the snapshot is empty afterwards."""
        if not self.kept:
            return None
        events = [event for event, _ in self.kept]
        acks = [ack for _, ack in self.kept]
        self.kept.clear()
        return Emission(events, Ack(settle_all(acks)))

    def release(self) -> None:
        """Drop everything kept (shutdown): the records were never asked for."""
        while self.kept:
            self.kept.popleft()[1].settle(True)
