"""Scenario ``ks``: tail (docker parser) + the article's parser filter -> kinesis_streams
into a moto server in the benchmark's own process: 2 shards, each record's partition key
its ``state`` (so every call spreads over both shards); every record is read back with
GetRecords to check ``delivered``."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import Result, run_once
from workload import NULL_OUTPUT, write_config, write_logs

STREAM = "bench-logs"

OUTPUT = """\
[OUTPUT]
    Name           kinesis_streams
    Match          *
    region         {region}
    stream         {stream}
    endpoint       {endpoint}
    partition_key  $state
    Retry_Limit    no_limits
"""


def _create_stream(client: Any) -> None:
    client.create_stream(StreamName=STREAM, ShardCount=2)
    while client.describe_stream(StreamName=STREAM)["StreamDescription"]["StreamStatus"] != (
        "ACTIVE"
    ):
        time.sleep(0.1)


def _records_in_stream(client: Any) -> int:
    count = 0
    for shard in client.list_shards(StreamName=STREAM)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator, Limit=10_000)
            count += len(page["Records"])
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    return count


def _linear_moto_shards() -> None:
    """moto's ``Shard.put_record`` finds the last sequence number by copying every key of
    the shard (``list(records.keys())[-1]``), so a stream's N puts cost N^2/2 copies and the
    figure would measure moto: minutes for 100k records. The server runs in this process,
    so its shards get an O(1) lookup of the same value (the OrderedDict's last key)."""
    from moto.kinesis.models import Shard

    def last_sequence_number(shard: Any) -> int:
        return next(reversed(shard.records), 0)

    Shard.get_max_sequence_number = last_sequence_number  # type: ignore[assignment,method-assign]


def scenario_kinesis_streams(lines: int) -> Result:
    from logtide.agent.testing import moto_server

    _linear_moto_shards()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    with moto_server() as moto, tempfile.TemporaryDirectory(prefix="bench-ks-") as tmp:
        root = Path(tmp)
        client = moto.client("kinesis")
        _create_stream(client)
        conf = write_config(root, "parse-null", "docker")
        output = OUTPUT.format(region=moto.region, stream=STREAM, endpoint=moto.endpoint)
        conf.write_text(conf.read_text().replace(NULL_OUTPUT, output))
        write_logs(root / "logs" / "app.log", lines, "docker")
        result = run_once(conf, lines, "ks")
        result.delivered = _records_in_stream(client)
        result.note = "PutRecords into moto, which shares the 2 cores"
        return result
