"""Validation: turn a :class:`ConfigDocument` into a :class:`Plan` without any I/O.

Every section is resolved against its plugin's option table, every parser and stream query
is compiled. ``--dry-run`` stops here; the engine builds plugins from the plan.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.config.model import ConfigDocument, Section
from agent.config.service import SERVICE_OPTIONS, ServiceSettings
from agent.core.errors import ConfigError
from agent.core.options import Option, Settings, resolve
from agent.core.plugins import CHECKPOINT_DB, Kind, Plugin, load_plugin
from agent.core.retry import parse_retry_limit
from agent.core.tags import matcher

if TYPE_CHECKING:
    from streamsql import StreamProcessor

STREAM_TASK_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Name of the stream task."),
    Option("Exec", required=True, description="The CREATE STREAM/SNAPSHOT statement to run."),
)


@dataclass(slots=True)
class PluginSpec:
    """A validated plugin instance: its class, typed settings and instance name."""

    kind: Kind
    cls: type[Plugin]
    settings: Settings
    instance: str

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.instance}'"


@dataclass(slots=True)
class Plan:
    """Everything the engine needs, validated."""

    service: ServiceSettings
    inputs: list[PluginSpec] = field(default_factory=list)
    filters: list[PluginSpec] = field(default_factory=list)
    outputs: list[PluginSpec] = field(default_factory=list)
    services: dict[str, Any] = field(default_factory=dict)
    stream_processor: StreamProcessor | None = None
    files: list[str] = field(default_factory=list)


def validate(document: ConfigDocument) -> Plan:
    service = ServiceSettings.bind(
        resolve("[SERVICE]", SERVICE_OPTIONS, document.service.entries, document.service.location)
    )
    plan = Plan(service=service, files=document.files)
    plan.services["parsers"] = _parsers(document)
    plan.services["multiline_parsers"] = _multiline_parsers(document)
    counters: Counter[str] = Counter()
    groups: tuple[tuple[Kind, list[Section], list[PluginSpec]], ...] = (
        ("input", document.inputs, plan.inputs),
        ("filter", document.filters, plan.filters),
        ("output", document.outputs, plan.outputs),
    )
    for kind, sections, target in groups:
        for section in sections:
            spec = _plugin_spec(kind, section, counters)
            _check_references(spec, section, plan.services)
            target.append(spec)
    _check_unique_aliases(plan)
    # Outputs that keep a delivery journal place it next to the inputs' checkpoint by default.
    plan.services[CHECKPOINT_DB] = next(
        (spec.settings["db"] for spec in plan.inputs if spec.settings.get("db")), None
    )
    if document.stream_tasks:
        names = [spec.instance for spec in plan.inputs]
        matchers = [matcher(spec.settings) for spec in plan.filters]
        plan.stream_processor = _stream_processor(
            document.stream_tasks, names, lambda tag: any(m(tag) for m in matchers)
        )
    return plan


def _plugin_spec(kind: Kind, section: Section, counters: Counter[str]) -> PluginSpec:
    name = section.name
    name_entry = section.first("name")
    cls = load_plugin(kind, name, name_entry.location if name_entry else section.location)
    # Numbered per plugin name across kinds, so the lib input and lib output (the one name
    # that is both) get distinct instance names: metrics are keyed by instance name.
    index = counters[cls.name]
    counters[cls.name] += 1
    default_instance = f"{cls.name}.{index}"
    settings = resolve(f"{kind} '{cls.name}'", cls.options, section.entries, section.location)
    _check_match(kind, settings)
    if kind == "output":
        parse_retry_limit(settings["retry_limit"], settings.location)
    cls.validate(settings)
    instance = settings.get("alias") or default_instance
    return PluginSpec(kind, cls, settings, instance)


def _check_references(spec: PluginSpec, section: Section, services: dict[str, Any]) -> None:
    """Every parser a section names exists (the run would fail on it, after starting)."""
    options = {option.key: option for option in spec.cls.options if option.refers}
    for entry in section.entries:
        option = options.get(entry.key.lower())
        if option is None:
            continue
        parsed = option.parse(entry.value)
        names = [name.strip() for name in (parsed if isinstance(parsed, list) else [parsed])]
        names = [name for name in names if name]
        try:
            if option.refers == "multiline_parser" and names:
                services["multiline_parsers"].stream(names, services["parsers"], entry.location)
            else:
                for name in names:
                    services["parsers"].get(name, entry.location)
        except ConfigError as exc:
            label = f"{spec.kind} '{spec.cls.name}'"
            raise ConfigError(f"{label}: {option.name}: {exc.message}", exc.location) from None


def _check_match(kind: Kind, settings: Settings) -> None:
    if kind == "input":
        return
    pattern = settings.get("match_regex")
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"{kind}: Match_Regex {pattern!r} is not a valid regex: {exc}", settings.location
        ) from None


def _check_unique_aliases(plan: Plan) -> None:
    seen: dict[str, PluginSpec] = {}
    for spec in [*plan.inputs, *plan.filters, *plan.outputs]:
        previous = seen.get(spec.instance)
        if previous is not None:
            raise ConfigError(
                f"alias '{spec.instance}' is used twice (also at {previous.settings.location})",
                spec.settings.location,
            )
        seen[spec.instance] = spec


def _parsers(document: ConfigDocument) -> Any:
    from agent.parsers.registry import ParserRegistry

    return ParserRegistry.from_sections(document.parsers)


def _multiline_parsers(document: ConfigDocument) -> Any:
    from agent.parsers.multiline import MultilineRegistry

    return MultilineRegistry.from_sections(document.multiline_parsers)


def _stream_processor(
    sections: list[Section], inputs: list[str], filtered: Callable[[str], bool]
) -> StreamProcessor:
    from streamsql import StreamProcessor, StreamTask

    tasks = []
    for section in sections:
        settings = resolve("[STREAM_TASK]", STREAM_TASK_OPTIONS, section.entries, section.location)
        exec_entry = section.first("exec")
        location = exec_entry.location if exec_entry else section.location
        tasks.append(StreamTask(settings["name"], settings["exec"], location))
    # Outputs never change records, so only filters decide whether results must be copies.
    return StreamProcessor(tasks, inputs=inputs, filtered=filtered)
