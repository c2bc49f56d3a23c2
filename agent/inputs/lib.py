"""The ``lib`` input: records pushed from Python (``Pipeline.push``), as Fluent Bit's lib API.

``push`` may be called from any thread; the input hands chunks to the pipeline in order and
returns from ``run`` once :meth:`close_input` was called and everything pushed was emitted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from logtide.agent.core.common_options import COMMON_INPUT_OPTIONS, InputSettings
from logtide.agent.core.events import Chunk, Event, Record
from logtide.agent.core.options import Settings
from logtide.agent.core.plugins import Emit, InputPlugin, PluginContext

_END = None


class LibInput(InputPlugin[InputSettings]):
    name = "lib"
    description = "Records pushed from Python code (library mode)."
    options = COMMON_INPUT_OPTIONS

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        self._queue: asyncio.Queue[Chunk | None] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None

    def push(
        self, tag: str, records: Record | list[Record], timestamp: float | None = None
    ) -> None:
        batch = records if isinstance(records, list) else [records]
        now = time.time() if timestamp is None else timestamp
        events: list[Event] = [(now, dict(record)) for record in batch]
        self._put(Chunk(tag, events))

    def close_input(self) -> None:
        self._put(_END)

    def _put(self, item: Any) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            loop.call_soon_threadsafe(self._queue.put_nowait, item)
        else:
            self._queue.put_nowait(item)

    async def run(self, emit: Emit) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            chunk = await self._queue.get()
            if chunk is _END:
                return
            await emit(chunk)
