"""Load a configuration file (classic or YAML) and the files it references into one
:class:`ConfigDocument`. No plugin is imported here; see :mod:`logtide.agent.config.validate`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from logtide.agent.config.classic import ClassicReader, resolve_path
from logtide.agent.config.model import ConfigDocument, Section
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Entry

if TYPE_CHECKING:
    from logtide.agent.config.yaml_format import YamlReader

Format = Literal["classic", "yaml"]
_REFERENCED = {"parsers_file": ("parser", "multiline_parser"), "streams_file": ("stream_task",)}


def detect_format(path: str) -> Format:
    return "yaml" if path.lower().endswith((".yaml", ".yml")) else "classic"


def _reader(fmt: Format, variables: dict[str, str]) -> ClassicReader | YamlReader:
    if fmt == "classic":
        return ClassicReader(variables)
    # PyYAML costs ~2 MiB of every agent's memory; classic configs never need it.
    from logtide.agent.config.yaml_format import YamlReader

    return YamlReader(variables)


def load_file(
    path: str,
    variables: dict[str, str] | None = None,
    *,
    extra_service: list[Entry] | None = None,
) -> ConfigDocument:
    """Load ``path``; ``extra_service`` entries (command-line flags) follow its [SERVICE]."""
    reader = _reader(detect_format(path), dict(variables or {}))
    reader.read_file(path)
    return _assemble(reader.sections, reader.files, reader.variables, extra_service)


def load_string(
    text: str,
    fmt: Format = "classic",
    *,
    name: str = "<string>",
    variables: dict[str, str] | None = None,
    extra_service: list[Entry] | None = None,
) -> ConfigDocument:
    reader = _reader(fmt, dict(variables or {}))
    reader.read_text(text, name)
    return _assemble(reader.sections, reader.files, reader.variables, extra_service)


def _assemble(
    sections: list[Section],
    files: list[str],
    variables: dict[str, str],
    extra_service: list[Entry] | None,
) -> ConfigDocument:
    services = [s for s in sections if s.kind == "service"]
    service = Section("service", services[0].location if services else Location("<defaults>", 0))
    for section in services:
        service.entries.extend(section.entries)
    service.entries.extend(extra_service or [])
    document = ConfigDocument(service=service, files=list(files))
    for entry in service.entries:
        allowed = _REFERENCED.get(entry.key.lower())
        if allowed is None:
            continue
        path = resolve_path(entry.value, entry.location.file)
        reader = _reader(detect_format(path), variables)
        reader.read_file(path, entry.location)
        document.files.extend(reader.files)
        for section in reader.sections:
            if section.kind not in allowed:
                raise ConfigError(
                    f"[{section.kind.upper()}] is not allowed in {entry.key} "
                    f"{os.path.basename(path)}",
                    section.location,
                )
            sections.append(section)
    buckets = {
        "input": document.inputs,
        "filter": document.filters,
        "output": document.outputs,
        "parser": document.parsers,
        "multiline_parser": document.multiline_parsers,
        "stream_task": document.stream_tasks,
    }
    for section in sections:
        bucket = buckets.get(section.kind)
        if bucket is not None:
            bucket.append(section)
    return document
