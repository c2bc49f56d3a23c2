"""The python filter through the real ``logtide``: a run, and one line at ``--dry-run``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LOGTIDE = Path(sys.executable).parent / "logtide"

CONFIG = """\
[INPUT]
    Name    dummy
    Tag     app
    Dummy   {{"n": 1}}
    Samples 3
[FILTER]
    Name  python
    Match app
    Path  {path}
    Call  {call}
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""

GOOD = """\
def cb(tag, ts, record):
    return 2, ts, [dict(record, tag=tag), {"copy": record["n"]}]

def boom(tag, ts, record):
    raise KeyError("nope")
"""


def run(
    tmp_path: Path, body: str, call: str = "cb", *flags: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conf").mkdir(exist_ok=True)
    (tmp_path / "out").mkdir(exist_ok=True)
    (tmp_path / "conf" / "user.py").write_text(body)
    config = tmp_path / "conf" / "logtide.conf"
    config.write_text(CONFIG.format(path="user.py", call=call, out=tmp_path / "out"))
    return subprocess.run(
        [str(LOGTIDE), "-c", str(config), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def records(tmp_path: Path) -> list[dict[str, object]]:
    text = (tmp_path / "out" / "records.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_split_through_the_cli(tmp_path):
    result = run(tmp_path, GOOD, "cb", "--once")
    assert result.returncode == 0, result.stderr
    assert records(tmp_path) == [{"n": 1, "tag": "app"}, {"copy": 1}] * 3


def test_a_raising_callable_passes_records_with_one_error_line(tmp_path):
    result = run(tmp_path, GOOD, "boom", "--once")
    assert result.returncode == 0, result.stderr
    assert records(tmp_path) == [{"n": 1}] * 3
    errors = [line for line in result.stderr.splitlines() if "raised KeyError" in line]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("body", "call", "where", "what"),
    [
        ("def cb(tag, ts, record)\n    pass\n", "cb", "user.py:1", "expected ':'"),
        (GOOD, "missing", "logtide.conf:10", "defines no 'missing'"),
        ("\n\ndef cb(tag, record):\n    pass\n", "cb", "user.py:3", "does not take"),
        (None, "cb", "logtide.conf:9", "cannot read"),
    ],
    ids=["syntax", "missing_callable", "arity", "missing_file"],
)
def test_dry_run_names_file_and_line(tmp_path, body, call, where, what):
    if body is None:
        result = run(tmp_path, "", call, "--dry-run")
        (tmp_path / "conf" / "user.py").unlink()
        result = subprocess.run(
            [str(LOGTIDE), "-c", str(tmp_path / "conf" / "logtide.conf"), "--dry-run"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    else:
        result = run(tmp_path, body, call, "--dry-run")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert where in lines[0] and what in lines[0]


def test_dry_run_does_not_run_the_users_code(tmp_path):
    body = f"open({str(tmp_path / 'ran')!r}, 'w').close()\n" + GOOD
    result = run(tmp_path, body, "cb", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "ran").exists()
