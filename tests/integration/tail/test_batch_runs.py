"""Batch runs over files already there (issue 19): ``Exit_On_Eof`` ends a daemon run once
every file is read and delivered, and ``--once`` reads a folder of existing files from their
start unless the config explicitly says ``Read_from_Head Off``. The real process throughout."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.support.cli import run_logtide, start_logtide

# generous: the machine running the suite is loaded
EXIT_WITHIN = 60.0

TAIL = """\
[SERVICE]
    Flush     0.2
[INPUT]
    Name      tail
    Tag       app
    Path      {logs}/*.log
    DB        {state}/tail.db
{extra}[OUTPUT]
    Name      file
    Match     app
    Path      {out}
    File      records.jsonl
    Format    plain
"""


def folder(tmp_path: Path, sizes: dict[str, int]) -> tuple[Path, Path, set[str]]:
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    out.mkdir()
    lines: set[str] = set()
    for name, count in sizes.items():
        written = [f"{name} line {n} {'x' * (n % 40)}" for n in range(count)]
        (logs / f"{name}.log").write_text("".join(line + "\n" for line in written))
        lines.update(written)
    return logs, out, lines


def conf(tmp_path: Path, logs: Path, out: Path, extra: str = "", head: str = "") -> Path:
    path = tmp_path / "fluent-bit.conf"
    body = TAIL.format(logs=logs, state=tmp_path, out=out, extra=extra)
    path.write_text(head + body)
    return path


def delivered(out: Path) -> list[str]:
    target = out / "records.jsonl"
    if not target.exists():
        return []
    return [json.loads(line)["log"] for line in target.read_text().splitlines()]


def run_until_exit(*args: str) -> tuple[int, str, float]:
    """Start the daemon (no --once) and wait for it to exit by itself."""
    started = time.monotonic()
    proc = start_logtide(*args)
    try:
        _, stderr = proc.communicate(timeout=EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"still running after {EXIT_WITHIN}s: Exit_On_Eof ignored") from None
    return proc.returncode, stderr, time.monotonic() - started


def test_exit_on_eof_ends_the_run_after_delivering_every_line(tmp_path: Path) -> None:
    logs, out, lines = folder(tmp_path, {"batch": 5000})
    config = conf(tmp_path, logs, out, extra="    Exit_On_Eof On\n")
    code, stderr, took = run_until_exit("-c", str(config))
    assert code == 0, stderr
    got = delivered(out)
    assert len(got) == len(lines) and set(got) == lines
    assert "Traceback" not in stderr
    assert took < EXIT_WITHIN

    # the checkpoint moved with delivery: the next batch reads only what was added since
    with open(logs / "batch.log", "a") as handle:
        handle.write("appended later\n")
    code, stderr, _ = run_until_exit("-c", str(config))
    assert code == 0, stderr
    assert delivered(out)[len(lines) :] == ["appended later"]


def test_exit_on_eof_stops_inputs_that_never_end(tmp_path: Path) -> None:
    logs, out, lines = folder(tmp_path, {"a": 300, "b": 200})
    dummy = "[INPUT]\n    Name dummy\n    Tag other\n    Rate 50\n"
    config = conf(tmp_path, logs, out, extra="    Exit_On_Eof On\n", head="")
    config.write_text(config.read_text() + dummy)
    code, stderr, _ = run_until_exit("-c", str(config))
    assert code == 0, stderr
    assert set(delivered(out)) == lines and len(delivered(out)) == len(lines)


def test_once_reads_a_folder_of_existing_files_from_their_start(tmp_path: Path) -> None:
    logs, out, lines = folder(tmp_path, {"first": 400, "second": 250})
    result = run_logtide("-c", str(conf(tmp_path, logs, out)), "--once", timeout=EXIT_WITHIN)
    assert result.returncode == 0, result.stderr
    got = delivered(out)
    assert len(got) == len(lines) and set(got) == lines
    assert "Read_from_Head Off" not in result.stderr


def test_once_with_explicit_read_from_head_off_says_nothing_old_is_read(tmp_path: Path) -> None:
    logs, out, _ = folder(tmp_path, {"first": 40, "second": 25})
    config = conf(tmp_path, logs, out, extra="    Read_from_Head Off\n")
    result = run_logtide("-c", str(config), "--once", timeout=EXIT_WITHIN)
    assert result.returncode == 0, result.stderr
    assert delivered(out) == []
    notes = [line for line in result.stderr.splitlines() if "Read_from_Head Off" in line]
    assert len(notes) == 1, result.stderr
    assert "nothing already in it is read" in notes[0]


def test_once_help_says_new_files_are_read_from_their_start() -> None:
    result = run_logtide("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "with no checkpoint from its start unless the config says Read_from_Head Off" in text
