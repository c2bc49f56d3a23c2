"""kinesis_streams against a real moto server over HTTP, read back with GetRecords; the
fault proxy in front of moto injects what moto cannot do (throttled records, outages)."""

from __future__ import annotations

import gzip
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator

import orjson
import pytest

from logtide.agent.core.errors import PermanentDeliveryError
from logtide.agent.core.plugins import PluginContext
from logtide.sinks.kinesis_streams import KinesisStreamsOutput
from logtide.sinks.kinesis_streams.records import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    MAX_RECORD_BYTES,
)
from tests.support.delivery import deliver
from tests.support.fault_proxy import FaultProxy, http_error
from tests.support.kinesis import create_stream, put_records_partial_failure, read_stream
from tests.support.moto_server import MotoServer
from tests.support.plugins import build, plugin_context

STREAM = "app-logs"
INSTANCE = "kinesis_streams.0"


@pytest.fixture
def stream(moto: MotoServer) -> str:
    create_stream(moto, STREAM, shards=2)
    return STREAM


@pytest.fixture
async def context() -> AsyncIterator[PluginContext]:
    async with plugin_context(INSTANCE) as ctx:
        yield ctx


def output(context: PluginContext, endpoint: str, **extra: str) -> KinesisStreamsOutput:
    return build(
        KinesisStreamsOutput,
        context,
        region="us-east-1",
        stream=STREAM,
        endpoint=endpoint,
        **extra,
    )


def seqs(moto: MotoServer) -> Counter[int]:
    return Counter(orjson.loads(r.data)["i"] for r in read_stream(moto, STREAM))


async def test_records_arrive_with_their_partition_keys_and_time_key(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, stream: str
) -> None:
    sink = output(
        context,
        proxy.endpoint,
        partition_key="$kubernetes['pod']",
        time_key="ts",
        time_key_format="%Y-%m-%dT%H:%M:%S.%3NZ",
    )
    await sink.start()
    events = [
        (1795744014.714, {"i": i, "kubernetes": {"pod": f"pod-{i % 7}"}} if i % 10 else {"i": i})
        for i in range(1200)
    ]
    await deliver(sink, "t", events)
    await sink.stop()
    landed = read_stream(moto, STREAM)
    assert sorted(orjson.loads(r.data)["i"] for r in landed) == list(range(1200))
    shards_of: dict[str, set[str]] = {}
    for record in landed:
        body = orjson.loads(record.data)
        assert record.data.endswith(b"\n")
        assert body["ts"] == "2026-11-27T01:46:54.714Z"
        if body["i"] % 10:
            assert record.key == f"pod-{body['i'] % 7}"
            shards_of.setdefault(record.key, set()).add(record.shard)
        else:
            assert not record.key.startswith("pod-")  # no pod: a random key
    # A partition key always maps to one shard (what makes it worth setting).
    assert all(len(shards) == 1 for shards in shards_of.values())
    assert len({s for shards in shards_of.values() for s in shards}) == 2
    assert context.metrics.get(INSTANCE, "random_partition_keys") == 120
    for request in proxy.accepted("PutRecords"):
        assert len(request.json()["Records"]) <= MAX_BATCH_RECORDS


async def test_random_partition_keys_spread_records_over_the_shards(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, stream: str
) -> None:
    sink = output(context, proxy.endpoint)
    await sink.start()
    await deliver(sink, "t", [(0.0, {"i": i}) for i in range(400)])
    await sink.stop()
    landed = read_stream(moto, STREAM)
    assert sorted(orjson.loads(r.data)["i"] for r in landed) == list(range(400))
    assert len({r.key for r in landed}) == 400
    per_shard = Counter(r.shard for r in landed)
    assert len(per_shard) == 2 and min(per_shard.values()) > 100


