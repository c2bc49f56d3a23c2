"""The real ``logtide`` with ``storage.checksum On``: a backlog left in ``storage.path`` by an
earlier run, one chunk damaged on disk, is delivered to CloudWatch (moto) without that chunk;
the damage costs one error line, not the run."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson

from logtide.agent.engine.disk_queue import DiskQueue
from tests.support.cli import run_logtide
from tests.support.moto_server import MotoServer


def test_a_damaged_backlog_chunk_is_skipped_with_one_line(moto: MotoServer, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    now = time.time()
    earlier = DiskQueue(str(storage / "cloudwatch_logs.0"), checksum=True)
    earlier.append([("app", [(now - 30, {"n": 1})], None), ("app", [(now - 20, {"n": 22})], None)])
    earlier.append([("app", [(now - 10, {"n": 3})], None)])
    [segment] = (storage / "cloudwatch_logs.0").glob("*.q")
    segment.write_bytes(segment.read_bytes().replace(b'"n":22', b'"n":27'))
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        f"""
[SERVICE]
    Flush            0.2
    storage.path     {storage}
    storage.sync     full
    storage.checksum On

[INPUT]
    Name         dummy
    Tag          app
    Dummy        {{"n": 9}}
    Samples      2
    storage.type filesystem

[OUTPUT]
    Name              cloudwatch_logs
    Match             app
    region            us-east-1
    log_group_name    g
    log_stream_prefix s-
    auto_create_group On
    endpoint          {moto.endpoint}
"""
    )
    result = run_logtide("-c", str(config), "--once", env=dict(os.environ), timeout=120)
    assert result.returncode == 0, result.stderr
    skipped = [line for line in result.stderr.splitlines() if " skipped, " in line]
    assert len(skipped) == 1 and "CRC32" in skipped[0], result.stderr
    assert "Traceback" not in result.stderr
    logs: Any = moto.client("logs")
    events = logs.get_log_events(logGroupName="g", logStreamName="s-app", startFromHead=True)
    assert [orjson.loads(e["message"])["n"] for e in events["events"]] == [1, 3, 9, 9]
