"""The ``aws`` filter in the real ``logtide`` process: dummy -> aws -> file, against the
IMDS stand-in on 127.0.0.1. With IMDS up every record carries the fields; with IMDS down
every record still arrives, one warning names what is missing, and the fields appear on
later records once IMDS answers again."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.cli import delivered_logs, start_logtide, tail_workdir
from tests.support.fake_imds import FakeImds, fake_imds

SAMPLES = 60
CONFIG = """\
[SERVICE]
    Flush        0.2
    Grace        5
    Log_Level    info

[INPUT]
    Name    dummy
    Tag     app
    Dummy   {{"message":"hello"}}
    Rate    {rate}
    Samples {samples}

[FILTER]
    Name              aws
    Match             *
    imds_endpoint     {url}
    retry_interval_s  {retry}
    private_ip        On

[OUTPUT]
    Name   file
    Match  *
    Path   {out}
    File   records.jsonl
    Format plain
"""
DEFAULT_FIELDS = {"az": "us-east-1a", "ec2_instance_id": "i-0a1b2c3d4e5f67890"}
FIELDS = {**DEFAULT_FIELDS, "private_ip": "192.168.12.34"}


@pytest.fixture
def imds() -> Iterator[FakeImds]:
    with fake_imds() as server:
        yield server


def delivered(out: Path) -> list[dict[str, Any]]:
    path = out / "records.jsonl"
    if not path.exists():
        return []
    lines = path.read_bytes().splitlines()
    return [orjson.loads(line) for line in lines if line.endswith(b"}")]


def run_until_delivered(
    tmp_path: Path, imds: FakeImds, *, retry: int, rate: int, during: Any = None
) -> tuple[list[dict[str, Any]], str]:
    """Run logtide until all SAMPLES records are in the file; (records, stderr)."""
    out = tmp_path / "out"
    out.mkdir()
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(CONFIG.format(url=imds.url, retry=retry, rate=rate, samples=SAMPLES, out=out))
    proc = start_logtide("-c", str(conf))
    try:
        deadline = time.monotonic() + 60
        while len(delivered(out)) < SAMPLES and time.monotonic() < deadline:
            if during is not None:
                during(len(delivered(out)))
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    return delivered(out), stderr


def test_records_carry_the_instance_fields(tmp_path: Path, imds: FakeImds) -> None:
    records, stderr = run_until_delivered(tmp_path, imds, retry=300, rate=50)
    assert len(records) == SAMPLES
    assert all(record == {"message": "hello", **FIELDS} for record in records), records[0]
    assert imds.puts() == 1, "one token for the whole run"
    assert "instance metadata" not in stderr


def test_imds_down_loses_nothing_and_warns_once(tmp_path: Path, imds: FakeImds) -> None:
    imds.set_mode("error")
    # retry_interval_s 0: every chunk asks again, yet the warning is printed once
    records, stderr = run_until_delivered(tmp_path, imds, retry=0, rate=40)
    assert records == [{"message": "hello"}] * SAMPLES
    warnings = [line for line in stderr.splitlines() if "instance metadata from" in line]
    assert len(warnings) == 1, stderr
    assert "records go on without ec2_instance_id, private_ip, az" in warnings[0]
    assert "HTTP 500" in warnings[0]
    assert imds.puts() > 2, "it kept asking while records flowed"


def test_fields_appear_once_imds_answers_again(tmp_path: Path, imds: FakeImds) -> None:
    imds.set_mode("refuse")

    def recover(count: int) -> None:
        if count >= SAMPLES // 3 and imds.mode == "refuse":
            imds.set_mode("ok")

    records, stderr = run_until_delivered(tmp_path, imds, retry=1, rate=30, during=recover)
    assert len(records) == SAMPLES
    with_fields = [i for i, record in enumerate(records) if record != {"message": "hello"}]
    assert with_fields, stderr
    first = with_fields[0]
    assert first >= SAMPLES // 3
    assert with_fields == list(range(first, SAMPLES)), "from then on every record has them"
    assert all(records[i] == {"message": "hello", **FIELDS} for i in with_fields)
    assert "IMDS answered; records now carry every field asked for" in stderr


TAIL_CONFIG = """\
[SERVICE]
    Flush        0.2
    Log_Level    error
[INPUT]
    Name              tail
    Tag               app
    Path              {log}/*.log
    DB                {state}/tail.db
    Read_from_Head    On
    Refresh_Interval  1
[FILTER]
    Name              aws
    Match             *
    imds_endpoint     URL
    retry_interval_s  1
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""
LINES = 2000
TAIL_END = 100


def _write_lines(path: Path, imds_back: threading.Event, done: threading.Event) -> None:
    """Numbered lines at ~1,000/s; the last TAIL_END only once IMDS answers again."""
    with path.open("ab", buffering=0) as fh:
        for seq in range(LINES):
            if seq == LINES - TAIL_END:
                imds_back.wait(60)
            fh.write(b"seq=%d\n" % seq)
            if seq % 20 == 0:
                time.sleep(0.02)
    done.set()


def _wait_delivered(out: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(set(delivered_logs(out))) < count:
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.05)


def test_kill9_while_imds_hangs_loses_no_line(tmp_path: Path, imds: FakeImds) -> None:
    """kill -9 (twice) while the filter's fetches hang on IMDS: the checkpoint only moved
    over delivered lines, so the restarted agent delivers every line, and the lines after
    IMDS answers again carry the fields."""
    imds.set_mode("timeout")
    log, _, out, conf = tail_workdir(tmp_path, TAIL_CONFIG.replace("URL", imds.url))
    imds_back, done = threading.Event(), threading.Event()
    writer = threading.Thread(
        target=_write_lines, args=(log / "app.log", imds_back, done), daemon=True
    )
    writer.start()
    proc = start_logtide("-c", str(conf))
    try:
        for delivered_before_kill in (200, 600):
            _wait_delivered(out, delivered_before_kill, proc)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            proc = start_logtide("-c", str(conf))
        imds.set_mode("ok")
        imds_back.set()
        assert done.wait(timeout=60)
        _wait_delivered(out, LINES, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    records = delivered(out)
    seen = {record["log"] for record in records}
    missing = sorted({f"seq={seq}" for seq in range(LINES)} - seen)
    assert missing == [], f"{len(missing)} lines lost, first: {missing[:10]}"
    assert records[0] == {"log": "seq=0"}, "delivered while IMDS hung: no fields"
    tail = [r for r in records if int(r["log"][4:]) >= LINES - TAIL_END]
    assert tail and all(r == {"log": r["log"], **DEFAULT_FIELDS} for r in tail)
