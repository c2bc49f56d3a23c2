"""kill -9 while a python filter splits, drops and rewrites tail records on their way to a
file output: after the restarts, every line's outcome is delivered exactly as the callable
says (the chunk's acknowledgement covers what the filter dropped or split), none lost."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from tests.faults.agent import Agent, new_port, wait_for

# n % 4: 0 drop, 1 split in two, 2 new record and time (code 1), 3 keep unchanged (code 0).
PER_RECORD = """\
def cb(tag, ts, record):
    n = int(record["log"])
    if n % 4 == 0:
        return -1, ts, record
    if n % 4 == 1:
        return 2, ts, [{"n": n, "part": 1}, {"n": n, "part": 2}]
    if n % 4 == 2:
        return 1, float(n), {"n": n, "replaced": True}
    return 0, ts, record
"""

BATCH = """\
def cb(tag, events):
    out = []
    for ts, record in events:
        n = int(record["log"])
        if n % 4 == 0:
            continue
        if n % 4 == 1:
            out += [(ts, {"n": n, "part": 1}), (ts, {"n": n, "part": 2})]
        elif n % 4 == 2:
            out.append((float(n), {"n": n, "replaced": True}))
        else:
            out.append((ts, record))
    return out
"""


def expected(n: int) -> set[str]:
    if n % 4 == 0:
        return set()
    if n % 4 == 1:
        return {f'{{"n":{n},"part":1}}', f'{{"n":{n},"part":2}}'}
    if n % 4 == 2:
        return {f'{float(n)} {{"n":{n},"replaced":true}}'}
    return {f'{{"log":"{n}"}}'}


def delivered(folder: Path) -> dict[int, set[str]]:
    seen: dict[int, set[str]] = defaultdict(set)
    for path in folder.glob("*"):
        for line in path.read_bytes().splitlines():
            _, _, payload = line.partition(b": ")
            ts, record = orjson.loads(payload)
            n = int(record.get("n", record.get("log", -1)))
            text = orjson.dumps(record).decode()
            seen[n].add(f"{float(ts)} {text}" if record.get("replaced") else text)
    return seen


def config(work: Path, port: int, batch: bool) -> Path:
    for name in ("conf", "out", "logs"):
        (work / name).mkdir(exist_ok=True)
    # Path is relative to the config file's folder.
    (work / "conf" / "split.py").write_text(BATCH if batch else PER_RECORD)
    path = work / "conf" / "logtide.conf"
    path.write_text(
        f"""[SERVICE]
    Flush 0.2
    Grace 5
    HTTP_Server On
    HTTP_Listen 127.0.0.1
    HTTP_Port {port}
[INPUT]
    Name tail
    Tag app
    Path {work / "logs" / "*.log"}
    DB {work / "tail.db"}
    Read_from_Head On
    Refresh_Interval 1
[FILTER]
    Name python
    Match app
    Path split.py
    Call cb
    Batch {"On" if batch else "Off"}
[OUTPUT]
    Name file
    Match *
    Path {work / "out"}
    File out.log
"""
    )
    return path


@pytest.mark.parametrize("batch", [False, True], ids=["per_record", "batch"])
def test_kill9_python_filter_delivers_each_lines_outcome(tmp_path: Path, batch: bool) -> None:
    port = new_port()
    agent = Agent(config(tmp_path, port, batch), http_port=port, bucket="unused").start()
    written = 0
    stop = threading.Event()

    def write() -> None:
        nonlocal written
        with (tmp_path / "logs" / "app.log").open("a") as log:
            while not stop.is_set():
                for _ in range(50):
                    log.write(f"{written}\n")
                    written += 1
                log.flush()
                time.sleep(0.01)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for pause in (1.0, 1.7, 0.6):
            time.sleep(pause)
            agent.kill9()
            agent.start()
        time.sleep(0.5)
        stop.set()
        writer.join()

        def complete() -> bool:
            seen = delivered(tmp_path / "out")
            return all(seen.get(n, set()) == expected(n) for n in range(written))

        wait_for(complete, 60, interval=0.5, what=f"the outcome of all {written} lines")
        seen = delivered(tmp_path / "out")
        assert set(seen) <= set(range(written)) - set(range(0, written, 4))
        assert agent.counter("filter", "python.0", "callback_errors") == 0
    finally:
        stop.set()
        writer.join()
        agent.stop()
    assert agent.kills == 3
