"""Mem_Buf_Limit accounting: bytes emitted and not yet acknowledged."""

from __future__ import annotations

import asyncio

from logtide.agent.inputs.tail.inflight import InFlight


def test_no_limit_is_never_over() -> None:
    inflight = InFlight(0)
    inflight.sent(10**9)
    assert not inflight.over


async def test_acknowledgements_under_the_limit_wake_a_waiting_reader() -> None:
    inflight = InFlight(100)
    inflight.sent(150)
    assert inflight.over
    waiter = asyncio.ensure_future(inflight.wait())
    await asyncio.sleep(0)
    inflight.acknowledged(20)  # 130: still over, the reader keeps waiting
    await asyncio.sleep(0)
    assert not waiter.done()
    inflight.acknowledged(30)  # 100: at the limit, not over it
    await asyncio.wait_for(waiter, 1)
    assert not inflight.over and inflight.bytes == 100


def test_dropped_bytes_stop_counting_without_waking() -> None:
    inflight = InFlight(100)
    inflight.sent(150)
    inflight.dropped(150)
    assert inflight.bytes == 0 and not inflight.resumed.is_set()
    # An acknowledgement of a dropped range returns nothing but still wakes readers.
    inflight.acknowledged(0)
    assert inflight.bytes == 0 and inflight.resumed.is_set()
