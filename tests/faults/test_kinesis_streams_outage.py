"""Kinesis unreachable (connection refused), then failing (503), then back, while the real
``logtide`` tails a growing file into kinesis_streams: nothing is lost, the output retries
with backoff and catches up by itself."""

from __future__ import annotations

import time
from pathlib import Path

from tests.faults import report
from tests.faults.agent import Agent, new_port, wait_for
from tests.support.fault_proxy import FaultProxy, http_error
from tests.support.kinesis import agent_config, app_line, create_stream, sequence_counts
from tests.support.line_writer import LineWriter
from tests.support.moto_server import MotoServer

STREAM = "outage-logs"


def test_outage_then_recovery_loses_nothing(tmp_path: Path, moto: MotoServer) -> None:
    create_stream(moto, STREAM, shards=2)
    port = new_port()
    with FaultProxy(moto.endpoint) as proxy:
        config = agent_config(tmp_path, port, STREAM, proxy.endpoint)
        writer = LineWriter(tmp_path / "logs" / "app.log", batch=10, pause=0.1, make=app_line)
        agent = Agent(config, http_port=port, bucket="unused")
        try:
            writer.start()
            agent.start()
            time.sleep(2)
            proxy.offline()
            time.sleep(5)
            proxy.inject(http_error(503), duration=3, operation="PutRecords")
            proxy.online()
            time.sleep(3)
            writer.finish()
            expected = set(range(writer.written))
            wait_for(
                lambda: set(sequence_counts(moto, STREAM)) >= expected,
                60,
                interval=1.0,
                what="every line in the stream",
            )
            retries = agent.counter("output", "kinesis_streams.0", "retries")
            counts = sequence_counts(moto, STREAM)
        finally:
            writer.finish()
            agent.stop()
    assert set(counts) == expected, "lines lost"
    assert retries > 0, "the outage was never felt"
    report.record(
        "kinesis_streams_outage",
        lines=len(expected),
        lost=len(expected - set(counts)),
        duplicated=sum(n - 1 for n in counts.values()),
        retries=retries,
    )
