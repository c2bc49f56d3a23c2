"""The systemd input in the real ``logtide`` process, on real journal files: restarts resume
at the stored cursor, rotation and vacuum lose nothing, a corrupt file is one warning, and
bad settings are one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import LOGTIDE, run_logtide, wait_until, whole_json_lines
from tests.support.journal import (
    needs_journal_tools,
    stored_cursor,
    unit_entries,
    write_journal,
)

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
{extra}[OUTPUT]
    Name    file
    Match   host.kubelet.service
    Path    {out}
    File    kubelet.jsonl
    Format  plain
"""


class Daemon:
    """``logtide -c`` in follow mode over ``tmp/journal``, into ``tmp/out/kubelet.jsonl``."""

    def __init__(self, tmp: Path, extra: str = "") -> None:
        self.journal, self.state, self.out = tmp / "journal", tmp / "state", tmp / "out"
        for folder in (self.journal, self.state, self.out):
            folder.mkdir(exist_ok=True)
        self.config = tmp / "fluent-bit.conf"
        self.config.write_text(
            CONFIG.format(journal=self.journal, state=self.state, out=self.out, extra=extra)
        )
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
        return [int(entry["SEQ"]) for entry in whole_json_lines(self.out / "kubelet.jsonl")]

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


def test_a_locked_cursor_db_is_one_line_and_repeats_nothing(daemon: Daemon) -> None:
    """Another process holds the cursor DB's write lock past SQLite's 5 s busy wait: the
    agent goes on reading, says so in one line, and writes the cursor once the lock is gone,
    so a kill -9 after that reads nothing again."""
    journal, db = daemon.journal / "system.journal", daemon.state / "systemd.db"
    write_journal(journal, unit_entries(30))
    daemon.start()
    daemon.wait_for(30)
    wait_until(lambda: stored_cursor(db) is not None, "the first cursor")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    before = stored_cursor(db)
    write_journal(journal, unit_entries(20, start=100), start=100)
    daemon.wait_for(50)
    time.sleep(7)
    holder.execute("ROLLBACK")
    holder.close()
    write_journal(journal, unit_entries(20, start=200), start=200)
    daemon.wait_for(70)
    wait_until(lambda: stored_cursor(db) != before, "the cursor written after the lock")
    time.sleep(2)  # the cursor of the last round too
    daemon.stop(signal.SIGKILL)
    daemon.start()
    time.sleep(3)  # what a restart would read again, if anything, by now
    daemon.stop()
    assert daemon.seqs() == [*range(30), *range(100, 120), *range(200, 220)]
    log = daemon.log.read_text()
    warnings = [line for line in log.splitlines() if "cursor DB" in line]
    assert len(warnings) == 2, log
    assert "failed: database is locked; retrying every 1s" in warnings[0]
    assert warnings[1].endswith("works again")
    assert "Traceback" not in log and "[engine] task" not in log, log


def test_a_cursor_db_locked_at_start_is_waited_for_not_given_up(daemon: Daemon) -> None:
    """Another process holds the cursor DB with an exclusive lock when the agent starts. The
    input used to stop for good on ``database is locked`` while the process ran on; it now
    waits with one warning line and then reads on from the stored cursor."""
    journal, db = daemon.journal / "system.journal", daemon.state / "systemd.db"
    write_journal(journal, unit_entries(30))
    daemon.start()
    daemon.wait_for(30)
    wait_until(lambda: stored_cursor(db) is not None, "the first cursor")
    time.sleep(2)  # the cursor of the last round too
    daemon.stop()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("COMMIT")
    write_journal(journal, unit_entries(20, start=100), start=100)
    daemon.start()
    time.sleep(8)  # past SQLite's 5 s busy wait and a retry
    assert daemon.seqs() == list(range(30))
    holder.close()
    daemon.wait_for(50)
    daemon.stop()
    assert daemon.seqs() == [*range(30), *range(100, 120)]
    log = daemon.log.read_text()
    warnings = [line for line in log.splitlines() if "cursor DB" in line]
    assert len(warnings) == 2, log
    assert "opening cursor DB" in warnings[0] and "failed: database is locked" in warnings[0]
    assert warnings[1].endswith("works again")
    assert "Traceback" not in log and "[engine] task" not in log, log


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


