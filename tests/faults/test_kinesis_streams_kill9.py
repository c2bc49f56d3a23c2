"""kill -9 of the real ``logtide`` while tail -> kinesis_streams runs on a growing file:
every line reaches the stream (read back with GetRecords from moto), because the tail's
checkpoint moves only once PutRecords accepted every record of a chunk.

Kinesis Data Streams is at-least-once: a kill between an accepted PutRecords and the
checkpoint write puts those records again after the restart (there is no way to ask the
stream whether a record landed). Duplicates are counted and reported, not forbidden."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.faults import report
from tests.faults.agent import Agent, new_port, wait_for
from tests.support.kinesis import (
    agent_config,
    app_line,
    create_stream,
    read_stream,
    sequence_counts,
)
from tests.support.line_writer import LineWriter
from tests.support.moto_server import MotoServer

STREAM = "kill9-logs"


def _kill_loop(tmp_path: Path, moto: MotoServer, kills: int, lines_per_second: int) -> None:
    create_stream(moto, STREAM, shards=2)
    port = new_port()
    config = agent_config(tmp_path, port, STREAM, moto.endpoint)
    writer = LineWriter(
        tmp_path / "logs" / "app.log", batch=lines_per_second // 10, pause=0.1, make=app_line
    )
    writer.start()
    agent = Agent(config, http_port=port, bucket="unused")
    rng = random.Random(23)

    def seen() -> Counter[int]:
        return sequence_counts(moto, STREAM)

    try:
        for _ in range(kills):
            agent.start()
            time.sleep(rng.uniform(1.0, 3.0))
            agent.kill9()
        agent.start()
        time.sleep(1)
        writer.finish()
        expected = set(range(writer.written))
        try:
            wait_for(lambda: set(seen()) >= expected, 120, interval=1.0, what="every line")
        except AssertionError:
            missing = sorted(expected - set(seen()))[:20]
            raise AssertionError(f"missing: {missing}\n{agent.log_text()[-4000:]}") from None
        counts = seen()
        landed = read_stream(moto, STREAM)
    finally:
        writer.finish()
        agent.stop()
    assert set(counts) == expected, "lines lost"
    assert all(r.key == f"pod-{orjson.loads(r.data)['seq'] % 5}" for r in landed)
    repeated = sum(n - 1 for n in counts.values())
    report.record(
        f"kinesis_streams_kill9_{kills}",
        kills=kills,
        lines_per_second=lines_per_second,
        lines=len(expected),
        lost=len(expected - set(counts)),
        duplicated=repeated,
        note="Kinesis Data Streams is at-least-once: duplicates are reported, not forbidden",
    )


def test_kill9_kinesis_streams_loses_nothing(tmp_path: Path, moto: MotoServer) -> None:
    _kill_loop(tmp_path, moto, kills=2, lines_per_second=100)


@pytest.mark.slow
def test_kill9_kinesis_streams_loses_nothing_long(tmp_path: Path, moto: MotoServer) -> None:
    _kill_loop(tmp_path, moto, kills=16, lines_per_second=500)
