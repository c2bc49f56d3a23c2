"""Run the real ``logtide`` executable from the test venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOGTIDE = str(Path(sys.executable).with_name("logtide"))


def run_logtide(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGTIDE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def start_logtide(
    *args: str, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [LOGTIDE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kwargs,  # type: ignore[call-overload]
    )


def tail_workdir(tmp_path: Path, config: str) -> tuple[Path, Path, Path, Path]:
    """``log/``, ``state/`` and ``out/`` under ``tmp_path``, and ``fluent-bit.conf`` written
    from ``config`` with ``{log}``, ``{state}`` and ``{out}`` filled in."""
    log, state, out = (tmp_path / name for name in ("log", "state", "out"))
    for folder in (log, state, out):
        folder.mkdir()
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(config.format(log=log, state=state, out=out))
    return log, state, out, conf


def whole_json_lines(path: Path) -> list[Any]:
    """The JSON lines an agent has written to ``path`` so far: a last line without its
    newline is still being written and is left for the next read."""
    if not path.exists():
        return []
    text = path.read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line]


def delivered_logs(out: Path, name: str = "records.jsonl") -> list[str]:
    """The ``log`` of every record a ``Format plain`` file output wrote so far; a line still
    being written (or torn by kill -9, hence never acknowledged) is passed over."""
    path = out / name
    if not path.exists():
        return []
    logs = []
    for line in path.read_bytes().splitlines():
        try:
            logs.append(json.loads(line)["log"])
        except ValueError:
            continue
    return logs
