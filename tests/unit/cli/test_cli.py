from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.support.cli import run_logtide, start_logtide


def write_conf(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fluent-bit.conf"
    path.write_text(body)
    return path


def test_dummy_to_stdout_prints_records() -> None:
    result = run_logtide("-i", "dummy", "-p", "samples=2", "-o", "stdout", "--once")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[0] dummy.0: [[") and lines[0].endswith('{"message"=>"dummy"}]')


def test_once_dummy_to_file_writes_exactly_100_records(tmp_path: Path) -> None:
    conf = write_conf(
        tmp_path,
        f'[INPUT]\n    Name dummy\n    Tag app\n    Samples 100\n    Dummy {{"n":1}}\n'
        f"[OUTPUT]\n    Name file\n    Match app\n    Path {tmp_path}\n    File out.jsonl\n    Format plain\n",
    )
    result = run_logtide("-c", str(conf), "--once")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 100
    assert all(json.loads(line) == {"n": 1} for line in lines)


def test_flags_tag_match_and_props(tmp_path: Path) -> None:
    result = run_logtide(
        "-i",
        "dummy",
        "-t",
        "a.b",
        "-p",
        "samples=3",
        "-o",
        "file",
        "-m",
        "a.*",
        "-p",
        f"path={tmp_path}",
        "-p",
        "format=plain",
        "-o",
        "file",
        "-m",
        "nomatch",
        "-p",
        f"path={tmp_path}",
        "--once",
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["a.b"]
    assert len((tmp_path / "a.b").read_text().splitlines()) == 3


def test_undeliverable_records_exit_1(tmp_path: Path) -> None:
    result = run_logtide(
        "-i",
        "dummy",
        "-p",
        "samples=1",
        "-o",
        "file",
        "-p",
        f"path={tmp_path}/missing/dir",
        "--once",
    )
    assert result.returncode == 1
    assert "not delivered" in result.stderr


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[INPUT]\n    Name dummy\n    Rat 3\n",
            "fluent-bit.conf:3: input 'dummy': unknown option 'Rat' (did you mean 'Rate'?); valid options: Alias, ",
        ),
        (
            "[INPUT]\n    Name nosuch\n",
            "fluent-bit.conf:2: unknown input plugin 'nosuch'; available: dummy, forward, lib, systemd, tail",
        ),
        (
            "[OUTPUT]\n    Name file\n    Match *\n    Format yaml\n",
            "fluent-bit.conf:4: output 'file': option 'Format': expected one of out_file, plain, csv, ltsv, template, got 'yaml'",
        ),
        (
            "[INPUT]\n    Name dummy\n    Samples many\n",
            "fluent-bit.conf:3: input 'dummy': option 'Samples': expected an integer, got 'many'",
        ),
        (
            "[INPUT]\n    Name dummy\n    Dummy {not json\n",
            "fluent-bit.conf:3: input 'dummy': Dummy is not valid JSON",
        ),
        (
            "[SERVICE]\n    Flush soon\n",
            "fluent-bit.conf:2: [SERVICE]: option 'Flush': expected a duration such as 1.5, 10s, 3m or 1h, got 'soon'",
        ),
        ("[INPUT]\n    Tag x\n", "fluent-bit.conf:1: [INPUT] section has no 'Name'"),
        (
            "[OUTPUT]\n    Name stdot\n    Match *\n",
            "fluent-bit.conf:2: unknown output plugin 'stdot' (did you mean 'stdout'?); available:",
        ),
        (
            "[OUTPUT]\n    Name null\n    Match *\n    Retry_Limit sometimes\n",
            "fluent-bit.conf:4: Retry_Limit must be a number, no_limits, False or no_retries, got 'sometimes'",
        ),
        (
            "[OUTPUT]\n    Name null\n    Match_Regex ([\n",
            "fluent-bit.conf:3: output: Match_Regex '([' is not a valid regex",
        ),
    ],
)
def test_config_errors_are_one_line_with_location(tmp_path: Path, body: str, message: str) -> None:
    conf = write_conf(tmp_path, body)
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"logtide: error: {tmp_path}/{message}")


