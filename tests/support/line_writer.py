"""A thread that appends numbered lines to log files in bursts, as an app under test would;
the kill -9 tests count every ``seq`` it wrote on the far side."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

Target = Path | Callable[[int], Path]


class LineWriter(threading.Thread):
    """Appends ``batch`` lines every ``pause`` seconds until :meth:`finish`: line ``n`` is
    ``make(n)`` plus a newline, into ``target`` (a file, or the file ``target(n)`` names).
    ``written`` is how many lines are on disk."""

    def __init__(
        self, target: Target, batch: int, pause: float, make: Callable[[int], bytes]
    ) -> None:
        super().__init__(daemon=True)
        self.target, self.batch, self.pause, self.make = target, batch, pause, make
        self.written = 0
        self.stopping = threading.Event()

    def _file(self, n: int) -> Path:
        return self.target if isinstance(self.target, Path) else self.target(n)

    def run(self) -> None:
        while not self.stopping.is_set():
            by_file: dict[Path, list[bytes]] = {}
            for n in range(self.written, self.written + self.batch):
                by_file.setdefault(self._file(n), []).append(self.make(n))
            for path, lines in by_file.items():
                with path.open("ab") as out:
                    out.write(b"\n".join(lines) + b"\n")
            self.written += self.batch
            time.sleep(self.pause)

    def finish(self, timeout: float = 60) -> None:
        self.stopping.set()
        self.join(timeout)
