"""More matching files than the open-file limit allows. The tail used to open until the
descriptors ran out, and then the output could not open its own file (or a connection):
nothing was ever delivered, retried for ever. Now the executable raises its soft limit to
the hard one, and under a hard limit the tail keeps a reserve for the rest of the agent:
what it follows is delivered, the files that wait are named in one warning, and each is
opened once a followed one has gone."""

from __future__ import annotations

import resource
import signal
import subprocess
from pathlib import Path

from tests.support.cli import delivered_logs, start_logtide, tail_workdir, wait_until

CONF = """\
[SERVICE]
    Flush        0.2
    Grace        2
[INPUT]
    Name              tail
    Tag               app
    Path              {log}/*.log
    DB                {state}/tail.db
    Read_from_Head    On
    Refresh_Interval  1
    Rotate_Wait       1
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""
FILES = 100


def _start(conf: Path, soft: int, hard: int) -> subprocess.Popen[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return start_logtide("-c", str(conf), preexec_fn=limit)


def _stop(agent: subprocess.Popen[str]) -> str:
    """SIGTERM, and the agent's log; it must have been running and exit 0."""
    assert agent.poll() is None, agent.communicate()[1]
    agent.send_signal(signal.SIGTERM)
    try:
        _, stderr = agent.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        agent.kill()
        raise
    assert agent.returncode == 0, stderr
    return stderr


def _write_files(log: Path) -> None:
    for n in range(FILES):
        (log / f"f{n:03d}.log").write_text(f"line of file {n}\n")


def test_under_a_hard_limit_the_files_that_fit_are_delivered_and_the_rest_wait(
    tmp_path: Path,
) -> None:
    log, _, out, conf = tail_workdir(tmp_path, CONF)
    _write_files(log)
    agent = _start(conf, 64, 64)  # room for 48 followed files
    try:
        wait_until(lambda: len(delivered_logs(out)) == 48, "the 48 files that fit")

        def delete_delivered() -> bool:
            """Files whose line was delivered go (deleted, then closed after Rotate_Wait):
            the waiting ones are opened in their place."""
            delivered = set(delivered_logs(out))
            for path in log.iterdir():
                if f"line of file {int(path.stem[1:])}" in delivered:
                    path.unlink()
            return len(delivered) == FILES

        wait_until(delete_delivered, "every file, in turns", 60)
    finally:
        stderr = _stop(agent)
    assert sorted(delivered_logs(out)) == sorted(f"line of file {n}" for n in range(FILES))
    assert "tail: 52 matching file(s) wait to be opened: 48 are open" in stderr


def test_the_executable_raises_its_soft_limit_to_the_hard_one(tmp_path: Path) -> None:
    log, _, out, conf = tail_workdir(tmp_path, CONF)
    _write_files(log)
    agent = _start(conf, 64, 4096)
    try:
        wait_until(lambda: len(delivered_logs(out)) == FILES, "every file at once")
    finally:
        stderr = _stop(agent)
    assert "wait to be opened" not in stderr
