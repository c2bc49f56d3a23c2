"""``logtide --once`` with an output that keeps retrying ends on SIGTERM/SIGINT within
``Grace``; what was not delivered is read again, and delivered, by the next run."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.cli import LOGTIDE
from tests.support.moto_server import MotoServer, free_port

GRACE = 2
LINES = 300


def config(folder: Path, endpoint: str) -> Path:
    path = folder / f"fluent-bit-{endpoint.rsplit(':', 1)[1]}.conf"
    path.write_text(
        f"""
[SERVICE]
    Flush 0.2
    Grace {GRACE}
    scheduler.base 1
    scheduler.cap 2

[INPUT]
    Name           tail
    Path           {folder}/app.log
    Tag            app
    DB             {folder}/tail.db
    Read_from_Head On

[OUTPUT]
    Name              cloudwatch_logs
    Match             app
    region            us-east-1
    log_group_name    once-stop
    log_stream_name   app
    auto_create_group On
    endpoint          {endpoint}
    Retry_Limit       no_limits
"""
    )
    return path


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_once_ends_within_grace_on_a_signal_and_the_next_run_delivers_all(
    moto: MotoServer, tmp_path: Path, sig: signal.Signals
) -> None:
    (tmp_path / "app.log").write_text("".join(f"line {n}\n" for n in range(LINES)))
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: every attempt is refused
    stderr = tmp_path / "first.stderr"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [LOGTIDE, "-c", str(config(tmp_path, closed)), "--once"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while b"retry 2 in" not in stderr.read_bytes():
            assert proc.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.1)
        proc.send_signal(sig)
        sent = time.monotonic()
        try:
            code = proc.wait(timeout=GRACE + 15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"--once ignored {sig.name} while the output retried")
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = stderr.read_text()
    # Grace bounds what follows the signal; interpreter shutdown adds a little
    assert took < GRACE + 3, (took, log)
    assert code == 1, log  # records were left undelivered
    assert "re-read on the next start" in log

    second = subprocess.run(
        [LOGTIDE, "-c", str(config(tmp_path, moto.endpoint)), "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    logs: Any = moto.client("logs")
    events = logs.get_log_events(logGroupName="once-stop", logStreamName="app", startFromHead=True)
    got = [orjson.loads(e["message"])["log"] for e in events["events"]]
    assert got == [f"line {n}" for n in range(LINES)]
