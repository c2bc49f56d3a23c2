"""kill -9 of either side of a logtide -> logtide Forward chain, with acks end to end.

The edge tails a growing file and forwards it with ``Require_ack_response On``; the
aggregator receives it with the forward input and writes it with the file output (fsynced
before its chunk is acknowledged). Each round kills one side (aggregator and edge in
turn) with SIGKILL at a random moment and starts it again. Every line written must reach
the aggregator's file: the edge's checkpoint moves only on the aggregator's ack, the
aggregator acks only what the file holds. Duplicates are what at-least-once allows (a
chunk on disk whose ack, or whose checkpoint, the kill cut off) and are counted.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults import report
from tests.faults.agent import Agent, new_port, wait_for
from tests.support.line_writer import LineWriter

EDGE = """\
[SERVICE]
    Flush           0.3
    Grace           5
    Log_Level       info
    HTTP_Server     On
    HTTP_Listen     127.0.0.1
    HTTP_Port       {http}
    scheduler.base  0.2
    scheduler.cap   1
[INPUT]
    Name            tail
    Tag             app.log
    Path            {work}/logs/*.log
    DB              {work}/tail.db
    Read_from_Head  On
    Refresh_Interval 1
[OUTPUT]
    Name                  forward
    Match                 *
    Host                  127.0.0.1
    Port                  {port}
    Require_ack_response  On
    ack_response_timeout  5
    Retry_Limit           no_limits
"""

# Flush 1 on the aggregator: at any moment it holds received events not yet in its file,
# so a kill always finds some that only an ack sent too early would lose.
AGGREGATOR = """\
[SERVICE]
    Flush           1
    Grace           5
    Log_Level       info
    HTTP_Server     On
    HTTP_Listen     127.0.0.1
    HTTP_Port       {http}
[INPUT]
    Name    forward
    Listen  127.0.0.1
    Port    {port}
[OUTPUT]
    Name    file
    Match   *
    Path    {work}/out
    File    received
    Format  plain
"""

SEQ = re.compile(rb"seq=(\d+) ")


def app_line(n: int) -> bytes:
    return f"seq={n} {'x' * 80}".encode()


def _received(path: Path) -> Counter[int]:
    if not path.exists():
        return Counter()
    return Counter(int(m) for m in SEQ.findall(path.read_bytes()))


def _chain(tmp_path: Path, rounds: int, *, graceful: bool = False) -> Counter[int]:
    """``rounds`` stops and starts of one side at a time (SIGKILL, or SIGTERM when
    ``graceful``: the aggregator only); every line must arrive. The count of each line."""
    port = new_port()
    (tmp_path / "logs").mkdir()
    (tmp_path / "out").mkdir()
    agents = {}
    for name, template in (("aggregator", AGGREGATOR), ("edge", EDGE)):
        folder = tmp_path / name
        folder.mkdir()
        http = new_port()
        config = folder / "fluent-bit.conf"
        config.write_text(template.format(http=http, port=port, work=tmp_path))
        agents[name] = Agent(config, http_port=http, bucket="unused")
    writer = LineWriter(tmp_path / "logs" / "app.log", batch=20, pause=0.05, make=app_line)
    received = tmp_path / "out" / "received"
    rng = random.Random(18)
    try:
        agents["aggregator"].start()
        agents["edge"].start()
        writer.start()
        for index in range(rounds):
            victim = agents["aggregator" if graceful or index % 2 == 0 else "edge"]
            time.sleep(rng.uniform(1.0, 2.5))
            if graceful:
                victim.terminate()
            else:
                victim.kill9()
            time.sleep(rng.uniform(0.2, 1.0))
            victim.start()
        time.sleep(1.0)
        writer.finish()
        expected = set(range(writer.written))
        try:
            wait_for(lambda: expected <= set(_received(received)), 60, 0.5, "every line")
        except AssertionError:
            missing = sorted(expected - set(_received(received)))
            logs = "\n".join(f"--- {n}\n{a.log_tail(30)}" for n, a in agents.items())
            raise AssertionError(f"{len(missing)} lines lost: {missing[:20]}\n{logs}") from None
        counts = _received(received)
    finally:
        writer.finish()
        for agent in agents.values():
            agent.stop()
    assert set(counts) == expected
    repeated = sum(n - 1 for n in counts.values())
    report.record(
        f"forward_chain_{'sigterm' if graceful else 'kill9'}_{rounds}",
        kills=rounds,
        lines=len(expected),
        lost=len(expected - set(counts)),
        repeated=repeated,
    )
    # at-least-once: a repeat needs a kill to cut an ack or a checkpoint off, and the
    # edge's chunks are at most one flush (0.3 s) of lines each
    assert repeated <= rounds * 2_000, f"{repeated} repeats for {rounds} kills"
    return counts


def test_kill9_either_side_of_a_forward_chain_loses_nothing(tmp_path: Path) -> None:
    _chain(tmp_path, rounds=2)


@pytest.mark.slow
def test_kill9_either_side_of_a_forward_chain_loses_nothing_long(tmp_path: Path) -> None:
    _chain(tmp_path, rounds=12)


@pytest.mark.slow
def test_sigterm_of_the_aggregator_repeats_nothing(tmp_path: Path) -> None:
    """A stopping aggregator takes no new messages, delivers what it took, and still sends
    those chunks' acks before it closes: the edge resends only what was never taken."""
    counts = _chain(tmp_path, rounds=1, graceful=True)
    assert [seq for seq, n in counts.items() if n > 1] == []


def test_sigterm_exits_within_grace_while_the_receiver_never_acks(tmp_path: Path) -> None:
    """A receiver that takes the bytes and never answers holds the edge's flush: SIGTERM
    still ends the edge within Grace (it waited for the ack's 190 s timeout, and then
    retried, before the engine's Grace bound was fixed)."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    silent.settimeout(30)
    port = silent.getsockname()[1]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("".join(f"seq={n} x\n" for n in range(100)))
    http = new_port()
    config = tmp_path / "edge.conf"
    config.write_text(EDGE.format(http=http, port=port, work=tmp_path))
    edge = Agent(config, http_port=http, bucket="unused")
    try:
        edge.start()
        accepted, _ = silent.accept()  # the edge connected and is waiting for its ack
        _, seconds = edge.terminate(timeout=30)
    finally:
        edge.stop()
        silent.close()
    assert seconds < 5 + 3, f"took {seconds:.1f}s with Grace 5"
    accepted.close()
