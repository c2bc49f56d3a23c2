"""An output's botocore calls run on its own daemon thread, in order, off the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from logtide.sinks.aws.call_thread import CallThread


async def test_calls_run_in_order_on_one_thread_that_is_not_the_loops() -> None:
    thread = CallThread("aws-test")
    seen: list[tuple[int, str]] = []

    def call(n: int) -> int:
        time.sleep(0.01 * (3 - n))  # the first call is the slowest: order is the queue's
        seen.append((n, threading.current_thread().name))
        return n * 10

    try:
        results = await asyncio.gather(*(thread.run(lambda n=n: call(n)) for n in range(3)))
    finally:
        thread.close()
    assert results == [0, 10, 20]
    assert seen == [(0, "aws-test"), (1, "aws-test"), (2, "aws-test")]
    assert threading.current_thread().name != "aws-test"


async def test_an_exception_reaches_the_awaiting_task() -> None:
    thread = CallThread("aws-test")

    def fail() -> None:
        raise ValueError("no such bucket")

    try:
        with pytest.raises(ValueError, match="no such bucket"):
            await thread.run(fail)
    finally:
        thread.close()


async def test_a_call_cancelled_before_it_starts_never_runs() -> None:
    thread = CallThread("aws-test")
    release = threading.Event()
    ran: list[str] = []
    try:
        busy = asyncio.ensure_future(thread.run(release.wait))
        waiting = asyncio.ensure_future(thread.run(lambda: ran.append("late")))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.01)  # the loop passes the cancellation on to the queued call
        release.set()
        assert await busy is True
        await thread.run(lambda: ran.append("next"))
    finally:
        thread.close()
    assert ran == ["next"]


async def test_the_thread_is_a_daemon_and_ends_on_close() -> None:
    thread = CallThread("aws-test")
    worker = await thread.run(threading.current_thread)
    assert worker.daemon
    thread.close()
    worker.join(5)
    assert not worker.is_alive()


async def test_close_does_not_wait_for_a_call_in_flight_and_runs_last_after_it() -> None:
    thread = CallThread("aws-test")
    release = threading.Event()
    order: list[str] = []
    busy = asyncio.ensure_future(thread.run(lambda: release.wait(5) and order.append("call")))
    await asyncio.sleep(0.05)
    worker = next(t for t in threading.enumerate() if t.name == "aws-test")
    thread.close(lambda: order.append("last"))  # returns at once
    assert order == []
    release.set()
    await busy
    worker.join(5)
    assert order == ["call", "last"]
