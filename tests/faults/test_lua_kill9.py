"""kill -9 while a lua filter splits and drops records: every line's outcome, as the script
decides it, reaches the output; nothing is lost and no dropped line appears (the real
process, tail -> lua -> file)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from pathlib import Path

from tests.faults.agent import Agent, new_port, wait_for
from tests.support.logapp import file_records

SCRIPT = """
function cb(tag, ts, record)
  local n = record["seq"]
  if n % 5 == 0 then return -1, ts, record end
  if n % 3 == 0 then
    return 2, ts, { { seq = n, part = 1 }, { seq = n, part = 2 } }
  end
  record["part"] = 0
  return 2, ts, record
end
"""

LINES = 4000


def expected_outcome(lines: int) -> set[tuple[int, int]]:
    """(seq, part) for every record the script lets through."""
    out: set[tuple[int, int]] = set()
    for n in range(lines):
        if n % 5 == 0:
            continue
        out |= {(n, 1), (n, 2)} if n % 3 == 0 else {(n, 0)}
    return out


def config(work: Path, port: int) -> Path:
    folder = work / "conf"
    folder.mkdir(parents=True)
    (work / "out").mkdir()
    (work / "logs").mkdir()
    (folder / "split.lua").write_text(SCRIPT)
    path = folder / "fluent-bit.conf"
    path.write_text(
        f"""[SERVICE]
    Flush 0.2
    Grace 5
    HTTP_Server On
    HTTP_Listen 127.0.0.1
    HTTP_Port {port}
[PARSER]
    Name json
    Format json
[INPUT]
    Name tail
    Tag app
    Path {work / "logs" / "*.log"}
    Parser json
    Read_from_Head On
    DB {work / "tail.db"}
    Refresh_Interval 1
[FILTER]
    Name lua
    Match app
    script split.lua
    call cb
[OUTPUT]
    Name file
    Match *
    Path {work / "out"}
    File out.jsonl
    Format plain
"""
    )
    return path


def write_lines(path: Path, lines: int, rate: float) -> None:
    with path.open("a") as handle:
        for n in range(lines):
            handle.write(json.dumps({"seq": n, "pad": "x" * 40}) + "\n")
            handle.flush()
            if n % 50 == 49:
                time.sleep(50 / rate)


def test_kill9_with_a_splitting_and_dropping_lua_filter(tmp_path: Path) -> None:
    port = new_port()
    agent = Agent(config(tmp_path, port), http_port=port, bucket="unused").start()
    writer = threading.Thread(target=write_lines, args=(tmp_path / "logs" / "app.log", LINES, 400))
    rng = random.Random(17)
    want = expected_outcome(LINES)
    try:
        writer.start()
        while writer.is_alive():
            time.sleep(rng.uniform(1.0, 2.5))
            agent.kill9()
            agent.start()
        writer.join()

        def delivered() -> set[tuple[int, int]]:
            return {(r["seq"], r["part"]) for r in file_records(tmp_path / "out")}

        wait_for(lambda: delivered() >= want, 90, what="every outcome delivered")
        code, _ = agent.terminate()
    finally:
        agent.stop()
    records = file_records(tmp_path / "out")
    got = Counter((r["seq"], r["part"]) for r in records)
    assert code == 0, agent.log_tail()
    assert agent.kills >= 2
    assert set(got) == want  # none lost, no dropped line and no half-split record extra
    assert all("pad" in r for r in records if r["part"] == 0)
    assert all(set(r) == {"seq", "part"} for r in records if r["part"] != 0)
