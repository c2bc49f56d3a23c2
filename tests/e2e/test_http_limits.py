"""The monitoring server under clients that connect and never finish a request, more
connections than it holds, and a process out of file descriptors: the real ``logtide``
process, real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from logtide.agent.engine.http_listener import MAX_CONNECTIONS
from logtide.agent.engine.http_server import HEADER_TIMEOUT
from tests.support.cli import LOGTIDE
from tests.support.moto_server import free_port

# Run logtide with a descriptor limit, the slots below FILLED taken by /dev/null (as a
# pipeline holding many files would): only LIMIT - FILLED - (its own few) remain.
LAUNCH = """
import os, resource, sys
limit, filled = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
while True:
    fd = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(fd, True)
    if fd >= filled:
        break
os.execv(sys.argv[3], sys.argv[3:])
"""


def config(folder: Path, port: int, output: str) -> Path:
    path = folder / "fluent-bit.conf"
    path.write_text(
        "[SERVICE]\n    Flush 0.2\n    HTTP_Server On\n    HTTP_Listen 127.0.0.1\n"
        f"    HTTP_Port {port}\n    Health_Check On\n"
        '[INPUT]\n    Name dummy\n    Tag app\n    Dummy {"m":1}\n    Rate 50\n'
        f"[OUTPUT]\n    Name {output}\n    Match *\n"
        + (f"    Path {folder}\n    File out.log\n" if output == "file" else "")
        + ("    Format json_lines\n" if output == "stdout" else "")
    )
    return path


def get(port: int, path: str, timeout: float) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
        status: int = answer.status
        return status


def wait_listening(proc: subprocess.Popen[bytes], port: int, stderr: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, stderr.read_text()
        try:
            get(port, "/", 1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(stderr.read_text())


def start(
    folder: Path, port: int, output: str, limit: int = 1024, filled: int = 3
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    stdout, stderr = folder / "agent.stdout", folder / "agent.stderr"
    argv = [sys.executable, "-c", LAUNCH, str(limit), str(filled), LOGTIDE]
    argv += ["-c", str(config(folder, port, output))]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=err,
        )
    wait_listening(proc, port, stderr)
    return proc, stdout, stderr


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def connect(port: int, count: int, partial: bool) -> list[socket.socket]:
    clients = []
    for index in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        if partial and index % 2:
            client.sendall(b"GET /api/v1/uptime HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        clients.append(client)
    return clients


def closed_by_server(client: socket.socket, wait: float) -> bool:
    """Whether the server closed ``client`` (EOF or reset) within ``wait`` seconds."""
    client.settimeout(max(wait, 0.01))
    try:
        while client.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_slow_clients_leave_liveness_answering_and_are_closed_after_the_timeout(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    proc, _, stderr = start(tmp_path, port, "file")
    procs.append(proc)
    slow = connect(port, 150, partial=True)
    try:
        began = time.monotonic()
        assert get(port, "/api/v1/health", timeout=1) == 200
        assert time.monotonic() - began < 1.0
        deadline = time.monotonic() + HEADER_TIMEOUT + 5
        still_open = [c for c in slow if not closed_by_server(c, deadline - time.monotonic())]
        assert not still_open, f"{len(still_open)} slow clients still held"
    finally:
        for client in slow:
            client.close()
    assert get(port, "/api/v1/uptime", timeout=2) == 200
    assert proc.poll() is None, stderr.read_text()


def test_connections_beyond_the_cap_close_the_oldest_at_once(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    proc, _, _ = start(tmp_path, port, "file", limit=4 * MAX_CONNECTIONS)
    procs.append(proc)
    idle = connect(port, MAX_CONNECTIONS + 100, partial=False)
    try:
        time.sleep(1.0)  # well inside HEADER_TIMEOUT: only the cap closes anything
        closed = [c for c in idle if closed_by_server(c, 0.01)]
        assert len(closed) >= 100, len(closed)
        # the newest are the ones kept, and the server still answers
        assert not any(c in closed for c in idle[-50:])
        assert get(port, "/api/v1/health", timeout=1) == 200
    finally:
        for client in idle:
            client.close()


def test_out_of_descriptors_backs_off_quietly_and_the_pipeline_keeps_delivering(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    # 64 descriptors, 48 taken: the server may hold 16, but only about ten are free
    proc, stdout, stderr = start(tmp_path, port, "stdout", limit=64, filled=48)
    procs.append(proc)
    clients = connect(port, 60, partial=False)
    try:
        time.sleep(0.5)
        before = len(stdout.read_bytes().splitlines())
        time.sleep(4.0)
        after = len(stdout.read_bytes().splitlines())
        log = stderr.read_text()
    finally:
        for client in clients:
            client.close()
    assert after - before >= 50, (before, after, log)  # dummy at 50 records/s kept flowing
    assert "out of system resource" not in log, log  # asyncio's own once-a-second traceback
    assert log.count("not accepting connections") == 1, log
    assert "Too many open files" in log
    assert len(log.splitlines()) < 10, log
    # descriptors freed: the server accepts again
    deadline = time.monotonic() + HEADER_TIMEOUT + 10
    while True:
        try:
            assert get(port, "/api/v1/uptime", timeout=1) == 200
            break
        except OSError:
            assert time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.2)
    assert proc.poll() is None
