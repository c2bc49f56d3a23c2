"""The dummy input's Samples limit, as Fluent Bit's in_dummy counts it."""

from __future__ import annotations

import asyncio

import pytest

from logtide.agent.core.events import Chunk
from logtide.agent.inputs.dummy import DummyInput
from tests.support.plugins import build, plugin_context


async def _records(samples: str, *, once: bool, wanted: int) -> int:
    """Records the input produced before it ended, or once ``wanted`` were reached."""
    produced = 0
    enough = asyncio.Event()

    async def emit(chunk: Chunk) -> None:
        nonlocal produced
        produced += len(chunk.events)
        if produced >= wanted:
            enough.set()

    async with plugin_context(once=once) as ctx:
        dummy = build(DummyInput, ctx, Samples=samples, Interval_nsec="1000000")
        run = asyncio.create_task(dummy.run(emit))
        done, _ = await asyncio.wait(
            [run, asyncio.create_task(enough.wait())],
            timeout=5,
            return_when=asyncio.FIRST_COMPLETED,
        )
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert done, "neither ended nor produced"
    return produced


@pytest.mark.parametrize("samples", ["0", "-5"])
async def test_samples_of_zero_or_less_is_no_limit(samples: str) -> None:
    # A negative Samples produced nothing at all and ended the input; Fluent Bit only
    # counts against a positive one.
    assert await _records(samples, once=False, wanted=20) >= 20


@pytest.mark.parametrize("once", [False, True])
async def test_a_positive_samples_stops_there(once: bool) -> None:
    assert await _records("3", once=once, wanted=1000) == 3
