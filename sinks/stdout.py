"""The ``stdout`` output: prints records as Fluent Bit does."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS, OutputSettings
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option
from logtide.agent.core.plugins import OutputPlugin
from logtide.agent.core.serialize import DATE_FORMATS
from logtide.agent.core.timestamps import in_range
from logtide.sinks.formats import json_array, json_lines, msgpack_lines


@dataclass(frozen=True, slots=True, kw_only=True)
class StdoutSettings(OutputSettings):
    format: Literal["msgpack", "json", "json_lines", "json_stream"]
    json_date_key: str
    json_date_format: str


class StdoutOutput(OutputPlugin[StdoutSettings]):
    durable_on_accept = True
    name = "stdout"
    description = "Print records to standard output."
    options = (
        *COMMON_OUTPUT_OPTIONS,
        Option(
            "Format",
            "enum",
            "msgpack",
            "msgpack (Fluent Bit's readable print), json, json_lines or json_stream.",
            choices=("msgpack", "json", "json_lines", "json_stream"),
        ),
        Option("json_date_key", "str", "date", "Key of the time in JSON formats; false to omit."),
        Option("json_date_format", "enum", "double", "Time format in JSON.", choices=DATE_FORMATS),
    )

    async def flush(self, tag: str, events: list[Event]) -> None:
        fmt = self.config.format
        date_key: str | None = self.config.json_date_key
        if date_key and date_key.lower() in ("false", "off", "no"):
            date_key = None
        date_format = self.config.json_date_format
        clamped = sum(1 for ts, _ in events if not in_range(ts))
        if clamped:
            # Printed clamped to years 1..9999 (formats.py); counted, never failing the batch.
            self.context.metrics.add(self.context.instance, "time_clamped", clamped)
        out = sys.stdout
        if fmt == "msgpack":
            out.write("".join(msgpack_lines(tag, events)))
        elif fmt == "json":
            out.write(json_array(events, date_key, date_format).decode() + "\n")
        else:
            out.write(json_lines(events, date_key, date_format).decode())
        out.flush()
