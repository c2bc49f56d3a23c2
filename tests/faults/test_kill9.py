"""kill -9 at random moments while the app writes and kubelet rotates: nothing lost, no S3
duplicate, CloudWatch duplicates bounded by the batches in flight at each kill."""

from __future__ import annotations

import random
import time
from collections import deque

import pytest

from tests.faults import report
from tests.faults.conftest import World
from tests.support.fault_proxy import FaultProxy
from tests.support.logapp import ca_written


def events_sent(proxy: FaultProxy, since: int) -> int:
    """PutLogEvents events moto applied in the proxy log entries from index ``since`` on."""
    total = 0
    for exchange in proxy.calls()[since:]:
        if exchange.request.operation == "PutLogEvents" and exchange.forwarded:
            total += len(exchange.request.json()["logEvents"])
    return total


def resent_ranges(written: dict[str, list[int]], duplicated: set[tuple[str, int]]) -> int:
    """Contiguous runs (in each writer's order) of duplicated sequence numbers."""
    runs = 0
    for writer, seqs in written.items():
        inside = False
        for seq in seqs:
            hit = (writer, seq) in duplicated
            runs += hit and not inside
            inside = hit
    return runs


def run_kills(world: World, *, kills: int, seed: int, rate: float, rotate_every: int) -> None:
    rng = random.Random(seed)
    writers = [
        world.writer(f"app-{i}.log", rate=rate, seed=seed + i, rotate_every=rotate_every)
        for i in range(2)
    ]
    agent = world.agent()
    agent.wait_files(len(writers))
    for writer in writers:
        writer.start()
    in_flight_bound = 0
    began = time.monotonic()
    # (time, proxy log length) samples: what moto took shortly before a kill may not be
    # checkpointed yet, so CloudWatch may see it again after the restart.
    marks: deque[tuple[float, int]] = deque()
    for _ in range(kills):
        until = time.monotonic() + rng.uniform(1.0, 4.0)
        while time.monotonic() < until:
            marks.append((time.monotonic(), len(world.proxy.log)))
            while marks and marks[0][0] < time.monotonic() - 4.0:
                marks.popleft()
            time.sleep(0.1)
        agent.kill9()
        in_flight_bound += events_sent(world.proxy, marks[0][1] if marks else 0)
        agent.start()
    for writer in writers:
        writer.stop()
    s3, cw = world.wait_delivered(writers, timeout=120)
    code, _ = agent.terminate()
    s3, cw = world.s3_tally(writers), world.cw_tally(writers)
    report.record(
        "kill9",
        kills=agent.kills,
        seconds=round(time.monotonic() - began),
        lines_written=sum(w.written.total for w in writers),
        rotations=sum(w.rotations for w in writers),
        s3_expected=s3.expected,
        s3_lost=len(s3.lost),
        s3_duplicated=s3.duplicates,
        s3_resent_ranges=resent_ranges(ca_written(writers), set(s3.duplicated)),
        cw_expected=cw.expected,
        cw_lost=len(cw.lost),
        cw_duplicated=cw.duplicates,
        cw_duplicate_bound=in_flight_bound,
    )
    assert code == 0, agent.log_tail()
    assert not s3.lost and not cw.lost, (s3.summary(), cw.summary())
    # S3 is exactly-once: after a kill, chunks it already holds are read again (the
    # checkpoint also waits for CloudWatch) and recognised by the store's watermarks.
    assert s3.duplicates == 0, (
        s3.summary(),
        resent_ranges(ca_written(writers), set(s3.duplicated)),
    )
    assert s3.unexpected == 0 and cw.unexpected == 0
    assert cw.duplicates <= in_flight_bound, (cw.summary(), in_flight_bound)


def test_kill9_during_rotation_short(world: World) -> None:
    run_kills(world, kills=4, seed=7, rate=100, rotate_every=400)


@pytest.mark.slow
def test_kill9_during_rotation_long(world: World) -> None:
    run_kills(world, kills=24, seed=11, rate=250, rotate_every=1500)
