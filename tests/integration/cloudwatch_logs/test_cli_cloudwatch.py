"""The real ``logtide`` CLI driving cloudwatch_logs into moto under --once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from tests.support.moto_server import MotoServer

LOGTIDE = Path(sys.executable).with_name("logtide")


def test_dummy_input_to_cloudwatch_with_once(moto: MotoServer, tmp_path: Path) -> None:
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        f"""
[SERVICE]
    Flush 0.2

[INPUT]
    Name     dummy
    Tag      states.notca
    Dummy    {{"item_id":"18","state":"NH"}}
    Rate     200
    Samples  25

[OUTPUT]
    Name              cloudwatch_logs
    Match             states.notca
    region            us-east-1
    log_group_name    fluent-bit-cloudwatch-demo
    log_stream_prefix from-fluent-bit-
    auto_create_group On
    endpoint          {moto.endpoint}
"""
    )
    env = dict(os.environ)  # the moto fixture put fake credentials there
    result = subprocess.run(
        [str(LOGTIDE), "-c", str(config), "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    logs: Any = moto.client("logs")
    events = logs.get_log_events(
        logGroupName="fluent-bit-cloudwatch-demo",
        logStreamName="from-fluent-bit-states.notca",
        startFromHead=True,
    )["events"]
    assert [orjson.loads(e["message"]) for e in events] == [{"item_id": "18", "state": "NH"}] * 25
