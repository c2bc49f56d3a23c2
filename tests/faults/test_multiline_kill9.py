"""kill -9 while the multiline filter holds half-joined stack traces: every trace arrives
joined and whole, no line is lost (tail -> multiline java -> file, the real process).

A trace open at the end of a chunk is held with that chunk's acknowledgement; the kill
loses it from memory only, and the restart re-reads it because its lines were never
acknowledged, and the chunk before a held chunk that begins inside a record stays held too,
so the restart re-reads that record from its first line. The file output is at-least-once,
so a re-read record may arrive twice; it never arrives split.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import LOGTIDE

CONFIG = """\
[SERVICE]
    Flush      0.2
    Grace      5
    Log_Level  warn
[INPUT]
    Name              tail
    Tag               app
    Path              {logs}/*.log
    DB                {work}/tail.db
    Read_from_Head    On
    Refresh_Interval  1
    Buffer_Chunk_Size 1k
    Buffer_Max_Size   8k
[FILTER]
    Name                   multiline
    Match                  app
    multiline.key_content  log
    multiline.parser       java
    flush_ms               1500
[OUTPUT]
    Name    file
    Match   app
    Path    {out}
    File    out.jsonl
    Format  plain
"""


def trace(n: int) -> list[str]:
    return [
        f"java.lang.IllegalStateException: order {n} is not valid",
        f"\tat io.shop.Orders.save(Orders.java:{n})",
        "\tat io.shop.Api.handle(Api.java:40)",
        f"Caused by: java.io.IOException: reset {n}",
        "\tat io.shop.Db.read(Db.java:3)",
        "\t... 12 more",
    ]


def _records(out: Path) -> list[str]:
    path = out / "out.jsonl"
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line)["log"] for line in lines if line.endswith("}")]


@pytest.mark.slow
def test_kill9_loses_no_line_and_splits_no_trace(tmp_path: Path) -> None:
    rng = random.Random(17)
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    out.mkdir()
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(CONFIG.format(logs=logs, work=tmp_path, out=out))
    log = (tmp_path / "agent.log").open("ab")
    app = (logs / "app.log").open("a")
    traces = singles = 0

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([LOGTIDE, "-c", str(conf)], stdout=log, stderr=log)

    def write(count: int) -> None:
        nonlocal traces, singles
        for _ in range(count):
            if rng.random() < 0.4:
                # in two writes, so that a read (a chunk) often ends inside the trace
                lines = trace(traces)
                app.write("\n".join(lines[:3]) + "\n")
                app.flush()
                time.sleep(rng.uniform(0.01, 0.3))  # well within flush_ms
                app.write("\n".join(lines[3:]) + "\n")
                traces += 1
            else:
                app.write(f"INFO single {singles}\n")
                singles += 1
            app.flush()
            time.sleep(rng.uniform(0, 0.004))

    proc = start()
    try:
        for _ in range(4):
            write(rng.randint(150, 300))
            time.sleep(rng.uniform(0.2, 1.0))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            write(rng.randint(20, 60))  # written while it is down
            proc = start()
        write(100)
        wanted_traces = {"\n".join(trace(n)) for n in range(traces)}
        wanted_singles = {f"INFO single {n}" for n in range(singles)}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            got = set(_records(out))
            if wanted_traces <= got and wanted_singles <= got:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        app.close()
        log.close()
    records = _records(out)
    got = set(records)
    assert not wanted_traces - got, f"{len(wanted_traces - got)} traces missing or split"
    assert not wanted_singles - got, f"{len(wanted_singles - got)} single lines lost"
    # nothing else: no piece of a trace on its own, no record made of two traces
    assert got == wanted_traces | wanted_singles
