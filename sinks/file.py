"""The ``file`` output: appends records to ``Path/File`` (``File`` defaults to the tag).

Each flush is written and fsynced (with the directory when it created the file) before it is
acknowledged, so a record the tail input checkpointed past is on disk.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS, OutputSettings
from logtide.agent.core.durable import append_synced
from logtide.agent.core.errors import ConfigError, PermanentDeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option
from logtide.agent.core.plugins import OutputPlugin
from logtide.sinks.formats import csv_lines, ltsv_lines, out_file_lines, plain_lines, template_lines

FORMATS = ("out_file", "plain", "csv", "ltsv", "template")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSettings(OutputSettings):
    path: str | None
    file: str | None
    format: str
    delimiter: str | None
    label_delimiter: str
    template: str
    mkdir: bool
    csv_column_names: bool

    def __post_init__(self) -> None:
        OutputSettings.__post_init__(self)
        name = self.file
        if name and ("/" in name or name in (".", "..")):
            raise ConfigError(
                f"output 'file': File {name!r} must be a plain file name; use Path for the folder",
                self.where("file"),
            )


class FileOutput(OutputPlugin[FileSettings]):
    durable_on_accept = True
    name = "file"
    description = "Append records to a file."
    options = (
        *COMMON_OUTPUT_OPTIONS,
        Option("Path", "str", None, "Folder of the output file (default: the working folder)."),
        Option("File", "str", None, "File name (default: the record's tag)."),
        Option("Format", "enum", "out_file", "Output format.", choices=FORMATS),
        Option("Delimiter", "str", None, "Field delimiter for csv (,) and ltsv (tab)."),
        Option("Label_Delimiter", "str", ":", "Label delimiter for ltsv."),
        Option("Template", "str", "{time} {message}", "Line template for Format template."),
        Option("Mkdir", "bool", False, "Create Path if it does not exist."),
        Option("csv_column_names", "bool", False, "Write a header line with csv."),
    )

    def _render(self, tag: str, events: list[Event]) -> bytes:
        config = self.config
        fmt = config.format
        if fmt == "plain":
            return plain_lines(events)
        if fmt == "csv":
            return csv_lines(events, config.delimiter or ",", config.csv_column_names)
        if fmt == "ltsv":
            return ltsv_lines(events, config.delimiter or "\t", config.label_delimiter)
        if fmt == "template":
            return template_lines(events, config.template)
        return out_file_lines(tag, events)

    def _target(self, tag: str) -> str:
        name = self.config.file or tag.replace("/", "_")
        folder = self.config.path
        return os.path.join(folder, name) if folder else name

    async def flush(self, tag: str, events: list[Event]) -> None:
        data = self._render(tag, events)
        target = self._target(tag)
        await asyncio.to_thread(self._append, target, data)

    def _append(self, target: str, data: bytes) -> None:
        folder = os.path.dirname(target)
        if folder and self.config.mkdir:
            os.makedirs(folder, exist_ok=True)
        try:
            append_synced(target, data, 0o644)
        except (FileNotFoundError, NotADirectoryError, PermissionError, IsADirectoryError) as exc:
            raise PermanentDeliveryError(f"cannot open {target}: {exc.strerror}") from None
