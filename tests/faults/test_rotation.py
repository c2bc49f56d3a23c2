"""copytruncate rotation and truncation under load, and a file deleted before it was read to
its end, through the article's pipeline: nothing lost, nothing repeated in S3.

copytruncate copies the file and then empties it: what the tail had not read before the
truncation exists only in the copy, and is read from there (also when the Path glob matches
the copy's name). :func:`run_copytruncate` rotates at quiet points and also empties the file by
hand (no copy: what follows is new); the outage case rotates wherever the writer is, with
the input held back, and kills the agent while it reads the copies."""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.faults import report
from tests.faults.agent import wait_for
from tests.faults.conftest import World
from tests.support.fault_proxy import refuse
from tests.support.logapp import AppWriter


def quiet_point(world: World, writers: list[AppWriter]) -> None:
    for writer in writers:
        writer.pause()
    world.wait_delivered(writers, timeout=60)


def run_copytruncate(
    world: World, *, rounds: int, rate: float, case: str, glob: str = "*.log"
) -> None:
    writer = world.writer("app-0.log", rate=rate, seed=51, rotation="copytruncate")
    agent = world.agent({"tail": {"Path": str(world.log_dir / glob)}})
    agent.wait_files(1)
    writer.start()
    for index in range(rounds):
        time.sleep(2.0)
        quiet_point(world, [writer])
        if index % 2:
            writer.truncate()
        else:
            writer.rotate()
        writer.resume()
    time.sleep(2.0)
    _, s3, cw = world.finish([writer], agent)
    report.record(
        case,
        truncations=rounds,
        lines_written=writer.written.total,
        **report.tallies(s3, cw),
    )
    assert not s3.lost and not cw.lost
    assert s3.duplicates == 0 and cw.duplicates == 0, (s3.summary(), cw.summary())


def test_copytruncate_and_truncation_short(world: World) -> None:
    run_copytruncate(world, rounds=3, rate=300, case="copytruncate_short")


def test_copytruncate_whose_copies_the_glob_matches(world: World) -> None:
    """``Path *.log*`` matches the copies too: each is read on in from where the file was
    (under the file's row), never as a new file from its head."""
    run_copytruncate(world, rounds=3, rate=300, case="copytruncate_glob_matches", glob="*.log*")


@pytest.mark.slow
def test_copytruncate_and_truncation_long(world: World) -> None:
    run_copytruncate(world, rounds=12, rate=600, case="copytruncate_long")


def run_copytruncate_outage(
    world: World, *, outage: float, kills: int, rotate_every: int, case: str
) -> None:
    """S3 and CloudWatch refuse connections for ``outage`` seconds, so the input stops at
    ``Mem_Buf_Limit`` and the writer's copytruncate rotations (every ``rotate_every`` lines,
    wherever it is) leave lines the tail has not read in the copies. The agent is killed
    while it reads them, started after the outage, and killed ``kills`` times more."""
    writer = world.writer(
        "app-0.log",
        rate=300,
        seed=71,
        rotation="copytruncate",
        rotate_every=rotate_every,
        keep_rotated=1000,
    )
    agent = world.agent({"tail": {"Mem_Buf_Limit": "64K"}})
    agent.wait_files(1)
    writer.start()
    time.sleep(2)
    world.proxy.inject(refuse(), duration=600)
    time.sleep(outage)
    agent.kill9()
    world.proxy.clear()
    agent.start()
    world.kill_repeatedly(agent, [writer], kills, random.Random(71), rotate=False)
    time.sleep(6)
    code, s3, cw = world.finish([writer], agent)
    report.record(
        case,
        kills=agent.kills,
        lines_written=writer.written.total,
        rotations=writer.rotations,
        **report.tallies(s3, cw),
    )
    assert code == 0, agent.log_tail()
    assert not s3.lost and not cw.lost, (s3.summary(), cw.summary())
    assert s3.duplicates == 0 and cw.duplicates == 0, (s3.summary(), cw.summary())


def test_copytruncate_during_an_outage_and_kill9(world: World) -> None:
    """Before the copies were read, this lost 151 S3 and 407 CloudWatch lines of 8,010, and
    repeated 647 and 1,007."""
    run_copytruncate_outage(
        world, outage=10, kills=2, rotate_every=900, case="copytruncate_outage_kill9"
    )


@pytest.mark.slow
def test_copytruncate_during_an_outage_and_kill9_long(world: World) -> None:
    run_copytruncate_outage(
        world, outage=40, kills=10, rotate_every=600, case="copytruncate_outage_kill9_long"
    )


def test_file_deleted_before_it_was_read_to_its_end(world: World) -> None:
    agent = world.agent({"tail": {"Mem_Buf_Limit": "64k"}})
    first = world.writer("app-0.log", rate=200, seed=61)
    agent.wait_files(1)
    first.start()
    # CloudWatch unreachable: acknowledgements stop, the tail reaches Mem_Buf_Limit and
    # stops reading.
    world.proxy.inject(refuse(), duration=60, operation="PutLogEvents")
    time.sleep(3)
    doomed = world.writer("doomed.log", seed=62)
    wait_for(lambda: agent.counter("input", "tail.0", "files_opened") >= 2, 30)
    doomed.write(3000)
    size = os.path.getsize(doomed.path)
    time.sleep(1)
    os.unlink(doomed.path)
    world.proxy.clear()
    time.sleep(2)
    first.stop()
    doomed.stop()
    world.wait_delivered([first, doomed], timeout=120)
    agent.terminate()
    s3, cw = world.s3_tally([first, doomed]), world.cw_tally([first, doomed])
    report.record(
        "deleted_unread",
        deleted_file_bytes=size,
        lines_written=first.written.total + doomed.written.total,
        s3_lost=len(s3.lost),
        cw_lost=len(cw.lost),
        s3_duplicated=s3.duplicates,
    )
    assert not s3.lost and not cw.lost
    assert s3.duplicates == 0