def test_dry_run_validates_without_running(tmp_path: Path) -> None:
    conf = write_conf(
        tmp_path,
        f"[INPUT]\n    Name dummy\n[OUTPUT]\n    Name file\n    Match *\n    Path {tmp_path}/x\n",
    )
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode == 0
    assert result.stdout.strip() == "configuration test is successful"
    assert not (tmp_path / "x").exists()


def test_a_filter_or_output_without_match_is_warned_about(tmp_path: Path) -> None:
    """Valid, as in Fluent Bit, but it never gets a record: Fluent Bit warns, so does
    logtide, at --dry-run too."""
    conf = write_conf(
        tmp_path,
        "[INPUT]\n    Name dummy\n[FILTER]\n    Name grep\n    Regex a b\n"
        "[OUTPUT]\n    Name null\n    Match *\n[OUTPUT]\n    Name stdout\n",
    )
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode == 0, result.stderr
    warned = [line.split("] ")[-1] for line in result.stderr.splitlines()]
    assert warned == [
        "filter 'grep.0' has no Match or Match_Regex: it takes no record",
        "output 'stdout.0' has no Match or Match_Regex: it takes no record",
    ]


def test_a_storage_path_that_cannot_hold_a_queue_is_one_line(tmp_path: Path) -> None:
    """A queue folder that cannot be made (storage.path names a file, a read-only mount) was
    a traceback from the engine's build; it is one error line and exit 1."""
    taken = tmp_path / "a-file"
    taken.write_text("")
    conf = write_conf(
        tmp_path,
        f"[SERVICE]\n    storage.path {taken}\n[INPUT]\n    Name dummy\n    Samples 1\n"
        "[OUTPUT]\n    Name http\n    Match *\n    Host 127.0.0.1\n    Port 9\n",
    )
    result = run_logtide("-c", str(conf), "--once")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        f"[SERVICE] storage.path: cannot keep a queue in {taken}/http.0: Not a directory"
        in result.stderr
    )


def test_a_log_file_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, "[INPUT]\n    Name dummy\n[OUTPUT]\n    Name null\n    Match *\n")
    result = run_logtide("-c", str(conf), "-l", str(tmp_path / "missing" / "a.log"), "--dry-run")
    assert result.returncode == 1
    assert result.stderr == (
        f"logtide: error: Log_File {tmp_path}/missing/a.log: cannot open it: "
        "No such file or directory\n"
    )


def test_missing_default_config_is_reported() -> None:
    result = run_logtide()
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "logtide: error: config file not found: /fluent-bit/etc/fluent-bit.conf"
    )


def test_help_plugin_lists_every_option() -> None:
    result = run_logtide("-h", "dummy")
    assert result.returncode == 0
    for name in ("Samples", "Rate", "Dummy", "Mem_Buf_Limit", "Tag"):
        assert f"  {name} " in result.stdout
    assert run_logtide("-h", "nosuch").returncode == 1
    general = run_logtide("-h")
    assert "usage: logtide" in general.stdout and "outputs:" in general.stdout


def test_version_and_bad_flags() -> None:
    assert run_logtide("-V").stdout.startswith("logtide v")
    bad = run_logtide("--bogus")
    assert bad.returncode == 1
    assert (
        bad.stderr.strip()
        == "logtide: error: <command line>: unknown option '--bogus'; see logtide -h"
    )
    orphan = run_logtide("-p", "a=b")
    assert (
        orphan.stderr.strip() == "logtide: error: <command line>: -p 'a=b' must follow -i, -F or -o"
    )


def test_sigterm_flushes_within_grace_and_exits_0(tmp_path: Path) -> None:
    conf = write_conf(
        tmp_path,
        "[SERVICE]\n    Flush 5\n    Grace 3\n"
        "[INPUT]\n    Name dummy\n    Tag t\n    Rate 200\n    Copies 10\n"
        f"[OUTPUT]\n    Name file\n    Match t\n    Path {tmp_path}\n    Format plain\n",
    )
    proc = start_logtide("-c", str(conf))
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    assert time.monotonic() - started < 4
    # Flush 5 means nothing was written before the signal: what is there was flushed on stop.
    assert len((tmp_path / "t").read_text().splitlines()) > 0