async def test_big_records_split_calls_under_5_mib_and_over_1_mib_are_dropped_with_one_warning(
    moto: MotoServer,
    proxy: FaultProxy,
    context: PluginContext,
    stream: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = output(context, proxy.endpoint, partition_key="k")
    await sink.start()
    room = MAX_RECORD_BYTES - len('{"i":0,"k":"p","pad":""}\n') - len("p")
    events = [
        (0.0, {"i": i, "k": "p", "pad": "x" * (room if i < 9 else 900_000)}) for i in range(12)
    ]
    events += [(0.0, {"i": 12 + i, "k": "p", "pad": "x" * (room + 1)}) for i in range(2)]
    with caplog.at_level(logging.WARNING):
        await deliver(sink, "t", events)
    await sink.stop()
    assert sorted(seqs(moto)) == list(range(12))
    assert all(len(r.data) + 1 <= MAX_RECORD_BYTES for r in read_stream(moto, STREAM))
    calls = proxy.accepted("PutRecords")
    assert len(calls) >= 3
    for request in calls:
        records = request.json()["Records"]
        raw = sum(len(r["PartitionKey"]) + (len(r["Data"]) * 3) // 4 for r in records)
        assert raw <= MAX_BATCH_BYTES
    assert context.metrics.get(INSTANCE, "dropped_records") == 2
    assert context.metrics.get(INSTANCE, "dropped_too_large") == 2
    warnings = [r for r in caplog.records if "over Kinesis's 1 MiB" in r.getMessage()]
    assert len(warnings) == 1 and ", 2 over" in warnings[0].getMessage()


async def test_partial_failure_resends_only_the_failed_records(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, stream: str
) -> None:
    sink = output(context, proxy.endpoint)
    await sink.start()
    proxy.inject(
        put_records_partial_failure(
            {
                1: "ProvisionedThroughputExceededException",
                3: "InternalFailure",
                498: "ProvisionedThroughputExceededException",
            }
        ),
        operation="PutRecords",
    )
    events = [(0.0, {"i": i}) for i in range(700)]  # two calls: 500 + 200
    resent = await deliver(sink, "t", events)
    await sink.stop()
    # The failed records of the first call and the call not yet made, nothing accepted.
    assert [sorted(e[1]["i"] for e in r) for r in resent] == [[1, 3, 498, *range(500, 700)]]
    counts = seqs(moto)
    assert sorted(counts) == list(range(700)) and set(counts.values()) == {1}
    assert context.metrics.get(INSTANCE, "failed_records") == 3
    assert context.metrics.get(INSTANCE, "dropped_records") == 0


async def test_a_record_refused_for_good_is_dropped_and_counted_not_resent(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, stream: str
) -> None:
    sink = output(context, proxy.endpoint)
    await sink.start()
    proxy.inject(
        put_records_partial_failure(
            {0: "KMSAccessDeniedException", 2: "ProvisionedThroughputExceededException"}
        ),
        operation="PutRecords",
    )
    resent = await deliver(sink, "t", [(0.0, {"i": i}) for i in range(5)])
    await sink.stop()
    assert [[e[1]["i"] for e in r] for r in resent] == [[2]]
    assert sorted(seqs(moto)) == [1, 2, 3, 4]
    assert context.metrics.get(INSTANCE, "dropped_records") == 1
    assert context.metrics.get(INSTANCE, "dropped_refused") == 1


async def test_a_missing_stream_is_a_permanent_error_naming_it(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext
) -> None:
    sink = output(context, proxy.endpoint)
    await sink.start()
    with pytest.raises(PermanentDeliveryError, match="ResourceNotFoundException") as caught:
        await sink.flush("t", [(0.0, {"i": 1})])
    await sink.stop()
    assert STREAM in str(caught.value)
    assert caught.value.remaining == [(0.0, {"i": 1})]


async def test_an_outage_then_recovery_loses_nothing_and_repeats_nothing(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, stream: str
) -> None:
    sink = output(context, proxy.endpoint)
    await sink.start()
    proxy.offline()
    proxy.inject(http_error(503), times=2)
    threading.Timer(1.5, proxy.online).start()
    events = [(0.0, {"i": i}) for i in range(900)]
    resent = await deliver(sink, "t", events, attempts=200)
    await sink.stop()
    assert len(resent) >= 3  # refused while down, then two 503s
    counts = seqs(moto)
    assert sorted(counts) == list(range(900)) and set(counts.values()) == {1}


async def test_gzip_compression_and_log_key(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, stream: str
) -> None:
    sink = output(context, proxy.endpoint, compression="gzip", log_key="log")
    await sink.start()
    await sink.flush("t", [(0.0, {"log": "first"}), (0.0, {"nolog": 1}), (0.0, {"log": "second"})])
    await sink.stop()
    bodies = sorted(gzip.decompress(r.data) for r in read_stream(moto, STREAM))
    assert bodies == [b"first\n", b"second\n"]
    assert context.metrics.get(INSTANCE, "dropped_missing_log_key") == 1
