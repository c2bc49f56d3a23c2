"""What an output runner holds in memory: bounded in bytes as well as records, and nothing
of a failed attempt kept alive while it waits to retry."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from logtide.agent.core import reclaim
from logtide.agent.core.errors import RetryableDeliveryError
from logtide.agent.core.events import Ack, Chunk, Event
from logtide.agent.core.plugins import OutputPlugin
from logtide.agent.core.serialize import json_lines_size
from logtide.agent.engine.disk_queue import DiskQueue
from logtide.agent.engine.output_runner import MAX_BATCH_BYTES, QUEUE_BYTES
from tests.unit.engine.support import make_runner


class Recorder(OutputPlugin):
    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def flush(self, tag: str, events: list[Event]) -> None:
        self.calls.append(len(events))


async def test_queued_bytes_block_the_emitter_though_records_are_few() -> None:
    plugin = Recorder()
    run = make_runner(plugin, "recorder.0")
    await run.put(Chunk("t", [(1.0, {"big": 1})], Ack(None), size=QUEUE_BYTES))
    blocked = asyncio.create_task(run.put(Chunk("t", [(2.0, {})], Ack(None), size=1)))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    task = asyncio.create_task(run.run())
    await asyncio.wait_for(blocked, 5)
    await asyncio.wait_for(run.queue.join(), 5)
    task.cancel()
    assert sum(plugin.calls) == 2


async def test_a_batch_ends_at_max_batch_bytes() -> None:
    plugin = Recorder()
    run = make_runner(plugin, "recorder.0")
    half = MAX_BATCH_BYTES // 2 + 1
    for n in range(3):
        await run.put(Chunk("t", [(float(n), {})], Ack(None), size=half))
    task = asyncio.create_task(run.run())
    await asyncio.wait_for(run.queue.join(), 5)
    task.cancel()
    assert plugin.calls == [2, 1]


async def test_an_unsized_chunk_is_sized_once_for_every_output() -> None:
    chunk = Chunk("t", [(1.0, {"log": "x" * 100})], Ack(None))
    first, second = make_runner(Recorder(), "a.0"), make_runner(Recorder(), "b.0")
    await first.put(chunk)
    await second.put(chunk)
    assert chunk.size == json_lines_size(chunk.events) > 100
    assert first._held_bytes == second._held_bytes == chunk.size


class Body:
    """Stands in for a request body (weak-referenceable, so the test sees when it goes)."""


class RefusedWithCycle(OutputPlugin):
    """Fails like aiohttp behind botocore: the frame that handled the socket error keeps it
    in a local, so error -> traceback -> frame -> error is a cycle, holding the body."""

    name = "refused"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.bodies: list[weakref.ref[Body]] = []

    async def flush(self, tag: str, events: list[Event]) -> None:
        body = Body()
        self.bodies.append(weakref.ref(body))
        if len(self.bodies) > self.failures:
            return
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError as exc:
            error = exc
            raise RetryableDeliveryError("cannot connect") from error


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The cyclic collector never runs by itself (as when the tuned agent is stalled)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_a_failed_attempt_leaves_nothing_behind_while_it_waits(collector_off: None) -> None:
    plugin = RefusedWithCycle(failures=5)
    run = make_runner(plugin, "refused.0")
    results: list[bool] = []
    task = asyncio.create_task(run.run())
    await run.put(Chunk("t", [(1.0, {"n": 1})], Ack(results.append)))
    await asyncio.wait_for(run.queue.join(), 5)
    task.cancel()
    assert len(plugin.bodies) == 6
    assert [ref() for ref in plugin.bodies] == [None] * 6


def test_forget_tracebacks_walks_causes_contexts_and_wrapped_socket_errors() -> None:
    class Wrapper(Exception):
        os_error: BaseException

    def fail() -> None:
        raise OSError("refused")

    try:
        try:
            fail()
        except OSError as inner:
            wrapped = Wrapper("cannot connect")
            wrapped.os_error = inner
            raise wrapped from ValueError("cause")
    except Wrapper as exc:
        outer = exc
    chain = [outer, outer.__cause__, outer.__context__, outer.os_error]
    assert all(e is not None and e.__traceback__ is not None for e in chain[:1] + chain[2:])
    reclaim.forget_tracebacks(outer)
    assert [e.__traceback__ for e in chain if e is not None] == [None] * 4


def test_collections_are_at_least_min_interval_apart() -> None:
    start = 1_000_000.0
    assert reclaim.collect(start)
    assert not reclaim.collect(start + reclaim.MIN_INTERVAL / 2)
    assert reclaim.collect(start + reclaim.MIN_INTERVAL)


def test_disk_queue_read_stops_at_max_bytes(tmp_path: Path) -> None:
    queue = DiskQueue(str(tmp_path))
    record = {"log": "x" * 1000}
    queue.append(
        [("t", [(1.0, record)], None), ("t", [(2.0, record)], None), ("t", [(3.0, record)], None)]
    )
    batches, _ = queue.read(100, max_bytes=1500)
    assert [len(events) for _, events, _ in batches] == [1, 1]
    batches, _ = queue.read(100, max_bytes=1)
    assert len(batches) == 1
