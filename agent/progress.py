"""``--once`` feedback on stderr: a live progress line (only on a terminal) and a summary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TextIO

from logtide.agent.engine.prometheus import MetricsView

REFRESH_SECONDS = 0.5


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _of_kind(view: MetricsView, kind: str) -> list[str]:
    return [name for name, k in view.kinds.items() if k == kind]


def _total(view: MetricsView, kind: str, counter: str) -> int:
    return sum(view.counters.get(name, {}).get(counter, 0) for name in _of_kind(view, kind))


def progress_line(view: MetricsView) -> str:
    """``files 3 | in 1200 records 96.0 KiB | out s3.0 1100, null.0 1200``."""
    parts = []
    files = _total(view, "input", "files_opened")
    if files:
        parts.append(f"files {files}")
    records = _total(view, "input", "records")
    parts.append(f"in {records} records {_size(_total(view, 'input', 'bytes'))}")
    outs = [
        f"{name} {view.counters.get(name, {}).get('proc_records', 0)}"
        for name in _of_kind(view, "output")
    ]
    parts.append("out " + ", ".join(outs) if outs else "no outputs")
    retries = _total(view, "output", "retries")
    dropped = _total(view, "output", "dropped_records")
    if retries or dropped:
        parts.append(f"retries {retries} dropped {dropped}")
    return " | ".join(parts)


def summary(view: MetricsView, elapsed: float) -> str:
    """The end-of-run report: records in, and per output records out, retries and drops."""
    records = _total(view, "input", "records")
    lines = [
        f"logtide: {records} records ({_size(_total(view, 'input', 'bytes'))}) read in "
        f"{elapsed:.1f}s"
    ]
    for name in _of_kind(view, "output"):
        values = view.counters.get(name, {})
        lines.append(
            f"  output {name}: {values.get('proc_records', 0)} delivered, "
            f"{values.get('retries', 0)} retries, {values.get('dropped_records', 0)} dropped"
        )
    return "\n".join(lines) + "\n"


class Progress:
    """Rewrites one status line on ``stream`` about twice a second while the run lasts."""

    def __init__(self, view: Callable[[], MetricsView], stream: TextIO) -> None:
        self._view = view
        self._stream = stream
        self.started = time.monotonic()
        self._shown = False

    async def run(self) -> None:
        try:
            while True:
                self._stream.write("\r\x1b[K" + progress_line(self._view()))
                self._stream.flush()
                self._shown = True
                await asyncio.sleep(REFRESH_SECONDS)
        finally:
            self.clear()

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False

    def finish(self) -> None:
        """Clear the live line and write the summary."""
        self.clear()
        self._stream.write(summary(self._view(), time.monotonic() - self.started))
        self._stream.flush()
