"""Two real ``logtide`` processes on one state folder (a DaemonSet rolled with ``maxSurge``,
an agent started by hand beside the pod's), delivering to CloudWatch on moto: the second
refuses to start with one line, leaves the first one's journal as it is, and every line
arrives once. Before the journal's lock, the second rewrote that journal under the first
one's appends and put the first one's open batches again."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import orjson

from tests.support.cli import run_logtide, start_logtide, tail_workdir, wait_until
from tests.support.moto_server import MotoServer

GROUP, STREAM = "second-agent", "app"

CONF = """\
[SERVICE]
    Flush        0.2
    Log_Level    warn
[INPUT]
    Name              tail
    Tag               app
    Path              {{log}}/*.log
    DB                {{state}}/tail.db
    Read_from_Head    On
[OUTPUT]
    Name               cloudwatch_logs
    Match              app
    region             us-east-1
    endpoint           {endpoint}
    log_group_name     {group}
    log_stream_name    {stream}
    auto_create_group  On
"""


def _append(log: Path, first: int, count: int) -> None:
    with log.open("ab") as fh:
        fh.write(b"".join(b'{"seq": %d}\n' % seq for seq in range(first, first + count)))


def _delivered(moto: MotoServer) -> list[int]:
    logs: Any = moto.client("logs")
    try:
        events = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM, startFromHead=True)[
            "events"
        ]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [orjson.loads(orjson.loads(e["message"])["log"])["seq"] for e in events]


def test_a_second_agent_on_the_same_journal_refuses_to_start(
    moto: MotoServer, tmp_path: Path
) -> None:
    conf_text = CONF.format(endpoint=moto.endpoint, group=GROUP, stream=STREAM)
    log_dir, state, _, conf = tail_workdir(tmp_path, conf_text)
    log = log_dir / "app.log"
    _append(log, 0, 100)
    first = start_logtide("-c", str(conf))
    try:
        wait_until(lambda: len(_delivered(moto)) == 100, "the first agent's lines")
        journals = list((state / "tail.db.cloudwatch_logs").glob("*.journal"))
        assert len(journals) == 1
        before = journals[0].read_bytes()
        second = run_logtide("-c", str(conf), timeout=60)
        assert second.returncode == 1
        errors = [line for line in second.stderr.splitlines() if "in use" in line]
        assert len(errors) == 1, second.stderr
        assert "cannot open the journal" in errors[0]
        assert "in use by another logtide process" in errors[0]
        assert "Traceback" not in second.stderr
        assert journals[0].read_bytes() == before
        _append(log, 100, 50)
        wait_until(lambda: len(_delivered(moto)) == 150, "the lines written after")
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 0
    assert sorted(_delivered(moto)) == list(range(150))
