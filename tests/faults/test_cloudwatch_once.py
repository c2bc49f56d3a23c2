"""CloudWatch Logs is exactly-once across kill -9.

The worst moment for CloudWatch: PutLogEvents has landed but its answer has not come back,
so the chunk is not acknowledged and the tail checkpoint has not moved. A kill then makes
the restart read those lines again. The output's journal (fsynced before the put) names the
batch and its source ranges: the engine skips the re-read chunks and the recovery finds the
batch in the stream, so nothing is put twice. Without the journal every line of that batch
is in CloudWatch twice. The mirror case (the put never reached CloudWatch) must still
deliver every line exactly once.

Both cases run again with ``storage.path``: the lines are then acknowledged once they are in
CloudWatch's disk queue, and the restart finds the held flush there, not in the file. The
queue keeps each chunk's source range, so the journal's watermarks cover it there too.
Before it did, the held batch was put again from the queue.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from tests.faults.agent import wait_for
from tests.faults.conftest import World
from tests.support.fault_proxy import Fault, Forward, Request, Response

HOLD_SECONDS = 60.0


def hold_answer(landed: threading.Event) -> Fault:
    """Forward PutLogEvents to moto, then keep the client waiting for its answer."""

    async def fault(request: Request, forward: Forward) -> Response | None:
        response = await forward(request)
        landed.set()
        await asyncio.sleep(HOLD_SECONDS)
        return response

    return fault


def hold_request(seen: threading.Event) -> Fault:
    """Keep PutLogEvents from reaching moto at all, the client waiting."""

    async def fault(request: Request, forward: Forward) -> Response | None:
        seen.set()
        await asyncio.sleep(HOLD_SECONDS)
        return None

    return fault


STORAGE = pytest.mark.parametrize("storage", [False, True], ids=["memory", "storage_path"])


def run_case(
    world: World, fault_for: Callable[[threading.Event], Fault], storage: bool
) -> tuple[int, int, int]:
    """Write, let the first PutLogEvents hang per the fault, kill -9, restart; returns the
    CloudWatch lines duplicated, and the held batch's events the recovery found in the
    stream and put again."""
    reached = threading.Event()
    world.proxy.inject(fault_for(reached), times=1, operation="PutLogEvents")
    agent = world.agent(
        {"SERVICE": {"storage.path": str(world.work / "queue")}} if storage else None
    )
    writer = world.writer("app.log", ca_ratio=0.3)
    agent.wait_files(1)
    writer.write(600)
    wait_for(reached.is_set, 60, 0.1, "a PutLogEvents held by the proxy")
    agent.kill9()

    world.proxy.clear()
    agent.start()
    world.wait_delivered([writer], timeout=90)

    def recovered() -> tuple[int, int] | None:
        counts = [
            agent.counter("output", "cloudwatch_logs.0", f"recovered_{what}_events")
            for what in ("landed", "resent")
        ]
        return (counts[0], counts[1]) if any(counts) else None

    try:
        landed, resent = wait_for(recovered, 30, 0.5, "the recovery of the held batch")
    except AssertionError:
        landed = resent = 0  # no journal: the tallies below tell what happened
    code, _ = agent.terminate()
    assert code == 0, agent.log_tail()
    s3, cw = world.s3_tally([writer]), world.cw_tally([writer])
    assert (s3.duplicates, len(s3.lost), s3.unexpected) == (0, 0, 0), s3.summary()
    assert cw.expected > 0 and (len(cw.lost), cw.unexpected) == (0, 0), cw.summary()
    return cw.duplicates, landed, resent


@STORAGE
def test_put_landed_but_unanswered_at_the_kill_is_not_sent_again(
    world: World, storage: bool
) -> None:
    duplicated, landed, resent = run_case(world, hold_answer, storage)
    assert duplicated == 0
    assert landed > 0 and resent == 0  # the recovery found the held batch in the stream


@STORAGE
def test_put_that_never_reached_cloudwatch_is_delivered_once(world: World, storage: bool) -> None:
    duplicated, landed, resent = run_case(world, hold_request, storage)
    assert duplicated == 0
    assert landed == 0 and resent > 0  # the engine skipped those lines: the journal sent them
