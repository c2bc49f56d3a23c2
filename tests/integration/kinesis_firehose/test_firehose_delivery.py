"""kinesis_firehose against a real moto server over HTTP (records land in an S3 bucket)."""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from logtide.agent.core.plugins import PluginContext
from logtide.sinks.kinesis_firehose import KinesisFirehoseOutput
from logtide.sinks.kinesis_firehose.records import MAX_BATCH_BYTES, MAX_BATCH_RECORDS
from tests.support.delivery import deliver
from tests.support.fault_proxy import (
    FaultProxy,
    decode_firehose_records,
    firehose_partial_failure,
    http_error,
)
from tests.support.moto_server import MotoServer
from tests.support.plugins import build, plugin_context

STREAM = "logs-to-s3"
BUCKET = "firehose-landing"


@pytest.fixture
def delivery_stream(moto: MotoServer) -> str:
    s3: Any = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    firehose: Any = moto.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName=STREAM,
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
        },
    )
    return STREAM


@pytest.fixture
async def context() -> AsyncIterator[PluginContext]:
    async with plugin_context("kinesis_firehose.0") as ctx:
        yield ctx


def landed(moto: MotoServer, decompress: bool = False) -> list[bytes]:
    """Every record body stored by Firehose, split back into lines."""
    s3: Any = moto.client("s3")
    data = b""
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        data += s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return data.splitlines()


def output(context: PluginContext, endpoint: str, **extra: str) -> KinesisFirehoseOutput:
    return build(
        KinesisFirehoseOutput,
        context,
        region="us-east-1",
        delivery_stream=STREAM,
        endpoint=endpoint,
        **extra,
    )


async def test_records_arrive_newline_terminated_in_batches_aws_accepts(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, delivery_stream: str
) -> None:
    sink = output(context, proxy.endpoint, time_key="ts", time_key_format="%Y-%m-%d")
    await sink.start()
    events = [(0.0, {"i": i, "pad": "p" * (i % 3) * 4000}) for i in range(1700)]
    await deliver(sink, "t", events)
    await sink.stop()
    lines = landed(moto)
    assert sorted(orjson.loads(line)["i"] for line in lines) == list(range(1700))
    assert all(orjson.loads(line)["ts"] == "1970-01-01" for line in lines)
    for request in proxy.accepted("PutRecordBatch"):
        assert len(request.json()["Records"]) <= MAX_BATCH_RECORDS
        assert len(request.body) <= MAX_BATCH_BYTES
        assert all(r.endswith(b"\n") for r in decode_firehose_records(request))


async def test_partial_failure_resends_only_failed_records(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, delivery_stream: str
) -> None:
    sink = output(context, proxy.endpoint)
    await sink.start()
    proxy.inject(firehose_partial_failure([1, 3, 498]), operation="PutRecordBatch")
    events = [(0.0, {"i": i}) for i in range(700)]  # two batches: 500 + 200
    resent = await deliver(sink, "t", events)
    await sink.stop()
    # Failed records of the first batch plus the unsent second batch, nothing accepted.
    assert [sorted(e[1]["i"] for e in r) for r in resent] == [[1, 3, 498, *range(500, 700)]]
    counts = Counter(orjson.loads(line)["i"] for line in landed(moto))
    assert sorted(counts) == list(range(700))
    assert set(counts.values()) == {1}
    assert context.metrics.get("kinesis_firehose.0", "failed_records") == 3


async def test_service_errors_for_a_while_then_everything_once(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, delivery_stream: str
) -> None:
    sink = output(context, proxy.endpoint)
    await sink.start()
    proxy.inject(http_error(503), times=3)
    proxy.inject(http_error(500), times=2)
    events = [(0.0, {"i": i}) for i in range(1200)]
    resent = await deliver(sink, "t", events)
    await sink.stop()
    assert len(resent) == 5
    counts = Counter(orjson.loads(line)["i"] for line in landed(moto))
    assert sorted(counts) == list(range(1200)) and set(counts.values()) == {1}


async def test_gzip_and_log_key(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, delivery_stream: str
) -> None:
    sink = output(context, proxy.endpoint, compression="gzip", log_key="log")
    await sink.start()
    await sink.flush("t", [(0.0, {"log": "first"}), (0.0, {"nolog": 1}), (0.0, {"log": "second"})])
    await sink.stop()
    bodies = [
        gzip.decompress(r)
        for req in proxy.accepted("PutRecordBatch")
        for r in decode_firehose_records(req)
    ]
    assert bodies == [b"first\n", b"second\n"]
    assert context.metrics.get("kinesis_firehose.0", "dropped_missing_log_key") == 1
