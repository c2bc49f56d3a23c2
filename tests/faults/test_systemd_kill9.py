"""kill -9 of the real ``logtide`` while it reads a journal that keeps growing: every entry
arrives, S3 (exactly-once) holds none twice, the file output repeats at most what was
delivered after the last cursor write before each kill (its at-least-once window)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.faults.agent import Agent, new_port, wait_for
from tests.support.journal import needs_journal_tools, unit_entries, write_journal
from tests.support.logapp import s3_records
from tests.support.moto_server import REGION, MotoServer

BUCKET = "journal"

CONFIG = """\
[SERVICE]
    Flush          0.5
    Grace          10
    Log_Level      info
    HTTP_Server    On
    HTTP_Listen    127.0.0.1
    HTTP_Port      {port}
[INPUT]
    Name            systemd
    Tag             host.*
    Path            {journal}
    DB              {work}/systemd.db
    Max_Entries     200
[OUTPUT]
    Name             s3
    Match            host.*
    bucket           {bucket}
    region           {region}
    endpoint         {endpoint}
    store_dir        {work}/store
    total_file_size  1M
    upload_timeout   3s
    Retry_Limit      no_limits
[OUTPUT]
    Name    file
    Match   host.*
    Path    {work}/out
    File    journal.jsonl
    Format  plain
"""


class JournalWriter(threading.Thread):
    """Appends batches of entries to the journal (one systemd-journal-remote run each)."""

    def __init__(self, folder: Path, batch: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.folder, self.batch, self.pause = folder, batch, pause
        self.written = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        units = ("kubelet.service", "containerd.service", "docker.service")
        while not self.stopping.is_set():
            start = self.written
            entries = [
                {**entry, "_SYSTEMD_UNIT": units[(start + i) % 3]}
                for i, entry in enumerate(unit_entries(self.batch, start=start))
            ]
            write_journal(self.folder / "system.journal", entries, start=start)
            self.written += self.batch
            time.sleep(self.pause)

    def finish(self) -> None:
        self.stopping.set()
        self.join(60)


def _file_seqs(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(orjson.loads(line)["SEQ"]) for line in path.read_bytes().splitlines() if line]


def _kill_loop(tmp_path: Path, moto: MotoServer, kills: int) -> None:
    needs_journal_tools()
    moto.client("s3").create_bucket(Bucket=BUCKET)
    journal = tmp_path / "journal"
    journal.mkdir()
    (tmp_path / "out").mkdir()
    port = new_port()
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        CONFIG.format(
            port=port,
            journal=journal,
            work=tmp_path,
            bucket=BUCKET,
            region=REGION,
            endpoint=moto.endpoint,
        )
    )
    writer = JournalWriter(journal, batch=50, pause=0.1)
    writer.start()
    agent = Agent(config, http_port=port, bucket=BUCKET)
    rng = random.Random(16)
    try:
        for _ in range(kills):
            agent.start()
            time.sleep(rng.uniform(1.0, 4.0))
            agent.kill9()
        agent.start()
        time.sleep(2)
        writer.finish()
        written = writer.written
        out = tmp_path / "out" / "journal.jsonl"
        s3 = moto.client("s3")

        def complete() -> bool:
            seen = {int(r["SEQ"]) for r in s3_records(s3, BUCKET)}
            return len(seen) >= written and len(set(_file_seqs(out))) >= written

        try:
            wait_for(complete, 90, interval=1.0, what=f"{written} entries in S3 and the file")
        except AssertionError:
            s3_seen = {int(r["SEQ"]) for r in s3_records(s3, BUCKET)}
            file_seen = set(_file_seqs(out))
            missing = (
                sorted(set(range(written)) - s3_seen)[:20],
                sorted(set(range(written)) - file_seen)[:20],
            )
            raise AssertionError(
                f"missing (s3, file): {missing}\n{agent.log_text()[-4000:]}"
            ) from None
        file_counts = Counter(_file_seqs(out))
        s3_counts = Counter(int(r["SEQ"]) for r in s3_records(s3, BUCKET))
    finally:
        writer.finish()
        agent.stop()
    assert set(s3_counts) == set(range(written)), "entries lost in S3"
    assert set(file_counts) == set(range(written)), "entries lost in the file output"
    assert [seq for seq, n in s3_counts.items() if n > 1] == [], "S3 holds entries twice"
    repeated = sum(n - 1 for n in file_counts.values())
    # at-least-once: a kill repeats what was written after the last cursor write; the cursor
    # is written as soon as an acknowledgement moves it, so that is at most a few rounds.
    assert repeated <= kills * 1000, repeated


def test_kill9_loses_no_journal_entry(tmp_path: Path, moto: MotoServer) -> None:
    _kill_loop(tmp_path, moto, kills=3)


@pytest.mark.slow
def test_kill9_loses_no_journal_entry_long(tmp_path: Path, moto: MotoServer) -> None:
    _kill_loop(tmp_path, moto, kills=15)


HELD_BACK = """\
[SERVICE]
    Flush          0.5
    Grace          2
    HTTP_Server    On
    HTTP_Listen    127.0.0.1
    HTTP_Port      {port}
[INPUT]
    Name            systemd
    Tag             host.*
    Path            {journal}
    DB              {work}/systemd.db
[OUTPUT]
    Name             s3
    Match            host.*
    bucket           {bucket}
    region           {region}
    endpoint         {endpoint}
    store_dir        {work}/store
    total_file_size  1M
    upload_timeout   2s
    Retry_Limit      no_limits
[OUTPUT]
    Name    file
    Match   host.*
    Path    {work}/no-such-folder
    File    never.jsonl
"""


def test_kill9_s3_holds_no_entry_twice_while_the_cursor_is_held_back(
    tmp_path: Path, moto: MotoServer
) -> None:
    """A file output that cannot write fails every chunk, so the cursor never moves and
    every restart reads the whole journal again: S3 must recognise what it holds by the
    chunks' origins (sequence numbers of the journal)."""
    needs_journal_tools()
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    journal = tmp_path / "journal"
    units = ("kubelet.service", "containerd.service")
    entries = [{**e, "_SYSTEMD_UNIT": units[int(e["SEQ"]) % 2]} for e in unit_entries(600)]
    write_journal(journal / "system.journal", entries)
    port = new_port()
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        HELD_BACK.format(
            port=port,
            journal=journal,
            work=tmp_path,
            bucket=BUCKET,
            region=REGION,
            endpoint=moto.endpoint,
        )
    )
    agent = Agent(config, http_port=port, bucket=BUCKET)

    def s3_seqs() -> Counter[int]:
        return Counter(int(r["SEQ"]) for r in s3_records(s3, BUCKET))

    try:
        for _ in range(2):
            agent.start()
            wait_for(lambda: len(s3_seqs()) >= 600, 60, what="every entry in S3")
            time.sleep(3)  # what a restart would upload again has had its upload_timeout
            agent.kill9()
        agent.start()
        time.sleep(5)
        counts = s3_seqs()
    finally:
        agent.stop()
    assert set(counts) == set(range(600))
    assert [seq for seq, n in counts.items() if n > 1] == []
