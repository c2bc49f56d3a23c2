"""The real ``logtide`` process tails a log that rotates while the agent is killed with -9
and restarted: every line written reaches the output (duplicates only for lines that were
not yet acknowledged at the kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.cli import LOGTIDE as CLI
from tests.support.cli import delivered_logs, tail_workdir

LOGTIDE = Path(CLI)
TOTAL = 4000
ROTATE_EVERY = 700

CONF = """\
[SERVICE]
    Flush        0.2
    Log_Level    error
[INPUT]
    Name              tail
    Tag               app
    Path              {log}/*.log
    DB                {state}/tail.db
    Read_from_Head    On
    Rotate_Wait       1
    Refresh_Interval  1
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""


def _writer(log_dir: Path, done: threading.Event) -> None:
    """An app writing numbered lines, rotated logrotate-style (rename, new file)."""
    live = log_dir / "app.log"
    fh = open(live, "ab", buffering=0)  # noqa: SIM115
    generation = 0
    for seq in range(TOTAL):
        fh.write(b"seq=%d payload=%s\n" % (seq, b"x" * (seq % 50)))
        if seq % ROTATE_EVERY == ROTATE_EVERY - 1:
            generation += 1
            os.rename(live, log_dir / f"app.log.{generation}")
            fh.write(b"seq=%d late write into the rotated file\n" % (TOTAL + generation))
            fh.close()
            fh = open(live, "ab", buffering=0)  # noqa: SIM115
        if seq % 20 == 0:
            time.sleep(0.004)
    fh.close()
    done.set()


def _seen(out: Path) -> list[int]:
    return [int(log.split()[0].split("=")[1]) for log in delivered_logs(out)]


def _start(conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(LOGTIDE), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.mark.skipif(not LOGTIDE.exists(), reason="logtide is not installed in this venv")
def test_kill9_and_rotation_lose_no_line(tmp_path: Path) -> None:
    log, _, out, conf = tail_workdir(tmp_path, CONF)
    done = threading.Event()
    writer = threading.Thread(target=_writer, args=(log, done), daemon=True)
    (log / "app.log").write_bytes(b"seq=-1 agent is up\n")
    proc = _start(conf)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _seen(out):
        time.sleep(0.05)
    writer.start()
    try:
        for pause in (0.4, 0.5, 0.3):
            time.sleep(pause)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=5)
            time.sleep(0.2)  # rotations happen while the agent is down
            proc = _start(conf)
        done.wait(timeout=30)
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline and len(set(_seen(out))) < TOTAL + TOTAL // ROTATE_EVERY + 1
        ):
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    seen = _seen(out)
    rotations = TOTAL // ROTATE_EVERY
    expected = set(range(-1, TOTAL)) | {TOTAL + g for g in range(1, rotations + 1)}
    missing = sorted(expected - set(seen))
    assert missing == [], f"{len(missing)} lines lost, first: {missing[:10]}"
    assert len(seen) - TOTAL < TOTAL // 2  # duplicates only from unacknowledged chunks
