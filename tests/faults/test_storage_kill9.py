"""kill -9 with ``[SERVICE] storage.path`` set and ``storage.type filesystem`` on the tail
input, as AWS's Container Insights and the Fluent Bit Helm chart run it. Every output then has
a disk queue in front: a chunk is acknowledged, and the tail's checkpoint moves past it, once
it is fsynced into the queue, and a restart delivers the queue from its committed position.
Nothing may be lost, and S3 and CloudWatch stay exactly-once: the queue keeps each chunk's
source range, so the outputs record it as they record chunks delivered from memory, and a
restart skips the queued chunks they already hold. Before the queue kept them, what was in
flight at a kill arrived twice (5 S3 and 13 CloudWatch lines in the short case, 194
CloudWatch lines in the long one).

kubelet rotates and gzips the files while the agent is down, and an outage fills the queues
before two of the kills, so the restarts find chunks on disk that no file holds any more in
the form they were read. The app also rotates every 400 lines while the agent runs, so a
rotation lands just before a kill now and then: the generation born there is gzipped while
the agent is down, with no first bytes in its row to be found by. Before a start read the
``.gz`` generations compressed after the last one it knows (docs/compatibility.md,
"Compressed while down"), such a generation was lost in 4 of 12 runs."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.faults import report
from tests.faults.conftest import World
from tests.faults.report import resent_ranges
from tests.support.fault_proxy import refuse
from tests.support.logapp import AppWriter, ca_written, other_written

WRITERS = 2


def queued_bytes(folder: Path) -> int:
    """Bytes of queued chunks under ``storage.path`` (the segments, not the positions)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != "committed")


def run_kills(world: World, *, kills: int, seed: int, rate: float, rotate_every: int) -> None:
    rng = random.Random(seed)
    writers: list[AppWriter] = [
        world.linked_writer(
            i,
            seed=seed + i,
            rate=rate,
            rotate_every=rotate_every,
            rotation="kubelet",
            keep_rotated=4,
        )
        for i in range(WRITERS)
    ]
    queue = world.work / "queue"
    agent = world.agent(
        {
            "SERVICE": {"storage.path": str(queue)},
            "tail": {"storage.type": "filesystem", "Mem_Buf_Limit": "256K"},
        }
    )
    agent.wait_files(len(writers))
    for writer in writers:
        writer.start()
    began = time.monotonic()
    world.kill_repeatedly(agent, writers, kills, rng, rotate=True)
    # S3 and CloudWatch refuse connections: what the tail reads piles up in the queues.
    world.proxy.inject(refuse(), duration=600)
    time.sleep(15)
    held = queued_bytes(queue)
    agent.kill9()
    agent.start()
    time.sleep(5)
    agent.kill9()
    world.proxy.clear()
    agent.start()
    time.sleep(5)
    code, s3, cw = world.finish(writers, agent)
    s3_runs = resent_ranges(ca_written(writers), set(s3.duplicated))
    cw_runs = resent_ranges(other_written(writers), set(cw.duplicated))
    report.record(
        "kill9_storage_path",
        kills=agent.kills,
        seconds=round(time.monotonic() - began),
        lines_written=sum(w.written.total for w in writers),
        rotations=sum(w.rotations for w in writers),
        queued_bytes_at_outage_kill=held,
        **report.tallies(s3, cw),
        s3_resent_ranges=s3_runs,
        cw_resent_ranges=cw_runs,
    )
    assert held > 0, "the outage left nothing in the disk queues: the kill tested nothing"
    assert code == 0, agent.log_tail()
    assert not s3.lost and not cw.lost, (s3.summary(), cw.summary())
    assert s3.unexpected == 0 and cw.unexpected == 0
    assert s3.duplicates == 0 and cw.duplicates == 0, (s3.summary(), cw.summary())


def test_kill9_with_a_storage_path_queue_through_an_outage_and_kubelet_gzip(
    world: World,
) -> None:
    run_kills(world, kills=3, seed=41, rate=150, rotate_every=400)


@pytest.mark.slow
def test_kill9_with_a_storage_path_queue_long(world: World) -> None:
    run_kills(world, kills=24, seed=43, rate=250, rotate_every=1500)