def test_filter_type_and_needs_every_match(tmp_path: Path) -> None:
    """And: every Systemd_Filter must match, the same field's included (Fluent Bit joins
    each with sd_journal_add_conjunction); Or (the default): any of them."""
    needs_journal_tools()
    entries = [
        {"_SYSTEMD_UNIT": unit, "PRIORITY": str(priority), "SEQ": str(n)}
        for n, (unit, priority) in enumerate(
            [("kubelet.service", 3), ("kubelet.service", 6), ("docker.service", 3)] * 4
        )
    ]
    write_journal(tmp_path / "journal" / "system.journal", entries)

    def seqs(*filters: str, kind: str) -> list[int]:
        out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}"
        out.mkdir()
        lines = "".join(f"    Systemd_Filter {f}\n" for f in filters)
        conf = tmp_path / "fluent-bit.conf"
        conf.write_text(
            f"[INPUT]\n    Name systemd\n    Path {tmp_path / 'journal'}\n{lines}"
            f"    Systemd_Filter_Type {kind}\n"
            f"[OUTPUT]\n    Name file\n    Match *\n    Path {out}\n    File o\n    Format plain\n"
        )
        result = run_logtide("-c", str(conf), "--once")
        assert result.returncode == 0, result.stderr
        path = out / "o"
        text = path.read_text() if path.exists() else ""
        return [int(json.loads(line)["SEQ"]) for line in text.splitlines()]

    both = ("_SYSTEMD_UNIT=kubelet.service", "PRIORITY=3")
    assert seqs(*both, kind="And") == [0, 3, 6, 9]
    assert seqs(*both, kind="Or") == list(range(12))
    units = ("_SYSTEMD_UNIT=kubelet.service", "_SYSTEMD_UNIT=docker.service")
    assert seqs(*units, kind="And") == []
    assert seqs(*units, kind="Or") == list(range(12))


def test_a_filter_that_matches_nothing_is_one_warning(tmp_path: Path) -> None:
    needs_journal_tools()
    write_journal(tmp_path / "journal" / "system.journal", unit_entries(5))
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        f"[INPUT]\n    Name systemd\n    Path {tmp_path / 'journal'}\n"
        "    Systemd_Filter _SYSTEMD_UNIT=kublet.service\n"
        "[OUTPUT]\n    Name null\n    Match *\n"
    )
    result = run_logtide("-c", str(conf), "--once")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "kublet.service" in line]
    assert len(warnings) == 1, result.stderr
    assert "matches no entry" in warnings[0] and "kubelet.service" in warnings[0]


def test_read_from_tail_starts_after_the_last_entry_and_keeps_that_position(
    tmp_path: Path,
) -> None:
    needs_journal_tools()
    daemon = Daemon(tmp_path, extra="    Read_From_Tail  On\n")
    journal = daemon.journal / "system.journal"
    write_journal(journal, unit_entries(20))
    daemon.start()
    try:
        deadline = time.monotonic() + 60
        while "Read_From_Tail: reading after s=" not in daemon.log.read_text():
            assert time.monotonic() < deadline, daemon.log.read_text()
            time.sleep(0.2)
        write_journal(journal, unit_entries(5, start=20), start=20)
        daemon.wait_for(5)
        daemon.stop()
        write_journal(journal, unit_entries(5, start=25), start=25)
        daemon.start()
        daemon.wait_for(10)
        time.sleep(1)
        assert daemon.seqs() == list(range(20, 30))
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.stop(signal.SIGKILL)
