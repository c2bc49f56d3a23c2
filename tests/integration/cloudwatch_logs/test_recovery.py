"""The journal and its recovery against a real moto server: an output 'crashes' with a batch
journaled, a new one starts on the same journal_dir, reports the batch's marks as watermarks
and puts exactly what CloudWatch does not hold."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from logtide.agent.core.errors import RetryableDeliveryError
from logtide.agent.core.events import Event
from logtide.sinks.aws import AwsClients
from logtide.sinks.cloudwatch_logs import CloudWatchLogsOutput, recovery
from logtide.sinks.cloudwatch_logs.options import CloudWatchSettings
from logtide.sinks.cloudwatch_logs.recovery import missing_events
from tests.support.fault_proxy import FaultProxy, Forward, Request, Response, http_error, refuse
from tests.support.journal_lock import leave_out_the_journal_lock
from tests.support.moto_server import MotoServer
from tests.support.plugins import build, plugin_context, settings_for

GROUP = "fluent-bit-cloudwatch-demo"
STREAM = "from-fluent-bit-states.notca"
TAG = "states.notca"
OPTIONS = {
    "Match": TAG,
    "region": "us-east-1",
    "log_group_name": GROUP,
    "log_stream_prefix": "from-fluent-bit-",
    "auto_create_group": "On",
    "auto_retry_requests": "Off",
}
MARKS = [("tail.0:1:abc|tail.0|states.notca", 4096)]


@pytest.fixture(autouse=True)
def no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recovery, "SETTLE_SECONDS", 0.0)


@pytest.fixture(autouse=True)
def _restarts_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    leave_out_the_journal_lock(monkeypatch)


def output(context: Any, endpoint: str, journal: Path, **extra: str) -> CloudWatchLogsOutput:
    return build(
        CloudWatchLogsOutput,
        context,
        **{**OPTIONS, **extra},
        endpoint=endpoint,
        journal_dir=str(journal),
    )


def events(count: int) -> list[Event]:
    start = time.time() - 60
    return [(start + i / 1000, {"i": i}) for i in range(count)]


def stored(moto: MotoServer) -> Counter[int]:
    logs: Any = moto.client("logs")
    page = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM, startFromHead=True)
    return Counter(orjson.loads(e["message"])["i"] for e in page["events"])


async def crash_during_put(endpoint: str, journal: Path, fault: Any, proxy: FaultProxy) -> None:
    """Flush once with ``fault`` on PutLogEvents; the output is then dropped unstopped."""
    async with plugin_context("cloudwatch_logs.0", once=False) as context:
        first = output(context, endpoint, journal)
        await first.start()
        proxy.inject(fault, operation="PutLogEvents")
        with pytest.raises(RetryableDeliveryError):
            await first.flush_marked(TAG, events(50), MARKS)


async def restart(endpoint: str, journal: Path) -> dict[str, int]:
    async with plugin_context("cloudwatch_logs.0", once=True) as context:
        second = output(context, endpoint, journal)
        await second.start()
        assert second.watermarks() == dict(MARKS)
        await second.stop()  # under --once, stop waits for the recovery
        return context.metrics.snapshot().get("cloudwatch_logs.0", {})


async def landed_then_503(request: Request, forward: Forward) -> Response | None:
    await forward(request)
    return await http_error(503)(request, forward)


async def test_batch_that_landed_before_the_crash_is_not_put_again(
    moto: MotoServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    await crash_during_put(proxy.endpoint, tmp_path, landed_then_503, proxy)
    assert stored(moto) == Counter(range(50))
    proxy.clear()
    counters = await restart(proxy.endpoint, tmp_path)
    assert stored(moto) == Counter(range(50))
    assert counters.get("recovered_landed_events") == 50
    assert not counters.get("recovered_resent_events")


async def test_batch_that_never_landed_is_put_by_the_recovery(
    moto: MotoServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    await crash_during_put(proxy.endpoint, tmp_path, refuse(), proxy)
    proxy.clear()
    counters = await restart(proxy.endpoint, tmp_path)
    assert stored(moto) == Counter(range(50))
    assert counters.get("recovered_resent_events") == 50
    # Settled: a third start has nothing to check.
    proxy.log.clear()
    await restart(proxy.endpoint, tmp_path)
    assert [e.request.operation for e in proxy.log if e.request.operation] == []


async def test_missing_events_counts_repeats_and_keeps_order(
    moto: MotoServer, proxy: FaultProxy
) -> None:
    logs: Any = moto.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    now = int(time.time() * 1000) - 60_000
    batch = [(now, "a"), (now, "a"), (now + 1, "b"), (now + 2, "c"), (now + 3, "d")]
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=STREAM,
        logEvents=[{"timestamp": t, "message": m} for t, m in (batch[0], batch[3])],
    )
    settings = settings_for(CloudWatchLogsOutput, **OPTIONS, endpoint=proxy.endpoint)
    clients = AwsClients(CloudWatchSettings.bind(settings))
    client = await clients.client("logs")
    try:
        assert await missing_events(client, (GROUP, STREAM), batch, False) == [
            (now, "a"),
            (now + 1, "b"),
            (now + 3, "d"),
        ]
        assert await missing_events(client, (GROUP, "no-such-stream"), batch, False) == batch
    finally:
        await clients.close()


async def test_a_flush_cut_short_by_the_crash_recovers_stream_by_stream(
    moto: MotoServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    """One flush, three streams: the first put answered, the second landed unanswered, the
    third never sent. The restart sends the third only; every event is there once."""
    calls = {"n": 0}

    async def second_lands_third_refused(request: Request, forward: Forward) -> Response | None:
        calls["n"] += 1
        if calls["n"] == 2:
            return await landed_then_503(request, forward)
        return await forward(request) if calls["n"] == 1 else None

    start = time.time() - 60
    mixed = [(start + i / 1000, {"i": i, "pod": f"p{i % 3}"}) for i in range(60)]
    async with plugin_context("cloudwatch_logs.0", once=False) as context:
        first = output(context, proxy.endpoint, tmp_path, log_stream_template="$pod")
        await first.start()
        proxy.inject(second_lands_third_refused, operation="PutLogEvents", times=None)
        with pytest.raises(RetryableDeliveryError):
            await first.flush_marked(TAG, mixed, MARKS)
    proxy.clear()
    async with plugin_context("cloudwatch_logs.0", once=True) as context:
        second = output(context, proxy.endpoint, tmp_path, log_stream_template="$pod")
        await second.start()
        await second.stop()
        counters = context.metrics.snapshot()["cloudwatch_logs.0"]
    logs: Any = moto.client("logs")
    per_stream = {
        pod: Counter(
            orjson.loads(e["message"])["i"]
            for e in logs.get_log_events(logGroupName=GROUP, logStreamName=pod, startFromHead=True)[
                "events"
            ]
        )
        for pod in ("p0", "p1", "p2")
    }
    assert per_stream == {f"p{k}": Counter(range(k, 60, 3)) for k in range(3)}
    # Two batches were open at the kill: one found in its stream, one put again.
    assert counters.get("recovered_landed_events") == 20
    assert counters.get("recovered_resent_events") == 20


async def test_a_retry_takes_over_the_failed_batches_in_the_journal(
    moto: MotoServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    async with plugin_context("cloudwatch_logs.0", once=False) as context:
        out = output(context, proxy.endpoint, tmp_path)
        await out.start()
        proxy.inject(refuse(), operation="PutLogEvents")
        batch = events(30)
        with pytest.raises(RetryableDeliveryError) as info:
            await out.flush_marked(TAG, batch, MARKS)
        assert info.value.remaining is not None
        # The engine retries with the very list it was handed back.
        await out.flush_marked(TAG, info.value.remaining, MARKS)
        await out.stop()
    assert stored(moto) == Counter(range(30))
    proxy.log.clear()
    counters = await restart(proxy.endpoint, tmp_path)
    assert not any(name.startswith("recovered") for name in counters)
    assert [e.request.operation for e in proxy.log if e.request.operation] == []
