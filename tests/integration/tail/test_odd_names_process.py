"""File names are bytes on Linux. One log whose name was not UTF-8 in the watched folder made
the checkpoint DB write fail (SQLite text must be UTF-8), which stopped the tail input: no
file of the folder was read, and a daemon would exit 1 on every start. The real process now
reads every file, names the odd one with U+FFFD where its bad byte was, and a restart
resumes each file from its checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support.cli import run_logtide, tail_workdir

CONF = """\
[INPUT]
    Name              tail
    Tag               app.*
    Path              {log}/*.log
    DB                {state}/tail.db
    Path_Key          path
[OUTPUT]
    Name   file
    Match  app.*
    Path   {out}
    File   records.jsonl
    Format plain
"""

NAMES = [b"bad\xff name.log", b"new\nline.log", "ünï cødé.log".encode(), b"plain.log"]


def _delivered(out: Path) -> list[dict[str, str]]:
    path = out / "records.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_file_is_read_whatever_its_name_and_resumed_after_a_restart(
    tmp_path: Path,
) -> None:
    log, _, out, conf = tail_workdir(tmp_path, CONF)
    for n, name in enumerate(NAMES):
        with open(os.fsencode(log) + b"/" + name, "wb") as f:
            f.write(b"first %d\n" % n)
    first = run_logtide("-c", str(conf), "--once")
    assert first.returncode == 0, first.stderr
    assert sorted(record["log"] for record in _delivered(out)) == [f"first {n}" for n in range(4)]
    paths = {record["path"] for record in _delivered(out)}
    assert f"{log}/bad\ufffd name.log" in paths and f"{log}/new\nline.log" in paths

    for n, name in enumerate(NAMES):
        with open(os.fsencode(log) + b"/" + name, "ab") as f:
            f.write(b"second %d\n" % n)
    again = run_logtide("-c", str(conf), "--once")
    assert again.returncode == 0, again.stderr
    logs = sorted(record["log"] for record in _delivered(out))
    assert logs == sorted([f"first {n}" for n in range(4)] + [f"second {n}" for n in range(4)])
