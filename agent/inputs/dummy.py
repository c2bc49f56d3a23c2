"""The ``dummy`` input: generates a fixed record, as Fluent Bit's does."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from logtide.agent.core.common_options import COMMON_INPUT_OPTIONS, InputSettings
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.events import Chunk, Event
from logtide.agent.core.options import Option
from logtide.agent.core.plugins import Emit, InputPlugin


@dataclass(frozen=True, slots=True, kw_only=True)
class DummySettings(InputSettings):
    dummy: str
    metadata: str
    rate: int
    interval_sec: int
    interval_nsec: int
    samples: int
    copies: int
    start_time_sec: int
    start_time_nsec: int
    fixed_timestamp: bool
    flush_on_startup: bool
    record: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self._derive("record", _json_object(self.dummy, "Dummy", self.where("dummy")))
        if self.rate <= 0 and not (self.interval_sec or self.interval_nsec):
            raise ConfigError("input 'dummy': Rate must be positive", self.where("rate"))


def _json_object(raw: str, what: str, location: Location) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"input 'dummy': {what} is not valid JSON: {exc}", location) from None
    if not isinstance(value, dict):
        raise ConfigError(f"input 'dummy': {what} must be a JSON object", location)
    return value


class DummyInput(InputPlugin[DummySettings]):
    name = "dummy"
    description = "Generate a fixed record at a fixed rate."
    options = (
        *COMMON_INPUT_OPTIONS,
        Option("Dummy", "str", '{"message":"dummy"}', "The record to generate, as JSON."),
        Option("Metadata", "str", "{}", "Accepted for compatibility (metadata is not kept)."),
        Option("Rate", "int", 1, "Records per second."),
        Option("Interval_sec", "int", 0, "Seconds between batches (overrides Rate)."),
        Option("Interval_nsec", "int", 0, "Nanoseconds between batches (overrides Rate)."),
        Option("Samples", "int", 0, "Records to generate, then stop (0 or less = no limit)."),
        Option("Copies", "int", 1, "Copies of the record per batch."),
        Option("Start_time_sec", "int", -1, "Fixed timestamp seconds (-1 = now)."),
        Option("Start_time_nsec", "int", -1, "Fixed timestamp nanoseconds (-1 = now)."),
        Option("Fixed_Timestamp", "bool", False, "Reuse the first timestamp for every record."),
        Option("Flush_On_Startup", "bool", False, "Generate the first batch at once."),
    )

    def _interval(self) -> float:
        seconds = self.config.interval_sec + self.config.interval_nsec / 1e9
        return seconds if seconds > 0 else 1.0 / self.config.rate

    def _start_time(self) -> float | None:
        sec, nsec = self.config.start_time_sec, self.config.start_time_nsec
        if sec < 0 and nsec < 0:
            return None
        return max(sec, 0) + max(nsec, 0) / 1e9

    async def run(self, emit: Emit) -> None:
        record = self.config.record
        copies = max(1, self.config.copies)
        # As Fluent Bit: only a positive Samples limits (a negative one produced nothing).
        samples = max(0, self.config.samples)
        fixed = self._start_time()
        if self.config.fixed_timestamp and fixed is None:
            fixed = time.time()
        produced = 0
        interval = self._interval()
        if not (self.context.once or self.config.flush_on_startup):
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
