"""The ``null`` output: accepts and discards everything (benchmarks, tests)."""

from __future__ import annotations

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS, OutputSettings
from logtide.agent.core.events import Event
from logtide.agent.core.plugins import OutputPlugin


class NullOutput(OutputPlugin[OutputSettings]):
    durable_on_accept = True
    name = "null"
    description = "Discard every record."
    options = COMMON_OUTPUT_OPTIONS

    async def flush(self, tag: str, events: list[Event]) -> None:
        return None
