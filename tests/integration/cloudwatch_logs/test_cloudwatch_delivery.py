"""cloudwatch_logs against a real moto server over HTTP, with faults injected by a proxy."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from logtide.agent.core.errors import PermanentDeliveryError, RetryableDeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.plugins import PluginContext
from logtide.sinks.cloudwatch_logs import CloudWatchLogsOutput
from logtide.sinks.cloudwatch_logs.batching import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_SPAN_MS
from tests.support.delivery import deliver
from tests.support.fault_proxy import FaultProxy, drop_response, http_error, refuse, throttle
from tests.support.moto_server import MotoServer
from tests.support.plugins import build, plugin_context

DATA = Path(__file__).parent / "data"
GROUP = "fluent-bit-cloudwatch-demo"
STREAM = "from-fluent-bit-states.notca"


@pytest.fixture
async def context() -> AsyncIterator[PluginContext]:
    async with plugin_context("cloudwatch_logs.0") as ctx:
        yield ctx


def article_output(context: PluginContext, endpoint: str, **extra: str) -> CloudWatchLogsOutput:
    options = {
        "Match": "states.notca",
        "region": "us-east-1",
        "log_group_name": GROUP,
        "log_stream_prefix": "from-fluent-bit-",
        "auto_create_group": "On",
        "endpoint": endpoint,
        **extra,
    }
    return build(CloudWatchLogsOutput, context, **options)


def article_records() -> list[dict[str, Any]]:
    """The sample app's records as the article's pipeline sees them after the docker parser
    and the state != 'CA' stream task."""
    records = []
    for line in (DATA / "input-head.log").read_bytes().splitlines():
        outer = orjson.loads(line)
        record = {**orjson.loads(outer["log"]), "stream": outer["stream"], "time": outer["time"]}
        if record["state"] != "CA":
            records.append(record)
    return records


def stored(moto: MotoServer, group: str = GROUP, stream: str = STREAM) -> list[dict[str, Any]]:
    logs: Any = moto.client("logs")
    events: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=True, **kwargs
        )
        events.extend(page["events"])
        if not page["events"] or page["nextForwardToken"] == token:
            return events
        token = page["nextForwardToken"]


def messages(moto: MotoServer) -> list[str]:
    return [event["message"] for event in stored(moto)]


def sent_batches(proxy: FaultProxy) -> list[list[dict[str, Any]]]:
    return [request.json()["logEvents"] for request in proxy.accepted("PutLogEvents")]


def now_events(records: list[dict[str, Any]]) -> list[Event]:
    start = time.time() - 60
    return [(start + i / 1000, record) for i, record in enumerate(records)]


async def test_article_config_delivers_every_record_once_as_fluent_bit_did(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(context, proxy.endpoint)
    await output.start()
    records = article_records()
    events = now_events(records)
    await deliver(output, "states.notca", events)
    await output.stop()

    got = stored(moto)
    assert [e["message"] for e in got] == [orjson.dumps(r).decode() for r in records]
    expected = [
        orjson.loads(line)["message"]
        for line in (DATA / "cloudwatch-events.jsonl").read_bytes().splitlines()
    ]
    assert [e["message"] for e in got[: len(expected)]] == expected
    assert [e["timestamp"] for e in got] == [int(t * 1000) for t, _ in events]
    operations = [e.request.operation for e in proxy.log]
    # Group and stream created on demand: stream first (group missing), group, stream, put.
    assert operations == ["CreateLogStream", "CreateLogGroup", "CreateLogStream", "PutLogEvents"]


async def test_existing_group_and_stream_are_not_errors_and_are_cached(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    logs: Any = moto.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    output = article_output(context, proxy.endpoint, auto_create_group="Off")
    await output.start()
    for n in range(3):
        await output.flush("states.notca", now_events([{"n": n}]))
    await output.stop()
    assert messages(moto) == ['{"n":0}', '{"n":1}', '{"n":2}']
    assert [e.request.operation for e in proxy.log].count("CreateLogStream") == 1


async def test_missing_group_without_auto_create_is_permanent(
    proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(context, proxy.endpoint, auto_create_group="Off")
    await output.start()
    with pytest.raises(PermanentDeliveryError, match="auto_create_group") as info:
        await output.flush("states.notca", now_events([{"a": 1}]))
    assert info.value.remaining is not None and len(info.value.remaining) == 1
    await output.stop()


async def test_retention_and_class_are_set_on_created_groups(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(
        context, proxy.endpoint, log_retention_days="7", log_group_class="INFREQUENT_ACCESS"
    )
    await output.start()
    await output.flush("states.notca", now_events([{"a": 1}]))
    await output.stop()
    group = moto.client("logs").describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]  # type: ignore[attr-defined]
    assert group["retentionInDays"] == 7
    assert group.get("logGroupClass", "INFREQUENT_ACCESS") == "INFREQUENT_ACCESS"


async def test_batches_respect_count_bytes_order_and_span(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(context, proxy.endpoint)
    await output.start()
    now = time.time()
    events: list[Event] = []
    # 25,000 small events (count limit), 300 events of 10 KB (byte limit), and events
    # 2 days apart (span limit), all shuffled in time.
    events += [(now - 3 * 86400 + (i * 7919 % 25000), {"i": i}) for i in range(25_000)]
    events += [(now - 86400 - i, {"big": "b" * 10_000, "i": i}) for i in range(300)]
    events += [(now - 5 * 86400, {"old": 1}), (now - 10, {"recent": 1})]
    await deliver(output, "states.notca", events)
    await output.stop()

    batches = sent_batches(proxy)
    for batch in batches:
        assert len(batch) <= MAX_BATCH_EVENTS
        assert sum(len(e["message"].encode()) + 26 for e in batch) <= MAX_BATCH_BYTES
        stamps = [e["timestamp"] for e in batch]
        assert stamps == sorted(stamps)
        assert stamps[-1] - stamps[0] < MAX_SPAN_MS
    assert sum(len(b) for b in batches) == len(events)
    assert len(stored(moto)) == len(events)


async def test_too_old_and_future_events_are_counted_not_sent(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(context, proxy.endpoint)
    await output.start()
    now = time.time()
    events = [(now - 15 * 86400, {"old": 1}), (now, {"ok": 1}), (now + 3 * 3600, {"new": 1})]
    await output.flush("states.notca", events)
    await output.stop()
    assert messages(moto) == ['{"ok":1}']
    metrics = context.metrics
    assert metrics.get("cloudwatch_logs.0", "rejected_too_old") == 1
    assert metrics.get("cloudwatch_logs.0", "rejected_too_new") == 1


async def test_throttling_retries_only_unsent_batches(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(context, proxy.endpoint)
    await output.start()
    start = time.time() - 600
    events = [(start + i / 100, {"i": i}) for i in range(25_000)]  # three batches
    await output.flush("states.notca", events[:1])  # streams exist from here on
    proxy.clear()
    proxy.log.clear()
    # The first put goes through; the second is throttled twice, then answered.
    calls = {"n": 0}

    async def second_put_throttled(request, forward):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] in (2, 3):
            return await throttle()(request, forward)
        return await forward(request)

    proxy.inject(second_put_throttled, operation="PutLogEvents", times=None)
    resent = await deliver(output, "states.notca", events[1:])
    await output.stop()

    assert [len(r) for r in resent] == [24_999 - 10_000, 24_999 - 10_000]
    got = [orjson.loads(m)["i"] for m in messages(moto)]
    assert sorted(got) == list(range(25_000))  # every record exactly once


@pytest.mark.parametrize(
    "fault",
    [http_error(500), http_error(503), throttle(), refuse()],
    ids=["500", "503", "throttle", "refused"],
)
async def test_outage_for_a_while_loses_and_duplicates_nothing(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, fault: Any
) -> None:
    output = article_output(context, proxy.endpoint, auto_retry_requests="Off")
    await output.start()
    proxy.inject(fault, times=6)  # every call fails, including group/stream creation
    events = now_events([{"i": i} for i in range(500)])
    resent = await deliver(output, "states.notca", events)
    await output.stop()
    assert resent, "the fault was never seen"
    assert [orjson.loads(m)["i"] for m in messages(moto)] == list(range(500))


async def test_lost_answer_is_looked_up_not_sent_twice(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(context, proxy.endpoint, auto_retry_requests="Off")
    await output.start()
    start = time.time() - 600
    events = [(start + i / 100, {"i": i}) for i in range(15_000)]  # two batches
    await output.flush("states.notca", events[:1])
    # moto stores the second batch, but the client never hears so: outcome unknown.
    calls = {"n": 0}

    async def drop_second(request, forward):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            return await drop_response()(request, forward)
        return await forward(request)

    proxy.inject(drop_second, operation="PutLogEvents", times=None)
    resent = await deliver(output, "states.notca", events[1:])
    await output.stop()
    counts = Counter(orjson.loads(m)["i"] for m in messages(moto))
    assert sorted(counts) == list(range(15_000))
    # GetLogEvents over the batch's time span found it: nothing was put twice.
    assert max(counts.values()) == 1
    assert resent == [] and calls["n"] == 2
    assert [e.request.operation for e in proxy.log].count("GetLogEvents") >= 1


async def test_deleted_stream_is_recreated_and_batch_resent(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(context, proxy.endpoint)
    await output.start()
    await output.flush("states.notca", now_events([{"a": 1}]))
    moto.client("logs").delete_log_group(logGroupName=GROUP)  # type: ignore[attr-defined]
    await output.flush("states.notca", now_events([{"b": 2}]))
    await output.stop()
    assert messages(moto) == ['{"b":2}']


async def test_log_format_header_and_templates(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(
        context,
        proxy.endpoint,
        log_format="json/emf",
        log_group_template="/eks/$kubernetes['namespace_name']",
        log_stream_template="$kubernetes['pod_name']",
    )
    await output.start()
    events = now_events(
        [
            {"kubernetes": {"namespace_name": "shop", "pod_name": "web-1"}, "n": 1},
            {"kubernetes": {"namespace_name": "shop"}, "n": 2},
            {"n": 3},
        ]
    )
    await output.flush("states.notca", events)
    await output.stop()
    assert [m["message"] for m in stored(moto, "/eks/shop", "web-1")] == [
        orjson.dumps(events[0][1]).decode()
    ]
    assert len(stored(moto, "/eks/shop", STREAM)) == 1
    assert len(stored(moto, GROUP, STREAM)) == 1
    puts = proxy.calls("PutLogEvents")
    assert {e.request.headers.get("x-amzn-logs-format") for e in puts} == {"json/emf"}


async def test_retryable_error_carries_only_unsent_events(
    proxy: FaultProxy, context: PluginContext
) -> None:
    output = article_output(context, proxy.endpoint)
    await output.start()
    proxy.inject(http_error(503), times=None, operation="PutLogEvents")
    with pytest.raises(RetryableDeliveryError) as info:
        await output.flush("states.notca", now_events([{"a": 1}, {"b": 2}]))
    assert info.value.remaining is not None and len(info.value.remaining) == 2
    await output.stop()
