"""Kinesis Data Streams helpers for tests: a stream on moto, everything read back from it,
and a partial-failure answer moto cannot give (it never throttles)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from botocore.exceptions import ClientError

from tests.support.fault_proxy import Fault, Forward, Request, Response
from tests.support.moto_server import REGION, MotoServer

# The real agent for the fault tests: tail (JSON lines) -> kinesis_streams, keyed by pod.
AGENT_CONFIG = """\
[SERVICE]
    Flush          1
    Grace          10
    Log_Level      info
    HTTP_Server    On
    HTTP_Listen    127.0.0.1
    HTTP_Port      {port}
    Parsers_File   {work}/parsers.conf
    scheduler.base 0.2
    scheduler.cap  2
[INPUT]
    Name             tail
    Tag              app.log
    Path             {work}/logs/*.log
    DB               {work}/tail.db
    Read_from_Head   On
    Refresh_Interval 1
    Parser           json
[OUTPUT]
    Name           kinesis_streams
    Match          *
    region         {region}
    stream         {stream}
    endpoint       {endpoint}
    partition_key  $pod
    time_key       ts
    Retry_Limit    no_limits
"""


def agent_config(work: Path, port: int, stream: str, endpoint: str) -> Path:
    """Write :data:`AGENT_CONFIG` (and its parsers, and the logs folder) into ``work``."""
    (work / "parsers.conf").write_text("[PARSER]\n    Name json\n    Format json\n")
    (work / "logs").mkdir(exist_ok=True)
    config = work / "fluent-bit.conf"
    config.write_text(
        AGENT_CONFIG.format(port=port, work=work, region=REGION, stream=stream, endpoint=endpoint)
    )
    return config


def app_line(n: int) -> bytes:
    """The JSON line ``{"seq": n, "pod": "pod-<n % 5>"}`` the Kinesis tests write."""
    return orjson.dumps({"seq": n, "pod": f"pod-{n % 5}", "pad": "x" * 64})


def sequence_counts(moto: MotoServer, stream: str) -> Counter[int]:
    """How often each ``seq`` of :func:`app_line` is in the stream."""
    return Counter(int(orjson.loads(r.data)["seq"]) for r in read_stream(moto, stream))


@dataclass(frozen=True)
class Landed:
    """One record as a consumer reads it: shard, partition key, data."""

    shard: str
    key: str
    data: bytes


def _linear_moto_shards() -> None:
    """moto's ``Shard.put_record`` finds the last sequence number by copying every key of
    the shard, once per record: a stream of N records costs N^2/2 copies, and a put of 500
    records into a stream of 30k takes a third of a second, which stretches every flush of
    a long test. The suite's moto server runs in this process, so its shards get an O(1)
    lookup of the same value (the last key of their ordered dict)."""
    from moto.kinesis.models import Shard

    def last_sequence_number(shard: Any) -> int:
        return next(reversed(shard.records), 0)

    Shard.get_max_sequence_number = last_sequence_number  # type: ignore[assignment,method-assign]


def create_stream(moto: MotoServer, name: str, shards: int = 2) -> None:
    _linear_moto_shards()
    kinesis: Any = moto.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 30
    while kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise AssertionError(f"stream {name} never became ACTIVE")
        time.sleep(0.1)


def read_stream(moto: MotoServer, name: str, attempts: int = 20) -> list[Landed]:
    """Every record of every shard, from the start (GetShardIterator TRIM_HORIZON, then
    GetRecords until a page is empty and the consumer is caught up).

    moto's GetRecords iterates a shard's records while a concurrent PutRecords may add to
    them (its Kinesis models are not thread-safe): the read fails with a 500 then, and is
    simply done again."""
    for _ in range(attempts - 1):
        try:
            return _read_stream(moto, name)
        except ClientError:
            time.sleep(0.2)
    return _read_stream(moto, name)


def _read_stream(moto: MotoServer, name: str) -> list[Landed]:
    kinesis: Any = moto.client("kinesis")
    landed: list[Landed] = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        shard_id = shard["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            landed.extend(Landed(shard_id, r["PartitionKey"], r["Data"]) for r in page["Records"])
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    return landed


def put_records_partial_failure(failed: Mapping[int, str]) -> Fault:
    """PutRecords where the records at the indexes of ``failed`` fail with the error code
    given for each; the others are forwarded to moto, so they are really stored.

    The answer keeps the documented PutRecords response shape (Kinesis API reference,
    PutRecords, "Response Syntax"): HTTP 200 with ``FailedRecordCount`` (the number of
    failed records) and ``Records``, one ``PutRecordsResultEntry`` per request record in
    request order: ``SequenceNumber`` + ``ShardId`` for a record stored, ``ErrorCode`` +
    ``ErrorMessage`` for one not stored (Kinesis documents
    ``ProvisionedThroughputExceededException`` and ``InternalFailure``), plus
    ``EncryptionType``. Stored entries are moto's own answers for the records forwarded.
    """

    async def fault(request: Request, forward: Forward) -> Response | None:
        payload = request.json()
        records = payload["Records"]
        kept = [r for i, r in enumerate(records) if i not in failed]
        stored: list[dict[str, Any]] = []
        if kept:
            body = orjson.dumps({**payload, "Records": kept})
            headers = dict(request.headers, **{"content-length": str(len(body))})
            upstream = await forward(Request(request.method, request.target, headers, body))
            if upstream.status != 200:
                return upstream
            stored = orjson.loads(upstream.body)["Records"]
        answers: list[dict[str, Any]] = []
        accepted = iter(stored)
        for index in range(len(records)):
            code = failed.get(index)
            if code is None:
                answers.append(next(accepted))
            else:
                answers.append({"ErrorCode": code, "ErrorMessage": f"injected {code}"})
        body = orjson.dumps(
            {
                "FailedRecordCount": sum(1 for i in range(len(records)) if i in failed),
                "Records": answers,
                "EncryptionType": "NONE",
            }
        )
        return Response(200, {"content-type": "application/x-amz-json-1.1"}, body)

    return fault
