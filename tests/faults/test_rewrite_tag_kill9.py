"""kill -9 of the real ``logtide`` while tail -> rewrite_tag -> S3 runs on a growing file:
records re-tagged with KEEP false (the copy alone carries them) and KEEP true (original and
copy) all arrive, and S3 (exactly-once) holds none twice, because a re-tagged copy holds
its parent chunk's acknowledgement and the parent's source range."""

from __future__ import annotations

import functools
import random
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.faults import report
from tests.faults.agent import Agent, new_port, wait_for
from tests.support.line_writer import LineWriter
from tests.support.logapp import s3_records
from tests.support.moto_server import REGION, MotoServer

BUCKETS = ("plain", "errors", "warncopy")

OUTPUT = """\
[OUTPUT]
    Name             s3
    Match            {match}
    bucket           {bucket}
    region           {region}
    endpoint         {endpoint}
    store_dir        {work}/store-{bucket}
    total_file_size  1M
    upload_timeout   2s
    Retry_Limit      no_limits
"""

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
    Name            tail
    Tag             app.log
    Path            {work}/logs/*.log
    DB              {work}/tail.db
    Read_from_Head  On
    Refresh_Interval 1
    Parser          json
[FILTER]
    Name   rewrite_tag
    Match  app.*
    Rule   $level ^error$ err.$TAG[1] false
    Rule   $level ^warn$  warn.copy   true
"""

PARSERS = "[PARSER]\n    Name json\n    Format json\n"


def level(seq: int) -> str:
    return ("error", "warn", "info")[seq % 3]


def log_file(folder: Path, n: int) -> Path:
    """Errors go to ``errors.log``, the rest to ``app.log``: a chunk of ``errors.log`` is
    re-tagged whole with KEEP false, so only its copies can hold its checkpoint back."""
    return folder / ("errors.log" if level(n) == "error" else "app.log")


def app_line(n: int) -> bytes:
    return orjson.dumps({"seq": n, "level": level(n), "pad": "x" * 64})


def _kill_loop(tmp_path: Path, moto: MotoServer, kills: int) -> None:
    s3 = moto.client("s3")
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket)
    port = new_port()
    (tmp_path / "parsers.conf").write_text(PARSERS)
    outputs = "".join(
        OUTPUT.format(
            match=match,
            bucket=bucket,
            region=REGION,
            endpoint=moto.endpoint,
            work=tmp_path,
        )
        for match, bucket in zip(("app.log", "err.log", "warn.copy"), BUCKETS, strict=True)
    )
    config = tmp_path / "fluent-bit.conf"
    config.write_text(CONFIG.format(port=port, work=tmp_path) + outputs)
    (tmp_path / "logs").mkdir()
    writer = LineWriter(
        functools.partial(log_file, tmp_path / "logs"), batch=60, pause=0.05, make=app_line
    )
    writer.start()
    agent = Agent(config, http_port=port, bucket=BUCKETS[0])
    rng = random.Random(17)
    expected: dict[str, set[int]] = {}

    def seen() -> dict[str, Counter[int]]:
        return {b: Counter(int(r["seq"]) for r in s3_records(s3, b)) for b in BUCKETS}

    try:
        for _ in range(kills):
            agent.start()
            time.sleep(rng.uniform(1.0, 3.5))
            agent.kill9()
        agent.start()
        time.sleep(1)
        writer.finish()
        written = range(writer.written)
        expected = {
            "plain": {n for n in written if level(n) != "error"},
            "errors": {n for n in written if level(n) == "error"},
            "warncopy": {n for n in written if level(n) == "warn"},
        }

        def complete() -> bool:
            counts = seen()
            return all(set(counts[b]) >= expected[b] for b in BUCKETS)

        try:
            wait_for(complete, 120, interval=1.0, what="every record in its bucket")
        except AssertionError:
            counts = seen()
            missing = {b: sorted(expected[b] - set(counts[b]))[:20] for b in BUCKETS}
            raise AssertionError(f"missing: {missing}\n{agent.log_text()[-4000:]}") from None
        counts = seen()
    finally:
        writer.finish()
        agent.stop()
    for bucket in BUCKETS:
        assert set(counts[bucket]) == expected[bucket], f"{bucket}: records lost or misrouted"
        twice = [seq for seq, n in counts[bucket].items() if n > 1]
        assert twice == [], f"{bucket}: S3 holds records twice: {twice[:20]}"
    report.record(
        f"rewrite_tag_kill9_{kills}",
        kills=kills,
        lines=len(written),
        lost=sum(len(expected[b] - set(counts[b])) for b in BUCKETS),
        repeated=sum(n - 1 for b in BUCKETS for n in counts[b].values()),
    )


def test_kill9_rewrite_tag_loses_and_repeats_nothing(tmp_path: Path, moto: MotoServer) -> None:
    _kill_loop(tmp_path, moto, kills=3)


@pytest.mark.slow
def test_kill9_rewrite_tag_loses_and_repeats_nothing_long(tmp_path: Path, moto: MotoServer) -> None:
    _kill_loop(tmp_path, moto, kills=12)
