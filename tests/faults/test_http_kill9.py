"""kill -9 of the real ``logtide`` while tail -> http runs on a growing file, into the
recording server on 127.0.0.1 (which also answers 503 now and then): every line written
reaches the server in a 2xx-answered request. The tail checkpoint moves only after the
server accepted a batch, so a kill loses nothing; a batch in flight at the kill is sent
again (at-least-once, the repeats are counted)."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.faults import report
from tests.faults.agent import Agent, new_port, wait_for
from tests.support.http_sink import HttpSink, ThreadedSink, sink_in_thread
from tests.support.line_writer import LineWriter

CONFIG = """\
[SERVICE]
    Flush          0.5
    Grace          5
    Log_Level      info
    HTTP_Server    On
    HTTP_Listen    127.0.0.1
    HTTP_Port      {port}
    scheduler.base 0.2
    scheduler.cap  1
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
    Name            http
    Match           *
    Port            {sink_port}
    URI             /ingest
    Format          json_lines
    json_date_key   false
    compress        gzip
    Retry_Limit     no_limits
"""


def app_line(n: int) -> bytes:
    return orjson.dumps({"seq": n, "pad": "x" * 80})


def received(sink: ThreadedSink) -> Counter[int]:
    seqs: Counter[int] = Counter()
    for request in list(sink.sink.requests):
        if 200 <= request.status < 300:
            seqs.update(int(orjson.loads(line)["seq"]) for line in request.body.splitlines())
    return seqs


def _kill_loop(tmp_path: Path, kills: int) -> None:
    port = new_port()
    (tmp_path / "parsers.conf").write_text("[PARSER]\n    Name json\n    Format json\n")
    (tmp_path / "logs").mkdir()
    with sink_in_thread(HttpSink(fail_every=7)) as sink:
        config = tmp_path / "fluent-bit.conf"
        config.write_text(CONFIG.format(port=port, work=tmp_path, sink_port=sink.sink.port))
        writer = LineWriter(tmp_path / "logs" / "app.log", batch=50, pause=0.05, make=app_line)
        writer.start()
        agent = Agent(config, http_port=port, bucket="unused")
        rng = random.Random(23)
        try:
            for _ in range(kills):
                agent.start()
                time.sleep(rng.uniform(1.0, 2.5))
                agent.kill9()
            agent.start()
            time.sleep(1)
            writer.finish()
            expected = set(range(writer.written))
            try:
                wait_for(
                    lambda: set(received(sink)) >= expected,
                    90,
                    interval=0.5,
                    what="every line at the server",
                )
            except AssertionError:
                missing = sorted(expected - set(received(sink)))
                raise AssertionError(
                    f"{len(missing)} lines lost, first {missing[:20]}\n{agent.log_tail()}"
                ) from None
            seqs = received(sink)
        finally:
            writer.finish()
            agent.stop()
    assert set(seqs) == expected
    report.record(
        f"http_kill9_{kills}",
        kills=kills,
        lines=len(expected),
        lost=len(expected - set(seqs)),
        repeated=sum(n - 1 for n in seqs.values()),
        requests=len(sink.sink.requests),
    )


def test_kill9_tail_to_http_loses_nothing(tmp_path: Path) -> None:
    _kill_loop(tmp_path, kills=3)


@pytest.mark.slow
def test_kill9_tail_to_http_loses_nothing_long(tmp_path: Path) -> None:
    _kill_loop(tmp_path, kills=15)
