"""SIGTERM under heavy load exits within Grace and loses nothing across the next start;
SIGHUP with Hot_Reload On reloads the pipeline without losing or repeating a line."""

from __future__ import annotations

import time

import pytest

from tests.faults import report
from tests.faults.agent import wait_for
from tests.faults.conftest import World
from tests.support.fault_proxy import delay


def run_sigterm(world: World, *, rounds: int, rate: float, case: str) -> None:
    grace = 5.0
    writers = [world.writer(f"app-{i}.log", rate=rate, seed=20 + i) for i in range(2)]
    agent = world.agent({"SERVICE": {"Grace": str(int(grace))}})
    agent.wait_files(2)
    for writer in writers:
        writer.start()
    exits: list[float] = []
    for _ in range(rounds):
        # Slow answers keep batches in flight when the signal arrives.
        world.proxy.inject(delay(0.5), duration=3.0)
        time.sleep(3.0)
        code, took = agent.terminate(timeout=grace + 20)
        exits.append(took)
        assert code == 0, agent.log_tail()
        agent.start()
    _, s3, cw = world.finish(writers, agent)
    report.record(
        case,
        sigterms=rounds,
        grace_s=grace,
        slowest_exit_s=round(max(exits), 2),
        lines_written=sum(w.written.total for w in writers),
        **report.tallies(s3, cw),
    )
    # Grace bounds the drain; interpreter start-up and shutdown add a little.
    assert max(exits) < grace + 3, exits
    assert not s3.lost and not cw.lost
    assert s3.duplicates == 0 and cw.duplicates == 0, (s3.summary(), cw.summary())


def test_sigterm_under_load_short(world: World) -> None:
    run_sigterm(world, rounds=2, rate=400, case="sigterm_short")


@pytest.mark.slow
def test_sigterm_under_load_long(world: World) -> None:
    run_sigterm(world, rounds=8, rate=800, case="sigterm_long")


def test_sighup_reload_loses_nothing(world: World) -> None:
    writers = [world.writer("app-0.log", rate=200, seed=31, rotate_every=800)]
    agent = world.agent({"SERVICE": {"Hot_Reload": "On"}})
    agent.wait_files(1)
    writers[0].start()
    for count in range(1, 4):
        time.sleep(2.0)
        agent.hup()
        wait_for(
            lambda count=count: agent.get("/api/v2/reload")["hot_reload_count"] >= count,
            30,
            what=f"reload {count}",
        )
    code, s3, cw = world.finish(writers, agent)
    report.record(
        "sighup_reload",
        reloads=3,
        lines_written=writers[0].written.total,
        **report.tallies(s3, cw),
    )
    assert code == 0
    assert agent.alive() is False
    assert not s3.lost and not cw.lost
    assert s3.duplicates == 0 and cw.duplicates == 0, (s3.summary(), cw.summary())
