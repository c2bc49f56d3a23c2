"""The ``dummy`` input: generates a fixed record, as Fluent Bit's does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from agent.core.common_options import COMMON_INPUT_OPTIONS
from agent.core.errors import ConfigError
from agent.core.events import Chunk, Event
from agent.core.options import Option, Settings
from agent.core.plugins import Emit, InputPlugin


def _json_object(raw: str, what: str, settings: Settings) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(
            f"input 'dummy': {what} is not valid JSON: {exc}", settings.location
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"input 'dummy': {what} must be a JSON object", settings.location)
    return value


class DummyInput(InputPlugin):
    name = "dummy"
    description = "Generate a fixed record at a fixed rate."
    options = (
        *COMMON_INPUT_OPTIONS,
        Option("Dummy", "str", '{"message":"dummy"}', "The record to generate, as JSON."),
        Option("Metadata", "str", "{}", "Accepted for compatibility (metadata is not kept)."),
        Option("Rate", "int", 1, "Records per second."),
        Option("Interval_sec", "int", 0, "Seconds between batches (overrides Rate)."),
        Option("Interval_nsec", "int", 0, "Nanoseconds between batches (overrides Rate)."),
        Option("Samples", "int", 0, "Records to generate, then stop (0 = no limit)."),
        Option("Copies", "int", 1, "Copies of the record per batch."),
        Option("Start_time_sec", "int", -1, "Fixed timestamp seconds (-1 = now)."),
        Option("Start_time_nsec", "int", -1, "Fixed timestamp nanoseconds (-1 = now)."),
        Option("Fixed_Timestamp", "bool", False, "Reuse the first timestamp for every record."),
        Option("Flush_On_Startup", "bool", False, "Generate the first batch at once."),
    )

    @classmethod
    def validate(cls, settings: Settings) -> None:
        _json_object(settings["dummy"], "Dummy", settings)
        if settings["rate"] <= 0 and not (settings["interval_sec"] or settings["interval_nsec"]):
            raise ConfigError("input 'dummy': Rate must be positive", settings.location)

    def _interval(self) -> float:
        seconds = self.settings["interval_sec"] + self.settings["interval_nsec"] / 1e9
        return seconds if seconds > 0 else 1.0 / self.settings["rate"]

    def _start_time(self) -> float | None:
        sec, nsec = self.settings["start_time_sec"], self.settings["start_time_nsec"]
        if sec < 0 and nsec < 0:
            return None
        return max(sec, 0) + max(nsec, 0) / 1e9

    async def run(self, emit: Emit) -> None:
        record = _json_object(self.settings["dummy"], "Dummy", self.settings)
        copies = max(1, self.settings["copies"])
        samples = self.settings["samples"]
        fixed = self._start_time()
        if self.settings["fixed_timestamp"] and fixed is None:
            fixed = time.time()
        produced = 0
        interval = self._interval()
        if not (self.context.once or self.settings["flush_on_startup"]):
            await asyncio.sleep(interval)
        while True:
            # Under --once the input has no clock to wait for: every sample is produced now.
            batch = samples - produced if (self.context.once and samples) else copies
            if samples:
                batch = min(batch, samples - produced)
            now = time.time() if fixed is None else fixed
            events: list[Event] = [(now, dict(record)) for _ in range(batch)]
            produced += batch
            await emit(Chunk("", events))
            if (samples and produced >= samples) or self.context.once:
                return
            await asyncio.sleep(interval)
