"""A stop request bounds the drain by ``Grace`` even when it comes before the drain starts
(SIGTERM always does): an output whose flush never returns (a receiver that never answers)
must not keep the process alive past it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.core.events import Event
from logtide.agent.core.plugins import REGISTRY, OutputPlugin
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.plan import build_plan


class Hung(OutputPlugin):
    name = "test_hung"
    flushing: ClassVar[asyncio.Event]

    async def flush(self, tag: str, events: list[Event]) -> None:
        Hung.flushing.set()
        await asyncio.sleep(3600)


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    REGISTRY["output"]["test_hung"] = f"{__name__}:Hung"
    Hung.flushing = asyncio.Event()
    yield
    del REGISTRY["output"]["test_hung"]


async def test_a_stop_before_the_drain_still_ends_it_after_grace() -> None:
    text = """
[SERVICE]
    Flush 0.1
    Grace 1
[INPUT]
    Name  dummy
    Rate  50
[OUTPUT]
    Name  test_hung
    Match *
"""
    engine = Engine(build_plan(load_string(text)), once=False)
    run = asyncio.ensure_future(engine.run())
    await asyncio.wait_for(Hung.flushing.wait(), 10)
    engine.request_stop()
    began = time.monotonic()
    done, _ = await asyncio.wait([run], timeout=15)
    if not done:
        run.cancel()
    assert done, "the engine did not stop within Grace"
    assert time.monotonic() - began < 8
