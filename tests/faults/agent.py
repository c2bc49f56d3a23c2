"""The real ``logtide`` process under test, configured from the article's ConfigMap.

:func:`article_config` copies ``examples/article`` (fluent-bit.conf, parsers.conf,
streams.conf) into a folder and changes only what a test must: paths, the endpoint (the
fault proxy in front of moto), small buffer sizes and timers so that uploads, rotations and
rescans happen within seconds. :class:`Agent` starts it, kills it (-9), stops it (SIGTERM),
samples its RSS and reads its metrics over the monitoring HTTP server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.cli import LOGTIDE
from tests.support.moto_server import REGION, free_port

ARTICLE = Path(__file__).resolve().parents[2] / "examples" / "article"

Overrides = dict[str, dict[str, str]]


def rewrite(text: str, overrides: Overrides) -> str:
    """Set keys per section: ``{"SERVICE": {...}, "tail": {...}, "s3": {...}}`` (sections
    are named by their ``Name`` value, or by the section header for SERVICE). Existing keys
    get the new value (``None`` removes them), others are appended to the section."""
    sections: list[list[str]] = []
    for line in text.splitlines():
        if line.strip().startswith("[") or not sections:
            sections.append([])
        sections[-1].append(line)
    out: list[str] = []
    for lines in sections:
        header = lines[0].strip().strip("[]").upper()
        name = header
        for line in lines[1:]:
            key, _, value = line.strip().partition(" ")
            if key.lower() == "name":
                name = value.strip()
        wanted = {k.lower(): (k, v) for k, v in overrides.get(name, {}).items()}
        done = set()
        out.append(lines[0])
        for line in lines[1:]:
            key = line.strip().partition(" ")[0].lower()
            if key in wanted:
                done.add(key)
                if wanted[key][1] is not None:
                    out.append(f"    {wanted[key][0]} {wanted[key][1]}")
                continue
            out.append(line)
        out.extend(f"    {k} {v}" for lk, (k, v) in wanted.items() if lk not in done and v)
    return "\n".join(out) + "\n"


def article_config(folder: Path, overrides: Overrides) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("parsers.conf", "streams.conf"):
        (folder / name).write_text((ARTICLE / name).read_text())
    path = folder / "fluent-bit.conf"
    path.write_text(rewrite((ARTICLE / "fluent-bit.conf").read_text(), overrides))
    return path


def fast_article(
    work: Path,
    endpoint: str,
    *,
    http_port: int,
    extra: Overrides | None = None,
) -> Path:
    """The article's pipeline with test paths and timers (everything else as written)."""
    overrides: Overrides = {
        "SERVICE": {"HTTP_Port": str(http_port), "HTTP_Listen": "127.0.0.1", "Flush": "0.5",
                    "Grace": "10", "scheduler.base": "0.2", "scheduler.cap": "2"},
        "tail": {"Path": str(work / "logs" / "*.log"), "DB": str(work / "tail.db"),
                 "Rotate_Wait": "3", "Refresh_Interval": "1", "Docker_Mode_Flush": "1",
                 "Buffer_Max_Size": "256k"},
        "s3": {"store_dir": str(work / "store"), "total_file_size": "1M",
               "upload_timeout": "3s", "endpoint": endpoint, "Retry_Limit": "no_limits"},
        "cloudwatch_logs": {"endpoint": endpoint, "Retry_Limit": "no_limits"},
    }  # fmt: skip
    for section, values in (extra or {}).items():
        overrides.setdefault(section, {}).update(values)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    return article_config(work / "conf", overrides)


def wait_for(
    condition: Callable[[], Any], timeout: float, interval: float = 0.25, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or condition}")
        time.sleep(interval)


class Agent:
    """One ``logtide -c CONFIG`` process at a time; restartable."""

    def __init__(
        self, config: Path, *, http_port: int, bucket: str, env: dict[str, str] | None = None
    ) -> None:
        self.config = config
        self.http_port = http_port
        self.log_path = config.parent / "agent.log"
        self.env = {
            **os.environ,
            "S3_BUCKET": bucket,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.rss_samples: list[int] = []

    def start(self, *, ready: bool = True) -> Agent:
        assert self.proc is None or self.proc.poll() is not None
        with self.log_path.open("ab") as log:
            log.write(f"---- start {self.starts}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [LOGTIDE, "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.env,
            )
        self.starts += 1
        if ready:
            wait_for(self.up, 30, what="the monitoring server")
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def up(self) -> bool:
        if not self.alive():
            raise AssertionError(f"logtide exited early:\n{self.log_tail()}")
        try:
            self.get("/api/v1/uptime")
        except OSError:
            return False
        return True

    def get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.http_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read())

    def metrics(self) -> dict[str, Any]:
        return dict(self.get("/api/v1/metrics"))

    def counter(self, kind: str, instance: str, name: str) -> int:
        return int(self.metrics().get(kind, {}).get(instance, {}).get(name, 0))

    def wait_files(self, count: int, timeout: float = 30) -> None:
        """Wait until the tail has opened ``count`` files (so lines written from now on are
        past its starting point even with Read_from_Head Off)."""
        wait_for(
            lambda: self.counter("input", "tail.0", "files_opened") >= count,
            timeout,
            what=f"{count} files opened",
        )

    def rss(self) -> int:
        """Resident set size in bytes (0 once the process is gone)."""
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        value = int(line.split()[1]) * 1024
                        self.rss_samples.append(value)
                        return value
        except OSError:
            pass
        return 0

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    def terminate(self, timeout: float = 60) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds until it exited)."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - began

    def hup(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def new_port() -> int:
    return free_port()
