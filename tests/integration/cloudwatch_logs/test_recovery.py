"""The journal and its recovery against a real moto server: an output 'crashes' with a batch
journaled, a new one starts on the same journal_dir, reports the batch's marks as watermarks
and puts exactly what CloudWatch does not hold."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from agent.core.errors import RetryableDeliveryError
from agent.core.events import Event
from sinks.aws import AwsClients
from sinks.cloudwatch_logs import CloudWatchLogsOutput, recovery
from sinks.cloudwatch_logs.recovery import missing_events
from tests.support.fault_proxy import FaultProxy, Forward, Request, Response, http_error, refuse
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


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    with FaultProxy(moto.endpoint) as running:
        yield running


@pytest.fixture(autouse=True)
def no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recovery, "SETTLE_SECONDS", 0.0)


def output(context: Any, endpoint: str, journal: Path) -> CloudWatchLogsOutput:
    return build(
        CloudWatchLogsOutput, context, **OPTIONS, endpoint=endpoint, journal_dir=str(journal)
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
    clients = AwsClients(settings_for(CloudWatchLogsOutput, **OPTIONS, endpoint=proxy.endpoint))
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
