"""The agent's own log lines and the ``--once`` progress line and summary, through the real
``logtide`` command."""

from __future__ import annotations

import json
import logging
import os
import pty
import subprocess
import sys
from pathlib import Path

from logtide.agent.logs import JsonFormatter, TextFormatter, redact

LOGTIDE = str(Path(sys.executable).with_name("logtide"))


def config(tmp_path: Path, output_folder: Path, samples: int = 5, **service: str) -> Path:
    path = tmp_path / "fluent-bit.conf"
    extra = "".join(f"    {key} {value}\n" for key, value in service.items())
    path.write_text(
        "[SERVICE]\n    Flush 0.1\n"
        + extra
        + f"[INPUT]\n    Name dummy\n    Tag app\n    Samples {samples}\n"
        + f"[OUTPUT]\n    Name file\n    Match *\n    Path {output_folder}\n    File out.log\n"
    )
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGTIDE, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def test_once_prints_a_summary_and_no_progress_line_when_stderr_is_not_a_tty(
    tmp_path: Path,
) -> None:
    result = run("-c", str(config(tmp_path, tmp_path)), "--once")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr
    assert "logtide: 5 records (" in result.stderr
    assert "  output file.0: 5 delivered, 0 retries, 0 dropped\n" in result.stderr
    assert len((tmp_path / "out.log").read_text().splitlines()) == 5


def test_once_summary_reports_dropped_records(tmp_path: Path) -> None:
    result = run("-c", str(config(tmp_path, tmp_path / "missing")), "--once")
    assert result.returncode == 1
    assert "  output file.0: 0 delivered, 0 retries, 5 dropped\n" in result.stderr


def test_once_on_a_tty_rewrites_a_progress_line(tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [LOGTIDE, "-c", str(config(tmp_path, tmp_path, samples=2000)), "--once"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=secondary,
        )
        os.close(secondary)
        output = b""
        while True:
            try:
                data = os.read(primary, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not data:
                break
            output += data
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(primary)
    text = output.decode()
    assert "\r\x1b[Kin " in text
    assert "out file.0 " in text
    assert "output file.0: 2000 delivered" in text


def test_log_lines_name_the_component_in_text_and_json(tmp_path: Path) -> None:
    log_file = tmp_path / "agent.log"
    cfg = config(tmp_path, tmp_path / "missing", Log_File=str(log_file))
    assert run("-c", str(cfg), "--once").returncode == 1
    text = log_file.read_text()
    assert "] [ info] [logtide] version=" in text
    assert "] [error] [output:file.0] 5 records of tag app not delivered" in text

    json_file = tmp_path / "agent.json"
    cfg = config(tmp_path, tmp_path / "missing", Log_File=str(json_file), Log_Format="json")
    assert run("-c", str(cfg), "--once").returncode == 1
    entries = [json.loads(line) for line in json_file.read_text().splitlines()]
    assert all(set(entry) == {"time", "level", "plugin", "message"} for entry in entries)
    errors = [entry for entry in entries if entry["level"] == "error"]
    assert errors and errors[0]["plugin"] == "output:file.0"
    assert errors[0]["message"].startswith("5 records of tag app not delivered")


def test_credentials_are_masked_and_long_messages_cut() -> None:
    assert redact("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG") == "aws_secret_access_key=****"
    assert redact('{"password": "hunter2", "user": "bob"}') == '{"password": "****", "user": "bob"}'
    assert redact("key AKIAIOSFODNN7EXAMPLE used") == "key **** used"
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ****"
    signed = "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x, Signature=ab12"
    assert "AKIA" not in redact(signed) and "ab12" not in redact(signed)
    record = logging.LogRecord("logtide.output.s3.0", logging.ERROR, "f", 1, "x" * 5000, (), None)
    line = TextFormatter().format(record)
    assert "[error] [output:s3.0] " in line and len(line) < 700
    debug = logging.LogRecord("logtide.http_server", logging.DEBUG, "f", 1, "y" * 900, (), None)
    assert json.loads(JsonFormatter().format(debug))["message"] == "y" * 900


def test_masking_needs_a_secret_key_with_a_separator_not_an_error_name() -> None:
    # botocore's message, as the AWS outputs log it (exception class, colon, text)
    message = "[output:s3.0] NoCredentialsError: Unable to locate credentials"
    assert redact(message) == message
    assert redact("ExpiredTokenException: The security token included") == (
        "ExpiredTokenException: The security token included"
    )
    assert redact("Unable to locate credentials") == "Unable to locate credentials"
    qualified = "botocore.exceptions.NoCredentialsError: Unable to locate credentials"
    assert redact(qualified) == qualified
    # AWS error codes introduce a message too
    for code in ("ExpiredToken", "InvalidClientTokenId", "UnrecognizedClientException"):
        line = f"{code}: The security token included in the request is invalid"
        assert redact(line) == line
    assert redact('"SessionToken": "FwoGZX"') == '"SessionToken": "****"'
    assert redact("Authorization: FwoGZX") == "Authorization: ****"
    # real secrets in key=value / key: value shapes stay masked
    assert redact("X-Amz-Security-Token: FwoGZX") == "X-Amz-Security-Token: ****"
    assert redact("sessionToken=FwoGZX") == "sessionToken=****"
    assert redact("client.secret = s3cr3t") == "client.secret = ****"
