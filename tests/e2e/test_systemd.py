"""The systemd input in the real ``logtide`` process, on real journal files: restarts resume
at the stored cursor, rotation and vacuum lose nothing, a corrupt file is one warning, and
bad settings are one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import LOGTIDE, run_logtide
from tests.support.journal import needs_journal_tools, unit_entries, write_journal

CONFIG = """\
[SERVICE]
    Flush      0.2
    Log_Level  info
[INPUT]
    Name            systemd
    Tag             host.*
    Path            {journal}
    DB              {state}/systemd.db
    Systemd_Filter  _SYSTEMD_UNIT=kubelet.service
[OUTPUT]
    Name    file
    Match   host.kubelet.service
    Path    {out}
    File    kubelet.jsonl
    Format  plain
"""


class Daemon:
    """``logtide -c`` in follow mode over ``tmp/journal``, into ``tmp/out/kubelet.jsonl``."""

    def __init__(self, tmp: Path) -> None:
        self.journal, self.state, self.out = tmp / "journal", tmp / "state", tmp / "out"
        for folder in (self.journal, self.state, self.out):
            folder.mkdir(exist_ok=True)
        self.config = tmp / "fluent-bit.conf"
        self.config.write_text(CONFIG.format(journal=self.journal, state=self.state, out=self.out))
        self.log = tmp / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([LOGTIDE, "-c", str(self.config)], stdout=log, stderr=log)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(60)

    def seqs(self) -> list[int]:
        path = self.out / "kubelet.jsonl"
        if not path.exists():
            return []
        return [int(json.loads(line)["SEQ"]) for line in path.read_text().splitlines() if line]

    def wait_for(self, count: int, timeout: float = 60) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            seqs = self.seqs()
            if len(seqs) >= count:
                return seqs
            time.sleep(0.2)
        raise AssertionError(
            f"{len(self.seqs())} of {count} entries arrived\n{self.log.read_text()}"
        )


@pytest.fixture
def daemon(tmp_path: Path) -> object:
    needs_journal_tools()
    agent = Daemon(tmp_path)
    yield agent
    if agent.proc is not None and agent.proc.poll() is None:
        agent.stop(signal.SIGKILL)


def test_restart_resumes_after_the_stored_cursor(daemon: Daemon) -> None:
    journal = daemon.journal / "system.journal"
    write_journal(journal, unit_entries(50) + unit_entries(5, start=50, unit="sshd.service"))
    daemon.start()
    daemon.wait_for(50)
    write_journal(journal, unit_entries(20, start=100), start=100)
    daemon.wait_for(70)
    daemon.stop()
    write_journal(journal, unit_entries(30, start=200), start=200)
    daemon.start()
    seqs = daemon.wait_for(100)
    time.sleep(1)
    assert sorted(daemon.seqs()) == [*range(50), *range(100, 120), *range(200, 230)]
    assert seqs == sorted(seqs)


def test_rotation_then_vacuum_of_the_cursor_entry(daemon: Daemon) -> None:
    folder = daemon.journal
    write_journal(folder / "system.journal", unit_entries(40))
    daemon.start()
    daemon.wait_for(40)
    # journald's rotation: the active file renamed to an archived name, a new one started
    (folder / "system.journal").rename(
        folder / "system@0001-0000000000000001-0000000000000001.journal"
    )
    write_journal(folder / "system.journal", unit_entries(25, start=100), start=100)
    daemon.wait_for(65)
    daemon.stop()
    # while the agent is down, new entries land in a newer file and the files holding the
    # stored cursor are vacuumed
    write_journal(folder / "system@0002.journal", unit_entries(30, start=200), start=200)
    for old in ("system@0001-0000000000000001-0000000000000001.journal", "system.journal"):
        (folder / old).unlink()
    daemon.start()
    daemon.wait_for(95)
    time.sleep(1)
    assert sorted(daemon.seqs()) == [*range(40), *range(100, 125), *range(200, 230)]
    log = daemon.log.read_text()
    assert log.count("no longer in the journal") == 1, log


def test_a_corrupt_journal_file_is_one_warning_and_skipped(daemon: Daemon) -> None:
    write_journal(daemon.journal / "system.journal", unit_entries(30))
    (daemon.journal / "broken.journal").write_bytes(b"LPKSHHRH" + os.urandom(4000))
    daemon.start()
    daemon.wait_for(30)
    write_journal(daemon.journal / "system.journal", unit_entries(10, start=30), start=30)
    daemon.wait_for(40)
    log = daemon.log.read_text()
    warnings = [line for line in log.splitlines() if "broken.journal" in line]
    assert len(warnings) == 1, log
    assert "Traceback" not in log


def test_dry_run_rejects_a_filter_without_equals(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        "[INPUT]\n    Name systemd\n    Systemd_Filter _SYSTEMD_UNIT\n"
        "[OUTPUT]\n    Name null\n    Match *\n"
    )
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Systemd_Filter '_SYSTEMD_UNIT'" in lines[0], result.stderr
    assert str(conf) in lines[0]


def test_a_path_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    if shutil.which("journalctl") is None:
        pytest.skip("journalctl is not installed (Debian package systemd)")
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        f"[INPUT]\n    Name systemd\n    Path {tmp_path}/missing\n"
        "[OUTPUT]\n    Name null\n    Match *\n"
    )
    result = run_logtide("-c", str(conf), "--once")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "missing" in line]
    assert len(errors) == 1 and "cannot read Path" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
