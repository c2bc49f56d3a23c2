"""Drive ``TailInput.run`` against a real folder with a real emit that acknowledges."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from logtide.agent.core.events import Chunk
from logtide.agent.inputs.tail import TailInput
from logtide.agent.parsers.multiline import MultilineRegistry
from logtide.agent.parsers.registry import ParserRegistry
from tests.support.plugins import build, plugin_context


@dataclass
class Sink:
    """Collects chunks; acknowledges them at once unless ``hold`` (or ``fail``) is set."""

    hold: bool = False
    fail: bool = False
    chunks: list[Chunk] = field(default_factory=list)
    held: list[Chunk] = field(default_factory=list)

    async def emit(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)
        if self.hold:
            self.held.append(chunk)
        else:
            chunk.ack.settle(not self.fail)

    def release(self, ok: bool = True) -> None:
        held, self.held = self.held, []
        for chunk in held:
            chunk.ack.settle(ok)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for chunk in self.chunks for _, record in chunk.events]

    def logs(self, key: str = "log") -> list[Any]:
        return [record.get(key) for record in self.records]


def registries() -> dict[str, Any]:
    return {"parsers": ParserRegistry.from_sections([]), "multiline_parsers": MultilineRegistry()}


async def run_once(sink: Sink, **options: Any) -> TailInput:
    async with plugin_context(once=True, **registries()) as context:
        tail = build(TailInput, context, **options)
        await tail.run(sink.emit)
        await tail.close()
    return tail


@asynccontextmanager
async def running(sink: Sink, **options: Any) -> AsyncIterator[TailInput]:
    """A live tail input running in the background; closed (checkpoint written) at exit."""
    async with plugin_context(once=False, **registries()) as context:
        tail = build(TailInput, context, **options)
        task = asyncio.get_running_loop().create_task(tail.run(sink.emit))
        try:
            yield tail
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await tail.close()


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
