"""The ``lib`` output: keeps what it receives in memory, for ``Pipeline.output(name)``."""

from __future__ import annotations

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS, OutputSettings
from logtide.agent.core.events import Event
from logtide.agent.core.plugins import OutputPlugin


class LibOutput(OutputPlugin[OutputSettings]):
    durable_on_accept = True
    name = "lib"
    description = "Keep delivered records in memory (library mode and tests)."
    options = COMMON_OUTPUT_OPTIONS

    async def flush(self, tag: str, events: list[Event]) -> None:
        # Nothing to do: the engine's delivery tap records what every output accepted.
        return None
