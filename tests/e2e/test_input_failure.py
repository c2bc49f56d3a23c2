"""The real ``logtide`` daemon with an input that cannot run: it stops with exit code 1 and
one error line per cause, no traceback, instead of running on "healthy" while that input's
logs go unread. Fluent Bit refuses to start such a config. What the other inputs read is
delivered on the way out or read again on the restart, so nothing is lost."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from tests.support.cli import LOGTIDE, delivered_logs, start_logtide, tail_workdir, wait_until

pytestmark = pytest.mark.skipif(
    not Path(LOGTIDE).exists(), reason="logtide is not installed in this venv"
)

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
[INPUT]
    Name    forward
    Listen  127.0.0.1
    Port    {port}
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""

BROKEN_DB = """\
[SERVICE]
    Flush        0.2
[INPUT]
    Name    tail
    Path    {log}/*.log
    DB      {state}/taken/tail.db
[OUTPUT]
    Name   null
    Match  *
"""


def _error_lines_of_a_daemon_that_stops(conf: Path) -> list[str]:
    """Run the daemon on ``conf``; it must stop by itself with exit code 1 and no traceback.
    Its ``[error]`` lines."""
    proc = start_logtide("-c", str(conf))
    try:
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if "[error]" in line]


def test_a_forward_port_in_use_stops_the_agent_and_a_restart_loses_nothing(
    tmp_path: Path,
) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    log_dir, _, out, conf = tail_workdir(tmp_path, CONF.replace("{port}", str(port)))
    lines = [f"seq={n}" for n in range(500)]
    (log_dir / "app.log").write_text("".join(line + "\n" for line in lines))

    errors = _error_lines_of_a_daemon_that_stops(conf)
    assert len(errors) == 2, errors
    assert f"[input:forward.0] forward: cannot listen on 127.0.0.1:{port}" in errors[0]
    assert "[engine] input forward.0 stopped; stopping the agent (exit code 1)" in errors[1]

    holder.close()
    proc = start_logtide("-c", str(conf))
    try:
        wait_until(lambda: len(delivered_logs(out)) >= len(lines), "every line delivered")
        assert proc.poll() is None, "the agent stopped with its port free"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert set(delivered_logs(out)) == set(lines)


def test_a_checkpoint_db_that_cannot_be_created_stops_the_agent(tmp_path: Path) -> None:
    log_dir, state, _, conf = tail_workdir(tmp_path, BROKEN_DB)
    (state / "taken").write_text("a file where the DB's folder should be\n")
    (log_dir / "app.log").write_text("one\n")
    errors = _error_lines_of_a_daemon_that_stops(conf)
    assert len(errors) == 2, errors
    assert f"[input:tail.0] tail: cannot open DB {state}/taken/tail.db" in errors[0]
    assert "[engine] input tail.0 stopped" in errors[1]
