"""Scenario d: many files tailed by a long-running agent, quiet and then each one busy.

The agent runs the article's pipeline into ``file`` outputs (no ``--once``). Once it has
delivered what the files held at start, its CPU is sampled from /proc over a window while
nothing is written (quiet), then over a window while a writer appends one docker line a
second to every file, spread evenly over each second as independent pods would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from measure import LOGTIDE, Result, child_env, cpu_seconds, peak_rss_mib, warm_up
from workload import app_lines, docker_line, write_config

INITIAL_LINES = 5
SLICES = 50  # writes per second, each to files/SLICES files


def _delivered(out: Path) -> int:
    total = 0
    for name in ("ca.log", "notca.log"):
        with contextlib.suppress(FileNotFoundError):
            total += (out / name).read_bytes().count(b"\n")
    return total


def _wait_for(out: Path, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _delivered(out) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"d: only {_delivered(out)} of {count} records delivered")
        time.sleep(0.2)


class _Writer(threading.Thread):
    """One line a second to every file, in SLICES evenly spaced writes."""

    def __init__(self, paths: list[Path], first: int) -> None:
        super().__init__(daemon=True)
        self.fds = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in paths]
        self.source = app_lines(seed=11)
        self.n = first
        self.written = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        per_slice = max(1, len(self.fds) // SLICES)
        step = 1.0 / SLICES
        due = time.monotonic()
        index = 0
        while not self.stopping.is_set():
            for fd in self.fds[index : index + per_slice]:
                os.write(fd, docker_line(next(self.source), self.n))
                self.n += 1
                self.written += 1
            index = (index + per_slice) % len(self.fds)
            due += step
            self.stopping.wait(max(0.0, due - time.monotonic()))

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        for fd in self.fds:
            os.close(fd)


def _window(pid: int, seconds: float) -> float:
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def many_files(files: int, seconds: float, fluent_bit: str | None = None) -> list[Result]:
    """Rows ``d-quiet`` and ``d-busy``; with ``fluent_bit`` (its executable) that agent runs
    the same config instead, in rows ``d-quiet/fluent-bit`` and ``d-busy/fluent-bit``."""
    suffix = "/fluent-bit" if fluent_bit else ""
    with tempfile.TemporaryDirectory(prefix="bench-d-") as tmp:
        root = Path(tmp)
        conf = write_config(root, "file", "docker")
        source = app_lines()
        paths = []
        n = 0
        for index in range(files):
            path = root / "logs" / f"app-{index:04d}_default_app-{index:04d}.log"
            lines = [docker_line(next(source), n + k) for k in range(INITIAL_LINES)]
            n += INITIAL_LINES
            path.write_bytes(b"".join(lines))
            paths.append(path)
        if fluent_bit is None:
            warm_up(conf)
        agent = subprocess.Popen(
            [fluent_bit or LOGTIDE, "-c", str(conf)],
            cwd=root,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(root / "out", files * INITIAL_LINES, timeout=120)
            time.sleep(2)
            quiet = _window(agent.pid, seconds)
            writer = _Writer(paths, n)
            writer.start()
            time.sleep(2)
            busy = _window(agent.pid, seconds)
            writer.stop()
            expected = files * INITIAL_LINES + writer.written
            _wait_for(root / "out", expected, timeout=60)
            rss = peak_rss_mib(agent.pid)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=60)
        delivered = _delivered(root / "out")
    return [
        Result(
            f"d-quiet{suffix}",
            files * INITIAL_LINES,
            cpu_percent=round(quiet, 2),
            peak_rss_mib=round(rss, 1),
            note=f"{files} files, no writes, {seconds:.0f} s window",
        ),
        Result(
            f"d-busy{suffix}",
            writer.written,
            cpu_percent=round(busy, 2),
            peak_rss_mib=round(rss, 1),
            delivered=delivered - files * INITIAL_LINES,
            note=f"{files} files x 1 line/s, {seconds:.0f} s window",
        ),
    ]
