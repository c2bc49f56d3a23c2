"""What ``-v``/``-vv`` show, signals caught, and ``-l``/``Log_File``: the real ``logtide``
process, its stderr or log file read back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.moto_server import MotoServer

LOGTIDE = str(Path(sys.executable).with_name("logtide"))
LOG_LINE = re.compile(r"^\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\] \[ *\w+\] \[[^\]]+\] ", re.M)


def wait_for(what: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def start(args: list[str], stderr: Path) -> subprocess.Popen[bytes]:
    # stderr to a file: a debug log can outgrow a pipe nobody reads until the end
    with stderr.open("wb") as target:
        return subprocess.Popen(
            [LOGTIDE, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=target
        )


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def test_v_shows_files_opened_truncated_rotated_closed_and_checkpoints(tmp_path: Path) -> None:
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    out.mkdir()
    app = logs / "app.log"
    app.write_text("".join(f"first {i}\n" for i in range(20)))
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        "[SERVICE]\n    Flush 0.2\n"
        f"[INPUT]\n    Name tail\n    Path {logs}/app.log\n    Tag app\n"
        f"    DB {tmp_path}/tail.db\n    Read_from_Head On\n    Rotate_Wait 1\n"
        "    Refresh_Interval 1\n"
        f"[OUTPUT]\n    Name file\n    Match *\n    Path {out}\n    File out.log\n"
    )
    stderr = tmp_path / "stderr.log"
    proc = start(["-c", str(conf), "-v"], stderr)
    delivered = out / "out.log"
    try:
        wait_for(lambda: read(delivered).count("first ") == 20)
        wait_for(lambda: "checkpoint written" in read(stderr))
        app.write_text("t\n")  # shorter than what was read: a truncation
        wait_for(lambda: "truncated" in read(stderr))
        wait_for(lambda: read(delivered).count('"t"') == 1)
        app.rename(logs / "app.log.1")
        app.write_text("second\n")
        wait_for(lambda: "closed" in read(stderr))
        wait_for(lambda: "second" in read(delivered))
    finally:
        code = stop(proc)
    text = read(stderr)
    assert code == 0, text
    inode = os.stat(logs / "app.log.1").st_ino
    assert re.search(
        rf"\[debug\] \[input:tail\.0\] tail: opened {app} \(inode {inode}\) at offset 0", text
    ), text
    assert re.search(
        rf"\[debug\] \[input:tail\.0\] tail: {app} truncated to \d+ bytes at offset \d+", text
    )
    assert f"tail: {app} (inode {inode}) rotated -> {logs}/app.log.1 at offset 2" in text, text
    assert f"tail: closed {logs}/app.log.1 (inode {inode}) at offset 2, checkpoint 2" in text, text
    assert re.search(
        r"\[debug\] \[input:tail\.0\] tail: checkpoint written: \S+ at offset \d+", text
    )
    assert re.search(r"\[debug\] \[output:file\.0\] delivered \d+ records of tag app", text)


def test_vv_shows_stream_task_results_per_chunk_and_v_does_not(tmp_path: Path) -> None:
    (tmp_path / "streams.conf").write_text(
        "[STREAM_TASK]\n    Name only_a\n"
        "    Exec CREATE STREAM picked WITH (tag='picked') AS SELECT * FROM TAG:'app' "
        "WHERE n = 'a';\n"
    )
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        f"[SERVICE]\n    Flush 0.1\n    Streams_File {tmp_path}/streams.conf\n"
        '[INPUT]\n    Name dummy\n    Tag app\n    Samples 3\n    Dummy {"n": "a"}\n'
        f"[OUTPUT]\n    Name file\n    Match *\n    Path {tmp_path}\n    File out.log\n"
    )

    def run(flag: str) -> str:
        result = subprocess.run(
            [LOGTIDE, "-c", str(conf), "--once", flag],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stderr
        return result.stderr

    traced = run("-vv")
    lines = re.findall(
        r"\[trace\] \[streamsql\] stream task 'only_a': (\d+) records in, (\d+) out", traced
    )
    assert lines, traced
    assert sum(int(out) for _, out in lines) == 3
    assert "[debug]" in traced
    assert "[trace]" not in run("-v")


def test_sigterm_is_logged_and_so_is_the_stop(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        "[SERVICE]\n    Flush 0.1\n"
        "[INPUT]\n    Name dummy\n    Tag app\n    Rate 5\n"
        f"[OUTPUT]\n    Name file\n    Match *\n    Path {tmp_path}\n    File out.log\n"
    )
    stderr = tmp_path / "stderr.log"
    proc = start(["-c", str(conf)], stderr)
    wait_for(lambda: read(tmp_path / "out.log") != "")
    assert stop(proc) == 0
    text = read(stderr)
    caught = text.index("[ info] [engine] caught signal (SIGTERM)")
    assert text.index("[ info] [engine] service has stopped (exit code 0)") > caught, text


def test_log_file_flag_and_service_log_file_receive_the_log_appended(tmp_path: Path) -> None:
    log_file = tmp_path / "agent.log"

    def run(conf_extra: str, *args: str) -> subprocess.CompletedProcess[str]:
        conf = tmp_path / "fluent-bit.conf"
        conf.write_text(
            f"[SERVICE]\n    Flush 0.1\n{conf_extra}"
            "[INPUT]\n    Name dummy\n    Tag app\n    Samples 2\n"
            f"[OUTPUT]\n    Name file\n    Match *\n    Path {tmp_path}\n    File out.log\n"
        )
        result = subprocess.run(
            [LOGTIDE, "-c", str(conf), "--once", "-v", *args],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stderr
        assert not LOG_LINE.search(result.stderr), result.stderr
        return result

    run("", "-l", str(log_file))
    first = log_file.read_text()
    assert "[ info] [logtide] version=" in first
    assert "[debug] [output:file.0] delivered 2 records of tag app" in first
    run(f"    Log_File {log_file}\n")
    both = log_file.read_text()
    assert both.startswith(first)
    assert both.count("[logtide] version=") == 2


def test_v_shows_s3_uploads_and_cloudwatch_puts(moto: MotoServer, tmp_path: Path) -> None:
    moto.client("s3").create_bucket(Bucket="verbose")
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        "[SERVICE]\n    Flush 0.1\n"
        "[INPUT]\n    Name dummy\n    Tag app\n    Samples 4\n"
        f"[OUTPUT]\n    Name s3\n    Match *\n    bucket verbose\n    region {moto.region}\n"
        f"    endpoint {moto.endpoint}\n    store_dir {tmp_path}/store\n"
        f"[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    region {moto.region}\n"
        f"    endpoint {moto.endpoint}\n    log_group_name verbose\n    log_stream_name app\n"
        "    auto_create_group On\n"
    )
    result = subprocess.run(
        [LOGTIDE, "-c", str(conf), "--once", "-v"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    keys = [o["Key"] for o in moto.client("s3").list_objects_v2(Bucket="verbose")["Contents"]]
    uploaded = re.findall(
        r"\[debug\] \[output:s3\.0\] s3: uploaded (\S+) \((\d+) bytes, PutObject\)", result.stderr
    )
    assert [key for key, _ in uploaded] == keys, result.stderr
    put = re.findall(
        r"\[debug\] \[output:cloudwatch_logs\.0\] cloudwatch_logs: put (\d+) events to verbose/app",
        result.stderr,
    )
    assert sum(map(int, put)) == 4, result.stderr


def test_checkpoint_lines_of_a_busy_file_are_rate_limited(tmp_path: Path) -> None:
    app = tmp_path / "app.log"
    app.write_text("")
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        "[SERVICE]\n    Flush 0.05\n"
        f"[INPUT]\n    Name tail\n    Path {app}\n    Tag app\n    DB {tmp_path}/tail.db\n"
        "    Read_from_Head On\n"
        f"[OUTPUT]\n    Name file\n    Match *\n    Path {tmp_path}\n    File out.log\n"
    )
    stderr = tmp_path / "stderr.log"
    proc = start(["-c", str(conf), "-v"], stderr)
    try:
        wait_for(lambda: "tail: opened" in read(stderr))
        started = time.monotonic()
        with app.open("a") as writer:
            for n in range(150):
                writer.write(f"line {n}\n")
                writer.flush()
                time.sleep(0.02)
        wait_for(lambda: read(tmp_path / "out.log").count("line ") == 150)
        elapsed = time.monotonic() - started
    finally:
        code = stop(proc)
    text = read(stderr)
    assert code == 0, text
    deliveries = text.count("[output:file.0] delivered ")
    checkpoints = text.count(f"tail: checkpoint written: {app} at offset")
    assert 1 <= checkpoints <= elapsed + 2, (checkpoints, elapsed)
    assert deliveries > checkpoints + 2, (deliveries, checkpoints)
