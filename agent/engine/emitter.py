"""The engine's side of the filters' emitters (:mod:`logtide.agent.core.emitter`).

One :class:`EmitterHub` per engine knows which chunk is being filtered (filter calls are
synchronous, so one slot serves every filter) and collects what emitters queue during that
chunk's filter pass; the engine then puts the queued chunks through the pipeline from its
start, in the same task. A chain of emissions longer than ``MAX_HOPS`` is cut: its records
are dropped with a counted error line at most every ``LOG_EVERY`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from logtide.agent.core.emitter import MAX_HOPS, Emitter, EmitterFilterSettings
from logtide.agent.core.events import Ack, Chunk, Event, Origin
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.serialize import json_lines_size

LOG_EVERY = 10.0

Ingest = Callable[[Chunk, int], Awaitable[None]]


class EmitterHub:
    """The chunk being filtered, the chunks emitted during its pass, and their way in."""

    def __init__(self, ingest: Ingest, metrics: Metrics, logger: logging.Logger) -> None:
        self.current: Chunk | None = None
        # (tag, id(ack), emitter name) -> chunk: one chunk per tag and parent, so a chunk
        # that carries its parent's origin is wholly held by an output or not at all.
        self.queued: dict[tuple[str, int, str], Chunk] = {}
        self._ingest = ingest
        self._metrics = metrics
        self._logger = logger
        self._dropped = 0
        self._logged_at = float("-inf")

    def emitter_for(self, instance: str, config: object) -> Emitter | None:
        """The emitter of a plugin whose settings ask for one (``EmitterFilterSettings``)."""
        if not isinstance(config, EmitterFilterSettings):
            return None
        name = config.emitter_name or f"emitter_for_{instance}"
        return EngineEmitter(name, self, config.emitter_mem_buf_limit)

    def take(self) -> list[Chunk]:
        chunks = list(self.queued.values())
        self.queued.clear()
        return chunks

    async def enter(self, chunks: list[Chunk], hops: int) -> None:
        """Put emitted ``chunks`` through the pipeline (``hops``: emissions behind them).

        Each chunk holds one reference on its acknowledgement, released by the ingest (or
        here when the chunk is cut); if the run stops half-way the rest are released as
        failed, so their source's checkpoint stays behind them."""
        for index, chunk in enumerate(chunks):
            try:
                if hops > MAX_HOPS:
                    self._cut(chunk)
                    chunk.ack.settle(True)
                    continue
                self._metrics.add(chunk.source, "records", len(chunk.events))
                await self._ingest(chunk, hops)
            except BaseException:
                for rest in chunks[index + 1 :]:
                    rest.ack.settle(False)
                raise

    def _cut(self, chunk: Chunk) -> None:
        self._metrics.add(chunk.source, "loop_dropped_records", len(chunk.events))
        self._dropped += len(chunk.events)
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            self._logger.error(
                "[emitter:%s] %d record(s) re-emitted more than %d times dropped "
                "(last tag %s): a rule matches its own output",
                chunk.source,
                self._dropped,
                MAX_HOPS,
                chunk.tag,
            )
            self._dropped = 0


class EngineEmitter(Emitter):
    """One filter's emitter (see :class:`logtide.agent.core.emitter.Emitter`)."""

    def __init__(self, name: str, hub: EmitterHub, mem_buf_limit: int) -> None:
        self.name = name
        self._hub = hub
        self._limit = mem_buf_limit
        self._held = 0
        self._room = asyncio.Event()

    @property
    def ack(self) -> Ack:
        current = self._hub.current
        if current is None:
            raise RuntimeError(f"emitter {self.name}: no chunk is being filtered")
        return current.ack

    @property
    def own(self) -> bool:
        current = self._hub.current
        return current is not None and current.source == self.name

    @property
    def origin(self) -> tuple[str, Origin] | None:
        current = self._hub.current
        if current is None or current.origin is None:
            return None
        return current.continues or current.source, current.origin

    def emit(
        self, tag: str, events: list[Event], ack: Ack | None = None, *, start: int | None = None
    ) -> None:
        if not events:
            return
        current = self._hub.current
        if current is None:
            raise RuntimeError(f"emitter {self.name}: emit() outside a filter call; use send()")
        parent = current.ack if ack is None else ack
        key = (tag, id(parent), self.name)
        queued = self._hub.queued.get(key)
        if queued is not None:
            queued.events.extend(events)
            return
        parent.retain()
        continues: str | None = None
        origin = current.origin
        if origin is not None and start is not None:
            # Joined across chunks: counted with the stream the lines came from, up to the
            # end of the chunk that completed them (docs/architecture.md).
            continues = current.continues or current.source
            origin = Origin(origin.source, start, origin.end)
        elif parent is not current.ack:
            origin = None
        # Otherwise records of the chunk being filtered keep its source range: an
        # exactly-once output records them under the emitter's mark and recognises them when
        # the range is re-read.
        self._hub.queued[key] = Chunk(tag, list(events), parent, self.name, 0, origin, continues)

    async def send(self, tag: str, events: list[Event], ack: Ack) -> None:
        if not events:
            return
        size = json_lines_size(events)
        ack.retain()  # at once: the caller may release its own reference while we wait
        try:
            while self._held and self._held + size > self._limit:
                self._room.clear()
                await self._room.wait()
        except BaseException:
            ack.settle(False)
            raise
        self._held += size
        try:
            await self._hub.enter([Chunk(tag, list(events), ack, self.name, size)], 1)
        finally:
            self._held -= size
            self._room.set()
