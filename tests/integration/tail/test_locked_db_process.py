"""The real ``logtide`` process keeps tailing while its checkpoint DB refuses writes (another
process holds the DB's write lock, as ``sqlite3`` run by hand against it would): one
warning line, no traceback, and once the lock is gone the checkpoints reach the DB, so a
kill -9 after that reads nothing again."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.cli import (
    LOGTIDE,
    delivered_logs,
    run_logtide,
    start_logtide,
    tail_workdir,
    wait_until,
)
from tests.support.tail_db import stored_offsets

CONF = """\
[SERVICE]
    Flush        0.2
    Log_Level    warn
[INPUT]
    Name              tail
    Tag               app
    Path              {log}/*.log
    DB                {state}/tail.db
    Read_from_Head    On
    Refresh_Interval  1
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""


def _checkpoint(db: Path) -> int:
    """The one file's checkpoint offset (0 before the first)."""
    return max(stored_offsets(db).values(), default=0)


def _append(log: Path, first: int, count: int) -> None:
    with log.open("ab") as fh:
        fh.write(b"".join(b"seq=%d\n" % seq for seq in range(first, first + count)))


@pytest.mark.skipif(not Path(LOGTIDE).exists(), reason="logtide is not installed in this venv")
def test_a_locked_checkpoint_db_is_one_line_and_loses_or_repeats_nothing(tmp_path: Path) -> None:
    log_dir, state, out, conf = tail_workdir(tmp_path, CONF)
    log, db = log_dir / "app.log", state / "tail.db"
    _append(log, 0, 100)
    proc = start_logtide("-c", str(conf))
    try:
        wait_until(lambda: len(delivered_logs(out)) == 100, "the first lines", 20)
        wait_until(lambda: _checkpoint(db) == log.stat().st_size, "the first checkpoint", 20)
        # Hold the write lock past SQLite's 5 s busy wait: the agent's writes fail.
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        _append(log, 100, 100)
        wait_until(lambda: len(delivered_logs(out)) == 200, "lines while locked", 20)
        time.sleep(7)
        holder.execute("ROLLBACK")
        holder.close()
        _append(log, 200, 100)
        wait_until(lambda: len(delivered_logs(out)) == 300, "lines after the lock", 20)
        wait_until(lambda: _checkpoint(db) == log.stat().st_size, "checkpoints written again", 20)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        stderr = proc.stderr.read() if proc.stderr else ""
        proc = start_logtide("-c", str(conf))
        time.sleep(3)  # what a restart would read again, if anything, by now
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert delivered_logs(out) == [f"seq={seq}" for seq in range(300)]
    warnings = [line for line in stderr.splitlines() if "checkpoint DB" in line]
    assert len(warnings) == 2, stderr
    assert "failed: database is locked; retrying every 1s" in warnings[0]
    assert warnings[1].endswith("works again")
    assert "Traceback" not in stderr and "never retrieved" not in stderr, stderr


@pytest.mark.skipif(not Path(LOGTIDE).exists(), reason="logtide is not installed in this venv")
def test_a_db_locked_at_start_is_waited_for_not_given_up(tmp_path: Path) -> None:
    """Another process holds the DB with an exclusive lock (``DB.locking true`` in a second
    agent, say) when logtide starts. The tail input used to stop for good on the first
    ``database is locked`` while the process ran on, reading nothing; it now waits for the
    DB with one warning line and reads from the stored checkpoint once it opens."""
    log_dir, state, out, conf = tail_workdir(tmp_path, CONF)
    log, db = log_dir / "app.log", state / "tail.db"
    _append(log, 0, 100)
    first = run_logtide("-c", str(conf), "--once")
    assert first.returncode == 0, first.stderr
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("COMMIT")
    _append(log, 100, 100)
    proc = start_logtide("-c", str(conf))
    try:
        time.sleep(8)  # past SQLite's 5 s busy wait and a retry
        assert proc.poll() is None
        assert len(delivered_logs(out)) == 100
        holder.close()
        wait_until(lambda: len(delivered_logs(out)) == 200, "the lines after the checkpoint", 20)
    finally:
        holder.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert delivered_logs(out) == [f"seq={seq}" for seq in range(200)]
    warnings = [line for line in stderr.splitlines() if "checkpoint DB" in line]
    assert len(warnings) == 2, stderr
    assert "opening checkpoint DB" in warnings[0]
    assert (
        "failed: database is locked; retrying every 1s (no file is read until it opens)"
        in (warnings[0])
    )
    assert warnings[1].endswith("works again")
    assert "Traceback" not in stderr, stderr


@pytest.mark.skipif(not Path(LOGTIDE).exists(), reason="logtide is not installed in this venv")
def test_a_second_agent_on_the_same_db_waits_for_the_first_to_exit(tmp_path: Path) -> None:
    """Two agents on one checkpoint DB (a DaemonSet rolled with maxSurge, an agent started
    by hand beside the pod's): the second reads nothing while the first runs, says so in one
    line, and takes over from the first one's checkpoint once it exits. Before, both read
    every line written meanwhile and delivered it twice."""
    log_dir, _state, out, conf = tail_workdir(tmp_path, CONF)
    log = log_dir / "app.log"
    _append(log, 0, 100)
    first = start_logtide("-c", str(conf))
    second = None
    try:
        wait_until(lambda: len(delivered_logs(out)) == 100, "the first agent's lines", 20)
        second = start_logtide("-c", str(conf))
        time.sleep(3)  # the second agent is up, its DB not opened
        assert second.poll() is None
        _append(log, 100, 100)
        wait_until(lambda: len(delivered_logs(out)) == 200, "lines while both run", 20)
        time.sleep(2)  # what the second agent would deliver of them, if it read them
        first.send_signal(signal.SIGTERM)
        assert first.wait(20) == 0
        _append(log, 200, 100)
        wait_until(lambda: len(delivered_logs(out)) >= 300, "the second agent's lines", 20)
        time.sleep(2)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    assert delivered_logs(out) == [f"seq={seq}" for seq in range(300)]
    assert second is not None and second.stderr is not None
    stderr = second.stderr.read()
    warnings = [line for line in stderr.splitlines() if "checkpoint DB" in line]
    assert len(warnings) == 2, stderr
    assert "another process holds it" in warnings[0] and "tail.db.lock is locked" in warnings[0]
    assert "retrying every 1s (no file is read until it opens)" in warnings[0]
    assert warnings[1].endswith("works again")
    assert "Traceback" not in stderr, stderr
