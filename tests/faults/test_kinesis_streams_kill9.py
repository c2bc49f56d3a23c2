"""kill -9 of the real ``logtide`` while tail -> kinesis_streams runs on a growing file:
every line reaches the stream (read back with GetRecords from moto), because the tail's
checkpoint moves only once PutRecords accepted every record of a chunk.

Kinesis Data Streams is at-least-once: a kill between an accepted PutRecords and the
checkpoint write puts those records again after the restart (there is no way to ask the
stream whether a record landed). Duplicates are counted and reported, not forbidden."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.faults import report
from tests.faults.agent import Agent, new_port, wait_for
from tests.support.kinesis import create_stream, read_stream
from tests.support.moto_server import REGION, MotoServer

STREAM = "kill9-logs"

CONFIG = """\
[SERVICE]
    Flush          1
    Grace          10
    Log_Level      info
    HTTP_Server    On
    HTTP_Listen    127.0.0.1
    HTTP_Port      {port}
    Parsers_File   {work}/parsers.conf
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

PARSERS = "[PARSER]\n    Name json\n    Format json\n"


class LineWriter(threading.Thread):
    """Appends JSON lines ``{"seq": n, "pod": ...}`` in small bursts."""

    def __init__(self, path: Path, batch: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.path, self.batch, self.pause = path, batch, pause
        self.written = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            lines = [
                orjson.dumps({"seq": n, "pod": f"pod-{n % 5}", "pad": "x" * 64})
                for n in range(self.written, self.written + self.batch)
            ]
            with self.path.open("ab") as out:
                out.write(b"\n".join(lines) + b"\n")
            self.written += self.batch
            time.sleep(self.pause)

    def finish(self) -> None:
        self.stopping.set()
        self.join(60)


def _kill_loop(tmp_path: Path, moto: MotoServer, kills: int, lines_per_second: int) -> None:
    create_stream(moto, STREAM, shards=2)
    port = new_port()
    (tmp_path / "parsers.conf").write_text(PARSERS)
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        CONFIG.format(
            port=port, work=tmp_path, region=REGION, stream=STREAM, endpoint=moto.endpoint
        )
    )
    (tmp_path / "logs").mkdir()
    writer = LineWriter(tmp_path / "logs" / "app.log", batch=lines_per_second // 10, pause=0.1)
    writer.start()
    agent = Agent(config, http_port=port, bucket="unused")
    rng = random.Random(23)

    def seen() -> Counter[int]:
        return Counter(int(orjson.loads(r.data)["seq"]) for r in read_stream(moto, STREAM))

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
