"""``logtide --once`` with an output that keeps retrying ends on SIGTERM/SIGINT within
``Grace``; what was not delivered is kept (tail checkpoint behind it, or s3 ``store_dir``)
and the next run delivers it."""

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
OUTPUTS = {
    # retries PutLogEvents: the records stay queued, unacknowledged
    "cloudwatch_logs": """
    log_group_name    once-stop
    log_stream_name   app
    auto_create_group On
""",
    # takes the records into store_dir at once; the upload is what retries
    "s3": """
    bucket            once-stop
    store_dir         {folder}/store
    total_file_size   1M
    upload_timeout    1s
""",
}


def config(folder: Path, output: str, endpoint: str) -> Path:
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
    Name              {output}
    Match             app
    region            us-east-1
    endpoint          {endpoint}
    Retry_Limit       no_limits
"""
        + OUTPUTS[output].format(folder=folder)
    )
    return path


def delivered(moto: MotoServer, output: str) -> list[str]:
    if output == "cloudwatch_logs":
        logs: Any = moto.client("logs")
        found = logs.get_log_events(
            logGroupName="once-stop", logStreamName="app", startFromHead=True
        )
        return [orjson.loads(e["message"])["log"] for e in found["events"]]
    s3: Any = moto.client("s3")
    lines: list[str] = []
    for item in s3.list_objects_v2(Bucket="once-stop").get("Contents", []):
        body = s3.get_object(Bucket="once-stop", Key=item["Key"])["Body"].read()
        lines += [orjson.loads(line)["log"] for line in body.splitlines()]
    return sorted(lines, key=lambda line: int(line.split()[1]))


@pytest.mark.parametrize(
    ("output", "sig"),
    [
        ("cloudwatch_logs", signal.SIGTERM),
        ("cloudwatch_logs", signal.SIGINT),
        ("s3", signal.SIGTERM),
    ],
)
def test_once_ends_within_grace_on_a_signal_and_the_next_run_delivers_all(
    moto: MotoServer, tmp_path: Path, output: str, sig: signal.Signals
) -> None:
    (tmp_path / "app.log").write_text("".join(f"line {n}\n" for n in range(LINES)))
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: every attempt is refused
    stderr = tmp_path / "first.stderr"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [LOGTIDE, "-c", str(config(tmp_path, output, closed)), "--once"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while b"retry 2" not in stderr.read_bytes():
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
    assert "grace period" in log

    if output == "s3":
        moto.client("s3").create_bucket(Bucket="once-stop")
    second = subprocess.run(
        [LOGTIDE, "-c", str(config(tmp_path, output, moto.endpoint)), "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    assert delivered(moto, output) == [f"line {n}" for n in range(LINES)]
