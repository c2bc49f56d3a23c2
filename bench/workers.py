"""Prototype of ``workers N``: N real ``logtide`` processes over disjoint shards of the files.

    bench/workers.py [--workers 1,2] [--rounds 3] [--lines 1000000] [--files 1000]
                     [--fmt docker|cri] [--cpus 0] [--output bench/workers.json]

The article's pipeline (scenario ``a``: tail -> docker parser -> parser filter -> the two
stream tasks -> two ``file`` outputs) over ``--lines`` lines spread over ``--files`` files
in one folder, as kubelet leaves them. A run with N workers starts N ``logtide --once``
children at once; worker k has its own config, checkpoint DB and output folder, and tails
exactly the files whose name hashes to k (CRC-32 of the file name, mod N; the files are
listed in its ``Path``). N = 1 is one process with the article's own ``Path`` glob. Runs
alternate between the worker counts, round after round, from a clean state each time, and
record the load average before and after, since on a shared machine a wall-clock speed-up
is only as good as the idle core it was measured on.

Every line's ``log`` carries a unique ``seq``; after each run every output line of every
worker is read back: each ``seq`` must be there exactly once, in the worker that owns its
file, and nothing else may be there. A run that fails the check stops the script.

Prints one table row per run and a summary per worker count (median wall, records/s,
total CPU-seconds, the busiest worker's CPU-seconds, the measured speed-up against the first
count and the CPU split, see :func:`summary`); ``--output`` keeps every figure as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import LOGTIDE, child_env, peak_rss_mib, warm_up
from workload import app_lines, cri_line, docker_line, write_config


def shard_of(name: str, workers: int) -> int:
    """The worker that owns a file: stable across restarts and processes (not ``hash()``,
    which is salted per process)."""
    return zlib.crc32(name.encode()) % workers


def write_files(logs: Path, lines: int, files: int, fmt: str) -> list[str]:
    """``files`` files of about lines/files lines each; each ``log`` ends with a ``seq``
    naming its file and line. Returns the file names."""
    render = docker_line if fmt == "docker" else cri_line
    source = app_lines(seed=5)
    names = []
    n = 0
    for f in range(files):
        name = f"app-{f:04d}.log"
        count = lines // files + (1 if f < lines % files else 0)
        body = []
        for i in range(count):
            record = next(source)[:-1] + f',"seq":"{f}-{i}"}}'
            body.append(render(record, n))
            n += 1
        (logs / name).write_bytes(b"".join(body))
        names.append(name)
    return names


@dataclass
class Worker:
    root: Path
    conf: Path
    files: list[str]


def prepare(base: Path, logs: Path, names: list[str], workers: int, fmt: str) -> list[Worker]:
    """One folder per worker: its config (the article's, Path = its shard), DB and outputs."""
    out = []
    for k in range(workers):
        root = base / f"n{workers}" / f"worker{k}"
        root.mkdir(parents=True)
        conf = write_config(root, "file", fmt, logs=str(logs))
        mine = [n for n in names if shard_of(n, workers) == k]
        if workers > 1:
            listed = ",".join(str(logs / n) for n in mine)
            text = conf.read_text().replace(f"{logs}/*.log", listed, 1)
            conf.write_text(text)
        out.append(Worker(root, conf, mine))
    return out


@dataclass
class Run:
    workers: int
    round: int
    load_before: float
    load_after: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    records: int = 0
    records_per_s: float = 0.0
    records_per_cpu_s: float = 0.0
    per_worker: list[dict[str, float]] = field(default_factory=list)
    check: str = ""


class _Peak(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            try:
                self.peak = max(self.peak, peak_rss_mib(self.pid))
            except OSError:
                return


def run(workers: list[Worker], round_no: int, records: int, cpus: set[int] | None) -> Run:
    for w in workers:
        for folder in ("state", "out"):
            shutil.rmtree(w.root / folder, ignore_errors=True)
            (w.root / folder).mkdir()
    result = Run(len(workers), round_no, round(os.getloadavg()[0], 2))
    started = time.perf_counter()
    children = []
    for w in workers:
        child = subprocess.Popen(
            [LOGTIDE, "-c", str(w.conf), "--once"],
            cwd=w.root,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if cpus:
            # set before the agent starts its threads, which inherit it
            os.sched_setaffinity(child.pid, cpus)
        peak = _Peak(child.pid)
        peak.start()
        children.append((child, peak))
    pending = {child.pid: n for n, (child, _) in enumerate(children)}
    while pending:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in pending:
            continue
        n = pending.pop(pid)
        child, peak = children[n]
        peak.done.set()
        peak.join()
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code
        if code != 0:
            assert child.stderr is not None
            raise SystemExit(f"worker {n} exited {code}:\n{child.stderr.read().decode()}")
        cpu = usage.ru_utime + usage.ru_stime
        result.per_worker.append(
            {
                "worker": n,
                "wall_s": round(time.perf_counter() - started, 2),
                "cpu_s": round(cpu, 2),
                "peak_rss_mib": round(peak.peak, 1),
            }
        )
    result.wall_s = round(time.perf_counter() - started, 2)
    result.load_after = round(os.getloadavg()[0], 2)
    result.per_worker.sort(key=lambda w: w["worker"])
    result.cpu_s = round(sum(w["cpu_s"] for w in result.per_worker), 2)
    result.records = records
    result.records_per_s = round(records / result.wall_s)
    result.records_per_cpu_s = round(records / result.cpu_s)
    result.check = check(workers, records)
    return result


def check(workers: list[Worker], records: int) -> str:
    """Every seq exactly once across the workers, each in the worker owning its file."""
    seen: set[str] = set()
    repeated = foreign = 0
    for w in workers:
        owned = {int(name[4:8]) for name in w.files}
        for name in ("ca.log", "notca.log"):
            path = w.root / "out" / name
            if not path.exists():
                continue
            for line in path.read_bytes().splitlines():
                seq = orjson.loads(line)["seq"]
                if seq in seen:
                    repeated += 1
                seen.add(seq)
                if int(seq.split("-", 1)[0]) not in owned:
                    foreign += 1
    missing = records - len(seen)
    if repeated or foreign or missing:
        raise SystemExit(f"delivery check failed: {missing} missing, {repeated} repeated, "
                         f"{foreign} in the wrong worker")  # fmt: skip
    return f"{len(seen):,} once"


def print_run(r: Run) -> None:
    rss = "/".join(f"{w['peak_rss_mib']:.0f}" for w in r.per_worker)
    cpus = "/".join(f"{w['cpu_s']:.1f}" for w in r.per_worker)
    print(
        f"{r.round:>5} {r.workers:>7} {r.load_before:>6.2f} {r.load_after:>6.2f} "
        f"{r.wall_s:>7.2f} {r.records_per_s:>9,.0f} {r.cpu_s:>6.2f} {r.records_per_cpu_s:>9,.0f}"
        f"  {cpus:<12} {rss:<10} {r.check}",
        flush=True,
    )


def summary(runs: list[Run]) -> None:
    """Medians per worker count. ``speed-up`` is measured wall time. ``CPU split`` is the
    first count's CPU-seconds over the busiest worker's: how evenly and cheaply the work
    divides, hence about what idle cores would give (a run cannot end before its busiest
    worker's CPU time has passed; with fewer cores than workers, less). On a loaded machine
    the measured speed-up also holds a fair-share effect: N processes get N shares of the
    cores against the other load where one process gets one."""
    counts = sorted({r.workers for r in runs})
    first = [r for r in runs if r.workers == counts[0]]
    base = statistics.median(r.wall_s for r in first)
    base_cpu = statistics.median(r.cpu_s for r in first)
    print("\nworkers  median wall s  median rec/s  median CPU-s  busiest CPU-s  speed-up vs "
          f"{counts[0]}  CPU split  (all walls)")  # fmt: skip
    for n in counts:
        mine = [r for r in runs if r.workers == n]
        wall = statistics.median(r.wall_s for r in mine)
        rate = statistics.median(r.records_per_s for r in mine)
        cpu = statistics.median(r.cpu_s for r in mine)
        busiest = statistics.median(max(w["cpu_s"] for w in r.per_worker) for r in mine)
        walls = ", ".join(f"{r.wall_s:.2f}" for r in mine)
        print(f"{n:>7} {wall:>13.2f} {rate:>13,.0f} {cpu:>13.2f} {busiest:>14.2f} "
              f"{base / wall:>14.2f}x {base_cpu / busiest:>9.2f}x  ({walls})")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--fmt", choices=("docker", "cri"), default="docker")
    parser.add_argument(
        "--cpus",
        help="run every worker on these CPUs only (e.g. 0): with one CPU, N workers cannot "
        "run in parallel, so their gain over N = 1 is the fair share they take from other load",
    )
    parser.add_argument("--output", help="a JSON file for every figure")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    cpus = {int(c) for c in args.cpus.split(",")} if args.cpus else None
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        base = Path(tmp)
        logs = base / "logs"
        logs.mkdir()
        names = write_files(logs, args.lines, args.files, args.fmt)
        setups = {n: prepare(base, logs, names, n, args.fmt) for n in counts}
        for setup in setups.values():
            warm_up(setup[0].conf)
        pinned = f", workers pinned to CPU {args.cpus}" if cpus else ""
        print(f"{os.cpu_count()} CPUs{pinned}; {args.lines:,} lines in {args.files} files "
              f"({args.fmt}); the article's pipeline into file outputs, --once")  # fmt: skip
        print("round workers load0  load1  wall s     rec/s  CPU-s rec/CPU-s  "
              "CPU-s each   RSS MiB    check")  # fmt: skip
        runs: list[Run] = []
        for round_no in range(1, args.rounds + 1):
            # alternate the order so neither count always runs first in a round
            order = counts if round_no % 2 else counts[::-1]
            for n in order:
                runs.append(run(setups[n], round_no, args.lines, cpus))
                print_run(runs[-1])
        summary(runs)
        if args.output:
            payload = {"args": vars(args), "runs": [asdict(r) for r in runs]}
            Path(args.output).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
