"""The real ``logtide`` process with the watchdog watcher (what macOS and the BSDs use, forced
here on Linux): a new file and new writes reach the output within about a second, although
``Refresh_Interval`` is 60 s and the safety pass over every file runs only every 5 s."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import LOGTIDE as CLI
from tests.support.cli import delivered_logs, tail_workdir

LOGTIDE = Path(CLI)
# Generous for a loaded 2-core machine; without notifications the new file would wait for
# Refresh_Interval (60 s) and a write for the next safety pass (up to 5 s).
WITHIN = 2.5

CONF = """\
[SERVICE]
    Flush        0.1
    Log_Level    info
[INPUT]
    Name              tail
    Tag               app
    Path              {log}/*.log
    DB                {state}/tail.db
    Read_from_Head    On
    Refresh_Interval  60
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""

pytestmark = [
    pytest.mark.skipif(not LOGTIDE.exists(), reason="logtide is not installed in this venv"),
    pytest.mark.skipif(importlib.util.find_spec("watchdog") is None, reason="needs watchdog"),
]


def _lines(out: Path) -> set[str]:
    return {log.strip() for log in delivered_logs(out)}


def _wait_for(out: Path, line: str, timeout: float) -> float:
    """Seconds until ``line`` is in the output; fails after ``timeout``."""
    started = time.monotonic()
    while line not in _lines(out):
        if time.monotonic() - started > timeout:
            pytest.fail(f"{line!r} not delivered within {timeout} s: {sorted(_lines(out))}")
        time.sleep(0.02)
    return time.monotonic() - started


def test_new_file_and_writes_are_seen_within_a_second_or_two(tmp_path: Path) -> None:
    log, _, out, conf = tail_workdir(tmp_path, CONF)
    (log / "a.log").write_bytes(b"ready\n")
    proc = subprocess.Popen(
        [str(LOGTIDE), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "LOGTIDE_WATCHER": "watchdog"},
    )
    try:
        _wait_for(out, "ready", 30)
        time.sleep(0.5)  # past the first moments, when every file is visited anyway
        with (log / "a.log").open("ab") as fh:
            fh.write(b"a write\n")
        waited = [_wait_for(out, "a write", 30)]
        (log / "b.log").write_bytes(b"a new file\n")
        waited.append(_wait_for(out, "a new file", 70))
        with (log / "b.log").open("ab") as fh:
            fh.write(b"b write\n")
        waited.append(_wait_for(out, "b write", 30))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr.decode()
    assert b"file notifications from watchdog" in stderr, stderr.decode()
    assert max(waited) < WITHIN, waited
