"""kill -9 of the real ``logtide`` while it tails a growing docker json-file log into the
``es`` output (the local bulk server, ``tests/support/bulk_server.py``; it refuses some items
with 429 on their first try, so partial retries are in flight at the kills): after the
restarts every line is indexed (0 lost) and, with ``Generate_ID``, indexed once (0
duplicated documents): a re-read line has the same content and time (from the line, by the
docker parser), so its document has the same ``_id``, and the re-send is answered 409,
which is acceptance. Then the server goes down for a while (refused connections) and
comes back: nothing is lost meanwhile."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.faults.agent import Agent, new_port, wait_for
from tests.support.bulk_server import BulkServer
from tests.support.logapp import docker_line

T0 = 1_780_000_000.0


def config(work: Path, http_port: int, bulk_port: int, generate_id: bool) -> Path:
    for name in ("conf", "logs"):
        (work / name).mkdir(exist_ok=True)
    path = work / "conf" / "logtide.conf"
    path.write_text(
        f"""[SERVICE]
    Flush 0.2
    Grace 5
    scheduler.base 0.3
    scheduler.cap 1
    HTTP_Server On
    HTTP_Listen 127.0.0.1
    HTTP_Port {http_port}
[INPUT]
    Name tail
    Tag app
    Parser docker
    Path {work / "logs" / "*.log"}
    DB {work / "tail.db"}
    Read_from_Head On
    Refresh_Interval 1
[OUTPUT]
    Name es
    Match *
    Host 127.0.0.1
    Port {bulk_port}
    Logstash_Format On
    Suppress_Type_Name On
    Generate_ID {"On" if generate_id else "Off"}
    Retry_Limit False
"""
    )
    return path


def flaky(seed: int) -> Any:
    """429 for about one item in twenty, on its first try only."""
    rng = random.Random(seed)
    refused: set[str] = set()
    lock = threading.Lock()

    def reject(index: str, doc: dict[str, Any]) -> int | None:
        with lock:
            key = doc["time"]
            if key not in refused and rng.random() < 0.05:
                refused.add(key)
                return 429
        return None

    return reject


def run_kills(
    tmp_path: Path, pauses: list[float], generate_id: bool, outage: float = 0.0
) -> tuple[int, Counter[int]]:
    """Kill at each pause while lines are written; then, with ``outage``, take the bulk
    server down that long (connections refused) while the agent keeps reading."""
    server = BulkServer().start()
    server.reject = flaky(7)
    http_port = new_port()
    agent = Agent(
        config(tmp_path, http_port, server.port, generate_id), http_port=http_port, bucket="unused"
    )
    agent.start()
    written = 0
    stop = threading.Event()

    def write() -> None:
        nonlocal written
        with (tmp_path / "logs" / "app.log").open("a") as log:
            while not stop.is_set():
                for _ in range(40):
                    log.write(docker_line({"seq": written}, T0 + written / 1000).decode())
                    written += 1
                log.flush()
                time.sleep(0.01)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for pause in pauses:
            time.sleep(pause)
            agent.kill9()
            agent.start()
        if outage:
            server.stop()
            time.sleep(outage)
            server.start()
        time.sleep(0.5)
        stop.set()
        writer.join()

        def seen() -> Counter[int]:
            return Counter(orjson.loads(doc["log"])["seq"] for doc in server.documents())

        wait_for(
            lambda: set(seen()) >= set(range(written)),
            90,
            interval=0.5,
            what=f"all {written} lines indexed",
        )
        assert agent.kills == len(pauses)
        log = agent.log_text()
        assert "Traceback" not in log
        if outage:
            assert "cannot connect" in log  # the outage was seen, as one line per retry
        return written, seen()
    finally:
        stop.set()
        writer.join()
        agent.stop()
        server.stop()


def test_kill9_es_generate_id_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    written, seen = run_kills(tmp_path, [0.8, 1.4, 0.6], generate_id=True, outage=2.0)
    assert set(seen) == set(range(written))
    assert [n for n, count in seen.items() if count > 1] == []


@pytest.mark.slow
@pytest.mark.parametrize("generate_id", [True, False], ids=["generate_id", "auto_id"])
def test_kill9_es_long(tmp_path: Path, generate_id: bool) -> None:
    rng = random.Random(11)
    pauses = [rng.uniform(0.3, 2.5) for _ in range(15)]
    written, seen = run_kills(tmp_path, pauses, generate_id, outage=10.0)
    assert set(seen) == set(range(written))  # 0 lost either way
    if generate_id:
        assert [n for n, count in seen.items() if count > 1] == []
