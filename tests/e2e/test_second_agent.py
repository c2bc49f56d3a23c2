"""Two real ``logtide`` processes on one state folder, as a DaemonSet rolled with
``maxSurge`` runs them (the new pod starts beside the old one, which is stopped only once the
new one is ready), delivering to S3 and CloudWatch on moto.

The second agent's outputs wait for the first one's s3 ``store_dir`` and cloudwatch_logs
journal, with one warning line, while its HTTP server answers ``/api/v1/health`` (the
readiness probe); once the first exits, it takes over from the first one's checkpoint and
every line arrives once. A stop while it waits ends it at once. Before, the second agent
exited 1 at start: a pod that never gets ready, and a ``maxSurge`` rollout that never ends.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest

from logtide.agent.companions.local_aws import free_port
from tests.integration.s3.process import BUCKET, create_bucket, objects
from tests.support.cli import start_logtide, tail_workdir, wait_until
from tests.support.moto_server import MotoServer

GROUP, STREAM = "second-agent", "app"

SERVICE = """\
[SERVICE]
    Flush        0.2
    Log_Level    warn
    Health_Check On
[INPUT]
    Name              tail
    Tag               app
    Path              {log}/*.log
    DB                {state}/tail.db
    Read_from_Head    On
"""

OUTPUTS = {
    "cloudwatch_logs": """\
[OUTPUT]
    Name               cloudwatch_logs
    Match              app
    region             us-east-1
    endpoint           {endpoint}
    log_group_name     {group}
    log_stream_name    {stream}
    auto_create_group  On
""",
    "s3": """\
[OUTPUT]
    Name             s3
    Match            app
    bucket           {bucket}
    region           us-east-1
    endpoint         {endpoint}
    store_dir        {{state}}/s3
    total_file_size  1M
    upload_timeout   1s
""",
}


class Agent:
    """A ``logtide`` process whose stderr is collected as it comes."""

    def __init__(self, conf: Path, *args: str) -> None:
        self.process = start_logtide("-c", str(conf), *args)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]

    def stop(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self._reader.join(timeout=10)
        return code


def _config(tmp_path: Path, moto: MotoServer, first: str) -> tuple[Path, Path, Path]:
    outputs = [first, *(name for name in OUTPUTS if name != first)]
    text = SERVICE + "".join(
        OUTPUTS[name].format(endpoint=moto.endpoint, group=GROUP, stream=STREAM, bucket=BUCKET)
        for name in outputs
    )
    log_dir, state, _, conf = tail_workdir(tmp_path, text)
    return log_dir / "app.log", state, conf


def _append(log: Path, first: int, count: int) -> None:
    with log.open("ab") as fh:
        fh.write(b"".join(b'{"seq": %d}\n' % seq for seq in range(first, first + count)))


def _in_cloudwatch(moto: MotoServer) -> list[int]:
    logs: Any = moto.client("logs")
    try:
        events = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM, startFromHead=True)[
            "events"
        ]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [orjson.loads(orjson.loads(e["message"])["log"])["seq"] for e in events]


def _in_s3(moto: MotoServer) -> list[int]:
    return [
        orjson.loads(record["log"])["seq"]
        for records in objects(moto).values()
        for record in records
    ]


def _delivered(moto: MotoServer, count: int) -> bool:
    return len(_in_cloudwatch(moto)) >= count and len(_in_s3(moto)) >= count


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
            return bool(r.status == 200 and r.read().strip() == b"ok")
    except OSError:
        return False


@pytest.mark.parametrize("waits", ["cloudwatch_logs", "s3"])
def test_a_second_agent_waits_for_the_first_then_takes_over(
    moto: MotoServer, tmp_path: Path, waits: str
) -> None:
    """``waits`` is the output configured first: the one whose start meets the lock."""
    create_bucket(moto)
    log, state, conf = _config(tmp_path, moto, waits)
    _append(log, 0, 100)
    first = Agent(conf)
    second: Agent | None = None
    try:
        wait_until(lambda: _delivered(moto, 100), "the first agent's lines")
        port = free_port()
        second = Agent(conf, "-H", "-L", "127.0.0.1", "-P", str(port))
        waiting = second.said
        wait_until(lambda: bool(waiting("in use by another logtide process")), "the wait line")
        wait_until(lambda: _healthy(port), "the second agent's health answering ok")
        _append(log, 100, 50)
        wait_until(lambda: _delivered(moto, 150), "the lines written while both run")
        assert second.process.poll() is None
        assert first.stop() == 0
        wait_until(lambda: bool(second.said("works again")), "the second agent's outputs open")
        _append(log, 150, 25)
        wait_until(lambda: _delivered(moto, 175), "the lines written after the first exits")
    finally:
        if first.process.poll() is None:
            first.stop()
        code = second.stop() if second is not None else None
    assert code == 0
    assert sorted(_in_cloudwatch(moto)) == list(range(175))
    assert sorted(_in_s3(moto)) == list(range(175))
    assert second is not None
    held = second.said("in use by another logtide process")
    assert len(held) == 1, second.lines
    prefix = "cloudwatch_logs: opening the journal" if waits == "cloudwatch_logs" else "s3: opening"
    assert prefix in held[0]
    assert "retrying every 1s" in held[0]
    assert not [line for line in first.lines + second.lines if "Traceback" in line]
    assert state.joinpath("tail.db").exists()


def test_a_second_agent_stopped_while_it_waits_exits_at_once(
    moto: MotoServer, tmp_path: Path
) -> None:
    """SIGTERM to the waiting agent (a rollout undone): it exits 0 within a few seconds,
    having read and sent nothing, and the first one's journal is as it was."""
    create_bucket(moto)
    log, state, conf = _config(tmp_path, moto, "cloudwatch_logs")
    _append(log, 0, 100)
    first = Agent(conf)
    try:
        wait_until(lambda: _delivered(moto, 100), "the first agent's lines")
        journals = list((state / "tail.db.cloudwatch_logs").glob("*.journal"))
        assert len(journals) == 1
        before = journals[0].read_bytes()
        second = Agent(conf)
        wait_until(lambda: bool(second.said("in use by another logtide process")), "the wait")
        assert second.stop(timeout=10) == 0
        assert journals[0].read_bytes() == before
        assert not [line for line in second.lines if "Traceback" in line or "error" in line]
        _append(log, 100, 50)
        wait_until(lambda: _delivered(moto, 150), "the first agent's later lines")
    finally:
        assert first.stop() == 0
    assert sorted(_in_cloudwatch(moto)) == list(range(150))
    assert sorted(_in_s3(moto)) == list(range(150))
