from __future__ import annotations

import asyncio
import logging
import random

import pytest

from logtide.agent.core.common_options import FilterSettings
from logtide.agent.core.errors import (
    ConfigError,
    Location,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from logtide.agent.core.events import Ack, Chunk, Event
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import OutputPlugin
from logtide.agent.core.retry import Backoff, parse_retry_limit
from logtide.agent.core.tags import matcher
from logtide.agent.engine.output_runner import OutputRunner
from logtide.agent.engine.router import CACHED_TAGS, Routes
from tests.unit.engine.support import make_runner


def settings(match: str | None = None, match_regex: str | None = None) -> FilterSettings:
    return FilterSettings(
        location=Location("t.conf", 1),
        name="t",
        match=match,
        match_regex=match_regex,
        alias=None,
        log_level=None,
    )


def test_matcher_wildcard_regex_and_none() -> None:
    assert matcher(settings(match="states.*"))("states.ca")
    assert not matcher(settings(match="states.*"))("order")
    assert matcher(settings(match_regex=r"^states\.(ca|ny)$"))("states.ny")
    assert not matcher(settings(match_regex=r"^states\.(ca|ny)$"))("states.notca")
    assert not matcher(settings())("anything")


def test_routes_cache_per_tag() -> None:
    routes = Routes([(matcher(settings(match="a*")), "A"), (matcher(settings(match="*")), "ALL")])
    assert routes("ab") == ["A", "ALL"]
    assert routes("b") == ["ALL"]


def test_routes_forget_the_tags_of_gone_files() -> None:
    # Every pod's files have tags of their own: with pods coming and going for days, the
    # cache kept 65,536 tags in each of two caches (~40 MB) before it stopped growing.
    routes = Routes([(matcher(settings(match="kube.*")), "OUT")])
    for pod in range(3 * CACHED_TAGS):
        assert routes(f"kube.var.log.containers.pod-{pod}.log") == ["OUT"]
        assert len(routes._cache) <= CACHED_TAGS
    assert routes("other") == []


def test_retry_limit_values() -> None:
    assert parse_retry_limit("no_limits") is None
    assert parse_retry_limit("False") is None
    assert parse_retry_limit("no_retries") == 0
    assert parse_retry_limit("3") == 3
    with pytest.raises(ConfigError, match="Retry_Limit must be a number"):
        parse_retry_limit("x")


def test_backoff_full_jitter_bounds() -> None:
    backoff = Backoff(base=1.0, cap=10.0)
    rng = random.Random(7)
    for attempt in range(8):
        upper = min(10.0, 2.0**attempt)
        for _ in range(50):
            assert 1.0 <= backoff.delay(attempt, rng) <= upper


class Flaky(OutputPlugin):
    """Fails the first ``failures`` flushes with ``error``; records what it accepted."""

    name = "flaky"

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.accepted: list[Event] = []
        self.calls: list[int] = []

    async def flush(self, tag: str, events: list[Event]) -> None:
        self.calls.append(len(events))
        if self.failures:
            self.failures -= 1
            raise self.error
        self.accepted.extend(events)


def runner(plugin: OutputPlugin, retry_limit: int | None) -> OutputRunner:
    return make_runner(plugin, "flaky.0", retry_limit=retry_limit)


async def deliver(run: OutputRunner, chunk: Chunk) -> None:
    task = asyncio.create_task(run.run())
    await run.put(chunk)
    chunk.ack.settle(True)
    await asyncio.wait_for(run.queue.join(), 5)
    task.cancel()


async def test_retryable_failure_retries_until_delivered() -> None:
    results: list[bool] = []
    plugin = Flaky(3, RetryableDeliveryError("throttled"))
    run = runner(plugin, None)
    await deliver(run, Chunk("t", [(1.0, {"a": 1})], Ack(results.append)))
    assert results == [True]
    assert plugin.accepted == [(1.0, {"a": 1})]
    assert run.metrics.get("flaky.0", "retries") == 3


async def test_partial_failure_retries_only_remaining() -> None:
    events: list[Event] = [(1.0, {"n": 1}), (2.0, {"n": 2}), (3.0, {"n": 3})]
    plugin = Flaky(1, RetryableDeliveryError("partial", remaining=events[2:]))
    run = runner(plugin, None)
    results: list[bool] = []
    await deliver(run, Chunk("t", events, Ack(results.append)))
    assert plugin.calls == [3, 1]
    assert results == [True]


async def test_permanent_failure_settles_ack_as_failed_without_retry() -> None:
    plugin = Flaky(1, PermanentDeliveryError("AccessDenied"))
    run = runner(plugin, None)
    results: list[bool] = []
    await deliver(run, Chunk("t", [(1.0, {})], Ack(results.append)))
    assert results == [False]
    assert plugin.calls == [1]
    assert run.failed_batches == 1
    assert run.metrics.get("flaky.0", "dropped_records") == 1


async def test_retry_limit_exhausted() -> None:
    plugin = Flaky(10, RetryableDeliveryError("503"))
    run = runner(plugin, 2)
    results: list[bool] = []
    await deliver(run, Chunk("t", [(1.0, {})], Ack(results.append)))
    assert plugin.calls == [1, 1, 1]
    assert results == [False]
    assert run.metrics.get("flaky.0", "retries_failed") == 1


async def test_full_output_queue_blocks_the_emitter_until_delivery() -> None:
    from logtide.agent.engine.output_runner import QUEUE_EVENTS

    plugin = Flaky(0, RetryableDeliveryError("unused"))
    run = runner(plugin, None)
    big = Chunk("t", [(1.0, {})] * QUEUE_EVENTS, Ack(None))
    await run.put(big)
    blocked = asyncio.create_task(run.put(Chunk("t", [(2.0, {})], Ack(None))))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    task = asyncio.create_task(run.run())
    await asyncio.wait_for(blocked, 5)
    await asyncio.wait_for(run.queue.join(), 5)
    task.cancel()
    assert len(plugin.accepted) == QUEUE_EVENTS + 1


async def test_a_chunk_whose_sender_waits_for_its_ack_is_flushed_without_the_interval() -> None:
    """A forward client sends nothing more until its chunk is acknowledged: waiting out a
    Flush interval per chunk made a logtide -> logtide chain ~5x slower at Flush 1."""
    plugin = Flaky(0, RuntimeError())
    run = OutputRunner(
        "flaky.0",
        plugin,
        flush_interval=30.0,
        retry_limit=None,
        backoff=Backoff(base=0.01, cap=0.01),
        metrics=Metrics(),
        logger=logging.getLogger("test"),
        once=False,
    )
    task = asyncio.create_task(run.run())
    try:
        plain = Chunk("t", [(1.0, {"n": 1})])
        await run.put(plain)
        plain.ack.settle(True)
        await asyncio.sleep(0.2)
        assert plugin.accepted == [], "an ordinary chunk waits for the Flush interval"
        settled = asyncio.Event()
        awaited = Chunk("t", [(2.0, {"n": 2})], Ack(lambda ok: settled.set(), awaited=True))
        await run.put(awaited)
        awaited.ack.settle(True)
        await asyncio.wait_for(settled.wait(), 5)
        assert plugin.accepted == [(1.0, {"n": 1}), (2.0, {"n": 2})]
    finally:
        task.cancel()
