"""kill -9 at random moments while the app writes and kubelet rotates: nothing lost, nothing
repeated in S3 or CloudWatch. Files in one folder, and files laid out as on a node (the glob
matches links naming files kubelet rotates in another folder), where kubelet also gzips the
older generations, also while an outage holds the input back."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from tests.faults import report
from tests.faults.conftest import World
from tests.faults.report import resent_ranges
from tests.support.fault_proxy import refuse
from tests.support.logapp import ca_written, other_written


def run_kills(
    world: World,
    *,
    kills: int,
    seed: int,
    rate: float,
    rotate_every: int,
    linked: bool = False,
    kubelet_gzip: bool = False,
) -> None:
    """``kubelet_gzip``: rotations gzip the older generations, as kubelet's do, and each
    kill is followed by two rotations before the agent starts again, so what it had not
    read of the file it was reading is only in a ``.gz`` when it starts."""
    rng = random.Random(seed)
    options: dict[str, Any] = {"rate": rate, "rotate_every": rotate_every}
    if kubelet_gzip:
        # kubelet's default containerLogMaxFiles (5): the log and 4 generations.
        options.update(rotation="kubelet", keep_rotated=4)
    writers = [
        world.linked_writer(i, seed=seed + i, **options)
        if linked
        else world.writer(f"app-{i}.log", seed=seed + i, **options)
        for i in range(2)
    ]
    agent = world.agent()
    agent.wait_files(len(writers))
    for writer in writers:
        writer.start()
    began = time.monotonic()
    world.kill_repeatedly(agent, writers, kills, rng, rotate=kubelet_gzip)
    code, s3, cw = world.finish(writers, agent)
    report.record(
        "kill9_kubelet_gzip" if kubelet_gzip else "kill9_kubelet_links" if linked else "kill9",
        kills=agent.kills,
        seconds=round(time.monotonic() - began),
        lines_written=sum(w.written.total for w in writers),
        rotations=sum(w.rotations for w in writers),
        **report.tallies(s3, cw),
        s3_resent_ranges=resent_ranges(ca_written(writers), set(s3.duplicated)),
        cw_resent_ranges=resent_ranges(other_written(writers), set(cw.duplicated)),
    )
    assert code == 0, agent.log_tail()
    assert not s3.lost and not cw.lost, (s3.summary(), cw.summary())
    # Both are exactly-once: after a kill, chunks an output already holds are read again
    # (the checkpoint waits for both) and recognised by its watermarks: the S3 store's, and
    # CloudWatch's journal, whose open batches the recovery checks against the stream.
    assert s3.duplicates == 0, (
        s3.summary(),
        resent_ranges(ca_written(writers), set(s3.duplicated)),
    )
    assert cw.duplicates == 0, (
        cw.summary(),
        resent_ranges(other_written(writers), set(cw.duplicated)),
    )
    assert s3.unexpected == 0 and cw.unexpected == 0


def test_kill9_during_rotation_short(world: World) -> None:
    run_kills(world, kills=4, seed=7, rate=100, rotate_every=400)


@pytest.mark.slow
def test_kill9_during_rotation_long(world: World) -> None:
    run_kills(world, kills=24, seed=11, rate=250, rotate_every=1500)


def test_kill9_during_kubelet_rotation_of_linked_files(world: World) -> None:
    """Rotated generations are beside the file a link names, not beside the link: a kill
    while one is being read, or a rotation while the agent is down, must still find them,
    and read them under the link's tag (else S3 and CloudWatch take them again)."""
    run_kills(world, kills=4, seed=13, rate=100, rotate_every=300, linked=True)


@pytest.mark.slow
def test_kill9_during_kubelet_rotation_of_linked_files_long(world: World) -> None:
    run_kills(world, kills=24, seed=17, rate=250, rotate_every=1500, linked=True)


def test_kill9_while_kubelet_gzips_the_generation_being_read(world: World) -> None:
    """The file being read at each kill is rotated and then gzipped (its original removed,
    its inode free for the next file) before the agent starts again: the rest of it is read
    from the ``.gz``, once, under the link's tag."""
    run_kills(world, kills=4, seed=19, rate=100, rotate_every=400, linked=True, kubelet_gzip=True)


@pytest.mark.slow
def test_kill9_while_kubelet_gzips_the_generation_being_read_long(world: World) -> None:
    run_kills(world, kills=24, seed=23, rate=250, rotate_every=1500, linked=True, kubelet_gzip=True)


def test_kill9_during_an_outage_while_kubelet_gzips_generations_not_read_yet(
    world: World,
) -> None:
    """S3 and CloudWatch refuse connections, so the unacknowledged lines reach
    ``Mem_Buf_Limit`` and the input holds back: the files kubelet rotates in meanwhile are
    opened but not read. kubelet rotates and gzips them; the agent is killed before the
    outage ends and started after it. Each generation must be found in its ``.gz`` by its
    first bytes. Before they were taken at opening, 1,808 of 5,054 S3 lines and 4,204 of
    11,632 CloudWatch lines were lost here."""
    writers = [
        world.linked_writer(
            i, seed=29 + i, rate=300, rotate_every=1500, rotation="kubelet", keep_rotated=4
        )
        for i in range(2)
    ]
    agent = world.agent({"tail": {"Mem_Buf_Limit": "256K"}})
    agent.wait_files(len(writers))
    for writer in writers:
        writer.start()
    time.sleep(2)
    world.proxy.inject(refuse(), duration=600)
    time.sleep(20)
    agent.kill9()
    world.proxy.clear()
    agent.start()
    time.sleep(5)
    code, s3, cw = world.finish(writers, agent)
    report.record(
        "kill9_outage_kubelet_gzip",
        lines_written=sum(w.written.total for w in writers),
        rotations=sum(w.rotations for w in writers),
        **report.tallies(s3, cw),
    )
    assert code == 0, agent.log_tail()
    assert not s3.lost and not cw.lost, (s3.summary(), cw.summary())
    assert s3.duplicates == 0 and cw.duplicates == 0, (s3.summary(), cw.summary())
