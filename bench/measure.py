"""Measuring a ``logtide`` child: rusage for ``--once`` runs, /proc for long-running ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LOGTIDE = str(Path(sys.executable).with_name("logtide"))
TICKS = os.sysconf("SC_CLK_TCK")
RUN_TIMEOUT = 900.0


# A deployed agent starts from compiled bytecode (pip writes it at install). Where the
# environment forbids writing it (PYTHONDONTWRITEBYTECODE), every start would compile ~80
# modules again: the children keep their bytecode in a cache of their own instead.
def child_env() -> dict[str, str]:
    """The environment now (a moto server adds fake credentials to it), bytecode allowed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "logtide-bench-pycache")
    return env


def warm_up(conf: Path) -> None:
    """Compile the bytecode of everything ``conf`` loads, before anything is measured."""
    subprocess.run(
        [LOGTIDE, "-c", str(conf), "--dry-run"],
        cwd=conf.parent,
        env=child_env(),
        check=True,
        capture_output=True,
    )


@dataclass
class Result:
    scenario: str
    records: int
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mib: float = 0.0
    records_per_s: float = 0.0
    records_per_cpu_s: float = 0.0
    cpu_percent: float | None = None
    delivered: int | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


class _HighWater(threading.Thread):
    """Samples a child's VmHWM until told to stop.

    Not ru_maxrss: Linux carries the parent's peak RSS over a fork and exec into the child's
    ru_maxrss, so after scenario b (moto keeps every record in the benchmark's own process)
    every child would report the benchmark's size, not its own.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            try:
                self.peak = max(self.peak, peak_rss_mib(self.pid))
            except OSError:
                return


def run_once(conf: Path, records: int, scenario: str) -> Result:
    """``logtide -c conf --once`` as a child; wall and CPU from wait4, peak RSS from VmHWM."""
    warm_up(conf)
    return run_command([LOGTIDE, "-c", str(conf), "--once"], conf.parent, records, scenario)


def run_command(argv: list[str], cwd: Path, records: int, scenario: str) -> Result:
    """``argv`` as a child, measured as :func:`run_once` measures the agent."""
    started = time.perf_counter()
    child = subprocess.Popen(
        argv,
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    # A stuck run (an output retrying forever) must not stall the whole benchmark.
    watchdog = threading.Timer(RUN_TIMEOUT, child.kill)
    watchdog.start()
    high_water = _HighWater(child.pid)
    high_water.start()
    try:
        errors = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        watchdog.cancel()
        high_water.done.set()
        high_water.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{scenario}: logtide exited {child.returncode}:\n{errors.decode()}")
    cpu = usage.ru_utime + usage.ru_stime
    return Result(
        scenario,
        records,
        wall_s=round(wall, 2),
        cpu_s=round(cpu, 2),
        peak_rss_mib=round(high_water.peak, 1),
        records_per_s=round(records / wall),
        records_per_cpu_s=round(records / cpu),
    )


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a running process, all its threads included."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fresh_state(root: Path) -> None:
    """Empty ``root``'s ``state`` (checkpoints, journals) and ``out`` folders for a new run."""
    for folder in ("state", "out"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()


def count_lines(path: Path) -> int:
    """Newlines in ``path`` (0 when it does not exist), read a MiB at a time."""
    if not path.exists():
        return 0
    with path.open("rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))


def run_best(
    conf: Path,
    records: int,
    scenario: str,
    repeat: int,
    clean: Callable[[], None] | None = None,
) -> Result:
    """:func:`run_once` ``repeat`` times from a clean state (``clean`` empties what the run
    delivered to, a server's state); the fastest run, with every run's wall and CPU seconds
    and peak RSS in ``extra`` (this machine is shared: the spread shows it)."""
    runs: list[Result] = []
    for _ in range(max(1, repeat)):
        fresh_state(conf.parent)
        if clean is not None:
            clean()
        runs.append(run_once(conf, records, scenario))
    best = min(runs, key=lambda r: r.wall_s)
    best.extra = {f"run{n}_wall_s": r.wall_s for n, r in enumerate(runs, 1)}
    best.extra.update({f"run{n}_cpu_s": r.cpu_s for n, r in enumerate(runs, 1)})
    # Memory targets are read at the highest peak of a session, not the fastest run's.
    best.extra.update({f"run{n}_peak_rss_mib": r.peak_rss_mib for n, r in enumerate(runs, 1)})
    return best
