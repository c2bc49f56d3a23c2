"""Drives one output instance: a bounded queue of chunks, batching per flush interval,
retries with backoff, and settling every chunk's acknowledgement exactly once.

With a :class:`DiskQueue` (``storage.path``), a chunk is acknowledged as soon as it is fsynced
into the queue, and a second loop delivers from disk; a long outage then fills the disk (up to
``storage.total_limit_size``) instead of pausing the inputs. Queued chunks keep their source
range, so an exactly-once output records them as it records chunks delivered from memory, and
a restart does not deliver again a queued chunk the output already holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from logtide.agent.core.errors import DeliveryError
from logtide.agent.core.events import Chunk, Event, Progress
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import OutputPlugin
from logtide.agent.core.reclaim import forget_tracebacks
from logtide.agent.core.retry import Backoff, Retry
from logtide.agent.core.serialize import json_lines_size
from logtide.agent.engine.disk_queue import DiskQueue

# Bounds in records and in bytes, not chunks: a chunk may hold one record or thousands,
# and a record ten bytes or a megabyte. Queued plus in-flight records stay under
# QUEUE_EVENTS and QUEUE_BYTES per output (beyond either the emitting input waits; a single
# larger chunk is taken when nothing else is held); a batch is flushed when the Flush
# interval ends or it reaches MAX_BATCH_EVENTS or MAX_BATCH_BYTES, whichever comes first.
# Bytes are the source bytes behind the records (``Chunk.size``); as Python objects records
# cost a few times that (~1 KiB for a 260-byte docker line of the article's app), and an
# output's request body for a batch as much again. Queued records are most of an agent's
# memory past its imports: two batches of 3,072 keep an output busy (one in flight, one
# filling) and fit one PutLogEvents call each; 16,384 queued cost ~10 MiB more peak RSS
# for no measurable throughput (bench/README.md, issue 22).
QUEUE_EVENTS = 6_144
QUEUE_BYTES = 1536 * 1024
MAX_BATCH_EVENTS = 3_072
MAX_BATCH_BYTES = 768 * 1024

DeliveryTap = Callable[[str, str, list[Event]], None]
T = TypeVar("T")


def _disk_trouble(exc: Exception) -> bool:
    return isinstance(exc, OSError)


def by_tag(
    chunks: Iterable[tuple[str, list[Event], Progress | None]],
) -> dict[str, tuple[list[Event], list[Progress]]]:
    """One flush per tag: its chunks' events in order, and their progress for an
    exactly-once output to record."""
    grouped: dict[str, tuple[list[Event], list[Progress]]] = {}
    for tag, events, progress in chunks:
        entry = grouped.get(tag)
        if entry is None:
            entry = grouped[tag] = ([], [])
        entry[0].extend(events)
        if progress is not None:
            entry[1].append(progress)
    return grouped


class OutputRunner:
    """Feeds ``plugin.flush`` from a bounded queue.

    A full queue blocks ``put``, which blocks the input that emitted the chunk: backpressure
    instead of dropping. A chunk's acknowledgement is settled only after ``flush`` returned for
    its events (success) or after the retry budget ran out or the failure was permanent.
    """

    def __init__(
        self,
        instance: str,
        plugin: OutputPlugin,
        *,
        flush_interval: float,
        retry_limit: int | None,
        backoff: Backoff,
        metrics: Metrics,
        logger: logging.Logger,
        once: bool,
        on_delivered: DeliveryTap | None = None,
        disk: DiskQueue | None = None,
        disk_limit: int = 0,
    ) -> None:
        self.instance = instance
        self.plugin = plugin
        self.flush_interval = flush_interval
        self.retry_limit = retry_limit
        self.backoff = backoff
        self.retry = Retry(backoff.delay, retry_limit)
        self.spool_retry = Retry(backoff.delay, retryable=_disk_trouble)
        self.metrics = metrics
        self.logger = logger
        self.on_delivered = on_delivered
        # Per mark, how far the output holds its chunks (its own record, after a restart),
        # and how far its disk queue holds chunks it has yet to deliver.
        self.watermarks: dict[str, int] = {}
        self.queued: dict[str, int] = {}
        self.hurry = once
        self.failed_batches = 0
        self.queue: asyncio.Queue[Chunk] = asyncio.Queue()
        self._held_events = 0
        self._held_bytes = 0
        self._room = asyncio.Event()
        # Set when a full batch is queued or a stop hurries us: the collector sleeps on it
        # rather than waking for every chunk (a thousand one-line files = a thousand chunks/s).
        self._batch_ready = asyncio.Event()
        self.disk = disk
        self.disk_limit = disk_limit
        self._spooled = asyncio.Event()
        self._disk_empty = asyncio.Event()

    def flush_now(self) -> None:
        """Stop waiting for the flush interval: deliver what is queued at once (shutdown)."""
        self.hurry = True
        self._batch_ready.set()

    async def put(self, chunk: Chunk) -> None:
        """Queue a chunk; waits (backpressure on the input) while the output is full.

        A chunk this output already holds (its source range is below the output's watermark,
        read again after a crash) is not queued: it is accepted as it stands.
        """
        if self._already_held(chunk.progress, len(chunk.events), self.watermarks, self.queued):
            return
        count = len(chunk.events)
        if not chunk.size:
            # Chunks are shared by every output they reach: sized once, released as sized.
            chunk.size = json_lines_size(chunk.events)
        size = chunk.size
        while self._held_events and (
            self._held_events + count > QUEUE_EVENTS or self._held_bytes + size > QUEUE_BYTES
        ):
            self._room.clear()
            await self._room.wait()
        chunk.ack.retain()
        self._held_events += count
        self._held_bytes += size
        self.queue.put_nowait(chunk)
        if (
            chunk.ack.awaited
            or self._held_events >= MAX_BATCH_EVENTS
            or self._held_bytes >= MAX_BATCH_BYTES
        ):
            self._batch_ready.set()

    def _release(self, batch: list[Chunk]) -> None:
        for chunk in batch:
            self._held_events -= len(chunk.events)
            self._held_bytes -= chunk.size
            self.queue.task_done()
        self._room.set()

    async def run(self) -> None:
        if self.disk is not None:
            await asyncio.gather(self._spool(self.disk), self._deliver_from_disk(self.disk))
            return
        while True:
            batch = await self._collect()
            try:
                await self._deliver(batch)
            finally:
                self._release(batch)

    async def settled(self) -> None:
        """Wait until every queued chunk is accepted (and, with a disk queue, delivered)."""
        await self.queue.join()
        if self.disk is not None:
            self._disk_empty.clear()
            self._spooled.set()
            await self._disk_empty.wait()

    async def _spool(self, disk: DiskQueue) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            # A full or failing disk: keep the chunks (and their acks) and try again; the
            # inputs pause behind the full in-memory queue meanwhile.
            await self.spool_retry.run(
                functools.partial(self._write, disk, batch),
                on_retry=functools.partial(self._cannot_write, disk),
            )
            for chunk in batch:
                chunk.ack.settle(True)
            self._release(batch)
            self._spooled.set()

    async def _write(self, disk: DiskQueue, batch: list[Chunk]) -> None:
        while self.disk_limit and disk.pending_bytes > self.disk_limit:
            await asyncio.sleep(0.2)
        await asyncio.to_thread(disk.append, [(c.tag, c.events, c.progress) for c in batch])

    def _cannot_write(self, disk: DiskQueue, exc: Exception, attempt: int, delay: float) -> None:
        self.logger.error(
            "[output:%s] cannot write %s: %s; retry in %.1fs",
            self.instance,
            disk.folder,
            exc,
            delay,
        )

    async def _deliver_from_disk(self, disk: DiskQueue) -> None:
        while True:
            # Cleared before reading, so a spool that lands after the read still wakes us.
            self._spooled.clear()
            batches, position = await self._on_disk(
                disk, disk.read, MAX_BATCH_EVENTS, MAX_BATCH_BYTES
            )
            if not batches:
                self._disk_empty.set()
                await self._spooled.wait()
                if not self.hurry:
                    await asyncio.sleep(self.flush_interval)
                continue
            # A restart replays what was not committed: an output that recorded a chunk's
            # progress before the crash already holds it.
            fresh = [
                (tag, events, progress)
                for tag, events, progress in batches
                if not self._already_held(progress, len(events), self.watermarks)
            ]
            for tag, (events, marks) in by_tag(fresh).items():
                await self._flush_with_retry(tag, events, marks)
            await self._on_disk(disk, disk.commit, position)

    async def _on_disk(self, disk: DiskQueue, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` in a worker thread, tried again while the disk fails it (a full
        disk refuses the ``committed`` file's rewrite): a failure that ends this task would
        stop the output's delivery from disk for the rest of the run."""

        async def attempt() -> T:
            return await asyncio.to_thread(call, *args)

        return await self.spool_retry.run(
            attempt, on_retry=functools.partial(self._cannot_write, disk)
        )

    async def _collect(self) -> list[Chunk]:
        batch = [await self.queue.get()]
        count, size = len(batch[0].events), batch[0].size
        # A sender waiting for a chunk's settlement (Ack.awaited, a forward client) sends
        # nothing more until then: such a batch goes once the queue is empty.
        awaited = batch[0].ack.awaited
        deadline = time.monotonic() + self.flush_interval
        while True:
            full = count >= MAX_BATCH_EVENTS or size >= MAX_BATCH_BYTES
            while not full and not self.queue.empty():
                chunk = self.queue.get_nowait()
                batch.append(chunk)
                count += len(chunk.events)
                size += chunk.size
                awaited = awaited or chunk.ack.awaited
                full = count >= MAX_BATCH_EVENTS or size >= MAX_BATCH_BYTES
            remaining = deadline - time.monotonic()
            if full or remaining <= 0 or self.hurry or awaited:
                return batch
            self._batch_ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._batch_ready.wait(), remaining)

    async def _deliver(self, batch: list[Chunk]) -> None:
        grouped = by_tag((chunk.tag, chunk.events, chunk.progress) for chunk in batch)
        outcome = {
            tag: await self._flush_with_retry(tag, events, marks)
            for tag, (events, marks) in grouped.items()
        }
        for chunk in batch:
            if outcome[chunk.tag]:
                self.metrics.add(self.instance, "proc_bytes", chunk.size)
            chunk.ack.settle(outcome[chunk.tag])

    async def recall(self) -> None:
        """After the output's start: what it and its disk queue already hold, so that what a
        restart reads again is not delivered twice."""
        self.watermarks = self.plugin.watermarks()
        if self.disk is not None:
            self.queued = await asyncio.to_thread(self.disk.held)

    def _already_held(
        self, progress: Progress | None, count: int, *holders: dict[str, int]
    ) -> bool:
        """Whether a chunk read again after a crash is already held: ``holders`` are
        watermarks, per mark."""
        if progress is None:
            return False
        mark, end = progress
        if all(end > held.get(mark, -1) for held in holders):
            return False
        self.metrics.add(self.instance, "already_held_records", count)
        return True

    async def _flush_with_retry(
        self, tag: str, events: list[Event], marks: list[Progress] | None = None
    ) -> bool:
        pending = events
        failures = 0

        def failed(exc: Exception) -> None:
            nonlocal pending
            self.metrics.add(self.instance, "errors")
            if isinstance(exc, DeliveryError) and exc.remaining is not None:
                pending = exc.remaining

        def retrying(exc: Exception, attempt: int, delay: float) -> None:
            nonlocal failures
            failed(exc)
            failures = attempt + 1
            self.metrics.add(self.instance, "retries")
            self.metrics.add(self.instance, "retried_records", len(pending))
            self.logger.warning(
                "[output:%s] %s; retry %d in %.1fs (%d records)",
                self.instance,
                exc,
                attempt + 1,
                delay,
                len(pending),
            )

        def giving_up(exc: Exception, attempt: int, transient: bool) -> None:
            failed(exc)
            if not transient:
                self._give_up(tag, pending, f"permanent failure: {exc}")
                return
            self.metrics.add(self.instance, "retries_failed")
            self._give_up(tag, pending, f"retries exhausted ({attempt}): {exc}")

        try:
            await self.retry.run(
                lambda: self.plugin.flush_marked(tag, pending, marks or ()),
                on_retry=retrying,
                on_give_up=giving_up,
            )
        except Exception as exc:
            # Given up (logged and counted above): ``pending`` is dropped.
            forget_tracebacks(exc)
            return False
        self.metrics.add(self.instance, "proc_records", len(events))
        self.logger.debug(
            "[output:%s] delivered %d records of tag %s (attempt %d)",
            self.instance,
            len(events),
            tag,
            failures + 1,
        )
        if self.on_delivered is not None:
            self.on_delivered(self.instance, tag, events)
        return True

    def _give_up(self, tag: str, events: list[Event], reason: str) -> None:
        self.failed_batches += 1
        self.metrics.add(self.instance, "dropped_records", len(events))
        self.logger.error(
            "[output:%s] %d records of tag %s not delivered: %s",
            self.instance,
            len(events),
            tag,
            reason,
        )
