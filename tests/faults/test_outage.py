"""S3 and CloudWatch unreachable (connection refused), then failing (503 / throttling), then
back: nothing lost, memory bounded, the input resumes by itself; with and without the
filesystem queue of ``storage.path``."""

from __future__ import annotations

import time

import pytest

from tests.faults import report
from tests.faults.agent import Overrides
from tests.faults.conftest import World
from tests.support.fault_proxy import http_error, refuse, throttle

MEM_BUF_LIMIT = "2M"


def run_outage(world: World, *, seconds: float, rate: float, storage: bool, case: str) -> None:
    extra: Overrides = {"tail": {"Mem_Buf_Limit": MEM_BUF_LIMIT}}
    if storage:
        extra["SERVICE"] = {"storage.path": str(world.work / "queue")}
        extra["cloudwatch_logs"] = {"storage.total_limit_size": "64M"}
    extra["s3"] = {"store_dir_limit_size": "64M"}
    writers = [world.writer("app-0.log", rate=rate, seed=3, rotate_every=3000)]
    agent = world.agent(extra)
    agent.wait_files(1)
    baseline = agent.rss()
    writers[0].start()
    time.sleep(2)
    third = seconds / 3
    world.proxy.inject(refuse(), duration=third)
    world.proxy.inject(http_error(503), duration=2 * third)
    world.proxy.inject(throttle(), duration=seconds, operation="PutLogEvents")
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        agent.rss()
        time.sleep(0.5)
    outage_end = time.monotonic()
    world.proxy.clear()
    for _ in range(10):
        agent.rss()
        time.sleep(0.5)
    writers[0].stop()
    s3, cw = world.wait_delivered(writers, timeout=240)
    recovered = time.monotonic() - outage_end
    code, _ = agent.terminate()
    s3, cw = world.s3_tally(writers), world.cw_tally(writers)
    peak = max(agent.rss_samples)
    report.record(
        case,
        outage_seconds=seconds,
        storage_path=storage,
        lines_written=writers[0].written.total,
        **report.tallies(s3, cw),
        rss_baseline_mb=round(baseline / 2**20, 1),
        rss_peak_mb=round(peak / 2**20, 1),
        delivered_all_within_s=round(recovered),
    )
    assert code == 0, agent.log_tail()
    assert not s3.lost and not cw.lost
    assert s3.duplicates == 0, s3.summary()
    # Mem_Buf_Limit bounds what the tail holds unacknowledged; the rest of the process
    # (interpreter, clients, queues) is what the baseline measured.
    assert peak - baseline < 120 * 2**20, (baseline, peak)
    assert "refused" in agent.log_text() or "retry" in agent.log_text()


def test_outage_short(world: World) -> None:
    run_outage(world, seconds=10, rate=150, storage=False, case="outage_short")


def test_outage_short_with_storage_path(world: World) -> None:
    run_outage(world, seconds=10, rate=150, storage=True, case="outage_short_storage")


@pytest.mark.slow
def test_outage_two_minutes(world: World) -> None:
    run_outage(world, seconds=120, rate=200, storage=False, case="outage_long")


@pytest.mark.slow
def test_outage_two_minutes_with_storage_path(world: World) -> None:
    run_outage(world, seconds=120, rate=200, storage=True, case="outage_long_storage")
